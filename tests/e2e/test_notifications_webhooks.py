"""End to end through two services (in-process, real Postgres and broker): a submission reaches a webhook."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.integration.notifications.notifications_support import (
    SUBMITTED,
    subscribe,
    webhook_settings,
)
from tests.support.harness import eventually, running_service
from tests.support.webhooks import received, webhook_receiver

pytestmark = pytest.mark.integration


async def test_a_submitted_project_arrives_as_a_signed_webhook(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver() as receiver, running_service("catalogue", settings) as catalogue, \
            running_service("notifications", settings) as notifications:
        subscription = await subscribe(notifications.client, receiver.url)

        response = await catalogue.client.post("/v1/projects", json=KNOWN_PROJECTS[0])
        assert response.status_code == 201, response.text
        project_id = response.json()["id"]

        [request] = await eventually(lambda: received(receiver, 1))
        event = Webhook(subscription["secret"]).verify(request.body, request.headers)
        assert event["type"] == SUBMITTED and event["subject"] == project_id
        assert event["source"] == "/schuldenlab/catalogue" and event["data"]["project_id"] == project_id
        assert event["data"]["name"] == KNOWN_PROJECTS[0]["name"]
        assert "contact" not in event["data"]
        assert request.headers["webhook-id"] == event["id"]
