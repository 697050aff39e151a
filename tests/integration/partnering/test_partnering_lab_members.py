"""Partnering on real PostgreSQL and a real broker: a lab token changes only the labs it is a member of."""

from __future__ import annotations

import pytest

from tests.integration.partnering.test_partnering_review_rules import running_implementation
from tests.integration.partnering.test_partnering_service import LAB, create_lab
from tests.support.harness import auth, running_service, service_settings

pytestmark = pytest.mark.integration

MALLORY = auth("lab", "kwartiermaker-elsewhere")


async def test_a_lab_token_of_another_lab_is_refused_every_change_and_changes_nothing(fresh_database, fresh_kafka,
                                                                                       tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        implementation = await running_implementation(client, fresh_kafka)
        lab_id, iid = implementation["lab_id"], implementation["id"]
        before_lab = (await client.get(f"/v1/labs/{lab_id}", headers=LAB)).json()
        before_members = (await client.get(f"/v1/labs/{lab_id}/members", headers=LAB)).json()
        changes = [
            ("PUT", f"/v1/labs/{lab_id}/checklist/work_plan", {"done": True}),
            ("POST", f"/v1/labs/{lab_id}/partners", {
                "organisation": "Eneco", "kind": "private", "sector": "energy", "is_municipality": False,
                "commitment": "Signals energy debts"}),
            ("POST", f"/v1/labs/{lab_id}/formation", None),
            ("POST", f"/v1/labs/{lab_id}/implementations", {"project_id": implementation["project_id"]}),
            ("POST", f"/v1/labs/{lab_id}/members", {"subject": "kwartiermaker-elsewhere"}),
            ("DELETE", f"/v1/labs/{lab_id}/members/kwartiermaker-kim", None),
            ("POST", f"/v1/implementations/{iid}/funding", {"source": "Schiedam", "kind": "base", "amount_eur": "1"}),
            ("POST", f"/v1/implementations/{iid}/start", None),
            ("POST", f"/v1/implementations/{iid}/impact", {
                "period_start": "2025-01-01", "period_end": "2025-01-31", "households_reached": 1,
                "households_debt_free": 0}),
            ("POST", f"/v1/implementations/{iid}/handover", {"handed_over_to": ["A"], "regular_operations": "x"}),
        ]
        for method, path, body in changes:
            r = await client.request(method, path, json=body, headers=MALLORY)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json" and "member" in r.json()["detail"]
        assert (await client.get(f"/v1/labs/{lab_id}", headers=LAB)).json() == before_lab
        assert (await client.get(f"/v1/labs/{lab_id}/members", headers=LAB)).json() == before_members
        # Reading is not changing: the other lab's token reads the lab, without who did what, but not its members.
        seen = await client.get(f"/v1/labs/{lab_id}", headers=MALLORY)
        assert seen.status_code == 200 and seen.json()["formed_by"] is None
        assert (await client.get(f"/v1/labs/{lab_id}/members", headers=MALLORY)).status_code == 403


async def test_members_add_and_remove_members_and_the_operator_manages_any_lab(fresh_database, fresh_kafka,
                                                                                tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        lab_id = (await create_lab(client))["id"]
        members = (await client.get(f"/v1/labs/{lab_id}/members", headers=LAB)).json()["items"]
        assert [(m["subject"], m["added_by"]) for m in members] == [("kwartiermaker-kim", "kwartiermaker-kim")]

        r = await client.post(f"/v1/labs/{lab_id}/members", headers=LAB, json={"subject": "programme-team"})
        assert r.status_code == 201 and r.json()["added_by"] == "kwartiermaker-kim"
        team = auth("lab", "programme-team")
        r = await client.put(f"/v1/labs/{lab_id}/checklist/work_plan", headers=team, json={"done": True})
        assert r.status_code == 200 and r.json()["done_by"] == "programme-team"
        r = await client.post(f"/v1/labs/{lab_id}/members", headers=team, json={"subject": "programme-team"})
        assert r.status_code == 409 and "already a member" in r.json()["conditions"][0]
        r = await client.post(f"/v1/labs/{lab_id}/members", headers=team, json={"subject": " programme-team"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "subject"
        assert (await client.delete(f"/v1/labs/{lab_id}/members/nobody", headers=team)).status_code == 404

        # The operator removes a member of a lab it is no member of; the removed token can no longer change it.
        assert (await client.delete(f"/v1/labs/{lab_id}/members/programme-team",
                                    headers=auth("operator"))).status_code == 204
        r = await client.put(f"/v1/labs/{lab_id}/checklist/kick_off", headers=team, json={"done": True})
        assert r.status_code == 403
        # The last member cannot remove itself (409); the operator can, and can add members again.
        r = await client.delete(f"/v1/labs/{lab_id}/members/kwartiermaker-kim", headers=LAB)
        assert r.status_code == 409 and "last member" in r.json()["conditions"][0]
        assert (await client.delete(f"/v1/labs/{lab_id}/members/kwartiermaker-kim",
                                    headers=auth("operator"))).status_code == 204
        assert (await client.put(f"/v1/labs/{lab_id}/checklist/kick_off", headers=LAB,
                                 json={"done": True})).status_code == 403
        r = await client.post(f"/v1/labs/{lab_id}/members", headers=auth("operator"), json={"subject": "new-kim"})
        assert r.status_code == 201 and r.json()["added_by"] == "operator"
        r = await client.put(f"/v1/labs/{lab_id}/checklist/kick_off", headers=auth("lab", "new-kim"),
                             json={"done": True})
        assert r.status_code == 200
        # Roles other than lab and operator manage no members, not even under a member's name.
        r = await client.post(f"/v1/labs/{lab_id}/members", headers=auth("board", "new-kim"), json={"subject": "x"})
        assert r.status_code == 403
        assert (await client.get(f"/v1/labs/{lab_id}/members", headers=auth("board", "new-kim"))).status_code == 403


async def test_a_lab_the_operator_creates_has_no_member_until_one_is_added(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("partnering", settings) as partnering:
        client = partnering.client
        r = await client.post("/v1/labs", headers=auth("operator"),
                               json={"name": "Schuldenlab Almelo", "municipalities": ["Almelo"]})
        assert r.status_code == 201, r.text
        lab_id = r.json()["id"]
        assert (await client.get(f"/v1/labs/{lab_id}/members", headers=auth("operator"))).json() == {"items": []}
        r = await client.put(f"/v1/labs/{lab_id}/checklist/work_plan", headers=auth("lab", "operator"),
                             json={"done": True})
        assert r.status_code == 403
        assert (await client.put(f"/v1/labs/{lab_id}/checklist/work_plan", headers=auth("operator"),
                                 json={"done": True})).status_code == 200
