"""Consuming events the one safe way: commit after the effect, idempotent on `ce_id`, bounded retries, DLQ.

The offset of a message is committed only after its effect (and its inbox row) has committed, or
after it went to the dead-letter topic. On a compacted (state) topic only a record newer than the
last one applied for its key reaches the handler. A message that does not match its contract (one whose
ce_source is not the producer of its topic, too) goes to the dead-letter topic at once: retrying cannot
make it valid.

The records of one fetch are applied together: in fetch order (so in order per partition, hence per
key), in one transaction with their inbox rows written in one statement. A handler that fails there
rolls the transaction back; the records before it are applied together again, the failing one goes the
one-record way (its own transaction per attempt, retries with backoff, then the dead-letter topic), and
the records after it are applied together. Whatever a batch cannot pin on one record (the database
unavailable, a transaction over its time limit) sends each of its records the one-record way, which
also waits out an unavailable database. That way is the reference; the batch only saves round trips.

A dead letter that the dead-letter topic refuses (too large, say) is written again as a stub without
the value, so the partition moves on; while the topic cannot be written at all, the consumer backs off
and, after a while, gives the record back to be delivered again (servicekit.deadletters). A record the
operator replayed into the service's own retry topic is handled as one of the topic it was first read from.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
from pydantic import BaseModel

from schuldenlab_contracts.cloudevents import CloudEvent, ContractViolation, from_kafka_record, parse_payload
from schuldenlab_contracts.registry import by_type
from servicekit import db, logs, metrics, tracing
from servicekit.backoff import Backoff
from servicekit.deadletters import (
    CONSUMER_HEADERS,
    DEAD_LETTER_FAILURE_LINES_PER_MINUTE,
    DEAD_LETTER_MIN_DELAY,
    DEAD_LETTER_PATIENCE,
    HEADERS_DROPPED,
    KEY_SHA256,
    ORIGINAL_TOPIC,
    REPLAY_OF,
    VALUE_BYTES,
    VALUE_DROPPED,
    VALUE_SHA256,
    DeadLetter,
    DeadLetterRefused,
    DeadLetterSink,
    DeadLetterUnavailable,
    DeadLetterWriter,
    dead_letter_topic,
    retry_topic,
    stub_of,
)
from servicekit.inbox import InboxEntry, advance_feed_position, record_processed, record_processed_many
from servicekit.loglines import RateLimitedLog, one_line
from servicekit.uow import UnitOfWork, transaction

# What moved to servicekit.deadletters stays importable from here, where the CLI and the tests look for it.
__all__ = ["CONSUMER_HEADERS", "DATABASE_OUTAGE_LINES_PER_MINUTE", "DATABASE_PATIENCE",
           "DEAD_LETTER_FAILURE_LINES_PER_MINUTE", "DEAD_LETTER_LINES_PER_MINUTE", "DEAD_LETTER_MIN_DELAY",
           "DEAD_LETTER_PATIENCE", "HEADERS_DROPPED", "KEY_SHA256", "ORIGINAL_TOPIC", "REPLAY_OF", "VALUE_BYTES",
           "VALUE_DROPPED", "VALUE_SHA256", "Backoff", "DatabaseOutage", "DeadLetter", "DeadLetterRefused",
           "DeadLetterSink", "DeadLetterUnavailable", "EventConsumer", "EventHandler", "Outcome", "ReceivedRecord",
           "dead_letter_topic", "retry_topic", "stub_of", "topics_for"]

log = logging.getLogger(__name__)

# Enough to see what goes wrong and how; the metric schuldenlab_events_handled_total counts every one.
DEAD_LETTER_LINES_PER_MINUTE = 10

# How long one delivery of a record waits for a database that is unavailable before the record is given
# back, to be delivered again (for DEAD_LETTER_PATIENCE's reason); the log says so a few times a minute.
DATABASE_PATIENCE = 60.0
DATABASE_OUTAGE_LINES_PER_MINUTE = 6

EventHandler = Callable[[BaseModel | None, CloudEvent, UnitOfWork], Awaitable[None]]
Headers = Sequence[tuple[str, bytes]]


class Outcome(enum.StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    STALE = "stale"  # a state record older than one already applied for its key
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class ReceivedRecord:
    """The parts of a Kafka record the consumer needs, independent of the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass(frozen=True)
