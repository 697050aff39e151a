"""The portfolio of proven projects in the `assessment` schema, with the index a portfolio fit reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from assessment.domain.portfolio import CONTENT_FLOOR, PortfolioProject

_COLUMNS = "project_id, name, phases, summary, problem, target_group, themes, proven_at"
RESEMBLING_PER_STATEMENT = 20  # benchmarks.portfolio_fit: 10 to 25 did alike at 10,000 proven projects


def _counts(project: str, as_of: str) -> str:
    """SQL of `rating.counts_in_portfolio`: no rating of the project in `ratings` has run out by `as_of`.

    A probe of the ratings' primary key per project the query keeps, so a fit still costs what its postings cost.
    """
    return f"NOT EXISTS (SELECT 1 FROM ratings AS r WHERE r.project_id = {project} AND r.valid_until <= {as_of})"


def _project(r: asyncpg.Record) -> PortfolioProject:
    return PortfolioProject(project_id=r["project_id"], name=r["name"], phases=tuple(r["phases"]),
                            summary=r["summary"], problem=r["problem"], target_group=r["target_group"],
                            themes=tuple(r["themes"]), proven_at=r["proven_at"])


class PostgresPortfolioRepository:
    """Besides the projects, their word and phase postings (migration 0004), written with each project.

    A project whose rating has run out (`ratings.valid_until`, the table the scheduler keeps) stays stored but is
    left out of every read until a `proven` renews the rating; `as_of` None reads as of now.

    A fit asks only two indexed questions: which of the candidate's phases are covered (the first posting
    of each phase), and which projects share enough of its words (the postings of its own words, grouped
    and bounded by CONTENT_FLOOR before a project row is read). Both cost what the candidate's words and
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
        # One statement: the project, and its postings brought in line with its words and phases now.
        await self._conn.execute(
            """WITH project AS (
                   INSERT INTO portfolio (project_id, name, phases, summary, problem, target_group, themes,
                                          proven_at, word_count)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   ON CONFLICT (project_id) DO UPDATE
                   SET name = EXCLUDED.name, phases = EXCLUDED.phases, summary = EXCLUDED.summary,
                       problem = EXCLUDED.problem, target_group = EXCLUDED.target_group,
                       themes = EXCLUDED.themes, word_count = EXCLUDED.word_count,
                       proven_at = COALESCE(EXCLUDED.proven_at, portfolio.proven_at)
                   RETURNING project_id),
               stale_words AS (
                   DELETE FROM portfolio_words WHERE project_id = $1 AND word <> ALL($10::text[])),
               stale_phases AS (
                   DELETE FROM portfolio_phases WHERE project_id = $1 AND phase <> ALL($3::text[])),
               new_words AS (
                   INSERT INTO portfolio_words (word, project_id, word_count)
                   SELECT word, $1, $9 FROM unnest($10::text[]) AS word
                   ON CONFLICT (word, project_id) DO UPDATE SET word_count = EXCLUDED.word_count)
               INSERT INTO portfolio_phases (phase, project_id)
               SELECT DISTINCT phase, $1 FROM unnest($3::text[]) AS phase
               ON CONFLICT (phase, project_id) DO NOTHING""",
            p.project_id, p.name, list(p.phases), p.summary, p.problem, p.target_group, list(p.themes), p.proven_at,
            len(words), words,
        )

    async def remove(self, project_id: uuid.UUID) -> bool:
        # Its postings go with it (ON DELETE CASCADE).
        return await self._conn.execute("DELETE FROM portfolio WHERE project_id = $1", project_id) == "DELETE 1"

    async def _index_pending(self) -> None:
        """Index projects stored without postings (before migration 0004, or by an older replica meanwhile).

        Their words come from the domain's tokeniser, which SQL cannot repeat exactly, so this is done here,
        once, before the first fit that needs them; the row locks make a second transaction wait for it.
        """
        if self._checked_index:
            return
        rows = await self._conn.fetch(f"SELECT {_COLUMNS} FROM portfolio WHERE word_count IS NULL FOR UPDATE")
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
        similar: list[list[PortfolioProject]] = []
        # A few candidates per statement: the postings of a run's words, grouped per candidate and project, then
        # stay within the server's work_mem (100 at once spilled to disk at 10,000 proven projects).
        for start in range(0, len(candidates), RESEMBLING_PER_STATEMENT):
            similar += await self._resembling_of(candidates[start:start + RESEMBLING_PER_STATEMENT], as_of)
        return similar

    async def _resembling_of(self, candidates: Sequence[PortfolioProject],
                             as_of: datetime) -> list[list[PortfolioProject]]:
        # A candidate without words or phases shares nothing: no project can be more of the same as it.
        words = [(i, word, c.project_id, len(c.words())) for i, c in enumerate(candidates) if c.phases
                 for word in c.words()]
        phases = [(i, phase) for i, c in enumerate(candidates) for phase in c.phases]
        # Per candidate: shared / (|candidate| + |project| - shared) >= CONTENT_FLOOR, in integers: nothing
        # rounds a project out that the domain would keep. Sharing a phase is needed for a phase overlap of 0.5.
        rows = await self._conn.fetch(
            f"""SELECT shared.i, {', '.join(f'p.{c}' for c in _COLUMNS.split(', '))}
                FROM (SELECT c.i, w.project_id
                      FROM unnest($1::integer[], $2::text[], $3::uuid[], $4::integer[])
                           AS c(i, word, candidate_id, word_count)
                      JOIN portfolio_words AS w ON w.word = c.word AND w.project_id <> c.candidate_id
                      GROUP BY c.i, c.word_count, w.project_id, w.word_count
                      HAVING $6 * count(*) >= $5 * (c.word_count + w.word_count - count(*))) AS shared
                JOIN portfolio AS p USING (project_id)
                WHERE EXISTS (SELECT 1 FROM unnest($7::integer[], $8::text[]) AS cp(i, phase)
                              WHERE cp.i = shared.i AND cp.phase = ANY(p.phases))
                  AND {_counts('p.project_id', '$9')}""",
            [w[0] for w in words], [w[1] for w in words], [w[2] for w in words], [w[3] for w in words],
            CONTENT_FLOOR.numerator, CONTENT_FLOOR.denominator, [i for i, _ in phases], [ph for _, ph in phases],
            as_of)
        similar: list[list[PortfolioProject]] = [[] for _ in candidates]
        for row in rows:
            similar[row["i"]].append(_project(row))
        return similar
