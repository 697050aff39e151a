"""Partnering on real PostgreSQL and a real broker: the HTTP API, its events and its catalogue replica."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import new_event, to_kafka_record, tombstone
from schuldenlab_contracts.events import CatalogueProject
from schuldenlab_contracts.registry import by_model
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import produce, read_topic

pytestmark = pytest.mark.integration

LAB = auth("lab", "kwartiermaker-kim")
STEPS = ["kwartiermaker_appointed", "work_plan", "administrative_support", "executive_connections",
         "programme_team", "themes_and_projects", "partner_support", "declaration_of_intent", "trial_process",
         "kick_off"]


async def publish_to_catalogue_feed(kafka: str, project_id: uuid.UUID, *, withdrawn: bool = False) -> None:
    """What the catalogue would put on its feed: the proven project, or a tombstone when it leaves."""
    if withdrawn:
        event = tombstone(by_model(CatalogueProject), str(project_id))
    else:
        now = datetime.now(UTC)
        dossier = {k: v for k, v in KNOWN_PROJECTS[0].items() if k != "contact"}
        event = new_event(CatalogueProject(
            project_id=project_id, revision=1, **dossier, assessment_id=uuid.uuid4(), decided_at=now,
            labs_implementing=[], handovers=0, municipalities=["Den Haag"], updated_at=now))
    record = to_kafka_record(event)
    await produce(kafka, record.topic, key=record.key, value=record.value, headers=list(record.headers))


async def create_lab(client, name="SchuldenlabMVS") -> dict:
    r = await client.post("/v1/labs", headers=LAB, json={
        "name": name, "municipalities": ["Maassluis", "Vlaardingen", "Schiedam"], "region": "Nieuwe Waterweg"})
    assert r.status_code == 201, r.text
    return r.json()


async def join(client, lab_id: str, organisation: str, *, municipality: bool = False) -> dict:
    r = await client.post(f"/v1/labs/{lab_id}/partners", headers=LAB, json={
        "organisation": organisation, "kind": "public" if municipality else "private",
        "sector": "government" if municipality else "housing", "is_municipality": municipality,
        "commitment": "Sees the lab as its way to innovate, implement and scale"})
    return r.json() | {"status_code": r.status_code}


async def formed_lab(client) -> dict:
    lab = await create_lab(client)
    assert (await join(client, lab["id"], "Gemeente Schiedam", municipality=True))["status_code"] == 201
    for step in ("kwartiermaker_appointed", "declaration_of_intent"):
        r = await client.put(f"/v1/labs/{lab['id']}/checklist/{step}", headers=LAB, json={"done": True})
        assert r.status_code == 200, r.text
    r = await client.post(f"/v1/labs/{lab['id']}/formation", headers=LAB)
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_lab_forms_implements_funds_measures_and_hands_over(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    project_id = uuid.uuid4()
    await publish_to_catalogue_feed(fresh_kafka, project_id)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        lab = await create_lab(client)
        assert lab["status"] == "forming" and [s["step"] for s in lab["checklist"]] == STEPS
        lab_id = lab["id"]

        municipality = await join(client, lab_id, "Gemeente Schiedam", municipality=True)
        housing = await join(client, lab_id, "Woonplus Schiedam")
        duplicate = await join(client, lab_id, "  WOONPLUS   schiedam")
        assert (municipality["status_code"], housing["status_code"], duplicate["status_code"]) == (201, 201, 409)
        assert "already a partner" in duplicate["conditions"][0]

        refused = await client.post(f"/v1/labs/{lab_id}/formation", headers=LAB)
        assert refused.status_code == 409
        assert len(refused.json()["conditions"]) == 2  # kwartiermaker and declaration of intent

        r = await client.put(f"/v1/labs/{lab_id}/checklist/kwartiermaker_appointed", headers=LAB,
                             json={"done": True, "note": "Kim appointed by the alderman"})
        assert r.status_code == 200 and r.json()["done_by"] == "kwartiermaker-kim" and r.json()["done_at"]
        await client.put(f"/v1/labs/{lab_id}/checklist/declaration_of_intent", headers=LAB, json={"done": True})

        # A project not (yet) in the replica cannot be implemented, nor can a forming lab implement.
        r = await client.post(f"/v1/labs/{lab_id}/implementations", headers=LAB, json={"project_id": str(uuid.uuid4())})
        assert r.status_code == 409 and len(r.json()["conditions"]) == 2

        formed = await client.post(f"/v1/labs/{lab_id}/formation", headers=LAB)
        assert formed.status_code == 200 and formed.json()["status"] == "formed"
        assert set(formed.json()["founding_partner_ids"]) == {municipality["id"], housing["id"]}
        again = await client.post(f"/v1/labs/{lab_id}/formation", headers=LAB)
        assert again.status_code == 409 and "already formed" in again.json()["conditions"][0]

        async def implemented():
            r = await client.post(f"/v1/labs/{lab_id}/implementations", headers=LAB,
                                  json={"project_id": str(project_id)})
            return r.json() if r.status_code == 201 else None

        implementation = await eventually(implemented)
        assert implementation["status"] == "preparing" and implementation["municipalities"] == [
            "Maassluis", "Vlaardingen", "Schiedam"]
        iid = implementation["id"]

        # Exact money: JSON numbers 0.1 and 0.2 add up to 0.30, not 0.30000000000000004.
        await client.post(f"/v1/implementations/{iid}/funding", headers=LAB,
                          json={"source": "Woonplus Schiedam", "kind": "additional", "amount_eur": 0.1})
        r = await client.post(f"/v1/implementations/{iid}/funding", headers=LAB,
                              json={"source": housing["id"], "kind": "additional", "amount_eur": 0.2})
        assert r.status_code == 201 and r.json()["funding_totals"]["total_eur"] == "0.30"
        for bad in (0.123, -5, 0, "1e-3"):
            r = await client.post(f"/v1/implementations/{iid}/funding", headers=LAB,
                                  json={"source": "Schiedam", "kind": "base", "amount_eur": bad})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount_eur", (bad, r.text)
        r = await client.post(f"/v1/implementations/{iid}/funding", headers=LAB,
                              json={"source": "Rotterdam", "kind": "base", "amount_eur": "10"})
        assert r.status_code == 422 and r.json()["errors"] == [
            {"field": "source", "reason": "'Rotterdam' is neither a partner nor a municipality of lab SchuldenlabMVS"}]

        r = await client.post(f"/v1/implementations/{iid}/start", headers=LAB)
        assert r.status_code == 409 and "municipal base funding" in r.json()["conditions"][0]
        r = await client.post(f"/v1/implementations/{iid}/handover", headers=LAB,
                              json={"handed_over_to": ["Gemeente Schiedam"], "regular_operations": "Debt help"})
        assert r.status_code == 409 and len(r.json()["conditions"]) == 2

        r = await client.post(f"/v1/implementations/{iid}/funding", headers=LAB,
                              json={"source": "Gemeente Schiedam", "kind": "base", "amount_eur": "25000.00"})
        assert r.json()["funding_totals"] == {"base_eur": "25000.00", "additional_eur": "0.30",
                                              "total_eur": "25000.30", "municipal_base_recorded": True}
        r = await client.post(f"/v1/implementations/{iid}/start", headers=LAB)
        assert r.status_code == 200 and r.json()["status"] == "running"

        impact = {"period_start": "2025-01-01", "period_end": "2025-03-31", "households_reached": 40,
                  "households_debt_free": 12, "notes": "first quarter"}
        assert (await client.post(f"/v1/implementations/{iid}/impact", headers=LAB, json=impact)).status_code == 201
        overlap = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB,
                                    json=impact | {"period_start": "2025-03-01", "period_end": "2025-04-30"})
        assert overlap.status_code == 409 and "overlaps" in overlap.json()["conditions"][0]
        too_many = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB,
                                     json=impact | {"period_start": "2025-04-01", "period_end": "2025-06-30",
                                                    "households_reached": 3, "households_debt_free": 4})
        assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "households_debt_free"
        r = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB,
                              json=impact | {"period_start": "2025-04-01", "period_end": "2025-06-30",
                                             "households_reached": 20, "households_debt_free": 9})
        # The optional outcome totals (SPEC 5.3) are null here: no period reported them.
        assert {k: v for k, v in r.json()["impact_totals"].items() if v is not None} == {
            "households_reached": 60, "households_debt_free": 21}

        r = await client.post(f"/v1/implementations/{iid}/handover", headers=LAB, json={
            "handed_over_to": ["Gemeente Schiedam", "Woonplus Schiedam"],
            "regular_operations": "Part of the municipal debt help, with Woonplus signalling arrears"})
        assert r.status_code == 200 and r.json()["status"] == "handed_over"
        closed = await client.post(f"/v1/implementations/{iid}/funding", headers=LAB,
                                   json={"source": "Schiedam", "kind": "additional", "amount_eur": "1"})
        assert closed.status_code == 409 and "closed" in closed.json()["conditions"][0]

        shown = (await client.get(f"/v1/labs/{lab_id}", headers=auth("integrator"))).json()
        assert [p["organisation"] for p in shown["partners"]] == ["Gemeente Schiedam", "Woonplus Schiedam"]
        assert {s["step"] for s in shown["checklist"] if s["done"]} == {"kwartiermaker_appointed",
                                                                          "declaration_of_intent"}
        [shown_implementation] = shown["implementations"]
        assert shown_implementation["funding_totals"]["total_eur"] == "25000.30"
        assert len(shown_implementation["impact"]) == 2 and shown_implementation["handover"]["handed_over_to"]
        listed = (await client.get("/v1/labs", headers=LAB)).json()["items"]
        summary = [(lab["name"], lab["status"], lab["partner_count"]) for lab in listed]
        assert summary == [("SchuldenlabMVS", "formed", 2)]

    joined = await read_topic(fresh_kafka, "partnering.partner-joined.v1", expect=2)
    assert [json.loads(r.value)["organisation"] for r in joined] == ["Gemeente Schiedam", "Woonplus Schiedam"]
    assert all(r.key == lab_id.encode() for r in joined)
    [formed_event] = await read_topic(fresh_kafka, "partnering.lab-formed.v1", expect=1)
    assert json.loads(formed_event.value)["municipalities"] == ["Maassluis", "Vlaardingen", "Schiedam"]
    [started] = await read_topic(fresh_kafka, "partnering.implementation-started.v1", expect=1)
    assert json.loads(started.value)["project_id"] == str(project_id)
    [handed_over] = await read_topic(fresh_kafka, "partnering.project-handed-over.v1", expect=1)
    assert {k: v for k, v in json.loads(handed_over.value)["impact"].items() if v is not None} == {
        "households_reached": 60, "households_debt_free": 21}


async def test_a_project_withdrawn_from_the_catalogue_gets_no_new_implementation(fresh_database, fresh_kafka,
                                                                                 tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    project_id = uuid.uuid4()
    await publish_to_catalogue_feed(fresh_kafka, project_id)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        first, second = await formed_lab(client), await formed_lab(client)

        async def implemented():
            r = await client.post(f"/v1/labs/{first['id']}/implementations", headers=LAB,
                                  json={"project_id": str(project_id)})
            return r.json() if r.status_code == 201 else None

        running_one = await eventually(implemented)
        await publish_to_catalogue_feed(fresh_kafka, project_id, withdrawn=True)

        not_proven = f"project {project_id} is not proven in the catalogue"

        async def tombstone_applied():
            # Probed through the first lab, which is refused either way, so no probe can start an implementation.
            r = await client.post(f"/v1/labs/{first['id']}/implementations", headers=LAB,
                                  json={"project_id": str(project_id)})
            return r.status_code == 409 and not_proven in r.json()["conditions"]

        await eventually(tombstone_applied)
        r = await client.post(f"/v1/labs/{second['id']}/implementations", headers=LAB,
                              json={"project_id": str(project_id)})
        assert r.status_code == 409 and r.json()["conditions"] == [not_proven]
        # The implementation already under way is not undone by the withdrawal.
        r = await client.get(f"/v1/implementations/{running_one['id']}", headers=LAB)
        assert r.status_code == 200 and r.json()["status"] == "preparing"


async def test_roles_input_and_missing_things(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        body = {"name": "Schuldenlab Almelo", "municipalities": ["Almelo"]}
        assert (await client.post("/v1/labs", json=body)).status_code == 401
        nonsense = {"Authorization": "Bearer nonsense"}
        assert (await client.post("/v1/labs", json=body, headers=nonsense)).status_code == 401
        assert (await client.post("/v1/labs", json=body, headers=auth("board"))).status_code == 403
        assert (await client.get("/v1/labs")).status_code == 401
        assert (await client.get("/v1/labs", headers=auth("integrator"))).status_code == 200
        r = await client.post("/v1/labs", json=body, headers=auth("operator"))
        assert r.status_code == 201
        metrics = (await client.get("/metrics")).text
        assert 'schuldenlab_partnering_lab_changes_total{kind="created"}' in metrics
        lab_id = r.json()["id"]
        assert (await client.post(f"/v1/labs/{lab_id}/partners", headers=auth("assessor"), json={
            "organisation": "Gemeente Almelo", "kind": "public", "sector": "government", "is_municipality": True,
            "commitment": "c"})).status_code == 403
        assert (await client.post(f"/v1/labs/{lab_id}/formation", headers=auth("integrator"))).status_code == 403

        r = await client.put(f"/v1/labs/{lab_id}/checklist/party", headers=LAB, json={"done": True})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "step"
        assert all(step in r.json()["errors"][0]["reason"] for step in STEPS)
        r = await client.put(f"/v1/labs/{lab_id}/checklist/work_plan", headers=LAB, json={"done": False})
        assert r.status_code == 422
        r = await client.post("/v1/labs", headers=LAB, json={"name": "  ", "municipalities": []})
        assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"name", "municipalities"}
        r = await client.post(f"/v1/labs/{lab_id}/partners", headers=LAB, json={
            "organisation": "Eneco", "kind": "alien", "sector": "energy", "is_municipality": False, "commitment": " "})
        assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"kind", "commitment"}
        assert (await client.get(f"/v1/labs/{lab_id}", headers=LAB)).json()["partners"] == []

        missing = uuid.uuid4()
        assert (await client.get(f"/v1/labs/{missing}", headers=LAB)).status_code == 404
        assert (await client.post(f"/v1/labs/{missing}/formation", headers=LAB)).status_code == 404
        assert (await client.get(f"/v1/implementations/{missing}", headers=LAB)).status_code == 404
        r = await client.post(f"/v1/implementations/{missing}/start", headers=LAB)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
