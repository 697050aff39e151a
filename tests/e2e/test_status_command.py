"""`schuldenlab status` beside a running `schuldenlab up`, as an operator (or a script) uses it."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.kafka import produce
from tests.support.platform import SERVICES, Platform, wait_for

pytestmark = pytest.mark.e2e


async def test_status_is_healthy_on_a_fresh_platform_and_names_a_dead_letter(tmp_path):
    # JSON logs, as the containers have them: the services' processes (uvicorn, FastStream) are checked below.
    platform = Platform(tmp_path, SCHULDENLAB_LOG_FORMAT="json")
    try:
        searched = httpx.get(f"{platform.url('catalogue')}/v1/catalogue", headers={"X-Request-Id": "operator-1"})
        assert searched.status_code == 200 and searched.headers["x-request-id"] == "operator-1"
        healthy = platform.cli("status")
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        assert healthy.stdout.rstrip().endswith("healthy")
        report = json.loads(platform.cli("status", "--json").stdout)
        assert report["healthy"] is True and report["problems"] == []
        assert {s["name"]: s["ready"] for s in report["services"]} == dict.fromkeys(SERVICES, "ready")
        assert {s["name"]: s["dead_letters"] for s in report["services"]} == dict.fromkeys(SERVICES, 0)
        # Every group's partitions are listed, the retry topics included.
        assert {(lag["group"], lag["topic"]) for lag in report["lags"]} >= {
            ("assessment", "catalogue.project-submitted.v1"), ("notifications", "notifications.retry.v1")}

        # A record that breaks its contract: each service reading the topic dead-letters it.
        await produce(platform.kafka, "catalogue.project-submitted.v1", key=b"poison", value=b"not an event",
                      headers=[])

        def unhealthy():
            result = platform.cli("status")
            return result if result.returncode == 1 and "notifications has 1 dead letter" in result.stdout else None

        result = wait_for(unhealthy, timeout=90, interval=1)
        assert "UNHEALTHY: assessment has 1 dead letter(s) not replayed on assessment.dlq.v1" in result.stdout
        assert "catalogue has" not in result.stdout  # the catalogue does not read its own topic
    finally:
        platform.stop()
    for service in SERVICES:
        entries = [json.loads(line) for line in (tmp_path / "logs" / f"{service}.log").read_text().splitlines()]
        assert {"uvicorn.error", "servicekit.runner"} <= {e["logger"] for e in entries}
        assert all(e["service"] == service for e in entries)
    catalogue = (tmp_path / "logs" / "catalogue.log").read_text()
    assert '"route": "/v1/catalogue", "status": 200' in catalogue and '"request_id": "operator-1"' in catalogue
