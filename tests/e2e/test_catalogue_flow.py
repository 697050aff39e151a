"""End to end: the catalogue as its own process; submission, a proven verdict, the catalogue and its feed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import Criteria, CriterionVerdict, PortfolioFit, ProjectAssessed
from tests.support.catalogue_process import running_catalogue
from tests.support.harness import eventually
from tests.support.kafka import produce, read_topic

pytestmark = pytest.mark.e2e


@pytest.fixture
def catalogue_process(fresh_database: str, fresh_kafka: str, tmp_path: Path):
    with running_catalogue(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_OUTBOX_POLL_INTERVAL="0.5") as url:
        yield url


async def test_a_submitted_project_found_proven_appears_in_the_catalogue_and_on_the_feed(
        catalogue_process: str, fresh_kafka: str):
    async with httpx.AsyncClient(base_url=catalogue_process, timeout=10) as client:
        response = await client.post("/v1/projects", json=KNOWN_PROJECTS[1])
        assert response.status_code == 201, response.text
        project_id = response.json()["id"]

        met = CriterionVerdict(met=True, notes="")
        verdict = ProjectAssessed(
            project_id=uuid.UUID(project_id), assessment_id=uuid.uuid4(), revision=1, verdict="proven",
            criteria=Criteria(workable=met, reusable=met, available=met),
            portfolio=PortfolioFit(phases=["planning"], adds_to_portfolio=True, similar_project_ids=[]),
            rationale="Bewezen werkzaam in zes gemeenten.", decided_at=datetime.now(UTC))
        record = to_kafka_record(new_event(verdict))
        await produce(fresh_kafka, record.topic, key=record.key, value=record.value, headers=list(record.headers))

        async def listed():
            items = (await client.get("/v1/catalogue", params={"q": "schuldregelen"})).json()["items"]
            return items or None

        [item] = await eventually(listed, timeout=30)
        assert item["project_id"] == project_id and item["status"] == "proven"
        assert (await client.get(f"/v1/projects/{project_id}")).json()["status"] == "proven"

    [feed] = await read_topic(fresh_kafka, "catalogue.projects.v1", expect=1, timeout=30)
    assert feed.key == project_id.encode()
    assert json.loads(feed.value) == item
