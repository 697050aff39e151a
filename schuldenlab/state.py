"""What a running `schuldenlab up` tells the other commands: where its database and broker are."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from servicekit.config import Settings


def _path(settings: Settings) -> Path:
    return settings.home / "running.json"


def write_running(settings: Settings, *, database_url: str, kafka_bootstrap_servers: str, idempotence: bool) -> None:
    _path(settings).write_text(json.dumps({
        "pid": os.getpid(), "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap_servers, "kafka_idempotence": idempotence,
    }))


def clear_running(settings: Settings) -> None:
    _path(settings).unlink(missing_ok=True)


def with_running_platform(settings: Settings) -> Settings:
    """Settings completed from the platform running on this state directory, where env leaves gaps."""
    path = _path(settings)
    if not path.exists():
        return settings
    state = json.loads(path.read_text())
    try:
        os.kill(state["pid"], 0)
    except OSError:
        return settings  # left by a platform that is gone
    return replace(
        settings,
        database_url=settings.database_url or state["database_url"],
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers or state["kafka_bootstrap_servers"],
        kafka_idempotence=settings.kafka_idempotence and state["kafka_idempotence"],
    )
