"""A database that is down or too slow is told apart from work that fails, in one place, and answered alike everywhere.

Fakes stand in for the pool: a database that refuses connections, one whose statements time out, and
units of work that fail on their own.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from contextlib import asynccontextmanager
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import ProjectSubmitted
from schuldenlab_contracts.registry import by_model
from servicekit import db, problems
from servicekit.config import ConfigError, Settings
from servicekit.consumer import (
    DATABASE_OUTAGE_LINES_PER_MINUTE,
    DATABASE_PATIENCE,
    DatabaseOutage,
    DeadLetter,
    EventConsumer,
    Outcome,
    ReceivedRecord,
)
from servicekit.loglines import RateLimitedLog
from servicekit.outbox import DATABASE_BACKOFF_MAX, OUTAGE_LINES_PER_MINUTE, OutboxRelay
from servicekit.problems import UnexpectedErrors, install_problem_handlers
from tests.contract.samples import sample_payloads

REFUSED = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")


@pytest.mark.parametrize("exc", [
    REFUSED, TimeoutError(), ConnectionResetError(), socket.gaierror(-2, "Name or service not known"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.IdleInTransactionSessionTimeoutError("terminating connection due to idle-in-transaction timeout"),
    asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    db.DatabaseUnavailable("no answer in time"),
], ids=lambda exc: type(exc).__name__)
def test_timeouts_refused_or_broken_connections_and_a_server_that_cannot_serve_mean_the_database_is_unavailable(exc):
    assert db.unavailable(exc)


@pytest.mark.parametrize("exc", [
    asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.CheckViolationError("new row violates check constraint"),
    asyncpg.DeadlockDetectedError("deadlock detected"),
    asyncpg.UndefinedTableError('relation "projects" does not exist'),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    ValueError("bad input"), RuntimeError("a bug"),
], ids=lambda exc: type(exc).__name__)
def test_errors_of_the_work_itself_are_not_taken_for_an_unavailable_database(exc):
    assert not db.unavailable(exc)


def test_the_reason_given_for_an_unavailable_database_quotes_no_statement_or_value():
    leaky = asyncpg.TooManyConnectionsError("too many clients for role \"secret-user\"")
    assert db.describe(leaky) == "TooManyConnectionsError (SQLSTATE 53300)"
    assert db.describe(REFUSED) == "connection refused"
    assert db.describe(asyncpg.QueryCanceledError("x")) == "a statement was cancelled (statement_timeout)"
    assert db.describe(TimeoutError()) == "no answer in time"


def test_the_database_limits_default_to_a_few_seconds_and_may_be_set_per_service():
    assert db.DatabaseLimits.from_settings(Settings.from_env({})) == db.DatabaseLimits(5.0, 5.0, 5.0, 10.0)
    env = {"SCHULDENLAB_DATABASE_STATEMENT_TIMEOUT": "2", "SCHULDENLAB_DATABASE_CONNECT_TIMEOUT": "1.5",
           "SCHULDENLAB_CATALOGUE_DATABASE_STATEMENT_TIMEOUT": "0.5"}
    assert db.DatabaseLimits.from_settings(Settings.from_env(env)) == db.DatabaseLimits(1.5, 5.0, 2.0, 10.0)
    catalogue = Settings.from_env(env, service="catalogue")
    assert db.DatabaseLimits.from_settings(catalogue).statement == 0.5


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf", "9999999"])
def test_a_database_limit_that_is_not_a_positive_number_of_seconds_stops_the_start_naming_its_variable(raw):
    with pytest.raises(ConfigError, match=f"^SCHULDENLAB_DATABASE_ACQUIRE_TIMEOUT='{raw}': expected a number"):
        db.DatabaseLimits.from_settings(Settings.from_env({"SCHULDENLAB_DATABASE_ACQUIRE_TIMEOUT": raw}))


class FakeTransaction:
    def __init__(self, steps: list[str]) -> None:
        self._steps = steps

    async def __aenter__(self) -> None:
        self._steps.append("begin")

    async def __aexit__(self, exc_type, exc, tb) -> None:
        self._steps.append("rollback" if exc_type else "commit")


class FakeConnection:
    """Answers the inbox, the relay's statements and the probe; records begin, commit, rollback, terminate."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.closed = False

    def transaction(self) -> FakeTransaction:
        return FakeTransaction(self.steps)

    def terminate(self) -> None:
        self.steps.append("terminate")
        self.closed = True

    def is_closed(self) -> bool:
        return self.closed

    async def fetchval(self, *args):
        return True

    async def fetch(self, *args):
        return []

    async def fetchrow(self, *args):
        return {"n": 0, "age": None}


