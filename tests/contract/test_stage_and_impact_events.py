"""The SPEC 5.3 contracts: ImplementationStageChanged, ImpactRecorded and ProjectHandedOver's optional totals."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from schuldenlab_contracts import from_kafka_record, parse_payload, to_kafka_record
from schuldenlab_contracts.events import ImpactRecorded, ImpactTotals, ImplementationStageChanged, ProjectHandedOver
from schuldenlab_contracts.examples import example_event, example_payload
from schuldenlab_contracts.registry import by_model
from schuldenlab_contracts.schemas import breaking_against, generated_schemas

BASELINE = Path(__file__).resolve().parents[2] / "contracts" / "schemas" / "baseline" / "v1"
STAGE = "nl.schuldenlab.project.implementation-stage-changed.v1"
IMPACT = "nl.schuldenlab.project.impact-recorded.v1"
HANDED_OVER = "nl.schuldenlab.project.handed-over.v1"


def test_the_new_events_travel_on_their_own_topics_keyed_by_the_lab():
    for model, topic, ce_type in ((ImplementationStageChanged, "partnering.implementation-stage-changed.v1", STAGE),
                                  (ImpactRecorded, "partnering.impact-recorded.v1", IMPACT)):
        spec = by_model(model)
        assert (spec.topic, spec.ce_type, spec.key_field, spec.source, spec.compacted) == (
            topic, ce_type, "lab_id", "partnering", False)
        record = to_kafka_record(example_event(ce_type))
        assert record.key == str(example_payload(ce_type).lab_id).encode()


def test_the_additions_are_compatible_with_the_v1_baseline():
    assert [p for p in breaking_against(BASELINE) if p.startswith(HANDED_OVER)] == []
    assert {STAGE, IMPACT} <= set(generated_schemas())


def test_a_project_handed_over_from_before_the_outcome_totals_is_still_read():
    old = {**example_payload(HANDED_OVER).model_dump(mode="json"),
           "impact": {"households_reached": 120, "households_debt_free": 41}}
    handed_over = ProjectHandedOver.model_validate(old)
    assert handed_over.impact.cost_eur is None and handed_over.impact.benefit_per_euro is None


def test_money_travels_as_exact_decimal_strings():
    data = example_payload(IMPACT).model_dump(mode="json")
    assert (data["cost_eur"], data["benefit_eur"]) == ("51200.00", "133500.00")
    # A JSON number is read exactly: 0.1 stays 0.1 (no binary float on the way).
    parsed = ImpactRecorded.model_validate_json(json.dumps({**data, "cost_eur": 0.1}).replace('"0.1"', "0.1"))
    assert parsed.cost_eur == Decimal("0.1")
    totals = example_payload(HANDED_OVER).model_dump(mode="json")["impact"]
    assert totals["cost_per_household_debt_free_eur"] == "2341.46" and totals["benefit_per_euro"] == "2.6146"


@pytest.mark.parametrize(("change", "field"), [
    ({"households_debt_free": 65}, "households_debt_free"),
    ({"households_stabilised": 65}, "households_stabilised"),
    ({"cost_eur": "-1.00"}, "cost_eur"),
    ({"cost_eur": "1.001"}, "cost_eur"),
    ({"repeat_cases": -1}, "repeat_cases"),
    ({"period_end": "2025-06-30"}, "period_end"),
])
def test_an_inconsistent_impact_recorded_is_refused(change, field):
    data = {**example_payload(IMPACT).model_dump(mode="json"), **change}
    with pytest.raises(ValidationError, match=field):
        ImpactRecorded.model_validate(data)


def test_a_stage_change_names_only_known_stages_and_statuses():
    data = example_payload(STAGE).model_dump(mode="json")
    for field, wrong in (("stage", "hibernation"), ("status", "forgotten"), ("reason", "  ")):
        with pytest.raises(ValidationError):
            ImplementationStageChanged.model_validate({**data, field: wrong})
    assert ImplementationStageChanged.model_validate({**data, "reason": None}).reason is None


def test_the_totals_refuse_more_stabilised_than_reached():
    with pytest.raises(ValidationError):
        ImpactTotals(households_reached=1, households_debt_free=0, households_stabilised=2)


def test_the_example_records_round_trip():
    for ce_type in (STAGE, IMPACT, HANDED_OVER):
        record = to_kafka_record(example_event(ce_type))
        event = from_kafka_record(topic=record.topic, key=record.key, value=record.value, headers=record.headers)
        assert parse_payload(event) == example_payload(ce_type)
