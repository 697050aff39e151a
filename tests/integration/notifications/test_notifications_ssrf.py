"""SSRF defence on the real delivery path: a target allowed once is checked again at every attempt."""

from __future__ import annotations

import pytest

from tests.integration.notifications.notifications_support import (
    SUBMITTED,
    deliveries,
    project_submitted,
    publish,
    subscribe,
    webhook_settings,
)
from tests.support.harness import auth, eventually, running_service
from tests.support.webhooks import Answer, received, webhook_receiver

pytestmark = pytest.mark.integration


async def test_a_loopback_target_is_refused_at_delivery_once_no_longer_allowed(fresh_database, fresh_kafka,
                                                                                tmp_path):
    allowed = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    restricted = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS="",
                                  SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0")
    async with webhook_receiver() as receiver:
        async with running_service("notifications", allowed) as service:
            subscription = await subscribe(service.client, receiver.url)
        async with running_service("notifications", restricted) as service:
            await publish(fresh_kafka, project_submitted())

            async def refused():
                found = await deliveries(service.client, subscription["id"])
                return found[0] if found and found[0]["status"] == "failed" else None

            delivery = await eventually(refused)
            [attempt] = delivery["attempt_log"]
            assert attempt["status_code"] is None
            assert attempt["error"].startswith("refused:") and "127.0.0.1" in attempt["error"]
    assert receiver.requests == []


async def test_a_redirect_is_not_followed_and_is_no_success(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0")
    async with webhook_receiver() as elsewhere, \
            webhook_receiver(lambda n: Answer(302, {"location": elsewhere.url})) as receiver, \
            running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        await publish(fresh_kafka, project_submitted())

        async def failed():
            found = await deliveries(service.client, subscription["id"])
            return found[0] if found and found[0]["status"] == "failed" else None

        delivery = await eventually(failed)
        assert [(a["status_code"], a["outcome"]) for a in delivery["attempt_log"]] == [(302, "failed")]
        assert len(receiver.requests) == 1
    assert elsewhere.requests == []


async def test_an_allowed_host_port_exempts_only_that_port_of_the_host(fresh_database, fresh_kafka, tmp_path):
    async with webhook_receiver() as receiver:
        settings = webhook_settings(fresh_database, fresh_kafka, tmp_path,
                                    SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS=f"127.0.0.1:{receiver.port}")
        async with running_service("notifications", settings) as service:
            subscription = await subscribe(service.client, receiver.url)
            # Any other port of the same host (a database, an admin console) stays refused.
            for port in (receiver.port + 1, 5432, 80):
                r = await service.client.post("/v1/subscriptions", headers=auth("integrator"),
                                              json={"url": f"http://127.0.0.1:{port}/", "event_types": [SUBMITTED]})
                assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url", (port, r.text)
            await publish(fresh_kafka, project_submitted())

            await eventually(lambda: received(receiver, 1))
            listed = await service.client.get("/v1/subscriptions", headers=auth("operator"))
            assert [s["id"] for s in listed.json()["items"]] == [subscription["id"]]
