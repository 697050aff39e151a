"""Ratings that last a set time (SPEC 5.2) on real PostgreSQL and Kafka: evidence level, scheduler, board, renewal."""

from __future__ import annotations

import asyncio
import json

import pytest

from assessment.entrypoints import scheduler
from tests.integration.assessment.assessment_events import send_payload, submitted
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

MET = {"met": True, "notes": ""}
ALL_MET = {"criteria": {"workable": MET, "reusable": MET, "available": MET}, "notes": ""}
ASSESSED, DUE = "assessment.project-assessed.v1", "assessment.reassessment-due.v1"
# Ratings of seconds: validity 0.00005 days (4.3 s), notice 0.00004 days (3.5 s): due 0.9 s after the decision.
SHORT = {"SCHULDENLAB_RATING_VALIDITY_DAYS": "0.00005", "SCHULDENLAB_REASSESSMENT_NOTICE_DAYS": "0.00004"}
# A day-long validity: nothing falls due during a test unless the board asks.
LONG = {"SCHULDENLAB_RATING_VALIDITY_DAYS": "1", "SCHULDENLAB_REASSESSMENT_NOTICE_DAYS": "0.5"}


async def _open_round(client, project_id, *, reassessment=None) -> dict:
    async def found():
        r = await client.get(f"/v1/projects/{project_id}/assessment", headers=auth("assessor"))
        body = r.json() if r.status_code == 200 else {}
        return body if body.get("status") == "open" and body.get("reassessment") == reassessment else None

    return await eventually(found)


async def _decide(client, round_id, verdict="proven", **extra):
    for who in ("director", "expert"):
        r = await client.post(f"/v1/assessments/{round_id}/reviews", json=ALL_MET, headers=auth("board", who))
        assert r.status_code in (200, 201), r.text
    return await client.post(f"/v1/assessments/{round_id}/decision", headers=auth("board", "director"),
                             json={"verdict": verdict, "rationale": "Besloten.", **extra})


async def _proven(kafka, client, name="Doorbraakmethode", **extra) -> dict:
    event = submitted(name)
    await send_payload(kafka, event)
    round_ = await _open_round(client, event.project_id)
    decided = await _decide(client, round_["id"], **extra)
    assert decided.status_code == 200, decided.text
    return decided.json()


def _values(records) -> list[dict]:
    return [json.loads(r.value) for r in records]


async def test_a_decision_with_an_evidence_level_publishes_it_with_the_validity(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, **LONG)
    async with running_service("assessment", settings) as assessment:
        client = assessment.client
        decided = await _proven(fresh_kafka, client, evidence_level="effective")
        channels = json.dumps((await client.get("/asyncapi.json")).json()["channels"])
        assert "assessment.reassessment-due.v1" in channels  # registered with its publishers: documented
        assert decided["evidence_level"] == "effective" and decided["valid_until"]
        other = submitted("Collectief Schuldregelen")
        await send_payload(fresh_kafka, other)
        round_ = await _open_round(client, other.project_id)
        refused = await client.post(f"/v1/assessments/{round_['id']}/decision", headers=auth("board"),
                                    json={"verdict": "rejected", "rationale": "Nee.", "evidence_level": "evaluated"})
        assert refused.status_code == 422 and "evidence_level" in refused.text
        bad = await client.post(f"/v1/assessments/{round_['id']}/decision", headers=auth("board"),
                                json={"verdict": "proven", "evidence_level": "anecdotal"})
        assert bad.status_code == 422 and "evidence_level" in bad.text
        [event] = _values(await read_topic(fresh_kafka, ASSESSED, expect=1))
    assert event["evidence_level"] == "effective" and event["project_id"] == decided["project_id"]
    assert event["valid_until"].replace("Z", "+00:00") == decided["valid_until"].replace("Z", "+00:00")


async def _outbox_count(service, ce_type_suffix: str) -> int:
    return await service.runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE ce_type LIKE $1",
                                               f"%{ce_type_suffix}")


