"""The log lines of real service apps in JSON: request ids, trace ids, the access log, and no secret or personal
data."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
from contextlib import asynccontextmanager

import pytest
from fastapi import APIRouter
from opentelemetry.trace import SpanKind

from schuldenlab.services import load_definition
from servicekit import logs
from servicekit.service import create_app
from tests.integration.catalogue.catalogue_support import CONTACT, dossier
from tests.integration.notifications.notifications_support import SUBMITTED, webhook_settings
from tests.support.harness import TEST_SIGNING_KEY, eventually, running_service, service_settings, token
from tests.support.tracing import recorded_spans
from tests.support.webhooks import received, webhook_receiver

pytestmark = pytest.mark.integration

ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def json_logs():
    """The process's logging as `schuldenlab run` sets it up with SCHULDENLAB_LOG_FORMAT=json, into a buffer;
    what it replaced is put back afterwards, for the tests that follow."""
    root = logging.getLogger()
    names = {n for n in logging.Logger.manager.loggerDict if n.split(".")[0] in logs.LIBRARY_LOGGERS}
    saved = {name: (lg.__class__, lg.handlers[:], lg.propagate, lg.level)
             for name, lg in [("", root), *((n, logging.getLogger(n)) for n in names | set(logs.LIBRARY_LOGGER_NAMES))]}
    stream = io.StringIO()
    logs.configure("catalogue", level="INFO", log_format="json", stream=stream)
    yield stream
    for name, (cls, handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name or None)
        logger.__class__ = cls
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


def failing_router() -> APIRouter:
    """A route that logs a line and then fails: the lines a request causes, besides its access line."""
    router = APIRouter()

    @router.get("/test/fails/{thing_id}")
    async def fails(thing_id: str) -> None:
        logging.getLogger("tests.route").warning("about to fail")
        raise RuntimeError("the route failed")

    return router


async def test_json_lines_carry_the_request_id_the_route_template_and_no_secret_or_personal_data(
        fresh_database, fresh_kafka, tmp_path, json_logs, capfd):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    integrator = token("integrator", "crm")
    async with (webhook_receiver() as receiver, running_service("catalogue", settings) as catalogue,
                running_service("notifications", settings) as notifications):
        subscription = await notifications.client.post(
            "/v1/subscriptions", json={"url": receiver.url, "event_types": [SUBMITTED]},
            headers={"Authorization": f"Bearer {integrator}"})
        assert subscription.status_code == 201, subscription.text
        webhook_secret = subscription.json()["secret"]

        submitted = await catalogue.client.post("/v1/projects", json=dossier(),
                                                headers={"X-Request-Id": "caller-request-1"})
        assert submitted.status_code == 201, submitted.text
        assert submitted.headers["x-request-id"] == "caller-request-1"  # a well-formed id is taken and echoed
        project_id, submitter_key = submitted.json()["id"], submitted.json()["resubmission_token"]
        shown = await catalogue.client.get(f"/v1/projects/{project_id}")
        assert shown.status_code == 200
        searched = await catalogue.client.get("/v1/catalogue", params={"q": CONTACT["email"]},
                                              headers={"X-Request-Id": "not a token; forged=yes"})
        forged_replaced = searched.headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", forged_replaced)  # an ill-formed id is replaced, not echoed

        catalogue.app.include_router(failing_router())
        failed = await catalogue.client.get(f"/test/fails/{project_id}")
        assert failed.status_code == 500
        # The event travels to the webhook: the consumer's, relay's and worker's lines are in the log too.
        await eventually(lambda: received(receiver, 1), timeout=30)

    text = json_logs.getvalue()
    entries = [json.loads(line) for line in text.splitlines()]  # every line one JSON object
    assert entries and all({"time", "level", "service", "logger", "message"} <= e.keys() for e in entries)
    access = [e for e in entries if e["logger"] == "servicekit.access"]

    [post] = [e for e in access if e["method"] == "POST" and e["route"] == "/v1/projects"]
    assert post["status"] == 201 and post["request_id"] == "caller-request-1" and post["duration_ms"] >= 0
    [get] = [e for e in access if e["route"] == "/v1/projects/{project_id}"]
    assert get["status"] == 200 and get["request_id"] != "caller-request-1"
    [search] = [e for e in access if e["route"] == "/v1/catalogue"]
    assert search["request_id"] == forged_replaced
    # The failing request: its own line and the 500's error line carry its id, and the access log (outside
    # UnexpectedErrors) saw the 500 that was sent.
    [failure] = [e for e in access if e["route"] == "/test/fails/{thing_id}"]
    assert failure["status"] == 500
    own_lines = [e for e in entries if e.get("request_id") == failure["request_id"]]
    assert {e["logger"] for e in own_lines} >= {"tests.route", "servicekit.problems", "servicekit.access"}
    assert any("exception" in e and "RuntimeError" in e["exception"] for e in own_lines)

    everything = text + "".join(capfd.readouterr())
    never = {"contact name": CONTACT["name"], "contact e-mail": CONTACT["email"], "webhook secret": webhook_secret,
             "access token": integrator, "submitter key": submitter_key, "signing key": TEST_SIGNING_KEY,
             "project id in a path": f"/v1/projects/{project_id}", "query string": "q=anna"}
    assert [what for what, value in never.items() if value in everything] == []
    coloured = ANSI.search(everything)  # nothing coloured when the output is not a terminal
    assert coloured is None, everything[max(0, coloured.start() - 300):][:600]


TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


@asynccontextmanager
async def notifications_that_log_each_event(settings):
    """Notifications whose event handlers each log a line first: a line written while a consumed event is handled."""
    definition = load_definition("notifications")

    def logging_first(handler):
        async def handle(payload, event, uow):
            logging.getLogger("tests.handler").info("handling %s", event.type)
            await handler(payload, event, uow)
        return handle

    definition = dataclasses.replace(definition, handlers={ce_type: logging_first(handler)
                                                           for ce_type, handler in definition.handlers.items()})
    app = create_app(definition, settings)
    async with app.router.lifespan_context(app):
        yield


async def test_lines_carry_the_trace_of_the_request_and_of_the_consumed_event_it_caused(
        fresh_database, fresh_kafka, tmp_path, json_logs):
    spans = recorded_spans()
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue, notifications_that_log_each_event(settings):
        submitted = await catalogue.client.post("/v1/projects", json=dossier(2), headers={"traceparent": TRACEPARENT})
        assert submitted.status_code == 201, submitted.text
        untraced = await catalogue.client.get(f"/v1/projects/{submitted.json()['id']}")
        assert untraced.status_code == 200

        async def handled() -> list[dict]:
            return [e for e in map(json.loads, json_logs.getvalue().splitlines()) if e["logger"] == "tests.handler"]

        [handling] = await eventually(handled, timeout=30)

    finished = spans.get_finished_spans()
    [server] = [s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /v1/projects"]
    [consumed] = [s for s in finished if s.kind == SpanKind.CONSUMER
                  and s.attributes.get("messaging.consumer.group.name") == "notifications"]
    access = [e for e in map(json.loads, json_logs.getvalue().splitlines()) if e["logger"] == "servicekit.access"]
    # The access line of the request is written in its server span: the caller's trace, the server's span.
    [post] = [e for e in access if e["method"] == "POST" and e["route"] == "/v1/projects"]
    assert post["trace_id"] == TRACE_ID and post["span_id"] == f"{server.context.span_id:016x}"
    # A request without traceparent is a trace of its own, and its line says which.
    [get] = [e for e in access if e["route"] == "/v1/projects/{project_id}"]
    assert re.fullmatch(r"[0-9a-f]{32}", get["trace_id"]) and get["trace_id"] != TRACE_ID
    # The handler's line, in another service, carries the trace of the request that produced the event.
    assert handling["trace_id"] == TRACE_ID and handling["span_id"] == f"{consumed.context.span_id:016x}"
    assert handling["event_id"] == consumed.attributes["messaging.message.id"]
