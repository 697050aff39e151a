"""The portfolio of proven projects in the `assessment` schema, with the index a portfolio fit reads."""

from __future__ import annotations

import uuid

import asyncpg

from assessment.domain.portfolio import CONTENT_FLOOR, PortfolioProject

_COLUMNS = "project_id, name, phases, summary, problem, target_group, themes, proven_at"


def _project(r: asyncpg.Record) -> PortfolioProject:
    return PortfolioProject(project_id=r["project_id"], name=r["name"], phases=tuple(r["phases"]),
                            summary=r["summary"], problem=r["problem"], target_group=r["target_group"],
                            themes=tuple(r["themes"]), proven_at=r["proven_at"])


class PostgresPortfolioRepository:
    """Besides the projects, their word and phase postings (migration 0004), written with each project.

    A fit asks only two indexed questions: which of the candidate's phases are covered (the first posting
    of each phase), and which projects share enough of its words (the postings of its own words, grouped
    and bounded by CONTENT_FLOOR before a project row is read). Both cost what the candidate's words and
    their postings cost, not what the portfolio holds; `fit_against` then scores the few that come back.
    """

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._checked_index = False

    async def all(self) -> list[PortfolioProject]:
        rows = await self._conn.fetch(f"SELECT {_COLUMNS} FROM portfolio ORDER BY name")
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

    async def covered_phases(self, candidate: PortfolioProject) -> set[str]:
        await self._index_pending()
        rows = await self._conn.fetch(
            """SELECT c.phase FROM unnest($1::text[]) AS c(phase)
               WHERE EXISTS (SELECT 1 FROM portfolio_phases AS pp
                             WHERE pp.phase = c.phase AND pp.project_id <> $2)""",
            list(candidate.phases), candidate.project_id)
        return {r["phase"] for r in rows}

    async def resembling(self, candidate: PortfolioProject) -> list[PortfolioProject]:
        await self._index_pending()
        words = sorted(candidate.words())
        if not words or not candidate.phases:
            return []  # no overlap of words or phases, nothing can be more of the same
        # shared / (|candidate| + |project| - shared) >= CONTENT_FLOOR, in integers: nothing rounds a
        # project out that the domain would keep. Sharing a phase is needed for a phase overlap of 0.5.
        rows = await self._conn.fetch(
            f"""SELECT {', '.join(f'p.{c}' for c in _COLUMNS.split(', '))}
                FROM (SELECT project_id FROM portfolio_words
                      WHERE word = ANY($1::text[]) AND project_id <> $2
                      GROUP BY project_id, word_count
                      HAVING $4 * count(*) >= $3 * ($5 + word_count - count(*))) AS shared
                JOIN portfolio AS p USING (project_id)
                WHERE p.phases && $6::text[]""",
            words, candidate.project_id, CONTENT_FLOOR.numerator, CONTENT_FLOOR.denominator, len(words),
            list(candidate.phases))
        return [_project(r) for r in rows]
