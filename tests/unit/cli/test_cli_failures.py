"""Any failure of a command is one line on stderr without a secret; the traceback only when asked for."""

from __future__ import annotations

import os

import pytest

from schuldenlab import cli

DATABASE_PASSWORD = "db-Pw-9f3k"
SECRETS_KEY = "secrets-key-0a7c2e"


@pytest.fixture
def failing_demo(monkeypatch):
    for name in [n for n in os.environ if n.startswith("SCHULDENLAB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SCHULDENLAB_DATABASE_URL", f"postgresql://bob:{DATABASE_PASSWORD}@db.example.nl/schuldenlab")
    monkeypatch.setenv("SCHULDENLAB_SECRETS_KEY", SECRETS_KEY)

    def demo(args, settings):
        raise RuntimeError(f"boom\nwhile using {settings.database_url} and key {SECRETS_KEY}")

    monkeypatch.setattr(cli, "_demo", demo)


def test_an_unexpected_error_is_one_line_without_the_secrets_of_the_environment(failing_demo, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["demo"])
    assert stopped.value.code == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("schuldenlab demo failed: RuntimeError: boom while using postgresql://bob:***@db.example.nl")
    assert DATABASE_PASSWORD not in line and SECRETS_KEY not in line
    assert line.endswith("(SCHULDENLAB_LOG_LEVEL=DEBUG shows where)")


def test_debug_logging_prints_the_traceback_before_the_same_one_line(failing_demo, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo"])
    quiet = capsys.readouterr().err
    monkeypatch.setenv("SCHULDENLAB_LOG_LEVEL", "DEBUG")
    with pytest.raises(SystemExit):
        cli.main(["demo"])
    loud = capsys.readouterr().err
    assert "Traceback" not in quiet and loud.startswith("Traceback")
    assert loud.strip().splitlines()[-1] == quiet.strip()


def test_status_without_a_running_platform_is_one_line_and_exit_code_1(monkeypatch, tmp_path, capsys):
    for name in [n for n in os.environ if n.startswith("SCHULDENLAB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SCHULDENLAB_HOME", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        cli.main(["status"])
    assert stopped.value.code == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"no platform is running on {tmp_path}: start one with `schuldenlab up`")
