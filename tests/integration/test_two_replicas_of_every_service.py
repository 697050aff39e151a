"""Two replicas of every service on one database and one broker (issue 12, item 8), as a Deployment scaled to two:
each event has one effect, each outbox row is published once, each webhook goes out once, and both replicas of
every service answer over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import pytest

from schuldenlab.services import SERVICES
from tests.integration.catalogue.catalogue_support import dossier
from tests.integration.notifications.notifications_support import subscribe, webhook_settings
from tests.support.harness import auth, eventually, running_service
from tests.support.kafka import read_topic
from tests.support.webhooks import received, webhook_receiver

pytestmark = pytest.mark.integration

SUBMISSIONS = 20


async def test_two_replicas_of_every_service_give_one_effect_per_event_and_both_answer(
        fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(webhook_receiver())
        replicas = {name: [await stack.enter_async_context(running_service(name, settings)) for _ in range(2)]
                    for name in SERVICES}
        await subscribe(replicas["notifications"][0].client, receiver.url)

        submitted = []
        for n in range(SUBMISSIONS):  # the load balancer sends every other request to the other replica
            response = await replicas["catalogue"][n % 2].client.post(
                "/v1/projects", json=dossier(n % 4, name=f"Gedeeld project {n}"))
            assert response.status_code == 201, response.text
            submitted.append(response.json()["id"])

        async def every_round_opened():
            response = await replicas["assessment"][1].client.get("/v1/assessments", params={"status": "open"},
                                                                 headers=auth("board", "bestuur"))
            body = response.json()
            rounds = body["items"] if isinstance(body, dict) else body
            return rounds if len(rounds) >= SUBMISSIONS else None

        rounds = await eventually(every_round_opened, timeout=60)
        await eventually(lambda: received(receiver, SUBMISSIONS), timeout=60)
        await asyncio.sleep(1.0)  # time for a second effect, a second publication or a second webhook to show
        records = await read_topic(fresh_kafka, "catalogue.project-submitted.v1", expect=SUBMISSIONS)

        per_project = Counter(r["project_id"] for r in rounds)
        assert set(per_project) == set(submitted) and set(per_project.values()) == {1}  # one effect per event
        published = Counter(dict(r.headers)["ce_id"] for r in records)
        assert len(published) == SUBMISSIONS and set(published.values()) == {1}  # each row published once
        webhooks = Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert len(webhooks) == SUBMISSIONS and set(webhooks.values()) == {1}  # each webhook once
        for name, pair in replicas.items():
            for replica in pair:
                ready = await replica.client.get("/health/ready")
                assert ready.status_code == 200 and ready.json()["status"] == "ok", (name, ready.text)
        for project_id in submitted[:2]:
            for replica in replicas["catalogue"]:
                assert (await replica.client.get(f"/v1/projects/{project_id}")).status_code == 200
