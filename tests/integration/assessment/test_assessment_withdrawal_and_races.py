"""The assessment on real PostgreSQL and Kafka: a withdrawal closes the open round (also one opened after its
tombstone); racing decisions on a round."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.assessment.assessment_events import listed, send_payload, send_withdrawal, submitted
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

MET = {"met": True, "notes": ""}
ALL_MET = {"criteria": {"workable": MET, "reusable": MET, "available": MET}, "notes": ""}
WITHDRAWN = "the project was withdrawn from the catalogue; its round takes no more reviews or decisions"


async def _round_of(client, project_id, *, status="open") -> dict:
    async def found():
        r = await client.get(f"/v1/projects/{project_id}/assessment", headers=auth("assessor"))
        return r.json() if r.status_code == 200 and r.json()["status"] == status else None

    return await eventually(found)


async def _reviewed_round(client, kafka: str, name: str) -> tuple[object, dict]:
    event = submitted(name)
    await send_payload(kafka, event)
    round_ = await _round_of(client, event.project_id)
    for subject in ("anna", "bram"):
        r = await client.post(f"/v1/assessments/{round_['id']}/reviews", json=ALL_MET, headers=auth("board", subject))
        assert r.status_code == 201, r.text
    return event, round_


async def test_a_tombstone_for_a_project_with_an_open_round_withdraws_it_so_proven_is_refused(fresh_database,
                                                                                           fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("assessment", settings) as assessment:
        client = assessment.client
        other = submitted("Nederlandse Schuldhulproute")  # a listed project, so the portfolio is not empty
        await send_payload(fresh_kafka, listed(other))
        event, round_ = await _reviewed_round(client, fresh_kafka, "Doorbraakmethode")

        async def portfolio():
            r = await client.get("/v1/portfolio")
            return r.json() if r.json()["project_count"] == 1 else None

        before = await eventually(portfolio)
        await send_withdrawal(fresh_kafka, event.project_id)
        withdrawn = await _round_of(client, event.project_id, status="withdrawn")
        assert withdrawn["id"] == round_["id"] and len(withdrawn["reviews"]) == 2  # still readable

        decision = await client.post(f"/v1/assessments/{round_['id']}/decision", headers=auth("board", "director"),
                                     json={"verdict": "proven", "rationale": "Proven in six cities."})
        assert decision.status_code == 409 and decision.json()["conditions"] == [WITHDRAWN]
        review = await client.post(f"/v1/assessments/{round_['id']}/reviews", json=ALL_MET,
                                   headers=auth("board", "carla"))
        assert review.status_code == 409 and review.json()["conditions"] == [WITHDRAWN]
        assert (await client.get("/v1/portfolio")).json() == before
        only_withdrawn = (await client.get("/v1/assessments?status=withdrawn", headers=auth("board"))).json()
        assert [a["id"] for a in only_withdrawn["items"]] == [round_["id"]]


async def test_a_submission_from_before_a_tombstone_handled_first_opens_withdrawn_so_proven_is_refused(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("assessment", settings) as assessment:
        client = assessment.client
        other = submitted("Nederlandse Schuldhulproute")  # stays in the portfolio throughout
        event = submitted("Doorbraakmethode", submitted_at=datetime.now(UTC) - timedelta(hours=1))
        await send_payload(fresh_kafka, listed(other))
        # The project is listed first only to see the tombstone handled (it takes the project out of the
        # portfolio): the ProjectSubmitted, on another topic, must be handled after it.
        await send_payload(fresh_kafka, listed(event))

        async def portfolio(count):
            r = await client.get("/v1/portfolio")
            return r.json() if r.json()["project_count"] == count else None

        await eventually(lambda: portfolio(2))
        withdrawn_at = datetime.now(UTC)  # after the listing's event time, or the feed drops the tombstone as stale
        assert event.submitted_at < withdrawn_at
        await send_withdrawal(fresh_kafka, event.project_id, time=withdrawn_at)
        before = await eventually(lambda: portfolio(1))
        await send_payload(fresh_kafka, event)

        async def any_round():
            r = await client.get(f"/v1/projects/{event.project_id}/assessment", headers=auth("assessor"))
            return r.json() if r.status_code == 200 else None

        round_ = await eventually(any_round)
        assert round_["status"] == "withdrawn", round_
        decision = await client.post(f"/v1/assessments/{round_['id']}/decision", headers=auth("board", "director"),
                                     json={"verdict": "proven", "rationale": "Proven in six cities.",
                                           "override_reason": "The board has seen it work."})
        assert decision.status_code == 409 and decision.json()["conditions"] == [WITHDRAWN]
        review = await client.post(f"/v1/assessments/{round_['id']}/reviews", json=ALL_MET,
                                   headers=auth("board", "anna"))
        assert review.status_code == 409 and review.json()["conditions"] == [WITHDRAWN]
        assert (await client.get("/v1/portfolio")).json() == before


async def test_of_concurrent_decisions_and_a_review_on_one_round_exactly_one_decision_wins(fresh_database,
                                                                                          fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("assessment", settings) as assessment:
        client = assessment.client
        event, round_ = await _reviewed_round(client, fresh_kafka, "Collectief Schuldregelen")
        decision, reviews = f"/v1/assessments/{round_['id']}/decision", f"/v1/assessments/{round_['id']}/reviews"
        bodies = [{"verdict": "proven", "rationale": f"Proven, says member {i}."} for i in range(3)] + [
            {"verdict": "rejected", "rationale": f"Rejected, says member {i}."} for i in range(3)]
        *decided, review = await asyncio.gather(
            *(client.post(decision, json=body, headers=auth("board", f"member-{i}")) for i, body in enumerate(bodies)),
            client.post(reviews, json=ALL_MET, headers=auth("board", "carla")))

        statuses = sorted(r.status_code for r in decided)
        assert statuses == [200] + [409] * 5, [r.text for r in decided]
        [winner] = [r.json() for r in decided if r.status_code == 200]
        for loser in (r for r in decided if r.status_code == 409):
            assert "final for its round" in loser.json()["conditions"][0]
        assert review.status_code in (201, 409), review.text
        final = (await client.get(f"/v1/assessments/{round_['id']}", headers=auth("board"))).json()
        assert final["decision"] == winner["decision"]
        # The review either came before the decision (and counts in it) or was refused: never after it.
        assert ("carla" in {r["reviewer"] for r in final["reviews"]}) == (review.status_code == 201)
        assert ("carla" in {r["reviewer"] for r in winner["reviews"]}) == (review.status_code == 201)

    [record] = await read_topic(fresh_kafka, "assessment.project-assessed.v1", expect=1)
    published = json.loads(record.value)
    assert record.key == str(event.project_id).encode()
    assert published["assessment_id"] == round_["id"] and published["verdict"] == winner["decision"]["verdict"]
    assert published["rationale"] == winner["decision"]["rationale"]
