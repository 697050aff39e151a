"""The Kafka side of a service: one FastStream broker, documented publishers, and the consumer binding."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

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
from servicekit.config import Settings
from servicekit.consumer import Backoff, DeadLetter, DeadLetterRefused, ReceivedRecord, dead_letter_topic, retry_topic
from servicekit.kafka import bootstrap_servers, faststream_security, producer_options
from servicekit.loglines import RateLimitedLog
from servicekit.metrics import REGISTRY

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

    async def publish_record(self, record: KafkaRecord) -> None:
        publisher = self._by_topic.get(record.topic)
        if publisher is None:
            raise LookupError(f"this service does not publish to {record.topic}")
        headers = {name: value.decode() for name, value in record.headers}
        await publisher.publish(record.value, key=record.key, headers=headers)

    async def publish_dead_letter(self, letter: DeadLetter) -> None:
        """Write a dead letter; DeadLetterRefused when Kafka refuses this record itself (see the consumer)."""
        try:
            await self._dead_letter.publish(letter.value, key=letter.key, headers=letter.headers)
        except _REFUSALS_OF_THE_RECORD as exc:
            raise DeadLetterRefused(f"{type(exc).__name__}: {exc}") from exc


async def _undecoded(message: object) -> None:
    """The consumer reads the raw record itself: FastStream must not parse (and choke on) the value first."""
    return None


def bind_consumer(broker: KafkaBroker, service: str, topics: Sequence[str],
                  handle: Callable[[ReceivedRecord], Awaitable[object]], *, session_timeout_ms: int = 10_000,
                  fetch_max_wait_ms: int = 500) -> None:
    """Subscribe `handle` to the topics, and to the service's own retry topic, with manual acknowledgement.

    Never FastStream's ACK_FIRST: the offset is committed after `handle` returns (the effect has
    committed, or the message went to the dead-letter topic); if `handle` raises, the partition is
    rewound to this message after a pause that grows while failures repeat, so a record that cannot
    be processed is tried again without spinning. The retry topic carries the dead letters the
    operator replays (`schuldenlab dlq replay`) to this service alone.
    """
    if not topics:
        return
    rewind = Backoff(REWIND_BACKOFF_INITIAL, REWIND_BACKOFF_MAX)
    # A record that keeps failing is one line every few seconds at most, not a traceback each time.
    rewind_log = RateLimitedLog(log, per_window=REWIND_LINES_PER_MINUTE, window=60.0)

    @broker.subscriber(
        *topics, retry_topic(service),
        group_id=service,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(100, session_timeout_ms // 4),
        fetch_max_wait_ms=fetch_max_wait_ms,
        decoder=_undecoded,
        title=f"{service}:consume",
        # One subscriber for all topics, so FastStream repeats this text on each topic's channel.
        description=f"Read by consumer group {service}; the offset is committed only after the effect "
        f"has committed; a record it cannot process goes to {dead_letter_topic(service)}",
    )
    async def on_record(message: KafkaMessage) -> None:
        raw = message.raw_message
        record = ReceivedRecord(
            topic=raw.topic, partition=raw.partition, offset=raw.offset,
            key=raw.key, value=raw.value, headers=tuple(raw.headers or ()),
        )
        try:
            await handle(record)
        except Exception as exc:
            delay = rewind.next()
            rewind_log.log(logging.ERROR, "%s: could not process or dead-letter %s[%s]@%s (%s); delivering it "
                           "again in %.1f s", service, raw.topic, raw.partition, raw.offset, type(exc).__name__, delay)
            log.debug("%s: the failure at %s[%s]@%s", service, raw.topic, raw.partition, raw.offset, exc_info=exc)
            await asyncio.sleep(delay)
            await message.nack()
            return
        rewind.reset()
        await message.ack()
