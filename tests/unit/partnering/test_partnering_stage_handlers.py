"""The stage, pause/resume/stop, impact and coverage use cases against fakes: what is kept and what is published."""

from __future__ import annotations

import copy
import uuid
from datetime import date
from decimal import Decimal

import pytest

from partnering.domain import commands
from partnering.domain.errors import InvalidInput, NotALabMember, NotFound, PartneringConflict
from partnering.domain.model import CatalogueEntry
from partnering.service_layer import handlers, stages
from schuldenlab_contracts.events import ImpactRecorded, ImplementationStageChanged, ProjectHandedOver
from tests.unit.partnering.test_partnering_handlers import (
    T1,
    FakeCatalogue,
    FakeImplementations,
    FakeUnitOfWork,
    formed_lab,
)


class Catalogue(FakeCatalogue):
    async def list_entries(self):
        return list(self.entries.values())


class Implementations(FakeImplementations):
    async def save_status(self, implementation):
        self.items[implementation.id] = copy.deepcopy(implementation)

    async def sites_by_project(self):
        sites: dict = {}
        for i in self.items.values():
            if i.status.value != "stopped":
                sites.setdefault(i.project_id, set()).add(i.lab_id)
        return {project: len(labs) for project, labs in sites.items()}


@pytest.fixture
def uow() -> FakeUnitOfWork:
    unit = FakeUnitOfWork()
    unit.catalogue, unit.implementations = Catalogue(), Implementations()
    return unit


def proven(uow, name="Collectief Schuldregelen", phases=("planning", "debt_reduction"), level=None) -> uuid.UUID:
    entry = CatalogueEntry(project_id=uuid.uuid4(), name=name, status="proven", revision=1, as_of=T1,
                           phases=tuple(phases), evidence_level=level)
    uow.catalogue.entries[entry.project_id] = entry
    return entry.project_id


async def adopted(uow, lab=None, project_id=None):
    lab = lab or await formed_lab(uow)
    return await handlers.start_implementation(commands.StartImplementation(
        lab_id=lab.id, project_id=project_id or proven(uow), by="kim"), uow)


async def running(uow):
    i = await adopted(uow)
    await handlers.record_funding(commands.RecordFunding(implementation_id=i.id, source="Schiedam", kind="base",
                                                         amount_eur=Decimal("100.00"), by="kim"), uow)
    await handlers.start_running(commands.StartRunning(implementation_id=i.id, by="kim"), uow)
    return i


def stage(i, value, note=None, by="kim"):
    return commands.SetStage(implementation_id=i.id, stage=value, note=note, by=by)


def status(i, action, reason, by="kim"):
    return commands.ChangeImplementationStatus(implementation_id=i.id, action=action, reason=reason, by=by)


def stage_events(uow):
    return [e for e in uow.published if isinstance(e, ImplementationStageChanged)]


async def test_setting_a_stage_is_kept_and_published_with_the_note(uow):
    i = await adopted(uow)
    await stages.set_stage(stage(i, "installation", note="Team formed"), uow)
    stored = uow.implementations.items[i.id]
    assert stored.stage.value == "installation" and stored.changes[-1].reason == "Team formed"
    [event] = stage_events(uow)
    assert (event.implementation_id, event.lab_id, event.project_id) == (i.id, i.lab_id, i.project_id)
    assert (event.stage, event.status, event.reason) == ("installation", "preparing", "Team formed")
    assert event.municipalities == list(i.municipalities)


async def test_a_refused_stage_change_keeps_and_publishes_nothing(uow):
    i = await adopted(uow)
    published = list(uow.published)
    with pytest.raises(PartneringConflict):
        await stages.set_stage(stage(i, "full_implementation"), uow)
    with pytest.raises(InvalidInput) as caught:
        await stages.set_stage(stage(i, "hibernation"), uow)
    assert caught.value.field == "stage"
    assert uow.published == published and uow.implementations.items[i.id].stage.value == "exploration"


async def test_pause_resume_and_stop_publish_their_reasons_and_stopping_closes(uow):
    i = await running(uow)
    for action, reason in (("pause", "Budget not agreed"), ("resume", "Budget agreed"), ("stop", "Partner left")):
        await stages.change_status(status(i, action, reason), uow)
    assert [(e.status, e.reason) for e in stage_events(uow)] == [
        ("running", None), ("paused", "Budget not agreed"), ("running", "Budget agreed"), ("stopped", "Partner left")]
    with pytest.raises(PartneringConflict, match="stopped"):
        await handlers.record_funding(commands.RecordFunding(implementation_id=i.id, source="Schiedam",
                                                             kind="base", amount_eur=Decimal(1), by="kim"), uow)


