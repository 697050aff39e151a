"""Webhook delivery against real receivers on loopback: signing, retries, 410, isolation, restarts."""

from __future__ import annotations

import time
import uuid

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

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


async def test_a_subscriber_receives_the_event_as_a_signed_cloudevent(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        event_id = await publish(fresh_kafka, project_submitted())

        await eventually(lambda: received(receiver, 1))
        [request] = receiver.requests
        verified = Webhook(subscription["secret"]).verify(request.body, request.headers)
        assert verified["id"] == event_id and verified["type"] == SUBMITTED
        assert verified["specversion"] == "1.0" and verified["data"]["name"] == "Jongeren Perspectief Fonds"
        assert request.headers["webhook-id"] == event_id
        assert request.headers["content-type"] == "application/cloudevents+json"

        async def succeeded():
            return [d for d in await deliveries(service.client, subscription["id"]) if d["status"] == "succeeded"]

        [delivery] = await eventually(succeeded)
        assert delivery["webhook_id"] == event_id and delivery["attempts"] == 1
        assert delivery["attempt_log"][0]["status_code"] == 204


async def test_a_failing_receiver_is_retried_with_backoff_until_it_recovers(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path,
                                SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0,0.3,0.6,5")

    def failing_twice(n: int) -> Answer:
        return Answer(500) if n < 2 else Answer(200)

    async with webhook_receiver(failing_twice) as receiver, running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        event_id = await publish(fresh_kafka, project_submitted())

        await eventually(lambda: received(receiver, 3))
        first, second, third = receiver.requests
        assert {r.headers["webhook-id"] for r in receiver.requests} == {event_id}
        # Waits follow the schedule, give or take the 20 % jitter.
        assert second.at - first.at >= 0.3 * 0.8 and third.at - second.at >= 0.6 * 0.8

        async def succeeded():
            found = await deliveries(service.client, subscription["id"])
            return found if found and found[0]["status"] == "succeeded" else None

        [delivery] = await eventually(succeeded)
        assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
        assert [a["outcome"] for a in delivery["attempt_log"]] == ["failed", "failed", "succeeded"]
        [sub] = (await service.client.get("/v1/subscriptions", headers=auth("integrator", "crm"))).json()["items"]
        assert sub["status"] == "active" and sub["failing_since"] is None


async def test_retry_after_of_the_receiver_is_honoured(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0,0.05")

    def busy_once(n: int) -> Answer:
        return Answer(503, {"retry-after": "1"}) if n == 0 else Answer(204)

    async with webhook_receiver(busy_once) as receiver, running_service("notifications", settings) as service:
        await subscribe(service.client, receiver.url)
        await publish(fresh_kafka, project_submitted())

        await eventually(lambda: received(receiver, 2))
        first, second = receiver.requests
        assert second.at - first.at >= 0.95


async def test_410_gone_disables_the_subscription_and_says_why(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver(lambda n: Answer(410)) as receiver, \
            running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        await publish(fresh_kafka, project_submitted())

        async def disabled():
            r = await service.client.get(f"/v1/subscriptions/{subscription['id']}", headers=auth("integrator", "crm"))
            return r.json() if r.json()["status"] == "disabled" else None

        found = await eventually(disabled)
        assert "410" in found["disabled_reason"]
        [delivery] = await deliveries(service.client, subscription["id"])
        assert delivery["status"] == "failed" and delivery["attempts"] == 1

        # A disabled subscription receives nothing more.
        await publish(fresh_kafka, project_submitted())
        await eventually(lambda: _events_received(service, 2))
        assert len(receiver.requests) == 1 and len(await deliveries(service.client, subscription["id"])) == 1


async def test_persistent_failure_disables_the_subscription(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path,
                                SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2",
                                SCHULDENLAB_WEBHOOK_DISABLE_AFTER="0.5")
    async with webhook_receiver(lambda n: Answer(500)) as receiver, \
            running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        await publish(fresh_kafka, project_submitted())

        async def disabled():
            r = await service.client.get(f"/v1/subscriptions/{subscription['id']}", headers=auth("integrator", "crm"))
            return r.json() if r.json()["status"] == "disabled" else None

        found = await eventually(disabled)
        assert "failing since" in found["disabled_reason"]
        assert 2 <= len(receiver.requests) < 10
        [delivery] = await deliveries(service.client, subscription["id"])
        assert delivery["status"] == "failed"


async def test_a_hanging_receiver_does_not_delay_a_healthy_one(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_TIMEOUT="20",
                                SCHULDENLAB_WEBHOOK_CONCURRENCY="4", SCHULDENLAB_WEBHOOK_PER_HOST_CONCURRENCY="2")
    async with webhook_receiver(lambda n: Answer(hang=True)) as hanging, webhook_receiver() as healthy, \
            running_service("notifications", settings) as service:
        await subscribe(service.client, hanging.url, subject="slow")
        await subscribe(service.client, healthy.url, subject="fast")
        started = time.monotonic()
        for _ in range(5):
            await publish(fresh_kafka, project_submitted())

        await eventually(lambda: received(healthy, 5), timeout=10)
        # Far within the hanging receiver's 20 s timeout: its deliveries held only its own two slots.
        assert time.monotonic() - started < 10
        assert len(hanging.requests) == 2


async def test_a_restart_mid_retry_loses_no_delivery(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0,1.5")
    healthy = {"now": False}
    async with webhook_receiver(lambda n: Answer(204 if healthy["now"] else 503)) as receiver:
        async with running_service("notifications", settings) as service:
            subscription = await subscribe(service.client, receiver.url)
            event_id = await publish(fresh_kafka, project_submitted())
            await eventually(lambda: received(receiver, 1))
            await eventually(lambda: _attempts(service, subscription["id"], 1))
        # Stopped while the delivery waits for its retry; the receiver recovers meanwhile.
        healthy["now"] = True
        async with running_service("notifications", settings) as service:
            await eventually(lambda: received(receiver, 2))
            assert receiver.requests[1].headers["webhook-id"] == event_id
            verified = Webhook(subscription["secret"]).verify(receiver.requests[1].body, receiver.requests[1].headers)
            assert verified["id"] == event_id

            async def succeeded():
                [d] = await deliveries(service.client, subscription["id"])
                return d if d["status"] == "succeeded" else None

            delivery = await eventually(succeeded)
            assert [a["status_code"] for a in delivery["attempt_log"]] == [503, 204]


async def test_a_duplicate_event_gives_one_delivery(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        project_id = uuid.uuid4()
        payload = project_submitted(project_id)
        event_id = await publish(fresh_kafka, payload)
        await publish(fresh_kafka, payload, event_id=event_id)  # redelivered by the broker, same ce_id
        # Same key, same partition: once this one is delivered, the duplicate before it was consumed.
        follow_up = await publish(fresh_kafka, project_submitted(project_id))

        async def follow_up_arrived():
            return [r for r in receiver.requests if r.headers["webhook-id"] == follow_up]

        await eventually(follow_up_arrived)
        assert [r.headers["webhook-id"] for r in receiver.requests].count(event_id) == 1
        assert len(await deliveries(service.client, subscription["id"])) == 2


async def test_filters_select_the_events_of_one_municipality_or_project(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    wanted_project = uuid.uuid4()
    async with webhook_receiver() as by_town, webhook_receiver() as by_project, webhook_receiver() as everything, \
            running_service("notifications", settings) as service:
        await subscribe(service.client, by_town.url, filter={"municipality": "almere"})
        await subscribe(service.client, by_project.url, filter={"project_id": str(wanted_project)})
        await subscribe(service.client, everything.url)
        almere = await publish(fresh_kafka, project_submitted(municipality="Almere"))
        project = await publish(fresh_kafka, project_submitted(wanted_project, municipality="Emmen"))
        await publish(fresh_kafka, project_submitted(municipality="Emmen"))

        await eventually(lambda: received(everything, 3))
        await eventually(lambda: received(by_town, 1))
        await eventually(lambda: received(by_project, 1))
        assert [r.headers["webhook-id"] for r in by_town.requests] == [almere]
        assert [r.headers["webhook-id"] for r in by_project.requests] == [project]


async def test_during_a_rotation_both_secrets_verify(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        r = await service.client.post(f"/v1/subscriptions/{subscription['id']}/secret",
                                      headers=auth("integrator", "crm"))
        assert r.status_code == 200, r.text
        rotated = r.json()
        assert rotated["secret"] != subscription["secret"] and rotated["previous_secret_valid_until"]
        await publish(fresh_kafka, project_submitted())

        await eventually(lambda: received(receiver, 1))
        [request] = receiver.requests
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        for secret in (subscription["secret"], rotated["secret"]):
            assert Webhook(secret).verify(request.body, request.headers)["id"] == request.headers["webhook-id"]


async def test_after_the_grace_period_only_the_new_secret_signs(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_ROTATION_GRACE="0")
    async with webhook_receiver() as receiver, running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        rotated = (await service.client.post(f"/v1/subscriptions/{subscription['id']}/secret",
                                             headers=auth("integrator", "crm"))).json()
        await publish(fresh_kafka, project_submitted())

        await eventually(lambda: received(receiver, 1))
        [request] = receiver.requests
        assert Webhook(rotated["secret"]).verify(request.body, request.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(subscription["secret"]).verify(request.body, request.headers)


async def test_redeliver_sends_the_same_webhook_id_again(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        event_id = await publish(fresh_kafka, project_submitted())

        async def succeeded():
            found = await deliveries(service.client, subscription["id"])
            return found[0] if found and found[0]["status"] == "succeeded" else None

        delivery = await eventually(succeeded)
        r = await service.client.post(f"/v1/deliveries/{delivery['id']}/redeliver", headers=auth("integrator", "crm"))
        assert r.status_code == 202, r.text

        await eventually(lambda: received(receiver, 2))
        assert [q.headers["webhook-id"] for q in receiver.requests] == [event_id, event_id]

        async def twice():
            found = await deliveries(service.client, subscription["id"])
            return found[0] if found[0]["attempts"] == 2 and found[0]["status"] == "succeeded" else None

        assert len((await eventually(twice))["attempt_log"]) == 2


async def _events_received(service, n: int):
    r = await service.client.get("/v1/events", headers=auth("operator"))
    return len(r.json()["items"]) >= n


async def _attempts(service, subscription_id: str, n: int):
    # The log, not the counter: `attempts` counts an attempt from its claim, before its answer is recorded.
    found = await deliveries(service.client, subscription_id)
    return found and len(found[0]["attempt_log"]) >= n
