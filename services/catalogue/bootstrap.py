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
from catalogue.entrypoints import web
from catalogue.entrypoints.expiry import check_interval, publish_expired_ratings
from catalogue.entrypoints.http import router
from catalogue.entrypoints.limits import SUBMISSIONS_LIMIT
from catalogue.entrypoints.messages import HANDLERS
from catalogue.entrypoints.web.pages import adoption_contact
from servicekit.config import Settings
from servicekit.service import ServiceDefinition


def check_settings(settings: Settings) -> None:
    """The submission limit's and the website's settings, read once at start: a bad one stops it, named."""
    SUBMISSIONS_LIMIT.check_settings(settings, "catalogue")
    adoption_contact(settings)
    check_interval(settings)


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="catalogue",
        description="Project submissions (aanmelden), the catalogue of proven projects and its feed.",
        migrations_package="catalogue.migrations",
        extensions=("unaccent",),  # the Dutch full-text search folds accents (migration 0001)
        uow_factory=PostgresCatalogueUnitOfWork,
        routers=[router, web.router],  # the JSON API, and the public website (SPEC 5.4)
        handlers=HANDLERS,
        error_statuses={ProjectNotFound: 404, CatalogueConflict: 409, UnknownLab: 422,
                        SubmitterKeyMissing: 401, SubmitterKeyRejected: 403},
        check_settings=check_settings,
        background=[publish_expired_ratings],
    )
