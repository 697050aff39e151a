"""The state directory, and what a running `schuldenlab up` tells other commands: where its database and broker are."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import psutil

from servicekit.config import ConfigError, Settings


class PlatformNotRunning(Exception):
    """A command needs a running platform and finds none; the message says how to start one."""


def _path(settings: Settings) -> Path:
    return settings.home / "running.json"


def _unwritable(settings: Settings, exc: OSError) -> ConfigError:
    where = f": {exc.filename}" if exc.filename else ""
    return ConfigError(f"SCHULDENLAB_HOME={settings.home}: this user cannot write the state directory "
                       f"({exc.strerror or exc}{where}); set SCHULDENLAB_HOME to a directory it can write")


def writable_home(settings: Settings) -> Path:
    """The state directory with its `logs/`, created if needed; one line naming SCHULDENLAB_HOME if it cannot be."""
    try:
        (settings.home / "logs").mkdir(parents=True, exist_ok=True)
        # A directory that exists but is read-only (or on a read-only file system) passes mkdir: write to know.
        with tempfile.TemporaryFile(dir=settings.home):
            pass
    except OSError as exc:
        raise _unwritable(settings, exc) from exc
    return settings.home


def signing_key(settings: Settings) -> str:
    """The signing key (kept in the state directory unless SCHULDENLAB_JWT_SECRET is set); one line on failure."""
    try:
        return settings.signing_key(create=True)
    except OSError as exc:
        raise _unwritable(settings, exc) from exc


def _started_at(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def write_running(settings: Settings, *, database_url: str, kafka_bootstrap_servers: str, idempotence: bool) -> None:
    """Written 0600 from the start: a configured database URL holds its password, like jwt.key beside it."""
    path = _path(settings)
    spare = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode of O_CREAT applies only to a new file
    with os.fdopen(fd, "w") as handle:
        # The start time tells this process from a later one the kernel gave the same pid.
        json.dump({"pid": os.getpid(), "started_at": _started_at(os.getpid()), "database_url": database_url,
                   "kafka_bootstrap_servers": kafka_bootstrap_servers, "kafka_idempotence": idempotence}, handle)
    os.replace(spare, path)  # whole or not at all, for a command reading it meanwhile


def clear_running(settings: Settings) -> None:
    _path(settings).unlink(missing_ok=True)


def with_running_platform(settings: Settings) -> Settings:
    """Settings completed from the platform running on this state directory, where env leaves gaps."""
    path = _path(settings)
    if not path.exists():
        return settings
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return settings  # unreadable (another user's platform) or not JSON: as if none
    pid = state.get("pid")
    started = _started_at(pid) if isinstance(pid, int) and pid > 0 else None
    if started is None or state.get("started_at") not in (None, started):
        return settings  # left by a platform that is gone (its pid maybe reused since)
    return replace(
        settings,
        database_url=settings.database_url or state["database_url"],
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers or state["kafka_bootstrap_servers"],
        kafka_idempotence=settings.kafka_idempotence and state["kafka_idempotence"],
    )


def require_broker(settings: Settings) -> Settings:
    """Settings with a broker, the configured one or the running platform's; else one line on how to start one."""
    settings = with_running_platform(settings)
    if not settings.kafka_bootstrap_servers:
        raise PlatformNotRunning(f"no platform is running on {settings.home}: start one with `schuldenlab up` "
                                 "(or set SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS to the platform's Kafka)")
    return settings
