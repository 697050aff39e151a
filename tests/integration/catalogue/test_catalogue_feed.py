"""The catalogue feed: reading it from the beginning (Kafka or HTTP) gives exactly the current catalogue."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalogue.entrypoints import messages
from schuldenlab_contracts.cloudevents import new_event
from schuldenlab_contracts.events import ImpactTotals, ImplementationStarted, ProjectHandedOver
from tests.integration.catalogue.catalogue_support import (
    CONTACT,
    assessed,
    count,
    fold,
    kafka_pairs,
    send,
    status_of,
    submit,
    submit_with_key,
    submitter,
)
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration


async def test_the_feed_rebuilds_exactly_the_current_catalogue_with_adoption_and_tombstones(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    lab, implementation = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    async with running_service("catalogue", settings) as catalogue:
        adopted, rejected, withdrawn, plain, unlisted = [await submit(catalogue, i % 4) for i in range(5)]
        for project_id in (adopted, rejected, withdrawn, plain):
            await send(fresh_kafka, assessed(project_id, "proven", decided_at=now))
        await send(fresh_kafka, assessed(unlisted, "needs_information", decided_at=now))
        for project_id in (adopted, rejected, withdrawn, plain):
            await eventually(lambda p=project_id: _has_status(catalogue, p, "proven"))

        await send(fresh_kafka, ImplementationStarted(
            lab_id=lab, implementation_id=implementation, project_id=uuid.UUID(adopted),
            municipalities=["Emmen"], started_at=now))
        await send(fresh_kafka, ProjectHandedOver(
            lab_id=lab, implementation_id=implementation, project_id=uuid.UUID(adopted),
            handed_over_to=["Gemeente Emmen"], regular_operations="De gemeente voert het fonds.",
            impact=ImpactTotals(households_reached=40, households_debt_free=31), handed_over_at=now))
        # The board changes its mind about the same revision: the project leaves the catalogue.
        await send(fresh_kafka, assessed(rejected, "rejected", decided_at=now + timedelta(minutes=1)))

        assert (await catalogue.client.delete(f"/v1/projects/{withdrawn}")).status_code == 401
        assert (await catalogue.client.delete(f"/v1/projects/{withdrawn}", headers=auth("lab"))).status_code == 403
        response = await catalogue.client.delete(f"/v1/projects/{withdrawn}", headers=auth("operator"))
        assert response.status_code == 200 and response.json()["status"] == "withdrawn"

        async def settled():
            items = (await catalogue.client.get("/v1/catalogue")).json()["items"]
            by_id = {item["project_id"]: item for item in items}
            done = set(by_id) == {adopted, plain} and by_id[adopted]["handovers"] == 1
            return by_id if done else None

        catalogue_now = await eventually(settled)
        assert catalogue_now[adopted]["municipalities"] == ["Den Haag", "Emmen"]
        assert catalogue_now[adopted]["labs_implementing"] == []

        # Over HTTP, in small pages, for consumers not on Kafka.
        changes, cursor = [], None
        while True:
            page = (await catalogue.client.get("/v1/catalogue/changes",
                                               params={"limit": 3, **({"after": cursor} if cursor else {})})).json()
            changes.extend((c["project_id"], c["record"]) for c in page["items"])
            if not page["items"]:
                break
            cursor = page["next_cursor"]
        assert fold(changes) == catalogue_now
        assert len(changes) == 8  # 4 listed, started, handed over, rejected, withdrawn
        text = json.dumps(changes)
        assert CONTACT["email"] not in text and CONTACT["name"] not in text and '"contact"' not in text

    records = await read_topic(fresh_kafka, "catalogue.projects.v1", expect=8)
    assert len(records) == 8
    assert {dict(r.headers)["ce_type"] for r in records} == {b"nl.schuldenlab.catalogue.project.v1"}
    pairs = kafka_pairs(records)
    assert fold(pairs) == catalogue_now
    assert {key for key, value in pairs if value is None} == {rejected, withdrawn}

    submitted = await read_topic(fresh_kafka, "catalogue.project-submitted.v1", expect=5)
    for record in [*records, *submitted]:
        text = (record.value or b"").decode()
        assert CONTACT["email"] not in text and CONTACT["name"] not in text and '"contact"' not in text


async def _has_status(catalogue, project_id: str, status: str) -> bool:
    return await status_of(catalogue, project_id) == status


async def test_every_withdrawal_publishes_one_tombstone_also_for_a_project_never_listed(
        fresh_database, fresh_kafka, tmp_path):
    # Assessment relies on it: a tombstone for a project with an open assessment round means withdrawn.
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        project_id, key = await submit_with_key(catalogue)
        for _ in range(2):  # the second withdrawal changes nothing and publishes nothing
            response = await catalogue.client.delete(f"/v1/projects/{project_id}", headers=auth("operator"))
            assert response.status_code == 200 and response.json()["status"] == "withdrawn"
        changes = (await catalogue.client.get("/v1/catalogue/changes")).json()["items"]
        assert [(c["project_id"], c["record"]) for c in changes] == [(project_id, None)]
        assert (await catalogue.client.get("/v1/catalogue")).json()["items"] == []
        shown = await catalogue.client.get(f"/v1/projects/{project_id}", headers=submitter(key))
        assert shown.json()["status"] == "withdrawn"
    [record] = await read_topic(fresh_kafka, "catalogue.projects.v1", expect=1)
    assert record.key == project_id.encode() and record.value is None


async def test_a_verdict_redelivered_under_a_new_event_id_is_applied_once(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        project_id = await submit(catalogue)
        verdict = assessed(project_id, "proven")
        for _ in range(2):
            await catalogue_applies(catalogue, verdict)
        shown = (await catalogue.client.get(f"/v1/projects/{project_id}", headers=auth("board"))).json()
        assert len(shown["verdicts"]) == 1
        assert await count(catalogue, "catalogue_changes") == 1
        assert await count(catalogue, "outbox WHERE topic = 'catalogue.projects.v1'") == 1


async def catalogue_applies(catalogue, payload) -> None:
    """Apply the payload as the consumer does, each time as a new CloudEvent (a new ce_id)."""
    async with catalogue.runtime.transaction() as uow:
        await messages.on_project_assessed(payload, new_event(payload), uow)
