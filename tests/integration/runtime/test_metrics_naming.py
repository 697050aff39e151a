"""The metrics a service exports: HTTP by route template, process metrics, OpenMetrics, and one naming scheme."""

from __future__ import annotations

import re
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from schuldenlab.services import SERVICES, load_definition
from servicekit.metrics import REGISTRY
from tests.integration.catalogue.catalogue_support import dossier
from tests.support.harness import running_service, service_settings

pytestmark = pytest.mark.integration

# Families the libraries name by their own standards, kept as every Prometheus user knows them.
LIBRARY_PREFIXES = ("process_", "python_", "faststream_")
# Units that are not base units: seconds and bytes are (Prometheus' naming guide).
NOT_BASE_UNITS = re.compile(r"_(milli|micro|nano)?(ms|us|ns|milliseconds|microseconds|minutes|hours|days|"
                            r"kb|mb|gb|kilobytes|megabytes|bits)(_|$)")


def naming_faults(name: str, kind: str, sample_names: set[str]) -> list[str]:
    faults = []
    if not name.startswith("schuldenlab_") and not name.startswith(LIBRARY_PREFIXES):
        faults.append("lacks the schuldenlab_ prefix")
    if NOT_BASE_UNITS.search(name):
        faults.append("is not in base units (seconds, bytes)")
    if kind == "counter" and not all(s.endswith(("_total", "_created")) for s in sample_names):
        faults.append(f"is a counter not exposed as _total: {sorted(sample_names)}")
    if kind != "counter" and name.endswith("_total"):
        faults.append(f"is a {kind} named like a counter")
    if kind in ("histogram", "summary") and not name.endswith(("_seconds", "_bytes")):
        faults.append(f"is a {kind} without its unit (_seconds, _bytes)")
    if re.search(r"(^|_)(duration|latency|age|time|seconds)(_|$)", name) and not name.endswith("_seconds"):
        faults.append("is a duration not in _seconds")
    if re.search(r"(^|_)(size|bytes)(_|$)", name) and not name.endswith("_bytes"):
        faults.append("is a size not in _bytes")
    return faults


async def test_http_metrics_by_route_template_and_status_and_openmetrics_on_request(fresh_database, fresh_kafka,
                                                                                    tmp_path):
    async with running_service("catalogue", service_settings(fresh_database, fresh_kafka, tmp_path)) as svc:
        async def scrape() -> dict:
            text = (await svc.client.get("/metrics")).text
            return {(s.name, tuple(sorted(s.labels.items()))): s.value
                    for f in text_string_to_metric_families(text) for s in f.samples}

        before = await scrape()  # the registry is the process's: other tests' requests count in it too
        unknown = uuid.uuid4()
        assert (await svc.client.get(f"/v1/projects/{unknown}")).status_code == 404
        assert (await svc.client.post("/v1/projects", json=dossier())).status_code == 201
        assert (await svc.client.get(f"/v1/nothing/{unknown}")).status_code == 404

        text = await svc.client.get("/metrics")
        assert text.headers["content-type"].startswith("text/plain") and "# EOF" not in text.text
        after = await scrape()

        def counted(name: str, service: str | None = "catalogue", **labels: str) -> float:
            key = (name, tuple(sorted((({"service": service} if service else {}) | labels).items())))
            return after.get(key, 0.0) - before.get(key, 0.0)

        route = "/v1/projects/{project_id}"
        assert counted("schuldenlab_http_requests_total", method="GET", route=route, status="404") == 1
        assert counted("schuldenlab_http_requests_total", method="POST", route="/v1/projects", status="201") == 1
        assert counted("schuldenlab_http_request_duration_seconds_count", method="GET", route=route) == 1
        # A path no route matches is one series, whatever it was; no id appears in any label.
        assert counted("schuldenlab_http_requests_total", method="GET", route="unmatched", status="404") == 1
        assert str(unknown) not in text.text
        assert counted("schuldenlab_catalogue_submissions_total", None, kind="submission") == 1
        assert after[("schuldenlab_ready", (("check", "database"), ("service", "catalogue")))] == 1
        assert after[("schuldenlab_ready", (("check", "broker"), ("service", "catalogue")))] == 1
        assert "process_cpu_seconds_total" in text.text and "python_info" in text.text

        om = await svc.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert om.headers["content-type"].startswith("application/openmetrics-text")
        assert om.text.endswith("# EOF\n") and "schuldenlab_http_requests_total{" in om.text


async def test_every_metric_follows_the_naming_scheme(fresh_database, fresh_kafka, tmp_path):
    for name in SERVICES:  # every service's own metrics register as its definition is imported
        load_definition(name)
    async with running_service("notifications", service_settings(fresh_database, fresh_kafka, tmp_path)) as svc:
        assert (await svc.client.get("/v1/subscriptions")).status_code == 401
        exposed = {f.name: {s.name for s in f.samples}
                   for f in text_string_to_metric_families((await svc.client.get("/metrics")).text)}
    families = list(REGISTRY.collect())
    assert {"schuldenlab_http_requests", "schuldenlab_consumer_lag", "schuldenlab_catalogue_submissions",
            "schuldenlab_webhook_attempt_seconds", "process_cpu_seconds"} <= {f.name for f in families}
    faults = {f.name: problems for f in families
              if (problems := naming_faults(f.name, f.type, {s.name for s in f.samples} | exposed.get(f.name, set())))}
    assert faults == {}


@pytest.mark.parametrize(("name", "kind", "samples"), [
    ("catalogue_submissions", "counter", {"catalogue_submissions_total"}),
    ("schuldenlab_webhook_attempt_ms", "histogram", set()),
    ("schuldenlab_outbox_oldest_age", "gauge", set()),
    ("schuldenlab_events_total", "gauge", set()),
    ("schuldenlab_request_size", "histogram", set()),
    ("schuldenlab_events_handled", "counter", {"schuldenlab_events_handled"}),
])
def test_the_naming_check_finds_each_kind_of_fault(name, kind, samples):
    assert naming_faults(name, kind, samples)
