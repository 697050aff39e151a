"""CloudEvents 1.0 binary-mode mapping to Kafka records, and the checks consumers rely on."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from schuldenlab_contracts import (
    CatalogueProject,
    CloudEvent,
    ContractViolation,
    ProjectSubmitted,
    by_model,
    from_kafka_record,
    new_event,
    parse_payload,
    to_kafka_record,
    to_structured_json,
    tombstone,
)

EVENT_ID = "3f2b8c1d-7e6a-4b5c-9d0e-1f2a3b4c5d6e"


def _read(record, **overrides):
    fields = {
        "topic": record.topic,
        "key": record.key,
        "value": record.value,
        "headers": record.headers,
    }
    return from_kafka_record(**{**fields, **overrides})


def _without(headers, name):
    return tuple((k, v) for k, v in headers if k != name)


def _replace(headers, name, value: bytes):
    return tuple((k, value if k == name else v) for k, v in headers)


def test_every_event_survives_the_round_trip_through_a_kafka_record(samples):
    for payload in samples.values():
        event = new_event(payload)
        received = _read(to_kafka_record(event))
        assert received == event
        assert parse_payload(received) == payload


def test_record_headers_are_exactly_the_cloudevents_binary_mode_headers_of_the_spec(submitted):
    when = datetime(2025, 3, 14, 10, 30, 15, 250000, tzinfo=timezone(timedelta(hours=1)))
    record = to_kafka_record(new_event(submitted, id=EVENT_ID, time=when))
    assert record.topic == "catalogue.project-submitted.v1"
    assert record.key == str(submitted.project_id).encode()
    assert record.headers == (
        ("ce_specversion", b"1.0"),
        ("ce_id", EVENT_ID.encode()),
        ("ce_source", b"/schuldenlab/catalogue"),
        ("ce_type", b"nl.schuldenlab.project.submitted.v1"),
        ("ce_time", b"2025-03-14T09:30:15.250000Z"),  # converted to UTC
        ("ce_subject", str(submitted.project_id).encode()),
        ("content-type", b"application/json"),
    )
    compact = json.dumps(submitted.model_dump(mode="json"), separators=(",", ":"))
    assert record.value == compact.encode()


def test_new_event_uses_the_registry_for_source_type_and_subject(samples):
    for payload in samples.values():
        spec = by_model(type(payload))
        event = new_event(payload)
        assert event.source == f"/schuldenlab/{spec.source}"
        assert event.type == spec.ce_type
        assert event.subject == str(getattr(payload, spec.key_field))
        assert uuid.UUID(event.id).version == 4
        assert event.time.tzinfo is not None
        assert (event.specversion, event.datacontenttype) == ("1.0", "application/json")


def test_republishing_with_the_same_id_and_time_gives_the_same_record(submitted):
    when = datetime(2025, 3, 14, tzinfo=UTC)
    first = to_kafka_record(new_event(submitted, id=EVENT_ID, time=when))
    assert to_kafka_record(new_event(submitted, id=EVENT_ID, time=when)) == first


def test_an_event_id_that_is_not_a_uuid_is_refused(submitted):
    with pytest.raises(ValueError, match="UUID"):
        new_event(submitted, id="evt-1")


def test_a_tombstone_removes_a_project_from_the_compacted_feed():
    spec = by_model(CatalogueProject)
    subject = str(uuid.uuid4())
    record = to_kafka_record(tombstone(spec, subject))
    assert (record.topic, record.key, record.value) == (
        "catalogue.projects.v1",
        subject.encode(),
        None,
    )
    received = _read(record)
    assert received.is_tombstone and received.data is None
    assert received.subject == subject
    with pytest.raises(ContractViolation) as caught:
        parse_payload(received)
    assert caught.value.field == "data"


def test_tombstones_are_refused_on_topics_that_are_not_compacted(submitted):
    with pytest.raises(ValueError, match="not compacted"):
        tombstone(by_model(ProjectSubmitted), str(submitted.project_id))
    record = to_kafka_record(new_event(submitted))
    with pytest.raises(ContractViolation) as caught:
        _read(record, value=None)
    assert caught.value.field == "value"


@pytest.mark.parametrize(
    "header", ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"]
)
def test_a_missing_or_blank_required_header_is_named(submitted, header):
    record = to_kafka_record(new_event(submitted))
    with pytest.raises(ContractViolation, match="missing") as caught:
        _read(record, headers=_without(record.headers, header))
    assert caught.value.field == header
    with pytest.raises(ContractViolation, match="blank") as caught:
        _read(record, headers=_replace(record.headers, header, b"  "))
    assert caught.value.field == header


def test_headers_may_be_given_as_a_mapping_of_str_or_bytes(submitted):
    record = to_kafka_record(new_event(submitted))
    as_text = {name: value.decode() for name, value in record.headers}
    assert _read(record, headers=as_text) == _read(record, headers=dict(record.headers))


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("ce_specversion", b"0.3", "expected '1.0'"),
        ("ce_type", b"nl.schuldenlab.project.exploded.v1", "unknown ce_type"),
        ("ce_type", b"nl.schuldenlab.lab.formed.v1", "belongs on topic 'partnering.lab-formed.v1'"),
        ("ce_source", b"/schuldenlab/notifications", "expected '/schuldenlab/catalogue'"),
        ("ce_time", b"yesterday", "not an RFC 3339 timestamp"),
        ("ce_time", b"2025-03-14T09:30:00", "no UTC offset"),
        ("ce_id", b"evt-1", "not a UUID"),
        ("content-type", b"text/plain", "expected 'application/json'"),
        ("ce_subject", b"another-project", "differs from ce_subject"),
    ],
)
def test_an_invalid_header_is_named_with_the_reason(submitted, header, value, reason):
    record = to_kafka_record(new_event(submitted))
    with pytest.raises(ContractViolation, match=reason) as caught:
        _read(record, headers=_replace(record.headers, header, value))
    assert caught.value.field == ("key" if header == "ce_subject" else header)
    assert reason in caught.value.reason and isinstance(caught.value, ValueError)


def test_a_ce_type_on_the_wrong_topic_is_a_violation(submitted):
    record = to_kafka_record(new_event(submitted))
    with pytest.raises(ContractViolation, match="belongs on topic") as caught:
        _read(record, topic="assessment.project-assessed.v1")
    assert caught.value.field == "ce_type"


def test_an_event_claiming_another_producer_than_its_topics_is_a_violation(samples):
    # The case that matters: a verdict written by anyone but assessment must not read as one.
    for payload in samples.values():
        record = to_kafka_record(new_event(payload))
        with pytest.raises(ContractViolation) as caught:
            _read(record, headers=_replace(record.headers, "ce_source", b"/schuldenlab/notifications"))
        expected = f"/schuldenlab/{by_model(type(payload)).source}"
        assert caught.value.field == "ce_source"
        assert f"expected {expected!r}" in caught.value.reason and "/schuldenlab/notifications" in caught.value.reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
    ],
)
def test_a_value_that_is_not_a_json_object_is_a_violation(submitted, value, reason):
    record = to_kafka_record(new_event(submitted))
    with pytest.raises(ContractViolation, match=reason) as caught:
        _read(record, value=value)
    assert caught.value.field == "value"


def test_a_missing_record_key_is_a_violation(submitted):
    record = to_kafka_record(new_event(submitted))
    with pytest.raises(ContractViolation) as caught:
        _read(record, key=None)
    assert caught.value.field == "key"


def test_a_payload_missing_a_required_field_names_the_field_path(submitted):
    data = submitted.model_dump(mode="json")
    del data["origin"]["municipality"]
    record = to_kafka_record(new_event(submitted))
    event = _read(record, value=json.dumps(data).encode())
    with pytest.raises(ContractViolation, match="Field required") as caught:
        parse_payload(event)
    assert caught.value.field == "origin.municipality"
    assert "origin.municipality" in str(caught.value)


def test_a_payload_with_an_invalid_list_item_names_its_index(submitted):
    data = {**submitted.model_dump(mode="json"), "phases": ["planning", "cooking"]}
    event = _read(to_kafka_record(new_event(submitted)), value=json.dumps(data).encode())
    with pytest.raises(ContractViolation) as caught:
        parse_payload(event)
    assert caught.value.field == "phases.1"


def test_a_payload_whose_key_field_differs_from_the_subject_is_a_violation(submitted):
    data = {**submitted.model_dump(mode="json"), "project_id": str(uuid.uuid4())}
    event = _read(to_kafka_record(new_event(submitted)), value=json.dumps(data).encode())
    with pytest.raises(ContractViolation) as caught:
        parse_payload(event)
    assert caught.value.field == "project_id"


def test_the_tolerant_reader_ignores_fields_a_newer_producer_added_at_any_depth(submitted):
    data = submitted.model_dump(mode="json")
    data["funding_model"] = "shared"
    data["origin"]["province"] = "Zuid-Holland"
    data["partners"][0]["website"] = "https://www.denhaag.nl"
    event = _read(to_kafka_record(new_event(submitted)), value=json.dumps(data).encode())
    assert parse_payload(event) == submitted


def test_structured_json_is_the_whole_cloudevent_for_webhooks(submitted):
    event = new_event(submitted, id=EVENT_ID, time=datetime(2025, 3, 14, 9, 30, tzinfo=UTC))
    body = json.loads(to_structured_json(event))
    assert body == {
        "specversion": "1.0",
        "id": EVENT_ID,
        "source": "/schuldenlab/catalogue",
        "type": "nl.schuldenlab.project.submitted.v1",
        "subject": str(submitted.project_id),
        "time": "2025-03-14T09:30:00Z",
        "datacontenttype": "application/json",
        "data": submitted.model_dump(mode="json"),
    }


def test_a_cloudevent_needs_a_timezone_aware_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        CloudEvent(
            id=EVENT_ID, source="/x", type="t", subject="s", time=datetime(2025, 1, 1), data=None
        )
