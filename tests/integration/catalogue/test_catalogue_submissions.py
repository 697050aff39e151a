"""Submitting projects over HTTP on real PostgreSQL and Kafka: validation, storage, contact privacy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from schuldenlab_contracts.events import LabFormed
from tests.integration.catalogue.catalogue_support import CONTACT, count, dossier, send, submit
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration


async def test_invalid_submissions_are_refused_with_422_and_nothing_is_stored_or_published(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        invalid = {
            "phases.0": dossier(phases=["payday"]),
            "partners": dossier(partners=[]),
            "evidence_urls.0": dossier(evidence_urls=["ftp://example.nl/rapport.pdf"]),
            "summary": dossier(summary="s" * 10_001),
            "contact.email": dossier(contact={"name": "Anna", "email": "anna"}),
            "origin.lab_id": dossier(origin={"organisation": "Schuldenlab073", "municipality": "Den Bosch",
                                             "lab_id": str(uuid.uuid4())}),
        }
        for field, body in invalid.items():
            response = await catalogue.client.post("/v1/projects", json=body)
            assert response.status_code == 422, (field, response.text)
            problem = response.json()
            assert response.headers["content-type"].startswith("application/problem+json")
            assert field in [e["field"] for e in problem["errors"]], problem
            assert field in problem["detail"]

        huge = dossier(results="r" * 9_000, problem="p" * 9_000, summary="s" * 9_000,
                       themes=["t" * 190] * 50, partners=[{"name": "n" * 190, "kind": "public"}] * 200)
        response = await catalogue.client.post("/v1/projects", json=huge)
        assert response.status_code == 413 and "bytes" in response.json()["detail"]

        assert await count(catalogue, "projects") == 0
        assert await count(catalogue, "contacts") == 0
        assert await count(catalogue, "outbox") == 0


async def test_a_submission_is_published_without_contact_and_the_contact_is_shown_only_to_the_operator(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        response = await catalogue.client.post("/v1/projects", json=dossier())
        assert response.status_code == 201
        created = response.json()
        assert created["status"] == "submitted" and created["revision"] == 1
        project_id = created["id"]
        assert response.headers["location"] == f"/v1/projects/{project_id}"

        assert len(created["resubmission_token"]) >= 43  # 32 random bytes, urlsafe

        # Not listed: the public sees only that it exists; the submitter (with the key) and the board
        # see the dossier; nobody but the operator sees the contact person.
        public = (await catalogue.client.get(f"/v1/projects/{project_id}")).json()
        assert public == {"id": project_id, "name": "Jongeren Perspectief Fonds", "status": "submitted",
                          "revision": 1}
        own = await catalogue.client.get(f"/v1/projects/{project_id}",
                                         headers={"X-Resubmission-Token": created["resubmission_token"]})
        assert own.status_code == 200 and own.json()["verdicts"] == [] and own.json()["contact"] is None
        as_board = (await catalogue.client.get(f"/v1/projects/{project_id}", headers=auth("board"))).json()
        assert as_board["contact"] is None and as_board["summary"] == dossier()["summary"]
        as_operator = await catalogue.client.get(f"/v1/projects/{project_id}", headers=auth("operator"))
        assert as_operator.json()["contact"] == CONTACT

        assert (await catalogue.client.delete(f"/v1/projects/{project_id}/contact")).status_code == 401
        assert (await catalogue.client.delete(f"/v1/projects/{project_id}/contact",
                                              headers=auth("board"))).status_code == 403
        erased = await catalogue.client.delete(f"/v1/projects/{project_id}/contact", headers=auth("operator"))
        assert erased.status_code == 204
        after = await catalogue.client.get(f"/v1/projects/{project_id}", headers=auth("operator"))
        assert after.json()["contact"] is None and await count(catalogue, "contacts") == 0

        missing = await catalogue.client.get(f"/v1/projects/{uuid.uuid4()}")
        assert missing.status_code == 404

    [record] = await read_topic(fresh_kafka, "catalogue.project-submitted.v1", expect=1)
    text = record.value.decode()
    assert record.key == project_id.encode()
    assert CONTACT["email"] not in text and CONTACT["name"] not in text and '"contact"' not in text
    assert created["resubmission_token"] not in text and "resubmission" not in text


async def test_a_labs_own_project_is_accepted_once_the_lab_was_formed(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    lab_id = uuid.uuid4()
    origin = {"organisation": "SchuldenlabMVS", "municipality": "Schiedam", "lab_id": str(lab_id)}
    async with running_service("catalogue", settings) as catalogue:
        refused = await catalogue.client.post("/v1/projects", json=dossier(origin=origin))
        assert refused.status_code == 422 and "formed" in refused.json()["errors"][0]["reason"]

        await send(fresh_kafka, LabFormed(
            lab_id=lab_id, name="SchuldenlabMVS", municipalities=["Maassluis", "Vlaardingen", "Schiedam"],
            founding_partner_ids=[uuid.uuid4()], formed_at=datetime.now(UTC)))

        async def accepted():
            response = await catalogue.client.post("/v1/projects", json=dossier(origin=origin))
            return response if response.status_code == 201 else None

        project_id = (await eventually(accepted)).json()["id"]
        shown = (await catalogue.client.get(f"/v1/projects/{project_id}", headers=auth("assessor"))).json()
        assert shown["origin"]["lab_id"] == str(lab_id)
        assert await submit(catalogue) != project_id  # an ordinary project still needs no lab