async def test_a_stopped_project_may_be_adopted_again_by_the_lab(uow):
    lab = await formed_lab(uow)
    project_id = proven(uow)
    first = await adopted(uow, lab, project_id)
    await stages.change_status(status(first, "stop", "Wrong moment"), uow)
    again = await adopted(uow, lab, project_id)
    assert again.id != first.id


async def test_only_members_change_the_stage_and_missing_implementations_are_not_found(uow):
    i = await adopted(uow)
    with pytest.raises(NotALabMember):
        await stages.set_stage(stage(i, "installation", by="stranger"), uow)
    with pytest.raises(NotALabMember):
        await stages.change_status(status(i, "stop", "Not mine", by="stranger"), uow)
    with pytest.raises(NotFound):
        await stages.change_status(commands.ChangeImplementationStatus(
            implementation_id=uuid.uuid4(), action="pause", reason="r", by="kim"), uow)
    assert uow.implementations.items[i.id].changes == []


async def test_each_measurement_publishes_impact_recorded_with_its_measures(uow):
    i = await running(uow)
    await handlers.record_impact(commands.RecordImpact(
        implementation_id=i.id, period_start=date(2025, 1, 1), period_end=date(2025, 6, 30), households_reached=40,
        households_debt_free=10, notes="", by="kim", households_stabilised=25, median_days_to_stabilisation=33,
        repeat_cases=1, cost_eur=Decimal("0.10"), benefit_eur=Decimal("0.20")), uow)
    [event] = [e for e in uow.published if isinstance(e, ImpactRecorded)]
    assert (event.period_start, event.period_end) == (date(2025, 1, 1), date(2025, 6, 30))
    assert (event.households_reached, event.households_debt_free, event.households_stabilised,
            event.median_days_to_stabilisation, event.repeat_cases) == (40, 10, 25, 33, 1)
    assert (event.cost_eur, event.benefit_eur) == (Decimal("0.10"), Decimal("0.20"))
    assert event.municipalities == list(i.municipalities) and event.measurement_id is not None


async def test_the_handover_publishes_sustainment_and_the_optional_totals(uow):
    i = await running(uow)
    for (start, end), cost in (((date(2025, 1, 1), date(2025, 3, 31)), "0.10"),
                               ((date(2025, 4, 1), date(2025, 6, 30)), "0.20")):
        await handlers.record_impact(commands.RecordImpact(
            implementation_id=i.id, period_start=start, period_end=end, households_reached=3, households_debt_free=1,
            notes="", by="kim", cost_eur=Decimal(cost), benefit_eur=Decimal("0.30")), uow)
    await handlers.hand_over_implementation(commands.HandOverImplementation(
        implementation_id=i.id, handed_over_to=["Gemeente Schiedam"], regular_operations="Regular", by="kim"), uow)
    assert uow.implementations.items[i.id].stage.value == "sustainment"
    assert (stage_events(uow)[-1].stage, stage_events(uow)[-1].status) == ("sustainment", "handed_over")
    handed = uow.published[-1]
    assert isinstance(handed, ProjectHandedOver)
    assert (handed.impact.cost_eur, handed.impact.benefit_eur) == (Decimal("0.30"), Decimal("0.60"))
    assert handed.impact.cost_per_household_reached_eur == Decimal("0.05")
    assert handed.impact.cost_per_household_debt_free_eur == Decimal("0.15")
    assert handed.impact.benefit_per_euro == Decimal("2.0000")


async def test_coverage_counts_sites_over_all_labs_and_leaves_out_stopped_ones(uow):
    lab = await formed_lab(uow)
    elsewhere = await formed_lab(uow)
    third = await formed_lab(uow)
    own = proven(uow, "Nederlandse Schuldhulproute", ("awareness", "referral"))
    popular = proven(uow, "Popular planning", ("planning",), "practice_based")
    lonely = proven(uow, "Lonely planning", ("planning",), "practice_based")
    await adopted(uow, lab, own)
    await adopted(uow, elsewhere, popular)
    await adopted(uow, third, popular)
    stopped = await adopted(uow, elsewhere, lonely)
    await stages.change_status(status(stopped, "stop", "Did not fit"), uow)
    coverage = await stages.get_coverage(lab.id, uow)
    planning = {p.phase: p for p in coverage.phases}["planning"]
    assert [(s.name, s.sites) for s in planning.suggestions] == [("Popular planning", 2), ("Lonely planning", 0)]
    assert "awareness" not in coverage.gaps and "planning" in coverage.gaps
    with pytest.raises(NotFound):
        await stages.get_coverage(uuid.uuid4(), uow)
