"""A service's retry topic on a cluster with ACLs: the service alone reads it, only the operator writes it."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError

from schuldenlab.services import SERVICES
from servicekit.config import Settings
from servicekit.kafka import client_options, producer_options
from tests.support.apache_kafka import ADMIN, KafkaCluster

RETRY = "assessment.retry.v1"


def _as(cluster: KafkaCluster, user: str) -> Settings:
    return Settings.from_env({"SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
                              **cluster.client_env(user)})


async def _write(settings: Settings) -> None:
    producer = AIOKafkaProducer(**producer_options(settings))
    await producer.start()
    try:
        await producer.send_and_wait(RETRY, value=b"{}", key=b"k", headers=[("dlq_original_topic", b"x")])
    finally:
        await producer.stop()


async def _read_one(settings: Settings, group: str):
    consumer = AIOKafkaConsumer(RETRY, **client_options(settings), group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    try:
        await consumer.start()
        return await consumer.getone()
    finally:
        await consumer.stop()


@pytest.mark.parametrize("service", SERVICES)
async def test_no_service_may_write_a_retry_topic_not_even_its_own(cluster: KafkaCluster, service: str):
    with pytest.raises(TopicAuthorizationFailedError):
        await _write(_as(cluster, service))


async def test_the_operator_writes_the_retry_topic_and_only_its_service_reads_it(cluster: KafkaCluster):
    await _write(_as(cluster, ADMIN))
    record = await _read_one(_as(cluster, "assessment"), "assessment")
    assert record.value == b"{}"
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_one(_as(cluster, "notifications"), "notifications")
