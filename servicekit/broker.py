"""The Kafka side of a service: one FastStream broker, documented publishers, and the consumer binding."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTimestampError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    UnsupportedForMessageFormatError,
)
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware

from schuldenlab_contracts.cloudevents import KafkaRecord
from schuldenlab_contracts.registry import EVENTS
from servicekit import metrics
from servicekit.backoff import Backoff
from servicekit.config import Settings
from servicekit.deadletters import DeadLetter, DeadLetterRefused, dead_letter_topic, retry_topic
from servicekit.kafka import bootstrap_servers, faststream_security, producer_options
from servicekit.loglines import RateLimitedLog
from servicekit.metrics import REGISTRY
from servicekit.records import ReceivedRecord

log = logging.getLogger(__name__)

# Kafka's answers about the record itself (its size, its form): sending the same record again cannot
# succeed, so the consumer writes a stub in its place. Any other error may pass (a broker away, a leader
# moving, a missing ACL being added) and is retried with backoff. aiokafka raises the size error itself,
# before sending, for a record over the producer's max_request_size.
_REFUSALS_OF_THE_RECORD = (MessageSizeTooLargeError, RecordListTooLargeError, CorruptRecordException,
                           InvalidTimestampError, UnsupportedForMessageFormatError)
# How long the consumer waits before a record it could not process (nor dead-letter) is delivered again.
REWIND_BACKOFF_INITIAL = 0.5
REWIND_BACKOFF_MAX = 10.0
REWIND_LINES_PER_MINUTE = 6


# A handler in flight at a stop (one retrying with backoff, say) gets this long to finish before it is cut off; its
# offset stays uncommitted, so its record comes again after the next start.
GRACEFUL_SECONDS = 3.0


def create_broker(settings: Settings, service: str) -> KafkaBroker:
    """acks=all always; idempotence on unless switched off (the embedded broker cannot do it).

    The producer settings are the runtime's one set (servicekit.kafka.producer_options), so the
    dead-letter producer sends records as large as the dead-letter topics take.
    """
    producer = producer_options(settings)
    return KafkaBroker(
        bootstrap_servers(settings),
        security=faststream_security(settings.kafka_security),
        client_id=f"schuldenlab-{service}",
        acks=producer["acks"],
        enable_idempotence=producer["enable_idempotence"],
        max_request_size=producer["max_request_size"],
        # Topics are the operator's (`schuldenlab topics`, `up`): a service needs no CREATE on the cluster.
        allow_auto_create_topics=False,
        middlewares=[KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service)],
        description=f"SchuldenlabNL {service} service",
        # Handlers in flight get this long at a stop (servicekit.service.STOP_BUDGET bounds the whole stop).
        graceful_timeout=GRACEFUL_SECONDS,
        # Two access-log lines per message at INFO drown the useful lines; they stay available at DEBUG.
        log_level=logging.DEBUG,
    )


class Publishers:
    """One FastStream publisher object per topic this service writes, so AsyncAPI documents each."""

    def __init__(self, broker: KafkaBroker, service: str) -> None:
        self._broker = broker
        self._by_topic = {}
        for spec in EVENTS:
            if spec.source == service:
                self._by_topic[spec.topic] = broker.publisher(
                    spec.topic, title=f"{spec.topic}:publish", schema=spec.model,
                    # Headers, key and examples are not FastStream's to declare: servicekit.asyncapi adds them.
                    description=f"{spec.name} (ce_type {spec.ce_type}), published by {service}; "
                    f"CloudEvents binary mode, key = {spec.key_field}",
                )
        self._dead_letter = broker.publisher(
            dead_letter_topic(service), title=f"{dead_letter_topic(service)}:publish",
            description="Messages this service could not process: original key, value and headers, plus dlq_* headers",
        )

    async def publish_record(self, record: KafkaRecord) -> Awaitable[object]:
        """Hand `record` to the broker's producer (the relay's calls keep their order); returns its acknowledgement.

        Sent by the broker's own aiokafka producer rather than through the publisher object (which stays,
        for AsyncAPI): FastStream's publish path (its command, middlewares and correlation id) costs about
        as much per record as the send itself, and every event goes this way (benchmarks.relay_throughput).
        """
        if record.topic not in self._by_topic:
            raise LookupError(f"this service does not publish to {record.topic}")
        return await _producer_of(self._broker).send(record.topic, value=record.value, key=record.key,
                                                     headers=list(record.headers))

    async def publish_dead_letter(self, letter: DeadLetter) -> None:
        """Write a dead letter; DeadLetterRefused when Kafka refuses this record itself (see the consumer)."""
        try:
            await self._dead_letter.publish(letter.value, key=letter.key, headers=letter.headers)
        except _REFUSALS_OF_THE_RECORD as exc:
            raise DeadLetterRefused(f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class ConsumerBatching:
    """How many records one fetch hands the consumer at most, and how long a fetch waits for the first (README)."""

    # Kafka's own default for max.poll.records; 500 applied 35% more events a second than 100 did, at the same
    # ratio to a bare batched consumer (benchmarks.consumer_throughput --max-records).
    max_records: int = 500
    max_wait_ms: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsumerBatching:
        """SCHULDENLAB_CONSUMER_BATCH_MAX_RECORDS and _MAX_WAIT_MS (or the service's own); a bad one stops the start."""
        values = {}
        for name, field, most in (("MAX_RECORDS", "max_records", 10_000), ("MAX_WAIT_MS", "max_wait_ms", 60_000)):
            variable = settings.variable(f"CONSUMER_BATCH_{name}")
            if value := settings.whole(variable, 0, least=1, most=most):  # 0: not set, the default stands
                values[field] = value
        return cls(**values)


def _producer_of(broker: KafkaBroker) -> AIOKafkaProducer:
    """The aiokafka producer the broker connected: FastStream 0.7 keeps it in its producer state
    (faststream.kafka.publisher.state.RealProducer); every runtime test that publishes an event relies on it."""
    return broker.config.producer._producer.producer


async def _the_message_itself(message: KafkaMessage) -> KafkaMessage:
    """The handler's argument: the message itself, records and acknowledgement in one.

    Taken as the body rather than as FastStream's `KafkaMessage` context parameter, which FastStream
    resolves by a synchronous call in a worker thread, a thread hop per fetch for nothing. FastStream must
    not parse the values either: the consumer reads the raw records itself.
    """
    return message


async def _tolerant_parse(records: tuple[ConsumerRecord, ...], parse: Callable[..., Awaitable[KafkaMessage]],
                          ) -> KafkaMessage:
    """FastStream's batch parser, but a header that is no UTF-8 cannot fail the fetch.

    FastStream decodes every header for its own view of the batch; a record with a header it cannot
    decode would end the whole fetch with an error before the consumer saw it, and the next commit
    would pass over it. Here FastStream gets readable copies and the consumer the records as they
    are: the contracts refuse such a record and it is dead-lettered like any invalid one.
    """
    records = tuple(records)  # FastStream's test client hands a list; its nack() rewinds only a tuple's partitions
    try:
        return await parse(records)
    except UnicodeDecodeError:
        readable = tuple(dataclasses.replace(r, headers=[(name, value.decode("utf-8", "replace").encode())
                                                         for name, value in r.headers]) for r in records)
        message = await parse(readable)
        message.raw_message = records
        return message


def bind_consumer(broker: KafkaBroker, service: str, topics: Sequence[str],
                  handle: Callable[[Sequence[ReceivedRecord]], Awaitable[object]], *, session_timeout_ms: int = 10_000,
                  fetch_max_wait_ms: int = 500, batching: ConsumerBatching = ConsumerBatching()) -> None:
    """Subscribe `handle` to the topics, and to the service's own retry topic, a fetch at a time, acknowledged by hand.

    Each fetch (at most `batching.max_records` records, from any of the partitions this consumer has)
    goes to `handle` whole. Never FastStream's ACK_FIRST: the offsets are committed, once per fetch,
    after `handle` returns (every record's effect has committed, or it went to the dead-letter topic);
    if `handle` raises, every partition of the fetch is rewound to its first record of the fetch after
    a pause that grows while failures repeat, so records that cannot be processed are tried again
    without spinning (the inbox makes those applied already no-ops). The retry topic carries the dead
    letters the operator replays (`schuldenlab dlq replay`) to this service alone.
    """
    if not topics:
        return
    rewind = Backoff(REWIND_BACKOFF_INITIAL, REWIND_BACKOFF_MAX)
    # A fetch that keeps failing is one line every few seconds at most, not a traceback each time.
    rewind_log = RateLimitedLog(log, per_window=REWIND_LINES_PER_MINUTE, window=60.0)

    @broker.subscriber(
        *topics, retry_topic(service),
        group_id=service,
        ack_policy=AckPolicy.MANUAL,
        batch=True,
        max_records=batching.max_records,
        # getmany's wait when nothing is buffered; FastStream pauses as long again after an empty fetch.
        batch_timeout_ms=batching.max_wait_ms,
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(100, session_timeout_ms // 4),
        fetch_max_wait_ms=fetch_max_wait_ms,
        parser=_tolerant_parse,
        decoder=_the_message_itself,
        title=f"{service}:consume",
        # One subscriber for all topics, so FastStream repeats this text on each topic's channel.
        description=f"Read by consumer group {service}, a fetch at a time; the offsets are committed only after "
        f"the effects have committed; a record it cannot process goes to {dead_letter_topic(service)}",
    )
    async def on_fetch(message) -> None:  # no annotation: FastStream hands the body (the message) over as it is
        raws = message.raw_message
        records = [ReceivedRecord(topic=raw.topic, partition=raw.partition, offset=raw.offset, key=raw.key,
                                  value=raw.value, headers=tuple(raw.headers or ())) for raw in raws]
        try:
            await handle(records)
        except Exception as exc:
            delay = rewind.next()
            first = raws[0]
            rewind_log.log(logging.ERROR, "%s: could not process or dead-letter a fetch of %d records from "
                           "%s[%s]@%s on (%s); delivering it again in %.1f s", service, len(raws), first.topic,
                           first.partition, first.offset, type(exc).__name__, delay)
            log.debug("%s: the failure of the fetch from %s[%s]@%s", service, first.topic, first.partition,
                      first.offset, exc_info=exc)
            await asyncio.sleep(delay)
            await message.nack()
            return
        rewind.reset()
        await message.ack()
        _note_lag(service, message.consumer, raws)


def _note_lag(service: str, consumer: object, raws: Sequence) -> None:
    """schuldenlab_consumer_lag per partition of the fetch just committed: the broker's end (the high-water
    mark the fetch reported) minus the position after the fetch; a consumer whose client has no marks (the
    in-memory test broker) sets nothing."""
    highwater = getattr(consumer, "highwater", None)
    if highwater is None:
        return
    last: dict[tuple[str, int], int] = {}
    for raw in raws:
        last[(raw.topic, raw.partition)] = max(raw.offset, last.get((raw.topic, raw.partition), -1))
    for (topic, partition), offset in last.items():
        end = highwater(TopicPartition(topic, partition))
        if end is not None:
            metrics.CONSUMER_LAG.labels(service, topic, str(partition)).set(max(0, end - offset - 1))
