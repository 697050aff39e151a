"""Races between the API and running attempts: rotations, redelivery and disabling while a request is out."""

from __future__ import annotations

import asyncio

import pytest

from notifications.adapters import metrics
from notifications.adapters.queue import PostgresDeliveryQueue
from notifications.adapters.secrets import SecretKeys
from tests.integration.notifications.notifications_support import (
    deliveries,
    project_submitted,
    publish,
    subscribe,
    webhook_settings,
)
from tests.support.harness import auth, eventually, running_service
from tests.support.webhooks import Answer, received, webhook_receiver

pytestmark = pytest.mark.integration


async def test_concurrent_rotations_each_return_a_secret_that_signs(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, "http://127.0.0.1:9/")
        url = f"/v1/subscriptions/{subscription['id']}/secret"
        for _ in range(10):
            answers = await asyncio.gather(*[service.client.post(url, headers=auth("integrator", "crm"))
                                             for _ in range(2)])
            assert [a.status_code for a in answers] == [200, 200]
            returned = {a.json()["secret"] for a in answers}
            row = await service.runtime.pool.fetchrow(
                """SELECT secret_encrypted, previous_secret_encrypted FROM notifications.subscriptions
                   WHERE id = $1::uuid""", subscription["id"])
            # Two rotations in a row: the newest secret and the one returned just before it both sign.
            ring = settings.secrets_key_ring()
            assert returned == {ring.decrypt(row["secret_encrypted"]), ring.decrypt(row["previous_secret_encrypted"])}


async def test_a_redeliver_asked_during_a_running_attempt_gives_another_attempt(fresh_database, fresh_kafka,
                                                                                 tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE="0",
                                SCHULDENLAB_WEBHOOK_TIMEOUT="1.5")
    async with webhook_receiver(lambda n: Answer(hang=True) if n == 0 else Answer(204)) as receiver, \
            running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        await publish(fresh_kafka, project_submitted())
        await eventually(lambda: received(receiver, 1))  # the only attempt of the round hangs
        [delivery] = await deliveries(service.client, subscription["id"])
        r = await service.client.post(f"/v1/deliveries/{delivery['id']}/redeliver", headers=auth("integrator", "crm"))
        assert r.status_code == 202, r.text

        await eventually(lambda: received(receiver, 2))

        async def both_attempts_logged():
            [d] = await deliveries(service.client, subscription["id"])
            return d if len(d["attempt_log"]) == 2 else None

        # The hanging attempt times out after the redelivered one succeeded: it is logged, but it does not
        # turn the delivery back into a failure.
        delivery = await eventually(both_attempts_logged)
        assert delivery["status"] == "succeeded" and delivery["attempts"] == 2
        assert sorted(a["number"] for a in delivery["attempt_log"]) == [1, 2]
        assert sorted(str(a["status_code"]) for a in delivery["attempt_log"]) == ["204", "None"]


async def test_an_attempt_finishing_after_its_subscription_was_disabled_leaves_nothing_pending(
        fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_TIMEOUT="1.5")
    async with webhook_receiver(lambda n: Answer(hang=True) if n == 0 else Answer(410)) as receiver, \
            running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        await publish(fresh_kafka, project_submitted())
        await eventually(lambda: received(receiver, 1))  # hangs until the timeout
        await publish(fresh_kafka, project_submitted())
        await eventually(lambda: received(receiver, 2))  # 410: disables while the first is still out

        async def first_attempt_recorded():
            found = await deliveries(service.client, subscription["id"])
            hung = [d for d in found if d["attempt_log"] and d["attempt_log"][0]["status_code"] is None]
            return found if hung else None

        found = await eventually(first_attempt_recorded)
        assert sorted(d["status"] for d in found) == ["cancelled", "failed"]
        r = await service.client.get(f"/v1/subscriptions/{subscription['id']}", headers=auth("integrator", "crm"))
        assert r.json()["status"] == "disabled"

        # Redelivering or a new event creates nothing to wait for either.
        r = await service.client.post(f"/v1/deliveries/{found[0]['id']}/redeliver",
                                      headers=auth("integrator", "crm"))
        assert r.status_code == 409
        # And a pending row of a disabled subscription (as older versions left behind) is not counted.
        await service.runtime.pool.execute(
            "UPDATE notifications.deliveries SET status = 'pending' WHERE subscription_id = $1::uuid",
            subscription["id"])
        await PostgresDeliveryQueue(service.runtime.pool, lease_seconds=10, keys=SecretKeys()).refresh_gauges()
        assert metrics.PENDING_BACKLOG._value.get() == 0
