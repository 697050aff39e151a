"""Notifications' retention on real PostgreSQL: finished deliveries (with their attempts) and received events go once
old; a pending delivery, the event it needs and anything recent stay."""

from __future__ import annotations

import uuid

import pytest

from notifications.adapters.retention import PURGES
from schuldenlab.services import load_definition
from servicekit import retention
from servicekit.config import Settings
from servicekit.db import create_pool
from servicekit.metrics import REGISTRY
from servicekit.retention import RetentionJob
from servicekit.service import apply_migrations

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(fresh_database):
    await apply_migrations(fresh_database, load_definition("notifications"))
    pool = await create_pool(fresh_database, "notifications")
    yield pool
    await pool.close()


async def subscription(pool) -> uuid.UUID:
    subscription_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO subscriptions (id, owner, url, target_host, event_types, secret)
           VALUES ($1, 'crm', 'http://127.0.0.1:9/', '127.0.0.1:9', ARRAY['nl.schuldenlab.lab.formed.v1'],
                   'whsec_test')""", subscription_id)
    return subscription_id


async def event(pool, *, age_days: float) -> uuid.UUID:
    event_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO received_events (event_id, ce_type, subject, source, time, data, received_at)
           VALUES ($1, 'nl.schuldenlab.lab.formed.v1', 'lab', '/schuldenlab/partnering', now(), '{}'::jsonb,
                   clock_timestamp() - make_interval(secs => $2 * 86400))""", event_id, age_days)
    return event_id


async def delivery(pool, subscription_id, event_id, *, status: str, age_days: float, attempts: int = 2) -> uuid.UUID:
    """A delivery made and (unless pending) finished `age_days` ago, with `attempts` logged attempts."""
    delivery_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO deliveries (id, subscription_id, event_id, status, attempts, next_attempt_at, created_at,
                                   completed_at)
           SELECT $1, $2, $3, $4, $5, CASE WHEN $4 = 'pending' THEN t END, t, CASE WHEN $4 <> 'pending' THEN t END
           FROM (SELECT clock_timestamp() - make_interval(secs => $6 * 86400)) AS made(t)""",
        delivery_id, subscription_id, event_id, status, attempts, age_days)
    for number in range(1, attempts + 1):
        await pool.execute(
            """INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, outcome)
               VALUES ($1, $2, now(), 12.5, 500, 'failed')""", delivery_id, number)
    return delivery_id


def deleted_total(table: str) -> float:
    return REGISTRY.get_sample_value("schuldenlab_retention_deleted_total",
                                     {"service": "notifications", "table": table}) or 0


async def ids(pool, sql: str) -> set:
    return {r[0] for r in await pool.fetch(sql)}


async def test_old_finished_deliveries_with_their_attempts_and_unneeded_old_events_go_and_the_rest_stays(pool):
    sub = await subscription(pool)
    old_done, old_done_events = [], []
    for status in ("succeeded", "failed", "cancelled", "succeeded", "failed"):
        e = await event(pool, age_days=20)
        old_done_events.append(e)
        old_done.append(await delivery(pool, sub, e, status=status, age_days=12))
    # An event as old, whose delivery is still pending (a receiver down for a long time): both stay.
    waiting_event = await event(pool, age_days=20)
    pending = await delivery(pool, sub, waiting_event, status="pending", age_days=12, attempts=7)
    # Finished, but recently: stays, and so does its old event, which a redelivery would send again.
    needed_event = await event(pool, age_days=20)
    recent_done = await delivery(pool, sub, needed_event, status="succeeded", age_days=3)
    # Events nobody subscribed to: only the old one goes.
    unmatched_old, unmatched_recent = await event(pool, age_days=20), await event(pool, age_days=5)
    before = {t: deleted_total(t) for t in ("deliveries", "delivery_attempts", "received_events")}

    settings = Settings.from_env({"SCHULDENLAB_RETENTION_DELIVERIES_DAYS": "10",
                                  "SCHULDENLAB_RETENTION_RECEIVED_EVENTS_DAYS": "15"})
    plan = retention.plan(settings, "notifications", PURGES)
    done = await RetentionJob(pool, "notifications", plan, batch=2, pause=0).purge_once()

    assert done == {"deliveries": 5, "delivery_attempts": 10, "received_events": 6}
    assert await ids(pool, "SELECT id FROM deliveries") == {pending, recent_done}
    assert await ids(pool, "SELECT DISTINCT delivery_id FROM delivery_attempts") == {pending, recent_done}
    assert await pool.fetchval("SELECT count(*) FROM delivery_attempts WHERE delivery_id = $1", pending) == 7
    assert await ids(pool, "SELECT event_id FROM received_events") == {waiting_event, needed_event, unmatched_recent}
    assert not (set(old_done_events) | {unmatched_old}) & await ids(pool, "SELECT event_id FROM received_events")
    assert {t: deleted_total(t) - before[t] for t in before} == {
        "deliveries": 5, "delivery_attempts": 10, "received_events": 6}


async def test_nothing_is_deleted_before_its_setting_says(pool):
    sub = await subscription(pool)
    e = await event(pool, age_days=20)
    kept = await delivery(pool, sub, e, status="failed", age_days=12)
    lone = await event(pool, age_days=20)
    # The defaults (30 days each) keep all of it; 12- and 20-day-old rows would go under 10 and 15 days.
    plan = retention.plan(Settings.from_env({}), "notifications", PURGES)
    assert await RetentionJob(pool, "notifications", plan, pause=0).purge_once() == {}
    assert await ids(pool, "SELECT id FROM deliveries") == {kept}
    assert await ids(pool, "SELECT event_id FROM received_events") == {e, lone}
