"""Stages, pausing, stopping and outcome measures on real PostgreSQL and a real broker (SPEC 5.3): the HTTP API,
its refusals naming the field or condition, and ImplementationStageChanged / ImpactRecorded on their topics."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.partnering.test_partnering_service import LAB, formed_lab, publish_to_catalogue_feed
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

STAGES_TOPIC = "partnering.implementation-stage-changed.v1"
IMPACT_TOPIC = "partnering.impact-recorded.v1"


async def implementing(client, kafka: str, lab: dict | None = None) -> dict:
    """A formed lab adopting a project that the catalogue feed made proven in partnering's replica."""
    lab = lab or await formed_lab(client)
    project_id = uuid.uuid4()
    await publish_to_catalogue_feed(kafka, project_id)

    async def implemented():
        r = await client.post(f"/v1/labs/{lab['id']}/implementations", headers=LAB,
                              json={"project_id": str(project_id)})
        return r.json() if r.status_code == 201 else None

    return await eventually(implemented)


async def funded_and_running(client, iid: str) -> None:
    r = await client.post(f"/v1/implementations/{iid}/funding", headers=LAB,
                          json={"source": "Gemeente Schiedam", "kind": "base", "amount_eur": "1000.00"})
    assert r.status_code == 201, r.text
    assert (await client.post(f"/v1/implementations/{iid}/start", headers=LAB)).status_code == 200


def problem_fields(r) -> list[str]:
    return [e["field"] for e in r.json()["errors"]]


