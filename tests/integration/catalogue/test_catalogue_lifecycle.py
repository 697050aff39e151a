"""The project lifecycle driven by ProjectAssessed on a real broker: resubmission and out-of-date verdicts."""

from __future__ import annotations

import json

import pytest

from tests.integration.catalogue.catalogue_support import (
    assessed,
    dossier,
    send,
    status_of,
    submit_with_key,
    submitter,
)
from tests.support.harness import eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration


async def test_a_verdict_on_an_old_revision_is_kept_in_history_but_only_the_current_one_counts(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        project_id, key = await submit_with_key(catalogue)
        url = f"/v1/projects/{project_id}"
        mine = submitter(key)

        early = await catalogue.client.put(url, json=dossier(), headers=mine)
        assert early.status_code == 409
        assert any("needs_information" in c and "'submitted'" in c for c in early.json()["conditions"])

        await send(fresh_kafka, assessed(project_id, "needs_information", revision=1))
        await eventually(lambda: _is(catalogue, project_id, "needs_information"))

        resubmitted = await catalogue.client.put(url, json=dossier(results="Inmiddels 80 jongeren schuldenvrij."),
                                                 headers=mine)
        assert resubmitted.status_code == 200 and resubmitted.json()["revision"] == 2
        assert (await catalogue.client.put(url, json=dossier(), headers=mine)).status_code == 409  # once only

        # The board's verdict on revision 1 arrives late: recorded, but the status stays.
        await send(fresh_kafka, assessed(project_id, "proven", revision=1))

        async def recorded_late_verdict():
            shown = (await catalogue.client.get(url, headers=mine)).json()
            return shown if len(shown["verdicts"]) == 2 else None

        shown = await eventually(recorded_late_verdict)
        assert shown["status"] == "submitted" and shown["revision"] == 2
        assert [(v["revision"], v["verdict"], v["applied"]) for v in shown["verdicts"]] == [
            (1, "needs_information", True), (1, "proven", False)]
        assert shown["results"] == "Inmiddels 80 jongeren schuldenvrij."
        listed = (await catalogue.client.get("/v1/catalogue")).json()["items"]
        assert listed == []

        await send(fresh_kafka, assessed(project_id, "proven", revision=2))
        await eventually(lambda: _is(catalogue, project_id, "proven"))
        [item] = (await catalogue.client.get("/v1/catalogue")).json()["items"]
        assert item["project_id"] == project_id and item["revision"] == 2

    submissions = await read_topic(fresh_kafka, "catalogue.project-submitted.v1", expect=2)
    assert sorted(json.loads(r.value)["revision"] for r in submissions) == [1, 2]


async def _is(catalogue, project_id: str, status: str) -> bool:
    return await status_of(catalogue, project_id) == status
