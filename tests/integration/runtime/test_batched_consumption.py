"""Batched consumption against a real broker: a fetch applied in one transaction, a failing record isolated,
offsets committed once per fetch after its commit, order per key within and across fetches.

The records are written before the probe starts, so its first fetch finds them all; which records were
applied together shows in the transaction id (`xmin`) of their effect rows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream.kafka.message import KafkaAckableMessage

from schuldenlab_contracts.cloudevents import CloudEvent
from tests.integration.runtime.probe import Behaviour
from tests.integration.runtime.support import effects, event_for, record_of, running_probe
from tests.support.harness import eventually, service_settings
from tests.support.kafka import kafka_options, read_topic

pytestmark = pytest.mark.integration


async def _send_all(bootstrap: str, events: list[CloudEvent]) -> None:
    """One producer, the events in this order (the same key keeps them in order on one partition)."""
    producer = AIOKafkaProducer(**kafka_options(bootstrap), acks="all")
    await producer.start()
    try:
        for event in events:
            record = record_of(event)
            await producer.send_and_wait(record.topic, value=record.value, key=record.key,
                                         headers=list(record.headers))
    finally:
        await producer.stop()


async def _effects_with_transactions(dsn: str) -> list[tuple[str, str]]:
    """(name, id of the transaction that wrote it) of every effect, in the order they were applied."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT name, xmin::text AS tx FROM probe.effects ORDER BY applied_at")
        return [(r["name"], r["tx"]) for r in rows]
    finally:
        await conn.close()


async def _has(dsn: str, name: str) -> bool:
    return name in await effects(dsn)


