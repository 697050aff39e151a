"""Retention of the runtime's tables on real PostgreSQL: what is old and done goes, in batches, a replica at a time."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from schuldenlab.services import load_definition
from servicekit import retention
from servicekit.config import Settings
from servicekit.db import create_pool
from servicekit.metrics import REGISTRY
from servicekit.retention import Purge, RetentionJob, RetentionPlan, Rule
from servicekit.service import apply_migrations
from tests.support.harness import eventually, running_service, service_settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def catalogue_pool(fresh_database):
    await apply_migrations(fresh_database, load_definition("catalogue"))
    pool = await create_pool(fresh_database, "catalogue")
    yield pool
    await pool.close()


async def add_outbox_row(pool, *, age_days: float, published: bool) -> int:
    """An outbox row made `age_days` ago, published since (or never: still owed, in outbox_pending)."""
    seq = await pool.fetchval(
        """INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload, created_at)
           SELECT $1, 'catalogue.project-submitted.v1', 'k', 'nl.schuldenlab.project.submitted.v1',
                  '/schuldenlab/catalogue', t, '{}'::json, t
           FROM (SELECT clock_timestamp() - make_interval(secs => $2 * 86400)) AS made(t)
           RETURNING seq""", uuid.uuid4(), age_days)
    if published:
        assert await pool.execute("DELETE FROM outbox_pending WHERE seq = $1", seq) == "DELETE 1"
    return seq


async def add_inbox_row(pool, *, age_days: float) -> uuid.UUID:
    event_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO inbox (event_id, ce_type, topic, partition, "offset", processed_at)
           VALUES ($1, 'nl.schuldenlab.project.assessed.v1', 'assessment.project-assessed.v1', 0, 1,
                   clock_timestamp() - make_interval(secs => $2 * 86400))""", event_id, age_days)
    return event_id


def deleted_total(service: str, table: str) -> float:
    return REGISTRY.get_sample_value("schuldenlab_retention_deleted_total", {"service": service, "table": table}) or 0


def runtime_plan(**env: str) -> RetentionPlan:
    return retention.plan(Settings.from_env(env), "catalogue")


class Spy:
    """Wraps a purge's batch to record what each batch deleted, and to hold a batch until released."""

    def __init__(self, purge: Purge) -> None:
        self.purge = purge
        self.batches: list[int] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def delete_batch(self, conn, days, limit):
        counts = await self.purge.delete_batch(conn, days, limit)
        self.batches.append(counts[self.purge.table])
        self.entered.set()
        await self.release.wait()
        return counts

    def rule(self, days: int) -> Rule:
        return Rule(Purge(self.purge.name, self.purge.table, self.purge.default_days, self.delete_batch), days)


OUTBOX, INBOX = retention.RUNTIME_PURGES


async def test_published_outbox_rows_older_than_the_setting_go_in_batches_and_unpublished_rows_stay(catalogue_pool):
    pool = catalogue_pool
    old_published = [await add_outbox_row(pool, age_days=4, published=True) for _ in range(7)]
    kept = {await add_outbox_row(pool, age_days=40, published=False),  # never published: the relay still owes it
            await add_outbox_row(pool, age_days=2, published=True),   # published, but not old enough
            await add_outbox_row(pool, age_days=0, published=False)}
    plan = runtime_plan(SCHULDENLAB_RETENTION_OUTBOX_DAYS="3")
    [outbox_rule] = [r for r in plan.rules if r.purge is OUTBOX]
    assert outbox_rule.days == 3
    spy = Spy(OUTBOX)
    before = deleted_total("catalogue", "outbox")

    done = await RetentionJob(pool, "catalogue", RetentionPlan((spy.rule(outbox_rule.days),), 60), batch=3,
                              pause=0).purge_once()

    assert done == {"outbox": 7}
    assert spy.batches == [3, 3, 1]  # never more than a batch per statement, until a batch comes up short
    assert {r["seq"] for r in await pool.fetch("SELECT seq FROM outbox")} == kept
    assert not set(old_published) & kept
    assert deleted_total("catalogue", "outbox") - before == 7


async def test_inbox_rows_older_than_the_setting_go_and_feed_positions_never_do(catalogue_pool):
    pool = catalogue_pool
    for _ in range(5):
        await add_inbox_row(pool, age_days=31)
    recent = await add_inbox_row(pool, age_days=29)
    await pool.execute("""INSERT INTO feed_positions (topic, key, as_of, event_id)
                          VALUES ('assessment.project-assessed.v1', 'p', now() - interval '400 days', $1)""",
                       uuid.uuid4())
    before = deleted_total("catalogue", "inbox")

    done = await RetentionJob(pool, "catalogue", runtime_plan(), batch=2, pause=0).purge_once()  # defaults: 30 days

    assert done == {"inbox": 5}
    assert [r["event_id"] for r in await pool.fetch("SELECT event_id FROM inbox")] == [recent]
    assert await pool.fetchval("SELECT count(*) FROM feed_positions") == 1
    assert deleted_total("catalogue", "inbox") - before == 5


async def test_a_second_replica_does_not_purge_while_the_first_is_at_it(catalogue_pool, fresh_database):
    pool = catalogue_pool
    for _ in range(4):
        await add_outbox_row(pool, age_days=10, published=True)
    spy = Spy(OUTBOX)
    spy.release.clear()  # the first replica's first batch waits, inside its pass, until released
    first = RetentionJob(pool, "catalogue", RetentionPlan((spy.rule(1),), 60), batch=2, pause=0)
    other_pool = await create_pool(fresh_database, "catalogue")  # the second replica: its own connections
    second = RetentionJob(other_pool, "catalogue", runtime_plan(SCHULDENLAB_RETENTION_OUTBOX_DAYS="1"), pause=0)
    pass_of_first = asyncio.create_task(first.purge_once())
    try:
        await spy.entered.wait()
        # The first batch's transaction has not committed: were the second replica to purge, it would block on
        # those rows (until its statement timeout) or delete the others; it skips its pass instead.
        assert await second.purge_once() is None
        spy.release.set()
        assert await pass_of_first == {"outbox": 4}
        assert spy.batches == [2, 2, 0]
        assert await second.purge_once() == {}  # the lock is free again once the pass is over
    finally:
        spy.release.set()  # so a failure above does not leave the first pass, and the pools' close, waiting
        await asyncio.gather(pass_of_first, return_exceptions=True)
        await other_pool.close()


async def test_the_service_runtime_runs_retention_by_itself(fresh_database, fresh_kafka, tmp_path):
    await apply_migrations(fresh_database, load_definition("catalogue"))
    setup = await create_pool(fresh_database, "catalogue")
    try:
        stale = await add_outbox_row(setup, age_days=9, published=True)
        fresh = await add_outbox_row(setup, age_days=0, published=True)
    finally:
        await setup.close()
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_RETENTION_INTERVAL="0.2",
                                SCHULDENLAB_CATALOGUE_RETENTION_OUTBOX_DAYS="8")
    async with running_service("catalogue", settings) as catalogue:
        pool = catalogue.runtime.pool

        async def purged():
            return stale not in {r["seq"] for r in await pool.fetch("SELECT seq FROM outbox")}

        await eventually(purged)
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE seq = $1", fresh) == 1
