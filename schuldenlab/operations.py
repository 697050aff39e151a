"""Operator commands on a running platform: follow events, list and replay dead letters."""

from __future__ import annotations

import json
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schuldenlab.state import with_running_platform
from schuldenlab_contracts.registry import EVENTS
from servicekit.config import Settings
from servicekit.consumer import dead_letter_topic


async def follow_events(settings: Settings, *, topics: list[str] | None, from_beginning: bool) -> int:
    settings = with_running_platform(settings)
    consumer = AIOKafkaConsumer(*(topics or [spec.topic for spec in EVENTS]),
                                bootstrap_servers=settings.require_kafka(), group_id=None,
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


async def _read_all(consumer: AIOKafkaConsumer, topic: str):
    """Every record of a topic from the committed position (or the start) up to its current end."""
    partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
    if not partitions:
        return
    ends = await consumer.end_offsets(partitions)
    pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
    while pending:
        batch = await consumer.getmany(timeout_ms=1000)
        for tp, records in batch.items():
            for record in records:
                yield record
            if await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
        if not batch:
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}


async def list_dead_letters(settings: Settings, service: str) -> int:
    settings = with_running_platform(settings)
    topic = dead_letter_topic(service)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.require_kafka(), group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    count = 0
    try:
        await consumer.getmany(timeout_ms=500)  # join: get partitions assigned
        await consumer.seek_to_beginning()
        async for record in _read_all(consumer, topic):
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
    settings = with_running_platform(settings)
    topic = dead_letter_topic(service)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.require_kafka(), group_id=f"{service}.dlq-replay",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=settings.require_kafka(), acks="all",
                                enable_idempotence=settings.kafka_idempotence)
    await consumer.start()
    await producer.start()
    replayed = 0
    try:
        await consumer.getmany(timeout_ms=500)
        await consumer.seek_to_committed()
        async for record in _read_all(consumer, topic):
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
