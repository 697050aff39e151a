"""Adoption and pooled outcomes (SPEC 5.3): the domain's rules, and the handlers that republish the feed record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from catalogue.domain.adoption import Measurement, pooled_outcomes
from catalogue.domain.model import Project, Verdict
from catalogue.service_layer import handlers
from schuldenlab_contracts.events import CatalogueProject
from tests.unit.catalogue.catalogue_fakes import CONTACT, FakeUnitOfWork, dossier

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def measured(site: uuid.UUID, reached: int, debt_free: int, cost: str | None = None, benefit: str | None = None,
             stabilised: int | None = None) -> Measurement:
    return Measurement(uuid.uuid4(), site, reached, debt_free, stabilised,
                       None if cost is None else Decimal(cost), None if benefit is None else Decimal(benefit))


def listed_project() -> Project:
    project = Project.submit(dossier(), CONTACT, T0, b"digest")
    project.record_verdict(assessment_id=uuid.uuid4(), revision=1, verdict=Verdict.PROVEN, rationale="Goed.",
                           decided_at=T0)
    return project


def test_cost_per_debt_free_household_is_the_median_over_sites_of_each_sites_own_ratio():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    outcomes = pooled_outcomes([
        measured(a, 50, 10, cost="1000.00"), measured(a, 50, 10, cost="3000.00"),  # site a: 4000 / 20 = 200
        measured(a, 30, 30),  # no cost: not in site a's ratio, but in the sums
        measured(b, 40, 4, cost="2000.00"),  # site b: 500
        measured(c, 10, 1, cost="100.00"),  # site c: 100
    ])
    assert outcomes["cost_per_debt_free_household_eur"] == Decimal("200.00")
    assert outcomes["sites_reporting"] == 3
    assert (outcomes["households_reached"], outcomes["households_debt_free"]) == (180, 55)
    assert outcomes["households_stabilised"] is None  # nobody reported it


def test_an_even_number_of_sites_takes_the_exact_mean_of_the_middle_two_rounded_once_to_cents():
    a, b = uuid.uuid4(), uuid.uuid4()
    outcomes = pooled_outcomes([measured(a, 9, 3, cost="0.05"), measured(b, 7, 2, cost="0.01")])
    # 0.01666... and 0.005: exactly (0.01666... + 0.005) / 2 = 0.010833... -> 0.01; rounding each site first
    # (0.02 and 0.01) would give 0.015 -> 0.02.
    assert outcomes["cost_per_debt_free_household_eur"] == Decimal("0.01")
    assert isinstance(outcomes["cost_per_debt_free_household_eur"], Decimal)


def test_benefit_per_euro_is_the_median_over_the_sites_that_gave_benefits_only():
    a, b, c, d = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    outcomes = pooled_outcomes([
        measured(a, 10, 1, cost="0.10", benefit="0.20"), measured(a, 10, 1, cost="0.20", benefit="0.10"),
        measured(b, 10, 2, cost="0.30", benefit="0.90"),
        measured(c, 10, 1, cost="1.00"),  # no benefit
        measured(d, 10, 1, cost="2.00", benefit="5.00"),
    ])
    # a: 0.30 / 0.30 = 1 exactly; b: 3; d: 2.5: the median is 2.5 (c, without benefits, is not a site here).
    assert outcomes["benefit_per_euro"] == Decimal("2.5000")
    solo = pooled_outcomes([measured(a, 10, 1, cost="0.10", benefit="0.20"),
                            measured(a, 10, 1, cost="0.20", benefit="0.10")])
    assert solo["benefit_per_euro"] == Decimal("1.0000")  # 0.1 + 0.2 as floats would not make exactly 0.3


def test_a_figure_with_a_zero_denominator_is_absent_not_infinite():
    a, b = uuid.uuid4(), uuid.uuid4()
    outcomes = pooled_outcomes([measured(a, 10, 0, cost="500.00", benefit="100.00"),
                                measured(b, 10, 0, cost="0.00", benefit="100.00", stabilised=4)])
    assert outcomes["cost_per_debt_free_household_eur"] is None  # nobody became debt-free anywhere
    # a: 100 / 500 = 0.2; b cost nothing: no ratio, so the median is a's alone.
    assert outcomes["benefit_per_euro"] == Decimal("0.2000")
    assert outcomes["households_stabilised"] == 4
    only_free = pooled_outcomes([measured(b, 10, 0, cost="0.00", benefit="100.00")])
    assert only_free["benefit_per_euro"] is None and only_free["cost_per_debt_free_household_eur"] is None
    assert pooled_outcomes([]) is None


def test_the_newest_stage_change_per_implementation_wins_whatever_order_they_arrive_in():
    project, lab, impl = listed_project(), uuid.uuid4(), uuid.uuid4()
    assert project.change_stage(impl, lab, ("Zwolle",), stage="installation", status="preparing", reason=None,
                                changed_at=T0 + timedelta(days=2))
    # An older change delivered late (another partition order, a redelivery) changes nothing.
    assert not project.change_stage(impl, lab, ("Zwolle",), stage="exploration", status="preparing", reason=None,
                                    changed_at=T0 + timedelta(days=1))
    assert project.adoption["stages"]["installation"] == 1 and project.adoption["stages"]["exploration"] == 0
    assert project.change_stage(impl, lab, ("Zwolle",), stage="installation", status="stopped",
                                reason="Geen budget meer.", changed_at=T0 + timedelta(days=3))
    adoption = project.adoption
    assert adoption["implementations"] == 0 and adoption["stages"]["installation"] == 0
    assert [(s["implementation_id"], s["stage"], s["reason"], s["municipalities"]) for s in adoption["stopped"]] == [
        (impl, "installation", "Geen budget meer.", ["Zwolle"])]
    assert project.labs_implementing == []  # a stopped implementation is no lab implementing it


def test_adoption_counts_stages_paused_and_handed_over_with_their_municipalities():
    project, lab = listed_project(), uuid.uuid4()
    started, paused, handed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    project.start_implementation(started, lab, ("Assen",))  # no stage change yet: exploration
    project.change_stage(paused, lab, ("Emmen",), stage="full_implementation", status="paused", reason="Zomer.",
                         changed_at=T0)
    project.start_implementation(handed, lab, ("Hoorn",))
    project.hand_over(handed, lab, T0)
    adoption = project.adoption
    assert adoption["stages"] == {"exploration": 1, "installation": 0, "initial_implementation": 0,
                                  "full_implementation": 1, "sustainment": 1}
    assert (adoption["implementations"], adoption["paused"], adoption["handed_over"]) == (3, 1, 1)
    assert adoption["municipalities"] == ["Assen", "Emmen", "Hoorn"] and adoption["stopped"] == []
    # Partnering announces the handover as a stage change before ProjectHandedOver: it counts at once.
    early = uuid.uuid4()
    project.change_stage(early, lab, ("Urk",), stage="sustainment", status="handed_over", reason=None, changed_at=T0)
    assert (project.adoption["handed_over"], project.adoption["stages"]["sustainment"]) == (2, 2)


def test_a_duplicate_measurement_is_ignored():
    project, site = listed_project(), uuid.uuid4()
    measurement = measured(site, 20, 5, cost="250.00")
    assert project.record_measurement(measurement)
    assert not project.record_measurement(measurement)
    assert project.outcomes["households_reached"] == 20 and project.outcomes["sites_reporting"] == 1


async def test_stage_changes_and_measurements_republish_the_feed_record_only_when_they_change_it():
    uow = FakeUnitOfWork()
    project = listed_project()
    await uow.projects.add(project)
    lab, impl = uuid.uuid4(), uuid.uuid4()
    stage = handlers.RecordStageChange(project.id, impl, lab, ("Delft",), "installation", "preparing", None, T0)
    await handlers.record_stage_change(stage, uow)
    await handlers.record_stage_change(stage, uow)  # redelivered under a new event id: not newer
    measurement = handlers.RecordMeasurement(project.id, impl, lab, ("Delft",), uuid.uuid4(), 30, 6,
                                             cost_eur=Decimal("1200.00"), benefit_eur=Decimal("3000.00"))
    await handlers.record_measurement(measurement, uow)
    await handlers.record_measurement(measurement, uow)
    records = [CatalogueProject.model_validate(e.data) for e in uow.of_type("catalogue.project.v1")]
    assert len(records) == 2
    assert records[0].adoption.stages.installation == 1 and records[0].outcomes is None
    assert records[1].outcomes.cost_per_debt_free_household_eur == Decimal("200.00")
    assert records[1].outcomes.benefit_per_euro == Decimal("2.5000")
