"""Event handlers of the catalogue: each translates a consumed event into a command and calls a handler."""

from __future__ import annotations

from catalogue.domain.model import Verdict
from catalogue.service_layer import handlers
from catalogue.service_layer.ports import CatalogueUnitOfWork
from schuldenlab_contracts.cloudevents import CloudEvent
from schuldenlab_contracts.events import (
    ImplementationStarted,
    LabFormed,
    ProjectAssessed,
    ProjectHandedOver,
)
from schuldenlab_contracts.registry import by_model


async def on_project_assessed(payload: ProjectAssessed | None, event: CloudEvent, uow: CatalogueUnitOfWork) -> None:
    if payload is None:
        return
    await handlers.record_verdict(handlers.RecordVerdict(
        project_id=payload.project_id, assessment_id=payload.assessment_id, revision=payload.revision,
        verdict=Verdict(payload.verdict.value), rationale=payload.rationale, decided_at=payload.decided_at,
    ), uow)


async def on_lab_formed(payload: LabFormed | None, event: CloudEvent, uow: CatalogueUnitOfWork) -> None:
    if payload is None:
        return
    await handlers.record_lab_formed(handlers.RecordLabFormed(lab_id=payload.lab_id), uow)


async def on_implementation_started(payload: ImplementationStarted | None, event: CloudEvent,
                                    uow: CatalogueUnitOfWork) -> None:
    if payload is None:
        return
    await handlers.record_implementation_started(handlers.RecordImplementationStarted(
        project_id=payload.project_id, implementation_id=payload.implementation_id, lab_id=payload.lab_id,
        municipalities=tuple(payload.municipalities)), uow)


async def on_project_handed_over(payload: ProjectHandedOver | None, event: CloudEvent,
                                 uow: CatalogueUnitOfWork) -> None:
    if payload is None:
        return
    await handlers.record_handover(handlers.RecordHandover(
        project_id=payload.project_id, implementation_id=payload.implementation_id, lab_id=payload.lab_id,
        handed_over_at=payload.handed_over_at), uow)


HANDLERS = {
    by_model(ProjectAssessed).ce_type: on_project_assessed,
    by_model(LabFormed).ce_type: on_lab_formed,
    by_model(ImplementationStarted).ce_type: on_implementation_started,
    by_model(ProjectHandedOver).ce_type: on_project_handed_over,
}
