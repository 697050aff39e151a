"""A record that breaks its contract goes straight to the dead-letter topic, before any database work."""

from __future__ import annotations

import logging

from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import ProjectAssessed
from schuldenlab_contracts.registry import by_model
from servicekit.consumer import DeadLetter, EventConsumer, Outcome, ReceivedRecord, topics_for
from tests.contract.samples import sample_payloads


class NoPool:
    def acquire(self):  # the contract check must not need the database
        raise AssertionError("the database was touched for an invalid record")


async def test_an_invalid_record_is_dead_lettered_at_once_with_the_reason():
    letters: list[DeadLetter] = []

    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)

    async def handler(payload, event, uow) -> None:
        raise AssertionError("the handler was called for an invalid record")

    consumer = EventConsumer(service="assessment", pool=NoPool(), uow_factory=lambda conn: None,
                             handlers={"nl.schuldenlab.project.submitted.v1": handler}, dead_letter=sink)
    record = ReceivedRecord(topic="catalogue.project-submitted.v1", partition=2, offset=41, key=b"k",
                            value=b"{}", headers=(("ce_specversion", b"1.0"),))
    assert await consumer.handle(record) is Outcome.DEAD_LETTERED
    [letter] = letters
    assert letter.topic == "assessment.dlq.v1" and letter.value == b"{}" and letter.key == b"k"
    assert letter.headers["dlq_original_offset"] == "41" and letter.headers["dlq_attempts"] == "0"
    assert letter.headers["dlq_error_field"] and letter.headers["dlq_error"]


def test_a_service_subscribes_to_the_topics_of_the_types_it_handles():
    assert topics_for({"nl.schuldenlab.project.submitted.v1": None, "nl.schuldenlab.lab.formed.v1": None}) == [
        "catalogue.project-submitted.v1", "partnering.lab-formed.v1"]


async def test_a_verdict_not_from_assessment_is_dead_lettered_with_a_warning_and_never_handled(caplog):
    letters: list[DeadLetter] = []

    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)

    async def handler(payload, event, uow) -> None:
        raise AssertionError("the handler was called for a forged verdict")

    verdict = sample_payloads()[ProjectAssessed]  # verdict proven
    record = to_kafka_record(new_event(verdict))
    forged = tuple((k, b"/schuldenlab/notifications" if k == "ce_source" else v) for k, v in record.headers)
    consumer = EventConsumer(service="catalogue", pool=NoPool(), uow_factory=lambda conn: None,
                             handlers={by_model(ProjectAssessed).ce_type: handler}, dead_letter=sink)
    with caplog.at_level(logging.WARNING, logger="servicekit.consumer"):
        outcome = await consumer.handle(ReceivedRecord(topic=record.topic, partition=0, offset=7, key=record.key,
                                                       value=record.value, headers=forged))
    assert outcome is Outcome.DEAD_LETTERED
    [letter] = letters
    assert letter.topic == "catalogue.dlq.v1" and letter.headers["dlq_error_field"] == "ce_source"
    assert "'/schuldenlab/assessment'" in letter.headers["dlq_error"]
    assert "'/schuldenlab/notifications'" in letter.headers["dlq_error"]
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "ce_source" in warning.getMessage() and "assessment.project-assessed.v1[0]@7" in warning.getMessage()
