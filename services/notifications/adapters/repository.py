"""Received events in the `notifications` schema."""

from __future__ import annotations

import uuid

import asyncpg

from notifications.domain.model import ReceivedEvent


class PostgresEventLog:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, e: ReceivedEvent) -> None:
        await self._conn.execute(
            """INSERT INTO received_events (event_id, ce_type, subject, source, time, data)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            uuid.UUID(e.event_id), e.ce_type, e.subject, e.source, e.time, e.data,
        )

    async def recent(self, limit: int) -> list[ReceivedEvent]:
        rows = await self._conn.fetch("SELECT * FROM received_events ORDER BY received_at DESC LIMIT $1", limit)
        return [ReceivedEvent(event_id=str(r["event_id"]), ce_type=r["ce_type"], subject=r["subject"],
                              source=r["source"], time=r["time"], data=r["data"]) for r in rows]
