"""Stopping a service is bounded: a background task that ignores its cancellation cannot hold it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time

import pytest

from servicekit import service as service_module
from servicekit.service import ServiceRuntime
from tests.integration.runtime.probe import Behaviour, definition
from tests.support.harness import service_settings

pytestmark = pytest.mark.integration


async def test_a_background_task_that_ignores_cancellation_does_not_hold_the_shutdown(
        fresh_database, fresh_kafka, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(service_module, "STOP_TIMEOUT", 0.5)

    released = False

    async def stubborn(runtime: ServiceRuntime) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if released:
                    raise
                # The bug this guards against: a loop that swallows its cancellation.

    probe = dataclasses.replace(definition(Behaviour()), background=(stubborn,))
    runtime = ServiceRuntime(probe, service_settings(fresh_database, fresh_kafka, tmp_path))
    await runtime.start()
    [task] = [t for t in runtime._tasks if t.get_name().endswith("stubborn")]
    await asyncio.sleep(0.1)  # let the task reach its loop: a task cancelled before its first step just ends
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="servicekit.service"):
        await runtime.stop()
    assert time.monotonic() - started < 5
    assert "did not stop within 0.5 s" in caplog.text
    released = True  # let it go, so the test leaves nothing running
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
