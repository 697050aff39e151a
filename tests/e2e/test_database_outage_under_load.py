"""Fault test (issue 11, item 8): the database stopped and restarted under a load of submissions, `up` running.

The platform runs as processes (`schuldenlab up`) on a PostgreSQL server of the test's own, which the
test stops with a fast shutdown and starts again, as an operator restarting the database would; no
service is restarted. While it is down the catalogue answers 503 problems; afterwards every
acknowledged (201) submission is applied exactly once in assessment, nothing is dead-lettered anywhere,
and the catalogue answers 201 again within seconds.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from tests.integration.catalogue.catalogue_support import dossier
from tests.support.kafka import read_to_end
from tests.support.own_postgres import OwnPostgres
from tests.support.platform import SERVICES, Platform

pytestmark = pytest.mark.e2e

SENDERS = 4
UP_BEFORE = 4.0  # seconds of load before the database stops
DOWN_FOR = 4.0
UP_AFTER = 6.0
LIMITS = {"SCHULDENLAB_DATABASE_CONNECT_TIMEOUT": "2", "SCHULDENLAB_DATABASE_ACQUIRE_TIMEOUT": "2",
          "SCHULDENLAB_DATABASE_STATEMENT_TIMEOUT": "2", "SCHULDENLAB_DATABASE_TRANSACTION_TIMEOUT": "4"}


@dataclass
class Tally:
    sent: int = 0
    acknowledged: dict[str, float] = field(default_factory=dict)  # project id -> when its 201 came
    refused: list[float] = field(default_factory=list)  # when each 503 came
    other: list[str] = field(default_factory=list)  # any other answer, or a dropped connection
    slowest: float = 0.0


async def _submit(client: httpx.AsyncClient, tally: Tally, until: float, run: str) -> None:
    """POST /v1/projects one after another until `until`, as project owners would, noting every answer."""
    while time.monotonic() < until:
        tally.sent += 1
        started = time.monotonic()
        try:
            response = await client.post("/v1/projects", json=dossier(tally.sent % 4,
                                                                      name=f"Belasting {run} {tally.sent}"))
        except httpx.TransportError as exc:
            tally.other.append(f"dropped: {type(exc).__name__}")
            continue
        finally:
            tally.slowest = max(tally.slowest, time.monotonic() - started)
        if response.status_code == 201:
            tally.acknowledged[response.json()["id"]] = time.monotonic()
        elif (response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
              and response.headers.get("retry-after")):
            tally.refused.append(time.monotonic())
        else:
            tally.other.append(f"{response.status_code}: {response.text[:200]}")
        await asyncio.sleep(0.02)


async def _rows(dsn: str, query: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return {r["id"]: r["n"] for r in await conn.fetch(query)}
    finally:
        await conn.close()


async def _settled(dsn: str, acknowledged: set[str], timeout: float = 60.0) -> dict[str, int]:
    """Assessment's rounds per project, once every acknowledged submission has one."""
    deadline = time.monotonic() + timeout
    while True:
        rounds = await _rows(dsn, "SELECT project_id::text AS id, count(*) AS n FROM assessment.assessments "
                                  "GROUP BY project_id")
        missing = acknowledged - set(rounds)
        if not missing or time.monotonic() > deadline:
            return rounds
        await asyncio.sleep(0.5)


async def test_the_database_stopped_and_restarted_under_load_loses_nothing_duplicates_nothing_and_recovers(
        tmp_path, capsys):
    with OwnPostgres(tmp_path / "postgres") as postgres:
        dsn = postgres.database("platform")
        platform = Platform(tmp_path / "home", SCHULDENLAB_DATABASE_URL=dsn, **LIMITS)
        try:
            tally, run = Tally(), uuid.uuid4().hex[:6]
            started = time.monotonic()
            async with httpx.AsyncClient(base_url=platform.url("catalogue"), timeout=30) as client:
                load = asyncio.gather(*(_submit(client, tally, started + UP_BEFORE + DOWN_FOR + UP_AFTER, run)
                                        for _ in range(SENDERS)))
                await asyncio.sleep(UP_BEFORE)
                down_at = time.monotonic()
                await asyncio.to_thread(postgres.stop)
                await asyncio.sleep(DOWN_FOR)
                await asyncio.to_thread(postgres.start)
                up_at = time.monotonic()
                await load

            acknowledged = set(tally.acknowledged)
            rounds = await _settled(dsn, acknowledged)
            stored = await _rows(dsn, f"SELECT id::text AS id, 1 AS n FROM catalogue.projects "
                                      f"WHERE dossier->>'name' LIKE 'Belasting {run} %'")
            dead_letters = {s: len(await read_to_end(platform.kafka, f"{s}.dlq.v1")) for s in SERVICES}
        finally:
            platform.stop()
    recovered = [at for at in tally.acknowledged.values() if at > up_at]
    recovery = min(recovered) - up_at if recovered else None
    refused_while_down = [at for at in tally.refused if down_at <= at <= up_at + (recovery or 0) + 1]
    numbers = {
        "sent": tally.sent, "acknowledged": len(acknowledged), "refused with 503": len(tally.refused),
        "other answers": len(tally.other), "stored in catalogue": len(stored),
        "stored unacknowledged": len(set(stored) - acknowledged),
        "applied in assessment": len(acknowledged & set(rounds)),
        "duplicated": sum(n - 1 for p, n in rounds.items() if n > 1),
        "dead-lettered": sum(dead_letters.values()),
        "recovery": f"{recovery:.2f} s" if recovery is not None else "never",
        "slowest answer": f"{tally.slowest:.2f} s",
    }
    with capsys.disabled():
        print(f"\ndatabase stopped for {DOWN_FOR:.0f} s under load: " + ", ".join(f"{k} {v}"
                                                                                for k, v in numbers.items()))
    assert tally.other == [], tally.other[:5]  # no 500, no dropped connection: 201 or an honest 503
    assert len(refused_while_down) > 10 and len(acknowledged) > 50, numbers  # the load really met the outage
    assert acknowledged <= set(stored) and acknowledged <= set(rounds), numbers  # nothing acknowledged lost
    assert numbers["duplicated"] == 0 and numbers["dead-lettered"] == 0, (numbers, dead_letters)
    assert recovery is not None and recovery < 5, numbers  # serving again within seconds, without a restart
    assert tally.slowest < 5, numbers  # every answer within the limits, also while the database was down
