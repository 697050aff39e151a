"""Dead letters that cannot be written: a stub instead of a refused record, pauses that grow instead of a hot loop."""

from __future__ import annotations

import hashlib
import logging

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import ProjectSubmitted
from schuldenlab_contracts.registry import by_model
from servicekit import broker as broker_module
from servicekit.asyncapi import DEAD_LETTER_HEADERS
from servicekit.broker import REWIND_BACKOFF_INITIAL, REWIND_BACKOFF_MAX, bind_consumer
from servicekit.consumer import (
    CONSUMER_HEADERS,
    DEAD_LETTER_FAILURE_LINES_PER_MINUTE,
    DEAD_LETTER_PATIENCE,
    HEADERS_DROPPED,
    KEY_SHA256,
    VALUE_BYTES,
    VALUE_DROPPED,
    VALUE_SHA256,
    DeadLetter,
    DeadLetterRefused,
    DeadLetterUnavailable,
    EventConsumer,
    Outcome,
    ReceivedRecord,
)
from tests.contract.samples import sample_payloads

SUBMITTED = by_model(ProjectSubmitted).ce_type


class NoPool:
    def acquire(self):  # a record that breaks its contract needs no database
        raise AssertionError("the database was touched for an invalid record")


class Sleeps(list):
    """A stand-in for asyncio.sleep that records each pause instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _poison(size: int = 1_500_000, *, offset: int = 3) -> ReceivedRecord:
    # A real event's headers and key over a value that is no JSON at all: it breaks its contract.
    record = to_kafka_record(new_event(sample_payloads()[ProjectSubmitted]))
    return ReceivedRecord(topic=record.topic, partition=1, offset=offset, key=record.key, value=b"\x00" * size,
                          headers=record.headers)


def _consumer(sink, sleeps: Sleeps) -> EventConsumer:
    return EventConsumer(service="assessment", pool=NoPool(), uow_factory=lambda conn: None,
                         handlers={SUBMITTED: None}, dead_letter=sink, backoff_initial=0.2, backoff_max=5.0,
                         sleep=sleeps)


async def test_a_dead_letter_topic_failing_again_and_again_is_retried_after_growing_pauses_not_in_a_hot_loop(caplog):
    written: list[DeadLetter] = []
    failures = 8

    async def sink(letter: DeadLetter) -> None:
        if len(sleeps) < failures:
            raise ConnectionError("the dead-letter topic does not answer")
        written.append(letter)

    sleeps = Sleeps()
    consumer = _consumer(sink, sleeps)
    with caplog.at_level(logging.INFO, logger="servicekit.consumer"):
        assert await consumer.handle(_poison()) is Outcome.DEAD_LETTERED
    assert sleeps == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]  # doubling, then held at the maximum
    [letter] = written
    assert letter.value == _poison().value  # a passing failure never costs the value
    lines = [r for r in caplog.records if "cannot write the dead letter" in r.getMessage()]
    assert len(lines) == DEAD_LETTER_FAILURE_LINES_PER_MINUTE  # bounded: not one per failure
    assert all(r.exc_info is None and "\x00" not in r.getMessage() for r in lines)


async def test_a_dead_letter_topic_that_stays_unwritable_gets_the_record_back_after_the_patience_then_keeps_pausing():
    async def sink(letter: DeadLetter) -> None:
        raise ConnectionError("the dead-letter topic does not answer")

    sleeps = Sleeps()
    consumer = _consumer(sink, sleeps)
    with pytest.raises(DeadLetterUnavailable):
        await consumer.handle(_poison())
    assert DEAD_LETTER_PATIENCE - 5.0 <= sum(sleeps) <= DEAD_LETTER_PATIENCE
    waited = len(sleeps)
    with pytest.raises(DeadLetterUnavailable):  # the record delivered again: no fast start from the beginning
        await consumer.handle(_poison())
    assert sleeps[waited] == 5.0


async def test_a_dead_letter_the_topic_refuses_is_written_as_a_stub_with_the_headers_coordinates_error_and_hash():
    written: list[DeadLetter] = []

    async def sink(letter: DeadLetter) -> None:
        if letter.value is not None:
            raise DeadLetterRefused("MessageSizeTooLargeError: The message is 1500421 bytes when serialized")
        written.append(letter)

    sleeps = Sleeps()
    poison = _poison()
    assert await _consumer(sink, sleeps).handle(poison) is Outcome.DEAD_LETTERED
    [stub] = written
    assert sleeps == []  # refused is final: no waiting, the partition moves on
    assert stub.topic == "assessment.dlq.v1" and stub.key == poison.key and stub.value is None
    headers = stub.headers
    assert {name: value.decode() for name, value in poison.headers}.items() <= headers.items()
    assert headers["dlq_original_topic"] == poison.topic and headers["dlq_original_offset"] == "3"
    assert headers["dlq_error_type"] == "ContractViolation" and headers["dlq_attempts"] == "0"
    assert "MessageSizeTooLargeError" in headers[VALUE_DROPPED] and "value dropped" in headers[VALUE_DROPPED]
    assert headers[VALUE_SHA256] == hashlib.sha256(poison.value).hexdigest()
    assert headers[VALUE_BYTES] == str(len(poison.value))


def test_a_stub_keeps_every_header_the_asyncapi_document_names_for_a_dead_letter():
    assert set(DEAD_LETTER_HEADERS) == CONSUMER_HEADERS


async def test_a_stub_leaves_out_a_large_key_and_large_headers_so_it_cannot_be_too_large_itself():
    written: list[DeadLetter] = []

    async def sink(letter: DeadLetter) -> None:
        if letter.value is not None:
            raise DeadLetterRefused("MessageSizeTooLargeError")
        written.append(letter)

    poison = _poison(size=10)
    huge = ReceivedRecord(topic=poison.topic, partition=0, offset=0, key=b"k" * 5000, value=poison.value,
                          headers=(*poison.headers, ("padding", b"p" * 900_000)))
    assert await _consumer(sink, Sleeps()).handle(huge) is Outcome.DEAD_LETTERED
    [stub] = written
    assert stub.key is None and stub.headers[KEY_SHA256] == hashlib.sha256(huge.key).hexdigest()
    assert "padding" not in stub.headers and stub.headers[HEADERS_DROPPED] == "1"
    assert stub.headers["ce_id"] == dict(poison.headers)["ce_id"].decode()
    assert sum(len(k) + len(v) for k, v in stub.headers.items()) < 32 * 1024


async def test_a_record_that_cannot_be_processed_is_delivered_again_only_after_pauses_that_grow(monkeypatch):
    pauses = Sleeps()
    monkeypatch.setattr(broker_module.asyncio, "sleep", pauses)
    failing = True

    async def handle(record: ReceivedRecord) -> None:
        if failing:
            raise DeadLetterUnavailable("the dead-letter topic does not answer")

    broker = KafkaBroker("127.0.0.1:9")
    bind_consumer(broker, "probe", ["catalogue.project-submitted.v1"], handle)
    async with TestKafkaBroker(broker) as test_broker:
        for _ in range(7):
            await test_broker.publish(b"x", topic="catalogue.project-submitted.v1")
        assert pauses == [REWIND_BACKOFF_INITIAL * 2 ** n for n in range(5)] + [REWIND_BACKOFF_MAX] * 2
        failing = False
        await test_broker.publish(b"x", topic="catalogue.project-submitted.v1")
        failing = True
        await test_broker.publish(b"x", topic="catalogue.project-submitted.v1")
    assert pauses[-1] == REWIND_BACKOFF_INITIAL  # a success starts the pauses over
