"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from notifications.domain.model import Delivery, Subscription
from servicekit.pagination import NEXT_CURSOR


class FilterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    municipality: str | None = Field(None, min_length=1, max_length=200,
                                     description="Only events naming this municipality (case-insensitive).")
    lab_id: uuid.UUID | None = Field(None, description="Only events about this lab.")
    project_id: uuid.UUID | None = Field(None, description="Only events about this project.")


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "url": "https://hooks.example.nl/schuldenlab", "event_types": ["nl.schuldenlab.lab.formed.v1"],
        "filter": {"municipality": "Dordrecht"}, "description": "New labs in our region"}]})

    url: str = Field(min_length=1, max_length=2048, description="http(s) URL that receives the webhooks.")
    event_types: list[str] = Field(min_length=1, max_length=50, description="ce_type values (SPEC §3).")
    filter: FilterIn | None = None
    description: str | None = Field(None, max_length=500)


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    owner: str
    url: str
    event_types: list[str]
    filter: dict[str, str]
    description: str | None
    status: str
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_valid_until: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, s: Subscription, now: datetime) -> SubscriptionOut:
        grace = s.previous_secret_expires_at if s.previous_secret_expires_at and s.previous_secret_expires_at > now \
            else None
        return cls(id=s.id, owner=s.owner, url=s.url, event_types=list(s.event_types), filter=s.filter.as_dict(),
                   description=s.description, status=s.status.value, disabled_reason=s.disabled_reason,
                   disabled_at=s.disabled_at, failing_since=s.failing_since, previous_secret_valid_until=grace,
                   created_at=s.created_at)


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="The whsec_ signing secret; shown only now, keep it safe.")


class AttemptOut(BaseModel):
    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    error: str | None
    outcome: str


class DeliveryOut(BaseModel):
    id: uuid.UUID
    subscription_id: uuid.UUID
    webhook_id: str = Field(description="The event's ce_id, sent as webhook-id on every attempt.")
    ce_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[AttemptOut]

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(id=d.id, subscription_id=d.subscription_id, webhook_id=d.event_id, ce_type=d.ce_type,
                   status=d.status.value, attempts=d.attempts, next_attempt_at=d.next_attempt_at,
                   last_status_code=d.last_status_code, last_error=d.last_error, created_at=d.created_at,
                   completed_at=d.completed_at,
                   attempt_log=[AttemptOut(number=a.number, started_at=a.started_at, duration_ms=a.duration_ms,
                                           status_code=a.status_code, error=a.error, outcome=a.outcome)
                                for a in d.history])


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR)
