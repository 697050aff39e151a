"""The CloudEvents distributed-tracing extension: `traceparent` / `tracestate` both ways, and never a reason to
refuse an event (a malformed one is left out, as W3C Trace Context tells a reader to do)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime

import pytest

from schuldenlab_contracts.cloudevents import (
    from_kafka_record,
    from_structured_json,
    new_event,
    to_kafka_record,
    to_structured_json,
    trace_context,
)
from schuldenlab_contracts.events import ProjectSubmitted
from tests.contract.samples import sample_payloads

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"


def _event(**trace: str):
    event = new_event(sample_payloads()[ProjectSubmitted], time=datetime(2026, 11, 30, 12, tzinfo=UTC))
    return dataclasses.replace(event, **trace)


def _read(record):
    return from_kafka_record(topic=record.topic, key=record.key, value=record.value, headers=record.headers)


def test_the_trace_context_travels_as_ce_headers_and_comes_back():
    event = _event(traceparent=TRACEPARENT, tracestate=TRACESTATE)
    record = to_kafka_record(event)
    headers = dict(record.headers)
    assert headers["ce_traceparent"] == TRACEPARENT.encode() and headers["ce_tracestate"] == TRACESTATE.encode()
    assert _read(record) == event


def test_the_trace_context_travels_as_members_of_the_webhook_body_and_comes_back():
    event = _event(traceparent=TRACEPARENT, tracestate=TRACESTATE)
    body = json.loads(to_structured_json(event))
    assert body["traceparent"] == TRACEPARENT and body["tracestate"] == TRACESTATE
    assert from_structured_json(to_structured_json(event)) == event


def test_an_event_without_a_trace_is_written_as_before():
    event = _event()
    assert not any(name.startswith("ce_trace") for name, _ in to_kafka_record(event).headers)
    assert "traceparent" not in json.loads(to_structured_json(event))
    assert _read(to_kafka_record(event)) == event


@pytest.mark.parametrize("bad", [
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # a field missing
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # the forbidden version
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # no trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # no span id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more",  # version 00 has nothing more
    "not a trace",
])
def test_a_malformed_traceparent_is_left_out_and_the_event_still_accepted(bad):
    record = to_kafka_record(_event(traceparent=bad, tracestate=TRACESTATE))
    event = _read(record)
    assert event.traceparent is None and event.tracestate is None  # the state means nothing without its parent
    assert event.id == dict(record.headers)["ce_id"].decode()


def test_a_later_version_with_more_fields_is_kept_and_an_oversized_tracestate_is_dropped():
    later = f"01-{uuid.uuid4().hex}-00f067aa0ba902b7-01-whatever-comes-next"
    assert trace_context(later, TRACESTATE) == (later, TRACESTATE)
    assert trace_context(TRACEPARENT, "k=" + "v" * 600) == (TRACEPARENT, None)
    assert trace_context(TRACEPARENT, "k=v\nforged") == (TRACEPARENT, None)
