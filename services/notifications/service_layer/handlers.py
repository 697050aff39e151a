"""Use cases of the notifications service: subscriptions, fan-out of events, redelivery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from notifications.domain import signing
from notifications.domain.errors import DeliveryConflict, InvalidInput, NotFound
from notifications.domain.model import (
    Delivery,
    EventFilter,
    ReceivedEvent,
    Subscription,
    SubscriptionStatus,
)
from notifications.domain.targets import AllowedHost
from notifications.service_layer.ports import NotificationsUnitOfWork, Resolver
from notifications.service_layer.targets import check_target
from schuldenlab_contracts.registry import EVENT_TYPES


@dataclass(frozen=True)
class Viewer:
    """Who asks: an integrator sees only its own subscriptions, an operator sees all."""

    subject: str
    is_operator: bool


@dataclass(frozen=True)
class Subscribe:
    owner: str
    url: str
    event_types: tuple[str, ...]
    filter: EventFilter
    description: str | None


def _now() -> datetime:
    return datetime.now(UTC)


async def subscribe(cmd: Subscribe, uow: NotificationsUnitOfWork, resolver: Resolver,
                    allowed_hosts: frozenset[AllowedHost]) -> Subscription:
    unknown = sorted(set(cmd.event_types) - EVENT_TYPES)
    if unknown or not cmd.event_types:
        what = f"unknown event type(s) {', '.join(unknown)}" if unknown else "at least one event type is needed"
        raise InvalidInput("event_types", f"{what}; valid types: {', '.join(sorted(EVENT_TYPES))}")
    target = (await check_target(cmd.url, resolver, allowed_hosts)).target
    subscription = Subscription(
        id=uuid.uuid4(), owner=cmd.owner, url=cmd.url, target_host=target.host_key,
        event_types=tuple(dict.fromkeys(cmd.event_types)), filter=cmd.filter, description=cmd.description,
        secret=signing.new_secret(), created_at=_now(),
    )
    await uow.subscriptions.add(subscription)
    return subscription


async def get_subscription(subscription_id: uuid.UUID, viewer: Viewer, uow: NotificationsUnitOfWork) -> Subscription:
    subscription = await uow.subscriptions.get(subscription_id)
    # Someone else's subscription is reported as missing: its existence is not the caller's business.
    if subscription is None or not subscription.visible_to(viewer.subject, viewer.is_operator):
        raise NotFound(f"No subscription {subscription_id}")
    return subscription


async def list_subscriptions(viewer: Viewer, uow: NotificationsUnitOfWork,
                             after: tuple[datetime, uuid.UUID] | None = None, limit: int = 50) -> list[Subscription]:
    """A page of the subscriptions the viewer may see, oldest first, after the one at `after` (created_at, id)."""
    return await uow.subscriptions.list(None if viewer.is_operator else viewer.subject, after, limit)


async def unsubscribe(subscription_id: uuid.UUID, viewer: Viewer, uow: NotificationsUnitOfWork) -> None:
    await get_subscription(subscription_id, viewer, uow)
    await uow.subscriptions.remove(subscription_id)


async def rotate_secret(subscription_id: uuid.UUID, viewer: Viewer, uow: NotificationsUnitOfWork,
                        grace: timedelta) -> Subscription:
    """A new secret; the one it replaces keeps signing alongside it for `grace`, so receivers can switch over.

    The swap is one atomic step in the repository, so concurrent rotations queue up instead of both
    replacing the same secret. Only one previous secret is kept: after a second rotation within the
    grace period the newest secret and the one returned by the rotation before it sign; older ones stop.
    """
    await get_subscription(subscription_id, viewer, uow)
    rotated = await uow.subscriptions.rotate_secret(subscription_id, signing.new_secret(), _now() + grace)
    if rotated is None:  # deleted meanwhile
        raise NotFound(f"No subscription {subscription_id}")
    return rotated


async def list_deliveries(subscription_id: uuid.UUID, viewer: Viewer, uow: NotificationsUnitOfWork,
                          limit: int, before: tuple[datetime, uuid.UUID] | None = None) -> list[Delivery]:
    """A page of a subscription's deliveries, newest first, older than the one at `before` (created_at, id)."""
    await get_subscription(subscription_id, viewer, uow)
    return await uow.deliveries.list_for(subscription_id, limit, before)


async def redeliver(delivery_id: uuid.UUID, viewer: Viewer, uow: NotificationsUnitOfWork) -> Delivery:
    """Send a delivery again now, with the same webhook-id and a fresh round of retries.

    A pending delivery may be redelivered too: that means "try now" instead of waiting out its backoff.
    """
    delivery = await uow.deliveries.get(delivery_id)
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id}")
    try:
        subscription = await get_subscription(delivery.subscription_id, viewer, uow)
    except NotFound:
        raise NotFound(f"No delivery {delivery_id}") from None
    conditions = []
    if subscription.status is not SubscriptionStatus.ACTIVE:
        conditions.append(f"the subscription is disabled: {subscription.disabled_reason}")
    if conditions:
        raise DeliveryConflict(conditions)
    if not await uow.deliveries.requeue(delivery_id):
        # Disabled (or deleted) between the check above and the requeue.
        raise DeliveryConflict(["the subscription is no longer active"])
    await uow.deliveries.wake_workers()
    return await uow.deliveries.get(delivery_id)


async def list_events(limit: int, uow: NotificationsUnitOfWork,
                      before: tuple[datetime, uuid.UUID] | None = None) -> list[ReceivedEvent]:
    """A page of the events received, newest first, older than the one at `before` (received_at, event_id)."""
    return await uow.events.recent(limit, before)


async def record_event(event: ReceivedEvent, uow: NotificationsUnitOfWork) -> int:
    """Keep the event and queue one delivery per matching active subscription, in the inbox's transaction."""
    await uow.events.add(event)
    queued = 0
    for subscription in await uow.subscriptions.active_for(event.ce_type):
        if subscription.wants(event) and await uow.deliveries.add_pending(subscription.id, event.event_id):
            queued += 1
    if queued:
        await uow.deliveries.wake_workers()
    return queued
