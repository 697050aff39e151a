"""The assessment service on real PostgreSQL and Kafka: rounds from events, reviews, decisions, portfolio."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.assessment.assessment_events import (
    listed,
    send_payload,
    send_withdrawal,
    submitted,
)
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

MET = {"met": True, "notes": ""}
ALL_MET = {"criteria": {"workable": MET, "reusable": MET, "available": MET}, "notes": ""}


async def _round_of(client, project_id, *, status="open") -> dict:
    async def found():
        r = await client.get(f"/v1/projects/{project_id}/assessment", headers=auth("assessor"))
        return r.json() if r.status_code == 200 and r.json()["status"] == status else None

    return await eventually(found)


async def test_each_submitted_revision_opens_one_round_and_duplicates_open_nothing(fresh_database, fresh_kafka,
                                                                                  tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("assessment", settings) as assessment:
        event = submitted("Doorbraakmethode")
        first = await send_payload(fresh_kafka, event)
        await send_payload(fresh_kafka, event, id=first.id)  # redelivered: same ce_id
        await send_payload(fresh_kafka, event)  # re-published: new ce_id, same revision
        round_1 = await _round_of(assessment.client, event.project_id)
        assert round_1["prescreen"]["workable"]["outcome"] == "met"
        assert round_1["portfolio_fit"]["gap_phases"] == ["stabilisation", "planning"]
        assert round_1["dossier"]["name"] == "Doorbraakmethode" and "contact" not in round_1["dossier"]

        decided = await assessment.client.post(
            f"/v1/assessments/{round_1['id']}/decision", headers=auth("board", "director"),
            json={"verdict": "needs_information", "rationale": "Which health insurers share the savings?"})
        assert decided.status_code == 200, decided.text
        await send_payload(fresh_kafka, submitted("Doorbraakmethode", project_id=event.project_id, revision=2))
        round_2 = await _round_of(assessment.client, event.project_id)
        assert round_2["revision"] == 2 and round_2["previous_assessment_ids"] == [round_1["id"]]

        marker = submitted("Nederlandse Schuldhulproute")  # a second project, for the status filters
        await send_payload(fresh_kafka, marker)
        await _round_of(assessment.client, marker.project_id)
        # Revision 2 shares the duplicates' key, so its round proves they were all applied before it.
        listing = await assessment.client.get("/v1/assessments", headers=auth("board"))
        rounds = [a for a in listing.json()["items"] if a["project_id"] == str(event.project_id)]
        assert sorted(a["revision"] for a in rounds) == [1, 2]
        open_ones = (await assessment.client.get("/v1/assessments?status=open", headers=auth("board"))).json()
        assert sorted((a["project_name"], a["revision"]) for a in open_ones["items"]) == [
            ("Doorbraakmethode", 2), ("Nederlandse Schuldhulproute", 1)]
        decided_ones = (await assessment.client.get("/v1/assessments?status=decided", headers=auth("board"))).json()
        assert [a["id"] for a in decided_ones["items"]] == [round_1["id"]]


async def test_reviews_and_decision_over_http_with_roles_409s_and_the_published_event(fresh_database, fresh_kafka,
                                                                                      tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("assessment", settings) as assessment:
        client = assessment.client
        event = submitted("Collectief Schuldregelen")
        await send_payload(fresh_kafka, event)
        a = await _round_of(client, event.project_id)
        reviews, decision = f"/v1/assessments/{a['id']}/reviews", f"/v1/assessments/{a['id']}/decision"

        assert (await client.post(reviews, json=ALL_MET)).status_code == 401
        assert (await client.post(reviews, json=ALL_MET, headers=auth("lab"))).status_code == 403
        assert (await client.get("/v1/assessments", headers=auth("integrator"))).status_code == 403
        assert (await client.get("/v1/assessments?status=closed", headers=auth("board"))).status_code == 422
        bad = await client.post(reviews, json={"criteria": {"workable": MET}}, headers=auth("assessor"))
        assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"criteria.reusable"}
        missing = await client.post(f"/v1/assessments/{uuid.uuid4()}/reviews", json=ALL_MET, headers=auth("board"))
        assert missing.status_code == 404

        not_reusable = {**ALL_MET, "criteria": {**ALL_MET["criteria"], "reusable": {"met": False, "notes": "?"}},
                        "seat": "subject_matter_expert"}
        first = await client.post(reviews, json=not_reusable, headers=auth("assessor", "anna"))
        assert first.status_code == 201, first.text
        assert first.json()["seat"] == "subject_matter_expert" and first.json()["reviewer"] == "anna"

        refused = await client.post(decision, json={"verdict": "proven"}, headers=auth("board", "director"))
        assert refused.status_code == 409
        assert refused.json()["conditions"] == [
            "at least 2 reviews are needed to find a project proven; this round has 1",
            ("a majority of reviews must find 'reusable' met (0 of 1 do), or the board overrides with a written "
             "override_reason")]
        assert (await client.post(decision, json={"verdict": "proven"}, headers=auth("assessor"))).status_code == 403
        no_rationale = await client.post(decision, json={"verdict": "rejected"}, headers=auth("board"))
        assert no_rationale.json()["conditions"] == ["a 'rejected' verdict needs a rationale"]

        revised = await client.post(reviews, json={**ALL_MET, "seat": "subject_matter_expert"},
                                    headers=auth("assessor", "anna"))
        assert revised.status_code == 200 and revised.json()["version"] == 2
        second = await client.post(reviews, json={**ALL_MET, "seat": "director"}, headers=auth("board", "director"))
        assert second.status_code == 201

        proven = await client.post(decision, json={"verdict": "proven", "rationale": "Proven in six cities."},
                                   headers=auth("board", "director"))
        assert proven.status_code == 200, proven.text
        body = proven.json()
        assert body["status"] == "decided" and body["decision"]["verdict"] == "proven"
        assert [r["reviewer"] for r in body["reviews"]] == ["anna", "director"]

        again = await client.post(decision, json={"verdict": "rejected", "rationale": "x"}, headers=auth("board"))
        assert again.status_code == 409 and "final for its round" in again.json()["conditions"][0]
        late = await client.post(reviews, json=ALL_MET, headers=auth("assessor", "bram"))
        assert late.status_code == 409

        public = (await client.get(f"/v1/projects/{event.project_id}/assessment")).json()
        assert public["verdict"] == "proven" and "reviews" not in public

        portfolio = (await client.get("/v1/portfolio")).json()
        by_phase = {p["phase"]: p for p in portfolio["phases"]}
        assert [x["name"] for x in by_phase["planning"]["projects"]] == ["Collectief Schuldregelen"]
        assert "planning" not in portfolio["gaps"] and "awareness" in portfolio["gaps"]

    [record] = await read_topic(fresh_kafka, "assessment.project-assessed.v1", expect=1)
    assert record.key == str(event.project_id).encode()
    published = json.loads(record.value)
    assert published["verdict"] == "proven" and published["assessment_id"] == a["id"]
    assert published["criteria"]["reusable"]["met"] is True
    assert published["portfolio"] == {"phases": ["planning", "debt_reduction"], "adds_to_portfolio": True,
                                      "similar_project_ids": []}


async def test_the_catalogue_feed_keeps_the_portfolio_and_a_withdrawal_removes_a_project(fresh_database,
                                                                                        fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("assessment", settings) as assessment:
        route = submitted("Nederlandse Schuldhulproute")
        await send_payload(fresh_kafka, listed(route))

        async def gaps():
            return (await assessment.client.get("/v1/portfolio")).json()["gaps"]

        await eventually(lambda: _lacks(gaps, "awareness"))
        await send_withdrawal(fresh_kafka, route.project_id)
        await eventually(lambda: _has(gaps, "awareness"))
        assert (await assessment.client.get("/v1/portfolio")).json()["project_count"] == 0


async def _lacks(gaps, phase) -> bool:
    return phase not in await gaps()


async def _has(gaps, phase) -> bool:
    return phase in await gaps()
