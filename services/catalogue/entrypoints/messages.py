"""Event handlers of the catalogue: each translates a consumed event into a command and calls a handler."""

from __future__ import annotations

import uuid

from catalogue.domain.model import Verdict
from catalogue.service_layer import handlers
from catalogue.service_layer.ports import CatalogueUnitOfWork
from schuldenlab_contracts.cloudevents import CloudEvent
from schuldenlab_contracts.events import (
    ImpactRecorded,
    ImplementationStageChanged,
    ImplementationStarted,
    LabFormed,
    ProjectAssessed,
    ProjectHandedOver,
    ReassessmentDue,
)
from schuldenlab_contracts.registry import by_model


async def on_project_assessed(payload: ProjectAssessed | None, event: CloudEvent, uow: CatalogueUnitOfWork) -> None:
    if payload is None:
        return
    await handlers.record_verdict(handlers.RecordVerdict(
        project_id=payload.project_id, assessment_id=payload.assessment_id, revision=payload.revision,
        verdict=Verdict(payload.verdict.value), rationale=payload.rationale, decided_at=payload.decided_at,
        evidence_level=payload.evidence_level.value if payload.evidence_level else None,
        valid_until=payload.valid_until,
    ), uow)


async def on_reassessment_due(payload: ReassessmentDue | None, event: CloudEvent, uow: CatalogueUnitOfWork) -> None:
    if payload is None:
        return
    await handlers.record_reassessment_due(handlers.RecordReassessmentDue(
        project_id=payload.project_id, assessment_id=payload.assessment_id, valid_until=payload.valid_until), uow)


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


async def on_implementation_stage_changed(payload: ImplementationStageChanged | None, event: CloudEvent,
                                         uow: CatalogueUnitOfWork) -> None:
    if payload is None:
        return
    await handlers.record_stage_change(handlers.RecordStageChange(
        project_id=payload.project_id, implementation_id=payload.implementation_id, lab_id=payload.lab_id,
        municipalities=tuple(payload.municipalities), stage=payload.stage.value, status=payload.status.value,
        reason=payload.reason, changed_at=payload.changed_at), uow)


async def on_impact_recorded(payload: ImpactRecorded | None, event: CloudEvent, uow: CatalogueUnitOfWork) -> None:
    if payload is None:
        return
    await handlers.record_measurement(handlers.RecordMeasurement(
        project_id=payload.project_id, implementation_id=payload.implementation_id, lab_id=payload.lab_id,
        municipalities=tuple(payload.municipalities),
        # An event without a measurement id is one measurement per event: its ce_id (unchanged when re-published).
        measurement_id=payload.measurement_id or uuid.uuid5(uuid.NAMESPACE_URL, f"ce_id:{event.id}"),
        households_reached=payload.households_reached, households_debt_free=payload.households_debt_free,
        households_stabilised=payload.households_stabilised, cost_eur=payload.cost_eur,
        benefit_eur=payload.benefit_eur), uow)


HANDLERS = {
    by_model(ProjectAssessed).ce_type: on_project_assessed,
    by_model(LabFormed).ce_type: on_lab_formed,
    by_model(ImplementationStarted).ce_type: on_implementation_started,
    by_model(ProjectHandedOver).ce_type: on_project_handed_over,
    by_model(ReassessmentDue).ce_type: on_reassessment_due,
    by_model(ImplementationStageChanged).ce_type: on_implementation_stage_changed,
    by_model(ImpactRecorded).ce_type: on_impact_recorded,
}
