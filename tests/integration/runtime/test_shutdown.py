"""Stopping a service is bounded: a background task that ignores its cancellation cannot hold it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid

import pytest

from servicekit import service as service_module
from servicekit.service import ServiceRuntime
from tests.integration.runtime.probe import Behaviour, definition
from tests.integration.runtime.support import event_for
from tests.support.harness import running_service, service_settings
from tests.support.kafka import read_topic

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


async def test_a_graceful_stop_publishes_what_is_already_committed(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_OUTBOX_POLL_INTERVAL="60")
    event = event_for("Net voor de stop")
    async with running_service("catalogue", settings) as catalogue:
        await asyncio.sleep(0.3)  # the relay's first pass is done; it now waits up to 60 s for a NOTIFY
        # Committed without the NOTIFY that would wake the relay: only the stop's last pass publishes it.
        await catalogue.runtime.pool.execute(
            """INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            uuid.UUID(event.id), "catalogue.project-submitted.v1", event.subject, event.type, event.source,
            event.time, event.data)
    [record] = await read_topic(fresh_kafka, "catalogue.project-submitted.v1", expect=1, timeout=5)
    assert dict(record.headers)["ce_id"].decode() == event.id
