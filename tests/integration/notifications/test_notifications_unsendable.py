"""Deliveries that fail before a request goes out are failed attempts on the schedule, never stuck pending."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid

import pytest

from notifications.adapters.queue import PostgresDeliveryQueue
from notifications.adapters.secrets import SecretKeys
from notifications.adapters.sender import HttpWebhookSender
from notifications.domain.retry import RetryPolicy
from notifications.domain.signing import new_secret
from notifications.domain.targets import AllowedHost
from notifications.service_layer.delivery import attempt_delivery
from notifications.service_layer.ports import SendResult
from schuldenlab.services import load_definition
from servicekit import db
from servicekit.secrets import KeyRing, new_key
from servicekit.service import apply_migrations
from tests.integration.notifications.notifications_support import (
    SUBMITTED,
    deliveries,
    project_submitted,
    publish,
    webhook_settings,
)
from tests.support.harness import auth, eventually, running_service

pytestmark = pytest.mark.integration


async def _insert_subscription(pool, url: str, target_host: str) -> str:
    """A subscription as an older version (or an allow-list since narrowed) left it in the database."""
    subscription_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO notifications.subscriptions (id, owner, url, target_host, event_types, secret)
           VALUES ($1, 'crm', $2, $3, $4, $5)""",
        subscription_id, url, target_host, [SUBMITTED], new_secret())
    return str(subscription_id)


def _errors_logged(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("notifications") and r.levelno >= logging.ERROR]


async def test_a_stored_url_with_cr_lf_fails_its_attempts_on_the_schedule_instead_of_staying_pending(
        fresh_database, fresh_kafka, tmp_path, caplog):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0,0.2,0.4")
    async with running_service("notifications", settings) as service:
        subscription_id = await _insert_subscription(service.runtime.pool, "http://127.0.0.1:9/hook\r\nX-Injected: 1",
                                                     "127.0.0.1:9")
        await publish(fresh_kafka, project_submitted())

        async def failed():
            found = await deliveries(service.client, subscription_id)
            return found[0] if found and found[0]["status"] == "failed" else None

        delivery = await eventually(failed)
        assert delivery["attempts"] == 3 and [a["number"] for a in delivery["attempt_log"]] == [1, 2, 3]
        for attempt in delivery["attempt_log"]:
            assert attempt["status_code"] is None and attempt["outcome"] == "failed"
            assert attempt["error"].startswith("invalid URL: must not contain whitespace or control characters")
        r = await service.client.get(f"/v1/subscriptions/{subscription_id}", headers=auth("integrator", "crm"))
        assert r.json()["failing_since"] is not None
    assert _errors_logged(caplog) == []  # readable in the delivery log, no traceback in the service's


async def test_a_target_refused_at_delivery_is_retried_and_then_disables_the_subscription(
        fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path,
                                SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2",
                                SCHULDENLAB_WEBHOOK_DISABLE_AFTER="0.5")
    async with running_service("notifications", settings) as service:
        subscription_id = await _insert_subscription(service.runtime.pool, "http://169.254.169.254/latest/meta-data",
                                                     "169.254.169.254:80")
        await publish(fresh_kafka, project_submitted())

        async def disabled():
            r = await service.client.get(f"/v1/subscriptions/{subscription_id}", headers=auth("integrator", "crm"))
            return r.json() if r.json()["status"] == "disabled" else None

        assert "failing since" in (await eventually(disabled))["disabled_reason"]
        [delivery] = await deliveries(service.client, subscription_id)
        assert delivery["status"] == "failed" and 2 <= delivery["attempts"] < 10
        assert len(delivery["attempt_log"]) == delivery["attempts"]
        assert all(a["error"].startswith("refused: host 169.254.169.254 is a link-local address")
                   for a in delivery["attempt_log"])


@contextlib.asynccontextmanager
async def _banner_server(banner: bytes):
    """A local service that is not HTTP: it greets every connection with its banner."""
    async def greet(reader, writer):
        writer.write(banner)
        with contextlib.suppress(Exception):
            await writer.drain()
            await reader.read(65536)
        writer.close()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_what_a_local_target_answers_or_how_it_refuses_stays_out_of_the_delivery_log():
    # With 127.0.0.1 allowed on every port, an integrator could otherwise scan local ports and read
    # service banners back from its delivery log.
    sender = HttpWebhookSender(timeout=2, allowed_hosts=frozenset({AllowedHost("127.0.0.1")}))
    try:
        closed = await sender.send(f"http://127.0.0.1:{_closed_port()}/", {}, b"{}")
        async with _banner_server(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n") as port:
            banner = await sender.send(f"http://127.0.0.1:{port}/", {}, b"{}")
    finally:
        await sender.close()
    assert closed == SendResult(status_code=None, retry_after=None, error="could not connect")
    assert banner == SendResult(status_code=None, retry_after=None, error="the answer was not valid HTTP")


async def _claimable_delivery(dsn: str):
    """The notifications schema with one subscription and one due delivery, and a pool on it."""
    await apply_migrations(dsn, load_definition("notifications"))
    pool = await db.create_pool(dsn, "notifications")
    await _insert_subscription(pool, "https://hooks.example.org/in", "hooks.example.org:443")
    event_id = uuid.uuid4()
    await pool.execute("""INSERT INTO received_events (event_id, ce_type, subject, source, time, data)
                          VALUES ($1, $2, 'p', '/schuldenlab/catalogue', clock_timestamp(), '{}')""",
                       event_id, SUBMITTED)
    await pool.execute("""INSERT INTO deliveries (id, subscription_id, event_id, next_attempt_at)
                          SELECT $1, id, $2, clock_timestamp() FROM subscriptions""", uuid.uuid4(), event_id)
    return pool


class _Answering:
    async def send(self, url, headers, body):
        return SendResult(status_code=204, retry_after=None, error=None)


async def test_an_attempt_cut_short_by_a_crash_is_counted(fresh_database):
    pool = await _claimable_delivery(fresh_database)
    try:
        queue = PostgresDeliveryQueue(pool, lease_seconds=0.2, keys=SecretKeys(KeyRing([new_key()])))
        [first] = await queue.claim(10, [])
        assert first.attempts == 1
        # The worker dies here, its request perhaps already out; the next claim comes after the lease.
        await asyncio.sleep(0.3)
        [second] = await queue.claim(10, [])
        assert (second.attempts, second.round_attempts) == (2, 2)
        attempt, decision = await attempt_delivery(second, _Answering(), RetryPolicy())
        assert await queue.finish(second, attempt, decision)
        row = await pool.fetchrow("SELECT status, attempts FROM deliveries")
        numbers = await pool.fetchval("SELECT array_agg(number ORDER BY number) FROM delivery_attempts")
    finally:
        await pool.close()
    # The interrupted attempt is counted; its number is missing from the log, as it has no outcome.
    assert (row["status"], row["attempts"], numbers) == ("succeeded", 2, [2])


async def test_a_claim_handed_back_unsent_is_not_counted_but_an_interrupted_one_is(fresh_database):
    pool = await _claimable_delivery(fresh_database)
    try:
        queue = PostgresDeliveryQueue(pool, lease_seconds=30, keys=SecretKeys(KeyRing([new_key()])))
        await queue.release(await queue.claim(10, []), attempted=False)
        assert await pool.fetchval("SELECT attempts FROM deliveries") == 0
        await queue.release(await queue.claim(10, []), attempted=True)
        assert await pool.fetchval("SELECT attempts FROM deliveries") == 1
        [again] = await queue.claim(10, [])  # handed back: claimable at once, not after the lease
        assert again.attempts == 2
    finally:
        await pool.close()
