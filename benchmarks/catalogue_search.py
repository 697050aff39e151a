"""GET /v1/catalogue?q= latency beside the first page's, at 1,000, 10,000 and 100,000 listed projects.

The catalogue runs in this process (its full ASGI app with lifespan, as in catalogue_throughput) against
a real embedded PostgreSQL and Tansu; requests go through httpx's ASGI transport. A few projects are listed
through the service's own repositories; the rest are copies of them made in SQL (generate_series), each
with its own id, place, name and search vector (the same expression as the repository's), so reaching
100,000 takes seconds. Every sixth listing names one of six common words in its summary; every listing
has a marker word that 20 of 100,000 share (a rare term). After loading, ANALYZE, as autovacuum would.

Each case's requests alternate with requests for the first page (no filter, limit 20), so both see the
same conditions; the ratio is the case's p99 over the first page's p99 in the same run (issue 13's
target for `q=` at 100,000: within 2x).

Run: .venv/bin/python -m benchmarks.catalogue_search [--sizes 1000,10000,100000] [--requests N]
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

COMMON = ("jongeren", "schuldeisers", "vroegsignalering", "budgetcoaching", "energiearmoede", "huurachterstand")
MARKERS = 5_000  # listing i carries the marker "kenmerk{i % MARKERS}": 20 listings each at 100,000

# Copies of the listings made through the repository: the same public record under a new id, name and
# place, and the search vector computed as the repository computes it (adapters/catalogue.py).
COPY = """
INSERT INTO catalogue_listings (project_id, listed_seq, record, phases, theme_keys, municipality_keys, search)
SELECT copy.id, i, copy.record, t.phases, t.theme_keys, t.municipality_keys,
       setweight(to_tsvector('dutch', dutch_search_text(copy.record->>'name')), 'A')
       || setweight(to_tsvector('dutch', dutch_search_text(copy.record->>'summary')), 'B')
       || setweight(to_tsvector('dutch', dutch_search_text((copy.record->>'problem') || E'\\n'
                                                           || (copy.record->>'results'))), 'C')
FROM generate_series($1::bigint, $2::bigint) AS i
JOIN LATERAL (SELECT * FROM catalogue_listings WHERE listed_seq = 1 + i % $3) AS t ON true
CROSS JOIN LATERAL (
    SELECT gen_random_uuid() AS id,
           t.record || jsonb_build_object(
               'name', (t.record->>'name') || ' ' || i,
               'summary', (t.record->>'summary') || ' Aanpak rond ' || ($4::text[])[1 + i % 6]
                          || ', kenmerk' || (i % $5))
           || jsonb_build_object('project_id', gen_random_uuid()) AS record
) AS copy
"""


async def _list_templates(runtime, count: int) -> None:
    """`count` projects proven and listed through the service's repositories (outbox and change log too)."""
    now = datetime.now(UTC)
    async with runtime.transaction() as uow:
        for i in range(count):
            data = copy.deepcopy(KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)])
            data["name"] = f"{data['name']} {i}"
            contact = data.pop("contact")
            dossier = Dossier(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
            project = Project.submit(dossier, Contact(**contact), now, submitter_key_digest(f"bench-{i}"))
            project.record_verdict(assessment_id=uuid.uuid4(), revision=1, verdict=Verdict.PROVEN,
                                   rationale="Benchmark.", decided_at=now)
            await uow.projects.add(project)
            await uow.catalogue.put(project.id, catalogue_record(project, now).model_dump(mode="json"))


async def _grow(runtime, templates: int, have: int, want: int) -> None:
    async with runtime.pool.acquire() as conn:
        first = await conn.fetchval("SELECT coalesce(max(listed_seq), 0) + 1 FROM catalogue_listings")
        last = first + (want - have) - 1
        for start in range(first, last + 1, 10_000):  # chunks: each statement stays within the pool's timeout
            await conn.execute(COPY, start, min(last, start + 9_999), templates, list(COMMON), MARKERS)
        await conn.execute("ANALYZE catalogue_listings")


async def _p(client: httpx.AsyncClient, params: dict, rounds: int) -> tuple[list[float], list[float]]:
    """Timings (ms) of `params` and of the first page, requested alternately."""
    case, first = [], []
    for _ in range(rounds):
        for params_, timings in ((params, case), ({}, first)):
            started = time.perf_counter()
            response = await client.get("/v1/catalogue", params=params_)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return case, first


def _p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100, method="inclusive")[98] if len(timings) > 1 else timings[0]


async def run(sizes: list[int], requests: int) -> None:
    templates = min(len(KNOWN_PROJECTS) * 2, min(sizes))
    with tempfile.TemporaryDirectory() as tmp, \
            EmbeddedPostgres(Path(tmp) / "pg", log_path=Path(tmp) / "pg.log") as pg, \
            EmbeddedKafka(log_path=Path(tmp) / "tansu.log") as kafka:
        await ensure_topics({"bootstrap_servers": kafka.bootstrap_servers}, platform_topics())
        dsn = ensure_database(pg.dsn, "bench_catalogue_search")
        app = create_app(load_definition("catalogue"), service_settings(dsn, kafka.bootstrap_servers, Path(tmp)))
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            await _list_templates(runtime, templates)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://catalogue") as client:
                have = templates
                print(f"GET /v1/catalogue (in-process ASGI, embedded PostgreSQL 18), {requests} requests per case, "
                      "each alternating with a first-page request; ratio = p99 / first page's p99")
                for size in sorted(sizes):
                    await _grow(runtime, templates, have, size)
                    have = size
                    rare = f"kenmerk{(MARKERS - 1) % size}"
                    cases = {
                        f"q={rare} (rare)": {"q": rare},
                        "q=onbekendwoord (no match)": {"q": "onbekendwoord"},
                        "q=financiele jongeren (no match)": {"q": "financiele jongeren"},
                        "q=schuldeisers (1 in 6)": {"q": "schuldeisers"},
                        "q=schuldeisers, limit 100": {"q": "schuldeisers", "limit": 100},
                    }
                    listed = f"{size:,} listed"
                    print(f"\n  {listed:<34} {'p50 ms':>7} {'p99 ms':>7} {'first page p99':>15} {'ratio':>6}  items")
                    for name, params in cases.items():
                        await _p(client, params, max(1, requests // 10))  # warm the plan caches
                        case, first = await _p(client, params, requests)
                        items = len((await client.get("/v1/catalogue", params=params)).json()["items"])
                        print(f"  {name:<34} {statistics.median(case):7.2f} {_p99(case):7.2f} {_p99(first):15.2f} "
                              f"{_p99(case) / _p99(first):6.2f}  {items}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="catalogue sizes, comma-separated")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run([int(s) for s in args.sizes.split(",")], args.requests))


if __name__ == "__main__":
    main()
