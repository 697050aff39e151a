"""HTTP routes of the notifications service: subscriptions, their deliveries, and the events received."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from notifications.adapters.sender import DnsResolver
from notifications.config import WebhookSettings
from notifications.domain.errors import InvalidInput
from notifications.domain.model import EventFilter
from notifications.entrypoints.schemas import (
    DeliveryOut,
    DeliveryPage,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionWithSecret,
)
from notifications.service_layer import handlers
from servicekit import pagination
from servicekit.auth import Principal, require_role
from servicekit.openapi import problems
from servicekit.problems import Problem
from servicekit.service import get_runtime

router = APIRouter(prefix="/v1")
# Subscriptions belong to integrators; operators see and manage all of them.
Integrator = Annotated[Principal, Depends(require_role("integrator"))]
# Another integrator's subscription is answered like a missing one: its existence is not theirs to learn.
NO_SUBSCRIPTION = problems(404, described={404: "No subscription with this id that the caller may see."})
# The kinds of cursor the three lists issue: each list refuses another's.
SUBSCRIPTION_PAGES, DELIVERY_PAGES, EVENT_PAGES = "sb1", "dl1", "ev1"


def _viewer(principal: Principal) -> handlers.Viewer:
    return handlers.Viewer(subject=principal.subject, is_operator="operator" in principal.roles)


@contextmanager
def _as_problem():
    try:
        yield
    except InvalidInput as exc:
        raise Problem(422, f"Invalid input: {exc}", errors=[{"field": exc.field, "reason": exc.reason}]) from None


@router.post("/subscriptions", status_code=201, tags=["subscriptions"],
             summary="Subscribe a URL to event types; the secret is shown only in this answer")
async def subscribe(body: SubscriptionIn, request: Request,
                    principal: Integrator) -> SubscriptionWithSecret:
    runtime = get_runtime(request)
    config = WebhookSettings.from_settings(runtime.settings)
    f = body.filter
    cmd = handlers.Subscribe(
        owner=principal.subject, url=body.url, event_types=tuple(body.event_types),
        filter=EventFilter(municipality=f.municipality if f else None,
                           lab_id=str(f.lab_id) if f and f.lab_id else None,
                           project_id=str(f.project_id) if f and f.project_id else None),
        description=body.description,
    )
    with _as_problem():
        async with runtime.transaction() as uow:
            subscription = await handlers.subscribe(cmd, uow, DnsResolver(), config.allowed_hosts)
    out = SubscriptionOut.of(subscription, datetime.now(UTC))
    return SubscriptionWithSecret(**out.model_dump(), secret=subscription.secret)


@router.get("/subscriptions", tags=["subscriptions"],
            summary="Subscriptions, oldest first: an integrator's own, or all for an operator; cursor pages")
async def list_subscriptions(request: Request, principal: Integrator, cursor: pagination.Cursor = None,
                             limit: pagination.Limit = pagination.DEFAULT_LIMIT) -> SubscriptionPage:
    after = pagination.position(SUBSCRIPTION_PAGES, cursor)
    async with get_runtime(request).transaction() as uow:
        found = await handlers.list_subscriptions(_viewer(principal), uow, after, limit + 1)
    page, next_cursor = pagination.next_cursor(SUBSCRIPTION_PAGES, found, limit, lambda s: (s.created_at, s.id))
    now = datetime.now(UTC)
    return SubscriptionPage(items=[SubscriptionOut.of(s, now) for s in page], next_cursor=next_cursor)


@router.get("/subscriptions/{subscription_id}", tags=["subscriptions"], summary="One subscription (no secret)",
            responses=NO_SUBSCRIPTION)
async def get_subscription(subscription_id: uuid.UUID, request: Request,
                           principal: Integrator) -> SubscriptionOut:
    async with get_runtime(request).transaction() as uow:
        subscription = await handlers.get_subscription(subscription_id, _viewer(principal), uow)
    return SubscriptionOut.of(subscription, datetime.now(UTC))


@router.delete("/subscriptions/{subscription_id}", status_code=204, tags=["subscriptions"],
               summary="Unsubscribe; pending deliveries are dropped with it", responses=NO_SUBSCRIPTION)
async def unsubscribe(subscription_id: uuid.UUID, request: Request,
                      principal: Integrator) -> Response:
    async with get_runtime(request).transaction() as uow:
        await handlers.unsubscribe(subscription_id, _viewer(principal), uow)
    return Response(status_code=204)


@router.post("/subscriptions/{subscription_id}/secret", tags=["subscriptions"],
             summary="Rotate the secret; the old one keeps signing too during the grace period",
             responses=NO_SUBSCRIPTION)
async def rotate_secret(subscription_id: uuid.UUID, request: Request,
                        principal: Integrator) -> SubscriptionWithSecret:
    runtime = get_runtime(request)
    grace = WebhookSettings.from_settings(runtime.settings).rotation_grace
    async with runtime.transaction() as uow:
        subscription = await handlers.rotate_secret(subscription_id, _viewer(principal), uow, grace)
    out = SubscriptionOut.of(subscription, datetime.now(UTC))
    return SubscriptionWithSecret(**out.model_dump(), secret=subscription.secret)


@router.get("/subscriptions/{subscription_id}/deliveries", tags=["deliveries"],
            summary="Deliveries of a subscription, newest first, with every attempt; cursor pages",
            responses=NO_SUBSCRIPTION)
async def list_deliveries(subscription_id: uuid.UUID, request: Request, principal: Integrator,
                          cursor: pagination.Cursor = None,
                          limit: pagination.Limit = pagination.DEFAULT_LIMIT) -> DeliveryPage:
    before = pagination.position(DELIVERY_PAGES, cursor)
    async with get_runtime(request).transaction() as uow:
        found = await handlers.list_deliveries(subscription_id, _viewer(principal), uow, limit + 1, before)
    page, next_cursor = pagination.next_cursor(DELIVERY_PAGES, found, limit, lambda d: (d.created_at, d.id))
    return DeliveryPage(items=[DeliveryOut.of(d) for d in page], next_cursor=next_cursor)


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, tags=["deliveries"],
             summary="Send a delivery again now (same webhook-id)",
             responses=problems(404, 409, described={
                 404: "No delivery with this id that the caller may see.",
                 409: "The delivery cannot be sent again now; `conditions` names every unmet condition."}))
async def redeliver(delivery_id: uuid.UUID, request: Request,
                    principal: Integrator) -> DeliveryOut:
    async with get_runtime(request).transaction() as uow:
        delivery = await handlers.redeliver(delivery_id, _viewer(principal), uow)
    return DeliveryOut.of(delivery)


class ReceivedEventOut(BaseModel):
    event_id: str
    ce_type: str
    subject: str
    source: str
    time: datetime
    received_at: datetime


class EventPage(BaseModel):
    items: list[ReceivedEventOut]
    next_cursor: str | None = Field(description=pagination.NEXT_CURSOR)


@router.get("/events", tags=["events"],
            summary="The events notifications received, newest first (operator); cursor pages",
            dependencies=[Depends(require_role())])
async def list_events(request: Request, cursor: pagination.Cursor = None,
                      limit: pagination.Limit = pagination.DEFAULT_LIMIT) -> EventPage:
    before = pagination.position(EVENT_PAGES, cursor)
    async with get_runtime(request).transaction() as uow:
        events = await handlers.list_events(limit + 1, uow, before)
    page, next_cursor = pagination.next_cursor(EVENT_PAGES, events, limit,
                                               lambda e: (e.received_at, uuid.UUID(e.event_id)))
    return EventPage(items=[ReceivedEventOut(event_id=e.event_id, ce_type=e.ce_type, subject=e.subject, source=e.source,
                                             time=e.time, received_at=e.received_at) for e in page],
                     next_cursor=next_cursor)
