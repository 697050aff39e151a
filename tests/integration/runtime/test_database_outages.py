"""A sick database gets a fast, honest answer: 503 problems with Retry-After within the limits, and recovery by itself.

The database is a server of the test's own, stopped, frozen (SIGSTOP) and started again from outside;
the service is not restarted in between.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.catalogue.catalogue_support import dossier
from tests.support.harness import auth, running_service, service_settings
from tests.support.own_postgres import OwnPostgres

pytestmark = pytest.mark.integration

# Two seconds for everything, so the bounds below are the configured ones, not the defaults.
LIMITS = {"SCHULDENLAB_DATABASE_CONNECT_TIMEOUT": "2", "SCHULDENLAB_DATABASE_ACQUIRE_TIMEOUT": "2",
          "SCHULDENLAB_DATABASE_STATEMENT_TIMEOUT": "2", "SCHULDENLAB_DATABASE_TRANSACTION_TIMEOUT": "4"}
# The statement limit plus the client's grace (servicekit.db.CLIENT_GRACE), and a margin for a slow machine.
BOUND = 5.0


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[OwnPostgres]:
    with OwnPostgres(tmp_path / "postgres") as server:
        yield server


def _is_unavailable_problem(response) -> bool:
    return (response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
            and response.headers.get("retry-after") == "5" and "database" in response.json()["detail"])


async def _timed(request):
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def test_a_database_refusing_connections_gets_503_problems_at_once_and_the_service_recovers_by_itself(
        own_postgres, fresh_kafka, tmp_path, capsys):
    settings = service_settings(own_postgres.database("platform"), fresh_kafka, tmp_path, **LIMITS)
    async with running_service("catalogue", settings) as catalogue:
        created = await catalogue.client.post("/v1/projects", json=dossier(0))
        assert created.status_code == 201, created.text
        project = f"/v1/projects/{created.json()['id']}"

        own_postgres.stop()
        read, read_took = await _timed(catalogue.client.get(project, headers=auth("operator")))
        write, write_took = await _timed(catalogue.client.post("/v1/projects", json=dossier(1)))
        ready, ready_took = await _timed(catalogue.client.get("/health/ready"))
        assert _is_unavailable_problem(read), (read.status_code, read.headers, read.text)
        assert _is_unavailable_problem(write), (write.status_code, write.headers, write.text)
        assert max(read_took, write_took) < BOUND, (read_took, write_took)
        assert ready.status_code == 503 and ready_took < BOUND
        assert ready.json()["checks"] == {"database": "failing: connection refused", "broker": "ok"}
        with capsys.disabled():
            print(f"\nrefusing database: 503 to a read in {read_took:.3f} s, to a submission in {write_took:.3f} s, "
                  f"readiness 503 in {ready_took:.3f} s")

        own_postgres.start()
        # The same service, not restarted: the pool drops the connections the restart broke and makes new ones.
        again = await catalogue.client.get(project, headers=auth("operator"))
        assert again.status_code == 200, again.text
        assert (await catalogue.client.post("/v1/projects", json=dossier(1))).status_code == 201
        assert (await catalogue.client.get("/health/ready")).status_code == 200


async def test_a_frozen_database_gets_503_problems_within_the_limits_instead_of_a_hang(
        own_postgres, fresh_kafka, tmp_path, capsys):
    settings = service_settings(own_postgres.database("platform"), fresh_kafka, tmp_path, **LIMITS)
    async with running_service("catalogue", settings) as catalogue:
        created = await catalogue.client.post("/v1/projects", json=dossier(0))
        assert created.status_code == 201, created.text
        project = f"/v1/projects/{created.json()['id']}"

        own_postgres.freeze()
        try:
            # More at once than the pool has connections: those that wait for one are bounded too. The
            # test's own bound turns a hang into a failure (and a thawed server).
            async with asyncio.timeout(30):
                answers = await asyncio.gather(
                    *(_timed(catalogue.client.get(project, headers=auth("operator"))) for _ in range(8)),
                    *(_timed(catalogue.client.post("/v1/projects", json=dossier(1))) for _ in range(8)),
                    _timed(catalogue.client.get("/health/ready")))
        finally:
            own_postgres.thaw()
        *requests, (ready, ready_took) = answers
        with capsys.disabled():
            print(f"\nfrozen database: {len(requests)} requests, each 503 within {max(t for _, t in requests):.2f} s "
                  f"(statement timeout 2 s); readiness 503 in {ready_took:.2f} s")
        for response, took in requests:
            assert _is_unavailable_problem(response), (response.status_code, response.text)
            assert took < BOUND, took
        assert ready.status_code == 503 and ready_took < BOUND, (ready.text, ready_took)
        assert ready.json()["checks"]["database"] == "failing: no answer within 2 s"

        assert (await catalogue.client.get(project, headers=auth("operator"))).status_code == 200
        assert (await catalogue.client.post("/v1/projects", json=dossier(1))).status_code == 201
        assert (await catalogue.client.get("/health/ready")).status_code == 200