async def test_stages_pause_resume_and_stop_with_their_refusals_and_events(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        document = (await client.get("/asyncapi.json")).json()
        assert {STAGES_TOPIC, IMPACT_TOPIC} <= {c["address"] for c in document["channels"].values()}
        implementation = await implementing(client, fresh_kafka)
        iid, lab_id = implementation["id"], implementation["lab_id"]
        assert (implementation["stage"], implementation["changes"], implementation["status_reason"]) == (
            "exploration", [], None)

        r = await client.post(f"/v1/implementations/{iid}/stage", headers=LAB, json={"stage": "installation"})
        assert r.status_code == 200 and r.json()["stage"] == "installation", r.text
        skipped = await client.post(f"/v1/implementations/{iid}/stage", headers=LAB,
                                    json={"stage": "full_implementation"})
        assert skipped.status_code == 409
        assert "the next stage is initial_implementation" in skipped.json()["conditions"][0]
        back = await client.post(f"/v1/implementations/{iid}/stage", headers=LAB, json={"stage": "exploration"})
        assert back.status_code == 422 and problem_fields(back) == ["note"]
        sustainment = await client.post(f"/v1/implementations/{iid}/stage", headers=LAB,
                                         json={"stage": "sustainment"})
        assert sustainment.status_code == 422 and problem_fields(sustainment) == ["stage"]
        unknown = await client.post(f"/v1/implementations/{iid}/stage", headers=LAB, json={"stage": "hibernation"})
        assert unknown.status_code == 422 and problem_fields(unknown) == ["stage"]
        r = await client.post(f"/v1/implementations/{iid}/stage", headers=LAB,
                              json={"stage": "exploration", "note": "The housing partner withdrew"})
        assert r.status_code == 200 and r.json()["stage"] == "exploration"

        for action in ("pause", "resume", "stop"):
            for body in ({}, {"reason": "   "}):
                r = await client.post(f"/v1/implementations/{iid}/{action}", headers=LAB, json=body)
                assert r.status_code == 422 and problem_fields(r) == ["reason"], (action, body, r.text)
        not_paused = await client.post(f"/v1/implementations/{iid}/resume", headers=LAB, json={"reason": "Go"})
        assert not_paused.status_code == 409 and "not paused" in not_paused.json()["conditions"][0]
        r = await client.post(f"/v1/implementations/{iid}/pause", headers=LAB, json={"reason": "Budget not agreed"})
        assert (r.status_code, r.json()["status"], r.json()["status_reason"]) == (200, "paused", "Budget not agreed")
        while_paused = await client.post(f"/v1/implementations/{iid}/stage", headers=LAB,
                                         json={"stage": "installation"})
        assert while_paused.status_code == 409 and "paused" in while_paused.json()["conditions"][0]
        r = await client.post(f"/v1/implementations/{iid}/resume", headers=LAB, json={"reason": "Budget agreed"})
        assert r.json()["status"] == "preparing"  # it had never run
        stranger = await client.post(f"/v1/implementations/{iid}/stop", headers=auth("lab", "someone-else"),
                                     json={"reason": "Not mine"})
        assert stranger.status_code == 403
        assert (await client.post(f"/v1/implementations/{iid}/stop", json={"reason": "x"})).status_code == 401
        missing = await client.post(f"/v1/implementations/{uuid.uuid4()}/pause", headers=LAB, json={"reason": "x"})
        assert missing.status_code == 404

        r = await client.post(f"/v1/implementations/{iid}/stop", headers=LAB,
                              json={"reason": "No partner would carry the costs"})
        assert (r.status_code, r.json()["status"], r.json()["status_reason"]) == (
            200, "stopped", "No partner would carry the costs")
        for path, body in (("funding", {"source": "Schiedam", "kind": "base", "amount_eur": "1"}),
                           ("stage", {"stage": "installation"}), ("pause", {"reason": "x"}),
                           ("impact", {"period_start": "2025-01-01", "period_end": "2025-01-31",
                                       "households_reached": 1, "households_debt_free": 0})):
            closed = await client.post(f"/v1/implementations/{iid}/{path}", headers=LAB, json=body)
            assert closed.status_code == 409, (path, closed.text)
            assert "stopped" in closed.json()["conditions"][0] and "closed" in closed.json()["conditions"][0]
        # Shown with its history to every reader, the people only to the lab's own.
        shown = (await client.get(f"/v1/implementations/{iid}", headers=auth("integrator"))).json()
        assert [(c["stage"], c["status"], c["reason"]) for c in shown["changes"]] == [
            ("installation", "preparing", None), ("exploration", "preparing", "The housing partner withdrew"),
            ("exploration", "paused", "Budget not agreed"), ("exploration", "preparing", "Budget agreed"),
            ("exploration", "stopped", "No partner would carry the costs")]
        assert {c["changed_by"] for c in shown["changes"]} == {None}
        mine = (await client.get(f"/v1/implementations/{iid}", headers=LAB)).json()
        assert {c["changed_by"] for c in mine["changes"]} == {"kwartiermaker-kim"}
        # Stopped frees the project: the lab may adopt it again.
        again = await client.post(f"/v1/labs/{lab_id}/implementations", headers=LAB,
                                  json={"project_id": implementation["project_id"]})
        assert again.status_code == 201 and again.json()["stage"] == "exploration"

    records = await read_topic(fresh_kafka, STAGES_TOPIC, expect=5)
    assert all(r.key == lab_id.encode() for r in records)
    payloads = [json.loads(r.value) for r in records]
    assert [(p["stage"], p["status"], p["reason"]) for p in payloads] == [
        (c["stage"], c["status"], c["reason"]) for c in shown["changes"]]
    assert {(p["implementation_id"], p["project_id"]) for p in payloads} == {(iid, implementation["project_id"])}
    assert all(p["municipalities"] == ["Maassluis", "Vlaardingen", "Schiedam"] for p in payloads)
    headers = dict(records[-1].headers)
    assert headers["ce_type"] == b"nl.schuldenlab.project.implementation-stage-changed.v1"


async def test_outcomes_and_costs_are_totalled_exactly_published_and_handed_over(fresh_database, fresh_kafka,
                                                                                  tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        implementation = await implementing(client, fresh_kafka)
        iid = implementation["id"]
        await funded_and_running(client, iid)
        base = {"period_start": "2025-01-01", "period_end": "2025-03-31", "households_reached": 3,
                "households_debt_free": 1, "notes": "first quarter"}
        for extra, field in (({"households_stabilised": 4}, "households_stabilised"),
                             ({"households_stabilised": -1}, "households_stabilised"),
                             ({"repeat_cases": -1}, "repeat_cases"),
                             ({"median_days_to_stabilisation": 30}, "median_days_to_stabilisation"),
                             ({"cost_eur": "-0.01"}, "cost_eur"), ({"cost_eur": "0.001"}, "cost_eur"),
                             ({"benefit_eur": -5}, "benefit_eur"),
                             ({"households_debt_free": 4}, "households_debt_free")):
            r = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB, json=base | extra)
            assert r.status_code == 422 and problem_fields(r) == [field], (extra, r.text)

        # JSON numbers 0.1 and 0.2: the total cost is exactly 0.30.
        r = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB, json=base | {
            "households_stabilised": 2, "median_days_to_stabilisation": 41, "repeat_cases": 0, "cost_eur": 0.1,
            "benefit_eur": "0.30"})
        assert r.status_code == 201, r.text
        r = await client.post(f"/v1/implementations/{iid}/impact", headers=LAB, json=base | {
            "period_start": "2025-04-01", "period_end": "2025-06-30", "cost_eur": 0.2, "benefit_eur": "0.30"})
        totals = r.json()["impact_totals"]
        assert totals == {"households_reached": 6, "households_debt_free": 2, "households_stabilised": 2,
                          "repeat_cases": 0, "cost_eur": "0.30", "benefit_eur": "0.60",
                          "cost_per_household_reached_eur": "0.05", "cost_per_household_debt_free_eur": "0.15",
                          "benefit_per_euro": "2.0000"}
        assert r.json()["impact"][0]["median_days_to_stabilisation"] == 41

        r = await client.post(f"/v1/implementations/{iid}/handover", headers=LAB, json={
            "handed_over_to": ["Gemeente Schiedam"], "regular_operations": "Part of the municipal debt help"})
        assert (r.status_code, r.json()["stage"], r.json()["status"]) == (200, "sustainment", "handed_over")

        # A lab that reached nobody: the figures per household are absent (null), not infinite.
        other = await implementing(client, fresh_kafka, await formed_lab(client))
        await funded_and_running(client, other["id"])
        r = await client.post(f"/v1/implementations/{other['id']}/impact", headers=LAB, json=base | {
            "households_reached": 0, "households_debt_free": 0, "cost_eur": "500.00"})
        zero = r.json()["impact_totals"]
        assert (zero["cost_eur"], zero["cost_per_household_reached_eur"],
                zero["cost_per_household_debt_free_eur"], zero["benefit_per_euro"]) == ("500.00", None, None, None)

    recorded = [json.loads(r.value) for r in await read_topic(fresh_kafka, IMPACT_TOPIC, expect=3)]
    first = next(p for p in recorded if p["implementation_id"] == iid and p["period_start"] == "2025-01-01")
    assert {k: first[k] for k in ("period_end", "households_reached", "households_debt_free", "households_stabilised",
                                  "median_days_to_stabilisation", "repeat_cases", "cost_eur", "benefit_eur")} == {
        "period_end": "2025-03-31", "households_reached": 3, "households_debt_free": 1, "households_stabilised": 2,
        "median_days_to_stabilisation": 41, "repeat_cases": 0, "cost_eur": "0.10", "benefit_eur": "0.30"}
    assert first["municipalities"] == ["Maassluis", "Vlaardingen", "Schiedam"] and first["recorded_at"]
    [handed_over] = await read_topic(fresh_kafka, "partnering.project-handed-over.v1", expect=1)
    assert json.loads(handed_over.value)["impact"] == totals
    stage_events = [json.loads(r.value) for r in await read_topic(fresh_kafka, STAGES_TOPIC, expect=3)]
    assert [(p["stage"], p["status"]) for p in stage_events if p["implementation_id"] == iid] == [
        ("exploration", "running"), ("sustainment", "handed_over")]
