"""Publishing the events the assessment consumes, as raw Kafka records, for its integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import CloudEvent, new_event, to_kafka_record, tombstone
from schuldenlab_contracts.events import CatalogueProject, ProjectSubmitted
from schuldenlab_contracts.registry import by_model
from tests.support.kafka import produce


def submitted(name: str, *, project_id: uuid.UUID | None = None, revision: int = 1, **changes: Any) -> ProjectSubmitted:
    [dossier] = [{k: v for k, v in p.items() if k != "contact"} for p in KNOWN_PROJECTS if p["name"] == name]
    return ProjectSubmitted(project_id=project_id or uuid.uuid4(), revision=revision,
                            **{**dossier, "submitted_at": datetime.now(UTC), **changes})


def listed(event: ProjectSubmitted) -> CatalogueProject:
    now = datetime.now(UTC)
    data = event.model_dump()
    return CatalogueProject(**data, assessment_id=uuid.uuid4(), decided_at=now, labs_implementing=[],
                            handovers=0, municipalities=[event.origin.municipality], updated_at=now)


async def send(bootstrap: str, event: CloudEvent) -> None:
    record = to_kafka_record(event)
    await produce(bootstrap, record.topic, key=record.key, value=record.value, headers=list(record.headers))


async def send_payload(bootstrap: str, payload: ProjectSubmitted | CatalogueProject, *,
                       id: str | None = None) -> CloudEvent:
    event = new_event(payload, id=id)
    await send(bootstrap, event)
    return event


async def send_withdrawal(bootstrap: str, project_id: uuid.UUID, *, time: datetime | None = None) -> None:
    await send(bootstrap, tombstone(by_model(CatalogueProject), str(project_id), time=time))
