"""A bad webhook setting stops the notifications service at start, in one line naming the variable."""

from __future__ import annotations

import pytest

from notifications.bootstrap import definition
from servicekit.config import ConfigError, Settings
from servicekit.service import create_app

BASE = {"SCHULDENLAB_DATABASE_URL": "postgresql://u@127.0.0.1:1/db", "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "k:9092",
        "SCHULDENLAB_JWT_SECRET": "x" * 40}


@pytest.mark.parametrize(("variable", "value"), [
    ("SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS", "http://receiver.example/hook"),
    ("SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE", "0,soon"),
    ("SCHULDENLAB_WEBHOOK_TIMEOUT", "ten"),
    ("SCHULDENLAB_WEBHOOK_CONCURRENCY", "0"),
])
def test_a_bad_webhook_setting_refuses_to_build_the_service(tmp_path, variable, value):
    settings = Settings.from_env({**BASE, "SCHULDENLAB_HOME": str(tmp_path), variable: value})
    with pytest.raises(ConfigError, match=f"^{variable}"):
        create_app(definition(), settings)


def test_good_webhook_settings_build_the_service(tmp_path):
    settings = Settings.from_env({**BASE, "SCHULDENLAB_HOME": str(tmp_path),
                                  "SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:9000,receiver.internal"})
    assert create_app(definition(), settings).state.runtime.definition.name == "notifications"
