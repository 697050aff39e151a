"""The inbox: exactly-once effects on top of at-least-once delivery, by recording each processed `ce_id`;
and, for compacted (state) topics, the newest state applied per key."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True)
class InboxEntry:
    """One processed event as its inbox row keeps it."""

    event_id: uuid.UUID
    ce_type: str
    topic: str
    partition: int
    offset: int


async def record_processed_many(conn: asyncpg.Connection, entries: Sequence[InboxEntry]) -> set[uuid.UUID]:
    """Record the events as processed in the caller's transaction, in one statement; the ids recorded now.

    An id missing from the answer was processed before (or comes twice in `entries`: it is recorded once).
    The rows go in in id order, so two consumers recording overlapping fetches (for a moment, during a
    rebalance) wait for each other instead of deadlocking.
    """
    ordered = sorted(entries, key=lambda entry: entry.event_id)
    rows = await conn.fetch(
        """INSERT INTO inbox (event_id, ce_type, topic, partition, "offset")
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::integer[], $5::bigint[])
           ON CONFLICT (event_id) DO NOTHING RETURNING event_id""",
        [e.event_id for e in ordered], [e.ce_type for e in ordered], [e.topic for e in ordered],
        [e.partition for e in ordered], [e.offset for e in ordered],
    )
    return {row["event_id"] for row in rows}


async def advance_feed_position(
    conn: asyncpg.Connection, *, topic: str, key: str, as_of: datetime, event_id: str
) -> bool:
    """Record `as_of` as the newest state of `key` in the caller's transaction; False when it is not newer.

    A state topic carries the whole state per key, so an older record arriving late (a replayed dead
    letter, say) is simply stale: applying it would undo what a newer record already applied.
    """
    advanced = await conn.fetchval(
        """INSERT INTO feed_positions (topic, key, as_of, event_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (topic, key) DO UPDATE SET as_of = EXCLUDED.as_of, event_id = EXCLUDED.event_id
           WHERE feed_positions.as_of < EXCLUDED.as_of
           RETURNING true""",
        topic, key, as_of, uuid.UUID(event_id),
    )
    return bool(advanced)
