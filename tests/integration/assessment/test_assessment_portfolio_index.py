"""The portfolio's word and phase index on real PostgreSQL gives the same fit as scoring the whole portfolio."""

from __future__ import annotations

import itertools
import random
import uuid
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from assessment.adapters.portfolio import PostgresPortfolioRepository
from assessment.domain.dossier import PHASES
from assessment.domain.portfolio import CONTENT_FLOOR, Portfolio, PortfolioProject, fit_against
from schuldenlab.services import load_definition
from servicekit import db
from servicekit.service import apply_migrations

pytestmark = pytest.mark.integration

# A small vocabulary, so that generated projects often share words and phases: many fits name similar
# projects, many come near the thresholds. Accents and capitals go through the tokeniser like real text.
VOCABULARY = ("jongeren", "schuldeisers", "vroegsignalering", "budgetcoaching", "energiearmoede", "huurachterstand",
              "Financiële", "gemeente", "inkomen", "werkgevers", "saneringskrediet", "buurtteam", "wijkcoach",
              "betalingsregeling", "bewindvoering", "zorgverzekeraar", "woningcorporatie", "studenten",
              "ondernemers", "statushouders", "preventie", "nazorg", "stabilisatie", "uitkering", "toeslagen")
FILLER = ("met", "voor", "de", "het", "schulden", "mensen", "project", "12", "een")  # stop words, digits, short


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCABULARY if rng.random() < 0.7 else FILLER) for _ in range(words))


def _project(rng: random.Random) -> PortfolioProject:
    return PortfolioProject(
        project_id=uuid.uuid4(), name=f"{_text(rng, 2)} {rng.randrange(100)}",
        phases=tuple(rng.sample(PHASES, rng.randint(1, 4))), summary=_text(rng, rng.randint(0, 8)),
        problem=_text(rng, rng.randint(0, 6)), target_group=_text(rng, rng.randint(0, 3)),
        themes=tuple(_text(rng, 1) for _ in range(rng.randint(0, 2))))


@asynccontextmanager
async def _portfolio_repository(dsn: str):
    await apply_migrations(dsn, load_definition("assessment"))
    conn = await db.connect(dsn, "assessment")
    try:
        async with conn.transaction():
            yield conn, PostgresPortfolioRepository(conn)
    finally:
        await conn.close()


async def _indexed_fit(conn, candidate: PortfolioProject):
    repository = PostgresPortfolioRepository(conn)  # a new unit of work's repository
    return fit_against(candidate, await repository.covered_phases(candidate), await repository.resembling(candidate))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_indexed_fit_equals_the_fit_over_the_whole_portfolio(fresh_database, seed):
    rng = random.Random(seed)
    proven = [_project(rng) for _ in range(150)]
    candidates = [_project(rng) for _ in range(60)]
    # Re-assessing a proven project, and a copy of one under another id: both are in the index already.
    candidates += [proven[0], replace(proven[1], project_id=uuid.uuid4()), replace(proven[2], summary="", name="x",
                                                                                  problem="", target_group="",
                                                                                  themes=())]
    async with _portfolio_repository(fresh_database) as (conn, repository):
        for project in proven:
            await repository.put(project)
        whole = Portfolio(await repository.all())
        fetched, similar_found = [], 0
        for candidate in candidates:
            expected = whole.fit(candidate)
            assert await _indexed_fit(conn, candidate) == expected, candidate
            fetched.append(len(await repository.resembling(candidate)))
            similar_found += len(expected.similar)
    # Not vacuous: fits name similar projects, and the index reads far fewer projects than the portfolio.
    assert similar_found >= len(candidates)
    assert sum(fetched) / len(fetched) < len(proven) / 3


async def _put_change_and_remove(repository, proven: list[PortfolioProject], rng: random.Random) -> None:
    """The projects put, then a feed record with new content for every third, then every fourth from the second
    leaving the portfolio (`proven` is updated to the content now stored)."""
    for project in proven:
        await repository.put(project)
    for i in range(0, len(proven), 3):
        proven[i] = replace(_project(rng), project_id=proven[i].project_id)
        await repository.put(proven[i])
    for gone in proven[1::4]:
        assert await repository.remove(gone.project_id)


