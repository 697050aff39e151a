"""Catalogue HTTP throughput over TCP beside a bare FastAPI + asyncpg anchor: POST /v1/projects and GET /v1/catalogue.

The catalogue runs as `schuldenlab run catalogue` runs it (uvicorn on uvloop and httptools, its access log, its
outbox relay publishing to the broker, its consumer) in a subprocess, against a real embedded PostgreSQL and a
real embedded Tansu broker. Beside it, in another subprocess on the same database, the bare anchor of
benchmarks/http_bench.py: no middleware, one route per path, one INSERT per POST, and for GET the very SELECT
of the catalogue's first page. 16 httpx clients (one connection each) drive both the same way, in interleaved
rounds; each line is the median over the rounds, and the ratio is the catalogue's requests/s over the anchor's.
Clients on 127.0.0.1 are exempt from the submission limit (SCHULDENLAB_RATE_LIMIT_EXEMPT's default).

Then the proven projects are written directly through the service's own repositories (no outbox rows), and
GET /v1/catalogue is measured the same way beside the anchor, and its filters one client at a time.

Run: .venv/bin/python -m benchmarks.catalogue_throughput [--submissions N] [--listed N] [--rounds N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks.http_bench import CONCURRENCY, drive, postmaster, start_server, stop_server
from catalogue.adapters.uow import PostgresCatalogueUnitOfWork
from catalogue.domain.model import Contact, Dossier, Project, Verdict, submitter_key_digest
from catalogue.service_layer.handlers import catalogue_record
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import platform_topics
from servicekit import db, uow

MUNICIPALITIES = ["Den Haag", "Almelo", "Emmen", "Leiden", "Utrecht", "Schiedam", "Eindhoven", "Almere"]
WORDS = ["jongeren", "schuldeisers", "vroegsignalering", "budgetcoaching", "energiearmoede", "huurachterstand"]
APPS = ("catalogue", "bare")


def _dossier(i: int) -> dict:
    data = copy.deepcopy(KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)])
    data["name"] = f"{data['name']} {i}"
    data["summary"] += f" Aanpak rond {WORDS[i % len(WORDS)]}."
    data["origin"]["municipality"] = MUNICIPALITIES[i % len(MUNICIPALITIES)]
    return data


async def _submit(client: httpx.AsyncClient, i: int) -> None:
    response = await client.post("/v1/projects", json=_dossier(i))
    assert response.status_code == 201, response.text


async def _first_page(client: httpx.AsyncClient, _: int) -> None:
    response = await client.get("/v1/catalogue")
    assert response.status_code == 200, response.text
    assert response.json()["items"], "the first page is empty"


async def _list_directly(pool, count: int) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    for batch_start in range(0, count, 500):
        async with uow.transaction(pool, PostgresCatalogueUnitOfWork) as work:
            for i in range(batch_start, min(count, batch_start + 500)):
                data = _dossier(100_000 + i)
                contact = data.pop("contact")
                dossier = Dossier(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
                project = Project.submit(dossier, Contact(**contact), now, submitter_key_digest(f"bench-{i}"))
                project.record_verdict(assessment_id=uuid.uuid4(), revision=1, verdict=Verdict.PROVEN,
                                       rationale="Benchmark.", decided_at=now)
                await work.projects.add(project)
                await work.catalogue.put(project.id, catalogue_record(project, now).model_dump(mode="json"))
    return time.perf_counter() - started


async def _side_by_side(title: str, urls: dict[str, str], pids: dict[str, int], call, count: int,
                        rounds: int) -> None:
    """Interleaved rounds (the order alternating), medians per app, and the ratio to the anchor."""
    results: dict[str, list[tuple[float, ...]]] = {name: [] for name in APPS}
    await drive(urls["catalogue"], call, min(count, 200))  # warm both: plans, pools, connections
    await drive(urls["bare"], call, min(count, 200))
    for r in range(rounds):
        for name in APPS if r % 2 == 0 else APPS[::-1]:
            watch = {"app": [pids[name]], "postgres": [pids["postgres"]]}
            results[name].append(await drive(urls[name], call, count, watch=watch))
    medians = {name: [statistics.median(x[i] for x in runs) for i in range(5)] for name, runs in results.items()}
    ratios = [c[0] / b[0] for c, b in zip(results["catalogue"], results["bare"], strict=True)]
    print(f"\n{title}: {CONCURRENCY} clients over TCP, {rounds} interleaved rounds of {count}, medians")
    print(f"  {'app':<26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req: app':>16} {'postgres':>9}")
    for name, label in (("catalogue", "catalogue"), ("bare", "bare FastAPI + asyncpg")):
        rate, p50, p99, app_cpu, pg_cpu = medians[name]
        print(f"  {label:<26} {rate:8.1f} {p50:8.2f} {p99:8.2f} {app_cpu:16.2f} {pg_cpu:9.2f}")
    print(f"  ratio to bare (req/s): {medians['catalogue'][0] / medians['bare'][0]:.2f} "
          f"(per round: {', '.join(f'{x:.2f}' for x in ratios)}); "
          f"p99 ratio {medians['catalogue'][2] / medians['bare'][2]:.2f}", flush=True)


async def _latency(client: httpx.AsyncClient, params: dict, rounds: int) -> tuple[float, float, float, int]:
    timings = []
    items = 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = await client.get("/v1/catalogue", params=params)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        items = len(response.json()["items"])
    timings.sort()
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)], statistics.mean(timings), items


async def _filters(url: str, rounds: int) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        deep = (await client.get("/v1/catalogue", params={"limit": 100})).json()
        for _ in range(40):  # walk up to 40 pages in, for a cursor deep into the catalogue
            if deep["next_cursor"] is None:
                break
            deep = (await client.get("/v1/catalogue", params={"limit": 100, "cursor": deep["next_cursor"]})).json()
        cases = {
            "first page (limit 20)": {},
            "first page (limit 100)": {"limit": 100},
            "deep page by cursor (limit 100)": {"limit": 100, **({"cursor": deep["next_cursor"]}
                                                                 if deep["next_cursor"] else {})},
            "phase=awareness": {"phase": "awareness"},
            "municipality=Emmen": {"municipality": "Emmen"},
            "q=schuldeisers": {"q": "schuldeisers"},
            "q=financiele jongeren (no match)": {"q": "financiele jongeren"},
            "theme=jongeren & q=school": {"theme": "jongeren", "q": "school"},
        }
        print(f"\nGET /v1/catalogue filters, one client over TCP, {rounds} requests each (ms)")
        print(f"  {'query':<32} {'p50':>7} {'p95':>7} {'mean':>7}  items")
        for name, params in cases.items():
            p50, p95, mean, items = await _latency(client, params, rounds)
            print(f"  {name:<32} {p50:7.2f} {p95:7.2f} {mean:7.2f}  {items}")


async def run(submissions: int, listed: int, rounds: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            EmbeddedPostgres(Path(tmp) / "pg", log_path=Path(tmp) / "pg.log") as pg, \
            EmbeddedKafka(log_path=Path(tmp) / "tansu.log") as kafka:
        await ensure_topics({"bootstrap_servers": kafka.bootstrap_servers}, platform_topics())
        dsn = ensure_database(pg.dsn, "bench_catalogue")
        log = Path(tmp) / "servers.log"
        servers = []
        try:
            # The catalogue first: it migrates the schema the anchor's SELECT reads.
            catalogue, catalogue_url = await start_server("catalogue", dsn, log, kafka.bootstrap_servers, tmp,
                                                          ready_path="/health/live")
            servers.append(catalogue)
            async with httpx.AsyncClient(base_url=catalogue_url) as client:
                await _submit(client, 0)  # migrations done once this has answered
            bare, bare_url = await start_server("bare", dsn, log)
            servers.append(bare)
            urls = {"catalogue": catalogue_url, "bare": bare_url}
            pids = {"catalogue": catalogue.pid, "bare": bare.pid, "postgres": postmaster(Path(tmp) / "pg")}
            print("catalogue (servicekit.runner.serve) and a bare FastAPI + asyncpg app, each its own uvicorn process "
                  "(uvloop, httptools); embedded PostgreSQL 18 + Tansu")
            await _side_by_side("POST /v1/projects", urls, pids, _submit, submissions, rounds)

            pool = await db.create_pool(dsn, "catalogue")
            try:
                seconds = await _list_directly(pool, listed)
                await pool.execute("ANALYZE catalogue_listings")
            finally:
                await pool.close()
            print(f"\nlisted {listed} proven projects directly through the repositories in {seconds:.1f} s")
            await _side_by_side(f"GET /v1/catalogue (first page, limit 20; {listed} listed)", urls, pids, _first_page,
                                requests, rounds)
            await _filters(catalogue_url, max(2, requests // 20))
        finally:
            for process in servers:
                stop_server(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000, help="POSTs per app per round")
    parser.add_argument("--listed", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, help="GETs per app per round (twice --submissions)")
    args = parser.parse_args()
    asyncio.run(run(args.submissions, args.listed, args.rounds, args.requests or 2 * args.submissions))


if __name__ == "__main__":
    main()
