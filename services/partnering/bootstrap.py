"""Wires the partnering service."""

from __future__ import annotations

from partnering.adapters.uow import PostgresPartneringUnitOfWork
from partnering.domain.errors import InvalidInput, NotALabMember, NotFound, PartneringConflict
from partnering.entrypoints.http import router
from partnering.entrypoints.messages import BATCH_HANDLERS, HANDLERS
from partnering.entrypoints.stages_http import router as stages_router
from servicekit.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="partnering",
        description="Local labs, partners, implementations of proven projects (stages, funding, impact, "
                    "handover), and the phases a lab covers.",
        migrations_package="partnering.migrations",
        uow_factory=PostgresPartneringUnitOfWork,
        routers=[router, stages_router],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        error_statuses={PartneringConflict: 409, NotFound: 404, InvalidInput: 422, NotALabMember: 403},
    )
