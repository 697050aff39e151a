"""Poison records of any size go to the dead-letter topic, whole or as a stub, and the partition moves on.

On the embedded broker and, with --apache-kafka, on Apache Kafka with the topics' real size limits
(the tier creates them from platform_topics, max.message.bytes included).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from servicekit.config import Settings
from servicekit.consumer import VALUE_BYTES, VALUE_DROPPED, VALUE_SHA256
from servicekit.kafka import DEAD_LETTER_RECORD_MAX_BYTES, producer_options
from tests.integration.runtime.probe import Behaviour
from tests.integration.runtime.support import effects, event_for, record_of, running_probe
from tests.support.harness import eventually, service_settings
from tests.support.kafka import KafkaEndpoint, endpoint_env, kafka_options, read_topic

pytestmark = pytest.mark.integration

TOPIC = "catalogue.project-submitted.v1"
KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1048588  # what a topic gets on Apache Kafka when it sets no limit


def _poison(size: int) -> bytes:
    """Valid JSON that lacks every field of the contract: a record that breaks it, `size` bytes long."""
    return b'{"note": "' + b"x" * (size - 12) + b'"}'


async def _produce(bootstrap: str, record, value: bytes, *, max_request_size: int | None = None) -> None:
    """Write as a plain client would: the platform's producer settings, or a larger request size where given."""
    options = producer_options(Settings.from_env({"SCHULDENLAB_KAFKA_IDEMPOTENCE": "false",
                                                  **endpoint_env(bootstrap)}))
    if max_request_size is not None:
        options["max_request_size"] = max_request_size
    producer = AIOKafkaProducer(**options)
    await producer.start()
    try:
        await producer.send_and_wait(record.topic, value=value, key=record.key, headers=list(record.headers))
    finally:
        await producer.stop()


async def _poison_then_valid(settings, bootstrap: str, poison: bytes, name: str, dsn: str, **produce) -> bytes:
    """The poison and a valid event on the same partition (same key), the poison first; the valid one's key."""
    good = record_of(event_for(name))
    async with running_probe(settings, Behaviour()):
        await _produce(bootstrap, good, poison, **produce)
        await _produce(bootstrap, good, good.value)
        await eventually(lambda: _has(dsn, name), timeout=30)
    return good.key


async def test_a_poison_record_of_1_5_mb_is_dead_lettered_whole_and_the_valid_event_behind_it_is_processed(
        fresh_database, fresh_kafka, tmp_path, caplog):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    poison = _poison(1_500_000)
    with caplog.at_level(logging.DEBUG, logger="servicekit"):
        key = await _poison_then_valid(settings, fresh_kafka, poison, "Na het grote gif", fresh_database)
    [letter] = await read_topic(fresh_kafka, "probe.dlq.v1", expect=1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.value == poison and letter.key == key
    assert headers["dlq_error_type"] == "ContractViolation" and headers["dlq_original_topic"] == TOPIC
    assert VALUE_DROPPED not in headers
    # Written the first time: no failed attempt, no rewind, no traceback.
    assert not [r for r in caplog.records if r.exc_info or "cannot write" in r.getMessage()
                or "delivering it again" in r.getMessage()]


async def test_a_poison_record_the_dead_letter_topic_refuses_whole_goes_there_as_a_stub_and_the_partition_moves_on(
        fresh_database, fresh_kafka, tmp_path):
    produce = {}
    if isinstance(fresh_kafka, KafkaEndpoint):
        # A dead-letter topic made before the platform set its limit has Kafka's default: the broker
        # refuses the 1.5 MB dead letter.
        await _limit_record_size(fresh_kafka, "probe.dlq.v1", KAFKA_DEFAULT_MAX_MESSAGE_BYTES)
        poison = _poison(1_500_000)
    else:
        # The embedded broker enforces no topic limit; the service's producer refuses what is over its own
        # max_request_size: here a record a client allowing more requests wrote.
        poison = _poison(DEAD_LETTER_RECORD_MAX_BYTES + 1024)
        produce["max_request_size"] = 2 * DEAD_LETTER_RECORD_MAX_BYTES
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    key = await _poison_then_valid(settings, fresh_kafka, poison, "Na het te grote gif", fresh_database, **produce)
    [stub] = await read_topic(fresh_kafka, "probe.dlq.v1", expect=1)
    headers = {k: v.decode() for k, v in stub.headers}
    assert stub.value is None and stub.key == key
    assert "MessageSizeTooLargeError" in headers[VALUE_DROPPED]
    assert headers[VALUE_SHA256] == hashlib.sha256(poison).hexdigest() and headers[VALUE_BYTES] == str(len(poison))
    assert headers["dlq_error_type"] == "ContractViolation" and headers["dlq_original_topic"] == TOPIC
    assert headers["dlq_original_offset"] == "0" and headers["ce_type"] == "nl.schuldenlab.project.submitted.v1"


async def _limit_record_size(endpoint: KafkaEndpoint, topic: str, limit: int) -> None:
    """Set the topic's max.message.bytes, and wait until every broker applies it."""
    admin = AIOKafkaAdminClient(**kafka_options(endpoint))
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": str(limit)})])
        deadline = time.monotonic() + 30
        while True:
            [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            configs = {entry[0]: entry[1] for resource in described.resources for entry in resource[4]}
            if configs.get("max.message.bytes") == str(limit):
                break
            assert time.monotonic() < deadline, configs.get("max.message.bytes")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def _has(dsn: str, name: str) -> bool:
    return name in await effects(dsn)
