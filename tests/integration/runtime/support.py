"""Helpers of the runtime tests: a probe service running in-process, and events as raw records."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import CloudEvent, KafkaRecord, new_event, to_kafka_record
from schuldenlab_contracts.events import ProjectSubmitted
from servicekit.config import Settings
from servicekit.service import create_app
from tests.integration.runtime.probe import Behaviour, definition
from tests.support.harness import RunningService


def submitted(name: str, project_id: uuid.UUID | None = None) -> ProjectSubmitted:
    dossier = {k: v for k, v in KNOWN_PROJECTS[0].items() if k != "contact"}
    dossier["name"] = name
    return ProjectSubmitted(project_id=project_id or uuid.uuid4(), revision=1, submitted_at=datetime.now(UTC),
                            **dossier)


def record_of(event: CloudEvent) -> KafkaRecord:
    return to_kafka_record(event)


def event_for(name: str, key: uuid.UUID | None = None) -> CloudEvent:
    return new_event(submitted(name, key))


@contextlib.asynccontextmanager
async def running_probe(settings: Settings, behaviour: Behaviour) -> AsyncIterator[RunningService]:
    app = create_app(definition(behaviour), settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
            yield RunningService("probe", app, client)


async def effects(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r["name"] for r in await conn.fetch("SELECT name FROM probe.effects ORDER BY applied_at")]
    finally:
        await conn.close()
