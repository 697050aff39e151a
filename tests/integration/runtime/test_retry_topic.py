"""A record on a service's retry topic is handled as one of the topic it was first read from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schuldenlab_contracts.cloudevents import new_event, tombstone
from schuldenlab_contracts.events import CatalogueProject, ProjectAssessed
from schuldenlab_contracts.registry import by_model
from servicekit.consumer import REPLAY_OF
from tests.contract.samples import sample_payloads
from tests.integration.runtime.probe import Behaviour
from tests.integration.runtime.support import effects, event_for, record_of, running_probe
from tests.support.harness import eventually, service_settings
from tests.support.kafka import produce, read_topic

pytestmark = pytest.mark.integration

RETRY = "probe.retry.v1"


async def send(bootstrap, event) -> None:
    record = record_of(event)
    await produce(bootstrap, record.topic, key=record.key, value=record.value, headers=list(record.headers))


async def replay(bootstrap, event, *, original_topic: str | None = None, headers=None) -> None:
    """The event on the retry topic as `schuldenlab dlq replay` writes it: its headers, where it came from."""
    record = record_of(event)
    replayed = [*(headers or record.headers), ("dlq_original_topic", (original_topic or record.topic).encode()),
                ("dlq_original_partition", b"0"), ("dlq_original_offset", b"7"),
                (REPLAY_OF, b"probe.dlq.v1[0]@0")]
    await produce(bootstrap, RETRY, key=record.key, value=record.value, headers=replayed)


async def _has(dsn: str, name: str) -> bool:
    return name in await effects(dsn)


async def test_a_replayed_event_is_applied_and_one_applied_before_is_not_applied_again(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    applied = event_for("Al verwerkt")
    async with running_probe(settings, Behaviour()):
        await send(fresh_kafka, applied)
        await eventually(lambda: _has(fresh_database, "Al verwerkt"))
        await replay(fresh_kafka, applied)  # its inbox row says it was applied: no second effect
        await replay(fresh_kafka, event_for("Hersteld"))  # dead-lettered before, never applied: now it is
        await eventually(lambda: _has(fresh_database, "Hersteld"))
    assert sorted(await effects(fresh_database)) == ["Al verwerkt", "Hersteld"]


async def test_a_replayed_record_meets_the_contract_of_the_topic_it_came_from_and_only_a_topic_the_service_reads(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    verdict = sample_payloads()[ProjectAssessed].model_copy(update={"rationale": "Vervalst"})
    forged_record = record_of(new_event(verdict))
    forged = [(k, b"/schuldenlab/notifications" if k == "ce_source" else v) for k, v in forged_record.headers]
    async with running_probe(settings, Behaviour()):
        await replay(fresh_kafka, new_event(verdict), headers=forged)
        # The probe reads no lab events: a record claiming to come from there is refused as well.
        await replay(fresh_kafka, event_for("Verkeerd adres"), original_topic="partnering.lab-formed.v1")
        await replay(fresh_kafka, event_for("Daarna"))
        await eventually(lambda: _has(fresh_database, "Daarna"))
    assert await effects(fresh_database) == ["Daarna"]
    letters = await read_topic(fresh_kafka, "probe.dlq.v1", expect=2)
    by_field = {dict(letter.headers)["dlq_error_field"].decode(): dict(letter.headers) for letter in letters}
    assert set(by_field) == {"ce_source", "dlq_original_topic"}
    # Dead-lettered again as a record of its first topic, with its first coordinates: it can be replayed again.
    assert by_field["ce_source"]["dlq_original_topic"] == forged_record.topic.encode()
    assert by_field["ce_source"]["dlq_original_offset"] == b"7"
    assert REPLAY_OF.encode() not in by_field["ce_source"]
    assert by_field["dlq_original_topic"]["dlq_original_topic"] == RETRY.encode()


async def test_a_replayed_state_record_older_than_the_state_applied_is_skipped_on_the_feed(
        fresh_database, fresh_kafka, tmp_path):
    project = sample_payloads()[CatalogueProject]
    t1 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    listed = new_event(project, time=t1)
    withdrawn = tombstone(by_model(CatalogueProject), str(project.project_id), time=t1 + timedelta(days=1))
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_probe(settings, Behaviour()):
        await send(fresh_kafka, listed)
        await send(fresh_kafka, withdrawn)
        await eventually(lambda: _has(fresh_database, "tombstone"))
        await replay(fresh_kafka, new_event(project, time=t1))  # the t1 state again: would undo the withdrawal
        await replay(fresh_kafka, event_for("Daarna"))
        await eventually(lambda: _has(fresh_database, "Daarna"))
    assert await effects(fresh_database) == [project.name, "tombstone", "Daarna"]
