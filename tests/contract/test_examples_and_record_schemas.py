"""The published examples satisfy their contract, and the documented headers and key are what records carry."""

import json

import jsonschema
import pytest

from schuldenlab_contracts import EVENTS, from_kafka_record, parse_payload, to_kafka_record
from schuldenlab_contracts.examples import example_event, example_payload, example_tombstone
from schuldenlab_contracts.schemas import SCHEMA_DIR, record_headers_schema, record_key_schema

FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def _headers(record) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.name)
def test_each_published_schema_carries_an_example_that_it_accepts(spec):
    schema = json.loads((SCHEMA_DIR / f"{spec.ce_type}.json").read_text(encoding="utf-8"))
    [example] = schema["examples"]
    assert example == example_payload(spec.ce_type).model_dump(mode="json")
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(example)


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.name)
def test_the_example_event_is_a_record_consumers_accept(spec):
    record = to_kafka_record(example_event(spec.ce_type))
    event = from_kafka_record(topic=record.topic, key=record.key, value=record.value, headers=record.headers)
    assert parse_payload(event) == example_payload(spec.ce_type)
    assert example_event(spec.ce_type) == event  # fixed id and time: the documents stay the same


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.name)
def test_the_documented_headers_are_exactly_the_headers_a_record_carries(spec):
    schema = record_headers_schema(spec)
    headers = _headers(to_kafka_record(example_event(spec.ce_type)))
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(headers)
    assert sorted(schema["required"]) == sorted(headers) == sorted(schema["properties"])


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.name)
def test_the_documented_headers_refuse_another_producer_or_type(spec):
    validator = jsonschema.Draft202012Validator(record_headers_schema(spec), format_checker=FORMATS)
    headers = _headers(to_kafka_record(example_event(spec.ce_type)))
    for name, wrong in (("ce_source", "/schuldenlab/notifications"), ("ce_type", "nl.schuldenlab.other.v1"),
                        ("ce_id", "evt-1")):
        assert not validator.is_valid({**headers, name: wrong}), name


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.name)
def test_the_documented_key_is_the_aggregate_id_the_record_is_keyed_by(spec):
    record = to_kafka_record(example_event(spec.ce_type))
    key = record.key.decode()
    jsonschema.Draft202012Validator(record_key_schema(spec), format_checker=FORMATS).validate(key)
    assert key == str(getattr(example_payload(spec.ce_type), spec.key_field)) == _headers(record)["ce_subject"]
    assert spec.key_field in record_key_schema(spec)["description"]


@pytest.mark.parametrize("spec", EVENTS, ids=lambda s: s.name)
def test_only_a_compacted_event_has_a_tombstone_example(spec):
    if spec.compacted:
        assert example_tombstone(spec.ce_type).is_tombstone
        assert example_tombstone(spec.ce_type).subject == example_event(spec.ce_type).subject
    else:
        with pytest.raises(ValueError, match="not compacted"):
            example_tombstone(spec.ce_type)
