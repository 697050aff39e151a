"""Submissions per second on POST /v1/projects, and GET /v1/catalogue latency on 10,000 proven projects.

The catalogue runs in this process (its full ASGI app with lifespan: pool, outbox relay publishing to
the broker, consumer) against a real embedded PostgreSQL and a real embedded Tansu broker; requests go
through httpx's ASGI transport, so there is no TCP hop. The 10,000 proven projects are written
directly through the service's own repositories (no outbox rows), then read over the API.

Run: .venv/bin/python -m benchmarks.catalogue_throughput [--submissions N] [--listed N]
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

from catalogue.domain.model import Contact, Dossier, Project, Verdict, submitter_key_digest
from catalogue.service_layer.handlers import catalogue_record
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import platform_topics
from schuldenlab.services import load_definition
from servicekit.service import create_app
from tests.support.harness import service_settings

MUNICIPALITIES = ["Den Haag", "Almelo", "Emmen", "Leiden", "Utrecht", "Schiedam", "Eindhoven", "Almere"]
WORDS = ["jongeren", "schuldeisers", "vroegsignalering", "budgetcoaching", "energiearmoede", "huurachterstand"]


def _dossier(i: int) -> dict:
    data = copy.deepcopy(KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)])
    data["name"] = f"{data['name']} {i}"
    data["summary"] += f" Aanpak rond {WORDS[i % len(WORDS)]}."
    data["origin"]["municipality"] = MUNICIPALITIES[i % len(MUNICIPALITIES)]
    return data


async def _submissions(client: httpx.AsyncClient, count: int, concurrency: int) -> float:
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            response = await client.post("/v1/projects", json=_dossier(i))
            assert response.status_code == 201, response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def _list_directly(runtime, count: int) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    for batch_start in range(0, count, 500):
        async with runtime.transaction() as uow:
            for i in range(batch_start, min(count, batch_start + 500)):
                data = _dossier(100_000 + i)
                contact = data.pop("contact")
                dossier = Dossier(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
                project = Project.submit(dossier, Contact(**contact), now, submitter_key_digest(f"bench-{i}"))
                project.record_verdict(assessment_id=uuid.uuid4(), revision=1, verdict=Verdict.PROVEN,
                                       rationale="Benchmark.", decided_at=now)
                await uow.projects.add(project)
                await uow.catalogue.put(project.id, catalogue_record(project, now).model_dump(mode="json"))
    return time.perf_counter() - started


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
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], statistics.mean(timings), items


async def run(submissions: int, listed: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            EmbeddedPostgres(Path(tmp) / "pg", log_path=Path(tmp) / "pg.log") as pg, \
            EmbeddedKafka(log_path=Path(tmp) / "tansu.log") as kafka:
        await ensure_topics({"bootstrap_servers": kafka.bootstrap_servers}, platform_topics())
        dsn = ensure_database(pg.dsn, "bench_catalogue")
        settings = service_settings(dsn, kafka.bootstrap_servers, Path(tmp))
        app = create_app(load_definition("catalogue"), settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://catalogue") as client:
                print(f"POST /v1/projects, {submissions} submissions (in-process ASGI, embedded PostgreSQL 18 + Tansu)")
                for concurrency in (1, 16):
                    rate = await _submissions(client, submissions, concurrency)
                    print(f"  concurrency {concurrency:>2}: {rate:8.1f} submissions/s")

                seconds = await _list_directly(app.state.runtime, listed)
                print(f"\nlisted {listed} proven projects directly through the repositories in {seconds:.1f} s")
                deep = (await client.get("/v1/catalogue", params={"limit": 100})).json()
                for _ in range(40):  # walk 40 pages in, for a cursor deep into the catalogue
                    deep = (await client.get("/v1/catalogue", params={"limit": 100,
                                                                       "cursor": deep["next_cursor"]})).json()
                cases = {
                    "first page (limit 20)": {},
                    "first page (limit 100)": {"limit": 100},
                    "page 42 by cursor (limit 100)": {"limit": 100, "cursor": deep["next_cursor"]},
                    "phase=awareness": {"phase": "awareness"},
                    "municipality=Emmen": {"municipality": "Emmen"},
                    "q=schuldeisers": {"q": "schuldeisers"},
                    "q=financiele jongeren (no match)": {"q": "financiele jongeren"},
                    "theme=jongeren & q=school": {"theme": "jongeren", "q": "school"},
                }
                print(f"\nGET /v1/catalogue on {listed} proven projects, {rounds} requests each (ms)")
                print(f"  {'query':<32} {'p50':>7} {'p95':>7} {'mean':>7}  items")
                for name, params in cases.items():
                    p50, p95, mean, items = await _latency(client, params, rounds)
                    print(f"  {name:<32} {p50:7.2f} {p95:7.2f} {mean:7.2f}  {items}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--listed", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.submissions, args.listed, args.rounds))


if __name__ == "__main__":
    main()
