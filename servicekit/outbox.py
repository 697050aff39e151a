"""The transactional outbox: events written with the state change, published in order per key by a relay.

Why scan for unpublished rows rather than keep a high-water mark: a transaction that took sequence
number 10 may commit after one that took 11; a relay that remembered "published up to 11" would skip
10 for ever. Scanning the rows still owed (`outbox_pending`, a narrow row per outbox row, added by a trigger
on insert and deleted once Kafka acknowledged it) in sequence order publishes every committed row, and
holding back the later rows of a key whose earlier row failed keeps the order per key. The outbox row itself
is written once and left alone until retention deletes it (migration 0008 says why).

A pass pipelines: it reads the next batch while it sends one, sends the next while the first is on its
way, and marks rows published batch by batch as Kafka acknowledges them (on a second connection, while it
reads on). Per row it builds the record from the row's columns and keeps the producer's own acknowledgement
as the row's outcome (issue 13: per-row work is what the relay costs beyond the send).
Rows of different keys go out concurrently; a key's rows go one after the other (a row is sent once
the key's previous row is acknowledged), so a failed row holds back the rest of its key, also in the
batches read after it. The value sent is the payload as written (a json column keeps the contracts' compact text),
not decoded and encoded again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import NamedTuple

import asyncpg

from schuldenlab_contracts.cloudevents import CloudEvent, KafkaRecord, data_text, kafka_headers
from schuldenlab_contracts.registry import by_type
from servicekit import db, metrics, tracing
from servicekit.db import advisory_lock_key
from servicekit.loglines import RateLimitedLog

log = logging.getLogger(__name__)

# While the database is unavailable the relay waits longer and longer between passes, up to this many
# seconds (or the poll interval, if longer), instead of failing a pass every poll interval; a few lines
# a minute say so. Short enough that publishing resumes within seconds of the database coming back.
DATABASE_BACKOFF_MAX = 5.0
OUTAGE_LINES_PER_MINUTE = 6
# Batches read and sent but not yet marked published: the next batch is read and sent while the one before
# is on its way, yet what a pass holds in memory (and publishes again after a crash) stays bounded.
BATCHES_IN_FLIGHT = 2

# Sends a record: returns once the record is handed to the producer (so records go out in the order of
# the calls), with the broker's acknowledgement to await; or None, when it has waited for that itself.
Publish = Callable[[KafkaRecord], Awaitable[Awaitable[object] | None]]


def channel_name(schema: str) -> str:
    return f"{schema}_outbox"


async def append(conn: asyncpg.Connection, event: CloudEvent, *, schema: str) -> None:
    """Write `event` to the outbox inside the caller's transaction; the relay is woken on commit."""
    spec = by_type(event.type)
    # The trace of the work writing it (a request's, or a consumed event's): the relay sends it with the event.
    traceparent, tracestate = (event.traceparent, event.tracestate) if event.traceparent else tracing.current()
    # The row and the NOTIFY that wakes the relay in one statement, one round trip (issue 13). NOTIFY is
    # transactional: it is delivered only if and when this transaction commits.
    await conn.execute(
        """WITH appended AS (
               INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload, traceparent, tracestate)
               VALUES ($1, $2, $3, $4, $5, $6, $7::text::json, $8, $9) RETURNING seq)
           SELECT pg_notify($10, '') FROM appended""",
        # Stored as the record's value will be, compact JSON text (a json column keeps it as written).
        uuid.UUID(event.id), spec.topic, event.subject, event.type, event.source, event.time, data_text(event),
        traceparent, tracestate, channel_name(schema),
    )


class PendingRow(NamedTuple):
    """An unpublished row as the relay reads it (a tuple: made for every row, it is the cheapest to make)."""

    seq: int
    event_id: str | uuid.UUID  # read as text: the ce_id header as it is
    key: str
    ce_type: str
    ce_source: str
    ce_time: datetime
    payload: str | None  # the JSON text as stored; None is a tombstone
    next_attempt_at: datetime | None
    traceparent: str | None = None
    tracestate: str | None = None

    def to_record(self) -> KafkaRecord:
        """The row's record: the event's headers and key, and the stored JSON text as its value, as it is."""
        # The headers from the row's values, without a CloudEvent per row (issue 13: a cost on every row).
        return KafkaRecord(topic=by_type(self.ce_type).topic, key=self.key.encode(),
                           value=None if self.payload is None else self.payload.encode(),
                           headers=kafka_headers(str(self.event_id), self.ce_source, self.ce_type, self.ce_time,
                                                 self.key, self.traceparent, self.tracestate))


class HeldBack(Exception):
    """A row not sent in this pass: its key's earlier row failed (the row is neither published nor failed)."""


