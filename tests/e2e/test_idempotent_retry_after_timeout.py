"""Fault test (issue 11, item 8): a client that times out and retries POST /v1/projects with the same
Idempotency-Key creates one project, against the catalogue running as its own process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.integration.catalogue.catalogue_support import dossier
from tests.support.catalogue_process import running_catalogue

pytestmark = pytest.mark.e2e


@pytest.fixture
def catalogue_url(fresh_database: str, fresh_kafka: str, tmp_path: Path):
    """`schuldenlab run catalogue`, as a container runs it; its URL once it is ready."""
    with running_catalogue(fresh_database, fresh_kafka, tmp_path) as url:
        yield url


async def test_a_client_that_times_out_and_retries_with_its_key_creates_one_project(catalogue_url: str,
                                                                                    fresh_database: str):
    headers = {"Idempotency-Key": "c3a1f0de-7d0b-4a52-9d1e-5b8f1f6f2a10"}
    db = await asyncpg.connect(fresh_database)
    try:
        # The database is slow: the submission waits on a lock while the client's patience runs out.
        slow = db.transaction()
        await slow.start()
        await db.execute("LOCK TABLE catalogue.projects IN EXCLUSIVE MODE")
        async with httpx.AsyncClient(base_url=catalogue_url, timeout=httpx.Timeout(10, read=1.0)) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/v1/projects", json=dossier(), headers=headers)
        # The client has given up and closed its connection; the server is still at it. Its retry is told so.
        async with httpx.AsyncClient(base_url=catalogue_url, timeout=10) as client:
            early = await client.post("/v1/projects", json=dossier(), headers=headers)
            assert early.status_code == 409, early.text
            assert early.headers["retry-after"] == "1"

            await slow.commit()  # the database recovers; the first request completes on the server
            for _ in range(100):  # the client retries until it has its answer (sooner than Retry-After asks)
                answer = await client.post("/v1/projects", json=dossier(), headers=headers)
                if answer.status_code != 409:
                    break
                await asyncio.sleep(0.1)
            assert answer.status_code == 201, answer.text
            assert answer.headers["idempotent-replayed"] == "true"  # the first request's answer, not a new one

        projects = await db.fetch("SELECT id FROM catalogue.projects")
        assert [str(p["id"]) for p in projects] == [answer.json()["id"]]
        assert await db.fetchval("SELECT count(*) FROM catalogue.outbox WHERE ce_type = $1",
                                 "nl.schuldenlab.project.submitted.v1") == 1
    finally:
        await db.close()
