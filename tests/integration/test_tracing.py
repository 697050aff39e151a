"""Tracing (issue 14, item 1), link by link: an HTTP request continues its caller's trace, and a webhook continues
the trace of the event it delivers, with a span of notifications' own in between."""

from __future__ import annotations

import dataclasses
import json

import pytest
from opentelemetry.trace import SpanKind

from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from servicekit.tracing import configure
from tests.integration.catalogue.catalogue_support import dossier
from tests.integration.notifications.notifications_support import project_submitted, subscribe, webhook_settings
from tests.support.harness import eventually, running_service, service_settings
from tests.support.kafka import produce, read_topic
from tests.support.tracing import recorded_spans
from tests.support.webhooks import received, webhook_receiver

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"


async def test_a_request_continues_its_callers_trace_in_a_span_named_by_its_route(
        fresh_database, fresh_kafka, tmp_path):
    spans = recorded_spans()
    async with running_service("catalogue", service_settings(fresh_database, fresh_kafka, tmp_path)) as catalogue:
        response = await catalogue.client.post("/v1/projects", json=dossier(0),
                                               headers={"traceparent": TRACEPARENT, "tracestate": "rojo=1"})
        assert response.status_code == 201, response.text
        project = await catalogue.client.get(f"/v1/projects/{response.json()['id']}")
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER and s.name == "POST /v1/projects"]
    assert f"{server.context.trace_id:032x}" == TRACE_ID and f"{server.parent.span_id:016x}" == CALLER_SPAN
    assert server.attributes["http.route"] == "/v1/projects"
    assert server.attributes["http.response.status_code"] == 201
    # Its unit of work on the database is a client span of its own within it (under FastAPI's endpoint span).
    [database] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT
                  and s.context.trace_id == server.context.trace_id]
    assert database.name == "transaction" and database.attributes["db.system.name"] == "postgresql"
    assert server.context.span_id in ancestors(database, spans.get_finished_spans()) and database.status.is_ok
    # A path with an id is named by its template: no span name per project.
    [read] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER and s.name.startswith("GET")]
    assert read.name == "GET /v1/projects/{project_id}" and project.status_code == 200
    assert f"{read.context.trace_id:032x}" != TRACE_ID  # no traceparent sent: a trace of its own


async def test_a_webhook_continues_the_trace_of_the_event_it_delivers(fresh_database, fresh_kafka, tmp_path):
    spans = recorded_spans()
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("notifications", settings) as notifications:
        await subscribe(notifications.client, receiver.url)
        event = dataclasses.replace(new_event(project_submitted()), traceparent=TRACEPARENT, tracestate="rojo=1")
        record = to_kafka_record(event)
        await produce(fresh_kafka, record.topic, key=record.key, value=record.value, headers=list(record.headers))
        [request] = await eventually(lambda: received(receiver, 1), timeout=30)

    [sent] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT and s.name == "webhook POST"]
    assert f"{sent.context.trace_id:032x}" == TRACE_ID and f"{sent.parent.span_id:016x}" == CALLER_SPAN
    # The receiver continues from notifications' own span, in the same trace; the body names the event's origin.
    assert request.headers["traceparent"] == f"00-{TRACE_ID}-{sent.context.span_id:016x}-01"
    assert request.headers["tracestate"] == "rojo=1"
    assert json.loads(request.body)["traceparent"] == TRACEPARENT


def ancestors(span, finished) -> list[int]:
    """The span ids from `span`'s parent up to the root of its trace, as far as `finished` holds them."""
    by_id = {s.context.span_id: s for s in finished}
    ids = []
    while span.parent is not None:
        ids.append(span.parent.span_id)
        if (span := by_id.get(span.parent.span_id)) is None:
            break
    return ids


def test_spans_are_exported_only_when_the_standard_variables_say_where():
    assert configure("catalogue", {}) is False
    assert configure("catalogue", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
                                   "OTEL_SDK_DISABLED": "true"}) is False
    assert configure("catalogue", {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces",
                                   "OTEL_TRACES_EXPORTER": "none"}) is False


async def test_one_trace_from_the_submission_through_kafka_to_the_webhook(fresh_database, fresh_kafka, tmp_path):
    spans = recorded_spans()
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("catalogue", settings) as catalogue, \
            running_service("notifications", settings) as notifications:
        await subscribe(notifications.client, receiver.url)
        response = await catalogue.client.post("/v1/projects", json=dossier(1), headers={"traceparent": TRACEPARENT})
        assert response.status_code == 201, response.text
        [request] = await eventually(lambda: received(receiver, 1), timeout=30)
    [record] = await read_topic(fresh_kafka, "catalogue.project-submitted.v1", expect=1)

    # The relay published the trace of the request's transaction with the event.
    assert dict(record.headers)["ce_traceparent"].decode().split("-")[1] == TRACE_ID
    finished = spans.get_finished_spans()
    [consumed] = [s for s in finished if s.kind == SpanKind.CONSUMER
                  and s.attributes.get("messaging.consumer.group.name") == "notifications"]
    [sent] = [s for s in finished if s.kind == SpanKind.CLIENT and s.name == "webhook POST"]
    [server] = [s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /v1/projects"]
    # The relay's hand-over to Kafka, a child of the request's trace, ended when Kafka acknowledged it.
    [published] = [s for s in finished if s.kind == SpanKind.PRODUCER]
    assert published.name == "catalogue.project-submitted.v1 publish" and published.status.is_ok
    assert published.attributes["messaging.message.id"] == dict(record.headers)["ce_id"].decode()
    assert {f"{s.context.trace_id:032x}" for s in (server, published, consumed, sent)} == {TRACE_ID}
    assert request.headers["traceparent"].split("-")[1] == TRACE_ID
