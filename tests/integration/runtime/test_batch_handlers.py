"""Batch handlers against a real broker and PostgreSQL: a run of one type's records in one call, in order; a failing
run applied record by record the one-record way; the feed positions of a fetch advanced in one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from servicekit.inbox import FeedPosition, advance_feed_positions
from servicekit.service import apply_migrations
from tests.integration.runtime.probe import Behaviour, definition
from tests.integration.runtime.support import effects, event_for, running_probe
from tests.integration.runtime.test_batched_consumption import _has, _send_all
from tests.support.harness import eventually, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration


async def test_a_run_of_records_of_a_type_with_a_batch_handler_is_applied_by_one_call_in_their_order(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    key = uuid.uuid4()
    names = [f"Samen {i}" for i in range(12)]
    await _send_all(fresh_kafka, [event_for(name, key) for name in names])  # before the start: one fetch
    behaviour = Behaviour(batched=True)
    async with running_probe(settings, behaviour):
        await eventually(lambda: _has(fresh_database, names[-1]))
    assert behaviour.batches == [names]  # one call with the whole run, in the partition's order
    assert behaviour.calls == []  # the one-record handler was not needed
    assert await effects(fresh_database) == names


async def test_a_batch_handler_that_fails_sends_each_record_of_its_run_the_one_record_way(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    key = uuid.uuid4()
    before, after = [f"Voor {i}" for i in range(3)], [f"Na {i}" for i in range(3)]
    await _send_all(fresh_kafka, [event_for(name, key) for name in [*before, "Kapot", *after]])
    behaviour = Behaviour(batched=True, failing_names={"Kapot"})
    async with running_probe(settings, behaviour):
        await eventually(lambda: _has(fresh_database, after[-1]))
    # The run's call failed and rolled back; then each record alone, the failing one to its last attempt.
    assert behaviour.batches == [[*before, "Kapot", *after]]
    assert [name for name in behaviour.calls if name != "Kapot"] == [*before, *after]
    assert behaviour.calls.count("Kapot") == settings.consumer_max_attempts
    assert await effects(fresh_database) == [*before, *after]
    [letter] = await read_topic(fresh_kafka, "probe.dlq.v1", expect=1)
    assert "probe told to fail on Kapot" in dict(letter.headers)["dlq_error"].decode()


async def test_the_feed_positions_of_a_fetch_apply_each_record_newer_than_the_state_before_it(fresh_database):
    await apply_migrations(fresh_database, definition(Behaviour()))
    t = datetime(2026, 11, 1, tzinfo=UTC)
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "probe"})
    try:
        held = FeedPosition("feed", "a", t + timedelta(hours=2), uuid.uuid4())
        assert await advance_feed_positions(conn, [held]) == {held.event_id}
        a1, a2, a3, a4 = (FeedPosition("feed", "a", t + timedelta(hours=h), uuid.uuid4()) for h in (1, 3, 3, 4))
        b1, b0 = (FeedPosition("feed", "b", t + timedelta(hours=h), uuid.uuid4()) for h in (1, 0))
        # a1 is older than what was applied; a3 is no newer than a2 before it; b0 comes after b1, older.
        assert await advance_feed_positions(conn, [a1, b1, a2, a3, b0, a4]) == {
            b1.event_id, a2.event_id, a4.event_id}
        rows = await conn.fetch("SELECT key, as_of FROM feed_positions ORDER BY key")
        assert [(r["key"], r["as_of"]) for r in rows] == [("a", a4.as_of), ("b", b1.as_of)]
        # A fetch whose newest record for a key is not newer than the state applies none of that key's records.
        assert await advance_feed_positions(conn, [FeedPosition("feed", "a", t, uuid.uuid4())]) == set()
    finally:
        await conn.close()
