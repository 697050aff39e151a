"""The Kafka side of a service: one FastStream broker, documented publishers, and the consumer binding."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware

from schuldenlab_contracts.cloudevents import KafkaRecord
from schuldenlab_contracts.registry import EVENTS
from servicekit.config import Settings
from servicekit.consumer import DeadLetter, ReceivedRecord, dead_letter_topic
from servicekit.kafka import bootstrap_servers, faststream_security
from servicekit.metrics import REGISTRY

log = logging.getLogger(__name__)


def create_broker(settings: Settings, service: str) -> KafkaBroker:
    """acks=all always; idempotence on unless switched off (the embedded broker cannot do it)."""
    return KafkaBroker(
        bootstrap_servers(settings),
        security=faststream_security(settings.kafka_security),
        client_id=f"schuldenlab-{service}",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        # Topics are the operator's (`schuldenlab topics`, `up`): a service needs no CREATE on the cluster.
        allow_auto_create_topics=False,
        middlewares=[KafkaPrometheusMiddleware(registry=REGISTRY, app_name=service)],
        description=f"SchuldenlabNL {service} service",
        graceful_timeout=10.0,
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
        await self._dead_letter.publish(letter.value, key=letter.key, headers=letter.headers)


async def _undecoded(message: object) -> None:
    """The consumer reads the raw record itself: FastStream must not parse (and choke on) the value first."""
    return None


def bind_consumer(broker: KafkaBroker, service: str, topics: Sequence[str],
                  handle: Callable[[ReceivedRecord], Awaitable[object]], *, session_timeout_ms: int = 10_000,
                  fetch_max_wait_ms: int = 500) -> None:
    """Subscribe `handle` to the topics with manual acknowledgement (never FastStream's ACK_FIRST).

    The offset is committed after `handle` returns (the effect has committed, or the message went to
    the dead-letter topic); if `handle` raises, the partition is rewound to this message.
    """
    if not topics:
        return

    @broker.subscriber(
        *topics,
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
        except Exception:
            log.exception("%s: could not process or dead-letter %s[%s]@%s; will redeliver",
                          service, raw.topic, raw.partition, raw.offset)
            await message.nack()
            return
        await message.ack()