async def test_the_index_follows_a_project_whose_content_changes_or_that_leaves(fresh_database):
    rng = random.Random(7)
    proven = [_project(rng) for _ in range(40)]
    candidates = [_project(rng) for _ in range(30)]
    async with _portfolio_repository(fresh_database) as (conn, repository):
        await _put_change_and_remove(repository, proven, rng)
        remaining = {p.project_id for p in proven} - {p.project_id for p in proven[1:40:4]}
        assert await conn.fetchval("SELECT count(DISTINCT project_id) FROM portfolio_phases") == len(remaining)
        whole = Portfolio(await repository.all())
        for candidate in candidates:
            assert await _indexed_fit(conn, candidate) == whole.fit(candidate)


async def test_projects_stored_before_the_index_are_indexed_before_the_first_fit(fresh_database):
    rng = random.Random(11)
    proven = [_project(rng) for _ in range(40)]
    async with _portfolio_repository(fresh_database) as (conn, repository):
        for project in proven:
            await repository.put(project)
        # As rows written before migration 0004 (or by an older replica) look: no postings, no word count.
        await conn.execute("DELETE FROM portfolio_words")
        await conn.execute("DELETE FROM portfolio_phases")
        await conn.execute("UPDATE portfolio SET word_count = NULL")
        whole = Portfolio(proven)
        for candidate in [_project(rng) for _ in range(20)]:
            assert await _indexed_fit(conn, candidate) == whole.fit(candidate)
        assert await conn.fetchval("SELECT count(*) FROM portfolio WHERE word_count IS NULL") == 0


async def test_the_fits_of_a_run_asked_at_once_equal_each_fit_over_the_whole_portfolio(fresh_database):
    rng = random.Random(4)
    proven = [_project(rng) for _ in range(150)]
    # A run as a fetch brings it: distinct submissions, a proven project again, and one without words or phases.
    candidates = [_project(rng) for _ in range(40)] + [proven[3], replace(proven[4], phases=(), name="x", summary="",
                                                                          problem="", target_group="", themes=())]
    async with _portfolio_repository(fresh_database) as (_, repository):
        for project in proven:
            await repository.put(project)
        whole = Portfolio(await repository.all())
        as_of = datetime.now(UTC)
        covered = await repository.covered_phases_of(candidates, as_of=as_of)
        resembling = await repository.resembling_of(candidates, as_of=as_of)
    fits = [fit_against(c, phases, similar) for c, phases, similar in zip(candidates, covered, resembling, strict=True)]
    assert fits == [whole.fit(candidate) for candidate in candidates]
    assert sum(len(fit.similar) for fit in fits) >= len(candidates) // 2  # not vacuous: the run finds similar ones


