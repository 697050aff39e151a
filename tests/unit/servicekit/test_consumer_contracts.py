"""A record that breaks its contract goes straight to the dead-letter topic, before any database work."""

from __future__ import annotations

from servicekit.consumer import DeadLetter, EventConsumer, Outcome, ReceivedRecord, topics_for


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
