"""Consuming events the one safe way: commit after the effect, idempotent on `ce_id`, bounded retries, DLQ.

The offset of a message is committed only after its effect (and its inbox row) has committed, or
after it went to the dead-letter topic. On a compacted (state) topic only a record newer than the
last one applied for its key reaches the handler. A message that does not match its contract (one whose
ce_source is not the producer of its topic, too) goes to the dead-letter topic at once: retrying cannot
make it valid.

The records of one fetch are applied together: in fetch order (so in order per partition, hence per
key), in one transaction with their inbox rows (and the feed positions of state records) written in one
statement each. A service may give an event type a batch handler too: a run of consecutive records of
that type then goes to it at once, so it can read and write for all of them in a few statements. A
handler that fails there rolls the transaction back; the records before it are applied together again,
the failing one (every record of a failing run) goes the one-record way (its own transaction per
attempt, retries with backoff, then the dead-letter topic), and the records after it are applied
together. Whatever a batch cannot pin on one record (the database unavailable, a transaction over its
time limit) sends each of its records the one-record way, which also waits out an unavailable
database. That way is the reference; the batch only saves round trips.

A dead letter that the dead-letter topic refuses (too large, say) is written again as a stub without
the value, so the partition moves on; while the topic cannot be written at all, the consumer backs off
and, after a while, gives the record back to be delivered again (servicekit.deadletters). A record the
operator replayed into the service's own retry topic is handled as one of the topic it was first read from.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence

import asyncpg

from schuldenlab_contracts.cloudevents import ContractViolation, from_kafka_record, parse_payload
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
from servicekit.inbox import (
    FeedPosition,
    InboxEntry,
    advance_feed_position,
    advance_feed_positions,
    record_processed,
    record_processed_many,
)
from servicekit.loglines import RateLimitedLog, one_line
from servicekit.records import (
    BatchHandler,
    EventHandler,
    Outcome,
    Readable,
    ReceivedRecord,
    as_first_read,
    topics_for,
)
from servicekit.uow import UnitOfWork, transaction

# What moved to servicekit.deadletters stays importable from here, where the CLI and the tests look for it.
__all__ = [
    "CONSUMER_HEADERS",
    "DATABASE_OUTAGE_LINES_PER_MINUTE",
    "DATABASE_PATIENCE",
    "DEAD_LETTER_FAILURE_LINES_PER_MINUTE",
    "DEAD_LETTER_LINES_PER_MINUTE",
    "DEAD_LETTER_MIN_DELAY",
    "DEAD_LETTER_PATIENCE",
    "HEADERS_DROPPED",
    "KEY_SHA256",
    "ORIGINAL_TOPIC",
    "REPLAY_OF",
    "VALUE_BYTES",
    "VALUE_DROPPED",
    "VALUE_SHA256",
    "Backoff",
    "BatchHandler",
    "DatabaseOutage",
    "DeadLetter",
    "DeadLetterRefused",
    "DeadLetterSink",
    "DeadLetterUnavailable",
    "EventConsumer",
    "EventHandler",
    "Outcome",
    "ReceivedRecord",
    "dead_letter_topic",
    "retry_topic",
    "stub_of",
    "topics_for",
]

log = logging.getLogger(__name__)

# Enough to see what goes wrong and how; the metric schuldenlab_events_handled_total counts every one.
DEAD_LETTER_LINES_PER_MINUTE = 10

# How long one delivery of a record waits for a database that is unavailable before the record is given
# back, to be delivered again (for DEAD_LETTER_PATIENCE's reason); the log says so a few times a minute.
DATABASE_PATIENCE = 60.0
DATABASE_OUTAGE_LINES_PER_MINUTE = 6

class DatabaseOutage(Exception):
    """The database stayed unavailable for DATABASE_PATIENCE seconds; the record is to be delivered again."""


class _HandlerFailed(Exception):
    """Ends a batch's transaction (rolling it back) when the handler of its records `start` up to `stop` raised
    `cause`: one record's handler, or a batch handler's run."""

    def __init__(self, start: int, stop: int, cause: Exception) -> None:
        super().__init__(f"records {start} to {stop - 1} of the batch failed: {type(cause).__name__}")
        self.start, self.stop = start, stop
        self.cause = cause


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
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        max_attempts: int = 5,
        backoff_initial: float = 0.2,
        backoff_max: float = 5.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.service = service
        self._pool = pool
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._batch_handlers = dict(batch_handlers or {})
        if unpaired := set(self._batch_handlers) - set(self._handlers):
            raise ValueError(f"a batch handler needs a one-record handler of its type too: {sorted(unpaired)}")
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
        readable: list[Readable] = []
        for record in records:
            read = await self._read(record)
            outcomes.append(read if isinstance(read, Outcome) else None)
            if not isinstance(read, Outcome):
                readable.append(read)
        applied = iter(await self._apply_together(readable))
        return [outcome if outcome is not None else next(applied) for outcome in outcomes]

    async def _read(self, record: ReceivedRecord) -> Readable | Outcome:
        """The record as its event; an invalid one goes to the dead-letter topic, one of no handled type is ignored."""
        via = ""
        try:
            if record.topic == retry_topic(self.service):
                via = f" (replayed through {record.topic}[{record.partition}]@{record.offset})"
                record = as_first_read(record, self.service, self._topics)
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
        return Readable(record, event, handler, payload, via)

    async def _apply_together(self, items: Sequence[Readable]) -> list[Outcome]:
        """Apply `items` in one transaction; a failing handler splits them around its record (module doc)."""
        if not items:
            return []
        try:
            outcomes = await self._apply_batch(items)
        except _HandlerFailed as failed:
            before = await self._apply_together(items[:failed.start])
            if failed.stop - failed.start == 1:
                alone = [await self._attempt(items[failed.start], failed=failed.cause)]
            else:  # which record of the run failed is not known: each goes the one-record way, afresh
                alone = [await self._attempt(item) for item in items[failed.start:failed.stop]]
            return [*before, *alone, *await self._apply_together(items[failed.stop:])]
        except Exception as exc:
            # Not one record's doing (the database unavailable, the transaction over its limit): each record
            # the one-record way, which tells an outage from an event's own failure and waits the outage out.
            log.debug("%s: a batch of %d failed as a whole (%s); applying its records one by one", self.service,
                      len(items), type(exc).__name__, exc_info=exc)
            return [await self._attempt(item) for item in items]
        # Counted per type and outcome, not per record: a fetch is mostly of one type.
        for (ce_type, outcome), count in Counter(
                (item.event.type, outcome) for item, outcome in zip(items, outcomes, strict=True)).items():
            self._count(ce_type, outcome, count)
        return outcomes

    async def _apply_batch(self, items: Sequence[Readable]) -> list[Outcome]:
        """One transaction for all of `items`; raises _HandlerFailed (the transaction rolled back) at the first
        handler that fails, and lets what says the database is unavailable end the batch as a whole."""
        outcomes: list[Outcome | None] = [None] * len(items)
        async with transaction(self._pool, self._uow_factory) as uow:
            event_ids = [uuid.UUID(item.event.id) for item in items]
            first_time = await record_processed_many(uow.conn, [
                InboxEntry(event_id, item.event.type, item.record.topic, item.record.partition, item.record.offset)
                for event_id, item in zip(event_ids, items, strict=True)])
            for index, event_id in enumerate(event_ids):
                if event_id in first_time:
                    first_time.discard(event_id)  # the same ce_id twice in one fetch: the later one is a duplicate
                else:
                    outcomes[index] = Outcome.DUPLICATE
            states = [index for index, item in enumerate(items)
                      if outcomes[index] is None and by_type(item.event.type).compacted]
            if states:
                advanced = await advance_feed_positions(uow.conn, [
                    FeedPosition(items[i].record.topic, items[i].event.subject, items[i].event.time, event_ids[i])
                    for i in states])
                for index in states:
                    if event_ids[index] not in advanced:
                        outcomes[index] = Outcome.STALE
            for run in self._runs(items, [index for index, outcome in enumerate(outcomes) if outcome is None]):
                started = time.perf_counter()
                try:
                    await self._handle_run(uow, [items[index] for index in run])
                except Exception as exc:
                    if db.unavailable(exc):
                        raise
                    raise _HandlerFailed(run[0], run[-1] + 1, exc) from exc
                seconds = (time.perf_counter() - started) / len(run)
                timer = metrics.HANDLER_SECONDS.labels(self.service, items[run[0]].event.type)  # a run is of one type
                for index in run:
                    outcomes[index] = Outcome.PROCESSED
                    timer.observe(seconds)
        return [outcome for outcome in outcomes if outcome is not None]

    def _runs(self, items: Sequence[Readable], due: Sequence[int]) -> list[list[int]]:
        """The records to apply, in order, as runs: consecutive records of a type with a batch handler go
        together (only consecutive ones, so the order per key holds), every other record alone."""
        runs: list[list[int]] = []
        for index in due:
            ce_type = items[index].event.type
            previous = runs[-1] if runs else None
            if (previous is not None and ce_type in self._batch_handlers and previous[-1] == index - 1
                    and items[previous[-1]].event.type == ce_type):
                previous.append(index)
            else:
                runs.append([index])
        return runs

    async def _handle_run(self, uow: UnitOfWork, run: Sequence[Readable]) -> None:
        """A run's handler: a lone record's own (in its trace, as the one-record way), or the batch handler."""
        if len(run) == 1:
            await self._handle_one(uow, run[0])
            return
        first = run[0]
        with tracing.consuming_many(f"{first.record.topic} process", [
                (item.event.traceparent, item.event.tracestate) for item in run],
                **{"messaging.system": "kafka", "messaging.destination.name": first.record.topic,
                   "messaging.batch.message_count": len(run), "messaging.consumer.group.name": self.service}):
            await self._batch_handlers[first.event.type]([(item.payload, item.event) for item in run], uow)

    async def _attempt(self, item: Readable, *, failed: Exception | None = None) -> Outcome:
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

    async def _apply_effect(self, uow: UnitOfWork, item: Readable) -> Outcome:
        """The event's effect in the caller's transaction, after its inbox row: stale on the feed, else handled."""
        event, record = item.event, item.record
        if by_type(event.type).compacted and not await advance_feed_position(
                uow.conn, topic=record.topic, key=event.subject, as_of=event.time, event_id=event.id):
            return Outcome.STALE
        await self._handle_one(uow, item)
        return Outcome.PROCESSED

    async def _handle_one(self, uow: UnitOfWork, item: Readable) -> None:
        """One event's handler, in the trace of the transaction that produced the event (so what the handler
        writes to the outbox in turn carries it on); every line it logs names the event."""
        event, record = item.event, item.record
        with logs.bound(event_id=event.id), tracing.consuming(
                f"{record.topic} process", event.traceparent, event.tracestate,
                **{"messaging.system": "kafka", "messaging.destination.name": record.topic,
                   "messaging.message.id": event.id, "messaging.consumer.group.name": self.service}):
            await item.handler(item.payload, event, uow)

    async def _apply(self, item: Readable) -> Outcome:
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

    async def _apply_through_outages(self, item: Readable) -> Outcome:
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

    def _count(self, ce_type: str, outcome: Outcome, count: int = 1) -> None:
        metrics.EVENTS_HANDLED.labels(self.service, ce_type, outcome.value).inc(count)
