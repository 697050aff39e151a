"""Wires the catalogue service: its routes, event handlers, migrations and unit of work."""

from __future__ import annotations

from catalogue.adapters.uow import PostgresCatalogueUnitOfWork
from catalogue.domain.errors import (
    CatalogueConflict,
    ProjectNotFound,
    SubmitterKeyMissing,
    SubmitterKeyRejected,
    UnknownLab,
)
from catalogue.entrypoints.http import router
from catalogue.entrypoints.messages import HANDLERS
from servicekit.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="catalogue",
        description="Project submissions (aanmelden), the catalogue of proven projects and its feed.",
        migrations_package="catalogue.migrations",
        extensions=("unaccent",),  # the Dutch full-text search folds accents (migration 0001)
        uow_factory=PostgresCatalogueUnitOfWork,
        routers=[router],
        handlers=HANDLERS,
        error_statuses={ProjectNotFound: 404, CatalogueConflict: 409, UnknownLab: 422,
                        SubmitterKeyMissing: 401, SubmitterKeyRejected: 403},
    )
