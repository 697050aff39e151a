"""Ratings in the catalogue (SPEC 5.2) on PostgreSQL and Kafka: status, expiry, filter, re-assessment, rejection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalogue.entrypoints import expiry, messages
from schuldenlab_contracts.cloudevents import new_event
from schuldenlab_contracts.events import EvidenceLevel, ReassessmentDue, ReassessmentReason
from tests.integration.catalogue.catalogue_support import (
    assessed,
    dossier,
    fold,
    kafka_pairs,
    send,
    status_of,
    submit,
    submit_with_key,
    submitter,
)
from tests.support.harness import eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration
FEED = "catalogue.projects.v1"


def rated(project_id: str, level: str, valid_until: datetime, verdict: str = "proven", **kwargs):
    payload = assessed(project_id, verdict, **kwargs)
    if verdict != "proven":
        return payload
    return payload.model_copy(update={"evidence_level": EvidenceLevel(level), "valid_until": valid_until})


async def _apply(service, payload, handler=messages.on_project_assessed) -> None:
    async with service.runtime.transaction() as uow:
        await handler(payload, new_event(payload), uow)


async def _names(client, query: str = "") -> list[str]:
    r = await client.get(f"/v1/catalogue{query}")
    assert r.status_code == 200, r.text
    return sorted(item["name"] for item in r.json()["items"])


async def test_the_catalogue_shows_ratings_filters_on_evidence_and_hides_expired_by_its_own_clock(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_RATING_CHECK_INTERVAL="0.1")
    async with running_service("catalogue", settings) as catalogue:
        client = catalogue.client
        later = datetime.now(UTC) + timedelta(days=365)
        lasting, effective = await submit(catalogue, 0), await submit(catalogue, 1)
        await send(fresh_kafka, rated(lasting, "practice_based", later))  # through the broker once
        await _apply(catalogue, rated(effective, "effective", later))
        short = await submit(catalogue, 2)
        await _apply(catalogue, rated(short, "evaluated", datetime.now(UTC) + timedelta(seconds=1)))
        names = {p: (await client.get(f"/v1/projects/{p}")).json()["name"] for p in (lasting, effective, short)}

        async def listed_three():
            return len(await _names(client, "?include_expired=true")) == 3 or None

        await eventually(listed_three)
        assert await _names(client, "?evidence_level=effective") == [names[effective]]
        assert await _names(client, "?evidence_level=practice_based") == [names[lasting]]
        page = (await client.get("/projecten?bewijsniveau=effective")).text  # the website's filter, wired
        assert names[effective] in page and names[lasting] not in page
        bad = await client.get("/v1/catalogue?evidence_level=anecdotal")
        assert bad.status_code == 422 and "evidence_level" in bad.text
        item = (await client.get(f"/v1/projects/{effective}")).json()
        assert item["rating"]["evidence_level"] == "effective" and item["rating"]["status"] == "current"

        # The short rating runs out: out of the default listing, shown `expired` when asked for.
        async def gone():
            return names[short] not in await _names(client) or None

        await eventually(gone)
        assert await _names(client) == sorted([names[lasting], names[effective]])
        everything = (await client.get("/v1/catalogue?include_expired=true")).json()["items"]
        assert {i["name"]: i["rating"]["status"] for i in everything}[names[short]] == "expired"

        # The feed says so by itself too (the expiry job), once.
        async def feed_says_expired():
            records = kafka_pairs(await read_topic(fresh_kafka, FEED, expect=4))
            return fold(records).get(short, {}).get("rating", {}).get("status") == "expired" or None

        await eventually(feed_says_expired)
        assert await expiry.run_once(catalogue.runtime) == 0
        records = kafka_pairs(await read_topic(fresh_kafka, FEED, expect=4))
    expired = [v for k, v in records if k == short and v and v["rating"]["status"] == "expired"]
    assert len(expired) == 1


async def test_reassessment_due_lets_the_submitter_revise_and_a_rejection_takes_the_project_out(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        client = catalogue.client
        project_id, key = await submit_with_key(catalogue, 0)
        valid_until = datetime.now(UTC) + timedelta(days=30)
        await _apply(catalogue, rated(project_id, "evaluated", valid_until))
        url = f"/v1/projects/{project_id}"
        early = await client.put(url, json=dossier(0, results="Nieuwe cijfers."), headers=submitter(key))
        assert early.status_code == 409 and "re-assessment" in early.text

        round_id = uuid.uuid4()
        await send(fresh_kafka, ReassessmentDue(project_id=uuid.UUID(project_id), assessment_id=round_id, revision=1,
                                                valid_until=valid_until, reason=ReassessmentReason.EXPIRY,
                                                opened_at=datetime.now(UTC)))

        async def due():
            r = (await client.get(url)).json()
            return r["rating"]["status"] == "reassessment_due" or None

        await eventually(due)
        revised = await client.put(url, json=dossier(0, results="Nieuwe cijfers."), headers=submitter(key))
        assert revised.status_code == 200, revised.text
        assert await status_of(catalogue, project_id) == "proven"  # still listed while the board decides
        item = (await client.get(url)).json()
        assert (item["revision"], item["results"]) == (2, "Nieuwe cijfers.")

        await _apply(catalogue, rated(project_id, "", valid_until, verdict="rejected", revision=2))
        assert await status_of(catalogue, project_id) == "rejected"
        assert await _names(client, "?include_expired=true") == []
        records = kafka_pairs(await read_topic(fresh_kafka, FEED, expect=4))
    statuses = [v["rating"]["status"] if v else None for k, v in records if k == project_id]
    assert statuses == ["current", "reassessment_due", "reassessment_due", None]  # the last is the tombstone
