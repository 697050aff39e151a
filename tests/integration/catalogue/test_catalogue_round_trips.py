"""The statements a submission and a catalogue page send to PostgreSQL (issue 13), counted with asyncpg's query logger.

Not a timing: each statement is a round trip, and the benchmark (benchmarks/catalogue_throughput.py) showed them to
be a large part of a request's cost; this keeps a later change from adding one back unnoticed.
"""

from __future__ import annotations

import contextvars

import pytest

from servicekit import db
from tests.integration.catalogue.catalogue_support import CONTACT, dossier
from tests.support.harness import running_service, service_settings

pytestmark = pytest.mark.integration

_RECORDING: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("recording", default=None)
# asyncpg's own reset when a connection goes back to the pool, whatever the work was.
_POOL_RESET = "SELECT pg_advisory_unlock_all()"


@pytest.fixture
def statements(monkeypatch):
    """The statements sent while a test records them (`with recording() as sent:`), from every pool connection."""
    init = db._init_connection

    async def logged(conn):
        await init(conn)
        # The logger runs with the context of the task that sent the statement: only the recording request's count.
        conn.add_query_logger(lambda query: (sent := _RECORDING.get()) is not None and sent.append(query.query))

    monkeypatch.setattr(db, "_init_connection", logged)

    class Recording:
        def __enter__(self) -> list[str]:
            self.sent: list[str] = []
            self.token = _RECORDING.set(self.sent)
            return self.sent

        def __exit__(self, *_) -> None:
            _RECORDING.reset(self.token)

    return Recording


def _work(sent: list[str]) -> list[str]:
    return [" ".join(q.split()[:5]) for q in sent if not q.startswith(_POOL_RESET)]


async def test_a_submission_is_four_statements_with_its_contact_and_event_and_a_page_is_one(
        fresh_database, fresh_kafka, tmp_path, statements):
    async with running_service("catalogue", service_settings(fresh_database, fresh_kafka, tmp_path)) as catalogue:
        client, pool = catalogue.client, catalogue.app.state.runtime.pool
        await client.post("/v1/projects", json=dossier(1))  # the statements' first use: type introspection
        with statements() as sent:
            response = await client.post("/v1/projects", json=dossier(0))
        assert response.status_code == 201, response.text
        assert _work(sent) == ["BEGIN;", "WITH project AS ( INSERT", "WITH appended AS ( INSERT", "COMMIT;"]
        # All of it stored, in the one transaction: the project, its contact, and its event in the outbox.
        project_id = response.json()["id"]
        async with pool.acquire() as conn:
            contact = await conn.fetchrow("SELECT name, email FROM contacts WHERE project_id = $1::uuid", project_id)
            events = await conn.fetchval("SELECT count(*) FROM outbox WHERE key = $1", project_id)
        assert dict(contact) == CONTACT
        assert events == 1

        with statements() as sent:
            response = await client.get("/v1/catalogue")
        assert response.status_code == 200, response.text
        assert [q.split()[0] for q in _work(sent)] == ["SELECT"]  # no BEGIN or COMMIT around one read
