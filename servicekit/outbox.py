"""The transactional outbox: events written with the state change, published in order per key by a relay.

Why scan for unpublished rows rather than keep a high-water mark: a transaction that took sequence
number 10 may commit after one that took 11; a relay that remembered "published up to 11" would skip
10 for ever. Scanning `published_at IS NULL` in sequence order publishes every committed row, and
holding back the later rows of a key whose earlier row failed keeps the order per key.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from schuldenlab_contracts.cloudevents import CloudEvent, KafkaRecord, to_kafka_record
from schuldenlab_contracts.registry import by_type
from servicekit import db, metrics
from servicekit.db import advisory_lock_key
from servicekit.loglines import RateLimitedLog

log = logging.getLogger(__name__)

# While the database is unavailable the relay waits longer and longer between passes, up to this many
# seconds (or the poll interval, if longer), instead of failing a pass every poll interval; a few lines
# a minute say so. Short enough that publishing resumes within seconds of the database coming back.
DATABASE_BACKOFF_MAX = 5.0
OUTAGE_LINES_PER_MINUTE = 6

Publish = Callable[[KafkaRecord], Awaitable[None]]


def channel_name(schema: str) -> str:
    return f"{schema}_outbox"


async def append(conn: asyncpg.Connection, event: CloudEvent, *, schema: str) -> None:
    """Write `event` to the outbox inside the caller's transaction; the relay is woken on commit."""
    spec = by_type(event.type)
    await conn.execute(
        """INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        uuid.UUID(event.id), spec.topic, event.subject, event.type, event.source, event.time, event.data,
    )
    # NOTIFY is transactional: it is delivered only if and when this transaction commits.
    await conn.execute("SELECT pg_notify($1, '')", channel_name(schema))


@dataclass(frozen=True)
class PendingRow:
    seq: int
    event_id: uuid.UUID
    key: str
    ce_type: str
    ce_source: str
    ce_time: datetime
    payload: dict | None
    next_attempt_at: datetime | None

    def to_event(self) -> CloudEvent:
        return CloudEvent(
            id=str(self.event_id), source=self.ce_source, type=self.ce_type,
            subject=self.key, time=self.ce_time, data=self.payload,
        )


def plan_batch(rows: Sequence[PendingRow], now: datetime) -> OrderedDict[str, list[PendingRow]]:
    """Group rows by key in sequence order; a key stops at its first row that is still backing off."""
    lanes: OrderedDict[str, list[PendingRow]] = OrderedDict()
    blocked: set[str] = set()
    for row in rows:
        if row.key in blocked:
            continue
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            blocked.add(row.key)
            continue
        lanes.setdefault(row.key, []).append(row)
    return lanes


class OutboxRelay:
    """Publishes committed outbox rows of one schema; one active relay per schema (advisory lock)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: Publish,
        *,
        schema: str,
        poll_interval: float = 1.0,
        batch_size: int = 200,
        dsn: str | None = None,
    ) -> None:
        self._pool = pool
        self._publish = publish
        self._schema = schema
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._dsn = dsn
        self._wake = asyncio.Event()
        self._stopping = False
        self._lock_key = advisory_lock_key(f"outbox.{schema}")
        self._outage_since: float | None = None  # monotonic time of the first pass the database failed
        self._outage_pause = 0.0
        self._outage_log = RateLimitedLog(log, per_window=OUTAGE_LINES_PER_MINUTE, window=60.0)

    def wake(self) -> None:
        self._wake.set()

    async def publish_pending(self) -> int:
        """One pass: publish what is due; returns how many rows were published."""
        published = 0
        while True:
            count, more = await self._publish_batch()
            published += count
            if not more:
                break
        await self._record_backlog()
        return published

    async def _publish_batch(self) -> tuple[int, bool]:
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", self._lock_key):
                return 0, False  # another replica's relay is publishing this schema
            records = await conn.fetch(
                """SELECT seq, event_id, key, ce_type, ce_source, ce_time, payload, next_attempt_at
                   FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1""",
                self._batch_size,
            )
            if not records:
                return 0, False
            now = await conn.fetchval("SELECT clock_timestamp()")
            lanes = plan_batch([PendingRow(**dict(r)) for r in records], now)
            results = await asyncio.gather(*(self._publish_lane(lane) for lane in lanes.values()))
            done = [seq for ok, _ in results for seq in ok]
            failed = [item for _, item in results if item is not None]
            if done:
                await conn.execute(
                    "UPDATE outbox SET published_at = clock_timestamp() WHERE seq = ANY($1::bigint[])", done
                )
            for seq, error in failed:
                # Exponential backoff per row: 0.5 s, 1 s, 2 s, ... capped at a minute.
                await conn.execute(
                    """UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                         next_attempt_at = clock_timestamp()
                           + make_interval(secs => least(60, 0.5 * power(2, attempts)))
                       WHERE seq = $1""",
                    seq, error[:2000],
                )
            metrics.OUTBOX_PUBLISHED.labels(self._schema).inc(len(done))
            metrics.OUTBOX_FAILURES.labels(self._schema).inc(len(failed))
            # Go round again only when the batch was full and everything went out.
            return len(done), len(records) == self._batch_size and not failed

    async def _publish_lane(self, lane: list[PendingRow]) -> tuple[list[int], tuple[int, str] | None]:
        """Publish one key's rows strictly one after another; stop at the first failure."""
        done: list[int] = []
        for row in lane:
            try:
                await self._publish(to_kafka_record(row.to_event()))
            except Exception as exc:
                log.warning("outbox %s: publishing seq %s failed: %r", self._schema, row.seq, exc)
                return done, (row.seq, f"{type(exc).__name__}: {exc}")
            done.append(row.seq)
        return done, None

    async def _record_backlog(self) -> None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT count(*) AS n, extract(epoch FROM clock_timestamp() - min(created_at)) AS age
                   FROM outbox WHERE published_at IS NULL"""
            )
        metrics.OUTBOX_BACKLOG.labels(self._schema).set(row["n"])
        metrics.OUTBOX_OLDEST_AGE.labels(self._schema).set(float(row["age"] or 0.0))

    def stop(self) -> None:
        """Ask `run` to finish its current pass, make one last pass and return.

        Stopping by cancellation could cut a pass between publishing and marking rows published,
        and the rows would go out twice; this way a clean stop publishes each committed row once.
        """
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Publish on every NOTIFY, and at least every poll interval in case a notification was missed."""
        listener = await self._listen()
        try:
            while not self._stopping:
                self._wake.clear()
                pause = await self._pass()
                # asyncio.timeout, not wait_for: on Python 3.11 a cancellation racing wait_for's own
                # timeout can leave the task stuck, and then shutdown waits for ever (seen in CI).
                try:
                    async with asyncio.timeout(pause):
                        await self._wake.wait()
                except TimeoutError:
                    # Not while the database is unavailable: the next pass that succeeds tells it is back.
                    if (listener is None or listener.is_closed()) and self._outage_since is None:
                        listener = await self._listen()
            await self._pass()  # the last one: what committed goes out before the broker disconnects
        finally:
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def _pass(self) -> float:
        """One pass; returns the seconds to wait for the next one (unless a NOTIFY comes first)."""
        try:
            await self.publish_pending()
        except Exception as exc:
            if db.unavailable(exc):
                return self._back_off(exc)
            log.exception("outbox %s: relay pass failed; retrying after the poll interval", self._schema)
            return self._poll_interval
        if self._outage_since is not None:
            log.info("outbox %s: the database answers again after %.1f s; publishing resumed", self._schema,
                     time.monotonic() - self._outage_since)
            self._outage_since = None
        return self._poll_interval

    def _back_off(self, exc: Exception) -> float:
        """The pause after a pass the database failed: the poll interval at first, doubling while it lasts."""
        if self._outage_since is None:
            self._outage_since, self._outage_pause = time.monotonic(), self._poll_interval
        else:
            self._outage_pause = min(max(DATABASE_BACKOFF_MAX, self._poll_interval), self._outage_pause * 2)
        # db.describe gives the driver's few words; a traceback a pass would drown the log in an outage.
        self._outage_log.log(logging.WARNING, "outbox %s: the database is unavailable (%s); next pass in %.1f s",
                             self._schema, db.describe(exc), self._outage_pause)
        return self._outage_pause

    async def _listen(self) -> asyncpg.Connection | None:
        if self._dsn is None:
            return None
        try:
            conn = await asyncpg.connect(self._dsn, timeout=db.limits_of(self._pool).connect)
            await conn.add_listener(channel_name(self._schema), lambda *_: self._wake.set())
            return conn
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("outbox %s: LISTEN failed, polling only: %r", self._schema, exc)
            return None
