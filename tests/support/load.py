"""A steady load of submissions, and the ledger that checks every acknowledged one arrived exactly once."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import asyncpg
import httpx

from tests.integration.catalogue.catalogue_support import dossier
from tests.support.kafka import read_topic

SUBMITTED = "catalogue.project-submitted.v1"

MEASURED: list[str] = []  # what fault tests and the Apache Kafka tier measured; the root conftest prints it


def measure(line: str) -> None:
    MEASURED.append(line)


@dataclass
class Ledger:
    """Acknowledged submissions (HTTP 201: committed with their outbox row) and when each arrived downstream."""

    acknowledged: dict[str, float] = field(default_factory=dict)  # project id -> monotonic time of the 201
    refused: int = 0
    applied: dict[str, float] = field(default_factory=dict)  # project id -> first seen in assessment

    def recovery_after(self, fault_at: float) -> float | None:
        """The longest a submission acknowledged after the fault waited to be applied downstream.

        Conservative: it counts the wait of the partitions the fault stalled, not of those it never touched.
        """
        waits = [self.applied[p] - at for p, at in self.acknowledged.items() if at >= fault_at and p in self.applied]
        return max(waits) if waits else None

    def worst_latency(self) -> float:
        return max((self.applied[p] - at for p, at in self.acknowledged.items() if p in self.applied), default=0.0)


async def submit_steadily(client, ledger: Ledger, *, seconds: float, per_second: float = 10.0,
                          until: asyncio.Event | None = None) -> None:
    """POST /v1/projects at a steady rate, as project owners would, for `seconds` (or until `until` is set).

    An answer other than 201, or none at all (the service is down), counts as refused: not acknowledged.
    """
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < seconds and not (until and until.is_set()):
        n += 1
        body = dossier(n % 4, name=f"Belastingproject {n} {uuid.uuid4().hex[:6]}")
        try:
            response = await client.post("/v1/projects", json=body)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 201:
            ledger.acknowledged[response.json()["id"]] = time.monotonic()
        else:
            ledger.refused += 1
        await asyncio.sleep(max(0.0, started + n / per_second - time.monotonic()))


async def watch_assessment(dsn: str, ledger: Ledger, stop: asyncio.Event) -> None:
    """Note when each project first shows up in assessment's database (polled every 100 ms)."""
    conn = await asyncpg.connect(dsn)
    try:
        while not stop.is_set():
            for row in await conn.fetch("SELECT DISTINCT project_id::text AS id FROM assessment.assessments"):
                ledger.applied.setdefault(row["id"], time.monotonic())
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def assessment_counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT project_id::text AS id, count(*) AS n FROM assessment.assessments "
                                "GROUP BY project_id")
        return {r["id"]: r["n"] for r in rows}
    finally:
        await conn.close()


async def settle(ledger: Ledger, assessment_dsn: str, timeout: float = 120.0) -> dict[str, int]:
    """Wait until every acknowledged submission is in assessment; return each project's round count."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await assessment_counts(assessment_dsn)
        missing = set(ledger.acknowledged) - set(counts)
        if not missing:
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(missing)} of {len(ledger.acknowledged)} acknowledged submissions never "
                                 f"reached assessment within {timeout} s")
        await asyncio.sleep(0.5)


async def topic_tally(endpoint, ledger: Ledger) -> tuple[int, int]:
    """(acknowledged submissions missing from the topic, duplicate records on it) after the run."""
    records = await read_topic(endpoint, SUBMITTED, expect=len(ledger.acknowledged), timeout=60)
    keys = [r.key.decode() for r in records]
    return len(set(ledger.acknowledged) - set(keys)), len(keys) - len(set(keys))


@dataclass(frozen=True)
class Outcome:
    acknowledged: int
    lost: int  # acknowledged, never applied by assessment
    duplicate_effects: int  # applied more than once
    missing_on_topic: int
    duplicate_records: int  # the same submission twice on the topic (the inbox keeps effects single anyway)


def report(name: str, ledger: Ledger, counts: dict[str, int], missing_on_topic: int, duplicates_on_topic: int,
           recovery: float | None) -> Outcome:
    """Print the fault's numbers (the closing note quotes them) and return them for the assertions."""
    outcome = Outcome(
        acknowledged=len(ledger.acknowledged),
        lost=len(set(ledger.acknowledged) - set(counts)),
        duplicate_effects=sum(n - 1 for p, n in counts.items() if p in ledger.acknowledged and n > 1),
        missing_on_topic=missing_on_topic, duplicate_records=duplicates_on_topic,
    )
    recovered = f"{recovery:.1f} s" if recovery is not None else "n/a"
    measure(f"{name}: {outcome.acknowledged} acknowledged, {ledger.refused} refused; lost {outcome.lost}, "
            f"duplicate effects {outcome.duplicate_effects}; on the topic: missing {outcome.missing_on_topic}, "
            f"duplicate records {outcome.duplicate_records}; recovery {recovered}; "
            f"worst end-to-end latency {ledger.worst_latency():.1f} s")
    return outcome