async def test_the_scheduler_opens_the_reassessment_at_notice_time_once_across_two_runtimes(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_RATING_CHECK_INTERVAL="0.1",
                                **SHORT)
    async with running_service("assessment", settings) as one, running_service("assessment", settings) as two:
        decided = await _proven(fresh_kafka, one.client)
        # Nobody asks: the scheduler of one of the runtimes opens the round when the notice time comes.
        round_ = await _open_round(one.client, decided["project_id"], reassessment="expiry")
        assert round_["revision"] == decided["revision"] and round_["previous_assessment_ids"] == [decided["id"]]
        # Both replicas pass again, many times at once: nothing more opens.
        opened = await asyncio.gather(*(scheduler.run_once(rt) for rt in (one.runtime, two.runtime) * 5))
        assert sum(opened) == 0
        assert await _outbox_count(one, "reassessment-due.v1") == 1
        [due] = _values(await read_topic(fresh_kafka, DUE, expect=1))
    assert (due["project_id"], due["assessment_id"], due["reason"]) == (decided["project_id"], round_["id"], "expiry")
    assert due["valid_until"].replace("Z", "+00:00") == decided["valid_until"].replace("Z", "+00:00")


async def test_two_runtimes_passing_at_the_same_moment_open_a_due_round_once(fresh_database, fresh_kafka, tmp_path):
    # The background passes wait an hour after their first: the passes below are the only ones after the decision.
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_RATING_CHECK_INTERVAL="3600",
                                **SHORT)
    async with running_service("assessment", settings) as one, running_service("assessment", settings) as two:
        decided = await _proven(fresh_kafka, one.client)

        async def due():
            return await one.runtime.pool.fetchval("SELECT notice_at <= now() FROM ratings WHERE project_id = $1::uuid",
                                                   decided["project_id"])

        await eventually(due)
        opened = await asyncio.gather(*(scheduler.run_once(rt) for rt in (one.runtime, two.runtime) * 5))
        assert sum(opened) == 1
        assert await _outbox_count(one, "reassessment-due.v1") == 1


async def test_the_board_asks_for_a_reassessment_and_a_renewed_proven_extends_the_rating(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, **LONG)
    async with running_service("assessment", settings) as assessment:
        client = assessment.client
        decided = await _proven(fresh_kafka, client)
        path = f"/v1/projects/{decided['project_id']}/reassessment"
        body = {"reason": "The fund stopped taking new young people."}
        assert (await client.post(path, json=body)).status_code == 401
        assert (await client.post(path, json=body, headers=auth("assessor"))).status_code == 403
        missing = await client.post(path, json={}, headers=auth("board"))
        assert missing.status_code == 422 and "reason" in missing.text
        unknown = await client.post("/v1/projects/00000000-0000-4000-8000-000000000000/reassessment", json=body,
                                    headers=auth("board"))
        assert unknown.status_code == 409

        opened = await client.post(path, json=body, headers=auth("board"))
        assert opened.status_code == 201, opened.text
        round_ = opened.json()
        assert round_["reassessment"] == "requested" and round_["status"] == "open"
        again = await client.post(path, json=body, headers=auth("board"))
        assert again.status_code == 409 and "already open" in again.text

        renewed = await _decide(client, round_["id"], evidence_level="evaluated")
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["valid_until"] > decided["valid_until"]
        # The renewed rating has no open re-assessment: the board may ask again.
        assert (await client.post(path, json=body, headers=auth("board"))).status_code == 201
        [due, _] = _values(await read_topic(fresh_kafka, DUE, expect=2))
        events = _values(await read_topic(fresh_kafka, ASSESSED, expect=2))
    assert due["reason"] == "requested" and due["assessment_id"] == round_["id"]
    assert [e["evidence_level"] for e in events] == ["practice_based", "evaluated"]
    assert events[1]["revision"] == events[0]["revision"] and events[1]["valid_until"] > events[0]["valid_until"]


async def test_a_due_time_survives_a_restart(fresh_database, fresh_kafka, tmp_path):
    # The first runtime's scheduler passes once at its start (nothing due yet) and then not for an hour.
    before = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_RATING_CHECK_INTERVAL="3600", **SHORT)
    async with running_service("assessment", before) as first:
        decided = await _proven(fresh_kafka, first.client)
    after = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_RATING_CHECK_INTERVAL="0.1", **SHORT)
    async with running_service("assessment", after) as second:
        round_ = await _open_round(second.client, decided["project_id"], reassessment="expiry")
    assert round_["previous_assessment_ids"] == [decided["id"]]
