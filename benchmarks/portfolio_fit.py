"""Opening an assessment (ProjectSubmitted applied) with 0, 1,000 and 10,000 proven projects in the portfolio.

What is timed is the assessment's effect of a ProjectSubmitted: its entrypoint handler in one unit of work
on a real embedded PostgreSQL (withdrawal lock, earlier rounds, pre-screen, portfolio fit, insert, commit),
one transaction per event (and, as the consumer applies a fetch, in runs through the batch handler),
without the broker and the inbox (the consumer's own cost, measured by the
consumer benchmarks, is the same at every portfolio size). The anchor is the same path with an empty
portfolio in the same run, its rounds interleaved with those of the other sizes; the ratios are the
throughput at each size over that anchor (issue 13's target: at least 0.5 at 10,000). For contrast the
old fit, scoring the whole portfolio read with one SELECT, is timed at each size too.

The portfolio is generated: each proven project has a name, summary, problem, target group and themes of
words drawn from a 20,000-word vocabulary with Zipf frequencies (a word of rank r weighs 1 / (r + 20)),
in which the words of the known projects (what is submitted) sit at random among the 1,000 most common;
one project in 500 is a reworded copy of a known project, so fits do find similar projects. The submissions
are the four known projects under new names: a run's candidates share their words and similar projects
(the fit reads postings per candidate all the same; a project similar to several comes back once). The projects
are stored through the service's own repository (postings included); then VACUUM ANALYZE, as autovacuum
would do on a portfolio that grew over months.

Run: .venv/bin/python -m benchmarks.portfolio_fit [--sizes 0,1000,10000] [--events N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from assessment.adapters.uow import PostgresAssessmentUnitOfWork
from assessment.domain.dossier import PHASES
from assessment.domain.portfolio import Portfolio, PortfolioProject
from assessment.entrypoints import messages
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab.embedded.postgres import EmbeddedPostgres, ensure_database
from schuldenlab.services import load_definition
from schuldenlab_contracts.cloudevents import new_event
from schuldenlab_contracts.events import ProjectSubmitted
from servicekit import db
from servicekit.service import apply_migrations
from servicekit.uow import transaction

RUN = 100  # submissions per run of the batch handler (a fetch brings up to 500)
SYLLABLES = ("ka", "ver", "geld", "wijk", "huur", "loon", "zorg", "plan", "werk", "bud", "get", "coach", "lijn",
             "stap", "raad", "dienst", "team", "buurt", "thuis", "kas", "fonds", "meld", "punt", "ont", "lers")


class Vocabulary:
    def __init__(self, rng: random.Random) -> None:
        known = sorted({w for p in KNOWN_PROJECTS for w in _words_of(p)})
        synthetic: set[str] = set()
        while len(synthetic) < 20_000 - len(known):
            synthetic.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
        words = sorted(synthetic - set(known))
        rng.shuffle(words)
        for word in known:  # the submitted projects' words: among the 1,000 most common
            words.insert(rng.randrange(1000), word)
        self.words = words
        self.cumulative = list(_cumulative(1 / (rank + 20) for rank in range(len(words))))
        self.rng = rng

    def text(self, count: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))


def _cumulative(weights):
    total = 0.0
    for w in weights:
        total += w
        yield total


def _words_of(submission: dict) -> frozenset[str]:
    return PortfolioProject(project_id=uuid.uuid4(), name=submission["name"], phases=(),
                            summary=submission["summary"], problem=submission["problem"],
                            target_group=submission["target_group"], themes=tuple(submission["themes"])).words()


def _generated(vocabulary: Vocabulary, i: int) -> PortfolioProject:
    rng = vocabulary.rng
    if i % 500 == 499:  # a reworded copy of a known approach
        known = KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)]
        return PortfolioProject(project_id=uuid.uuid4(), name=f"{known['name']} {i}",
                                phases=tuple(known["phases"]), summary=f"{known['summary']} {vocabulary.text(6)}",
                                problem=known["problem"], target_group=known["target_group"],
                                themes=tuple(known["themes"]), proven_at=datetime.now(UTC))
    return PortfolioProject(project_id=uuid.uuid4(), name=vocabulary.text(3),
                            phases=tuple(rng.sample(PHASES, rng.randint(1, 4))), summary=vocabulary.text(25),
                            problem=vocabulary.text(15), target_group=vocabulary.text(5),
                            themes=(vocabulary.text(1), vocabulary.text(1)), proven_at=datetime.now(UTC))


def _submission(i: int) -> ProjectSubmitted:
    data = {k: v for k, v in KNOWN_PROJECTS[i % len(KNOWN_PROJECTS)].items() if k != "contact"}
    return ProjectSubmitted(project_id=uuid.uuid4(), revision=1, submitted_at=datetime.now(UTC),
                            **{**data, "name": f"{data['name']} {i}"})


async def _open_assessments(pool, events: int) -> float:
    """Events per second: each ProjectSubmitted applied in its own transaction, one after the other."""
    payloads = [_submission(i) for i in range(events)]
    started = time.perf_counter()
    for payload in payloads:
        async with transaction(pool, PostgresAssessmentUnitOfWork) as uow:
            await messages.on_project_submitted(payload, new_event(payload), uow)
    return events / (time.perf_counter() - started)


async def _open_in_runs(pool, events: int, run: int = RUN) -> float:
    """Events per second as the consumer applies them: `run` at a time through the batch handler, a transaction
    per run."""
    payloads = [_submission(i) for i in range(events)]
    started = time.perf_counter()
    for start in range(0, events, run):
        async with transaction(pool, PostgresAssessmentUnitOfWork) as uow:
            await messages.on_projects_submitted([(p, new_event(p)) for p in payloads[start:start + run]], uow)
    return events / (time.perf_counter() - started)


async def _whole_portfolio_fits(pool, events: int) -> float:
    """The fit as it was before issue 13: read every proven project, score each one, per event."""
    started = time.perf_counter()
    for i in range(events):
        candidate = PortfolioProject.from_dossier(messages.dossier_of(_submission(i)))
        async with transaction(pool, PostgresAssessmentUnitOfWork) as uow:
            Portfolio(await uow.portfolio.all()).fit(candidate)
    return events / (time.perf_counter() - started)


async def _grow_portfolio(pool, vocabulary: Vocabulary, have: int, want: int) -> None:
    for start in range(have, want, 500):
        async with transaction(pool, PostgresAssessmentUnitOfWork) as uow:
            for i in range(start, min(want, start + 500)):
                await uow.portfolio.put(_generated(vocabulary, i))
    async with pool.acquire() as conn:
        await conn.execute("VACUUM ANALYZE portfolio, portfolio_words, portfolio_phases")


async def run(sizes: list[int], events: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPostgres(Path(tmp) / "pg", log_path=Path(tmp) / "pg.log") as pg:
        # One database per portfolio size, and the rounds interleaved across them: the anchor (empty
        # portfolio) and every size share whatever else this machine is doing at the time.
        pools = {}
        try:
            for size in sorted(sizes):
                dsn = ensure_database(pg.dsn, f"bench_portfolio_{size}")
                await apply_migrations(dsn, load_definition("assessment"))
                pools[size] = await db.create_pool(dsn, "assessment")
                await _grow_portfolio(pools[size], Vocabulary(random.Random(13)), 0, size)
                await _open_assessments(pools[size], max(1, events // 10))  # warm the plans and caches
            print(f"ProjectSubmitted applied (assessment's handler, one transaction per event, embedded PostgreSQL 18),"
                  f" {events} events x {rounds} rounds per portfolio size, interleaved; median of the rounds")
            rates: dict[int, list[float]] = {size: [] for size in pools}
            in_runs: dict[int, list[float]] = {size: [] for size in pools}
            for _ in range(rounds):
                for size, pool in pools.items():
                    rates[size].append(await _open_assessments(pool, events))
                    in_runs[size].append(await _open_in_runs(pool, events))
            anchor, runs_anchor = statistics.median(rates[min(pools)]), statistics.median(in_runs[min(pools)])
            print(f"  {'proven projects':>15} {'events/s':>9} {'ratio to empty':>15} "
                  f"{f'in runs of {RUN}':>15} {'ratio to empty':>15} {'fits/s, whole portfolio':>24}")
            for size, pool in pools.items():
                rate, run_rate = statistics.median(rates[size]), statistics.median(in_runs[size])
                old = await _whole_portfolio_fits(pool, max(2, min(events, 20)))
                print(f"  {size:>15,} {rate:9.1f} {rate / anchor:15.2f} {run_rate:15.1f} {run_rate / runs_anchor:15.2f}"
                      f" {old:24.1f}", flush=True)
        finally:
            for pool in pools.values():
                await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,1000,10000", help="portfolio sizes, comma-separated")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run([int(s) for s in args.sizes.split(",")], args.events, args.rounds))


if __name__ == "__main__":
    main()
