"""Subscriptions, the events they receive and the deliveries made to them."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ReceivedEvent:
    """An event as notifications received it, the source of every delivery."""

    event_id: str
    ce_type: str
    subject: str
    source: str
    time: datetime
    data: dict | None
    received_at: datetime | None = None  # when this service stored it; None until it is stored
    # The W3C trace context it arrived with: each webhook it causes continues that trace.
    traceparent: str | None = None
    tracestate: str | None = None


@dataclass(frozen=True)
class EventFilter:
    """Narrows a subscription to one municipality, lab and/or project; None means any.

    An event that does not carry the filtered attribute at all does not match: who asked for one
    municipality's events does not want the events that name no municipality.
    """

    municipality: str | None = None
    lab_id: str | None = None
    project_id: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.municipality is None and self.lab_id is None and self.project_id is None

    def matches(self, event: ReceivedEvent) -> bool:
        data = event.data or {}
        if self.municipality is not None:
            wanted = self.municipality.casefold()
            if wanted not in {m.casefold() for m in municipalities_of(data)}:
                return False
        if self.lab_id is not None and self.lab_id not in labs_of(data):
            return False
        return self.project_id is None or self.project_id in projects_of(event, data)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("municipality", self.municipality), ("lab_id", self.lab_id),
                                  ("project_id", self.project_id)) if v is not None}


def municipalities_of(data: dict) -> set[str]:
    found = {m for m in data.get("municipalities") or () if isinstance(m, str)}
    origin = data.get("origin")
    if isinstance(origin, dict) and isinstance(origin.get("municipality"), str):
        found.add(origin["municipality"])
    return found


def labs_of(data: dict) -> set[str]:
    found = {str(lab) for lab in data.get("labs_implementing") or ()}
    if data.get("lab_id"):
        found.add(str(data["lab_id"]))
    origin = data.get("origin")
    if isinstance(origin, dict) and origin.get("lab_id"):
        found.add(str(origin["lab_id"]))
    return found


def projects_of(event: ReceivedEvent, data: dict) -> set[str]:
    if data.get("project_id"):
        return {str(data["project_id"])}
    # A tombstone on the catalogue feed carries its project only as the subject.
    return {event.subject} if event.data is None and event.ce_type.startswith("nl.schuldenlab.catalogue.") else set()


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


@dataclass
class Subscription:
    """An integrator's wish to receive some event types at one URL, signed with its secret."""

    id: uuid.UUID
    owner: str
    url: str
    target_host: str
    event_types: tuple[str, ...]
    filter: EventFilter
    description: str | None
    # The plain secret is known only where it was just made (creation, rotation) and shown once; it is stored
    # encrypted and read back only to sign, so a subscription loaded from storage carries None here.
    secret: str | None = field(repr=False)
    created_at: datetime
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    previous_secret: str | None = field(default=None, repr=False)
    previous_secret_expires_at: datetime | None = None
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    failing_since: datetime | None = None

    def wants(self, event: ReceivedEvent) -> bool:
        return (self.status is SubscriptionStatus.ACTIVE and event.ce_type in self.event_types
                and self.filter.matches(event))

    def visible_to(self, subject: str, is_operator: bool) -> bool:
        return is_operator or self.owner == subject

    def signing_secrets(self, now: datetime) -> list[str]:
        return signing_secrets(self.secret, self.previous_secret, self.previous_secret_expires_at, now)


def signing_secrets(secret: str, previous: str | None, previous_expires_at: datetime | None,
                    now: datetime) -> list[str]:
    """The current secret, plus the previous one while its grace period after a rotation lasts."""
    secrets = [secret]
    if previous and previous_expires_at and previous_expires_at > now:
        secrets.append(previous)
    return secrets


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its subscription was disabled before it could be delivered


@dataclass(frozen=True)
class Attempt:
    """One try to deliver: when, how long, what the receiver answered (or what went wrong)."""

    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    outcome: str


@dataclass
class Delivery:
    """One event for one subscription; `webhook-id` is the event id, stable across retries."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: str
    ce_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    completed_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    history: tuple[Attempt, ...] = ()
