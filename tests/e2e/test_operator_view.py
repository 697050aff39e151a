"""What an operator sees of `up` and the commands beside it: no password anywhere, one line when no platform runs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from schuldenlab.processes import free_port
from servicekit.db import url_password
from tests.support.platform import SERVICES, Platform, platform_env

pytestmark = pytest.mark.e2e

NO_PLATFORM_COMMANDS = [("demo",), ("events",), ("dlq", "list", "catalogue")]


def with_password(dsn: str) -> tuple[str, str]:
    """The test database's URL with a password in it (the embedded server trusts local logins and ignores it)."""
    if url_password(dsn):
        return dsn, url_password(dsn)
    password = "s3cret-Pw-e2e"
    scheme, rest = dsn.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}", password


def schuldenlab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "schuldenlab", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_up_shows_and_logs_a_configured_database_url_only_with_its_password_masked(tmp_path, fresh_database):
    url, password = with_password(fresh_database)
    platform = Platform(tmp_path, SCHULDENLAB_DATABASE_URL=url)
    try:
        shown = "".join(platform.output)
        assert url.replace(password, "***") in shown and password not in shown
        running = tmp_path / "running.json"
        # It holds the URL, password and all, for the commands beside the platform: for this user only.
        assert stat.S_IMODE(running.stat().st_mode) == 0o600
        assert json.loads(running.read_text())["database_url"] == url
        listed = platform.cli("dlq", "list", "catalogue")  # finds the running platform's broker
        assert listed.returncode == 0 and "0 dead letter(s) on catalogue.dlq.v1" in listed.stderr, listed.stderr
    finally:
        code, alive = platform.stop()
    assert code == 0 and alive == [], "".join(platform.output)
    assert password not in "".join(platform.output)
    for log in (tmp_path / "logs").glob("*.log"):
        assert password not in log.read_text(errors="replace"), log
    after = platform.cli("events")
    assert after.returncode == 1 and after.stderr.startswith("no platform is running"), after.stderr


def test_a_service_refusing_its_own_setting_stops_up_with_that_services_one_line(tmp_path):
    # The embedded broker has no idempotent producer: the catalogue's own override cannot work there.
    env = platform_env(tmp_path, {name: free_port() for name in SERVICES},
                       SCHULDENLAB_CATALOGUE_KAFKA_IDEMPOTENCE="true")
    result = schuldenlab("up", env=env)
    assert result.returncode == 2 and "ready" not in result.stdout, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("configuration error: catalogue did not start: "
                           "SCHULDENLAB_CATALOGUE_KAFKA_IDEMPOTENCE=true:"), line


@pytest.mark.parametrize("command", NO_PLATFORM_COMMANDS, ids=lambda c: " ".join(c))
def test_a_command_that_needs_the_platform_says_in_one_line_that_none_is_running(command, tmp_path):
    env = platform_env(tmp_path, {name: free_port() for name in SERVICES})
    result = schuldenlab(*command, env=env)
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stdout + result.stderr
    assert lines[0].startswith("no platform is running") and "`schuldenlab up`" in lines[0]


def test_a_running_file_whose_process_is_gone_is_not_taken_for_a_platform(tmp_path):
    # The pid is alive (this test's own), but it is not the process that wrote the file: a reused pid.
    (tmp_path / "running.json").write_text(json.dumps({
        "pid": os.getpid(), "started_at": 1.0, "database_url": "postgresql://postgres@127.0.0.1:1/schuldenlab",
        "kafka_bootstrap_servers": "127.0.0.1:1", "kafka_idempotence": False}))
    result = schuldenlab("events", env=platform_env(tmp_path, {}))
    assert result.returncode == 1 and result.stderr.startswith("no platform is running"), result.stderr
