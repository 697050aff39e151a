"""Each operator mistake stops `up`, `run` and `migrate` with one line naming the setting to change, exit 2."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from schuldenlab.processes import free_port
from tests.support.harness import own_role

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Pw"  # made up: the output must never show it


def schuldenlab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "schuldenlab", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHULDENLAB_")}
    # Ports of their own, so a platform running on this machine does not decide a test.
    env.update({f"SCHULDENLAB_{name}_PORT": str(free_port())
                for name in ("CATALOGUE", "ASSESSMENT", "PARTNERING", "NOTIFICATIONS")})
    env.update({"SCHULDENLAB_HOME": str(home), **extra})
    return env


def the_one_line(result: subprocess.CompletedProcess) -> str:
    """The command failed as a configuration error with exactly one line of output, which it returns."""
    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 2 and len(output) == 1, result.stdout + result.stderr
    assert output[0].startswith("configuration error: ")
    return output[0]


@pytest.fixture
def broker_env(kafka_bootstrap) -> dict[str, str]:
    """What `run` needs to get past its Kafka check: the session's broker (it has no idempotent producer)."""
    return {"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false"}


@pytest.fixture
def service_login(fresh_database) -> str:
    """A database URL `run partnering` accepts: a role of its own (it refuses a superuser's login)."""
    return asyncio.run(own_role(fresh_database, "partnering"))


@pytest.fixture
def listener() -> Iterator[int]:
    """A port another process already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


COMMANDS = {"up": ("up",), "run": ("run", "partnering"), "migrate": ("migrate", "partnering")}


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unreachable_database_is_one_line_naming_its_variable_with_the_password_masked(
        command, tmp_path, broker_env):
    port = free_port()  # nobody listens there
    env = clean_env(tmp_path, SCHULDENLAB_DATABASE_URL=f"postgresql://bob:{PASSWORD}@127.0.0.1:{port}/schuldenlab",
                    **(broker_env if command == "run" else {}))
    result = schuldenlab(*COMMANDS[command], env=env)
    assert the_one_line(result) == (f"configuration error: SCHULDENLAB_DATABASE_URL=postgresql://bob:***@127.0.0.1:"
                                    f"{port}/schuldenlab: no PostgreSQL server answers there")
    assert not (tmp_path / "postgres").exists()  # nothing was started


@pytest.mark.parametrize("command", COMMANDS)
def test_a_malformed_database_url_of_one_service_is_one_line_naming_that_services_variable(
        command, tmp_path, broker_env, postgres_dsn):
    env = clean_env(tmp_path, SCHULDENLAB_DATABASE_URL=postgres_dsn,
                    SCHULDENLAB_PARTNERING_DATABASE_URL=f"postgres://bob:{PASSWORD}@db.example.nl:54x2/schuldenlab",
                    **(broker_env if command == "run" else {}))
    line = the_one_line(schuldenlab(*COMMANDS[command], env=env))
    assert line.startswith("configuration error: SCHULDENLAB_PARTNERING_DATABASE_URL=postgres://bob:***@db.example.nl"
                           ":54x2/schuldenlab: not a PostgreSQL URL"), line
    assert PASSWORD not in line


@pytest.mark.parametrize("command", COMMANDS)
def test_a_state_directory_that_cannot_be_written_is_one_line_naming_schuldenlab_home(
        command, tmp_path, broker_env, service_login):
    (tmp_path / "a-file").write_text("not a directory")
    home = tmp_path / "a-file" / "home"
    # `run` and `migrate` need the state directory only for what they keep there: the signing key,
    # the embedded database.
    extra = {"run": {**broker_env, "SCHULDENLAB_DATABASE_URL": service_login}}.get(command, {})
    line = the_one_line(schuldenlab(*COMMANDS[command], env=clean_env(home, **extra)))
    assert line.startswith(f"configuration error: SCHULDENLAB_HOME={home}: this user cannot write the state "
                           "directory (Not a directory"), line


@pytest.mark.parametrize("command", ["up", "run"])
def test_a_port_another_process_listens_on_is_one_line_naming_the_services_port_setting(
        command, tmp_path, listener, broker_env, service_login):
    extra = {"run": {**broker_env, "SCHULDENLAB_DATABASE_URL": service_login}}.get(command, {})
    env = clean_env(tmp_path, **extra, SCHULDENLAB_PARTNERING_PORT=str(listener))
    line = the_one_line(schuldenlab(*COMMANDS[command], env=env))
    assert line == (f"configuration error: SCHULDENLAB_PARTNERING_PORT={listener}: another process already listens "
                    f"on 127.0.0.1:{listener}; stop it or set SCHULDENLAB_PARTNERING_PORT to a free port")
    assert not (tmp_path / "postgres").exists()  # `up` checked before it started anything


def test_up_against_a_kafka_nobody_answers_is_one_line_naming_the_bootstrap_setting(tmp_path):
    port = free_port()
    line = the_one_line(schuldenlab("up", env=clean_env(
        tmp_path, SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}")))
    assert line == f"configuration error: SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{port}: no broker answers there"
    assert not (tmp_path / "postgres").exists()


def test_up_gives_two_services_the_same_port_as_one_line_naming_both_settings(tmp_path):
    port = str(free_port())
    env = clean_env(tmp_path, SCHULDENLAB_ASSESSMENT_PORT=port, SCHULDENLAB_NOTIFICATIONS_PORT=port)
    assert the_one_line(schuldenlab("up", env=env)) == (
        f"configuration error: SCHULDENLAB_NOTIFICATIONS_PORT={port}: the same port as SCHULDENLAB_ASSESSMENT_PORT; "
        "give each service its own")


def test_the_traceback_comes_only_with_debug_logging_and_before_the_same_last_line(tmp_path):
    url = f"postgresql://bob:{PASSWORD}@127.0.0.1:{free_port()}/schuldenlab"
    quiet = schuldenlab("migrate", env=clean_env(tmp_path, SCHULDENLAB_DATABASE_URL=url))
    loud = schuldenlab("migrate", env=clean_env(tmp_path, SCHULDENLAB_DATABASE_URL=url, SCHULDENLAB_LOG_LEVEL="debug"))
    assert "Traceback" not in quiet.stderr and "Traceback" in loud.stderr
    assert loud.returncode == quiet.returncode == 2
    assert loud.stderr.strip().splitlines()[-1] == the_one_line(quiet)
