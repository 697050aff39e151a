"""Assessments in the `assessment` schema."""

from __future__ import annotations

import uuid

import asyncpg

from assessment.domain.model import Assessment, AssessmentStatus


def _assessment(row: asyncpg.Record) -> Assessment:
    return Assessment(id=row["id"], project_id=row["project_id"], revision=row["revision"],
                      project_name=row["project_name"], phases=tuple(row["phases"]),
                      status=AssessmentStatus(row["status"]), opened_at=row["opened_at"])


class PostgresAssessmentRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, a: Assessment) -> None:
        await self._conn.execute(
            """INSERT INTO assessments (id, project_id, revision, project_name, phases, status, opened_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            a.id, a.project_id, a.revision, a.project_name, list(a.phases), a.status.value, a.opened_at,
        )

    async def latest_for_project(self, project_id: uuid.UUID) -> Assessment | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM assessments WHERE project_id = $1 ORDER BY revision DESC LIMIT 1", project_id)
        return _assessment(row) if row else None

    async def for_revision(self, project_id: uuid.UUID, revision: int) -> Assessment | None:
        row = await self._conn.fetchrow(
            "SELECT * FROM assessments WHERE project_id = $1 AND revision = $2", project_id, revision)
        return _assessment(row) if row else None
