"""Against the embedded broker: a broker without the idempotent producer is one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_a_broker_that_refuses_the_idempotent_producer_is_one_line_naming_the_setting(kafka_bootstrap, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHULDENLAB_")}
    env.update({"SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                "SCHULDENLAB_KAFKA_IDEMPOTENCE": "true",
                "SCHULDENLAB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    result = subprocess.run([sys.executable, "-m", "schuldenlab", "run", "assessment"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: SCHULDENLAB_KAFKA_IDEMPOTENCE=true"), \
        result.stderr


def test_no_broker_at_the_address_is_one_line_naming_the_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHULDENLAB_")}
    env.update({"SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
                "SCHULDENLAB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    result = subprocess.run([sys.executable, "-m", "schuldenlab", "run", "partnering"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ("configuration error: SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1: "
                                     "no broker answers there"), result.stderr
