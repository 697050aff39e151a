"""Wires the catalogue service: its routes, event handlers, migrations and unit of work."""

from __future__ import annotations

from servicekit.service import ServiceDefinition

from catalogue.adapters.uow import PostgresCatalogueUnitOfWork
from catalogue.domain.errors import ProjectNotFound
from catalogue.entrypoints.http import router


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="catalogue",
        description="Project submissions (aanmelden), the catalogue of proven projects and its feed.",
        migrations_package="catalogue.migrations",
        uow_factory=PostgresCatalogueUnitOfWork,
        routers=[router],
        handlers={},
        error_statuses={ProjectNotFound: 404},
    )
