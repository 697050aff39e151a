"""Wires the partnering service."""

from __future__ import annotations

from servicekit.service import ServiceDefinition

from partnering.adapters.uow import PostgresPartneringUnitOfWork
from partnering.entrypoints.messages import HANDLERS


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="partnering",
        description="Local labs, partners, implementations of proven projects, funding, impact and handover.",
        migrations_package="partnering.migrations",
        uow_factory=PostgresPartneringUnitOfWork,
        routers=[],
        handlers=HANDLERS,
    )
