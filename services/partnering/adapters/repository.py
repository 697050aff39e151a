"""Partnering's replica of the catalogue feed in the `partnering` schema."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from partnering.domain.model import WITHDRAWN, CatalogueEntry, Withdrawal

# Only a newer feed record replaces the entry (in one statement, so no read-then-write race).
_UPSERT = """
    INSERT INTO catalogue_replica AS r (project_id, name, status, revision, as_of, phases, evidence_level)
    SELECT x.project_id, x.name, x.status, x.revision, x.as_of,
           ARRAY(SELECT p FROM jsonb_array_elements_text(x.phases::jsonb) WITH ORDINALITY AS a (p, n) ORDER BY n),
           x.evidence_level
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::integer[], $5::timestamptz[], $6::text[], $7::text[])
           AS x (project_id, name, status, revision, as_of, phases, evidence_level)
    ON CONFLICT (project_id) DO UPDATE
       SET name = EXCLUDED.name, status = EXCLUDED.status, revision = EXCLUDED.revision, as_of = EXCLUDED.as_of,
           phases = EXCLUDED.phases, evidence_level = EXCLUDED.evidence_level
     WHERE r.as_of < EXCLUDED.as_of"""
# A tombstone is kept as a withdrawn entry with its time (not deleted), so older records stay ignored; it keeps
# what the entry showed of the project (its phases still count for implementations under way).
_WITHDRAW = """
    INSERT INTO catalogue_replica AS r (project_id, name, status, revision, as_of)
    SELECT project_id, '', $3, 0, as_of FROM unnest($1::uuid[], $2::timestamptz[]) AS x (project_id, as_of)
    ON CONFLICT (project_id) DO UPDATE SET status = EXCLUDED.status, as_of = EXCLUDED.as_of
     WHERE r.as_of < EXCLUDED.as_of"""


class PostgresCatalogueReplica:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def upsert(self, e: CatalogueEntry) -> None:
        await self.write([e], [])

    async def withdraw(self, project_id: uuid.UUID, as_of: datetime) -> None:
        await self.write([], [Withdrawal(project_id, as_of)])

    async def write(self, records: Sequence[CatalogueEntry], withdrawals: Sequence[Withdrawal]) -> None:
        """The records, then the withdrawals, each in one statement and only where newer than the entry.

        At most one of each per project (domain.model.net_changes: one statement may not change a row twice),
        in project id order, so each statement locks its rows in one order whoever runs it.
        """
        if records:
            await self._conn.execute(
                _UPSERT, [e.project_id for e in records], [e.name for e in records], [e.status for e in records],
                [e.revision for e in records], [e.as_of for e in records],
                # As JSON text: asyncpg would take a list of lists for a two-dimensional array.
                [json.dumps(e.phases) for e in records], [e.evidence_level for e in records])
        if withdrawals:
            await self._conn.execute(_WITHDRAW, [w.project_id for w in withdrawals], [w.as_of for w in withdrawals],
                                     WITHDRAWN)

    async def get(self, project_id: uuid.UUID) -> CatalogueEntry | None:
        row = await self._conn.fetchrow("SELECT * FROM catalogue_replica WHERE project_id = $1", project_id)
        return _entry(row) if row else None

    async def list_entries(self) -> list[CatalogueEntry]:
        return [_entry(row) for row in await self._conn.fetch("SELECT * FROM catalogue_replica ORDER BY project_id")]


def _entry(row: asyncpg.Record) -> CatalogueEntry:
    return CatalogueEntry(**{**dict(row), "phases": tuple(row["phases"])})
