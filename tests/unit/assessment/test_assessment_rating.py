"""Ratings that last a set time (SPEC 5.2): evidence level, validity, notice, renewal, rejection, board requests."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from assessment.domain.errors import ReassessmentRefused
from assessment.domain.model import AssessmentStatus, Criterion, Finding, Seat, Verdict
from assessment.domain.rating import EvidenceLevel, RatingPolicy, ReassessmentReason
from assessment.service_layer import handlers, reassessment
from schuldenlab_contracts.events import ProjectAssessed, ReassessmentDue
from tests.unit.assessment.assessment_fakes import FakeUnitOfWork, known

MET = {c: Finding(True, "fine") for c in Criterion}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHORT = RatingPolicy(validity=timedelta(days=10), notice=timedelta(days=3))


async def _proven_round(uow, policy=SHORT, level=None, dossier=None):
    a = await handlers.open_assessment(handlers.OpenAssessment(dossier or known("Doorbraakmethode")), uow)
    return await _decide(uow, a.id, Verdict.PROVEN, policy=policy, level=level)


async def _decide(uow, assessment_id, verdict, *, policy=SHORT, level=None, rationale="because"):
    for who in ("director", "expert"):
        await handlers.record_review(handlers.RecordReview(assessment_id, who, Seat.DIRECTOR, MET, ""), uow)
    cmd = handlers.DecideAssessment(assessment_id, verdict, rationale, None, "director", evidence_level=level,
                                    policy=policy)
    return await handlers.decide_assessment(cmd, uow)


def _due(uow):
    return reassessment.open_due_reassessments(uow)


def test_a_rating_holds_for_the_validity_and_its_notice_comes_before_the_end():
    rating = SHORT.rate(uuid.uuid4(), uuid.uuid4(), EvidenceLevel.EVALUATED, T0)
    assert rating.valid_until == T0 + timedelta(days=10)
    assert rating.notice_at == T0 + timedelta(days=7)
    assert not rating.is_due(T0 + timedelta(days=7) - timedelta(seconds=1))
    assert rating.is_due(T0 + timedelta(days=7))


def test_a_rating_is_reassessed_once():
    rating = SHORT.rate(uuid.uuid4(), uuid.uuid4(), EvidenceLevel.EFFECTIVE, T0).reassess(uuid.uuid4())
    assert not rating.is_due(T0 + timedelta(days=30))  # its round is open: not due again
    with pytest.raises(ReassessmentRefused) as refused:
        rating.reassess(uuid.uuid4())
    assert "already open" in str(refused.value) and refused.value.conditions


@pytest.mark.parametrize(("validity", "notice"), [(timedelta(0), timedelta(0)), (timedelta(days=1), timedelta(days=1)),
                                                  (timedelta(days=1), timedelta(days=-1))])
def test_a_policy_needs_a_positive_validity_and_a_shorter_notice(validity, notice):
    with pytest.raises(ValueError):
        RatingPolicy(validity, notice)


async def test_proven_without_a_level_is_practice_based_and_publishes_its_validity():
    uow = FakeUnitOfWork()
    a = await _proven_round(uow)
    [event] = [e for e in uow.published if isinstance(e, ProjectAssessed)]
    assert event.evidence_level == "practice_based"
    assert event.valid_until == a.decision.decided_at + SHORT.validity
    rating = uow.ratings.rows[a.project_id]
    assert (rating.assessment_id, rating.valid_until) == (a.id, event.valid_until)


async def test_proven_with_a_level_publishes_that_level():
    uow = FakeUnitOfWork()
    await _proven_round(uow, level=EvidenceLevel.EFFECTIVE)
    assert uow.published[-1].evidence_level == "effective"


async def test_other_verdicts_carry_no_level_and_no_validity():
    uow = FakeUnitOfWork()
    a = await handlers.open_assessment(handlers.OpenAssessment(known("Doorbraakmethode")), uow)
    await _decide(uow, a.id, Verdict.NEEDS_INFORMATION)
    event = uow.published[-1]
    assert (event.evidence_level, event.valid_until) == (None, None) and not uow.ratings.rows


async def test_the_notice_opens_one_reassessment_round_and_publishes_reassessment_due():
    uow = FakeUnitOfWork()
    first = await _proven_round(uow)
    await _wait_until_due(uow, first.project_id)
    [round_] = await _due(uow)
    assert await _due(uow) == []  # nothing due twice
    assert round_.reassessment is ReassessmentReason.EXPIRY and round_.revision == first.revision
    assert round_.status is AssessmentStatus.OPEN and round_.previous_ids == (first.id,)
    [due] = [e for e in uow.published if isinstance(e, ReassessmentDue)]
    assert (due.project_id, due.assessment_id, due.revision, due.reason) == (
        first.project_id, round_.id, first.revision, "expiry")
    assert due.valid_until == first.decision.valid_until


async def _wait_until_due(uow, project_id):
    # The handlers read the real clock: the stored notice time is moved into the past instead of sleeping.
    rating = uow.ratings.rows[project_id]
    uow.ratings.rows[project_id] = replace(rating, notice_at=datetime.now(UTC) - timedelta(seconds=1))


async def test_a_rating_not_yet_due_opens_nothing():
    uow = FakeUnitOfWork()
    await _proven_round(uow)
    assert await _due(uow) == [] and not any(isinstance(e, ReassessmentDue) for e in uow.published)


async def test_the_board_can_ask_for_a_reassessment_at_once_but_not_twice():
    uow = FakeUnitOfWork()
    first = await _proven_round(uow)
    cmd = reassessment.RequestReassessment(first.project_id, "the fund stopped", "director")
    round_ = await reassessment.request_reassessment(cmd, uow)
    assert round_.reassessment is ReassessmentReason.REQUESTED
    assert uow.published[-1].reason == "requested"
    with pytest.raises(ReassessmentRefused):
        await reassessment.request_reassessment(cmd, uow)
    assert await _due(uow) == []


async def test_a_project_without_a_rating_cannot_be_reassessed():
    uow = FakeUnitOfWork()
    with pytest.raises(ReassessmentRefused) as refused:
        await reassessment.request_reassessment(
            reassessment.RequestReassessment(uuid.uuid4(), "why not", "director"), uow)
    assert "no" in refused.value.conditions[0]


async def test_proven_on_the_reassessment_renews_the_rating():
    uow = FakeUnitOfWork()
    first = await _proven_round(uow)
    round_ = await reassessment.request_reassessment(
        reassessment.RequestReassessment(first.project_id, "check", "director"), uow)
    renewed = await _decide(uow, round_.id, Verdict.PROVEN, level=EvidenceLevel.EVALUATED)
    rating = uow.ratings.rows[first.project_id]
    assert rating.valid_until == renewed.decision.valid_until > first.decision.valid_until
    assert (rating.reassessment_id, rating.evidence_level, rating.assessment_id) == (None, "evaluated", round_.id)
    assert uow.published[-1].valid_until == rating.valid_until


async def test_rejected_on_the_reassessment_ends_the_rating():
    uow = FakeUnitOfWork()
    first = await _proven_round(uow)
    round_ = await reassessment.request_reassessment(
        reassessment.RequestReassessment(first.project_id, "check", "director"), uow)
    await _decide(uow, round_.id, Verdict.REJECTED, rationale="It stopped running.")
    assert first.project_id not in uow.ratings.rows
    assert uow.published[-1].verdict == "rejected"


async def test_a_revision_during_the_reassessment_supersedes_its_round_and_its_proven_renews():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    first = await _proven_round(uow, dossier=dossier)
    round_ = await reassessment.request_reassessment(
        reassessment.RequestReassessment(first.project_id, "check", "director"), uow)
    revised = await handlers.open_assessment(handlers.OpenAssessment(replace(dossier, revision=2)), uow)
    assert uow.assessments.rows[round_.id].status is AssessmentStatus.SUPERSEDED
    await _decide(uow, revised.id, Verdict.PROVEN)
    assert uow.ratings.rows[first.project_id].reassessment_id is None


async def test_a_withdrawn_project_is_not_reassessed():
    uow = FakeUnitOfWork()
    first = await _proven_round(uow)
    await handlers.withdraw_project(handlers.WithdrawProject(first.project_id, datetime.now(UTC)), uow)
    assert first.project_id not in uow.ratings.rows
