"""The broker a test talks to, and reading and writing raw Kafka records with a plain aiokafka client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from schuldenlab.embedded.topics import TopicSpec, ensure_topics
from schuldenlab.operations import topic_partitions
from servicekit.config import Settings
from servicekit.kafka import client_options


class KafkaEndpoint(str):
    """Bootstrap servers, plus the configuration a client needs there (login, idempotence, timeouts).

    A plain string is the embedded broker, which needs nothing more. On the Apache Kafka tier the
    same tests get an endpoint whose `env` logs in as the cluster's admin and turns idempotence on.
    """

    env: Mapping[str, str]
    replication_factor: int

    def __new__(cls, bootstrap: str, env: Mapping[str, str], replication_factor: int) -> KafkaEndpoint:
        endpoint = super().__new__(cls, bootstrap)
        endpoint.env = dict(env)
        endpoint.replication_factor = replication_factor
        return endpoint


def endpoint_env(bootstrap: str) -> dict[str, str]:
    """The SCHULDENLAB_KAFKA_* variables of a test's broker."""
    return {"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": str(bootstrap), **getattr(bootstrap, "env", {})}


def kafka_options(bootstrap: str) -> dict[str, Any]:
    """aiokafka options for the test's broker, built by the runtime's one function like every client's."""
    return client_options(Settings.from_env(endpoint_env(bootstrap)))


async def create_topics(bootstrap: str, topics: Sequence[TopicSpec]) -> list[str]:
    """The topics, created where missing and known to the cluster's metadata when this returns."""
    created = await ensure_topics(kafka_options(bootstrap), topics,
                                  replication_factor=getattr(bootstrap, "replication_factor", 1))
    if isinstance(bootstrap, KafkaEndpoint):
        from tests.support.apache_kafka import wait_for_topics

        await wait_for_topics(bootstrap, {spec.name for spec in topics})
    return created


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout: float = 15.0) -> list[ConsumerRecord]:
    """Read `topic` from the beginning until at least `expect` records arrived (or fail after `timeout`)."""
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(kafka_options(bootstrap), topic)
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


async def read_to_end(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    """Every record of `topic` from its first retained offset up to its end as of now, partition by partition."""
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(kafka_options(bootstrap), topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        # On a compacted topic the offsets have gaps: done when the position (not the last offset) reaches the end.
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            for tp, chunk in (await consumer.getmany(timeout_ms=500)).items():
                records.extend(r for r in chunk if r.offset < ends[tp])
        return records
    finally:
        await consumer.stop()


async def produce(bootstrap: str, topic: str, *, key: bytes | None, value: bytes | None,
                  headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(**kafka_options(bootstrap), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()
