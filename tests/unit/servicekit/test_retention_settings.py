"""Retention settings: defaults, the service's own variable first, and a bad value stops the service at its start."""

from __future__ import annotations

import pytest

from schuldenlab.services import load_definition
from servicekit import retention
from servicekit.config import ConfigError, Settings
from servicekit.service import create_app

BASE = {"SCHULDENLAB_DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "k:9092",
        "SCHULDENLAB_JWT_SECRET": "x" * 40}


def days_of(plan: retention.RetentionPlan) -> dict[str, int]:
    return {rule.purge.name: rule.days for rule in plan.rules}


def test_every_service_purges_the_outbox_and_the_inbox_with_the_documented_defaults(tmp_path):
    app = create_app(load_definition("assessment"), Settings.from_env({**BASE, "SCHULDENLAB_HOME": str(tmp_path)}))
    plan = app.state.runtime.retention
    assert days_of(plan) == {"outbox": 7, "inbox": 30}
    assert plan.interval == 300


def test_notifications_also_purges_deliveries_then_received_events(tmp_path):
    app = create_app(load_definition("notifications"), Settings.from_env({**BASE, "SCHULDENLAB_HOME": str(tmp_path)}))
    # Deliveries before events: an event is kept while a delivery is made of it, so this order frees both in a pass.
    assert list(days_of(app.state.runtime.retention).items()) == [
        ("outbox", 7), ("inbox", 30), ("deliveries", 30), ("received_events", 30)]


def test_the_services_own_variable_wins_over_the_general_one():
    settings = Settings.from_env({"SCHULDENLAB_RETENTION_INBOX_DAYS": "40",
                                  "SCHULDENLAB_ASSESSMENT_RETENTION_INBOX_DAYS": "60",
                                  "SCHULDENLAB_RETENTION_INTERVAL": "30.5"})
    assert days_of(retention.plan(settings, "assessment"))["inbox"] == 60
    assert days_of(retention.plan(settings, "partnering"))["inbox"] == 40
    assert retention.plan(settings, "partnering").interval == 30.5


@pytest.mark.parametrize(("service", "variable", "value"), [
    ("catalogue", "SCHULDENLAB_RETENTION_OUTBOX_DAYS", "0"),
    ("assessment", "SCHULDENLAB_RETENTION_INBOX_DAYS", "thirty"),
    ("partnering", "SCHULDENLAB_PARTNERING_RETENTION_INBOX_DAYS", "-5"),
    ("partnering", "SCHULDENLAB_RETENTION_OUTBOX_DAYS", "7.5"),
    ("catalogue", "SCHULDENLAB_RETENTION_INBOX_DAYS", "36501"),
    ("catalogue", "SCHULDENLAB_RETENTION_INBOX_DAYS", "9" * 5000),
    ("catalogue", "SCHULDENLAB_RETENTION_INTERVAL", "9" * 5000),
    ("notifications", "SCHULDENLAB_RETENTION_DELIVERIES_DAYS", "a month"),
    ("notifications", "SCHULDENLAB_NOTIFICATIONS_RETENTION_RECEIVED_EVENTS_DAYS", "0"),
    ("assessment", "SCHULDENLAB_RETENTION_INTERVAL", "0"),
    ("assessment", "SCHULDENLAB_RETENTION_INTERVAL", "nan"),
    ("catalogue", "SCHULDENLAB_RETENTION_INTERVAL", "every five minutes"),
])
def test_a_bad_retention_setting_stops_the_service_at_its_start_naming_the_variable(tmp_path, service, variable,
                                                                                     value):
    settings = Settings.from_env({**BASE, "SCHULDENLAB_HOME": str(tmp_path), variable: value})
    with pytest.raises(ConfigError) as refused:
        create_app(load_definition(service), settings)
    line = str(refused.value)
    assert line.startswith(f"{variable}={value!r}: expected ") and "\n" not in line


def test_notifications_settings_are_only_read_by_notifications(tmp_path):
    # Another service has no deliveries: its start is not stopped by notifications' variable.
    settings = Settings.from_env({**BASE, "SCHULDENLAB_HOME": str(tmp_path),
                                  "SCHULDENLAB_RETENTION_DELIVERIES_DAYS": "never"})
    assert days_of(create_app(load_definition("catalogue"), settings).state.runtime.retention) == {
        "outbox": 7, "inbox": 30}
