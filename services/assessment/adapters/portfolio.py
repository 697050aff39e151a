"""The portfolio of proven projects in the `assessment` schema, with the index a portfolio fit reads."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import asyncpg

from assessment.domain.dossier import PHASES
from assessment.domain.portfolio import CONTENT_FLOOR, PortfolioProject, alike_phase_sets

_COLUMNS = "project_id, name, phases, summary, problem, target_group, themes, proven_at"
# A project is read when it shares this many of the candidate's rarest words (README: prefix filtering). In
# benchmarks.portfolio_fit at 10,000 projects, 2 returned twice the projects to score; 4 and 5 read more postings.
PREFIX_HITS = 3
_A, _B = CONTENT_FLOOR.numerator, CONTENT_FLOOR.denominator
_PHASE_BITS = {phase: 1 << i for i, phase in enumerate(PHASES)}


def _counts(project: str, as_of: str) -> str:
    """SQL of `rating.counts_in_portfolio`: no rating of the project in `ratings` has run out by `as_of`.

    A probe of the ratings' primary key per project the query keeps, so a fit still costs what its postings cost.
    """
    return f"NOT EXISTS (SELECT 1 FROM ratings AS r WHERE r.project_id = {project} AND r.valid_until <= {as_of})"


def _project(r: asyncpg.Record) -> PortfolioProject:
    return PortfolioProject(project_id=r["project_id"], name=r["name"], phases=tuple(r["phases"]),
                            summary=r["summary"], problem=r["problem"], target_group=r["target_group"],
                            themes=tuple(r["themes"]), proven_at=r["proven_at"])


def _phase_mask(phases: Iterable[str]) -> int | None:
    """The phases as a bit set (migration 0007); None for a phase PHASES does not know (read always)."""
    phases = set(phases)
    return sum(_PHASE_BITS[p] for p in phases) if phases <= _PHASE_BITS.keys() else None


@functools.cache
def _alike_masks(phases: frozenset[str]) -> bytes:
    """Bit m set (for SQL get_bit) for each phase mask m of a project that may be more of the same as a
    candidate with `phases`; bit 0 too, the mask of a project whose phases are not known."""
    bits = bytearray(max(1, (1 << len(PHASES)) // 8))
    bits[0] |= 1
    for alike in alike_phase_sets(phases):
        mask = _phase_mask(alike)
        bits[mask >> 3] |= 1 << (mask & 7)
    return bytes(bits)


# The postings a fit reads, per candidate i of `size` words ranked r = 0, 1, ... from the rarest (fewest
# projects) up. A project of L words can only be more of the same when it shares at least
# need(L) = ceil(A (size + L) / (A + B)) of them (shared / (size + L - shared) >= A / B, CONTENT_FLOOR), so
# it shares at least min(PREFIX_HITS, need(L)) of the rarest size - need(L) + PREFIX_HITS words: a posting
# of the word ranked r is read only for lengths L with need(L) <= size - r + PREFIX_HITS - 1 (and
# need(L) <= L), and only for projects whose phase mask is alike. Projects short of those hits are left out.
_SHORTEST = f"({_A} * c.size + {_B} - 1) / {_B}"  # need(L) <= L
_LONGEST = f"least(c.size - c.r + {PREFIX_HITS} - 1, c.size) * {_A + _B} / {_A} - c.size"
_RESEMBLING = f"""
WITH candidate AS (
    SELECT * FROM unnest($1::integer[], $2::uuid[], $3::integer[], $4::bytea[]) AS x(i, project_id, size, alike)
    WHERE EXISTS (SELECT 1 FROM portfolio_words)),
ranked AS (
    SELECT w.i, w.word, x.size, x.project_id, x.alike,
           row_number() OVER (PARTITION BY w.i ORDER BY coalesce(
               (SELECT n.projects FROM portfolio_word_projects AS n WHERE n.word = w.word), 0), w.word) - 1 AS r
    FROM unnest($5::integer[], $6::text[]) AS w(i, word) JOIN candidate AS x USING (i)),
