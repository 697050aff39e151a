"""Received events, subscriptions and deliveries in the `notifications` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from notifications.adapters.secrets import SecretKeys
from notifications.domain.model import (
    Attempt,
    Delivery,
    DeliveryStatus,
    EventFilter,
    ReceivedEvent,
    Subscription,
    SubscriptionStatus,
)
from servicekit import pagination

WAKE_CHANNEL = "notifications_deliveries"


class PostgresEventLog:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, e: ReceivedEvent) -> None:
        await self._conn.execute(
            """INSERT INTO received_events (event_id, ce_type, subject, source, time, data, traceparent, tracestate)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING""",
            uuid.UUID(e.event_id), e.ce_type, e.subject, e.source, e.time, e.data, e.traceparent, e.tracestate,
        )

    async def recent(self, limit: int, before: tuple[datetime, uuid.UUID] | None = None) -> list[ReceivedEvent]:
        # Newest first through the index on (received_at, event_id), read backwards.
        if before is None:
            rows = await self._conn.fetch(
                "SELECT * FROM received_events ORDER BY received_at DESC, event_id DESC LIMIT $1", limit)
        else:
            rows = await self._conn.fetch(
                """SELECT * FROM received_events WHERE (received_at, event_id) < ($1::timestamptz, $2::uuid)
                   ORDER BY received_at DESC, event_id DESC LIMIT $3""", *before, limit)
        return [ReceivedEvent(event_id=str(r["event_id"]), ce_type=r["ce_type"], subject=r["subject"],
                              source=r["source"], time=r["time"], data=r["data"], received_at=r["received_at"])
                for r in rows]


def subscription_from(r: asyncpg.Record, secret: str | None = None) -> Subscription:
    # Stored secrets are not decrypted here: only the delivery queue needs them, to sign. `secret` is the one
    # just made (by a rotation), which its caller shows the integrator once.
    return Subscription(
        id=r["id"], owner=r["owner"], url=r["url"], target_host=r["target_host"],
        event_types=tuple(r["event_types"]), filter=EventFilter(**r["filter"]), description=r["description"],
        secret=secret, created_at=r["created_at"], status=SubscriptionStatus(r["status"]),
        previous_secret=None, previous_secret_expires_at=r["previous_secret_expires_at"],
        disabled_reason=r["disabled_reason"], disabled_at=r["disabled_at"], failing_since=r["failing_since"],
    )


class PostgresSubscriptions:
    def __init__(self, conn: asyncpg.Connection, keys: SecretKeys) -> None:
        self._conn = conn
        self._keys = keys

    async def add(self, s: Subscription) -> None:
        await self._conn.execute(
            """INSERT INTO subscriptions (id, owner, url, target_host, event_types, filter, description,
                                          secret_encrypted, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            s.id, s.owner, s.url, s.target_host, list(s.event_types), s.filter.as_dict(), s.description,
            self._keys.encrypt(s.secret), s.created_at,
        )

    async def get(self, subscription_id: uuid.UUID) -> Subscription | None:
        row = await self._conn.fetchrow("SELECT * FROM subscriptions WHERE id = $1", subscription_id)
        return subscription_from(row) if row else None

    async def list(self, owner: str | None, after: tuple[datetime, uuid.UUID] | None = None,
                   limit: int = 50) -> list[Subscription]:
        # Read through the index on (owner, created_at, id), or (created_at, id) for all.
        query, args = pagination.page_query("subscriptions", "created_at", {"owner": owner}, after, limit)
        rows = await self._conn.fetch(query, *args)
        return [subscription_from(r) for r in rows]

    async def remove(self, subscription_id: uuid.UUID) -> None:
        await self._conn.execute("DELETE FROM subscriptions WHERE id = $1", subscription_id)

    async def active_for(self, ce_type: str) -> list[Subscription]:
        rows = await self._conn.fetch(
            "SELECT * FROM subscriptions WHERE status = 'active' AND event_types @> ARRAY[$1::text]", ce_type
        )
        return [subscription_from(r) for r in rows]

    async def rotate_secret(self, subscription_id: uuid.UUID, new_secret: str,
                            previous_expires_at: datetime) -> Subscription | None:
        # One statement: the right-hand sides read the row as locked by this UPDATE, so a concurrent
        # rotation waits and then demotes *this* secret, instead of both demoting the same old one. Each secret
        # moves as it is stored: encrypted, or still plain text where an earlier version left it so.
        row = await self._conn.fetchrow(
            """UPDATE subscriptions SET previous_secret_encrypted = secret_encrypted, previous_secret = secret,
                                        secret_encrypted = $2, secret = NULL, previous_secret_expires_at = $3
               WHERE id = $1 RETURNING *""",
            subscription_id, self._keys.encrypt(new_secret), previous_expires_at,
        )
        return subscription_from(row, new_secret) if row else None


