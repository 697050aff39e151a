"""The walking skeleton in one process: submit on catalogue, assessment opens, notifications records."""

from __future__ import annotations

import pytest

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.registry import EVENTS
from tests.support.harness import auth, eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration


async def test_submission_flows_to_assessment_and_notifications(fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue, \
            running_service("assessment", settings) as assessment, \
            running_service("notifications", settings) as notifications:
        response = await catalogue.client.post("/v1/projects", json=KNOWN_PROJECTS[0])
        assert response.status_code == 201, response.text
        project_id = response.json()["id"]

        async def opened():
            r = await assessment.client.get(f"/v1/projects/{project_id}/assessment")
            return r.json() if r.status_code == 200 else None

        opened_assessment = await eventually(opened)
        assert opened_assessment["revision"] == 1 and opened_assessment["status"] == "open"

        async def recorded():
            r = await notifications.client.get("/v1/events", headers=auth("operator"))
            return [e for e in r.json()["items"] if e["subject"] == project_id]

        [event] = await eventually(recorded)
        assert event["ce_type"] == "nl.schuldenlab.project.submitted.v1"

    [record] = await read_topic(fresh_kafka, "catalogue.project-submitted.v1", expect=1)
    assert record.key == project_id.encode()
    assert "contact" not in record.value.decode() and "demo@schuldenlab" not in record.value.decode()
    assert {spec.topic for spec in EVENTS} >= {"catalogue.project-submitted.v1"}
