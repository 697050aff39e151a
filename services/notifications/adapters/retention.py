"""What notifications lets go of, run by the runtime's retention job (servicekit.retention): finished deliveries
with their attempt logs, then received events that no delivery needs any more. A pending delivery stays."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from servicekit.retention import Purge, deleted_rows


async def delete_finished_deliveries(conn: asyncpg.Connection, days: int, limit: int) -> Mapping[str, int]:
    # FOR UPDATE keeps each chosen row finished until it is gone: a redelivery (which makes it pending again)
    # waits for this transaction and then finds nothing, rather than being undone. SKIP LOCKED passes over a
    # row a redelivery holds right now; `status <> 'pending'` is checked again on the row as locked.
    ids = await conn.fetchval(
        """SELECT coalesce(array_agg(id), '{}') FROM (
               SELECT id FROM deliveries
               WHERE status <> 'pending' AND completed_at < clock_timestamp() - make_interval(days => $1)
               ORDER BY completed_at LIMIT $2
               FOR UPDATE SKIP LOCKED) due""", days, limit)
    if not ids:
        return {"deliveries": 0}
    # The attempts first, to count them; deleting the deliveries would take them along anyway (ON DELETE CASCADE).
    attempts = await conn.execute("DELETE FROM delivery_attempts WHERE delivery_id = ANY($1::uuid[])", ids)
    deliveries = await conn.execute("DELETE FROM deliveries WHERE id = ANY($1::uuid[])", ids)
    return {"deliveries": deleted_rows(deliveries), "delivery_attempts": deleted_rows(attempts)}


async def delete_received_events(conn: asyncpg.Connection, days: int, limit: int) -> Mapping[str, int]:
    # An event stays while any delivery is made of it (pending, or finished and kept): a redelivery sends it
    # again. FOR UPDATE SKIP LOCKED: an event a fan-out is adding a delivery to right now is left for a later pass.
    status = await conn.execute(
        """DELETE FROM received_events WHERE event_id IN (
               SELECT e.event_id FROM received_events e
               WHERE e.received_at < clock_timestamp() - make_interval(days => $1)
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.event_id)
               ORDER BY e.received_at LIMIT $2
               FOR UPDATE OF e SKIP LOCKED)""", days, limit)
    return {"received_events": deleted_rows(status)}


# Deliveries first: what they free of received_events goes in the same pass.
PURGES = (
    Purge("deliveries", "deliveries", 30, delete_finished_deliveries),
    Purge("received_events", "received_events", 30, delete_received_events),
)