def _word(kind: str, i: int) -> str:
    return kind + "".join(chr(ord("a") + i // 26 ** k % 26) for k in range(3))  # letters only: the tokeniser's


def _least_shared(size: int, length: int) -> int:
    """The fewest words a project of `length` words must share with one of `size` to pass CONTENT_FLOOR (0: none)."""
    return next((o for o in range(1, min(size, length) + 1) if Fraction(o, size + length - o) >= CONTENT_FLOOR), 0)


async def test_projects_near_the_thresholds_sharing_the_candidates_most_common_words_are_found(fresh_database):
    """What the index leaves unread are the candidate's most common words: projects sharing exactly those, as
    few as the bound allows (or one fewer), of every length and with phases just alike or not, fit the same."""
    rng = random.Random(21)
    common = [_word("gw", i) for i in range(40)]
    fresh = (_word("fw", i) for i in itertools.count())
    # Filler projects make the common words common (the first ones most), so they rank last in every candidate.
    proven = [PortfolioProject(project_id=uuid.uuid4(), name=" ".join(rng.sample(common, 25) + list(
        itertools.islice(fresh, rng.randint(0, 30)))), phases=tuple(rng.sample(PHASES, rng.randint(1, 4))))
        for _ in range(60)]
    candidates, near = [], []
    for _ in range(70):
        size = rng.randint(1, 30)
        words = rng.sample(common[:20], min(size, rng.randint(0, 20)))
        words += list(itertools.islice(fresh, size - len(words)))
        phases = tuple(rng.sample(PHASES, 2))
        candidate = PortfolioProject(project_id=uuid.uuid4(), name=" ".join(words), phases=phases)
        for _ in range(3):
            length = rng.randint(1, 60)
            least = _least_shared(size, length)
            if not least:
                continue
            shared = min(size, length, max(1, least + rng.choice([-1, 0, 0, 1])))
            # The words shared are the candidate's most common ones: the last the index would read.
            ranked = sorted(words, key=lambda w: common.index(w) if w in common else len(common))
            other = rng.choice([phases, phases[:1], (phases[0], next(p for p in PHASES if p not in phases))])
            near.append(PortfolioProject(project_id=uuid.uuid4(), phases=other, name=" ".join(
                ranked[:shared] + list(itertools.islice(fresh, length - shared)))))
        candidates.append(candidate)
    async with _portfolio_repository(fresh_database) as (conn, repository):
        for project in proven + near:
            await repository.put(project)
        whole = Portfolio(await repository.all())
        as_of = datetime.now(UTC)
        covered = await repository.covered_phases_of(candidates, as_of=as_of)
        resembling = await repository.resembling_of(candidates, as_of=as_of)
        for candidate, phases, similar in zip(candidates, covered, resembling, strict=True):
            assert fit_against(candidate, phases, similar) == whole.fit(candidate), candidate
            assert await _indexed_fit(conn, candidate) == whole.fit(candidate)  # one at a time, too
    # Not vacuous: many near projects are more of the same, many just miss it (content or phases).
    found = {s.project_id for c in candidates for s in whole.fit(c).similar}
    assert 0.3 * len(near) < len({p.project_id for p in near} & found) < 0.8 * len(near)


async def test_the_word_counts_follow_puts_and_removes(fresh_database):
    rng = random.Random(8)
    proven = [_project(rng) for _ in range(40)]
    async with _portfolio_repository(fresh_database) as (conn, repository):
        await _put_change_and_remove(repository, proven, rng)
        assert not await repository.remove(proven[1].project_id)  # gone already
        counts = await conn.fetch("SELECT word, projects FROM portfolio_word_projects WHERE projects <> 0")
        postings = await conn.fetch("SELECT word, count(*) AS projects FROM portfolio_words GROUP BY word")
        assert sorted(map(tuple, counts)) == sorted(map(tuple, postings)) and postings


async def test_projects_indexed_before_the_phase_masks_or_changed_by_an_older_replica_are_indexed_again(
        fresh_database):
    rng = random.Random(12)
    proven = [_project(rng) for _ in range(60)]
    candidates = [_project(rng) for _ in range(30)]
    async with _portfolio_repository(fresh_database) as (conn, repository):
        for project in proven:
            await repository.put(project)
        # As migration 0007 leaves rows stored before it: postings without a phase mask, phases not indexed;
        # and postings an older replica wrote for the others (no mask: read for every candidate).
        await conn.execute("UPDATE portfolio_words SET phase_mask = NULL")
        await conn.execute("UPDATE portfolio SET indexed_phases = NULL WHERE project_id = ANY($1)",
                           [p.project_id for p in proven[:30]])
        # An older replica's put: other phases, its postings' masks left as they were.
        for i in range(30, 60, 2):
            proven[i] = replace(proven[i], phases=tuple(rng.sample(PHASES, rng.randint(1, 4))))
            await conn.execute("UPDATE portfolio SET phases = $2 WHERE project_id = $1", proven[i].project_id,
                               list(proven[i].phases))
        whole = Portfolio(proven)
        for candidate in candidates:
            assert await _indexed_fit(conn, candidate) == whole.fit(candidate)
        assert await conn.fetchval("SELECT count(*) FROM portfolio WHERE indexed IS NULL") == 0
        indexed_again = [p.project_id for p in proven[:30] + proven[30:60:2]]
        assert await conn.fetchval("SELECT count(*) FROM portfolio_words WHERE phase_mask IS NULL"
                                   " AND project_id = ANY($1)", indexed_again) == 0
