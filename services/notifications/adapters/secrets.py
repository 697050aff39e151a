"""Webhook signing secrets at rest: encrypted with the keys of SCHULDENLAB_SECRETS_KEY before they reach the database.

The raw secret is needed to sign, so it is encrypted (not hashed); only this service and `schuldenlab secrets
reencrypt` hold the key, and a dump of the database holds Fernet tokens.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass

import asyncpg

from servicekit import db
from servicekit.config import ConfigError, Settings
from servicekit.secrets import KeyRing, UndecryptableSecret

log = logging.getLogger(__name__)

SCHEMA = "notifications"
BATCH = 500  # rows per transaction when encrypting or re-encrypting: short row locks, bounded memory
START_CHECK_SAMPLE = 200  # the newest stored secrets tried against the keys when the service is built
START_CHECK_TIMEOUT = 10.0


class SecretKeys:
    """The key ring this service runs with, read with its other settings when the service is built."""

    def __init__(self, ring: KeyRing | None = None) -> None:
        self._ring = ring

    def load(self, settings: Settings) -> None:
        """Read the ring (creating the state directory's key if none is configured) and try it on what is stored."""
        ring = settings.secrets_key_ring(create=True)
        if settings.database_url:
            check_stored_secrets(settings.database_url, ring)
        self._ring = ring

    @property
    def ring(self) -> KeyRing:
        if self._ring is None:
            raise RuntimeError("notifications: webhook secrets used before the service's settings were read")
        return self._ring

    def encrypt(self, secret: str | None) -> str | None:
        return None if secret is None else self.ring.encrypt(secret)

    def reveal(self, encrypted: str | None, plain: str | None) -> str | None:
        """The secret kept in a pair of columns: the encrypted one decrypted (UndecryptableSecret if no key does),
        else the plain text an earlier version wrote, which the next start encrypts."""
        return self.ring.decrypt(encrypted) if encrypted is not None else plain


async def encrypt_plain_secrets(pool: asyncpg.Pool, keys: SecretKeys) -> int:
    """Encrypt the secrets an earlier version stored in plain text and empty those columns; the rows done.

    Idempotent (a row done has no plain text left) and safe with several replicas starting at once: FOR UPDATE
    makes the second wait for the first's batch and then skip the rows it finds done.
    """
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, secret, previous_secret FROM subscriptions
                   WHERE secret IS NOT NULL OR previous_secret IS NOT NULL ORDER BY id LIMIT $1 FOR UPDATE""",
                BATCH)
            await conn.executemany(
                """UPDATE subscriptions SET secret_encrypted = coalesce($2, secret_encrypted), secret = NULL,
                          previous_secret_encrypted = coalesce($3, previous_secret_encrypted), previous_secret = NULL
                   WHERE id = $1""",
                [(r["id"], keys.encrypt(r["secret"]), keys.encrypt(r["previous_secret"])) for r in rows])
        if not rows:
            return done
        done += len(rows)


@dataclass(frozen=True)
class Reencrypted:
    """What `schuldenlab secrets reencrypt` did, counted in subscriptions (rows)."""

    moved: int  # now under the newest key (plain text included)
    current: int  # were under the newest key already
    undecryptable: int  # no configured key decrypts one of its secrets: left as they were


class NotMigrated(Exception):
    """The notifications schema has no encrypted columns yet: the service (or `schuldenlab migrate`) adds them."""


async def reencrypt_stored_secrets(dsn: str, ring: KeyRing) -> Reencrypted:
    """Every stored secret encrypted under the newest key of `ring`; running it again moves nothing."""
    keys, moved, current, undecryptable = SecretKeys(ring), 0, 0, 0
    conn = await db.connect(dsn, SCHEMA)
    try:
        if not await _migrated(conn):
            raise NotMigrated("the notifications schema has no encrypted secrets yet: start the service or run "
                              "`schuldenlab migrate notifications` first")
        last = None
        while True:
            async with conn.transaction():
                rows = await conn.fetch(
                    """SELECT id, secret, previous_secret, secret_encrypted, previous_secret_encrypted
                       FROM subscriptions WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2 FOR UPDATE""",
                    last, BATCH)
                changes = []
                for r in rows:
                    try:
                        current_token = _newest(keys, r["secret_encrypted"], r["secret"])
                        previous_token = _newest(keys, r["previous_secret_encrypted"], r["previous_secret"])
                    except UndecryptableSecret:
                        undecryptable += 1
                        continue
                    if (current_token, previous_token) == (r["secret_encrypted"], r["previous_secret_encrypted"]):
                        current += 1
                        continue
                    changes.append((r["id"], current_token, previous_token))
                await conn.executemany(
                    """UPDATE subscriptions SET secret_encrypted = $2, previous_secret_encrypted = $3,
                              secret = NULL, previous_secret = NULL WHERE id = $1""", changes)
            moved += len(changes)
            if not rows:
                return Reencrypted(moved=moved, current=current, undecryptable=undecryptable)
            last = rows[-1]["id"]
    finally:
        await conn.close()


def _newest(keys: SecretKeys, encrypted: str | None, plain: str | None) -> str | None:
    if plain is not None:
        return keys.encrypt(plain)
    if encrypted is None or keys.ring.is_current(encrypted):
        return encrypted
    return keys.ring.reencrypt(encrypted)


async def _migrated(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval(
        """SELECT 1 FROM information_schema.columns
           WHERE table_schema = $1 AND table_name = 'subscriptions' AND column_name = 'secret_encrypted'""", SCHEMA))


def check_stored_secrets(dsn: str, ring: KeyRing) -> None:
    """ConfigError naming SCHULDENLAB_SECRETS_KEY if secrets are stored and the ring decrypts none of them.

    Then the key is wrong (or the key that encrypted them was dropped too early): starting would hold every
    delivery and encrypt new secrets under a key the old ones do not share, so the service does not start. One
    undecryptable row among readable ones is not this: the worker holds that one's deliveries and says so.
    Called while the service is built, which is synchronous and may happen inside a running event loop (tests
    build apps there), hence the thread with a loop of its own.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="secrets-check") as executor:
        stored, readable = executor.submit(asyncio.run, _try_stored_secrets(dsn, ring)).result()
    if stored and not readable:
        raise ConfigError(f"SCHULDENLAB_SECRETS_KEY: none of the {stored} newest stored webhook secrets decrypts "
                          f"with the {len(ring)} key(s) configured (the state directory's secrets.key while the "
                          "variable is unset); configure the key they were encrypted with (while rotating: new,old)")


async def _try_stored_secrets(dsn: str, ring: KeyRing) -> tuple[int, int]:
    """(tried, decrypted) among the newest stored secrets; (0, 0) when there is nothing to judge yet."""
    try:
        async with asyncio.timeout(START_CHECK_TIMEOUT):
            conn = await db.connect(dsn, SCHEMA)
            try:
                if not await _migrated(conn):
                    return 0, 0  # the first start of this version: only plain text so far
                tokens = await conn.fetch(
                    """SELECT secret_encrypted FROM subscriptions WHERE secret_encrypted IS NOT NULL
                       ORDER BY created_at DESC LIMIT $1""", START_CHECK_SAMPLE)
            finally:
                await conn.close()
    except Exception as exc:
        if not db.unavailable(exc) and not isinstance(exc, asyncpg.PostgresError):
            raise
        # The runtime's own start reports a database it cannot reach or use, in its own words.
        log.debug("notifications: stored secrets not checked against the keys (%s)", db.describe(exc))
        return 0, 0
    readable = 0
    for row in tokens:
        try:
            ring.decrypt(row["secret_encrypted"])
            readable += 1
        except UndecryptableSecret:
            pass
    return len(tokens), readable