shared AS (
    SELECT c.i, w.project_id
    FROM ranked AS c
    JOIN portfolio_words AS w ON w.word = c.word AND w.word_count BETWEEN {_SHORTEST} AND {_LONGEST}
     AND get_bit(c.alike, coalesce(w.phase_mask, 0)) = 1 AND w.project_id <> c.project_id
    WHERE {_SHORTEST} <= {_LONGEST}
    GROUP BY c.i, w.project_id
    HAVING count(*) >= least({PREFIX_HITS}, ({_A} * (min(c.size) + min(w.word_count)) + {_A + _B} - 1) / {_A + _B}))
SELECT array_agg(shared.i) AS asked_by, {', '.join(f'p.{c}' for c in _COLUMNS.split(', '))}
FROM shared JOIN portfolio AS p USING (project_id)
WHERE {_counts('p.project_id', '$7')}
GROUP BY p.project_id"""


class PostgresPortfolioRepository:
    """Besides the projects, their word and phase postings (migrations 0004, 0007), written with each project.

    A project whose rating has run out (`ratings.valid_until`, the table the scheduler keeps) stays stored but is
    left out of every read until a `proven` renews the rating; `as_of` None reads as of now.

    A fit asks only two indexed questions: which of the candidate's phases are covered (the first posting
    of each phase), and which projects may share enough of its words (a part of the postings of its own
    words, `_RESEMBLING`, counted before a project row is read). Both cost what the candidate's words and
    their postings cost, not what the portfolio holds; `fit_against` then scores the few that come back.
    """

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._checked_index = False

    async def all(self, *, as_of: datetime | None = None) -> list[PortfolioProject]:
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM portfolio AS p WHERE {_counts('p.project_id', '$1')} ORDER BY name",
            as_of or datetime.now(UTC))
        return [_project(r) for r in rows]

    async def put(self, p: PortfolioProject) -> None:
        words = sorted(p.words())
        # One statement: the project, its postings brought in line with its words and phases now, and the
        # number of projects per word moved by the words it gained and lost (in word order: two writers
        # lock those rows in the same order).
        await self._conn.execute(
            """WITH project AS (
                   INSERT INTO portfolio (project_id, name, phases, summary, problem, target_group, themes,
                                          proven_at, word_count, indexed_phases)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $3)
                   ON CONFLICT (project_id) DO UPDATE
                   SET name = EXCLUDED.name, phases = EXCLUDED.phases, summary = EXCLUDED.summary,
                       problem = EXCLUDED.problem, target_group = EXCLUDED.target_group,
                       themes = EXCLUDED.themes, word_count = EXCLUDED.word_count,
                       indexed_phases = EXCLUDED.indexed_phases,
                       proven_at = COALESCE(EXCLUDED.proven_at, portfolio.proven_at)
                   RETURNING project_id),
               had AS (SELECT word FROM portfolio_words WHERE project_id = $1),
               stale_words AS (
                   DELETE FROM portfolio_words WHERE project_id = $1 AND word <> ALL($10::text[])),
               stale_phases AS (
                   DELETE FROM portfolio_phases WHERE project_id = $1 AND phase <> ALL($3::text[])),
               new_words AS (
                   INSERT INTO portfolio_words (word, project_id, word_count, phase_mask)
                   SELECT word, $1, $9, $11 FROM unnest($10::text[]) AS word
                   ON CONFLICT (word, project_id) DO UPDATE
                   SET word_count = EXCLUDED.word_count, phase_mask = EXCLUDED.phase_mask),
               counted AS (
                   INSERT INTO portfolio_word_projects AS n (word, projects)
                   SELECT word, sum(change) FROM (
                       SELECT word, 1 AS change FROM unnest($10::text[]) AS word
                       WHERE word NOT IN (SELECT word FROM had)
                       UNION ALL SELECT word, -1 FROM had WHERE word <> ALL($10::text[])) AS changed
                   GROUP BY word ORDER BY word
                   ON CONFLICT (word) DO UPDATE SET projects = n.projects + EXCLUDED.projects)
               INSERT INTO portfolio_phases (phase, project_id)
               SELECT DISTINCT phase, $1 FROM unnest($3::text[]) AS phase
               ON CONFLICT (phase, project_id) DO NOTHING""",
            p.project_id, p.name, list(p.phases), p.summary, p.problem, p.target_group, list(p.themes), p.proven_at,
            len(words), words, _phase_mask(p.phases),
        )

    async def remove(self, project_id: uuid.UUID) -> bool:
        # Its postings go with it (ON DELETE CASCADE), and its words count one project less.
        return await self._conn.fetchval(
            """WITH gone AS (DELETE FROM portfolio WHERE project_id = $1 RETURNING project_id),
                    uncounted AS (
                        INSERT INTO portfolio_word_projects AS n (word, projects)
                        SELECT word, -1 FROM portfolio_words WHERE project_id IN (SELECT project_id FROM gone)
                        ORDER BY word
                        ON CONFLICT (word) DO UPDATE SET projects = n.projects + EXCLUDED.projects)
               SELECT count(*) = 1 FROM gone""", project_id)

    async def _index_pending(self) -> None:
        """Index projects stored without (these) postings: before migration 0004 or 0007, or by an older replica.

        Their words come from the domain's tokeniser, which SQL cannot repeat exactly, so this is done here,
        once, before the first fit that needs them; the row locks make a second transaction wait for it.
        """
        if self._checked_index:
            return
        rows = await self._conn.fetch(f"SELECT {_COLUMNS} FROM portfolio WHERE indexed IS NULL FOR UPDATE")
        for row in rows:
            await self.put(_project(row))
        self._checked_index = True

    async def covered_phases(self, candidate: PortfolioProject, *, as_of: datetime | None = None) -> set[str]:
        [covered] = await self.covered_phases_of([candidate], as_of=as_of or datetime.now(UTC))
        return covered

    async def covered_phases_of(self, candidates: Sequence[PortfolioProject], *, as_of: datetime) -> list[set[str]]:
        await self._index_pending()
        asked = [(i, phase, c.project_id) for i, c in enumerate(candidates) for phase in c.phases]
        rows = await self._conn.fetch(
            f"""SELECT c.i, c.phase FROM unnest($1::integer[], $2::text[], $3::uuid[]) AS c(i, phase, project_id)
                WHERE EXISTS (SELECT 1 FROM portfolio_phases AS pp
                              WHERE pp.phase = c.phase AND pp.project_id <> c.project_id
                                AND {_counts('pp.project_id', '$4')})""",
            [i for i, _, _ in asked], [phase for _, phase, _ in asked], [pid for _, _, pid in asked], as_of)
        covered: list[set[str]] = [set() for _ in candidates]
        for row in rows:
            covered[row["i"]].add(row["phase"])
        return covered

    async def resembling(self, candidate: PortfolioProject, *,
                         as_of: datetime | None = None) -> list[PortfolioProject]:
        [similar] = await self.resembling_of([candidate], as_of=as_of or datetime.now(UTC))
        return similar

    async def resembling_of(self, candidates: Sequence[PortfolioProject], *,
                            as_of: datetime) -> list[list[PortfolioProject]]:
        await self._index_pending()
        similar: list[list[PortfolioProject]] = [[] for _ in candidates]
        # A candidate without words or phases shares nothing: no project can be more of the same as it.
        asked = [(i, c) for i, c in enumerate(candidates) if c.phases and c.words()]
        if not asked:
            return similar
        rows = await self._conn.fetch(
            _RESEMBLING, [i for i, _ in asked], [c.project_id for _, c in asked], [len(c.words()) for _, c in asked],
            [_alike_masks(frozenset(c.phases)) for _, c in asked],
            [i for i, c in asked for _ in c.words()], [word for _, c in asked for word in c.words()], as_of)
        # A project once per run, however many candidates it may resemble: its words are worked out once.
        for row in rows:
            project = _project(row)
            for i in row["asked_by"]:
                similar[i].append(project)
        return similar
