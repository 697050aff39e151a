"""A project whose rating ran out no longer counts in the portfolio a new submission is fitted against, on real
PostgreSQL and Kafka: its phases open up again and a copy of it is no longer "more of the same", the catalogue's
republished (expired) listing does not bring it back, a renewing `proven` does; a rejection takes it out at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.assessment.assessment_events import listed, send_payload, submitted
from tests.integration.assessment.test_assessment_reassessment import LONG, _decide, _open_round
from tests.support.harness import auth, eventually, running_service, service_settings

pytestmark = pytest.mark.integration

# Validity 0.00012 days (10.4 s), notice 0.0001 days (8.6 s): the scheduler opens the round 1.7 s after the
# decision, and the rating runs out 10.4 s after it, long enough to see the project count before it does.
SHORT = {"SCHULDENLAB_RATING_VALIDITY_DAYS": "0.00012", "SCHULDENLAB_REASSESSMENT_NOTICE_DAYS": "0.0001",
         "SCHULDENLAB_RATING_CHECK_INTERVAL": "0.1"}
PHASES = ["stabilisation", "planning"]  # Doorbraakmethode's


def _copy():
    """Another organisation's copy of Doorbraakmethode: the same approach in the same phases, more of the same."""
    return submitted("Doorbraakmethode").model_copy(update={"name": "Doorbraakmethode Twente"})


async def _fit(client, round_id) -> dict:
    r = await client.get(f"/v1/assessments/{round_id}", headers=auth("assessor"))
    assert r.status_code == 200, r.text
    return r.json()["portfolio_fit"]  # an open round shows the fit against the portfolio as it is now


async def _portfolio(client) -> dict:
    return (await client.get("/v1/portfolio")).json()


async def test_an_expired_project_leaves_the_portfolio_fit_and_comes_back_when_renewed(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, **SHORT)
    async with running_service("assessment", settings) as assessment:
        client = assessment.client
        copy = _copy()  # more of the same, in open review
        await send_payload(fresh_kafka, copy)
        copy_round = await _open_round(client, copy.project_id)
        original = submitted("Doorbraakmethode")
        await send_payload(fresh_kafka, original)
        decided = await _decide(client, (await _open_round(client, original.project_id))["id"])
        assert decided.status_code == 200, decided.text
        valid_until = datetime.fromisoformat(decided.json()["valid_until"])

        held = await _fit(client, copy_round["id"])  # while the rating holds
        assert (held["similar_project_ids"], held["gap_phases"]) == ([str(original.project_id)], [])
        assert (await _portfolio(client))["project_count"] == 1

        async def expired_fit():
            fit = await _fit(client, copy_round["id"])
            return fit if not fit["similar_project_ids"] else None

        gone = await eventually(expired_fit, timeout=30)
        assert datetime.now(UTC) >= valid_until  # by the clock, not before
        assert gone["gap_phases"] == PHASES and gone["adds_to_portfolio"] is True
        portfolio = await _portfolio(client)
        assert portfolio["project_count"] == 0 and set(PHASES) <= set(portfolio["gaps"])

        # The catalogue republishes the listing with its rating expired: kept, but it still does not count.
        feed = await send_payload(fresh_kafka, listed(original))
        await eventually(lambda: assessment.runtime.pool.fetchval("SELECT 1 FROM inbox WHERE event_id = $1::uuid",
                                                                  feed.id))
        assert await assessment.runtime.pool.fetchval("SELECT count(*) FROM portfolio WHERE project_id = $1",
                                                      original.project_id) == 1
        assert (await _fit(client, copy_round["id"]))["similar_project_ids"] == []
        assert (await _portfolio(client))["project_count"] == 0

        # The scheduler opened the re-assessment at notice time; the board renews the rating late: it counts again.
        round_ = await _open_round(client, original.project_id, reassessment="expiry")
        renewed = await _decide(client, round_["id"])
        assert renewed.status_code == 200, renewed.text
        assert datetime.fromisoformat(renewed.json()["valid_until"]) > datetime.now(UTC)
        back = await _fit(client, copy_round["id"])
        assert (back["similar_project_ids"], back["gap_phases"]) == ([str(original.project_id)], [])
        assert (await _portfolio(client))["project_count"] == 1


async def test_a_rejected_reassessment_takes_the_project_out_of_the_portfolio_before_the_tombstone(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, **LONG)
    async with running_service("assessment", settings) as assessment:
        client = assessment.client
        original = submitted("Doorbraakmethode")
        await send_payload(fresh_kafka, original)
        decided = await _decide(client, (await _open_round(client, original.project_id))["id"])
        assert decided.status_code == 200, decided.text
        assert (await _portfolio(client))["project_count"] == 1
        opened = await client.post(f"/v1/projects/{original.project_id}/reassessment", headers=auth("board"),
                                   json={"reason": "It stopped taking new families."})
        assert opened.status_code == 201, opened.text
        rejected = await _decide(client, opened.json()["id"], verdict="rejected")
        assert rejected.status_code == 200, rejected.text
        # No tombstone was sent: the decision alone took it out.
        assert (await _portfolio(client))["project_count"] == 0
        copy = _copy()
        await send_payload(fresh_kafka, copy)
        fit = (await _open_round(client, copy.project_id))["portfolio_fit"]
        assert (fit["similar_project_ids"], fit["gap_phases"]) == ([], PHASES)
