"""The catalogue feed record's optional `adoption` and `outcomes` (SPEC 5.3): optional, closed, exact money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from schuldenlab_contracts.events import CatalogueProject, PooledOutcomes
from schuldenlab_contracts.examples import example_payload

FEED = "nl.schuldenlab.catalogue.project.v1"


def test_a_feed_record_without_adoption_or_outcomes_is_still_valid():
    record = example_payload(FEED).model_dump(mode="json")
    del record["adoption"], record["outcomes"]
    parsed = CatalogueProject.model_validate(record)
    assert parsed.adoption is None and parsed.outcomes is None


def test_pooled_money_travels_as_an_exact_decimal_string():
    record = example_payload(FEED).model_dump(mode="json")
    assert record["outcomes"]["cost_per_debt_free_household_eur"] == "2341.46"
    assert record["outcomes"]["benefit_per_euro"] == "2.6146"
    assert CatalogueProject.model_validate(record).outcomes.cost_per_debt_free_household_eur == Decimal("2341.46")


@pytest.mark.parametrize("bad", [{"benefit_per_euro": "Infinity"}, {"cost_per_debt_free_household_eur": "-1.00"},
                                 {"sites_reporting": -1}, {"median_cost": "1.00"}])
def test_pooled_outcomes_refuse_infinite_negative_and_unknown_figures(bad):
    base = {"sites_reporting": 1, "households_reached": 10, "households_debt_free": 2}
    with pytest.raises(ValidationError):
        PooledOutcomes.model_validate({**base, **bad})
