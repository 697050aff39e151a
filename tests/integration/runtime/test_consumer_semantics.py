"""Consumer semantics against a real broker: idempotence, dead letters, and offsets committed after effects."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schuldenlab.embedded.topics import TopicSpec
from schuldenlab.operations import topic_partitions
from schuldenlab_contracts.cloudevents import new_event, tombstone
from schuldenlab_contracts.events import CatalogueProject, ProjectAssessed, Verdict
from schuldenlab_contracts.registry import by_model
from tests.contract.samples import sample_payloads
from tests.integration.runtime.probe import Behaviour
from tests.integration.runtime.support import effects, event_for, record_of, running_probe
from tests.support.harness import eventually, service_settings
from tests.support.kafka import create_topics, kafka_options, produce, read_topic

pytestmark = pytest.mark.integration

TOPIC = "catalogue.project-submitted.v1"


@pytest.fixture
async def probe_topics(fresh_kafka):
    await create_topics(fresh_kafka, [TopicSpec("probe.dlq.v1", partitions=1)])
    return fresh_kafka


async def send(bootstrap, event):
    record = record_of(event)
    await produce(bootstrap, record.topic, key=record.key, value=record.value, headers=list(record.headers))


async def test_a_duplicate_delivery_has_exactly_one_effect(fresh_database, probe_topics, tmp_path):
    settings = service_settings(fresh_database, probe_topics, tmp_path)
    behaviour = Behaviour()
    duplicated = event_for("Dubbel")
    async with running_probe(settings, behaviour):
        await send(probe_topics, duplicated)
        await send(probe_topics, duplicated)  # the same ce_id again, as an at-least-once producer may do
        await send(probe_topics, event_for("Daarna"))
        await eventually(lambda: _has(fresh_database, "Daarna"))
        await eventually(lambda: _async(behaviour.calls.count("Dubbel") >= 1))
    assert (await effects(fresh_database)).count("Dubbel") == 1


async def test_a_poison_message_goes_to_the_dead_letter_topic_and_the_next_is_processed(
        fresh_database, probe_topics, tmp_path):
    settings = service_settings(fresh_database, probe_topics, tmp_path)
    good = event_for("Na het gif")
    record = record_of(good)
    async with running_probe(settings, Behaviour()):
        # Same key, so the same partition: the poison message sits right before the good one.
        await produce(probe_topics, TOPIC, key=record.key, value=b"{not json", headers=list(record.headers))
        await send(probe_topics, good)
        await eventually(lambda: _has(fresh_database, "Na het gif"))
    [letter] = await read_topic(probe_topics, "probe.dlq.v1", expect=1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.value == b"{not json" and letter.key == record.key
    assert headers["dlq_original_topic"] == TOPIC
    assert headers["dlq_error_type"] == "ContractViolation"
    assert headers["dlq_attempts"] == "0"
    assert headers["ce_id"] == good.id  # the original headers travel along


async def test_a_handler_failing_every_retry_is_dead_lettered_and_the_partition_moves_on(
        fresh_database, probe_topics, tmp_path):
    settings = service_settings(fresh_database, probe_topics, tmp_path)
    behaviour = Behaviour(failing_names={"Altijd fout"})
    failing = event_for("Altijd fout")
    async with running_probe(settings, behaviour):
        await send(probe_topics, failing)
        await send(probe_topics, event_for("Volgende"))
        await eventually(lambda: _has(fresh_database, "Volgende"))
    assert behaviour.calls.count("Altijd fout") == settings.consumer_max_attempts
    assert "Altijd fout" not in await effects(fresh_database)  # each failed attempt rolled back
    [letter] = await read_topic(probe_topics, "probe.dlq.v1", expect=1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["dlq_attempts"] == str(settings.consumer_max_attempts)
    assert "probe told to fail on Altijd fout" in headers["dlq_error"]


async def test_a_failing_handler_does_not_commit_its_offset_and_the_message_is_redelivered(
        fresh_database, probe_topics, tmp_path):
    # Retries that outlast the test: the message is still failing when the service stops.
    settings = service_settings(fresh_database, probe_topics, tmp_path, SCHULDENLAB_CONSUMER_MAX_ATTEMPTS="10000")
    behaviour = Behaviour(failing_names={"Nog niet"})
    event = event_for("Nog niet")
    async with running_probe(settings, behaviour):
        await send(probe_topics, event)
        await eventually(lambda: _async(len(behaviour.calls) >= 3))
        committed = await _committed_offsets(probe_topics, "probe")
    assert all(offset <= 0 for offset in committed.values()), committed  # nothing past the failing message

    behaviour.failing_names.clear()  # the cause is fixed; a restarted service gets the message again
    async with running_probe(settings, behaviour):
        await eventually(lambda: _has(fresh_database, "Nog niet"))
        await eventually(lambda: _committed_past_zero(probe_topics))


async def _committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets, read without joining the group (assign, never subscribe)."""
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(kafka_options(bootstrap), TOPIC)
        return {tp: (await consumer.committed(tp)) or -1 for tp in partitions}
    finally:
        await consumer.stop()


