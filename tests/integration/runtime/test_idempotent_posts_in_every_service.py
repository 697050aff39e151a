"""Idempotency keys on the POSTs that create something, in each service on real PostgreSQL and Kafka: a retry
with the same key and body is the same answer and one row and one event; another body under the key is 422;
concurrent duplicates create one; another caller's key is another key."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.integration.assessment.assessment_events import send_payload, submitted
from tests.integration.catalogue.catalogue_support import count, dossier
from tests.integration.notifications.notifications_support import SUBMITTED, webhook_settings
from tests.integration.partnering.test_partnering_service import LAB, formed_lab, publish_to_catalogue_feed
from tests.support.harness import auth, eventually, running_service, service_settings

pytestmark = pytest.mark.integration


def keyed(key: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or {}), "Idempotency-Key": key}


async def twice(client: httpx.AsyncClient, path: str, body: dict, headers: dict[str, str]) -> httpx.Response:
    """POST, then the same again as a client retrying would; both must be the first answer. Returns it."""
    first = await client.post(path, json=body, headers=headers)
    retry = await client.post(path, json=body, headers=headers)
    assert first.status_code in (200, 201), first.text
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert retry.headers.get("location") == first.headers.get("location")
    assert "idempotent-replayed" not in first.headers and retry.headers["idempotent-replayed"] == "true"
    return first


async def refused_for_another_body(client: httpx.AsyncClient, path: str, body: dict, headers: dict[str, str]):
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["Idempotency-Key"]


async def events(service, ce_type: str) -> int:
    return await service.runtime.pool.fetchval("SELECT count(*) FROM outbox WHERE ce_type = $1", ce_type)


async def test_catalogue_a_retried_submission_is_one_project_one_event_and_the_same_answer(fresh_database,
                                                                                          fresh_kafka, tmp_path):
    async with running_service("catalogue", service_settings(fresh_database, fresh_kafka, tmp_path)) as catalogue:
        client = catalogue.client
        first = await twice(client, "/v1/projects", dossier(0), keyed("submission-1"))
        # The retry got the one-time resubmission token too: it is the same (anonymous) caller's own answer,
        # and it came back only because the caller sent the key and the very same dossier.
        assert first.json()["resubmission_token"]
        assert await count(catalogue, "projects") == 1
        assert await events(catalogue, "nl.schuldenlab.project.submitted.v1") == 1

        await refused_for_another_body(client, "/v1/projects", dossier(1), keyed("submission-1"))
        assert await count(catalogue, "projects") == 1

        duplicates = await asyncio.gather(*(client.post("/v1/projects", json=dossier(2), headers=keyed("sub-2"))
                                            for _ in range(5)))
        assert {r.status_code for r in duplicates} <= {201, 409}
        assert len({r.json()["id"] for r in duplicates if r.status_code == 201}) == 1
        assert await count(catalogue, "projects") == 2
        assert await events(catalogue, "nl.schuldenlab.project.submitted.v1") == 2


async def test_assessment_a_retried_review_and_decision_are_recorded_and_published_once(fresh_database,
                                                                                       fresh_kafka, tmp_path):
    async with running_service("assessment", service_settings(fresh_database, fresh_kafka, tmp_path)) as assessment:
        client = assessment.client
        event = submitted("Collectief Schuldregelen")
        await send_payload(fresh_kafka, event)

        async def opened():
            r = await client.get(f"/v1/projects/{event.project_id}/assessment", headers=auth("assessor"))
            return r.json() if r.status_code == 200 else None

        round_id = (await eventually(opened))["id"]
        met = {"met": True, "notes": ""}
        review = {"criteria": {"workable": met, "reusable": met, "available": met}, "notes": "Werkt."}
        board = auth("board", "director")
        reviewed = await twice(client, f"/v1/assessments/{round_id}/reviews", review, keyed("review-1", board))
        assert reviewed.status_code == 201  # the retry is not a revision (200, version 2) of the review
        assert await count(assessment, "reviews") == 1

        decision = {"verdict": "rejected", "rationale": "Niet overdraagbaar."}
        await twice(client, f"/v1/assessments/{round_id}/decision", decision, keyed("decision-1", board))
        assert await events(assessment, "nl.schuldenlab.project.assessed.v1") == 1
        await refused_for_another_body(client, f"/v1/assessments/{round_id}/decision",
                                       {**decision, "rationale": "Anders."}, keyed("decision-1", board))
        assert await events(assessment, "nl.schuldenlab.project.assessed.v1") == 1


async def test_partnering_retried_labs_partners_and_funding_are_created_once_per_caller(fresh_database,
                                                                                       fresh_kafka, tmp_path):
    project_id = uuid.uuid4()
    await publish_to_catalogue_feed(fresh_kafka, project_id)
    async with running_service("partnering", service_settings(fresh_database, fresh_kafka, tmp_path)) as partnering:
        client = partnering.client
        lab = {"name": "Schuldenlab Drechtsteden", "municipalities": ["Dordrecht"]}
        created = await twice(client, "/v1/labs", lab, keyed("lab-1", LAB))
        assert await count(partnering, "labs") == 1
        # Another lab member's token with the same key and body is another caller: a lab of their own.
        other = await client.post("/v1/labs", json=lab, headers=keyed("lab-1", auth("lab", "kwartiermaker-bram")))
        assert other.status_code == 201 and other.json()["id"] != created.json()["id"]
        assert "idempotent-replayed" not in other.headers and await count(partnering, "labs") == 2
        await refused_for_another_body(client, "/v1/labs", {**lab, "name": "Schuldenlab Zwijndrecht"},
                                       keyed("lab-1", LAB))

        partner = {"organisation": "Gemeente Dordrecht", "kind": "public", "sector": "government",
                   "is_municipality": True, "commitment": "Base funding for two years"}
        await twice(client, f"/v1/labs/{created.json()['id']}/partners", partner, keyed("partner-1", LAB))
        assert await count(partnering, "partners") == 1
        assert await events(partnering, "nl.schuldenlab.lab.partner-joined.v1") == 1

        formed = await formed_lab(client)

        async def implemented():
            r = await client.post(f"/v1/labs/{formed['id']}/implementations", json={"project_id": str(project_id)},
                                  headers=keyed("implementation-1", LAB))
            return r if r.status_code == 201 else None  # 409 until the project is in the replica: not kept

        implementation = (await eventually(implemented)).json()
        assert await events(partnering, "nl.schuldenlab.project.implementation-started.v1") == 1
        funding = {"source": "Gemeente Schiedam", "kind": "base", "amount_eur": "25000.00"}
        path = f"/v1/implementations/{implementation['id']}/funding"
        await twice(client, path, funding, keyed("funding-1", LAB))
        assert await count(partnering, "fundings") == 1
        await refused_for_another_body(client, path, {**funding, "amount_eur": "2500.00"}, keyed("funding-1", LAB))
        assert await count(partnering, "fundings") == 1


async def test_notifications_a_retried_subscription_is_one_subscription_whose_secret_only_its_caller_gets(
        fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("notifications", settings) as notifications:
        client = notifications.client
        body = {"url": "http://127.0.0.1:9/hook", "event_types": [SUBMITTED]}
        crm = auth("integrator", "crm")
        subscribed = await twice(client, "/v1/subscriptions", body, keyed("subscribe-1", crm))
        assert subscribed.json()["secret"].startswith("whsec_")
        assert await count(notifications, "subscriptions") == 1

        # Another integrator sending the same key and body subscribes anew and never sees crm's secret.
        bank = await client.post("/v1/subscriptions", json=body, headers=keyed("subscribe-1",
                                                                               auth("integrator", "bank-x")))
        assert bank.status_code == 201 and bank.json()["secret"] != subscribed.json()["secret"]
        # Without a token the route refuses; a refusal for who is asking is not kept.
        anonymous = await client.post("/v1/subscriptions", json=body, headers=keyed("subscribe-1"))
        assert anonymous.status_code == 401
        await refused_for_another_body(client, "/v1/subscriptions", {**body, "description": "CRM"},
                                       keyed("subscribe-1", crm))
        assert await count(notifications, "subscriptions") == 2
