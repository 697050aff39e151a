"""The rules of an implementation: adoption, exact funding, impact periods and handover (domain only)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from partnering.domain.errors import InvalidInput, PartneringConflict
from partnering.domain.implementation import (
    FundingKind,
    Implementation,
    ImplementationStatus,
    euros,
    start_implementation,
)
from partnering.domain.lab import FundingSource, Lab, PartnerKind, SetupStep
from partnering.domain.model import CatalogueEntry, withdrawn
from partnering.entrypoints.schemas import FundingCreate

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PROJECT = CatalogueEntry(project_id=uuid.uuid4(), name="Jongeren Perspectief Fonds", status="proven", revision=1,
                         as_of=NOW)
MUNICIPALITY = FundingSource("Schiedam", None, True)
BANK = FundingSource("ING", uuid.uuid4(), False)


def formed_lab() -> Lab:
    lab = Lab.create(name="SchuldenlabMVS", municipalities=["Schiedam", "Vlaardingen"], region=None, at=NOW)
    lab.join(organisation="Gemeente Schiedam", kind=PartnerKind.PUBLIC, sector="government", is_municipality=True,
             commitment="Base funding and a kwartiermaker", at=NOW)
    lab.complete_step(SetupStep.KWARTIERMAKER_APPOINTED, by="kim", at=NOW, note=None)
    lab.complete_step(SetupStep.DECLARATION_OF_INTENT, by="kim", at=NOW, note=None)
    lab.form(NOW, by="kim")
    return lab


def implementation(lab: Lab | None = None) -> Implementation:
    return start_implementation(lab or formed_lab(), PROJECT, project_id=PROJECT.project_id,
                                already_implementing=False, at=NOW, by="kim")


def running() -> Implementation:
    i = implementation()
    i.record_funding(source=MUNICIPALITY, kind=FundingKind.BASE, amount_eur=Decimal(10000), by="kim", at=NOW)
    i.start_running(NOW, by="kim")
    return i


def measure(i: Implementation, start: date, end: date, reached: int = 10, debt_free: int = 4):
    return i.record_impact(period_start=start, period_end=end, households_reached=reached,
                           households_debt_free=debt_free, notes="", by="kim", at=NOW)


def test_a_formed_lab_implements_a_proven_project_in_its_municipalities():
    i = implementation()
    assert i.status is ImplementationStatus.PREPARING
    assert i.municipalities == ("Schiedam", "Vlaardingen") and i.project_name == PROJECT.name
    assert i.started_by == "kim"


def test_implementing_names_every_unmet_condition():
    lab = Lab.create(name="Schuldenlab Almelo", municipalities=["Almelo"], region=None, at=NOW)
    with pytest.raises(PartneringConflict) as caught:
        start_implementation(lab, None, project_id=PROJECT.project_id, already_implementing=True, at=NOW,
                             by="kim")
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


def parsed_amount(json_number: str) -> Decimal:
    """An amount as the API parses it: a JSON number through the request body model, no float in between."""
    body = FundingCreate.model_validate_json(f'{{"source": "ING", "kind": "additional", "amount_eur": {json_number}}}')
    return body.amount_eur


def test_funding_totals_add_up_exactly_from_json_numbers():
    # JSON 0.1 and 0.2 as the API receives them; through a float they would sum to 0.30000000000000004.
    i = implementation()
    for amount in ("0.1", "0.2"):
        i.record_funding(source=BANK, kind=FundingKind.ADDITIONAL, amount_eur=parsed_amount(amount), by="kim",
                         at=NOW)
    assert str(i.funding_total()) == "0.30" and i.funding_total(FundingKind.BASE) == Decimal("0.00")


@pytest.mark.parametrize("json_number", ["0.123", "1e-3", "0", "-5"])
def test_json_numbers_that_are_not_whole_cents_or_positive_are_refused(json_number):
    with pytest.raises((ValidationError, InvalidInput)):
        euros(parsed_amount(json_number))


def test_it_cannot_run_without_municipal_base_funding():
    i = implementation()
    i.record_funding(source=BANK, kind=FundingKind.BASE, amount_eur=Decimal(500), by="kim", at=NOW)
    i.record_funding(source=MUNICIPALITY, kind=FundingKind.ADDITIONAL, amount_eur=Decimal(500), by="kim", at=NOW)
    with pytest.raises(PartneringConflict) as caught:
        i.start_running(NOW, by="kim")
    assert caught.value.conditions == ["no municipal base funding is recorded (kind base, from a municipality)"]
    assert i.status is ImplementationStatus.PREPARING


def test_it_runs_once_the_municipality_funds_its_base():
    i = running()
    assert i.status is ImplementationStatus.RUNNING and i.running_since == NOW and i.running_by == "kim"
    with pytest.raises(PartneringConflict, match="already running"):
        i.start_running(NOW, by="kim")


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
        i.start_running(NOW, by="kim")
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


def test_base_funding_from_a_municipal_partner_of_another_municipality_does_not_let_it_run():
    lab = formed_lab()
    lab.join(organisation="Gemeente Rotterdam", kind=PartnerKind.PUBLIC, sector="government", is_municipality=True,
             commitment="Advice", at=NOW)
    i = implementation(lab)
    source = lab.funding_source("Gemeente Rotterdam")
    assert not source.is_municipality  # a municipality, but not one of this lab's
    i.record_funding(source=source, kind=FundingKind.BASE, amount_eur=Decimal(500), by="kim", at=NOW)
    with pytest.raises(PartneringConflict, match="no municipal base funding"):
        i.start_running(NOW, by="kim")


def test_a_stale_catalogue_record_does_not_supersede_a_newer_withdrawal():
    later = NOW.replace(hour=10)
    gone = withdrawn(PROJECT.project_id, as_of=later, current=PROJECT)
    assert gone.supersedes(PROJECT) and not gone.is_proven and gone.name == PROJECT.name
    assert not PROJECT.supersedes(gone) and not PROJECT.supersedes(PROJECT)
    assert PROJECT.supersedes(None)
