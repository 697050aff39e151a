"""The rules of an implementation: adoption, exact funding, impact periods and handover (domain only)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from partnering.domain.errors import InvalidInput, PartneringConflict
from partnering.domain.implementation import (
    FundingKind,
    Implementation,
    ImplementationStatus,
    euros,
    start_implementation,
)
from partnering.domain.lab import FundingSource, Lab, PartnerKind, SetupStep
from partnering.domain.model import CatalogueEntry

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PROJECT = CatalogueEntry(project_id=uuid.uuid4(), name="Jongeren Perspectief Fonds", status="proven", revision=1)
MUNICIPALITY = FundingSource("Schiedam", None, True)
BANK = FundingSource("ING", uuid.uuid4(), False)


def formed_lab() -> Lab:
    lab = Lab.create(name="SchuldenlabMVS", municipalities=["Schiedam", "Vlaardingen"], region=None, at=NOW)
    lab.join(organisation="Gemeente Schiedam", kind=PartnerKind.PUBLIC, sector="government", is_municipality=True,
             commitment="Base funding and a kwartiermaker", at=NOW)
    lab.complete_step(SetupStep.KWARTIERMAKER_APPOINTED, by="kim", at=NOW, note=None)
    lab.complete_step(SetupStep.DECLARATION_OF_INTENT, by="kim", at=NOW, note=None)
    lab.form(NOW)
    return lab


def implementation(lab: Lab | None = None) -> Implementation:
    return start_implementation(lab or formed_lab(), PROJECT, project_id=PROJECT.project_id,
                                already_implementing=False, at=NOW)


def running() -> Implementation:
    i = implementation()
    i.record_funding(source=MUNICIPALITY, kind=FundingKind.BASE, amount_eur=Decimal(10000), by="kim", at=NOW)
    i.start_running(NOW)
    return i


def measure(i: Implementation, start: date, end: date, reached: int = 10, debt_free: int = 4):
    return i.record_impact(period_start=start, period_end=end, households_reached=reached,
                           households_debt_free=debt_free, notes="", by="kim", at=NOW)


def test_a_formed_lab_implements_a_proven_project_in_its_municipalities():
    i = implementation()
    assert i.status is ImplementationStatus.PREPARING
    assert i.municipalities == ("Schiedam", "Vlaardingen") and i.project_name == PROJECT.name


def test_implementing_names_every_unmet_condition():
    lab = Lab.create(name="Schuldenlab Almelo", municipalities=["Almelo"], region=None, at=NOW)
    with pytest.raises(PartneringConflict) as caught:
        start_implementation(lab, None, project_id=PROJECT.project_id, already_implementing=True, at=NOW)
    conditions = caught.value.conditions
    assert len(conditions) == 3
    assert "not formed" in conditions[0] and "not proven" in conditions[1] and "already implementing" in conditions[2]


def test_amounts_are_exact_cents():
    assert euros("0.1") + euros("0.2") == Decimal("0.30")
    assert str(euros(Decimal(12))) == "12.00"


@pytest.mark.parametrize("amount, reason", [
    (0.1, "not a float"), ("0.001", "two decimals"), ("0", "more than zero"), ("-5", "more than zero"),
    ("NaN", "finite"), ("abc", "not a decimal"), ("1000000000000", "exceed")])
def test_bad_amounts_are_refused(amount, reason):
    with pytest.raises(InvalidInput, match=reason) as caught:
        euros(amount)
    assert caught.value.field == "amount_eur"


def test_funding_totals_add_up_exactly():
    i = implementation()
    for amount in ("0.10", "0.20"):
        i.record_funding(source=BANK, kind=FundingKind.ADDITIONAL, amount_eur=Decimal(amount), by="kim", at=NOW)
    assert i.funding_total() == Decimal("0.30") and i.funding_total(FundingKind.BASE) == Decimal("0.00")


def test_it_cannot_run_without_municipal_base_funding():
    i = implementation()
    i.record_funding(source=BANK, kind=FundingKind.BASE, amount_eur=Decimal(500), by="kim", at=NOW)
    i.record_funding(source=MUNICIPALITY, kind=FundingKind.ADDITIONAL, amount_eur=Decimal(500), by="kim", at=NOW)
    with pytest.raises(PartneringConflict) as caught:
        i.start_running(NOW)
    assert caught.value.conditions == ["no municipal base funding is recorded (kind base, from a municipality)"]
    assert i.status is ImplementationStatus.PREPARING


def test_it_runs_once_the_municipality_funds_its_base():
    i = running()
    assert i.status is ImplementationStatus.RUNNING and i.running_since == NOW
    with pytest.raises(PartneringConflict, match="already running"):
        i.start_running(NOW)


def test_impact_is_measured_only_while_running():
    with pytest.raises(PartneringConflict, match="not running yet"):
        measure(implementation(), date(2025, 1, 1), date(2025, 3, 31))


def test_impact_periods_may_not_overlap_but_may_touch():
    i = running()
    measure(i, date(2025, 1, 1), date(2025, 3, 31))
    measure(i, date(2025, 4, 1), date(2025, 6, 30))
    with pytest.raises(PartneringConflict) as caught:
        measure(i, date(2025, 3, 31), date(2025, 4, 1))
    assert len(caught.value.conditions) == 2  # it overlaps both, and says so for each
    assert len(i.impacts) == 2


@pytest.mark.parametrize("start, end, reached, debt_free, field", [
    (date(2025, 2, 1), date(2025, 1, 1), 5, 1, "period_end"),
    (date(2025, 1, 1), date(2025, 1, 31), 5, 6, "households_debt_free"),
    (date(2025, 1, 1), date(2025, 1, 31), -1, 0, "households_reached"),
])
def test_an_inconsistent_measurement_is_bad_input(start, end, reached, debt_free, field):
    with pytest.raises(InvalidInput) as caught:
        measure(running(), start, end, reached, debt_free)
    assert caught.value.field == field


def test_impact_totals_sum_the_periods():
    i = running()
    measure(i, date(2025, 1, 1), date(2025, 3, 31), 40, 10)
    measure(i, date(2025, 4, 1), date(2025, 6, 30), 25, 13)
    assert (i.impact_totals.households_reached, i.impact_totals.households_debt_free) == (65, 23)


def test_handover_names_every_unmet_condition():
    with pytest.raises(PartneringConflict) as caught:
        implementation().hand_over(to=["Gemeente Schiedam"], regular_operations="Part of debt help", by="k", at=NOW)
    assert caught.value.conditions == ["the implementation is not running yet", "no impact has been measured yet"]


def test_handover_closes_the_implementation_for_further_changes():
    i = running()
    measure(i, date(2025, 1, 1), date(2025, 3, 31))
    i.hand_over(to=["Gemeente Schiedam", " Woonplus "], regular_operations="Runs in debt help", by="kim", at=NOW)
    assert i.status is ImplementationStatus.HANDED_OVER and i.handover.handed_over_to == ("Gemeente Schiedam",
                                                                                            "Woonplus")
    with pytest.raises(PartneringConflict, match="closed"):
        i.record_funding(source=MUNICIPALITY, kind=FundingKind.BASE, amount_eur=Decimal(1), by="kim", at=NOW)
    with pytest.raises(PartneringConflict, match="closed"):
        measure(i, date(2025, 4, 1), date(2025, 4, 30))
    with pytest.raises(PartneringConflict, match="closed"):
        i.start_running(NOW)
    with pytest.raises(PartneringConflict, match="closed"):
        i.hand_over(to=["x"], regular_operations="y", by="kim", at=NOW)


def test_handover_needs_organisations_and_how_it_continues():
    i = running()
    measure(i, date(2025, 1, 1), date(2025, 3, 31))
    with pytest.raises(InvalidInput) as caught:
        i.hand_over(to=[], regular_operations="x", by="kim", at=NOW)
    assert caught.value.field == "handed_over_to"
    with pytest.raises(InvalidInput) as caught:
        i.hand_over(to=["Gemeente Schiedam"], regular_operations=" ", by="kim", at=NOW)
    assert caught.value.field == "regular_operations"
