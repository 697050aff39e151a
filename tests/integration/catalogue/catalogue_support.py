"""Helpers for the catalogue's integration tests: dossiers, other services' events, feed folding."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime

from catalogue.entrypoints import messages
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import Criteria, CriterionVerdict, PortfolioFit, ProjectAssessed
from tests.support.harness import RunningService
from tests.support.kafka import produce

CONTACT = {"name": "Anna de Vries", "email": "anna.devries@example.nl"}


def dossier(index: int = 0, **changes) -> dict:
    data = copy.deepcopy(KNOWN_PROJECTS[index])
    data["contact"] = dict(CONTACT)
    data.update(changes)
    return data


def assessed(project_id: str, verdict: str, revision: int = 1, decided_at: datetime | None = None) -> ProjectAssessed:
    met = CriterionVerdict(met=verdict == "proven", notes="")
    return ProjectAssessed(
        project_id=uuid.UUID(project_id), assessment_id=uuid.uuid4(), revision=revision, verdict=verdict,
        criteria=Criteria(workable=met, reusable=met, available=met),
        portfolio=PortfolioFit(phases=["debt_reduction"], adds_to_portfolio=True, similar_project_ids=[]),
        rationale="Het portfoliobestuur heeft besloten.", decided_at=decided_at or datetime.now(UTC),
    )


async def send(kafka: str, payload) -> None:
    """Put another service's event on its topic, as that service's outbox relay would."""
    record = to_kafka_record(new_event(payload))
    await produce(kafka, record.topic, key=record.key, value=record.value, headers=list(record.headers))


async def submit(service: RunningService, index: int = 0, **changes) -> str:
    return (await submit_with_key(service, index, **changes))[0]


async def submit_with_key(service: RunningService, index: int = 0, **changes) -> tuple[str, str]:
    """A submission's project id and the submitter's key (header X-Resubmission-Token)."""
    response = await service.client.post("/v1/projects", json=dossier(index, **changes))
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["resubmission_token"]


def submitter(key: str) -> dict[str, str]:
    return {"X-Resubmission-Token": key}


async def decide(service: RunningService, project_id: str, verdict: str, **kwargs) -> None:
    """The effect of a ProjectAssessed without the broker round trip."""
    payload = assessed(project_id, verdict, **kwargs)
    async with service.runtime.transaction() as uow:
        await messages.on_project_assessed(payload, new_event(payload), uow)


async def prove_directly(service: RunningService, project_id: str) -> None:
    """The effect of a proven verdict without the broker round trip (for tests about reading)."""
    payload = assessed(project_id, "proven")
    async with service.runtime.transaction() as uow:
        await messages.on_project_assessed(payload, new_event(payload), uow)


async def status_of(service: RunningService, project_id: str) -> str:
    return (await service.client.get(f"/v1/projects/{project_id}")).json()["status"]


async def count(service: RunningService, table: str) -> int:
    return await service.runtime.pool.fetchval(f"SELECT count(*) FROM {table}")


def fold(records) -> dict[str, dict]:
    """What a consumer of a compacted topic ends with: the last value per key, minus tombstones."""
    state: dict[str, dict] = {}
    for key, value in records:
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
    return state


def kafka_pairs(records) -> list[tuple[str, dict | None]]:
    return [(r.key.decode(), json.loads(r.value) if r.value is not None else None) for r in records]
