"""Helpers for notifications' integration tests: settings, publishing events, subscribing."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import Origin, ProjectSubmitted
from servicekit.config import Settings
from tests.contract.samples import DOSSIER, WHEN
from tests.support.harness import auth, service_settings
from tests.support.kafka import produce

SUBMITTED = "nl.schuldenlab.project.submitted.v1"


def webhook_settings(database: str, kafka: str, home: Path, **overrides: str) -> Settings:
    env = {
        "SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE": "0,0.2,0.4",
        "SCHULDENLAB_WEBHOOK_POLL_INTERVAL": "0.1",
        "SCHULDENLAB_WEBHOOK_TIMEOUT": "3",
        **overrides,
    }
    return service_settings(database, kafka, home, **env)


def project_submitted(project_id: uuid.UUID | None = None, municipality: str = "Den Haag") -> ProjectSubmitted:
    dossier = {**DOSSIER, "project_id": project_id or uuid.uuid4(),
               "origin": Origin(organisation="Gemeente " + municipality, municipality=municipality)}
    return ProjectSubmitted(**dossier, submitted_at=WHEN)


async def publish(kafka: str, payload, *, event_id: str | None = None) -> str:
    """Put an event on its topic as a producing service would; returns its ce_id."""
    event = new_event(payload, id=event_id)
    record = to_kafka_record(event)
    await produce(kafka, record.topic, key=record.key, value=record.value, headers=list(record.headers))
    return event.id


async def subscribe(client: httpx.AsyncClient, url: str, event_types=(SUBMITTED,), *, subject: str = "crm",
                    role: str = "integrator", **extra) -> dict:
    response = await client.post("/v1/subscriptions", json={"url": url, "event_types": list(event_types), **extra},
                                 headers=auth(role, subject))
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(client: httpx.AsyncClient, subscription_id: str, *, subject: str = "crm") -> list[dict]:
    response = await client.get(f"/v1/subscriptions/{subscription_id}/deliveries",
                                headers=auth("integrator", subject))
    assert response.status_code == 200, response.text
    return response.json()["items"]
