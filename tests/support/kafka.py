"""Reading and writing raw Kafka records in tests, with a plain aiokafka client (no FastStream)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout: float = 15.0) -> list[ConsumerRecord]:
    """Read `topic` from the beginning until at least `expect` records arrived (or fail after `timeout`)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # refreshes the cluster metadata, so the partitions are known
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            raise AssertionError(f"topic {topic} does not exist")
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while len(records) < expect:
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: expected {expect} record(s), got {len(records)} within {timeout} s")
            batch = await consumer.getmany(timeout_ms=200)
            for chunk in batch.values():
                records.extend(chunk)
        # Give a straggler a moment, so "exactly N" assertions can fail when there are more.
        await asyncio.sleep(0.3)
        for chunk in (await consumer.getmany(timeout_ms=300)).values():
            records.extend(chunk)
        return records
    finally:
        await consumer.stop()


async def produce(bootstrap: str, topic: str, *, key: bytes | None, value: bytes | None,
                  headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()