async def _committed_past_zero(bootstrap: str) -> bool:
    return any(offset >= 1 for offset in (await _committed_offsets(bootstrap, "probe")).values())


async def _has(dsn: str, name: str) -> bool:
    return name in await effects(dsn)


async def _async(value):
    await asyncio.sleep(0)
    return value


async def test_a_stale_state_record_does_not_undo_a_newer_one_on_a_compacted_topic(
        fresh_database, probe_topics, tmp_path):
    project = sample_payloads()[CatalogueProject]
    t1 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    listed = new_event(project, time=t1)
    withdrawn = tombstone(by_model(CatalogueProject), str(project.project_id), time=t1 + timedelta(days=1))
    replayed = new_event(project, time=t1)  # the t1 state again, under a new id: a dead letter sent back
    relisted = new_event(project.model_copy(update={"name": "Weer opgenomen"}), time=t1 + timedelta(days=2))
    settings = service_settings(fresh_database, probe_topics, tmp_path)
    behaviour = Behaviour()
    async with running_probe(settings, behaviour):
        for event in (listed, withdrawn, replayed, relisted):
            await send(probe_topics, event)
        await eventually(lambda: _has(fresh_database, "Weer opgenomen"))
    assert await effects(fresh_database) == [project.name, "tombstone", "Weer opgenomen"]


async def test_a_verdict_claiming_another_producer_is_dead_lettered_unapplied_and_the_partition_moves_on(
        fresh_database, probe_topics, tmp_path, caplog):
    # What a plain Kafka client could send before the ACLs: a hand-made "proven" for a project nobody assessed.
    verdict = sample_payloads()[ProjectAssessed].model_copy(update={"rationale": "Vervalst"})
    assert verdict.verdict is Verdict.PROVEN
    record = record_of(new_event(verdict))
    forged = [(k, b"/schuldenlab/notifications" if k == "ce_source" else v) for k, v in record.headers]
    genuine = new_event(verdict.model_copy(update={"verdict": Verdict.REJECTED, "rationale": "Echt"}))
    settings = service_settings(fresh_database, probe_topics, tmp_path)
    behaviour = Behaviour()
    with caplog.at_level(logging.WARNING, logger="servicekit.consumer"):
        async with running_probe(settings, behaviour):
            # Same key, so the same partition: the forged record sits right before the genuine one.
            await produce(probe_topics, record.topic, key=record.key, value=record.value, headers=forged)
            await send(probe_topics, genuine)
            await eventually(lambda: _has(fresh_database, "rejected: Echt"))
    assert await effects(fresh_database) == ["rejected: Echt"]
    assert behaviour.calls == ["rejected: Echt"]  # the handler never saw the forged verdict
    [letter] = await read_topic(probe_topics, "probe.dlq.v1", expect=1)
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.value == record.value and headers["ce_source"] == "/schuldenlab/notifications"
    assert headers["dlq_error_field"] == "ce_source" and headers["dlq_attempts"] == "0"
    assert "expected '/schuldenlab/assessment'" in headers["dlq_error"]
    assert any("ce_source" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
