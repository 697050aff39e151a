"""What the runtime tells an operator stays one line, bounded, and free of passwords and payload content."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest

from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import ProjectSubmitted
from schuldenlab_contracts.registry import by_model
from servicekit.consumer import DEAD_LETTER_LINES_PER_MINUTE, DeadLetter, EventConsumer, Outcome, ReceivedRecord
from servicekit.db import masked_url, url_password
from servicekit.loglines import RateLimitedLog, one_line
from tests.contract.samples import sample_payloads


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://bob:s3cret@db.example.nl:5432/schuldenlab", "postgresql://bob:***@db.example.nl:5432/schuldenlab"),
    ("postgres://bob:s3@c/ret@db:5432/x?sslmode=require", "postgres://bob:***@db:5432/x?sslmode=require"),
    ("postgresql://bob@db/x?sslmode=require&password=s3cret", "postgresql://bob@db/x?sslmode=require&password=***"),
    ("bob:s3cret@db/x", "bob:***@db/x"),  # the scheme forgotten: still no password shown
    ("postgresql://bob@db:5432/x", "postgresql://bob@db:5432/x"),  # nothing to hide
], ids=["user-password", "unencoded-at-and-slash", "password-parameter", "no-scheme", "no-password"])
def test_a_database_url_is_shown_with_its_password_masked(url, shown):
    assert masked_url(url) == shown
    assert url_password(url) in (None, "s3cret", "s3@c/ret")
    if url_password(url):
        assert url_password(url) not in masked_url(url)


def test_one_line_keeps_a_quoted_newline_from_forging_a_second_log_line_and_bounds_its_length():
    text = one_line("ce_id: not a UUID: 'x\n2026-01-01 ERROR forged line\x1b[31m'" + "y" * 1000, limit=120)
    assert "\n" not in text and "\x1b" not in text and len(text) == 120 and text.endswith("...")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_rate_limited_log_holds_back_lines_beyond_its_budget_and_says_how_many_on_the_next(caplog):
    clock = Clock()
    limited = RateLimitedLog(logging.getLogger("test.limited"), per_window=3, window=60.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test.limited"):
        logged = [limited.log(logging.WARNING, "record %d", n) for n in range(10)]
        clock.now = 61.0
        limited.log(logging.WARNING, "record %d", 10)
    assert logged == [True, True, True] + [False] * 7
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:2] == ["record 0", "record 1"]
    assert lines[2].startswith("record 2; further such lines are counted, not logged")
    assert lines[3] == "record 10 (7 more such lines were not logged before this one)"


class FakeConnection:
    """Enough of a connection for the inbox to record a first delivery."""

    async def fetchval(self, *args):
        return True

    @asynccontextmanager
    async def transaction(self):
        yield


class FakePool:
    @asynccontextmanager
    async def acquire(self):
        yield FakeConnection()


def _consumer(service, handler, letters, **options) -> EventConsumer:
    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)

    return EventConsumer(service=service, pool=FakePool(), uow_factory=lambda conn: SimpleNamespace(conn=conn),
                         handlers={by_model(ProjectSubmitted).ce_type: handler}, dead_letter=sink, **options)


async def test_a_flood_of_records_breaking_their_contract_logs_one_bounded_line_each_without_payload_content(caplog):
    letters: list[DeadLetter] = []

    async def handler(payload, event, uow) -> None:
        raise AssertionError("the handler was called for an invalid record")

    consumer = _consumer("assessment", handler, letters)
    submitted = sample_payloads()[ProjectSubmitted]
    record = to_kafka_record(new_event(submitted))
    # Valid JSON carrying a contact person, but missing a required field: it breaks the contract.
    broken = b'{"contact": {"name": "Jan Jansen", "email": "jan@example.nl"}}'
    with caplog.at_level(logging.INFO, logger="servicekit.consumer"):
        for offset in range(50):
            outcome = await consumer.handle(ReceivedRecord(topic=record.topic, partition=1, offset=offset,
                                                           key=record.key, value=broken, headers=record.headers))
            assert outcome is Outcome.DEAD_LETTERED
    assert len(letters) == 50  # every record is dead-lettered; only the lines are bounded
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == DEAD_LETTER_LINES_PER_MINUTE
    assert lines[0].startswith(f"assessment: dead-lettered {record.topic}[1]@0 to assessment.dlq.v1: breaks its "
                               "contract: ")
    assert all("\n" not in line and "Jan Jansen" not in line and "jan@example.nl" not in line for line in lines)


async def test_a_handler_failing_every_attempt_is_one_error_line_naming_the_record_not_the_message(caplog):
    letters: list[DeadLetter] = []

    async def handler(payload, event, uow) -> None:
        raise ValueError("cannot reach Jan Jansen at jan@example.nl")

    consumer = _consumer("notifications", handler, letters, max_attempts=3, backoff_initial=0, backoff_max=0)
    record = to_kafka_record(new_event(sample_payloads()[ProjectSubmitted]))
    with caplog.at_level(logging.INFO, logger="servicekit.consumer"):
        outcome = await consumer.handle(ReceivedRecord(topic=record.topic, partition=2, offset=9, key=record.key,
                                                       value=record.value, headers=record.headers))
    assert outcome is Outcome.DEAD_LETTERED
    [letter] = letters
    assert "jan@example.nl" in letter.headers["dlq_error"]  # the error is kept where the operator looks it up
    [line] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    message = line.getMessage()
    assert message.startswith(f"notifications: dead-lettered {record.topic}[2]@9 to notifications.dlq.v1: ")
    assert "failed 3 times (ValueError)" in message and "schuldenlab dlq list notifications" in message
    assert line.exc_info is None and "jan@example.nl" not in message
    assert not any("jan@example.nl" in r.getMessage() for r in caplog.records)
