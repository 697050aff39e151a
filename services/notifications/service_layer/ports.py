"""What notifications' service layer needs from adapters (and fakes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from notifications.domain.model import Attempt, Delivery, ReceivedEvent, Subscription
from notifications.domain.retry import Decision


class EventLog(Protocol):
    async def add(self, event: ReceivedEvent) -> None: ...
    async def recent(self, limit: int, before: tuple[datetime, uuid.UUID] | None = None) -> list[ReceivedEvent]:
        """At most `limit` events, newest first (received_at, event_id), older than `before` if given."""


class SubscriptionRepository(Protocol):
    async def add(self, subscription: Subscription) -> None: ...
    async def get(self, subscription_id: uuid.UUID) -> Subscription | None: ...
    async def list(self, owner: str | None, after: tuple[datetime, uuid.UUID] | None = None,
                   limit: int = 50) -> list[Subscription]:
        """At most `limit` subscriptions (`owner`'s, if given) in (created_at, id) order, after `after`."""
    async def remove(self, subscription_id: uuid.UUID) -> None: ...
    async def active_for(self, ce_type: str) -> list[Subscription]: ...
    async def rotate_secret(self, subscription_id: uuid.UUID, new_secret: str,
                            previous_expires_at: datetime) -> Subscription | None:
        """Atomically: the current secret becomes the previous one (until `previous_expires_at`), `new_secret`
        the current one. None when the subscription does not exist."""


class DeliveryRepository(Protocol):
    async def add_pending(self, subscription_id: uuid.UUID, event_id: str) -> bool:
        """Queue the event for the subscription, only if it is still active and has no such delivery yet."""
    async def get(self, delivery_id: uuid.UUID) -> Delivery | None: ...
    async def list_for(self, subscription_id: uuid.UUID, limit: int,
                       before: tuple[datetime, uuid.UUID] | None = None) -> list[Delivery]:
        """At most `limit` deliveries, newest first (created_at, id), older than `before` if given."""
    async def requeue(self, delivery_id: uuid.UUID) -> bool:
        """Due now with a fresh round, taking it from any worker that holds it; False (and no change) unless
        its subscription is active."""
    async def wake_workers(self) -> None: ...


class NotificationsUnitOfWork(Protocol):
    events: EventLog
    subscriptions: SubscriptionRepository
    deliveries: DeliveryRepository


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]: ...


@dataclass(frozen=True)
class ClaimedDelivery:
    """A due delivery this worker holds a lease on, with all it needs to send it."""

    delivery_id: uuid.UUID
    claim_token: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    target_host: str
    secrets: tuple[str, ...] = field(repr=False)  # never in a log line or traceback
    event: ReceivedEvent = field(repr=False)
    # Counted when claimed: this attempt's number over the delivery's life, and within its round.
    attempts: int = 1
    round_attempts: int = 1
    failing_since: datetime | None = None


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    retry_after: str | None
    error: str | None


class DeliveryQueue(Protocol):
    async def claim(self, limit: int, exclude_hosts: list[str]) -> list[ClaimedDelivery]: ...
    async def finish(self, claim: ClaimedDelivery, attempt: Attempt, decision: Decision) -> bool: ...
    async def release(self, claims: list[ClaimedDelivery], *, attempted: bool) -> None:
        """Hand claims back at once; `attempted` keeps the attempt each claim counted (its request may be out)."""
    async def refresh_gauges(self) -> None: ...


class WebhookSender(Protocol):
    async def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult: ...
