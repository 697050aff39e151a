"""Consuming events the one safe way: commit after the effect, idempotent on `ce_id`, bounded retries, DLQ.

The offset of a message is committed only after its effect (and its inbox row) has committed, or
after it went to the dead-letter topic. On a compacted (state) topic only a record newer than the
last one applied for its key reaches the handler. A message that does not match its contract (one whose
ce_source is not the producer of its topic, too) goes to the dead-letter topic at once: retrying cannot
make it valid.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from pydantic import BaseModel

from schuldenlab_contracts.cloudevents import CloudEvent, ContractViolation, from_kafka_record, parse_payload
from schuldenlab_contracts.registry import by_type
from servicekit import metrics
from servicekit.inbox import advance_feed_position, record_processed
from servicekit.loglines import RateLimitedLog, one_line
from servicekit.uow import UnitOfWork, transaction

log = logging.getLogger(__name__)

# Enough to see what goes wrong and how; the metric schuldenlab_events_handled_total counts every one.
DEAD_LETTER_LINES_PER_MINUTE = 10

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


def dead_letter_topic(service: str) -> str:
    return f"{service}.dlq.v1"


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
    ) -> None:
        self.service = service
        self._pool = pool
        self._uow_factory = uow_factory
        self._handlers = dict(handlers)
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        # One line per dead letter, but a producer gone wrong must not flood the log: bounded per service.
        self._dead_letter_log = RateLimitedLog(log, per_window=DEAD_LETTER_LINES_PER_MINUTE, window=60.0)

    async def handle(self, record: ReceivedRecord) -> Outcome:
        """Apply one record; raises only when even the dead-letter topic cannot be written."""
        try:
            event = from_kafka_record(topic=record.topic, key=record.key, value=record.value, headers=record.headers)
            handler = self._handlers.get(event.type)
            payload = parse_payload(event) if handler is not None and event.data is not None else None
        except ContractViolation as exc:
            # The contracts check the envelope, including that ce_source names the producer of the
            # record's topic (see from_kafka_record for why the check lives there). A mismatch there
            # is a record someone other than that producer wrote: worth a look, hence WARNING.
            await self._send_to_dead_letter(record, exc, attempts=0, ce_type="invalid")
            # The reason names the field and quotes at most an id or header, never the payload's content.
            self._dead_letter_log.log(logging.WARNING, "%s: dead-lettered %s[%s]@%s to %s: breaks its contract: %s",
                                      self.service, record.topic, record.partition, record.offset,
                                      dead_letter_topic(self.service), one_line(str(exc)))
            return Outcome.DEAD_LETTERED
        if handler is None:
            self._count(event.type, Outcome.IGNORED)
            return Outcome.IGNORED

        delay = self._backoff_initial
        for attempt in range(1, self._max_attempts + 1):
            try:
                outcome = await self._apply(handler, payload, event, record)
                self._count(event.type, outcome)
                return outcome
            except Exception as exc:
                if attempt == self._max_attempts:
                    await self._send_to_dead_letter(record, exc, attempts=attempt, ce_type=event.type)
                    # The error's message may quote the payload: it goes to the dead letter's dlq_error
                    # header (`schuldenlab dlq list`), the traceback to DEBUG; the line names its type.
                    self._dead_letter_log.log(
                        logging.ERROR, "%s: dead-lettered %s[%s]@%s to %s: %s %s failed %d times (%s); "
                        "`schuldenlab dlq list %s` shows the error", self.service, record.topic, record.partition,
                        record.offset, dead_letter_topic(self.service), event.type, event.id, attempt,
                        type(exc).__name__, self.service)
                    log.debug("%s: the last failure of %s", self.service, event.id, exc_info=exc)
                    return Outcome.DEAD_LETTERED
                log.warning("%s: %s %s failed (attempt %d), retrying: %s",
                            self.service, event.type, event.id, attempt, type(exc).__name__)
                metrics.EVENTS_HANDLED.labels(self.service, event.type, "retried").inc()
                await asyncio.sleep(delay)
                delay = min(self._backoff_max, delay * 2)
        raise AssertionError("unreachable")

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

    async def _send_to_dead_letter(self, record: ReceivedRecord, exc: Exception, *,
                                   attempts: int, ce_type: str) -> None:
        headers = {name: value.decode("utf-8", "replace") for name, value in record.headers}
        headers.update({
            "dlq_error": f"{type(exc).__name__}: {exc}"[:4000],
            "dlq_error_type": type(exc).__name__,
            "dlq_original_topic": record.topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
            "dlq_consumer_group": self.service,
            "dlq_attempts": str(attempts),
            "dlq_failed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        })
        if isinstance(exc, ContractViolation):
            headers["dlq_error_field"] = exc.field
        await self._dead_letter(DeadLetter(dead_letter_topic(self.service), record.key, record.value, headers))
        self._count(ce_type, Outcome.DEAD_LETTERED)

    def _count(self, ce_type: str, outcome: Outcome) -> None:
        metrics.EVENTS_HANDLED.labels(self.service, ce_type, outcome.value).inc()
