"""Deliveries are claimed from the database: replicas share them, and a dead worker's lease runs out."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.integration.notifications.notifications_support import (
    deliveries,
    project_submitted,
    publish,
    subscribe,
    webhook_settings,
)
from tests.support.harness import eventually, running_service
from tests.support.webhooks import received, webhook_receiver

pytestmark = pytest.mark.integration


async def test_two_replicas_deliver_each_event_exactly_once(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("notifications", settings) as one, \
            running_service("notifications", settings) as two:
        subscription = await subscribe(one.client, receiver.url)
        for _ in range(20):
            await publish(fresh_kafka, project_submitted())

        await eventually(lambda: received(receiver, 20))

        async def all_succeeded():
            found = await deliveries(two.client, subscription["id"])
            return found if len(found) == 20 and all(d["status"] == "succeeded" for d in found) else None

        await eventually(all_succeeded)
        counts = Counter(r.headers["webhook-id"] for r in receiver.requests)
        assert len(counts) == 20 and set(counts.values()) == {1}


async def test_a_lease_held_by_a_vanished_worker_is_taken_over_when_it_expires(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("notifications", settings) as service:
        subscription = await subscribe(service.client, receiver.url)
        pool = service.runtime.pool
        # Hold every new delivery as if another replica had claimed it and then died mid-send.
        await pool.execute(
            """CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN NEW.locked_until := clock_timestamp() + interval '1.5 seconds';
                     NEW.claim_token := gen_random_uuid(); RETURN NEW; END $$;
               CREATE TRIGGER hold BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION hold();""")
        await publish(fresh_kafka, project_submitted())

        [pending] = await eventually(lambda: deliveries(service.client, subscription["id"]))
        assert pending["status"] == "pending" and not receiver.requests
        [request] = await eventually(lambda: received(receiver, 1))
        assert uuid.UUID(request.headers["webhook-id"]) == uuid.UUID(pending["webhook_id"])
