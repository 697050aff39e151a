"""The whole path of a proven project, services in one process: submit, prove, form a lab, implement, hand over."""

from __future__ import annotations

import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.support.harness import auth, eventually, running_service, service_settings

pytestmark = pytest.mark.integration

LAB = auth("lab", "kwartiermaker-mvs")
MET = {"met": True, "notes": "Runs in production with positive results"}


async def prove(catalogue, assessment, dossier: dict) -> str:
    r = await catalogue.client.post("/v1/projects", json=dossier)
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]

    async def opened():
        r = await assessment.client.get(f"/v1/projects/{project_id}/assessment", headers=auth("board"))
        return r.json() if r.status_code == 200 else None

    assessment_id = (await eventually(opened))["id"]
    for reviewer in ("director", "vng", "expert"):
        r = await assessment.client.post(f"/v1/assessments/{assessment_id}/reviews", headers=auth("board", reviewer),
                                         json={"criteria": {"workable": MET, "reusable": MET, "available": MET},
                                               "notes": "Adds to the portfolio"})
        assert r.status_code in (200, 201), r.text
    r = await assessment.client.post(f"/v1/assessments/{assessment_id}/decision", headers=auth("board"),
                                     json={"verdict": "proven", "rationale": "Workable, reusable and available"})
    assert r.status_code == 200, r.text
    return project_id


async def catalogue_project(catalogue, project_id: str) -> dict:
    r = await catalogue.client.get(f"/v1/projects/{project_id}")
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_proven_project_is_implemented_in_a_lab_and_handed_over(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue, \
            running_service("assessment", settings) as assessment, \
            running_service("partnering", settings) as partnering:
        project_id = await prove(catalogue, assessment, KNOWN_PROJECTS[0])

        async def proven():
            return (await catalogue_project(catalogue, project_id))["status"] == "proven"

        await eventually(proven)

        client = partnering.client
        r = await client.post("/v1/labs", headers=LAB, json={
            "name": "SchuldenlabMVS", "municipalities": ["Maassluis", "Vlaardingen", "Schiedam"],
            "region": "Nieuwe Waterweg"})
        assert r.status_code == 201, r.text
        lab_id = r.json()["id"]
        for organisation, kind, municipality in (("Gemeente Schiedam", "public", True),
                                                 ("Gemeente Vlaardingen", "public", True),
                                                 ("Woonplus", "private", False)):
            r = await client.post(f"/v1/labs/{lab_id}/partners", headers=LAB, json={
                "organisation": organisation, "kind": kind, "sector": "government" if municipality else "housing",
                "is_municipality": municipality, "commitment": "Sees the lab as its way to innovate"})
            assert r.status_code == 201, r.text
        for step in ("kwartiermaker_appointed", "declaration_of_intent"):
            r = await client.put(f"/v1/labs/{lab_id}/checklist/{step}", headers=LAB, json={"done": True})
            assert r.status_code == 200, r.text
        assert (await client.post(f"/v1/labs/{lab_id}/formation", headers=LAB)).status_code == 200

        async def implemented():
            r = await client.post(f"/v1/labs/{lab_id}/implementations", headers=LAB, json={"project_id": project_id})
            return r.json() if r.status_code == 201 else None

        implementation_id = (await eventually(implemented))["id"]

        async def adopted():
            project = await catalogue_project(catalogue, project_id)
            return project if lab_id in project["labs_implementing"] else None

        assert "Schiedam" in (await eventually(adopted))["municipalities"]

        steps = [("funding", {"source": "Gemeente Schiedam", "kind": "base", "amount_eur": "30000.00"}),
                 ("funding", {"source": "Woonplus", "kind": "additional", "amount_eur": 0.1}),
                 ("start", None),
                 ("impact", {"period_start": "2025-01-01", "period_end": "2025-06-30", "households_reached": 53,
                             "households_debt_free": 53, "notes": "All young people in the pilot debt-free"}),
                 ("handover", {"handed_over_to": ["Gemeente Schiedam", "Gemeente Vlaardingen"],
                               "regular_operations": "The municipalities run the fund in their debt help"})]
        for path, body in steps:
            r = await client.post(f"/v1/implementations/{implementation_id}/{path}", headers=LAB, json=body)
            assert r.status_code in (200, 201), (path, r.text)
        assert r.json()["status"] == "handed_over"

        async def handed_over():
            project = await catalogue_project(catalogue, project_id)
            return project if project["handovers"] == 1 else None

        await eventually(handed_over)
