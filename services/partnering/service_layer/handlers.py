"""Use cases of the partnering service: `verb_noun(command, uow)`, each in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from partnering.domain import commands
from partnering.domain.errors import InvalidInput, NotFound
from partnering.domain.implementation import (
    Funding,
    FundingKind,
    ImpactMeasurement,
    Implementation,
)
from partnering.domain.implementation import (
    start_implementation as adopt_project,
)
from partnering.domain.lab import Lab, Partner, PartnerKind, StepRecord, parse_step
from partnering.domain.membership import (
    Actor,
    Member,
    ensure_may_add_member,
    ensure_may_change_lab,
    ensure_may_remove_member,
    first_members,
    may_change_lab,
    member_subject,
)
from partnering.domain.model import CatalogueEntry, Withdrawal, net_changes
from partnering.service_layer.ports import PartneringUnitOfWork
from partnering.service_layer.stages import (
    outcome_measures,
    publish_change,
    publish_impact,
    totals_for_handover,
)
from schuldenlab_contracts.events import (
    ImpactTotals,
    ImplementationStarted,
    LabFormed,
    PartnerJoined,
    ProjectHandedOver,
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LabView:
    """A lab with its implementations, as `GET /v1/labs/{id}` shows it; `shows_people`: whether the viewer
    may see who did what (token subjects, often people's names), which only the lab's members and the
    operator may."""

    lab: Lab
    implementations: list[Implementation]
    shows_people: bool


@dataclass(frozen=True)
class ImplementationView:
    """An implementation as `GET /v1/implementations/{id}` shows it; `shows_people` as for a lab."""

    implementation: Implementation
    shows_people: bool


# --- the catalogue replica ------------------------------------------------------------------------


async def record_catalogue_entry(entry: CatalogueEntry, uow: PartneringUnitOfWork) -> None:
    """Keep the feed record, unless the replica already holds a newer one (`entry.as_of` versions it)."""
    await uow.catalogue.upsert(entry)


async def forget_catalogue_entry(project_id: uuid.UUID, as_of: datetime, uow: PartneringUnitOfWork) -> None:
    """A tombstone: the project is withdrawn as of its time; running implementations of it carry on."""
    await uow.catalogue.withdraw(project_id, as_of)


async def apply_catalogue_changes(changes: Sequence[CatalogueEntry | Withdrawal], uow: PartneringUnitOfWork) -> None:
    """A run of feed records and tombstones (in feed order) at once: the same replica as one by one, written
    in two statements (a rebuild from the start of the feed reads every record the catalogue ever published)."""
    await uow.catalogue.write(*net_changes(changes))


# --- labs -----------------------------------------------------------------------------------------


async def _lab(lab_id: uuid.UUID, uow: PartneringUnitOfWork, *, for_update: bool = False) -> Lab:
    lab = await uow.labs.get(lab_id, for_update=for_update)
    if lab is None:
        raise NotFound(f"lab {lab_id} does not exist")
    return lab


async def _members(lab_id: uuid.UUID, uow: PartneringUnitOfWork) -> set[str]:
    return {member.subject for member in await uow.labs.members(lab_id)}


async def _ensure_may_change(lab_id: uuid.UUID, actor: Actor, uow: PartneringUnitOfWork) -> None:
    """403 unless the asker is a member of the lab or the operator; checked before any rule of the change."""
    ensure_may_change_lab(actor, lab_id, await _members(lab_id, uow))


async def create_lab(cmd: commands.CreateLab, uow: PartneringUnitOfWork) -> Lab:
    lab = Lab.create(name=cmd.name, municipalities=cmd.municipalities, region=cmd.region, at=_now())
    await uow.labs.add(lab)
    for subject in first_members(cmd.actor):
        await uow.labs.add_member(Member(lab_id=lab.id, subject=subject, added_by=cmd.by, added_at=lab.created_at))
    return lab


async def get_lab(lab_id: uuid.UUID, uow: PartneringUnitOfWork, viewer: Actor) -> LabView:
    lab = await _lab(lab_id, uow)
    return LabView(lab, await uow.implementations.for_lab(lab_id),
                   shows_people=may_change_lab(viewer, await _members(lab_id, uow)))


async def list_labs(uow: PartneringUnitOfWork, after: tuple[datetime, uuid.UUID] | None = None,
                    limit: int = 50) -> list[Lab]:
    """A page of labs in the order they were created: at most `limit`, after the lab at `after` (created_at, id)."""
    return await uow.labs.list(after, limit)


async def list_lab_members(lab_id: uuid.UUID, uow: PartneringUnitOfWork, viewer: Actor) -> list[Member]:
    await _lab(lab_id, uow)
    members = await uow.labs.members(lab_id)
    ensure_may_change_lab(viewer, lab_id, {m.subject for m in members})
    return members


async def add_lab_member(cmd: commands.AddLabMember, uow: PartneringUnitOfWork) -> Member:
    subject = member_subject(cmd.subject)
    # Locked, so membership changes of one lab happen one after the other (see remove_lab_member).
    lab = await _lab(cmd.lab_id, uow, for_update=True)
    ensure_may_add_member(cmd.actor, lab.id, subject, await _members(lab.id, uow))
    member = Member(lab_id=lab.id, subject=subject, added_by=cmd.by, added_at=_now())
    await uow.labs.add_member(member)
    return member


async def remove_lab_member(cmd: commands.RemoveLabMember, uow: PartneringUnitOfWork) -> None:
    # Locked: two members removing each other at once must not both pass the last-member check.
    lab = await _lab(cmd.lab_id, uow, for_update=True)
    ensure_may_remove_member(cmd.actor, lab.id, cmd.subject, await _members(lab.id, uow))
    await uow.labs.remove_member(lab.id, cmd.subject)


async def complete_setup_step(cmd: commands.CompleteSetupStep, uow: PartneringUnitOfWork) -> StepRecord:
    step = parse_step(cmd.step)
    lab = await _lab(cmd.lab_id, uow, for_update=True)
    await _ensure_may_change(lab.id, cmd.actor, uow)
    record = lab.complete_step(step, by=cmd.by, at=_now(), note=cmd.note)
    await uow.labs.save_step(lab.id, record)
    return record


async def join_lab(cmd: commands.JoinLab, uow: PartneringUnitOfWork) -> Partner:
    try:
        kind = PartnerKind(cmd.kind)
    except ValueError:
        raise InvalidInput("kind", f"must be one of {', '.join(k.value for k in PartnerKind)}") from None
    # Locked, so two simultaneous joins of one organisation cannot both pass the duplicate check.
    lab = await _lab(cmd.lab_id, uow, for_update=True)
    await _ensure_may_change(lab.id, cmd.actor, uow)
    partner = lab.join(organisation=cmd.organisation, kind=kind, sector=cmd.sector,
                       is_municipality=cmd.is_municipality, commitment=cmd.commitment, at=_now())
    await uow.labs.add_partner(partner)
    await uow.publish(PartnerJoined(
        lab_id=lab.id, partner_id=partner.id, organisation=partner.organisation, kind=partner.kind.value,
        sector=partner.sector, is_municipality=partner.is_municipality, commitment=partner.commitment,
        joined_at=partner.joined_at,
    ))
    return partner


async def form_lab(cmd: commands.FormLab, uow: PartneringUnitOfWork) -> Lab:
    lab = await _lab(cmd.lab_id, uow, for_update=True)
    await _ensure_may_change(lab.id, cmd.actor, uow)
    lab.form(_now(), by=cmd.by)
    await uow.labs.save_formation(lab)
    await uow.publish(LabFormed(
        lab_id=lab.id, name=lab.name, municipalities=list(lab.municipalities), region=lab.region,
        founding_partner_ids=list(lab.founding_partner_ids), formed_at=lab.formed_at,
    ))
    return lab


# --- implementations ------------------------------------------------------------------------------


async def _implementation(implementation_id: uuid.UUID, uow: PartneringUnitOfWork, *,
                          for_update: bool = False) -> Implementation:
    implementation = await uow.implementations.get(implementation_id, for_update=for_update)
    if implementation is None:
        raise NotFound(f"implementation {implementation_id} does not exist")
    return implementation


async def start_implementation(cmd: commands.StartImplementation, uow: PartneringUnitOfWork) -> Implementation:
    lab = await _lab(cmd.lab_id, uow, for_update=True)
    await _ensure_may_change(lab.id, cmd.actor, uow)
    project = await uow.catalogue.get(cmd.project_id)
    open_ones = [i for i in await uow.implementations.for_lab(lab.id)
                 if i.project_id == cmd.project_id and not i.is_closed]
    implementation = adopt_project(lab, project, project_id=cmd.project_id, already_implementing=bool(open_ones),
                                   at=_now(), by=cmd.by)
    await uow.implementations.add(implementation)
    await uow.publish(ImplementationStarted(
        lab_id=lab.id, implementation_id=implementation.id, project_id=implementation.project_id,
        municipalities=list(implementation.municipalities), started_at=implementation.started_at,
    ))
    return implementation


async def get_implementation(implementation_id: uuid.UUID, uow: PartneringUnitOfWork,
                             viewer: Actor) -> ImplementationView:
    implementation = await _implementation(implementation_id, uow)
    return ImplementationView(implementation,
                              shows_people=may_change_lab(viewer, await _members(implementation.lab_id, uow)))


async def record_funding(cmd: commands.RecordFunding, uow: PartneringUnitOfWork) -> Funding:
    try:
        kind = FundingKind(cmd.kind)
    except ValueError:
        raise InvalidInput("kind", f"must be one of {', '.join(k.value for k in FundingKind)}") from None
    implementation = await _implementation(cmd.implementation_id, uow, for_update=True)
    lab = await _lab(implementation.lab_id, uow)
    await _ensure_may_change(lab.id, cmd.actor, uow)
    funding = implementation.record_funding(source=lab.funding_source(cmd.source), kind=kind,
                                            amount_eur=cmd.amount_eur, by=cmd.by, at=_now())
    await uow.implementations.add_funding(implementation.id, funding)
    return funding


async def start_running(cmd: commands.StartRunning, uow: PartneringUnitOfWork) -> Implementation:
    implementation = await _implementation(cmd.implementation_id, uow, for_update=True)
    await _ensure_may_change(implementation.lab_id, cmd.actor, uow)
    change = implementation.start_running(_now(), by=cmd.by)
    await uow.implementations.save_status(implementation)
    await publish_change(implementation, change, uow)
    return implementation


async def record_impact(cmd: commands.RecordImpact, uow: PartneringUnitOfWork) -> ImpactMeasurement:
    # Locked: two overlapping periods recorded at once must not both pass the overlap check.
    implementation = await _implementation(cmd.implementation_id, uow, for_update=True)
    await _ensure_may_change(implementation.lab_id, cmd.actor, uow)
    measurement = implementation.record_impact(
        period_start=cmd.period_start, period_end=cmd.period_end, households_reached=cmd.households_reached,
        households_debt_free=cmd.households_debt_free, notes=cmd.notes, by=cmd.by, at=_now(),
        outcomes=outcome_measures(cmd),
    )
    await uow.implementations.add_impact(implementation.id, measurement)
    await publish_impact(implementation, measurement, uow)
    return measurement


async def hand_over_implementation(cmd: commands.HandOverImplementation,
                                   uow: PartneringUnitOfWork) -> Implementation:
    implementation = await _implementation(cmd.implementation_id, uow, for_update=True)
    await _ensure_may_change(implementation.lab_id, cmd.actor, uow)
    handover = implementation.hand_over(to=cmd.handed_over_to, regular_operations=cmd.regular_operations,
                                        by=cmd.by, at=_now())
    await uow.implementations.save_status(implementation)
    await publish_change(implementation, implementation.changes[-1], uow)  # the stage is sustainment now
    await uow.publish(ProjectHandedOver(
        lab_id=implementation.lab_id, implementation_id=implementation.id, project_id=implementation.project_id,
        handed_over_to=list(handover.handed_over_to), regular_operations=handover.regular_operations,
        impact=ImpactTotals(**totals_for_handover(implementation.impact_totals)),
        handed_over_at=handover.handed_over_at,
    ))
    return implementation
