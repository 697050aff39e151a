"""Partnering on real PostgreSQL and a real broker: a versioned catalogue replica, municipalities, counts, roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import new_event, to_kafka_record, tombstone
from schuldenlab_contracts.events import CatalogueProject
from schuldenlab_contracts.registry import by_model
from tests.integration.partnering.test_partnering_service import (
    LAB,
    create_lab,
    formed_lab,
    join,
    publish_to_catalogue_feed,
)
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import produce

pytestmark = pytest.mark.integration


def proven_record(project_id: uuid.UUID, at: datetime):
    dossier = {k: v for k, v in KNOWN_PROJECTS[0].items() if k != "contact"}
    return new_event(CatalogueProject(
        project_id=project_id, revision=1, **dossier, assessment_id=uuid.uuid4(), decided_at=at,
        labs_implementing=[], handovers=0, municipalities=["Den Haag"], updated_at=at), time=at)


async def put_on_feed(kafka: str, event) -> None:
    record = to_kafka_record(event)
    await produce(kafka, record.topic, key=record.key, value=record.value, headers=list(record.headers))


async def running_implementation(client, kafka: str) -> dict:
    project_id = uuid.uuid4()
    await publish_to_catalogue_feed(kafka, project_id)
    lab = await formed_lab(client)

    async def implemented():
        r = await client.post(f"/v1/labs/{lab['id']}/implementations", headers=LAB,
                              json={"project_id": str(project_id)})
        return r.json() if r.status_code == 201 else None

    implementation = await eventually(implemented)
    r = await client.post(f"/v1/implementations/{implementation['id']}/funding", headers=LAB,
                          json={"source": "Gemeente Schiedam", "kind": "base", "amount_eur": "1000"})
    assert r.status_code == 201, r.text
    # The alderman sets it running with a lab token of their own: the lab's member adds them first.
    r = await client.post(f"/v1/labs/{lab['id']}/members", headers=LAB, json={"subject": "wethouder"})
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/implementations/{implementation['id']}/start", headers=auth("lab", "wethouder"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_stale_feed_record_replayed_after_the_tombstone_does_not_prove_the_project_again(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    project_id = uuid.uuid4()
    t1 = datetime.now(UTC) - timedelta(minutes=10)
    not_proven = f"project {project_id} is not proven in the catalogue"
    await put_on_feed(fresh_kafka, proven_record(project_id, t1))
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        forming, formed = await create_lab(client, "Probe lab"), await formed_lab(client)

        async def proven_now() -> bool:
            # Probed through a forming lab: always refused, so the probe never starts an implementation.
            r = await client.post(f"/v1/labs/{forming['id']}/implementations", headers=LAB,
                                  json={"project_id": str(project_id)})
            return r.status_code == 409 and not_proven not in r.json()["conditions"]

        await eventually(proven_now)
        await put_on_feed(fresh_kafka, tombstone(by_model(CatalogueProject), str(project_id),
                                                 time=t1 + timedelta(minutes=5)))
        await eventually(lambda: _negate(proven_now))

        # The t1 record as a dead-letter replay brings it: its original time, and a ce_id partnering's inbox has
        # not seen (its first delivery failed), so the inbox does not stop it; only the replica's version can.
        stale = proven_record(project_id, t1)
        await put_on_feed(fresh_kafka, stale)
        conn = await asyncpg.connect(fresh_database)
        try:
            await eventually(lambda: conn.fetchval("SELECT true FROM partnering.inbox WHERE event_id = $1",
                                                   uuid.UUID(stale.id)))
        finally:
            await conn.close()
        r = await client.post(f"/v1/labs/{formed['id']}/implementations", headers=LAB,
                              json={"project_id": str(project_id)})
        assert r.status_code == 409 and r.json()["conditions"] == [not_proven]


async def _negate(check) -> bool:
    return not await check()


async def test_only_a_public_partner_of_one_of_the_labs_municipalities_counts_as_the_municipality(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        lab = await create_lab(client)
        shell = await client.post(f"/v1/labs/{lab['id']}/partners", headers=LAB, json={
            "organisation": "Shell", "kind": "private", "sector": "energy", "is_municipality": True,
            "commitment": "Money"})
        assert shell.status_code == 422 and [e["field"] for e in shell.json()["errors"]] == ["is_municipality"]
        assert "public" in shell.json()["errors"][0]["reason"]

        assert (await join(client, lab["id"], "Gemeente Rotterdam", municipality=True))["status_code"] == 201
        for step in ("kwartiermaker_appointed", "declaration_of_intent"):
            await client.put(f"/v1/labs/{lab['id']}/checklist/{step}", headers=LAB, json={"done": True})
        r = await client.post(f"/v1/labs/{lab['id']}/formation", headers=LAB)
        assert r.status_code == 409 and r.json()["conditions"] == [
            "no municipality of the lab (Maassluis, Vlaardingen, Schiedam) has joined the lab with an explicit "
            "commitment"]
        assert [p["organisation"] for p in (await client.get(f"/v1/labs/{lab['id']}", headers=LAB)).json()[
            "partners"]] == ["Gemeente Rotterdam"]


async def test_base_funding_from_another_municipality_does_not_let_the_implementation_run(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    project_id = uuid.uuid4()
    await publish_to_catalogue_feed(fresh_kafka, project_id)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        lab = await formed_lab(client)
        assert (await join(client, lab["id"], "Gemeente Rotterdam", municipality=True))["status_code"] == 201

        async def implemented():
            r = await client.post(f"/v1/labs/{lab['id']}/implementations", headers=LAB,
                                  json={"project_id": str(project_id)})
            return r.json() if r.status_code == 201 else None

        iid = (await eventually(implemented))["id"]
        r = await client.post(f"/v1/implementations/{iid}/funding", headers=LAB,
                              json={"source": "Gemeente Rotterdam", "kind": "base", "amount_eur": "5000"})
        assert r.status_code == 201 and r.json()["funding"][0]["source_is_municipality"] is False
        r = await client.post(f"/v1/implementations/{iid}/start", headers=LAB)
        assert r.status_code == 409 and "municipal base funding" in r.json()["conditions"][0]


async def test_household_counts_are_whole_numbers_the_database_can_hold(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        iid = (await running_implementation(client, fresh_kafka))["id"]
        period = {"period_start": "2025-01-01", "period_end": "2025-01-31"}
        for reached, debt_free, field in ((3_000_000_000, 1, "households_reached"),
                                          (True, False, "households_reached"),
                                          (5, True, "households_debt_free")):
            r = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB, json=period | {
                "households_reached": reached, "households_debt_free": debt_free})
            assert r.status_code == 422 and field in {e["field"] for e in r.json()["errors"]}, (reached, r.text)
        assert (await client.get(f"/v1/implementations/{iid}", headers=LAB)).json()["impact"] == []
        r = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB, json=period | {
            "households_reached": 2_147_483_647, "households_debt_free": 0})
        assert r.status_code == 201, r.text


async def test_every_change_needs_a_lab_token(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        lab_id = (await create_lab(client))["id"]
        iid = uuid.uuid4()  # the role is checked before anything is looked up
        changes = [
            ("POST", "/v1/labs", {"name": "Schuldenlab Almelo", "municipalities": ["Almelo"]}),
            ("PUT", f"/v1/labs/{lab_id}/checklist/work_plan", {"done": True}),
            ("POST", f"/v1/labs/{lab_id}/partners", {
                "organisation": "Gemeente Schiedam", "kind": "public", "sector": "government",
                "is_municipality": True, "commitment": "c"}),
            ("POST", f"/v1/labs/{lab_id}/formation", None),
            ("POST", f"/v1/labs/{lab_id}/implementations", {"project_id": str(uuid.uuid4())}),
            ("POST", f"/v1/implementations/{iid}/funding", {"source": "Schiedam", "kind": "base", "amount_eur": "1"}),
            ("POST", f"/v1/implementations/{iid}/start", None),
            ("POST", f"/v1/implementations/{iid}/impact", {
                "period_start": "2025-01-01", "period_end": "2025-01-31", "households_reached": 1,
                "households_debt_free": 0}),
            ("POST", f"/v1/implementations/{iid}/handover", {"handed_over_to": ["A"], "regular_operations": "x"}),
        ]
        for method, path, body in changes:
            assert (await client.request(method, path, json=body)).status_code == 401, path
            for role in ("integrator", "board"):
                r = await client.request(method, path, json=body, headers=auth(role))
                assert r.status_code == 403, (role, path, r.status_code)
        lab = (await client.get(f"/v1/labs/{lab_id}", headers=LAB)).json()
        assert lab["partners"] == [] and not any(s["done"] for s in lab["checklist"])
        assert len((await client.get("/v1/labs", headers=LAB)).json()["items"]) == 1


async def test_the_views_show_who_did_what_and_a_repeated_step_keeps_its_history(fresh_database, fresh_kafka,
                                                                                 tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        implementation = await running_implementation(client, fresh_kafka)
        assert (implementation["started_by"], implementation["running_by"]) == ("kwartiermaker-kim", "wethouder")
        lab_id = implementation["lab_id"]
        first = (await client.put(f"/v1/labs/{lab_id}/checklist/work_plan", headers=LAB,
                                  json={"done": True, "note": "draft"})).json()
        r = await client.post(f"/v1/labs/{lab_id}/members", headers=LAB, json={"subject": "someone-else"})
        assert r.status_code == 201, r.text
        again = await client.put(f"/v1/labs/{lab_id}/checklist/work_plan", headers=auth("lab", "someone-else"),
                                 json={"done": True, "note": "final"})
        assert again.status_code == 200
        assert (again.json()["done_by"], again.json()["done_at"], again.json()["note"]) == (
            "kwartiermaker-kim", first["done_at"], "final")
        iid = implementation["id"]
        r = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB, json={
            "period_start": "2025-01-01", "period_end": "2025-01-31", "households_reached": 3,
            "households_debt_free": 1})
        assert r.status_code == 201 and r.json()["impact"][0]["recorded_by"] == "kwartiermaker-kim"
        r = await client.post(f"/v1/implementations/{iid}/handover", headers=LAB, json={
            "handed_over_to": ["Gemeente Schiedam"], "regular_operations": "Part of the municipal debt help"})
        assert r.status_code == 200 and r.json()["handover"]["handed_over_by"] == "kwartiermaker-kim"
        lab = (await client.get(f"/v1/labs/{lab_id}", headers=LAB)).json()
        assert lab["formed_by"] == "kwartiermaker-kim"
        [work_plan] = [s for s in lab["checklist"] if s["step"] == "work_plan"]
        assert (work_plan["done_by"], work_plan["note"]) == ("kwartiermaker-kim", "final")
        [shown] = lab["implementations"]
        assert (shown["started_by"], shown["running_by"]) == ("kwartiermaker-kim", "wethouder")
        # Who did what is the lab's own business: another role (or another lab) reads the lab without names.
        outside = (await client.get(f"/v1/labs/{lab_id}", headers=auth("integrator"))).json()
        [work_plan] = [s for s in outside["checklist"] if s["step"] == "work_plan"]
        assert (outside["formed_by"], work_plan["done_by"], work_plan["note"]) == (None, None, "final")
        [shown] = outside["implementations"]
        assert (shown["started_by"], shown["running_by"], shown["funding"][0]["recorded_by"]) == (None, None, None)
        assert shown["impact"][0]["recorded_by"] is None and shown["handover"]["handed_over_by"] is None
        alone = (await client.get(f"/v1/implementations/{iid}", headers=auth("lab", "another-lab"))).json()
        assert (alone["started_by"], alone["handover"]["handed_over_by"]) == (None, None)
        assert (await client.get(f"/v1/implementations/{iid}", headers=auth("operator"))).json()[
            "started_by"] == "kwartiermaker-kim"
