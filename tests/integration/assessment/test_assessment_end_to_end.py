"""Across services: submitted on catalogue, reviewed and decided here, listed (and withdrawn) in the catalogue."""

from __future__ import annotations

import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.support.harness import auth, eventually, running_service, service_settings

pytestmark = pytest.mark.integration

MET = {"met": True, "notes": "seen it work"}
ALL_MET = {"criteria": {"workable": MET, "reusable": MET, "available": MET}, "notes": ""}


async def _prove(catalogue, assessment, dossier: dict) -> tuple[str, dict]:
    submitted = await catalogue.client.post("/v1/projects", json=dossier)
    assert submitted.status_code == 201, submitted.text
    project_id = submitted.json()["id"]

    async def opened():
        r = await assessment.client.get(f"/v1/projects/{project_id}/assessment", headers=auth("board"))
        return r.json() if r.status_code == 200 else None

    round_ = await eventually(opened)
    for subject, seat in (("director", "director"), ("vng", "municipalities_representative")):
        r = await assessment.client.post(f"/v1/assessments/{round_['id']}/reviews", json={**ALL_MET, "seat": seat},
                                         headers=auth("board", subject))
        assert r.status_code == 201, r.text
    decided = await assessment.client.post(f"/v1/assessments/{round_['id']}/decision",
                                           json={"verdict": "proven", "rationale": "Proven in six cities."},
                                           headers=auth("board", "director"))
    assert decided.status_code == 200, decided.text
    return project_id, decided.json()


async def test_a_project_found_proven_here_is_listed_as_proven_in_the_catalogue(fresh_database, fresh_kafka,
                                                                               tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue, \
            running_service("assessment", settings) as assessment:
        project_id, decided = await _prove(catalogue, assessment, KNOWN_PROJECTS[1])
        assert decided["decision"]["verdict"] == "proven"

        async def listed():
            r = await catalogue.client.get("/v1/catalogue")
            return [p for p in r.json()["items"] if p["project_id"] == project_id] if r.status_code == 200 else None

        [entry] = await eventually(listed)
        assert entry["name"] == KNOWN_PROJECTS[1]["name"] and entry["status"] == "proven"
        assert entry["assessment_id"] == decided["id"]
        project = (await catalogue.client.get(f"/v1/projects/{project_id}")).json()
        assert project["status"] == "proven"


async def test_a_project_withdrawn_from_the_catalogue_leaves_the_portfolio(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue, \
            running_service("assessment", settings) as assessment:
        route = next(p for p in KNOWN_PROJECTS if p["name"] == "Nederlandse Schuldhulproute")
        project_id, _ = await _prove(catalogue, assessment, route)

        async def portfolio_ids():
            phases = (await assessment.client.get("/v1/portfolio")).json()["phases"]
            return {p["project_id"] for phase in phases for p in phase["projects"]}

        assert project_id in await portfolio_ids()

        async def listed():
            r = await catalogue.client.get("/v1/catalogue")
            return r.status_code == 200 and r.json()["items"]

        await eventually(listed)  # withdrawing only publishes a tombstone once the project is in the catalogue
        withdrawn = await catalogue.client.delete(f"/v1/projects/{project_id}", headers=auth("operator"))
        assert withdrawn.status_code in (200, 202, 204), withdrawn.text

        async def left():
            return project_id not in await portfolio_ids()

        await eventually(left)
        assert "awareness" in (await assessment.client.get("/v1/portfolio")).json()["gaps"]
