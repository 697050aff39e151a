"""Partnering's replica of the catalogue feed in the `partnering` schema."""

from __future__ import annotations

import uuid

import asyncpg

from partnering.domain.model import CatalogueEntry


class PostgresCatalogueReplica:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def upsert(self, e: CatalogueEntry) -> None:
        await self._conn.execute(
            """INSERT INTO catalogue_replica (project_id, name, status, revision) VALUES ($1, $2, $3, $4)
               ON CONFLICT (project_id) DO UPDATE SET name = $2, status = $3, revision = $4""",
            e.project_id, e.name, e.status, e.revision,
        )

    async def remove(self, project_id: uuid.UUID) -> None:
        await self._conn.execute("DELETE FROM catalogue_replica WHERE project_id = $1", project_id)

    async def get(self, project_id: uuid.UUID) -> CatalogueEntry | None:
        row = await self._conn.fetchrow("SELECT * FROM catalogue_replica WHERE project_id = $1", project_id)
        return CatalogueEntry(**dict(row)) if row else None
