"""How the consumer applies a fetch: together in one transaction, a failing record alone, an outage waited out.

Fakes stand in for the pool: a connection that records each transaction's begin, commit and rollback in
one log with the handler calls, and a database that refuses connections for a while.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest

from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import ProjectSubmitted
from schuldenlab_contracts.registry import by_model
from servicekit import db
from servicekit.broker import ConsumerBatching
from servicekit.config import ConfigError, Settings
from servicekit.consumer import DeadLetter, EventConsumer, Outcome, ReceivedRecord
from tests.contract.samples import sample_payloads

REFUSED = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")


class Transaction:
    def __init__(self, log: list[str]) -> None:
        self._log = log

    async def __aenter__(self) -> None:
        self._log.append("begin")

    async def __aexit__(self, exc_type, exc, tb) -> None:
        self._log.append("rollback" if exc_type else "commit")


class Connection:
    """Every event is new to the inbox; the log gets the transactions' steps."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def transaction(self) -> Transaction:
        return Transaction(self.log)

    async def fetch(self, query: str, event_ids, *columns):  # the inbox's rows, recorded in one statement
        return [{"event_id": event_id} for event_id in event_ids]

    async def fetchval(self, *args):  # the inbox's row of one event, and the probe
        return True

    def is_closed(self) -> bool:
        return False

    def terminate(self) -> None:
        self.log.append("terminate")


class Pool:
    def __init__(self, log: list[str], *, down: bool = False) -> None:
        self.log, self.down = log, down
        self.limits = db.DatabaseLimits()

    @asynccontextmanager
    async def acquire(self):
        if self.down:
            raise REFUSED
        yield Connection(self.log)


def _records(*names: str) -> list[ReceivedRecord]:
    records = []
    for offset, name in enumerate(names):
        payload = sample_payloads()[ProjectSubmitted].model_copy(update={"name": name})
        record = to_kafka_record(new_event(payload))
        records.append(ReceivedRecord(topic=record.topic, partition=0, offset=offset, key=record.key,
                                      value=record.value, headers=record.headers))
    return records


def _consumer(pool: Pool, handler, letters: list[DeadLetter], sleeps: list[float], **options) -> EventConsumer:
    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) >= 3:
            pool.down = False  # the database is back after three pauses

    return EventConsumer(service="assessment", pool=pool, uow_factory=lambda conn: SimpleNamespace(conn=conn),
                         handlers={by_model(ProjectSubmitted).ce_type: handler}, dead_letter=sink, sleep=sleep,
                         backoff_initial=0.01, backoff_max=0.05, **options)


async def test_a_fetch_is_applied_in_one_transaction_and_a_failing_record_is_split_off_and_applied_alone():
    log: list[str] = []
    failing = {"3"}

    async def handler(payload, event, uow) -> None:
        log.append(payload.name)
        if payload.name in failing:
            failing.discard(payload.name)  # fails once: the retry, alone, succeeds
            raise RuntimeError("transient")

    consumer = _consumer(Pool(log), handler, [], [], max_attempts=3)
    outcomes = await consumer.handle_batch(_records("1", "2", "3", "4", "5"))
    assert outcomes == [Outcome.PROCESSED] * 5
    assert log == ["begin", "1", "2", "3", "rollback",  # the fetch together, until the third fails
                   "begin", "1", "2", "commit",  # those before it together again
                   "begin", "3", "commit",  # the failing one alone, its second attempt
                   "begin", "4", "5", "commit"]  # those after it together


async def test_a_record_failing_every_attempt_in_a_fetch_is_dead_lettered_after_its_attempts_and_the_rest_applied():
    log: list[str] = []
    letters: list[DeadLetter] = []

    async def handler(payload, event, uow) -> None:
        log.append(payload.name)
        if payload.name == "2":
            raise RuntimeError("always")

    consumer = _consumer(Pool(log), handler, letters, [], max_attempts=3)
    outcomes = await consumer.handle_batch(_records("1", "2", "3"))
    assert outcomes == [Outcome.PROCESSED, Outcome.DEAD_LETTERED, Outcome.PROCESSED]
    assert log.count("2") == 3  # the attempt inside the fetch counts as the first of three
    [letter] = letters
    assert letter.headers["dlq_attempts"] == "3" and letter.headers["dlq_original_offset"] == "1"


async def test_a_fetch_failing_as_a_whole_on_an_unavailable_database_waits_record_by_record_and_dead_letters_nothing():
    log: list[str] = []
    letters: list[DeadLetter] = []
    sleeps: list[float] = []

    async def handler(payload, event, uow) -> None:
        log.append(payload.name)

    consumer = _consumer(Pool(log, down=True), handler, letters, sleeps, max_attempts=1)
    outcomes = await consumer.handle_batch(_records("1", "2"))
    assert outcomes == [Outcome.PROCESSED, Outcome.PROCESSED] and letters == []
    assert sleeps == [0.01, 0.02, 0.04]  # the one-record way's outage backoff, no attempt counted
    assert log == ["begin", "1", "commit", "begin", "2", "commit"]


def test_the_batch_settings_default_to_500_records_and_100_ms_and_may_be_set_per_service():
    assert ConsumerBatching.from_settings(Settings.from_env({})) == ConsumerBatching(500, 100)
    env = {"SCHULDENLAB_CONSUMER_BATCH_MAX_RECORDS": "500", "SCHULDENLAB_ASSESSMENT_CONSUMER_BATCH_MAX_WAIT_MS": "20"}
    assert ConsumerBatching.from_settings(Settings.from_env(env, service="assessment")) == ConsumerBatching(500, 20)


@pytest.mark.parametrize("raw", ["0", "-1", "many", "1.5", "10001"])
def test_a_batch_size_that_is_not_a_whole_number_from_1_to_10000_stops_the_start_naming_its_variable(raw):
    with pytest.raises(ConfigError, match=f"^SCHULDENLAB_CONSUMER_BATCH_MAX_RECORDS='{raw}': expected a whole"):
        ConsumerBatching.from_settings(Settings.from_env({"SCHULDENLAB_CONSUMER_BATCH_MAX_RECORDS": raw}))