class FakePool:
    """A pool whose database refuses every connection while `down`."""

    def __init__(self, *, down: bool = False, transaction_timeout: float = 10.0) -> None:
        self.down = down
        self.steps: list[str] = []
        self.acquired = 0
        self.limits = db.DatabaseLimits(transaction=transaction_timeout)

    @asynccontextmanager
    async def acquire(self):
        self.acquired += 1
        if self.down:
            raise REFUSED
        yield FakeConnection(self.steps)


async def test_a_unit_of_work_commits_when_it_ends_and_rolls_back_its_own_error_keeping_the_connection():
    pool = FakePool()
    async with db.transaction(pool):
        pass
    with pytest.raises(ValueError, match="no such lab"):
        async with db.transaction(pool):
            raise ValueError("no such lab")
    assert pool.steps == ["begin", "commit", "begin", "rollback"]


async def test_a_unit_of_work_whose_server_stops_answering_drops_the_connection_instead_of_asking_for_a_rollback():
    pool = FakePool()
    with pytest.raises(db.DatabaseUnavailable, match="no answer in time"):
        async with db.transaction(pool):
            raise TimeoutError  # what a statement past its command timeout raises
    assert pool.steps == ["begin", "terminate"]


async def test_a_driver_error_on_a_connection_the_server_closed_is_database_unavailable_not_a_failed_rollback():
    pool = FakePool()
    with pytest.raises(db.DatabaseUnavailable, match="connection lost"):
        async with db.transaction(pool) as conn:
            conn.closed = True  # the server ended the session (a fast shutdown, say)
            raise asyncpg.InterfaceError("cannot call Connection.fetchval(): the underlying connection is closed")
    assert pool.steps == ["begin", "terminate"]


async def test_a_unit_of_work_past_its_deadline_ends_with_database_unavailable_at_the_deadline():
    pool = FakePool(transaction_timeout=0.05)
    started = time.monotonic()
    with pytest.raises(db.DatabaseUnavailable, match=r"the unit of work took over 0.05 s"):
        async with db.transaction(pool):
            await asyncio.sleep(5)
    assert time.monotonic() - started < 1
    assert pool.steps == ["begin", "terminate"]


async def test_a_unit_of_work_on_a_database_that_refuses_connections_is_database_unavailable():
    with pytest.raises(db.DatabaseUnavailable, match="connection refused"):
        async with db.transaction(FakePool(down=True)):
            raise AssertionError("the block ran without a connection")


async def _problem_app() -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/unit-of-work")
    async def unit_of_work() -> None:
        async with db.transaction(FakePool(down=True)):
            pass

    @app.get("/pool-used-directly")
    async def pool_used_directly() -> None:
        raise asyncpg.TooManyConnectionsError("sorry, too many clients already")

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    app.add_middleware(UnexpectedErrors)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service")


@pytest.mark.parametrize("path", ["/unit-of-work", "/pool-used-directly"])
async def test_an_unavailable_database_is_answered_503_problem_with_retry_after_and_logged_without_its_message(
        path, caplog, monkeypatch):
    # A budget of its own: the lines other tests of this session logged must not hold this one back.
    monkeypatch.setattr(problems, "_outage_log", RateLimitedLog(logging.getLogger("servicekit.problems")))
    async with await _problem_app() as client:
        with caplog.at_level(logging.WARNING, logger="servicekit.problems"):
            response = await client.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["status"] == 503 and "database" in response.json()["detail"]
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"database unavailable answering GET {path}: ") and "sorry" not in line


async def test_an_error_that_is_not_the_databases_is_still_a_500():
    async with await _problem_app() as client:
        assert (await client.get("/bug")).status_code == 500


def _consumer(pool: FakePool, handler, letters: list[DeadLetter], sleeps: list[float], *, recover_after: int = 0,
              **options) -> EventConsumer:
    """A consumer whose pauses are recorded, not waited; with `recover_after`, the database is back after so many."""

    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if recover_after and len(sleeps) >= recover_after:
            pool.down = False

    return EventConsumer(service="assessment", pool=pool, uow_factory=lambda conn: SimpleNamespace(conn=conn),
                         handlers={by_model(ProjectSubmitted).ce_type: handler}, dead_letter=sink, sleep=sleep,
                         backoff_initial=0.2, backoff_max=5.0, **options)


