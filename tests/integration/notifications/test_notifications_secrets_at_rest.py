"""Webhook secrets encrypted at rest: a dump shows none, rotation of the key keeps webhooks signed, upgrades encrypt."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest
from standardwebhooks import Webhook

from notifications.domain.signing import new_secret
from schuldenlab.services import load_definition
from servicekit.config import ConfigError
from servicekit.migrate import load_migrations, migrate, runtime_migrations
from servicekit.secrets import KeyRing, UndecryptableSecret, new_key
from servicekit.service import create_app
from tests.integration.notifications.notifications_support import (
    SUBMITTED,
    deliveries,
    project_submitted,
    publish,
    subscribe,
    webhook_settings,
)
from tests.support.harness import TEST_SIGNING_KEY, auth, eventually, own_role, running_service
from tests.support.webhooks import received, webhook_receiver

pytestmark = pytest.mark.integration


async def _dump(dsn: str) -> str:
    """Every row of every notifications table as JSON text: what a database dump would show."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'notifications'")
        rows = []
        for table in tables:
            rows += await conn.fetch(f'SELECT row_to_json(t)::text AS j FROM notifications."{table["table_name"]}" t')
        return "\n".join(r["j"] for r in rows)
    finally:
        await conn.close()


def _assert_no_part_of(secret: str, dump: str) -> None:
    """Not the secret, nor any 8 characters of its base64 text, nor 8 bytes of its key in hex or other base64."""
    text = secret.removeprefix("whsec_")
    raw = base64.b64decode(text)
    for spelling, width in ((text, 8), (base64.urlsafe_b64encode(raw).decode(), 8), (raw.hex(), 16)):
        for start in range(len(spelling) - width + 1):
            assert spelling[start:start + width] not in dump, f"part of a webhook secret in the dump: {spelling[:4]}.."


