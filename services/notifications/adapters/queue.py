"""The delivery queue in PostgreSQL: leases claimed with SKIP LOCKED, so several replicas share the work."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import asyncpg

from notifications.adapters import metrics
from notifications.adapters.repository import WAKE_CHANNEL
from notifications.adapters.secrets import SecretKeys
from notifications.domain.model import Attempt, ReceivedEvent, signing_secrets
from notifications.domain.retry import Decision, Verdict
from notifications.service_layer.ports import ClaimedDelivery
from servicekit import db
from servicekit.secrets import UndecryptableSecret

log = logging.getLogger(__name__)


class PostgresDeliveryQueue:
    def __init__(self, pool: asyncpg.Pool, *, lease_seconds: float, keys: SecretKeys) -> None:
        self._pool = pool
        self._lease_seconds = lease_seconds
        self._keys = keys
        # Subscriptions whose secret no configured key decrypts: their deliveries are held (left pending, not
        # claimed again) until the service restarts with a key that does. Each is logged once, when found.
        self._held: set[uuid.UUID] = set()

    async def claim(self, limit: int, exclude_hosts: list[str]) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries of active subscriptions, skipping rows other workers hold."""
        token = uuid.uuid4()
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """WITH due AS (
                       SELECT d.id FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
                       WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp()
                         AND (d.locked_until IS NULL OR d.locked_until < clock_timestamp())
                         AND s.status = 'active' AND NOT (s.target_host = ANY($2::text[]))
                         AND NOT (s.id = ANY($5::uuid[]))
                       ORDER BY d.next_attempt_at LIMIT $1
                       FOR UPDATE OF d SKIP LOCKED)
                   UPDATE deliveries d
                      SET locked_until = clock_timestamp() + make_interval(secs => $3), claim_token = $4,
                          -- Counted when claimed, not when the answer is recorded: an attempt cut short
                          -- by a crash still took a turn, and may have reached the receiver.
                          attempts = d.attempts + 1, round_attempts = d.round_attempts + 1
                     FROM due, subscriptions s, received_events e
                    WHERE d.id = due.id AND s.id = d.subscription_id AND e.event_id = d.event_id
                   RETURNING d.id, d.subscription_id, d.attempts, d.round_attempts, s.url, s.target_host,
                             s.secret_encrypted, s.secret, s.previous_secret_encrypted, s.previous_secret,
                             s.previous_secret_expires_at, s.failing_since,
                             e.event_id, e.ce_type, e.subject, e.source, e.time, e.data, e.traceparent,
                             e.tracestate""",
                limit, exclude_hosts, self._lease_seconds, token, list(self._held),
            )
            claims, held = [], []
            for r in rows:
                try:
                    claims.append(self._claimed(r, token, now))
                except UndecryptableSecret:
                    held.append(r["id"])
                    self._hold(r["subscription_id"])
            if held:
                # Undone in the claim's own transaction: never sent (not unsigned either), not counted.
                await conn.execute(
                    """UPDATE deliveries SET locked_until = NULL, claim_token = NULL,
                              attempts = attempts - 1, round_attempts = round_attempts - 1
                        WHERE id = ANY($1::uuid[])""", held)
        return claims

    def _hold(self, subscription_id: uuid.UUID) -> None:
        if subscription_id not in self._held:
            self._held.add(subscription_id)
            log.error("notifications: no key of SCHULDENLAB_SECRETS_KEY decrypts the webhook secret of subscription "
                      "%s; its deliveries are held (not sent) until the service runs with the key it was "
                      "encrypted with", subscription_id)

    def _claimed(self, r: asyncpg.Record, token: uuid.UUID, now: datetime) -> ClaimedDelivery:
        secret = self._keys.reveal(r["secret_encrypted"], r["secret"])
        previous = None
        if r["previous_secret_expires_at"] and r["previous_secret_expires_at"] > now:
            previous = self._keys.reveal(r["previous_secret_encrypted"], r["previous_secret"])
        secrets = signing_secrets(secret, previous, r["previous_secret_expires_at"], now)
        event = ReceivedEvent(event_id=str(r["event_id"]), ce_type=r["ce_type"], subject=r["subject"],
                              source=r["source"], time=r["time"], data=r["data"], traceparent=r["traceparent"],
                              tracestate=r["tracestate"])
        return ClaimedDelivery(
            delivery_id=r["id"], claim_token=token, subscription_id=r["subscription_id"], url=r["url"],
            target_host=r["target_host"], secrets=tuple(secrets), event=event, attempts=r["attempts"],
            round_attempts=r["round_attempts"], failing_since=r["failing_since"],
        )

    async def finish(self, claim: ClaimedDelivery, attempt: Attempt, decision: Decision) -> bool:
        """Record the attempt and its consequence; False when the lease was lost (the attempt is only logged)."""
        metrics.DELIVERY_ATTEMPTS.labels(attempt.outcome).inc()
        metrics.ATTEMPT_SECONDS.observe(attempt.duration_ms / 1000)
        status = {Verdict.SUCCEEDED: "succeeded", Verdict.RETRY: "pending", Verdict.FAILED: "failed"}[decision.verdict]
        async with self._pool.acquire() as conn, conn.transaction():
            # The subscription is locked first (as everywhere): a disabling that committed meanwhile is seen
            # here, and one that starts later waits and then cancels what this leaves pending.
            subscription_status = await conn.fetchval(
                "SELECT status FROM subscriptions WHERE id = $1 FOR UPDATE", claim.subscription_id)
            if status == "pending" and subscription_status != "active":
                status = "cancelled"  # a retry of a disabled subscription would never be sent
            updated = await conn.fetchval(
                """UPDATE deliveries
                      SET status = $3,
                          next_attempt_at = CASE WHEN $3 = 'pending'
                                                 THEN clock_timestamp() + make_interval(secs => $4) END,
                          completed_at = CASE WHEN $3 = 'pending' THEN NULL ELSE clock_timestamp() END,
                          last_status_code = $5,
                          last_error = CASE WHEN $3 = 'cancelled'
                                            THEN coalesce($6 || '; ', '') || 'subscription disabled' ELSE $6 END,
                          locked_until = NULL, claim_token = NULL
                    WHERE id = $1 AND claim_token = $2
                   RETURNING id""",
                claim.delivery_id, claim.claim_token, status, decision.retry_in or 0.0,
                attempt.status_code, attempt.error,
            )
            if updated is None:
                # Redelivered (or taken over) while this attempt ran: its outcome no longer decides the
                # delivery, but the receiver did get a request, so the log keeps it (counted at its claim).
                if await conn.fetchval("SELECT id FROM deliveries WHERE id = $1 FOR UPDATE", claim.delivery_id):
                    await self._log_attempt(conn, claim, attempt)
                return False
            await self._log_attempt(conn, claim, attempt)
            if decision.verdict is Verdict.SUCCEEDED:
                await conn.execute("UPDATE subscriptions SET failing_since = NULL WHERE id = $1",
                                   claim.subscription_id)
            else:
                await conn.execute(
                    "UPDATE subscriptions SET failing_since = coalesce(failing_since, $2) WHERE id = $1",
                    claim.subscription_id, attempt.started_at,
                )
            if decision.disable_reason:
                await self._disable(conn, claim.subscription_id, decision.disable_reason)
        if status in ("succeeded", "failed"):
            metrics.DELIVERIES_COMPLETED.labels(status).inc()
        return True

    @staticmethod
    async def _log_attempt(conn: asyncpg.Connection, claim: ClaimedDelivery, attempt: Attempt) -> None:
        # The number is the one its claim counted (each claim counts under the row lock, so two overlapping
        # attempts never share one); a number missing from the log is an attempt cut short by a crash.
        await conn.execute(
            """INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, error, outcome)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            claim.delivery_id, attempt.number, attempt.started_at, attempt.duration_ms, attempt.status_code,
            attempt.error, attempt.outcome,
        )

    @staticmethod
    async def _disable(conn: asyncpg.Connection, subscription_id: uuid.UUID, reason: str) -> None:
        await conn.execute(
            """UPDATE subscriptions SET status = 'disabled', disabled_reason = $2, disabled_at = clock_timestamp()
               WHERE id = $1 AND status = 'active'""", subscription_id, reason,
        )
        # Waiting deliveries of a disabled subscription would never be sent; say so instead of hiding them.
        await conn.execute(
            """UPDATE deliveries SET status = 'cancelled', completed_at = clock_timestamp(), next_attempt_at = NULL,
                      last_error = coalesce(last_error || '; ', '') || 'subscription disabled'
               WHERE subscription_id = $1 AND status = 'pending'""", subscription_id,
        )
        log.warning("notifications: subscription %s disabled: %s", subscription_id, reason)

    async def release(self, claims: list[ClaimedDelivery], *, attempted: bool) -> None:
        # A claim never sent takes back the attempt its claim counted; one interrupted mid-attempt keeps
        # it, since its request may have reached the receiver.
        uncount = 0 if attempted else 1
        async with self._pool.acquire() as conn:
            for claim in claims:
                await conn.execute(
                    """UPDATE deliveries SET locked_until = NULL, claim_token = NULL,
                              attempts = attempts - $3, round_attempts = round_attempts - $3
                        WHERE id = $1 AND claim_token = $2""",
                    claim.delivery_id, claim.claim_token, uncount,
                )

    async def refresh_gauges(self) -> None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT count(*) AS pending,
                          coalesce(extract(epoch FROM clock_timestamp() - min(d.created_at)), 0) AS oldest
                   FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
                   WHERE d.status = 'pending' AND s.status = 'active'""")
            disabled = await conn.fetchval("SELECT count(*) FROM subscriptions WHERE status = 'disabled'")
        metrics.PENDING_BACKLOG.set(row["pending"])
        metrics.PENDING_OLDEST_AGE.set(float(row["oldest"]))
        metrics.DISABLED_SUBSCRIPTIONS.set(disabled)


def lease_for(timeout: float) -> float:
    """A lease comfortably longer than one attempt can take, so only crashed workers lose theirs."""
    return timeout * 2 + 10


async def listen_for_work(dsn: str, schema: str, wake) -> asyncpg.Connection:
    """A connection LISTENing for new or requeued deliveries; it calls `wake()` on each notification."""
    conn = await db.connect(dsn, schema)
    await conn.add_listener(WAKE_CHANNEL, lambda *_: wake())
    return conn