def delivery_from(r: asyncpg.Record, history: tuple[Attempt, ...] = ()) -> Delivery:
    return Delivery(
        id=r["id"], subscription_id=r["subscription_id"], event_id=str(r["event_id"]), ce_type=r["ce_type"],
        status=DeliveryStatus(r["status"]), attempts=r["attempts"], next_attempt_at=r["next_attempt_at"],
        created_at=r["created_at"], completed_at=r["completed_at"], last_status_code=r["last_status_code"],
        last_error=r["last_error"], history=history,
    )


_DELIVERY_COLUMNS = """d.id, d.subscription_id, d.event_id, e.ce_type, d.status, d.attempts, d.next_attempt_at,
                       d.created_at, d.completed_at, d.last_status_code, d.last_error"""


class PostgresDeliveries:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add_pending(self, subscription_id: uuid.UUID, event_id: str) -> bool:
        # FOR SHARE waits for a disabling in progress and then sees it; a disabling that starts later
        # waits for this transaction and cancels the row it added.
        status = await self._conn.execute(
            """INSERT INTO deliveries (id, subscription_id, event_id, next_attempt_at)
               SELECT $1, s.id, $3, clock_timestamp() FROM (
                   SELECT id FROM subscriptions WHERE id = $2 AND status = 'active' FOR SHARE) s
               ON CONFLICT (subscription_id, event_id) DO NOTHING""",
            uuid.uuid4(), subscription_id, uuid.UUID(event_id),
        )
        return status.endswith(" 1")

    async def get(self, delivery_id: uuid.UUID) -> Delivery | None:
        row = await self._conn.fetchrow(
            f"""SELECT {_DELIVERY_COLUMNS} FROM deliveries d JOIN received_events e USING (event_id)
                WHERE d.id = $1""", delivery_id,
        )
        if row is None:
            return None
        history = await self._history([delivery_id])
        return delivery_from(row, history.get(delivery_id, ()))

    async def list_for(self, subscription_id: uuid.UUID, limit: int,
                       before: tuple[datetime, uuid.UUID] | None = None) -> list[Delivery]:
        # Newest first through the index on (subscription_id, created_at DESC, id DESC).
        after_cursor = "AND (d.created_at, d.id) < ($3::timestamptz, $4::uuid)" if before is not None else ""
        rows = await self._conn.fetch(
            f"""SELECT {_DELIVERY_COLUMNS} FROM deliveries d JOIN received_events e USING (event_id)
                WHERE d.subscription_id = $1 {after_cursor} ORDER BY d.created_at DESC, d.id DESC LIMIT $2""",
            subscription_id, limit, *(before or ()),
        )
        history = await self._history([r["id"] for r in rows])
        return [delivery_from(r, history.get(r["id"], ())) for r in rows]

    async def _history(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Attempt, ...]]:
        rows = await self._conn.fetch(
            "SELECT * FROM delivery_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, number", ids
        )
        found: dict[uuid.UUID, list[Attempt]] = {}
        for r in rows:
            found.setdefault(r["delivery_id"], []).append(Attempt(
                number=r["number"], started_at=r["started_at"], duration_ms=r["duration_ms"],
                status_code=r["status_code"], error=r["error"], outcome=r["outcome"]))
        return {k: tuple(v) for k, v in found.items()}

    async def requeue(self, delivery_id: uuid.UUID) -> bool:
        # Clearing the claim fences off a worker still busy with this delivery: its result no longer
        # overwrites the requeue (it is only logged), and the delivery is claimed again at once.
        row = await self._conn.fetchrow(
            """WITH active AS (
                   SELECT s.id FROM subscriptions s JOIN deliveries d ON d.subscription_id = s.id
                   WHERE d.id = $1 AND s.status = 'active' FOR SHARE OF s)
               UPDATE deliveries d SET status = 'pending', round_attempts = 0, next_attempt_at = clock_timestamp(),
                                       completed_at = NULL, locked_until = NULL, claim_token = NULL
                 FROM active WHERE d.id = $1 AND d.subscription_id = active.id
               RETURNING d.id""", delivery_id,
        )
        return row is not None

    async def wake_workers(self) -> None:
        # NOTIFY is transactional: workers wake only once the deliveries they should see are committed.
        await self._conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
