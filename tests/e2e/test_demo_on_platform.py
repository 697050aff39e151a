"""The whole platform as a user meets it: `schuldenlab up`, a webhook subscription, `schuldenlab demo`.

One pass through every service as processes: submissions, board decisions, a lab formed with
partners, an implementation handed over, adoption figures in the catalogue, and signed webhooks for
every kind of event at an integrator's receiver.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.registry import EVENT_TYPES
from tests.support.platform import Platform, wait_for

pytestmark = pytest.mark.e2e

# The event types SPEC 5.2 and 5.3 added, named here so that the test fails if the registry ever lost one.
DUE = "nl.schuldenlab.project.reassessment-due.v1"
STAGE = "nl.schuldenlab.project.implementation-stage-changed.v1"
IMPACT = "nl.schuldenlab.project.impact-recorded.v1"


class Receiver:
    """An integrator's endpoint on loopback, in a thread: records every webhook it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def types(self) -> set[str]:
        return {json.loads(body)["type"] for _, body in self.received}

    def data(self, ce_type: str) -> list[dict]:
        """The payloads of the webhooks of one event type, in the order they came."""
        return [event["data"] for event in (json.loads(body) for _, body in list(self.received))
                if event["type"] == ce_type]


def test_the_demo_walks_every_service_and_the_integrator_receives_signed_webhooks(tmp_path):
    receiver = Receiver()
    platform = Platform(tmp_path, SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    try:
        integrator = platform.cli("token", "--role", "integrator", "--subject", "gemeente-schiedam").stdout.strip()
        subscribed = httpx.post(f"{platform.url('notifications')}/v1/subscriptions",
                                headers={"Authorization": f"Bearer {integrator}"},
                                json={"url": receiver.url, "event_types": sorted(EVENT_TYPES),
                                      "description": "e2e integrator"})
        assert subscribed.status_code == 201, subscribed.text
        secret = subscribed.json()["secret"]

        demo = platform.cli("demo")
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "demo complete" in demo.stdout

        catalogue = httpx.get(f"{platform.url('catalogue')}/v1/catalogue", params={"limit": 50}).json()["items"]
        assert {p["name"] for p in catalogue} >= {p["name"] for p in KNOWN_PROJECTS}
        adopted = [p for p in catalogue if p["handovers"] >= 1]
        assert adopted and {"Schiedam", "Vlaardingen", "Maassluis"} <= set(adopted[0]["municipalities"])
        ratings = [p["rating"] for p in catalogue if p.get("rating")]  # SPEC 5.2: levels, one re-assessment
        assert {r["evidence_level"] for r in ratings} == {"practice_based", "evaluated", "effective"}
        assert [r["status"] for r in ratings].count("reassessment_due") == 1

        assert {DUE, STAGE, IMPACT} <= EVENT_TYPES
        wait_for(lambda: receiver.types() >= EVENT_TYPES, timeout=30)
        # The stage walk, its pause and the stopped adoption each came as a webhook, not just the first change.
        wait_for(lambda: {"running", "paused", "stopped", "handed_over"} <= {d["status"] for d in receiver.data(STAGE)},
                 timeout=30)
        wait_for(lambda: len(receiver.data(IMPACT)) >= 2, timeout=30)
    finally:
        code, alive = platform.stop()
        receiver.server.shutdown()
    assert code == 0 and alive == []

    verifier = Webhook(secret)
    for headers, body in receiver.received:
        assert headers["content-type"].startswith("application/cloudevents+json")
        verified = verifier.verify(body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp",
                                                                  "webhook-signature")})
        assert verified["id"] == headers["webhook-id"]
        assert "contact" not in body.decode() and "demo@schuldenlab" not in body.decode()

    [due] = receiver.data(DUE)  # the board's request in the demo; no rating runs out in the default three years
    assert due["reason"] == "requested" and due["valid_until"]
    stages = receiver.data(STAGE)
    walked = {d["stage"] for d in stages}
    assert {"installation", "initial_implementation", "full_implementation", "sustainment"} <= walked
    [stopped] = [d for d in stages if d["status"] == "stopped"]
    assert stopped["reason"] and stopped["municipalities"]
    impacts = receiver.data(IMPACT)
    assert sorted(d["cost_eur"] for d in impacts) == ["38400.00", "45750.00"]  # exact decimal strings, not floats
    assert all(d["benefit_eur"] and d["households_stabilised"] is not None for d in impacts)