class _Readable:
    """A record read as its event (a replayed one as first read), with the handler of its type."""

    record: ReceivedRecord
    event: CloudEvent
    handler: EventHandler
    payload: BaseModel | None
    via: str  # how it came, for the log: "" or " (replayed through ...)"

    @property
    def where(self) -> str:
        return f"{self.record.topic}[{self.record.partition}]@{self.record.offset}"


class DatabaseOutage(Exception):
    """The database stayed unavailable for DATABASE_PATIENCE seconds; the record is to be delivered again."""


class _HandlerFailed(Exception):
    """Ends a batch's transaction (rolling it back) when the handler of its `index`-th record raised `cause`."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(f"record {index} of the batch failed: {type(cause).__name__}")
        self.index = index
        self.cause = cause


def topics_for(handlers: Mapping[str, EventHandler]) -> list[str]:
    """The topics that carry the event types a service handles."""
    return sorted({by_type(ce_type).topic for ce_type in handlers})


class EventConsumer:
    """Applies consumed events to one service through its handlers: a fetch together, a failing event alone."""

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        uow_factory: Callable[[asyncpg.Connection], UnitOfWork],
        handlers: Mapping[str, EventHandler],
        dead_letter: DeadLetterSink,
        max_attempts: int = 5,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.service = service
        self._pool = pool
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._topics = frozenset(topics_for(self._handlers))
        self._max_attempts = max_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._sleep = sleep
        self._dead_letters = DeadLetterWriter(service, dead_letter, backoff_initial=backoff_initial,
                                              backoff_max=backoff_max, sleep=sleep)
        # One line per dead letter, but a producer gone wrong must not flood the log: bounded per service.
        self._dead_letter_log = RateLimitedLog(log, per_window=DEAD_LETTER_LINES_PER_MINUTE, window=60.0)
        self._outage_log = RateLimitedLog(log, per_window=DATABASE_OUTAGE_LINES_PER_MINUTE, window=60.0)

    async def handle(self, record: ReceivedRecord) -> Outcome:
        """Apply one record; raises DeadLetterUnavailable only when even the dead-letter topic cannot be written."""
        readable = await self._read(record)
        return readable if isinstance(readable, Outcome) else await self._attempt(readable)

    async def handle_batch(self, records: Sequence[ReceivedRecord]) -> list[Outcome]:
        """Apply the records of one fetch in their order, together where they succeed (see the module doc).

        Raises DeadLetterUnavailable or DatabaseOutage when a record can neither be applied nor
        dead-lettered: what was applied before it stays applied (the inbox makes its redelivery a no-op).
        """
        outcomes: list[Outcome | None] = []
        readable: list[_Readable] = []
        for record in records:
            read = await self._read(record)
            outcomes.append(read if isinstance(read, Outcome) else None)
            if not isinstance(read, Outcome):
                readable.append(read)
        applied = iter(await self._apply_together(readable))
        return [outcome if outcome is not None else next(applied) for outcome in outcomes]

    async def _read(self, record: ReceivedRecord) -> _Readable | Outcome:
        """The record as its event; an invalid one goes to the dead-letter topic, one of no handled type is ignored."""
        via = ""
        try:
            if record.topic == retry_topic(self.service):
                via = f" (replayed through {record.topic}[{record.partition}]@{record.offset})"
                record = self._as_first_read(record)
            event = from_kafka_record(topic=record.topic, key=record.key, value=record.value, headers=record.headers)
            handler = self._handlers.get(event.type)
            payload = parse_payload(event) if handler is not None and event.data is not None else None
        except ContractViolation as exc:
            # The contracts check the envelope, including that ce_source names the producer of the
            # record's topic (see from_kafka_record for why the check lives there). A mismatch there
            # is a record someone other than that producer wrote: worth a look, hence WARNING.
            await self._dead_letters.send(record, exc, attempts=0, ce_type="invalid")
            # The reason names the field and quotes at most an id or header, never the payload's content.
            self._dead_letter_log.log(logging.WARNING, "%s: dead-lettered %s[%s]@%s%s to %s: breaks its contract: %s",
                                      self.service, record.topic, record.partition, record.offset, via,
                                      dead_letter_topic(self.service), one_line(str(exc)))
            return Outcome.DEAD_LETTERED
        if handler is None:
            self._count(event.type, Outcome.IGNORED)
            return Outcome.IGNORED
        return _Readable(record, event, handler, payload, via)

    async def _apply_together(self, items: Sequence[_Readable]) -> list[Outcome]:
        """Apply `items` in one transaction; a failing handler splits them around its record (module doc)."""
        if not items:
            return []
        try:
            outcomes = await self._apply_batch(items)
        except _HandlerFailed as failed:
            before = await self._apply_together(items[:failed.index])
            alone = await self._attempt(items[failed.index], failed=failed.cause)
            return [*before, alone, *await self._apply_together(items[failed.index + 1:])]
        except Exception as exc:
            # Not one record's doing (the database unavailable, the transaction over its limit): each record
            # the one-record way, which tells an outage from an event's own failure and waits the outage out.
            log.debug("%s: a batch of %d failed as a whole (%s); applying its records one by one", self.service,
                      len(items), type(exc).__name__, exc_info=exc)
            return [await self._attempt(item) for item in items]
        for item, outcome in zip(items, outcomes, strict=True):
            self._count(item.event.type, outcome)
        return outcomes

    async def _apply_batch(self, items: Sequence[_Readable]) -> list[Outcome]:
        """One transaction for all of `items`; raises _HandlerFailed (the transaction rolled back) at the first
        handler that fails, and lets what says the database is unavailable end the batch as a whole."""
        async with transaction(self._pool, self._uow_factory) as uow:
            first_time = await record_processed_many(uow.conn, [
                InboxEntry(uuid.UUID(item.event.id), item.event.type, item.record.topic, item.record.partition,
                           item.record.offset) for item in items])
            outcomes = []
            for index, item in enumerate(items):
                event_id = uuid.UUID(item.event.id)
                if event_id not in first_time:
                    outcomes.append(Outcome.DUPLICATE)
                    continue
                first_time.discard(event_id)  # the same ce_id twice in one fetch: the later one is a duplicate
                started = time.perf_counter()
                try:
                    outcomes.append(await self._apply_effect(uow, item))
                except Exception as exc:
                    if db.unavailable(exc):
                        raise
                    raise _HandlerFailed(index, exc) from exc
                metrics.HANDLER_SECONDS.labels(self.service, item.event.type).observe(time.perf_counter() - started)
        return outcomes

    async def _attempt(self, item: _Readable, *, failed: Exception | None = None) -> Outcome:
        """The one-record way: its own transaction per attempt, retries with backoff, then the dead-letter topic.

        `failed`: the failure of a first attempt already made (inside a batch).
        """
        attempt, delay = (0 if failed is None else 1), self._backoff_initial
        event = item.event
        while True:
            if failed is not None:
                if attempt >= self._max_attempts:
                    await self._dead_letters.send(item.record, failed, attempts=attempt, ce_type=event.type)
                    # The error's message may quote the payload: it goes to the dead letter's dlq_error
                    # header (`schuldenlab dlq list`), the traceback to DEBUG; the line names its type.
                    self._dead_letter_log.log(
                        logging.ERROR, "%s: dead-lettered %s%s to %s: %s %s failed %d times (%s); "
                        "`schuldenlab dlq list %s` shows the error", self.service, item.where, item.via,
                        dead_letter_topic(self.service), event.type, event.id, attempt, type(failed).__name__,
                        self.service)
                    log.debug("%s: the last failure of %s", self.service, event.id, exc_info=failed)
                    return Outcome.DEAD_LETTERED
                log.warning("%s: %s %s failed (attempt %d), retrying: %s",
                            self.service, event.type, event.id, attempt, type(failed).__name__)
                metrics.EVENTS_HANDLED.labels(self.service, event.type, "retried").inc()
                await asyncio.sleep(delay)
                delay = min(self._backoff_max, delay * 2)
            attempt += 1
            try:
                outcome = await self._apply_through_outages(item)
            except DatabaseOutage:
                raise  # not the event's failure: no attempt counted, no dead letter
            except Exception as exc:
                failed = exc
                continue
            self._count(event.type, outcome)
            return outcome

    def _as_first_read(self, record: ReceivedRecord) -> ReceivedRecord:
        """A replayed record as the one first read: its topic and coordinates, its headers without dlq_*.

        So it meets the same rules as on its first delivery: the contract of that topic (ce_source
        included), the inbox's ce_id (applied once, whichever way it came) and, on the compacted feed,
        the newest state applied per key. Only the operator may write the retry topic (the ACLs);
        still, a record naming a topic this service does not read is refused like any invalid one.
        """
        headers = {name: value.decode("utf-8", "replace") for name, value in record.headers}
        original = headers.get(ORIGINAL_TOPIC)
        if original not in self._topics:
            raise ContractViolation(ORIGINAL_TOPIC, f"{original!r} is not a topic {self.service} consumes"
                                    if original else "missing: a replayed record names the topic it came from")
        return ReceivedRecord(
            topic=original, partition=_number(headers.get("dlq_original_partition")),
            offset=_number(headers.get("dlq_original_offset")), key=record.key, value=record.value,
            headers=tuple((name, value) for name, value in record.headers if not name.startswith("dlq_")),
        )

    async def _apply_effect(self, uow: UnitOfWork, item: _Readable) -> Outcome:
        """The event's effect in the caller's transaction, after its inbox row: stale on the feed, else handled."""
        event, record = item.event, item.record
        if by_type(event.type).compacted and not await advance_feed_position(
                uow.conn, topic=record.topic, key=event.subject, as_of=event.time, event_id=event.id):
            return Outcome.STALE
        # In the trace of the transaction that produced the event, so what the handler writes to the outbox in
        # turn carries it on; every line it logs names the event.
        with logs.bound(event_id=event.id), tracing.consuming(
                f"{record.topic} process", event.traceparent, event.tracestate,
                **{"messaging.system": "kafka", "messaging.destination.name": record.topic,
                   "messaging.message.id": event.id, "messaging.consumer.group.name": self.service}):
            await item.handler(item.payload, event, uow)
        return Outcome.PROCESSED

    async def _apply(self, item: _Readable) -> Outcome:
        started = time.perf_counter()
        async with transaction(self._pool, self._uow_factory) as uow:
            record = item.record
            first_time = await record_processed(
                uow.conn, event_id=item.event.id, ce_type=item.event.type, topic=record.topic,
                partition=record.partition, offset=record.offset,
            )
            if not first_time:
                return Outcome.DUPLICATE
            outcome = await self._apply_effect(uow, item)
            if outcome is not Outcome.PROCESSED:
                return outcome
        metrics.HANDLER_SECONDS.labels(self.service, item.event.type).observe(time.perf_counter() - started)
        return Outcome.PROCESSED

    async def _apply_through_outages(self, item: _Readable) -> Outcome:
        """`_apply`, waiting with backoff while the database is unavailable (DatabaseOutage past the patience).

        An outage is no fault of the event: it costs none of the event's attempts and never dead-letters
        it, and the offset stays uncommitted until the effect has committed, so nothing is lost however
        long it lasts. What tells the two apart is a probe: a failure that looks like unavailability
        while the database answers (a statement of this event that is too slow, say) is the event's own.
        """
        backoff = Backoff(self._backoff_initial, self._backoff_max)
        waited = 0.0
        while True:
            try:
                outcome = await self._apply(item)
            except db.DatabaseUnavailable as exc:
                why = await db.probe(self._pool)
                if why is None:
                    raise
                delay = backoff.next()
                metrics.EVENTS_HANDLED.labels(self.service, item.event.type, "database_unavailable").inc()
                if waited + delay > DATABASE_PATIENCE:
                    self._outage_log.log(logging.WARNING, "%s: the database is still unavailable after %.0f s (%s); "
                                         "%s will be delivered again", self.service, waited, why, item.where)
                    raise DatabaseOutage(f"{item.where}: {exc.reason}") from exc
                self._outage_log.log(logging.WARNING, "%s: the database is unavailable (%s); %s waits, trying "
                                     "again in %.1f s", self.service, why, item.where, delay)
                await self._sleep(delay)
                waited += delay
                continue
            if waited:
                log.info("%s: the database answers again; %s applied after waiting %.1f s", self.service,
                         item.where, waited)
            return outcome

    def _count(self, ce_type: str, outcome: Outcome) -> None:
        metrics.EVENTS_HANDLED.labels(self.service, ce_type, outcome.value).inc()


def _number(text: str | None) -> int:
    """A coordinate from a header; -1 where the header is missing or no number (an unknown position)."""
    try:
        return int(text or "")
    except ValueError:
        return -1
