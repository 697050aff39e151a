"""deploy/observability/: the Grafana dashboard and the Prometheus rules parse and name only exported metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from schuldenlab.services import SERVICES, load_definition
from servicekit.metrics import REGISTRY

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
# Prometheus' own series about each scrape, not a service's.
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                "offset", "inf", "nan"}
SAMPLE_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                   "summary": ("", "_count", "_sum", "_created"), "info": ("_info",), "gauge": ("",)}


def exported_names() -> set[str]:
    """Every sample name the services can expose: from the registry once all four definitions are imported."""
    for service in SERVICES:
        load_definition(service)  # each service's own metrics register as its modules are imported
    names = set()
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in SAMPLE_SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label matchers, ranges,
    groupings, function calls, keywords and numbers are taken out."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set(re.findall(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def alert_rules() -> list[dict]:
    document = yaml.safe_load((OBSERVABILITY / "alert-rules.yaml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", ())]


def test_the_alert_rules_parse_and_cover_what_an_operator_must_hear_of():
    rules = alert_rules()
    assert all(rule["alert"] and rule["expr"] and rule["annotations"]["summary"] and rule["labels"]["severity"]
               for rule in rules)
    read = set().union(*(metric_names(rule["expr"]) for rule in rules))
    # Outbox age, consumer lag, dead letters, webhook failures, readiness (issue 14, item 4).
    assert {"schuldenlab_outbox_oldest_age_seconds", "schuldenlab_consumer_lag", "schuldenlab_events_handled_total",
            "schuldenlab_webhook_attempts_total", "schuldenlab_ready", "up"} <= read


def test_every_alert_and_dashboard_query_reads_only_metrics_the_services_export():
    exported = exported_names() | PROMETHEUS_OWN
    queries = [(f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()] + dashboard_queries()
    assert len(queries) > 20
    unknown = {where: sorted(names - exported) for where, expr in queries if (names := metric_names(expr)) - exported}
    assert unknown == {}


def test_the_dashboard_shows_the_golden_signals_and_the_event_flow():
    read = set().union(*(metric_names(expr) for _, expr in dashboard_queries()))
    assert {"schuldenlab_http_requests_total", "schuldenlab_http_request_duration_seconds_bucket",
            "schuldenlab_catalogue_submissions_total", "schuldenlab_assessment_decisions_total",
            "schuldenlab_outbox_backlog", "schuldenlab_outbox_oldest_age_seconds", "schuldenlab_consumer_lag",
            "schuldenlab_events_handled_total", "schuldenlab_webhook_attempts_total",
            "schuldenlab_webhook_attempt_seconds_bucket"} <= read
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_the_name_reader_finds_a_misspelt_metric():
    # The check above is only as good as this reader: a name it missed would pass unchecked.
    assert metric_names('sum by (service) (rate(schuldenlab_outbox_publishd_total{schema="x"}[5m])) > 0 and up') \
        == {"schuldenlab_outbox_publishd_total", "up"}
    assert metric_names("histogram_quantile(0.95, sum by (le) (rate(a_seconds_bucket[5m]))) * 60") \
        == {"a_seconds_bucket"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Prometheus' own checker) is not installed")
def test_promtool_accepts_the_rules():
    result = subprocess.run(["promtool", "check", "rules", str(OBSERVABILITY / "alert-rules.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_prometheus_example_loads_these_rules_and_scrapes_every_service():
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alert-rules.yaml"]
    [job] = config["scrape_configs"]
    assert job["job_name"] == "schuldenlab"  # what SchuldenlabServiceDown's `up{job="schuldenlab"}` names
    targets = job["static_configs"][0]["targets"]
    assert sorted(t.split(":")[0] for t in targets) == sorted(SERVICES)
