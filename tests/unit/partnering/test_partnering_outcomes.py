"""Outcome and cost measures of impact periods, their totals and derived figures (domain only, exact money)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from partnering.domain.errors import InvalidInput
from partnering.domain.implementation import Outcomes
from tests.unit.partnering.test_partnering_implementation_rules import NOW, running


def measure(i, start, end, reached, debt_free, **outcomes):
    return i.record_impact(period_start=start, period_end=end, households_reached=reached,
                           households_debt_free=debt_free, notes="", by="kim", at=NOW,
                           outcomes=Outcomes(**outcomes))


Q1, Q2, Q3 = (date(2025, 1, 1), date(2025, 3, 31)), (date(2025, 4, 1), date(2025, 6, 30)), \
    (date(2025, 7, 1), date(2025, 9, 30))


def test_a_measurement_keeps_its_outcomes_and_costs_exactly():
    i = running()
    m = measure(i, *Q1, 40, 10, households_stabilised=30, median_days_to_stabilisation=41, repeat_cases=2,
                cost_eur="0.10", benefit_eur=Decimal("0.20"))
    assert (m.households_stabilised, m.median_days_to_stabilisation, m.repeat_cases) == (30, 41, 2)
    assert (m.cost_eur, m.benefit_eur) == (Decimal("0.10"), Decimal("0.20"))


@pytest.mark.parametrize(("outcomes", "field"), [
    ({"households_stabilised": -1}, "households_stabilised"),
    ({"households_stabilised": 41}, "households_stabilised"),  # more stabilised than reached
    ({"repeat_cases": -3}, "repeat_cases"),
    ({"median_days_to_stabilisation": -1, "households_stabilised": 3}, "median_days_to_stabilisation"),
    ({"median_days_to_stabilisation": 20}, "median_days_to_stabilisation"),  # a median over no households
    ({"median_days_to_stabilisation": 20, "households_stabilised": 0}, "median_days_to_stabilisation"),
    ({"cost_eur": "-0.01"}, "cost_eur"),
    ({"cost_eur": "1.005"}, "cost_eur"),
    ({"cost_eur": 12.5}, "cost_eur"),  # a float is never money
    ({"benefit_eur": "-5"}, "benefit_eur"),
    ({"benefit_eur": "NaN"}, "benefit_eur"),
])
def test_bad_outcome_measures_are_refused_naming_the_field(outcomes, field):
    i = running()
    with pytest.raises(InvalidInput) as caught:
        measure(i, *Q1, 40, 10, **outcomes)
    assert caught.value.field == field and i.impacts == []


def test_more_debt_free_than_reached_is_still_refused():
    with pytest.raises(InvalidInput) as caught:
        measure(running(), *Q1, 4, 5, cost_eur="10.00")
    assert caught.value.field == "households_debt_free"


def test_totals_add_what_each_period_reported_and_derive_the_figures_exactly():
    i = running()
    measure(i, *Q1, 2, 1, households_stabilised=1, cost_eur="0.10", benefit_eur="0.10")
    measure(i, *Q2, 1, 0, repeat_cases=1, cost_eur="0.20", benefit_eur="0.20")
    t = i.impact_totals
    assert (t.households_reached, t.households_debt_free, t.households_stabilised, t.repeat_cases) == (3, 1, 1, 1)
    assert t.cost_eur == Decimal("0.30") and str(t.cost_eur) == "0.30"  # not 0.30000000000000004
    assert t.cost_per_household_reached_eur == Decimal("0.10")
    assert t.cost_per_household_debt_free_eur == Decimal("0.30")
    assert t.benefit_per_euro == Decimal("1.0000")


def test_a_figure_rounds_half_up_to_whole_cents():
    i = running()
    measure(i, *Q1, 3, 3, cost_eur="100.00", benefit_eur="200.00")
    t = i.impact_totals
    assert t.cost_per_household_reached_eur == Decimal("33.33")
    assert t.benefit_per_euro == Decimal("2.0000")
    j = running()
    measure(j, *Q1, 8, 1, cost_eur="0.20")
    assert j.impact_totals.cost_per_household_reached_eur == Decimal("0.03")  # 0.025 half up


def test_a_figure_with_a_zero_denominator_is_absent_not_infinite():
    i = running()
    measure(i, *Q1, 0, 0, cost_eur="500.00", benefit_eur="0.00")
    t = i.impact_totals
    assert t.cost_eur == Decimal("500.00")
    assert t.cost_per_household_reached_eur is None and t.cost_per_household_debt_free_eur is None
    j = running()
    measure(j, *Q1, 10, 0, cost_eur="0.00", benefit_eur="100.00")
    t = j.impact_totals
    assert t.cost_per_household_reached_eur == Decimal("0.00")  # free is a figure
    assert t.cost_per_household_debt_free_eur is None and t.benefit_per_euro is None


def test_figures_divide_only_over_the_periods_that_reported_a_cost():
    i = running()
    measure(i, *Q1, 100, 50)  # no cost reported: its households must not make the others look cheaper
    measure(i, *Q2, 10, 5, cost_eur="1000.00")
    measure(i, *Q3, 10, 0, cost_eur="1000.00", benefit_eur="3000.00")
    t = i.impact_totals
    assert (t.households_reached, t.cost_eur, t.benefit_eur) == (120, Decimal("2000.00"), Decimal("3000.00"))
    assert t.cost_per_household_reached_eur == Decimal("100.00")
    assert t.cost_per_household_debt_free_eur == Decimal("400.00")
    assert t.benefit_per_euro == Decimal("3.0000")  # benefit over the cost of the periods that gave a benefit


def test_without_any_optional_measure_the_optional_totals_are_absent():
    i = running()
    measure(i, *Q1, 10, 2)
    t = i.impact_totals
    assert (t.households_reached, t.households_debt_free) == (10, 2)
    assert [t.households_stabilised, t.repeat_cases, t.cost_eur, t.benefit_eur, t.cost_per_household_reached_eur,
            t.cost_per_household_debt_free_eur, t.benefit_per_euro] == [None] * 7
