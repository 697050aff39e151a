"""Consuming events the one safe way: commit after the effect, idempotent on `ce_id`, bounded retries, DLQ.

The offset of a message is committed only after its effect (and its inbox row) has committed, or
after it went to the dead-letter topic. On a compacted (state) topic only a record newer than the
last one applied for its key reaches the handler. A message that does not match its contract (one whose
ce_source is not the producer of its topic, too) goes to the dead-letter topic at once: retrying cannot
make it valid.

A dead letter that the dead-letter topic refuses (too large, say) is written again as a stub without
the value, so the partition moves on; while the topic cannot be written at all, the consumer backs off
and, after a while, gives the record back to be delivered again. A record the operator replayed into the
service's own retry topic is handled as one of the topic it was first read from.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from pydantic import BaseModel

from schuldenlab_contracts.cloudevents import CloudEvent, ContractViolation, from_kafka_record, parse_payload
from schuldenlab_contracts.registry import by_type
from servicekit import db, metrics
from servicekit.inbox import advance_feed_position, record_processed
from servicekit.loglines import RateLimitedLog, one_line
from servicekit.uow import UnitOfWork, transaction

log = logging.getLogger(__name__)

# Enough to see what goes wrong and how; the metric schuldenlab_events_handled_total counts every one.
DEAD_LETTER_LINES_PER_MINUTE = 10
# A dead-letter topic that cannot be written fails every record the same way: a few lines say so.
DEAD_LETTER_FAILURE_LINES_PER_MINUTE = 6
# How long one delivery of a record keeps trying to write its dead letter before it is given back to be
# delivered again. Well below Kafka's max.poll.interval.ms (5 minutes), past which a consumer that has
# not asked for records is put out of its group.
DEAD_LETTER_PATIENCE = 60.0
# What a stub keeps of the original record besides the dlq_* headers: it must fit where the whole did not.
STUB_KEY_MAX_BYTES = 1024
STUB_HEADER_MAX_BYTES = 1024
STUB_HEADERS_MAX_BYTES = 16 * 1024

# Headers of a stub (a dead letter whose value was dropped), and of a replayed dead letter on a retry topic.
VALUE_DROPPED = "dlq_value_dropped"
VALUE_SHA256 = "dlq_value_sha256"
VALUE_BYTES = "dlq_value_bytes"
KEY_SHA256 = "dlq_key_sha256"
HEADERS_DROPPED = "dlq_headers_dropped"
REPLAY_OF = "dlq_replay_of"
ORIGINAL_TOPIC = "dlq_original_topic"
# The headers the consumer adds to every dead letter (servicekit.asyncapi documents them).
CONSUMER_HEADERS = frozenset({"dlq_error", "dlq_error_type", "dlq_error_field", ORIGINAL_TOPIC,
                              "dlq_original_partition", "dlq_original_offset", "dlq_consumer_group", "dlq_attempts",
                              "dlq_failed_at"})
# Never shorter than this between two attempts at a dead letter, whatever the consumer's backoff settings.
DEAD_LETTER_MIN_DELAY = 0.1

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
class DeadLetter:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]


DeadLetterSink = Callable[[DeadLetter], Awaitable[None]]


class DeadLetterRefused(Exception):
    """The dead-letter topic refuses this record itself (too large, invalid): writing it again cannot succeed.

    The sink raises it (it knows the client library's errors); any other error is taken as passing.
    """


class DatabaseOutage(Exception):
    """The database stayed unavailable for DATABASE_PATIENCE seconds; the record is to be delivered again."""


class DeadLetterUnavailable(Exception):
    """The dead letter could not be written for DEAD_LETTER_PATIENCE seconds; the record is to be delivered again."""


class Backoff:
    """Delays doubling from `initial` to `maximum` while failures repeat; a success starts them over."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._initial = min(initial, maximum)
        self._maximum = maximum
        self._next = self._initial

    def next(self) -> float:
        delay, self._next = self._next, min(self._maximum, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self._initial


def dead_letter_topic(service: str) -> str:
    return f"{service}.dlq.v1"


def retry_topic(service: str) -> str:
    """Where `schuldenlab dlq replay` sends a service's dead letters: only that service reads it."""
    return f"{service}.retry.v1"


def topics_for(handlers: Mapping[str, EventHandler]) -> list[str]:
    """The topics that carry the event types a service handles."""
    return sorted({by_type(ce_type).topic for ce_type in handlers})


class EventConsumer:
    """Applies consumed events to one service through its handlers, one event per transaction."""

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
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._sleep = sleep
        # One line per dead letter, but a producer gone wrong must not flood the log: bounded per service.
        self._dead_letter_log = RateLimitedLog(log, per_window=DEAD_LETTER_LINES_PER_MINUTE, window=60.0)
        self._dead_letter_failure_log = RateLimitedLog(log, per_window=DEAD_LETTER_FAILURE_LINES_PER_MINUTE,
                                                       window=60.0)
        self._outage_log = RateLimitedLog(log, per_window=DATABASE_OUTAGE_LINES_PER_MINUTE, window=60.0)
        # Kept across records and deliveries, so a dead-letter topic that stays unwritable is tried less
        # and less often; never without a pause, whatever the backoff settings say.
        self._dead_letter_backoff = Backoff(max(backoff_initial, DEAD_LETTER_MIN_DELAY),
                                            max(backoff_max, DEAD_LETTER_MIN_DELAY))

    async def handle(self, record: ReceivedRecord) -> Outcome:
        """Apply one record; raises DeadLetterUnavailable only when even the dead-letter topic cannot be written."""
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
            await self._send_to_dead_letter(record, exc, attempts=0, ce_type="invalid")
            # The reason names the field and quotes at most an id or header, never the payload's content.
            self._dead_letter_log.log(logging.WARNING, "%s: dead-lettered %s[%s]@%s%s to %s: breaks its contract: %s",
                                      self.service, record.topic, record.partition, record.offset, via,
                                      dead_letter_topic(self.service), one_line(str(exc)))
            return Outcome.DEAD_LETTERED
        if handler is None:
            self._count(event.type, Outcome.IGNORED)
            return Outcome.IGNORED

        delay = self._backoff_initial
        for attempt in range(1, self._max_attempts + 1):
            try:
                outcome = await self._apply_through_outages(handler, payload, event, record)
                self._count(event.type, outcome)
                return outcome
            except DatabaseOutage:
                raise  # not the event's failure: no attempt counted, no dead letter
            except Exception as exc:
                if attempt == self._max_attempts:
                    await self._send_to_dead_letter(record, exc, attempts=attempt, ce_type=event.type)
                    # The error's message may quote the payload: it goes to the dead letter's dlq_error
                    # header (`schuldenlab dlq list`), the traceback to DEBUG; the line names its type.
                    self._dead_letter_log.log(
                        logging.ERROR, "%s: dead-lettered %s[%s]@%s%s to %s: %s %s failed %d times (%s); "
                        "`schuldenlab dlq list %s` shows the error", self.service, record.topic, record.partition,
                        record.offset, via, dead_letter_topic(self.service), event.type, event.id, attempt,
                        type(exc).__name__, self.service)
                    log.debug("%s: the last failure of %s", self.service, event.id, exc_info=exc)
                    return Outcome.DEAD_LETTERED
                log.warning("%s: %s %s failed (attempt %d), retrying: %s",
                            self.service, event.type, event.id, attempt, type(exc).__name__)
                metrics.EVENTS_HANDLED.labels(self.service, event.type, "retried").inc()
                await asyncio.sleep(delay)
                delay = min(self._backoff_max, delay * 2)
        raise AssertionError("unreachable")

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

    async def _apply(self, handler: EventHandler, payload: BaseModel | None, event: CloudEvent,
                     record: ReceivedRecord) -> Outcome:
        started = time.perf_counter()
        async with transaction(self._pool, self._uow_factory) as uow:
            first_time = await record_processed(
                uow.conn, event_id=event.id, ce_type=event.type, topic=record.topic,
                partition=record.partition, offset=record.offset,
            )
            if not first_time:
                return Outcome.DUPLICATE
            if by_type(event.type).compacted and not await advance_feed_position(
                    uow.conn, topic=record.topic, key=event.subject, as_of=event.time, event_id=event.id):
                return Outcome.STALE
            await handler(payload, event, uow)
        metrics.HANDLER_SECONDS.labels(self.service, event.type).observe(time.perf_counter() - started)
        return Outcome.PROCESSED

    async def _apply_through_outages(self, handler: EventHandler, payload: BaseModel | None, event: CloudEvent,
                                     record: ReceivedRecord) -> Outcome:
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
                outcome = await self._apply(handler, payload, event, record)
            except db.DatabaseUnavailable as exc:
                why = await db.probe(self._pool)
                if why is None:
                    raise
                delay = backoff.next()
                metrics.EVENTS_HANDLED.labels(self.service, event.type, "database_unavailable").inc()
                where = f"{record.topic}[{record.partition}]@{record.offset}"
                if waited + delay > DATABASE_PATIENCE:
                    self._outage_log.log(logging.WARNING, "%s: the database is still unavailable after %.0f s (%s); "
                                         "%s will be delivered again", self.service, waited, why, where)
                    raise DatabaseOutage(f"{where}: {exc.reason}") from exc
                self._outage_log.log(logging.WARNING, "%s: the database is unavailable (%s); %s waits, trying "
                                     "again in %.1f s", self.service, why, where, delay)
                await self._sleep(delay)
                waited += delay
                continue
            if waited:
                log.info("%s: the database answers again; %s applied after waiting %.1f s", self.service,
                         f"{record.topic}[{record.partition}]@{record.offset}", waited)
            return outcome

    async def _send_to_dead_letter(self, record: ReceivedRecord, exc: Exception, *,
                                   attempts: int, ce_type: str) -> None:
        headers = {name: value.decode("utf-8", "replace") for name, value in record.headers}
        headers.update({
            "dlq_error": f"{type(exc).__name__}: {exc}"[:4000],
            "dlq_error_type": type(exc).__name__,
            ORIGINAL_TOPIC: record.topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
            "dlq_consumer_group": self.service,
            "dlq_attempts": str(attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        })
        if isinstance(exc, ContractViolation):
            headers["dlq_error_field"] = exc.field
        letter = DeadLetter(dead_letter_topic(self.service), record.key, record.value, headers)
        await self._write_dead_letter(letter, record, ce_type)
        self._count(ce_type, Outcome.DEAD_LETTERED)

    async def _write_dead_letter(self, letter: DeadLetter, record: ReceivedRecord, ce_type: str) -> None:
        """Write the dead letter whole, else as a stub; while neither goes, back off, for DEAD_LETTER_PATIENCE.

        Past that the record is given back (DeadLetterUnavailable), to be delivered again: the
        partition waits, but never in a loop without pauses, and the log says so a few times a minute.
        """
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        waited = 0.0
        while True:
            try:
                await self._dead_letter(letter)
            except DeadLetterRefused as exc:
                if VALUE_DROPPED not in letter.headers:
                    letter = stub_of(letter, exc)
                    self._dead_letter_failure_log.log(
                        logging.WARNING, "%s: %s refuses the dead letter of %s (%s); writing it without its value",
                        self.service, letter.topic, where, one_line(str(exc)))
                    continue
                failure: Exception = exc
            except Exception as exc:
                failure = exc
            else:
                self._dead_letter_backoff.reset()
                return
            metrics.EVENTS_HANDLED.labels(self.service, ce_type, "dead_letter_failed").inc()
            log.debug("%s: writing the dead letter of %s failed", self.service, where, exc_info=failure)
            delay = self._dead_letter_backoff.next()
            if waited + delay > DEAD_LETTER_PATIENCE:
                self._dead_letter_failure_log.log(
                    logging.ERROR, "%s: could not write the dead letter of %s to %s for %.0f s (%s); the record "
                    "will be delivered again", self.service, where, letter.topic, waited, type(failure).__name__)
                raise DeadLetterUnavailable(f"{where}: {type(failure).__name__}") from failure
            # The error's type only: a message from the client library may say more than the operator needs.
            self._dead_letter_failure_log.log(
                logging.ERROR, "%s: cannot write the dead letter of %s to %s (%s); trying again in %.1f s",
                self.service, where, letter.topic, type(failure).__name__, delay)
            await self._sleep(delay)
            waited += delay

    def _count(self, ce_type: str, outcome: Outcome) -> None:
        metrics.EVENTS_HANDLED.labels(self.service, ce_type, outcome.value).inc()


def stub_of(letter: DeadLetter, refusal: Exception) -> DeadLetter:
    """The dead letter without its value, and without any key or original header large enough to matter.

    It keeps every dlq_* header the consumer set (the error and the coordinates: enough to find the
    original record while its topic keeps it), says why the value was dropped and gives the value's
    size and SHA-256, so the record can be recognised, yet it can never be too large itself.
    """
    headers: dict[str, str] = {}
    budget, dropped = STUB_HEADERS_MAX_BYTES, 0
    for name, value in letter.headers.items():
        size = len(name.encode()) + len(value.encode())
        if name in CONSUMER_HEADERS:
            headers[name] = value
        elif size <= min(STUB_HEADER_MAX_BYTES, budget):
            headers[name] = value
            budget -= size
        else:
            dropped += 1
    headers[VALUE_DROPPED] = f"the whole dead letter could not be written ({one_line(str(refusal))}); value dropped"
    if letter.value is not None:
        headers[VALUE_SHA256] = hashlib.sha256(letter.value).hexdigest()
        headers[VALUE_BYTES] = str(len(letter.value))
    key = letter.key
    if key is not None and len(key) > STUB_KEY_MAX_BYTES:
        headers[KEY_SHA256] = hashlib.sha256(key).hexdigest()
        key = None
    if dropped:
        headers[HEADERS_DROPPED] = str(dropped)
    return DeadLetter(letter.topic, key, None, headers)


def _number(text: str | None) -> int:
    """A coordinate from a header; -1 where the header is missing or no number (an unknown position)."""
    try:
        return int(text or "")
    except ValueError:
        return -1
