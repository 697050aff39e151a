"""Use cases of an implementation's stages, pausing and stopping, its outcome measures, and a lab's coverage."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime

from partnering.domain import commands
from partnering.domain.coverage import Coverage, lab_coverage
from partnering.domain.errors import InvalidInput, NotFound
from partnering.domain.implementation import ImpactMeasurement, Implementation, StageChange
from partnering.domain.membership import ensure_may_change_lab
from partnering.domain.outcomes import ImpactTotals, Outcomes
from partnering.domain.stages import parse_stage
from partnering.service_layer.ports import PartneringUnitOfWork
from schuldenlab_contracts.events import ImpactRecorded, ImplementationStageChanged

ACTIONS = ("pause", "resume", "stop")


def outcome_measures(cmd: commands.RecordImpact) -> Outcomes:
    return Outcomes(households_stabilised=cmd.households_stabilised,
                    median_days_to_stabilisation=cmd.median_days_to_stabilisation,
                    repeat_cases=cmd.repeat_cases, cost_eur=cmd.cost_eur, benefit_eur=cmd.benefit_eur)


def totals_for_handover(totals: ImpactTotals) -> dict:
    """The totals as ProjectHandedOver's `impact` carries them (the optional ones null when never reported)."""
    return asdict(totals)


async def publish_change(implementation: Implementation, change: StageChange, uow: PartneringUnitOfWork) -> None:
    await uow.publish(ImplementationStageChanged(
        lab_id=implementation.lab_id, implementation_id=implementation.id, project_id=implementation.project_id,
        municipalities=list(implementation.municipalities), stage=change.stage.value, status=change.status.value,
        reason=change.reason, changed_at=change.changed_at,
    ))


async def publish_impact(implementation: Implementation, m: ImpactMeasurement, uow: PartneringUnitOfWork) -> None:
    await uow.publish(ImpactRecorded(
        lab_id=implementation.lab_id, implementation_id=implementation.id, project_id=implementation.project_id,
        municipalities=list(implementation.municipalities), measurement_id=m.id, period_start=m.period_start,
        period_end=m.period_end, households_reached=m.households_reached,
        households_debt_free=m.households_debt_free, households_stabilised=m.households_stabilised,
        median_days_to_stabilisation=m.median_days_to_stabilisation, repeat_cases=m.repeat_cases,
        cost_eur=m.cost_eur, benefit_eur=m.benefit_eur, recorded_at=m.recorded_at,
    ))


async def _changeable(implementation_id: uuid.UUID, cmd: commands.Command,
                      uow: PartneringUnitOfWork) -> Implementation:
    # Locked: two changes at once must not both pass the rules of the state they read.
    implementation = await uow.implementations.get(implementation_id, for_update=True)
    if implementation is None:
        raise NotFound(f"implementation {implementation_id} does not exist")
    members = {m.subject for m in await uow.labs.members(implementation.lab_id)}
    ensure_may_change_lab(cmd.actor, implementation.lab_id, members)
    return implementation


async def set_stage(cmd: commands.SetStage, uow: PartneringUnitOfWork) -> Implementation:
    stage = parse_stage(cmd.stage)
    implementation = await _changeable(cmd.implementation_id, cmd, uow)
    change = implementation.set_stage(stage, note=cmd.note, by=cmd.by, at=datetime.now(UTC))
    await uow.implementations.save_status(implementation)
    await publish_change(implementation, change, uow)
    return implementation


async def change_status(cmd: commands.ChangeImplementationStatus, uow: PartneringUnitOfWork) -> Implementation:
    """Pause, resume or stop, each with a reason; a stopped implementation is closed."""
    if cmd.action not in ACTIONS:
        raise InvalidInput("action", f"must be one of {', '.join(ACTIONS)}")
    implementation = await _changeable(cmd.implementation_id, cmd, uow)
    act = {"pause": implementation.pause, "resume": implementation.resume, "stop": implementation.stop}[cmd.action]
    change = act(reason=cmd.reason, by=cmd.by, at=datetime.now(UTC))
    await uow.implementations.save_status(implementation)
    await publish_change(implementation, change, uow)
    return implementation


async def get_coverage(lab_id: uuid.UUID, uow: PartneringUnitOfWork) -> Coverage:
    """From partnering's own data only: its replica of the catalogue and the implementations of every lab."""
    lab = await uow.labs.get(lab_id)
    if lab is None:
        raise NotFound(f"lab {lab_id} does not exist")
    return lab_coverage(lab.id, await uow.implementations.for_lab(lab.id), await uow.catalogue.list_entries(),
                        await uow.implementations.sites_by_project())
