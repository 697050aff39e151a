"""Ratings of proven projects in the `assessment` schema, and the query of those due for re-assessment."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from assessment.domain.rating import EvidenceLevel, Rating


def _rating(row: asyncpg.Record) -> Rating:
    return Rating(project_id=row["project_id"], assessment_id=row["assessment_id"],
                  evidence_level=EvidenceLevel(row["evidence_level"]), valid_until=row["valid_until"],
                  notice_at=row["notice_at"], reassessment_id=row["reassessment_id"])


class PostgresRatingRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def get(self, project_id: uuid.UUID, *, lock: bool = False) -> Rating | None:
        lock_clause = " FOR UPDATE" if lock else ""
        row = await self._conn.fetchrow(f"SELECT * FROM ratings WHERE project_id = $1{lock_clause}", project_id)
        return _rating(row) if row else None

    async def put(self, r: Rating) -> None:
        await self._conn.execute(
            """INSERT INTO ratings (project_id, assessment_id, evidence_level, valid_until, notice_at, reassessment_id)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (project_id) DO UPDATE SET assessment_id = EXCLUDED.assessment_id,
                   evidence_level = EXCLUDED.evidence_level, valid_until = EXCLUDED.valid_until,
                   notice_at = EXCLUDED.notice_at, reassessment_id = EXCLUDED.reassessment_id""",
            r.project_id, r.assessment_id, r.evidence_level.value, r.valid_until, r.notice_at, r.reassessment_id)

    async def remove(self, project_id: uuid.UUID) -> None:
        await self._conn.execute("DELETE FROM ratings WHERE project_id = $1", project_id)

    async def take_due(self, now: datetime, limit: int) -> list[Rating]:
        """Due ratings, locked until the transaction ends; rows another replica holds are skipped, not waited
        for, so each due rating is handled by one replica and the others go on with the rest."""
        rows = await self._conn.fetch(
            """SELECT * FROM ratings WHERE reassessment_id IS NULL AND notice_at <= $1
               ORDER BY notice_at LIMIT $2 FOR UPDATE SKIP LOCKED""", now, limit)
        return [_rating(r) for r in rows]
