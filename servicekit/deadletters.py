"""The consumer's dead letters: what it writes to `<service>.dlq.v1`, as a stub when the whole is refused, and how
long it keeps trying while the topic cannot be written at all."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from schuldenlab_contracts.cloudevents import ContractViolation
from servicekit import metrics
from servicekit.backoff import Backoff
from servicekit.loglines import RateLimitedLog, one_line

if TYPE_CHECKING:
    from servicekit.records import ReceivedRecord

# The consumer's logger: operators (and the tests) find every line about consuming under one name.
log = logging.getLogger("servicekit.consumer")

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


class DeadLetterUnavailable(Exception):
    """The dead letter could not be written for DEAD_LETTER_PATIENCE seconds; the record is to be delivered again."""


def dead_letter_topic(service: str) -> str:
    return f"{service}.dlq.v1"


def retry_topic(service: str) -> str:
    """Where `schuldenlab dlq replay` sends a service's dead letters: only that service reads it."""
    return f"{service}.retry.v1"


class DeadLetterWriter:
    """Writes one service's dead letters through `sink`: whole, else as a stub, backing off while neither goes."""

    def __init__(self, service: str, sink: DeadLetterSink, *, backoff_initial: float, backoff_max: float,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.service = service
        self._sink = sink
        self._sleep = sleep
        self._failure_log = RateLimitedLog(log, per_window=DEAD_LETTER_FAILURE_LINES_PER_MINUTE, window=60.0)
        # Kept across records and deliveries, so a dead-letter topic that stays unwritable is tried less
        # and less often; never without a pause, whatever the backoff settings say.
        self._backoff = Backoff(max(backoff_initial, DEAD_LETTER_MIN_DELAY), max(backoff_max, DEAD_LETTER_MIN_DELAY))

    async def send(self, record: ReceivedRecord, exc: Exception, *, attempts: int, ce_type: str) -> None:
        """Dead-letter `record` with the error in dlq_* headers; DeadLetterUnavailable past DEAD_LETTER_PATIENCE."""
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
        await self._write(letter, f"{record.topic}[{record.partition}]@{record.offset}", ce_type)
        metrics.EVENTS_HANDLED.labels(self.service, ce_type, "dead_lettered").inc()

    async def _write(self, letter: DeadLetter, where: str, ce_type: str) -> None:
        """Write the dead letter whole, else as a stub; while neither goes, back off, for DEAD_LETTER_PATIENCE.

        Past that the record is given back (DeadLetterUnavailable), to be delivered again: the
        partition waits, but never in a loop without pauses, and the log says so a few times a minute.
        """
        waited = 0.0
        while True:
            try:
                await self._sink(letter)
            except DeadLetterRefused as exc:
                if VALUE_DROPPED not in letter.headers:
                    letter = stub_of(letter, exc)
                    self._failure_log.log(
                        logging.WARNING, "%s: %s refuses the dead letter of %s (%s); writing it without its value",
                        self.service, letter.topic, where, one_line(str(exc)))
                    continue
                failure: Exception = exc
            except Exception as exc:
                failure = exc
            else:
                self._backoff.reset()
                return
            metrics.EVENTS_HANDLED.labels(self.service, ce_type, "dead_letter_failed").inc()
            log.debug("%s: writing the dead letter of %s failed", self.service, where, exc_info=failure)
            delay = self._backoff.next()
            if waited + delay > DEAD_LETTER_PATIENCE:
                self._failure_log.log(
                    logging.ERROR, "%s: could not write the dead letter of %s to %s for %.0f s (%s); the record "
                    "will be delivered again", self.service, where, letter.topic, waited, type(failure).__name__)
                raise DeadLetterUnavailable(f"{where}: {type(failure).__name__}") from failure
            # The error's type only: a message from the client library may say more than the operator needs.
            self._failure_log.log(
                logging.ERROR, "%s: cannot write the dead letter of %s to %s (%s); trying again in %.1f s",
                self.service, where, letter.topic, type(failure).__name__, delay)
            await self._sleep(delay)
            waited += delay


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
