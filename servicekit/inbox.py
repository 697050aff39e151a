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


@dataclass(frozen=True)
class FeedPosition:
    """One state record of a compacted topic as its position: the key's state as of `as_of`."""

    topic: str
    key: str
    as_of: datetime
    event_id: uuid.UUID


async def advance_feed_positions(conn: asyncpg.Connection, positions: Sequence[FeedPosition]) -> set[uuid.UUID]:
    """`advance_feed_position` for the records of a fetch, in one statement: the ids of those to apply, as one by
    one in their order would find them (each newer than what its key had by then), and the newest per key kept."""
    newest: dict[tuple[str, str], FeedPosition] = {}
    for position in positions:
        held = newest.get((position.topic, position.key))
        if held is None or held.as_of < position.as_of:
            newest[(position.topic, position.key)] = position
    # In key order, so two consumers advancing overlapping keys (during a rebalance) wait instead of deadlocking.
    ordered = [newest[key] for key in sorted(newest)]
    # `earlier` reads the positions as they were before this statement (a CTE does not see the INSERT's rows).
    rows = await conn.fetch(
        """WITH given (topic, key, as_of, event_id) AS (
               SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::uuid[])),
           earlier AS (SELECT f.topic, f.key, f.as_of FROM feed_positions f JOIN given g USING (topic, key)),
           advanced AS (
               INSERT INTO feed_positions (topic, key, as_of, event_id) SELECT * FROM given
               ON CONFLICT (topic, key) DO UPDATE SET as_of = EXCLUDED.as_of, event_id = EXCLUDED.event_id
               WHERE feed_positions.as_of < EXCLUDED.as_of
               RETURNING topic, key)
           SELECT g.topic, g.key, e.as_of AS earlier, a.key IS NOT NULL AS advanced
           FROM given g LEFT JOIN earlier e USING (topic, key) LEFT JOIN advanced a USING (topic, key)""",
        [p.topic for p in ordered], [p.key for p in ordered], [p.as_of for p in ordered],
        [p.event_id for p in ordered],
    )
    # A key whose newest record did not advance (a newer state was applied, by this consumer or another
    # meanwhile) applies none of them; otherwise each record newer than the state before it applies.
    running = {(row["topic"], row["key"]): row["earlier"] for row in rows if row["advanced"]}
    fresh: set[uuid.UUID] = set()
    for position in positions:
        key = (position.topic, position.key)
        if key in running and (running[key] is None or running[key] < position.as_of):
            running[key] = position.as_of
            fresh.add(position.event_id)
    return fresh
