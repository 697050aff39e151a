"""The inbox: exactly-once effects on top of at-least-once delivery, by recording each processed `ce_id`."""

from __future__ import annotations

import uuid

import asyncpg


async def record_processed(
    conn: asyncpg.Connection, *, event_id: str, ce_type: str, topic: str, partition: int, offset: int
) -> bool:
    """Record the event as processed in the caller's transaction; False when it was processed before."""
    inserted = await conn.fetchval(
        """INSERT INTO inbox (event_id, ce_type, topic, partition, "offset") VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (event_id) DO NOTHING RETURNING true""",
        uuid.UUID(event_id), ce_type, topic, partition, offset,
    )
    return bool(inserted)
