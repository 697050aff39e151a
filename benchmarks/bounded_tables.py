"""Bounded tables and pages (issue 13): list pages that cost the same at any depth, and retention in bounded batches.

Pages: `GET /v1/assessments?status=open` through the assessment service's full ASGI app (lifespan, token check,
the current portfolio fit of each open round) on a real embedded PostgreSQL and Tansu, at 1,000 and 10,000 rounds,
a third of them open. A few rounds are opened through the service's own handler; the rest are copies of them made
in SQL (generate_series), each with its own id and moment. The first page and a page from the middle of the list
(its cursor made from the middle round) are requested alternately; the ratio is the middle page's p99 over the
first page's p99 in the same run (keyset pages: about 1 at any depth and size; an OFFSET grows with the depth).
Beside them the bytes of one page and of all pages together: what the endpoint answered in one response before
issue 13 (39.7 MB at 15k rounds there).

Retention: published outbox rows older than the setting (and a tenth as many unpublished ones, which stay) in
the catalogue's schema; a pass of the runtime's retention job (batches of 1,000 rows) beside the anchor, one
bare `DELETE ... WHERE created_at < cutoff AND NOT EXISTS (still owed)` of the same rows in an identical copy,
rows per second each, and the ratio (the job's pause between batches left out); and the slowest batch of the
pass, the longest any other statement may wait behind retention, beside the bare statement's whole duration.

Run: .venv/bin/python -m benchmarks.bounded_tables [--sizes 1000,10000] [--requests N] [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from assessment.entrypoints import messages
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import platform_topics
from schuldenlab.services import load_definition
from schuldenlab_contracts.cloudevents import new_event
from schuldenlab_contracts.events import ProjectSubmitted
from servicekit import db, pagination, retention
from servicekit.config import Settings
from servicekit.service import apply_migrations, create_app
from tests.support.harness import auth, service_settings

BOARD = auth("board", "bench")

# Copies of the rounds opened through the handler: the same dossier, pre-screen and fit under a new id and project,
# one millisecond apart, every third one open.
COPY_ROUNDS = """
INSERT INTO assessments (id, project_id, revision, status, dossier, prescreen, fit, opened_at)
SELECT gen_random_uuid(), gen_random_uuid(), 1, CASE WHEN i % 3 = 0 THEN 'open' ELSE 'superseded' END,
       t.dossier, t.prescreen, t.fit, $3::timestamptz + make_interval(secs => i / 1000.0)
FROM generate_series($1::bigint, $2::bigint) AS i
JOIN LATERAL (SELECT * FROM assessments ORDER BY opened_at LIMIT 1) AS t ON true
"""

OLD_OUTBOX = """
INSERT INTO outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload, created_at)
SELECT gen_random_uuid(), 'catalogue.project-submitted.v1', 'k' || (i % 97), 'nl.schuldenlab.project.submitted.v1',
       '/schuldenlab/catalogue', now(), json_build_object('n', i), now() - interval '30 days'
