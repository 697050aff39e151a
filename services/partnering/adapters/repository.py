"""Partnering's replica of the catalogue feed in the `partnering` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from partnering.domain.model import WITHDRAWN, CatalogueEntry


class PostgresCatalogueReplica:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def upsert(self, e: CatalogueEntry) -> None:
        # Only a newer feed record replaces the entry (in one statement, so no read-then-write race).
        await self._conn.execute(
            """INSERT INTO catalogue_replica (project_id, name, status, revision, as_of, phases, evidence_level)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (project_id) DO UPDATE
                  SET name = EXCLUDED.name, status = EXCLUDED.status, revision = EXCLUDED.revision,
                      as_of = EXCLUDED.as_of, phases = EXCLUDED.phases, evidence_level = EXCLUDED.evidence_level
                WHERE catalogue_replica.as_of < EXCLUDED.as_of""",
            e.project_id, e.name, e.status, e.revision, e.as_of, list(e.phases), e.evidence_level,
        )

    async def withdraw(self, project_id: uuid.UUID, as_of: datetime) -> None:
        # A tombstone is kept as a withdrawn entry with its time (not deleted), so older records stay ignored.
        await self._conn.execute(
            """INSERT INTO catalogue_replica (project_id, name, status, revision, as_of) VALUES ($1, '', $2, 0, $3)
               ON CONFLICT (project_id) DO UPDATE SET status = EXCLUDED.status, as_of = EXCLUDED.as_of
                WHERE catalogue_replica.as_of < EXCLUDED.as_of""",
            project_id, WITHDRAWN, as_of,
        )

    async def get(self, project_id: uuid.UUID) -> CatalogueEntry | None:
        row = await self._conn.fetchrow("SELECT * FROM catalogue_replica WHERE project_id = $1", project_id)
        return _entry(row) if row else None

    async def list_entries(self) -> list[CatalogueEntry]:
        return [_entry(row) for row in await self._conn.fetch("SELECT * FROM catalogue_replica ORDER BY project_id")]


def _entry(row: asyncpg.Record) -> CatalogueEntry:
    return CatalogueEntry(**{**dict(row), "phases": tuple(row["phases"])})