async def _stored(dsn: str, subscription_id: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow("SELECT * FROM notifications.subscriptions WHERE id = $1::uuid", subscription_id)
    finally:
        await conn.close()


def _schuldenlab(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """The CLI as an operator runs it, with exactly these SCHULDENLAB_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SCHULDENLAB_")}
    return subprocess.run([sys.executable, "-m", "schuldenlab", *args], env={**clean, **env}, capture_output=True,
                          text=True, timeout=timeout)


def _verified(secret: str, request, event_id: str) -> bool:
    return Webhook(secret).verify(request.body, request.headers)["id"] == event_id


async def test_a_database_dump_shows_no_part_of_any_webhook_secret(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("notifications", settings) as service:
        created = await subscribe(service.client, "http://127.0.0.1:9/hook")
        r = await service.client.post(f"/v1/subscriptions/{created['id']}/secret", headers=auth("integrator", "crm"))
        rotated = r.json()
    dump = await _dump(fresh_database)
    assert created["id"] in dump and "127.0.0.1:9/hook" in dump  # the dump does hold the subscription
    for secret in (created["secret"], rotated["secret"]):
        _assert_no_part_of(secret, dump)
    # What is kept instead: both secrets, encrypted with the key generated into the state directory.
    row = await _stored(fresh_database, created["id"])
    ring = settings.secrets_key_ring()
    assert ring.decrypt(row["secret_encrypted"]) == rotated["secret"]
    assert ring.decrypt(row["previous_secret_encrypted"]) == created["secret"]


async def test_a_new_key_in_front_keeps_webhooks_signed_and_reencrypt_moves_every_secret_to_it(
        fresh_database, fresh_kafka, tmp_path):
    old, new = new_key(), new_key()
    async with webhook_receiver() as receiver:
        with_old = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_SECRETS_KEY=old)
        async with running_service("notifications", with_old) as service:
            subscription = await subscribe(service.client, receiver.url)

        # Restarted with the new key in front: the old one still decrypts what it encrypted.
        rotating = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_SECRETS_KEY=f"{new},{old}")
        async with running_service("notifications", rotating):
            event_id = await publish(fresh_kafka, project_submitted())
            [request] = await eventually(lambda: received(receiver, 1))
            assert _verified(subscription["secret"], request, event_id)

        env = {"SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_DATABASE_URL": fresh_database,
               "SCHULDENLAB_SECRETS_KEY": f"{new},{old}"}
        first = _schuldenlab("secrets", "reencrypt", env=env)
        assert first.returncode == 0, first.stderr
        assert "of 1 subscriptions with the newest key (0 used it already)" in first.stdout
        again = _schuldenlab("secrets", "reencrypt", env=env)  # idempotent
        assert again.returncode == 0 and "of 0 subscriptions with the newest key (1 used it already)" in again.stdout
        assert old not in first.stdout + first.stderr and new not in first.stdout + first.stderr

        token = (await _stored(fresh_database, subscription["id"]))["secret_encrypted"]
        with pytest.raises(UndecryptableSecret):
            KeyRing.parse(old).decrypt(token)
        assert KeyRing.parse(new).decrypt(token) == subscription["secret"]

        # The old key dropped: the service starts, and webhooks are signed as before.
        with_new = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_SECRETS_KEY=new)
        async with running_service("notifications", with_new):
            event_id = await publish(fresh_kafka, project_submitted())

            async def arrived():
                return [r for r in receiver.requests if r.headers["webhook-id"] == event_id]

            [request] = await eventually(arrived)
            assert _verified(subscription["secret"], request, event_id)


async def test_a_plain_text_secret_from_before_the_migration_is_encrypted_at_start_and_still_signs(
        fresh_database, fresh_kafka, tmp_path):
    # The schema as the previous version left it: migrations up to 0002, the secrets in plain text.
    earlier = [m for m in runtime_migrations() + load_migrations("notifications", "notifications.migrations")
               if m.component != "notifications" or m.version < 3]
    secret, previous = new_secret(), new_secret()
    async with webhook_receiver() as receiver:
        conn = await asyncpg.connect(fresh_database)
        try:
            await migrate(conn, "notifications", earlier)
            subscription_id = uuid.uuid4()
            await conn.execute(
                """INSERT INTO notifications.subscriptions (id, owner, url, target_host, event_types, secret,
                                                            previous_secret, previous_secret_expires_at)
                   VALUES ($1, 'crm', $2, $3, $4, $5, $6, clock_timestamp() + interval '1 hour')""",
                subscription_id, receiver.url, f"127.0.0.1:{receiver.port}", [SUBMITTED], secret, previous)
        finally:
            await conn.close()

        settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
        async with running_service("notifications", settings):
            async def encrypted():
                row = await _stored(fresh_database, str(subscription_id))
                return row if row["secret"] is None and row["previous_secret"] is None else None

            row = await eventually(encrypted)
            ring = settings.secrets_key_ring()
            assert ring.decrypt(row["secret_encrypted"]) == secret
            assert ring.decrypt(row["previous_secret_encrypted"]) == previous
            dump = await _dump(fresh_database)
            _assert_no_part_of(secret, dump)
            _assert_no_part_of(previous, dump)

            event_id = await publish(fresh_kafka, project_submitted())
            [request] = await eventually(lambda: received(receiver, 1))
            assert _verified(secret, request, event_id) and _verified(previous, request, event_id)


async def test_a_key_that_decrypts_no_stored_secret_stops_the_service_at_start_in_one_line(
        fresh_database, fresh_kafka, tmp_path):
    right, wrong = new_key(), new_key()
    async with running_service("notifications", webhook_settings(fresh_database, fresh_kafka, tmp_path,
                                                                  SCHULDENLAB_SECRETS_KEY=right)) as service:
        await subscribe(service.client, "http://127.0.0.1:9/hook")

    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_SECRETS_KEY: none of the 1 newest stored webhook secrets"):
        create_app(load_definition("notifications"),
                   webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_SECRETS_KEY=wrong))

    # As an operator sees it: `schuldenlab run notifications` exits 2 with that one line, before serving.
    # Its own role: `schuldenlab run` refuses a superuser's login before it reads any other setting.
    role_url = await own_role(fresh_database, "notifications")
    env = {"SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_DATABASE_URL": role_url,
           "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": str(fresh_kafka), "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false",
           "SCHULDENLAB_JWT_SECRET": TEST_SIGNING_KEY, "SCHULDENLAB_NOTIFICATIONS_PORT": "0",
           "SCHULDENLAB_SECRETS_KEY": f"{wrong}", **getattr(fresh_kafka, "env", {})}
    result = _schuldenlab("run", "notifications", env=env)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("configuration error: SCHULDENLAB_SECRETS_KEY: none of the 1 newest")
    assert wrong not in line and right not in line


async def test_a_secret_no_key_decrypts_holds_its_deliveries_and_is_logged_once_without_the_secret(
        fresh_database, fresh_kafka, tmp_path, caplog):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as good, webhook_receiver() as held, \
            running_service("notifications", settings) as service:
        readable = await subscribe(service.client, good.url)
        unreadable = await subscribe(service.client, held.url)
        # As if encrypted under a key since dropped from the configuration (or copied from another installation).
        token = KeyRing.parse(new_key()).encrypt(unreadable["secret"])
        await service.runtime.pool.execute(
            "UPDATE notifications.subscriptions SET secret_encrypted = $2 WHERE id = $1::uuid", unreadable["id"], token)

        event_ids = [await publish(fresh_kafka, project_submitted()) for _ in range(2)]
        requests = await eventually(lambda: received(good, 2))
        assert sorted(r.headers["webhook-id"] for r in requests) == sorted(event_ids)
        assert all(_verified(readable["secret"], r, r.headers["webhook-id"]) for r in requests)

        async def both_queued():
            found = await deliveries(service.client, unreadable["id"])
            return found if len(found) == 2 else None

        async def logged():
            return _logged_about(caplog, unreadable["id"])

        await eventually(both_queued)
        await eventually(logged)
        await asyncio.sleep(1.0)  # ten polls of the worker (every 0.1 s): held, not tried or logged again
        found = await deliveries(service.client, unreadable["id"])
        assert held.requests == []  # not sent, in particular not unsigned
        assert [(d["status"], d["attempts"], d["attempt_log"]) for d in found] == [("pending", 0, [])] * 2

    [record] = _logged_about(caplog, unreadable["id"])
    assert record.levelno == logging.ERROR and "SCHULDENLAB_SECRETS_KEY" in record.getMessage()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for secret in (readable["secret"], unreadable["secret"]):
        assert secret.removeprefix("whsec_")[:12] not in logged
    assert token not in logged and "Traceback" not in logged


def _logged_about(caplog, subscription_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("notifications") and subscription_id in r.getMessage()]
