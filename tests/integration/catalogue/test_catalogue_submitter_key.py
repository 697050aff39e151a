"""The submitter's key: only its holder (or an operator) may resubmit or read an unlisted project in full."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.catalogue.catalogue_support import (
    CONTACT,
    count,
    decide,
    dossier,
    submit_with_key,
    submitter,
)
from tests.support.harness import auth, running_service, service_settings

pytestmark = pytest.mark.integration


async def test_without_the_submitters_key_nobody_can_take_over_a_project_waiting_for_information(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        project_id, key = await submit_with_key(catalogue)
        await decide(catalogue, project_id, "needs_information")
        url = f"/v1/projects/{project_id}"
        takeover = dossier(name="Overgenomen", contact={"name": "Mallory", "email": "mallory@evil.example"})

        anonymous = await catalogue.client.put(url, json=takeover)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        guessed = await catalogue.client.put(url, json=takeover, headers=submitter("a" * 43))
        assert guessed.status_code == 403
        other_role = await catalogue.client.put(url, json=takeover, headers=auth("board"))
        assert other_role.status_code == 401
        _, other_key = await submit_with_key(catalogue, 1)
        borrowed = await catalogue.client.put(url, json=takeover, headers=submitter(other_key))
        assert borrowed.status_code == 403

        shown = (await catalogue.client.get(url, headers=auth("operator"))).json()
        assert (shown["name"], shown["contact"], shown["revision"]) == (dossier()["name"], CONTACT, 1)
        assert shown["status"] == "needs_information"
        assert await count(catalogue, "outbox") == 2  # the two submissions, nothing else

        mine = await catalogue.client.put(url, json=dossier(results="Nieuwe cijfers."), headers=submitter(key))
        assert mine.status_code == 200 and mine.json()["revision"] == 2
        await decide(catalogue, project_id, "needs_information", revision=2)
        by_operator = await catalogue.client.put(url, json=dossier(), headers=auth("operator"))
        assert by_operator.status_code == 200 and by_operator.json()["revision"] == 3
        stored = await catalogue.runtime.pool.fetchval(
            "SELECT submitter_key_digest FROM projects WHERE id = $1", uuid.UUID(project_id))
        assert key.encode() not in stored and len(stored) == 32  # only the sha256 is kept


async def test_the_public_sees_an_unlisted_project_only_in_summary_and_a_listed_one_as_the_catalogue_does(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        project_id, key = await submit_with_key(catalogue)
        url = f"/v1/projects/{project_id}"
        await decide(catalogue, project_id, "rejected")

        public = await catalogue.client.get(url)
        assert public.json() == {"id": project_id, "name": dossier()["name"], "status": "rejected", "revision": 1}
        assert (await catalogue.client.get(url, headers=auth("lab"))).json() == public.json()
        assert (await catalogue.client.get(url, headers=submitter("geraden"))).status_code == 403
        for headers in (submitter(key), auth("board"), auth("assessor")):
            full = (await catalogue.client.get(url, headers=headers)).json()
            assert [v["verdict"] for v in full["verdicts"]] == ["rejected"] and full["contact"] is None
            assert full["problem"] == dossier()["problem"]

        await decide(catalogue, project_id, "proven")  # the board decided again, later
        listed = (await catalogue.client.get(url)).json()
        [in_catalogue] = (await catalogue.client.get("/v1/catalogue")).json()["items"]
        assert listed["status"] == "proven" and listed["contact"] is None
        assert {k: listed[k] for k in ("name", "summary", "problem", "results", "handovers")} == {
            k: in_catalogue[k] for k in ("name", "summary", "problem", "results", "handovers")}
        # The public sees the verdict that listed it (as the catalogue does), not the history before.
        assert [(v["verdict"], v["assessment_id"]) for v in listed["verdicts"]] == [
            ("proven", in_catalogue["assessment_id"])]
        history = (await catalogue.client.get(url, headers=submitter(key))).json()["verdicts"]
        assert [v["verdict"] for v in history] == ["rejected", "proven"]
        assert (await catalogue.client.get(url, headers=auth("operator"))).json()["contact"] == CONTACT


async def test_resubmitting_is_a_conflict_for_a_withdrawn_project_and_for_a_proven_one_naming_an_unknown_lab(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        withdrawn, withdrawn_key = await submit_with_key(catalogue)
        await decide(catalogue, withdrawn, "needs_information")
        assert (await catalogue.client.delete(f"/v1/projects/{withdrawn}", headers=auth("operator"))).status_code \
            == 200
        refused = await catalogue.client.put(f"/v1/projects/{withdrawn}", json=dossier(),
                                             headers=submitter(withdrawn_key))
        assert refused.status_code == 409
        assert any("'withdrawn'" in c for c in refused.json()["conditions"])

        proven, proven_key = await submit_with_key(catalogue, 1)
        await decide(catalogue, proven, "proven")
        own = dossier(1, origin={"organisation": "Schuldenlab073", "municipality": "Den Bosch",
                                 "lab_id": str(uuid.uuid4())})
        conflict = await catalogue.client.put(f"/v1/projects/{proven}", json=own, headers=submitter(proven_key))
        assert conflict.status_code == 409, conflict.text
        assert any("'proven'" in c for c in conflict.json()["conditions"])
        for project_id in (withdrawn, proven):
            assert (await catalogue.client.get(f"/v1/projects/{project_id}",
                                               headers=auth("board"))).json()["revision"] == 1
