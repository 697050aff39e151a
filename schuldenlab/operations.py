"""Operator commands on a running platform: follow events, list and replay dead letters."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schuldenlab.state import require_broker
from schuldenlab_contracts.registry import EVENTS
from servicekit.config import Settings
from servicekit.consumer import dead_letter_topic
from servicekit.kafka import check_connection, client_options, producer_options


async def _platform_broker(settings: Settings) -> Settings:
    """The configured or running platform's broker, logged in to once: none, or one not answering, is one line."""
    settings = require_broker(settings)
    # Without idempotence the check asks for nothing but the login: these commands may run as a read-only user.
    await check_connection(replace(settings, kafka_idempotence=False))
    return settings


async def follow_events(settings: Settings, *, topics: list[str] | None, from_beginning: bool) -> int:
    settings = await _platform_broker(settings)
    consumer = AIOKafkaConsumer(*(topics or [spec.topic for spec in EVENTS]),
                                **client_options(settings, client_id="schuldenlab-events"), group_id=None,
                                auto_offset_reset="earliest" if from_beginning else "latest")
    await consumer.start()
    try:
        async for record in consumer:
            headers = {k: v.decode() for k, v in record.headers}
            data = "(tombstone)" if record.value is None else record.value.decode()
            print(f"{headers.get('ce_time', '?')} {headers.get('ce_type', '?')} subject={headers.get('ce_subject')}"
                  f" id={headers.get('ce_id')}\n  {data}", flush=True)
    finally:
        await consumer.stop()
    return 0


async def topic_partitions(client: dict, topic: str) -> list[TopicPartition]:
    """The partitions of `topic`, asked of the cluster (a consumer knows only the topics it subscribed to)."""
    admin = AIOKafkaAdminClient(**client)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for entry in described:
        if (entry.get("topic") or entry.get("name")) == topic and not entry.get("error_code"):
            return sorted(TopicPartition(topic, p.get("partition", p.get("partition_index")))
                          for p in entry["partitions"])
    return []


async def _assign_all(consumer: AIOKafkaConsumer, settings: Settings, topic: str) -> list[TopicPartition]:
    """Assign every partition of `topic` to this consumer: operator commands never join a group."""
    partitions = await topic_partitions(client_options(settings), topic)
    consumer.assign(partitions)
    return partitions


async def _read_all(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]):
    """Every record from each partition's current position up to its end as of now."""
    ends = await consumer.end_offsets(partitions)
    pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
    while pending:
        batch = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, records in batch.items():
            for record in records:
                if record.offset < ends[tp]:
                    yield record
        pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}


async def list_dead_letters(settings: Settings, service: str) -> int:
    settings = await _platform_broker(settings)
    topic = dead_letter_topic(service)
    consumer = AIOKafkaConsumer(**client_options(settings, client_id="schuldenlab-dlq"), group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    count = 0
    try:
        partitions = await _assign_all(consumer, settings, topic)
        await consumer.seek_to_beginning(*partitions)
        async for record in _read_all(consumer, partitions):
            h = {k: v.decode(errors="replace") for k, v in record.headers}
            count += 1
            print(f"#{record.offset} {h.get('dlq_failed_at')} from {h.get('dlq_original_topic')}"
                  f"[{h.get('dlq_original_partition')}]@{h.get('dlq_original_offset')} attempts={h.get('dlq_attempts')}"
                  f"\n  error: {h.get('dlq_error')}\n  ce_type={h.get('ce_type')} ce_id={h.get('ce_id')}")
    finally:
        await consumer.stop()
    print(f"{count} dead letter(s) on {topic}", file=sys.stderr)
    return 0


async def replay_dead_letters(settings: Settings, service: str) -> int:
    """Send each dead letter not replayed before back to its original topic (the inbox drops repeats)."""
    settings = await _platform_broker(settings)
    topic = dead_letter_topic(service)
    # The group only keeps how far replay got (committed offsets); it is never joined.
    consumer = AIOKafkaConsumer(**client_options(settings, client_id="schuldenlab-dlq"),
                                group_id=f"{service}.dlq-replay", enable_auto_commit=False)
    producer = AIOKafkaProducer(**producer_options(settings, client_id="schuldenlab-dlq"))
    await consumer.start()
    await producer.start()
    replayed = 0
    try:
        partitions = await _assign_all(consumer, settings, topic)
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, committed)
        async for record in _read_all(consumer, partitions):
            headers = [(k, v) for k, v in record.headers if not k.startswith("dlq_")]
            original = dict(record.headers).get("dlq_original_topic", b"").decode()
            await producer.send_and_wait(original, value=record.value, key=record.key, headers=headers)
            await consumer.commit({TopicPartition(topic, record.partition): record.offset + 1})
            replayed += 1
            print(json.dumps({"replayed_offset": record.offset, "to": original}))
    finally:
        await producer.stop()
        await consumer.stop()
    print(f"replayed {replayed} dead letter(s) from {topic}", file=sys.stderr)
    return 0