def _failure(outcome: asyncio.Future[object]) -> BaseException | None:
    """What kept a row's finished send from being published; None if it was."""
    return asyncio.CancelledError() if outcome.cancelled() else outcome.exception()


async def _marked(marking: list[asyncio.Task[int]]) -> int:
    """Wait for the marks under way (then off the list; left on it if one failed); how many rows went out."""
    published = sum(await asyncio.gather(*marking))
    marking.clear()
    return published


def _settled(failure: BaseException | None) -> asyncio.Future[object]:
    outcome: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    if failure is None:
        outcome.set_result(None)
    else:
        outcome.set_exception(failure)
    return outcome


def plan_batch(rows: Sequence[PendingRow], now: datetime,
               blocked: set[str] | None = None) -> OrderedDict[str, list[PendingRow]]:
    """Group rows by key in sequence order; a key stops at its first row that is still backing off.

    `blocked`, kept across the batches of a pass, holds the keys stopped so far (this adds to it).
    """
    lanes: OrderedDict[str, list[PendingRow]] = OrderedDict()
    blocked = set() if blocked is None else blocked
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
        # Rows per batch: of 200, 500 and 1,000, 500 came closest to raw produce (benchmarks.relay_throughput).
        batch_size: int = 500,
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
        async with self._pool.acquire() as conn:
            # A session lock, held for the whole pass: rows are marked published batch by batch while later
            # batches are on their way, and no other relay may read them meanwhile. Should the unlock below
            # not run, asyncpg's pool still releases it with the connection (its reset unlocks them all).
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                return 0  # another replica's relay is publishing this schema
            try:
                published = await self._pipeline(conn)
            finally:
                if not conn.is_closed():
                    await conn.fetchval("SELECT pg_advisory_unlock($1)", self._lock_key)
        await self._record_backlog()
        return published

    async def _pipeline(self, conn: asyncpg.Connection) -> int:
        """Read, send and mark batch after batch, BATCHES_IN_FLIGHT at a time, until a batch is not full."""
        published = 0
        blocked: set[str] = set()  # keys with a row backing off: nothing after it goes out in this pass
        # Per key, its latest row's send in this pass: done once Kafka answered, failed if the row was not published.
        latest: dict[str, asyncio.Future[object]] = {}
        in_flight: deque[list[tuple[PendingRow, asyncio.Future[object]]]] = deque()
        # Marking a batch (deleting its rows from outbox_pending) runs on a connection of its own while the next
        # batches are read and sent, always after Kafka acknowledged its rows; one batch at a time while the pass
        # goes on, the last ones together at its end (the pass waits for them).
        marking: list[asyncio.Task[int]] = []
        # The next batch is read while this one is sent: the query's round trip is off the pass's path (issue 13).
        reading: asyncio.Task[list[asyncpg.Record]] | None = None
        try:
            records = await self._read(conn, 0)
            while True:
                more = len(records) == self._batch_size  # else the batch is the last of this pass
                if more:
                    reading = asyncio.create_task(self._read(conn, records[-1]["seq"]))
                    await asyncio.sleep(0)  # the query goes out now, not when the sends below first wait
                if records:
                    in_flight.append(await self._send_batch(records, blocked, latest))
                while in_flight and (len(in_flight) >= BATCHES_IN_FLIGHT or not more):
                    done, failed = await self._answered(in_flight.popleft())
                    if more:
                        published += await _marked(marking)
                    marking.append(asyncio.create_task(self._mark(done, failed)))
                if reading is None:
                    return published + await _marked(marking)
                records, reading = await reading, None
        finally:
            # Left by an error: what is still on its way is published again by the next pass (at least once).
            if reading is not None:  # waited for, not cancelled: the lock's connection is then free for the unlock
                await asyncio.wait((reading,))
                _failure(reading)
            for mark in marking:
                mark.cancel()
            for sends in in_flight:
                for _, outcome in sends:
                    if isinstance(outcome, asyncio.Task):
                        outcome.cancel()
                    else:  # an acknowledgement that may yet fail: its error is retrieved, not reported as lost
                        outcome.add_done_callback(_failure)

    async def _read(self, conn: asyncpg.Connection, after: int) -> list[asyncpg.Record]:
        """The batch of unpublished rows after sequence number `after`, with the database's clock as `now`."""
        # Each row read once per pass, in sequence order; a row that commits behind a later one is found by the
        # next pass, which scans from the start again. The database's clock comes with the rows (a round trip
        # fewer per batch): backoff is by it.
        return await conn.fetch(
            """SELECT o.seq, o.event_id::text, o.key, o.ce_type, o.ce_source, o.ce_time, o.payload::text AS payload,
                      p.next_attempt_at, o.traceparent, o.tracestate, clock_timestamp() AS now
               FROM outbox_pending AS p JOIN outbox AS o USING (seq)
               WHERE p.seq > $1 ORDER BY p.seq LIMIT $2""",
            after, self._batch_size,
        )

    async def _send_batch(self, records: list[asyncpg.Record], blocked: set[str],
                          latest: dict[str, asyncio.Future[object]]) -> list[tuple[PendingRow, asyncio.Future[object]]]:
        """Send a batch's rows that are due, each behind its key's previous row; each row with its send."""
        sends = []
        rows = [PendingRow(*r[:-1]) for r in records]  # the columns in the fields' order, then `now`
        for lane in plan_batch(rows, records[0]["now"], blocked).values():
            for row in lane:
                previous = latest.get(row.key)
                if previous is None or (previous.done() and _failure(previous) is None):
                    outcome = await self._send(row)
                else:  # behind its key's row still on its way (or failed): a task waits for it
                    outcome = asyncio.ensure_future(self._send_after(previous, row))
                latest[row.key] = outcome
                sends.append((row, outcome))
        return sends

    async def _send(self, row: PendingRow) -> asyncio.Future[object]:
        """Hand the row to the producer now (so in the order of the calls); returns a future done once Kafka
        answered, failed if the row was not published.

        The producer's own acknowledgement, when it gives one: no future or callback of the relay's per row,
        which cost as much as the record itself (issue 13)."""
        record = row.to_record()
        span = None
        if row.traceparent is not None:  # a row without a trace has no span: no attributes to build either
            span = tracing.publishing(f"{record.topic} publish", row.traceparent, row.tracestate,
                                      **{"messaging.system": "kafka", "messaging.destination.name": record.topic,
                                         "messaging.message.id": str(row.event_id)})
        try:
            acknowledged = await self._publish(record)
        except Exception as exc:
            tracing.ended(span, exc)
            return _settled(exc)
        if acknowledged is None:  # a publish that waits for the acknowledgement itself
            tracing.ended(span)
            return _settled(None)
        ack = asyncio.ensure_future(acknowledged)
        if span is not None:
            ack.add_done_callback(lambda answered: tracing.ended(span, _failure(answered)))
        return ack

    async def _send_after(self, previous: asyncio.Future[object], row: PendingRow) -> None:
        """Send `row` once its key's previous row is published; never after that row failed (HeldBack)."""
        if not previous.done():
            await asyncio.wait((previous,))
        if _failure(previous) is not None:
            raise HeldBack
        await (await self._send(row))

    async def _answered(self, sends: list[tuple[PendingRow, asyncio.Future[object]]],
                        ) -> tuple[list[int], list[tuple[int, str]]]:
        """Wait until Kafka answered for each row of a batch; its published rows, and its failed ones with why."""
        waiting = [outcome for _, outcome in sends if not outcome.done()]
        if waiting:
            await asyncio.wait(waiting)
        done, failed = [], []
        for row, outcome in sends:
            failure = _failure(outcome)
            if failure is None:
                done.append(row.seq)
            elif not isinstance(failure, HeldBack):
                log.warning("outbox %s: publishing seq %s failed: %r", self._schema, row.seq, failure)
                failed.append((row.seq, f"{type(failure).__name__}: {failure}"[:2000]))
        return done, failed

    async def _mark(self, done: list[int], failed: list[tuple[int, str]]) -> int:
        """Mark a batch's rows published, and the failed ones for a retry with backoff; returns how many went out."""
        async with self._pool.acquire() as conn:
            if done:
                await conn.execute("DELETE FROM outbox_pending WHERE seq = ANY($1::bigint[])", done)
            if failed:
                # Exponential backoff per row: 0.5 s, 1 s, 2 s, ... capped at a minute.
                await conn.executemany(
                    """UPDATE outbox_pending SET attempts = attempts + 1, last_error = $2,
                         next_attempt_at = clock_timestamp()
                           + make_interval(secs => least(60, 0.5 * power(2, attempts)))
                       WHERE seq = $1""",
                    failed,
                )
        metrics.OUTBOX_PUBLISHED.labels(self._schema).inc(len(done))
        metrics.OUTBOX_FAILURES.labels(self._schema).inc(len(failed))
        return len(done)

    async def _record_backlog(self) -> None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                # The oldest owed row is the first in sequence order (near enough: numbers are taken as rows are
                # written); two index probes, however long the backlog.
                """SELECT (SELECT count(*) FROM outbox_pending) AS n,
                          extract(epoch FROM clock_timestamp() - (
                              SELECT created_at FROM outbox
                              WHERE seq = (SELECT min(seq) FROM outbox_pending))) AS age"""
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