async def test_a_failing_handler_in_a_fetch_is_retried_and_dead_lettered_alone_while_the_others_keep_their_effects(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    key = uuid.uuid4()
    before = [f"Voor {i}" for i in range(4)]
    after = [f"Na {i}" for i in range(4)]
    await _send_all(fresh_kafka, [event_for(name, key) for name in [*before, "Kapot", *after]])
    behaviour = Behaviour(failing_names={"Kapot"})
    async with running_probe(settings, behaviour):
        await eventually(lambda: _has(fresh_database, after[-1]))
    applied = await _effects_with_transactions(fresh_database)
    assert [name for name, _ in applied] == [*before, *after]  # in order, the failing one without an effect
    transactions = [tx for _, tx in applied]
    # Those before the failing record were applied together, and those after it together again.
    assert len(set(transactions[:len(before)])) == 1 and len(set(transactions[len(before):])) == 1
    assert transactions[0] != transactions[-1]
    # The failing record alone went through the attempts (the first inside the fetch) to the dead-letter topic.
    assert behaviour.calls.count("Kapot") == settings.consumer_max_attempts
    assert all(behaviour.calls.count(name) <= 2 for name in before)  # at most once more, when re-applied
    [letter] = await read_topic(fresh_kafka, "probe.dlq.v1", expect=1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["dlq_attempts"] == str(settings.consumer_max_attempts)
    assert "probe told to fail on Kapot" in headers["dlq_error"]


async def test_offsets_are_committed_once_per_fetch_after_its_commit_and_a_fetch_redelivered_has_no_second_effect(
        fresh_database, fresh_kafka, tmp_path, monkeypatch):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    key = uuid.uuid4()
    names = [f"Geleverd {i}" for i in range(10)]
    await _send_all(fresh_kafka, [event_for(name, key) for name in names])
    behaviour = Behaviour()

    # First run: the fetch's effects commit, then the process "dies" before its offsets are committed.
    async def crash_before_the_offset_commit(message) -> None:
        pass

    monkeypatch.setattr(KafkaAckableMessage, "ack", crash_before_the_offset_commit)
    async with running_probe(settings, behaviour):
        await eventually(lambda: _has(fresh_database, names[-1]))
    assert await _committed(fresh_kafka) == 0  # nothing committed: the whole fetch comes again
    monkeypatch.undo()

    # Second run: the fetch is delivered again; the inbox makes every record a no-op, and this time the
    # offsets are committed, once for the fetch, with every effect already visible to others.
    seen_at_commit: list[int] = []
    commit = AIOKafkaConsumer.commit

    async def observed_commit(consumer, *args, **kwargs):
        seen_at_commit.append(len(await effects(fresh_database)))
        return await commit(consumer, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", observed_commit)
    async with running_probe(settings, behaviour):
        await eventually(lambda: _committed_is(fresh_kafka, len(names)))
    assert seen_at_commit == [len(names)]  # one commit for the fetch of ten, after their effects
    assert await effects(fresh_database) == names  # each applied once
    assert behaviour.calls == names  # the handlers were not called again for the redelivered records


async def test_order_per_key_holds_within_and_across_fetches_also_around_a_record_that_fails_once(
        fresh_database, fresh_kafka, tmp_path):
    # Fetches of at most three records, so the events of each key span several fetches.
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_CONSUMER_BATCH_MAX_RECORDS="3")
    keys = [uuid.uuid4() for _ in range(3)]
    sent = [(key, f"{k}-{i}") for i in range(5) for k, key in enumerate(keys)]
    await _send_all(fresh_kafka, [event_for(name, key) for key, name in sent])
    behaviour = Behaviour(failing_names=FailsOnce({"1-2"}))
    async with running_probe(settings, behaviour):
        await eventually(lambda: _applied_all(fresh_database, len(sent)))
    applied = await effects(fresh_database)
    per_key: dict[str, list[str]] = defaultdict(list)
    for name in applied:
        per_key[name.split("-")[0]].append(name)
    assert dict(per_key) == {str(k): [f"{k}-{i}" for i in range(5)] for k in range(3)}
    assert behaviour.calls.count("1-2") == 2  # failed once inside its fetch, applied alone on the retry


class FailsOnce(set):
    """Failing names that fail on their first call only: a transient failure."""

    def __contains__(self, name: object) -> bool:
        if super().__contains__(name):
            self.discard(name)
            return True
        return False


async def _applied_all(dsn: str, count: int) -> bool:
    return len(await effects(dsn)) >= count


async def _committed(bootstrap: str) -> int:
    """The offsets the probe's group committed on the submissions topic, summed over its partitions."""
    from schuldenlab.operations import topic_partitions

    consumer = AIOKafkaConsumer(**kafka_options(bootstrap), group_id="probe", enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(kafka_options(bootstrap), "catalogue.project-submitted.v1")
        return sum([(await consumer.committed(tp)) or 0 for tp in partitions])
    finally:
        await consumer.stop()


async def _committed_is(bootstrap: str, count: int) -> bool:
    return await _committed(bootstrap) == count


async def test_a_record_with_a_header_that_is_no_utf_8_is_dead_lettered_and_the_record_behind_it_is_applied(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    key = uuid.uuid4()
    broken, good = record_of(event_for("Kapotte kop", key)), record_of(event_for("Na de kapotte kop", key))
    producer = AIOKafkaProducer(**kafka_options(fresh_kafka), acks="all")
    await producer.start()
    try:
        # Same key, so the same partition and the same fetch: the broken record right before the good one.
        await producer.send_and_wait(broken.topic, value=broken.value, key=broken.key,
                                     headers=[(k, b"\xff\xfe" if k == "ce_id" else v) for k, v in broken.headers])
        await producer.send_and_wait(good.topic, value=good.value, key=good.key, headers=list(good.headers))
    finally:
        await producer.stop()
    async with running_probe(settings, Behaviour()):
        await eventually(lambda: _has(fresh_database, "Na de kapotte kop"))
    assert await effects(fresh_database) == ["Na de kapotte kop"]
    [letter] = await read_topic(fresh_kafka, "probe.dlq.v1", expect=1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["dlq_error_type"] == "ContractViolation" and headers["dlq_error_field"] == "ce_id"
    assert letter.value == broken.value
