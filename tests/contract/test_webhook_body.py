"""Reading a webhook body (a CloudEvent in structured JSON) back into the typed payload, as integrators do."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from notifications.domain.model import ReceivedEvent
from notifications.domain.signing import new_secret, webhook_headers
from notifications.service_layer.delivery import webhook_body
from notifications.service_layer.ports import ClaimedDelivery
from schuldenlab_contracts import (
    CatalogueProject,
    ContractViolation,
    by_model,
    from_kafka_record,
    from_structured_json,
    new_event,
    parse_payload,
    to_kafka_record,
    to_structured_json,
    tombstone,
)

EVENT_ID = "3f2b8c1d-7e6a-4b5c-9d0e-1f2a3b4c5d6e"


def _body(submitted, **changes) -> bytes:
    """The structured JSON of `submitted` with members replaced (None removes one)."""
    document = json.loads(to_structured_json(new_event(submitted, id=EVENT_ID)))
    for name, value in changes.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    return json.dumps(document).encode()


def test_every_event_survives_the_round_trip_through_a_webhook_body(samples):
    for payload in samples.values():
        event = new_event(payload)
        received = from_structured_json(to_structured_json(event))
        assert received == event
        assert parse_payload(received) == payload


def test_a_catalogue_tombstone_reads_back_as_a_tombstone_with_or_without_a_data_member():
    spec = by_model(CatalogueProject)
    event = tombstone(spec, str(uuid.uuid4()), time=datetime(2025, 3, 14, 9, 30, tzinfo=UTC))
    body = to_structured_json(event)
    assert json.loads(body)["data"] is None
    assert from_structured_json(body) == event and from_structured_json(body).is_tombstone
    without_data = {k: v for k, v in json.loads(body).items() if k != "data"}
    assert from_structured_json(json.dumps(without_data)).is_tombstone


def test_the_body_notifications_sends_verifies_and_reads_back_as_the_payload_produced(samples):
    # The whole path: producer record -> notifications' consumer -> its webhook body and signature ->
    # the integrator's signature check and reader.
    for payload in samples.values():
        record = to_kafka_record(new_event(payload))
        consumed = from_kafka_record(topic=record.topic, key=record.key, value=record.value, headers=record.headers)
        secret = new_secret()
        claim = ClaimedDelivery(
            delivery_id=uuid.uuid4(), claim_token=uuid.uuid4(), subscription_id=uuid.uuid4(),
            url="https://receiver.example/hook", target_host="receiver.example", secrets=(secret,),
            event=ReceivedEvent(event_id=consumed.id, ce_type=consumed.type, subject=consumed.subject,
                                source=consumed.source, time=consumed.time, data=consumed.data),
        )
        body = webhook_body(claim)
        headers = webhook_headers([secret], consumed.id, int(datetime.now(UTC).timestamp()), body)

        Webhook(secret).verify(body, headers)
        assert headers["content-type"] == "application/cloudevents+json"
        event = from_structured_json(body)
        assert event == consumed and event.id == headers["webhook-id"]
        assert parse_payload(event) == payload


@pytest.mark.parametrize("attribute", ["specversion", "id", "source", "type", "time", "subject"])
def test_a_missing_or_blank_required_attribute_is_named(submitted, attribute):
    with pytest.raises(ContractViolation, match="missing") as caught:
        from_structured_json(_body(submitted, **{attribute: None}))
    assert caught.value.field == attribute
    with pytest.raises(ContractViolation, match="blank") as caught:
        from_structured_json(_body(submitted, **{attribute: "  "}))
    assert caught.value.field == attribute


@pytest.mark.parametrize(
    ("attribute", "value", "reason"),
    [
        ("specversion", "0.3", "expected '1.0'"),
        ("id", "evt-1", "not a UUID"),
        ("type", "nl.schuldenlab.project.exploded.v1", "unknown ce_type"),
        ("source", "/schuldenlab/notifications", "expected '/schuldenlab/catalogue'"),
        ("time", "yesterday", "not an RFC 3339 timestamp"),
        ("time", "2025-03-14T09:30:00", "no UTC offset"),
        ("datacontenttype", "text/plain", "expected 'application/json'"),
        ("subject", 42, "expected a string"),
        ("data", [1, 2], "expected a JSON object"),
        ("data_base64", "e30=", "binary data is not part of the contract"),
    ],
)
def test_an_invalid_attribute_is_named_with_the_reason(submitted, attribute, value, reason):
    with pytest.raises(ContractViolation, match=reason) as caught:
        from_structured_json(_body(submitted, **{attribute: value}))
    assert caught.value.field == attribute and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"{not json", "not valid JSON"), (b"\xff\xfe{}", "not valid JSON"), (b"[1, 2]", "expected a JSON object")],
)
def test_a_body_that_is_not_a_json_object_is_a_violation_of_the_body(body, reason):
    with pytest.raises(ContractViolation, match=reason) as caught:
        from_structured_json(body)
    assert caught.value.field == "body"


def test_null_data_is_a_tombstone_only_on_a_compacted_type(submitted):
    with pytest.raises(ContractViolation, match="non-compacted") as caught:
        from_structured_json(_body(submitted, data=None))
    assert caught.value.field == "data"


def test_unknown_attributes_and_payload_fields_are_ignored_and_a_missing_datacontenttype_is_json(submitted):
    data = {**submitted.model_dump(mode="json"), "funding_model": "shared"}
    body = _body(submitted, data=data, traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                 datacontenttype=None)
    assert parse_payload(from_structured_json(body)) == submitted
    assert parse_payload(from_structured_json(body.decode())) == submitted  # text is read like bytes


def test_a_payload_whose_key_field_differs_from_the_subject_is_named_by_parse_payload(submitted):
    data = {**submitted.model_dump(mode="json"), "project_id": str(uuid.uuid4())}
    with pytest.raises(ContractViolation) as caught:
        parse_payload(from_structured_json(_body(submitted, data=data)))
    assert caught.value.field == "project_id"