FROM generate_series(1, $1::bigint) AS i
"""
# All but every eleventh row published: no longer owed (migration 0008).
PUBLISHED = """
DELETE FROM outbox_pending AS p USING outbox AS o WHERE o.seq = p.seq AND (o.payload ->> 'n')::bigint % 11 <> 0
"""
OWED = "EXISTS (SELECT 1 FROM outbox_pending AS p WHERE p.seq = outbox.seq)"


def _p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100, method="inclusive")[98] if len(timings) > 1 else timings[0]


async def _open_templates(runtime, count: int) -> None:
    for i in range(count):
        data = {k: v for k, v in KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)].items() if k != "contact"}
        payload = ProjectSubmitted(project_id=uuid.uuid4(), revision=1, submitted_at=datetime.now(UTC), **data)
        async with runtime.transaction() as uow:
            await messages.on_project_submitted(payload, new_event(payload), uow)


async def _grow(runtime, have: int, want: int) -> None:
    async with runtime.pool.acquire() as conn:
        start = await conn.fetchval("SELECT max(opened_at) FROM assessments")
        for first in range(have, want, 10_000):  # chunks: each statement stays within the pool's timeout
            await conn.execute(COPY_ROUNDS, first, min(want, first + 10_000) - 1, start)
        await conn.execute("ANALYZE assessments")


async def _timed(client: httpx.AsyncClient, params: dict) -> tuple[float, int]:
    started = time.perf_counter()
    response = await client.get("/v1/assessments", params=params, headers=BOARD)
    took = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return took, len(response.content)


async def _pages(runtime, client: httpx.AsyncClient, size: int, requests: int) -> None:
    middle = await runtime.pool.fetchrow(
        "SELECT opened_at, id FROM assessments WHERE status = 'open' ORDER BY opened_at, id OFFSET $1 LIMIT 1",
        size // 6)
    deep = {"status": "open", "cursor": pagination.encode("as1", middle["opened_at"], middle["id"])}
    first_page = {"status": "open"}
    for _ in range(max(1, requests // 10)):  # warm the plan caches
        await _timed(client, first_page)
        await _timed(client, deep)
    first, middle_ms, page_bytes = [], [], 0
    for _ in range(requests):
        took, page_bytes = await _timed(client, first_page)
        first.append(took)
        middle_ms.append((await _timed(client, deep))[0])
    total, pages, cursor = 0, 0, None
    while True:  # every open round, as the endpoint answered in one response before pages
        response = await client.get("/v1/assessments", headers=BOARD,
                                    params={"status": "open", "limit": pagination.MAX_LIMIT,
                                            **({"cursor": cursor} if cursor else {})})
        total += len(response.content)
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    print(f"  {size:>7,} {statistics.median(first):13.2f} {_p99(first):12.2f} {_p99(middle_ms):13.2f} "
          f"{_p99(middle_ms) / _p99(first):6.2f} {page_bytes / 1024:10.1f} {total / 1024 / 1024:12.2f} ({pages} pages)",
          flush=True)


async def run_pages(sizes: list[int], requests: int, tmp: Path, pg: EmbeddedPostgres, kafka: EmbeddedKafka) -> None:
    dsn = ensure_database(pg.dsn, "bench_assessment_pages")
    app = create_app(load_definition("assessment"), service_settings(dsn, kafka.bootstrap_servers, tmp))
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        templates = min(len(KNOWN_PROJECTS), min(sizes))
        await _open_templates(runtime, templates)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://assessment") as client:
            print(f"GET /v1/assessments?status=open (in-process ASGI, embedded PostgreSQL 18, pages of "
                  f"{pagination.DEFAULT_LIMIT}), {requests} requests per case, first and middle page alternating; "
                  "ratio = middle page's p99 / first page's p99")
            print(f"  {'rounds':>7} {'first p50 ms':>13} {'first p99 ms':>12} {'middle p99 ms':>13} {'ratio':>6} "
                  f"{'page KiB':>10} {'all pages MiB':>12}")
            have = templates
            for size in sorted(sizes):
                await _grow(runtime, have, size)
                have = size
                await _pages(runtime, client, size, requests)


async def _outbox_pool(dsn: str, rows: int) -> db.Pool:
    await apply_migrations(dsn, load_definition("catalogue"))
    pool = await db.create_pool(dsn, "catalogue")
    async with pool.acquire() as conn:
        await conn.execute(OLD_OUTBOX, rows)
        await conn.execute(PUBLISHED)
        await conn.execute("VACUUM ANALYZE outbox")
    return pool


async def run_retention(rows: int, pg: EmbeddedPostgres) -> None:
    job_pool = await _outbox_pool(ensure_database(pg.dsn, "bench_retention_job"), rows)
    bare_pool = await _outbox_pool(ensure_database(pg.dsn, "bench_retention_bare"), rows)
    try:
        due = await job_pool.fetchval(f"SELECT count(*) FROM outbox WHERE NOT {OWED}")
        plan = retention.plan(Settings.from_env({}), "catalogue")
        batches: list[float] = []
        [outbox] = [rule for rule in plan.rules if rule.purge.name == "outbox"]
        timed = retention.Purge(outbox.purge.name, outbox.purge.table, outbox.purge.default_days,
                                _timing(outbox.purge.delete_batch, batches))
        # Without the pause between batches (BATCH_PAUSE): it is room left for other work, not work.
        job = retention.RetentionJob(job_pool, "catalogue", retention.RetentionPlan((retention.Rule(timed, 7),), 60),
                                     pause=0)
        started = time.perf_counter()
        deleted = (await job.purge_once())["outbox"]
        job_seconds = time.perf_counter() - started
        async with bare_pool.acquire() as conn:
            await conn.execute("SET statement_timeout = 0")  # the anchor is one statement of any length
            started = time.perf_counter()
            bare = await conn.execute(
                f"DELETE FROM outbox WHERE created_at < clock_timestamp() - interval '7 days' AND NOT {OWED}")
            bare_seconds = time.perf_counter() - started
        assert deleted == due == retention.deleted_rows(bare), (deleted, due, bare)
        kept = await job_pool.fetchval("SELECT count(*) FROM outbox")
        print(f"\nRetention of published outbox rows (embedded PostgreSQL 18): {deleted:,} due, {kept:,} unpublished "
              "kept")
        print(f"  {'':<34} {'rows/s':>10} {'ratio':>6} {'slowest statement ms':>21}")
        print(f"  {'bare DELETE (one statement)':<34} {deleted / bare_seconds:10,.0f} {1:6.2f} "
              f"{bare_seconds * 1000:21.1f}")
        print(f"  {f'retention job ({len(batches)} batches)':<34} {deleted / job_seconds:10,.0f} "
              f"{bare_seconds / job_seconds:6.2f} {max(batches) * 1000:21.1f}", flush=True)
    finally:
        await job_pool.close()
        await bare_pool.close()


def _timing(delete_batch, batches: list[float]):
    async def timed(conn, days, limit):
        started = time.perf_counter()
        counts = await delete_batch(conn, days, limit)
        batches.append(time.perf_counter() - started)
        return counts
    return timed


async def run(sizes: list[int], requests: int, rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            EmbeddedPostgres(Path(tmp) / "pg", log_path=Path(tmp) / "pg.log") as pg, \
            EmbeddedKafka(log_path=Path(tmp) / "tansu.log") as kafka:
        await ensure_topics({"bootstrap_servers": kafka.bootstrap_servers}, platform_topics())
        await run_pages(sizes, requests, Path(tmp), pg, kafka)
        await run_retention(rows, pg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="assessment rounds, comma-separated")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rows", type=int, default=200_000, help="outbox rows for the retention case")
    args = parser.parse_args()
    asyncio.run(run([int(s) for s in args.sizes.split(",")], args.requests, args.rows))


if __name__ == "__main__":
    main()
