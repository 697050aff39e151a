"""GET /v1/labs/{id}/coverage on real PostgreSQL and a real broker: partnering's replica, fed with catalogue
records (phases and rating), gives each lab its covered phases and ranked suggestions for its gaps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.events import CatalogueProject, Rating
from tests.integration.partnering.test_partnering_service import LAB, formed_lab
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import produce

pytestmark = pytest.mark.integration


async def publish(kafka: str, name: str, phases: list[str], level: str | None) -> str:
    """A catalogue feed record: a known dossier under another name and phases, with a rating if `level`."""
    now = datetime.now(UTC)
    dossier = {k: v for k, v in KNOWN_PROJECTS[0].items() if k not in ("contact", "name", "phases")}
    rating = Rating(evidence_level=level, valid_until=now + timedelta(days=1095), status="current") if level else None
    project_id = uuid.uuid4()
    record = to_kafka_record(new_event(CatalogueProject(
        project_id=project_id, revision=1, name=name, phases=phases, **dossier, assessment_id=uuid.uuid4(),
        decided_at=now, labs_implementing=[], handovers=0, municipalities=["Den Haag"], updated_at=now,
        rating=rating)))
    await produce(kafka, record.topic, key=record.key, value=record.value, headers=list(record.headers))
    return str(project_id)


async def adopt(client, lab_id: str, project_id: str) -> dict:
    async def adopted():
        r = await client.post(f"/v1/labs/{lab_id}/implementations", headers=LAB, json={"project_id": project_id})
        return r.json() if r.status_code == 201 else None

    return await eventually(adopted)


async def test_coverage_shows_gaps_with_suggestions_best_evidence_then_most_sites(fresh_database, fresh_kafka,
                                                                                tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    projects = {
        "route": await publish(fresh_kafka, "Nederlandse Schuldhulproute", ["awareness", "referral"], "evaluated"),
        "jpf": await publish(fresh_kafka, "Jongeren Perspectief Fonds", ["debt_reduction", "aftercare"], "effective"),
        "doorbraak": await publish(fresh_kafka, "Doorbraakmethode", ["stabilisation", "planning"], "practice_based"),
        "collectief": await publish(fresh_kafka, "Collectief Schuldregelen", ["planning", "debt_reduction"],
                                    "practice_based"),
        "unrated": await publish(fresh_kafka, "Budgetcoach zonder rating", ["planning"], None),
        "plan_effective": await publish(fresh_kafka, "Planwijzer", ["planning"], "effective"),
    }
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        lab, second, third = await formed_lab(client), await formed_lab(client), await formed_lab(client)
        await adopt(client, lab["id"], projects["route"])
        await adopt(client, lab["id"], projects["jpf"])
        # Sites elsewhere: Collectief Schuldregelen runs in two other labs, Doorbraakmethode in none (stopped).
        await adopt(client, second["id"], projects["collectief"])
        await adopt(client, third["id"], projects["collectief"])
        stopped = await adopt(client, second["id"], projects["doorbraak"])
        r = await client.post(f"/v1/implementations/{stopped['id']}/stop", headers=LAB, json={"reason": "No fit"})
        assert r.status_code == 200
        # Every record of the feed is in the replica before the coverage is read.
        await adopt(client, third["id"], projects["unrated"])
        await adopt(client, third["id"], projects["plan_effective"])

        r = await client.get(f"/v1/labs/{lab['id']}/coverage", headers=auth("board"))
        assert r.status_code == 200, r.text
        coverage = r.json()
        assert coverage["lab_id"] == lab["id"]
        phases = {p["phase"]: p for p in coverage["phases"]}
        assert list(phases) == ["awareness", "intake", "referral", "stabilisation", "planning", "debt_reduction",
                                "aftercare"]
        assert coverage["gaps"] == ["intake", "stabilisation", "planning"]
        assert [i["project_name"] for i in phases["aftercare"]["implementations"]] == ["Jongeren Perspectief Fonds"]
        assert phases["aftercare"]["covered"] and phases["aftercare"]["suggestions"] == []
        assert phases["intake"]["suggestions"] == []
        planning = [(s["name"], s["evidence_level"], s["sites"]) for s in phases["planning"]["suggestions"]]
        assert planning == [("Planwijzer", "effective", 1), ("Collectief Schuldregelen", "practice_based", 2),
                            ("Doorbraakmethode", "practice_based", 0), ("Budgetcoach zonder rating", None, 1)]
        assert [s["name"] for s in phases["stabilisation"]["suggestions"]] == ["Doorbraakmethode"]

        # Stopping its awareness project opens the gap again, without suggesting that project back.
        [route] = [i for i in phases["awareness"]["implementations"]]
        r = await client.post(f"/v1/implementations/{route['implementation_id']}/stop", headers=LAB,
                              json={"reason": "The route moved to the region"})
        assert r.status_code == 200
        after = (await client.get(f"/v1/labs/{lab['id']}/coverage", headers=LAB)).json()
        assert after["gaps"] == ["awareness", "intake", "referral", "stabilisation", "planning"]
        assert {p["phase"]: p["suggestions"] for p in after["phases"]}["awareness"] == []

        assert (await client.get(f"/v1/labs/{uuid.uuid4()}/coverage", headers=LAB)).status_code == 404
        assert (await client.get(f"/v1/labs/{lab['id']}/coverage")).status_code == 401