def _submitted() -> ReceivedRecord:
    record = to_kafka_record(new_event(sample_payloads()[ProjectSubmitted]))
    return ReceivedRecord(topic=record.topic, partition=0, offset=7, key=record.key, value=record.value,
                          headers=record.headers)


async def test_a_database_outage_costs_the_event_no_attempt_and_it_is_applied_once_the_database_is_back():
    pool, letters, sleeps, applied = FakePool(down=True), [], [], []

    async def handler(payload, event, uow) -> None:
        applied.append(event.id)

    consumer = _consumer(pool, handler, letters, sleeps, recover_after=4, max_attempts=1)
    assert await consumer.handle(_submitted()) is Outcome.PROCESSED
    assert len(applied) == 1 and letters == []  # one attempt allowed, yet four failures dead-lettered nothing
    assert sleeps == [0.2, 0.4, 0.8, 1.6]


async def test_an_outage_outlasting_the_patience_gives_the_record_back_without_dead_lettering_it(caplog):
    pool, letters, sleeps = FakePool(down=True), [], []

    async def handler(payload, event, uow) -> None:
        raise AssertionError("applied without a database")

    consumer = _consumer(pool, handler, letters, sleeps, max_attempts=1)
    with caplog.at_level(logging.WARNING, logger="servicekit.consumer"), pytest.raises(DatabaseOutage):
        await consumer.handle(_submitted())
    assert letters == []
    assert max(sleeps) == 5.0 and DATABASE_PATIENCE - 5.0 <= sum(sleeps) <= DATABASE_PATIENCE
    lines = [r.getMessage() for r in caplog.records]
    assert 0 < len(lines) <= DATABASE_OUTAGE_LINES_PER_MINUTE
    assert lines[0].startswith("assessment: the database is unavailable (connection refused); "
                               "catalogue.project-submitted.v1[0]@7 waits")


async def test_a_statement_too_slow_while_the_database_answers_is_the_events_failure_and_is_dead_lettered():
    pool, letters, sleeps = FakePool(), [], []

    async def handler(payload, event, uow) -> None:
        raise asyncpg.QueryCanceledError("canceling statement due to statement timeout")

    consumer = _consumer(pool, handler, letters, sleeps, max_attempts=2)
    assert await consumer.handle(_submitted()) is Outcome.DEAD_LETTERED
    [letter] = letters
    assert letter.headers["dlq_attempts"] == "2" and letter.headers["dlq_error_type"] == "DatabaseUnavailable"
    assert sleeps == []  # no waiting for the database: it answered the probe each time


async def test_the_relay_backs_off_while_the_database_is_unavailable_and_resumes_at_its_poll_interval(caplog):
    async def publish(record) -> None:
        raise AssertionError("nothing to publish")

    pool = FakePool(down=True)
    relay = OutboxRelay(pool, publish, schema="catalogue", poll_interval=0.5)
    with caplog.at_level(logging.INFO, logger="servicekit.outbox"):
        pauses = [await relay._pass() for _ in range(20)]
        pool.down = False
        resumed = await relay._pass()
    assert pauses[:6] == [0.5, 1.0, 2.0, 4.0, DATABASE_BACKOFF_MAX, DATABASE_BACKOFF_MAX]
    assert resumed == 0.5
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == OUTAGE_LINES_PER_MINUTE and all(r.exc_info is None for r in warnings)
    assert warnings[0].getMessage() == ("outbox catalogue: the database is unavailable (connection refused); "
                                        "next pass in 0.5 s")
    assert caplog.records[-1].getMessage().startswith("outbox catalogue: the database answers again after ")


async def test_a_relay_pass_failing_for_another_reason_is_retried_at_the_poll_interval_with_its_traceback(caplog):
    class BrokenPool(FakePool):
        @asynccontextmanager
        async def acquire(self):
            raise RuntimeError("a bug")
            yield

    relay = OutboxRelay(BrokenPool(), lambda record: None, schema="catalogue", poll_interval=0.5)
    with caplog.at_level(logging.ERROR, logger="servicekit.outbox"):
        assert [await relay._pass() for _ in range(3)] == [0.5, 0.5, 0.5]
    assert len(caplog.records) == 3 and all(r.exc_info for r in caplog.records)
