"""Which proven projects count in the portfolio: not one whose rating ran out, again one whose rating was renewed."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from assessment.domain.model import Verdict
from assessment.domain.rating import EvidenceLevel, counts_in_portfolio
from assessment.service_layer import handlers, reassessment
from tests.unit.assessment.assessment_fakes import FakeUnitOfWork, known
from tests.unit.assessment.test_assessment_rating import SHORT, T0, _decide, _proven_round

PHASES = ("stabilisation", "planning")  # Doorbraakmethode's


def test_a_rating_counts_until_its_end_and_a_project_without_one_always_counts():
    rating = SHORT.rate(uuid.uuid4(), uuid.uuid4(), EvidenceLevel.EFFECTIVE, T0)
    assert counts_in_portfolio(rating, rating.valid_until - timedelta(microseconds=1))
    assert not counts_in_portfolio(rating, rating.valid_until)  # the catalogue shows `expired` from then on too
    assert counts_in_portfolio(None, T0 + timedelta(days=10_000))  # proven before ratings had an end


def _expire(uow: FakeUnitOfWork, project_id: uuid.UUID) -> None:
    # As if its time ran out: the notice passed and the end too, with no decision taken.
    ended = datetime.now(UTC) - timedelta(seconds=1)
    uow.ratings.rows[project_id] = replace(uow.ratings.rows[project_id], valid_until=ended, notice_at=ended)


async def test_an_expired_project_covers_no_phase_and_resembles_no_newcomer_until_it_is_renewed():
    uow = FakeUnitOfWork()
    original = await _proven_round(uow)
    copy = await handlers.open_assessment(handlers.OpenAssessment(known("Doorbraakmethode", name="Doorbraak Twente")),
                                          uow)
    held = (await handlers.get_assessment(copy.id, uow)).fit
    assert (held.similar_project_ids, held.gap_phases) == ((original.project_id,), ())

    _expire(uow, original.project_id)
    gone = (await handlers.get_assessment(copy.id, uow)).fit
    assert (gone.similar_project_ids, gone.gap_phases, gone.adds_to_portfolio) == ((), PHASES, True)
    portfolio = await handlers.get_portfolio(uow)
    assert not portfolio.projects and set(PHASES) <= set(portfolio.gaps())
    assert original.project_id in uow.portfolio.projects  # kept, so that a renewal brings it back

    [round_] = await reassessment.open_due_reassessments(uow)  # the scheduler's pass
    await _decide(uow, round_.id, Verdict.PROVEN)
    back = (await handlers.get_assessment(copy.id, uow)).fit
    assert (back.similar_project_ids, back.gap_phases) == ((original.project_id,), ())
    assert set((await handlers.get_portfolio(uow)).projects) == {original.project_id}


async def test_a_rejected_reassessment_takes_the_project_out_of_the_portfolio_at_once():
    uow = FakeUnitOfWork()
    original = await _proven_round(uow)
    round_ = await reassessment.request_reassessment(
        reassessment.RequestReassessment(original.project_id, "check", "director"), uow)
    await _decide(uow, round_.id, Verdict.REJECTED, rationale="It stopped running.")
    # Not when the catalogue's tombstone comes back: without its rating it would count meanwhile.
    assert original.project_id not in uow.portfolio.projects
