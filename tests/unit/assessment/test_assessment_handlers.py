"""The assessment's use cases over a fake unit of work: opening rounds, reviews, decisions, the portfolio."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from assessment.domain.errors import AssessmentNotFound, DecisionRefused, ReviewRefused
from assessment.domain.model import AssessmentStatus, Criterion, Finding, Seat, Verdict
from assessment.domain.portfolio import PortfolioProject
from assessment.service_layer import handlers
from schuldenlab_contracts.events import ProjectAssessed
from tests.unit.assessment.assessment_fakes import FakeUnitOfWork, known

MET = {c: Finding(True, f"{c.value} is fine") for c in Criterion}


async def _withdraw(uow, project_id, at=None):
    return await handlers.withdraw_project(handlers.WithdrawProject(project_id, at or datetime.now(UTC)), uow)


async def _open(uow, dossier):
    return await handlers.open_assessment(handlers.OpenAssessment(dossier), uow)


async def _review(uow, assessment_id, reviewer, findings=MET, seat=Seat.SUBJECT_MATTER_EXPERT):
    return await handlers.record_review(handlers.RecordReview(assessment_id, reviewer, seat, findings, ""), uow)


async def _decide(uow, assessment_id, verdict=Verdict.PROVEN, rationale=None, override=None):
    cmd = handlers.DecideAssessment(assessment_id, verdict, rationale, override, decided_by="director")
    return await handlers.decide_assessment(cmd, uow)


async def test_a_submission_opens_one_round_with_a_prescreen_and_portfolio_fit():
    uow = FakeUnitOfWork()
    a = await _open(uow, known("Doorbraakmethode"))
    assert a.status is AssessmentStatus.OPEN and a.round == 1 and a.previous_ids == ()
    assert a.prescreen.workable.outcome == "met"
    assert a.fit.gap_phases == ("stabilisation", "planning")
    assert list(uow.assessments.rows) == [a.id]


async def test_the_same_revision_submitted_twice_opens_nothing_new():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    first = await _open(uow, dossier)
    again = await _open(uow, replace(dossier, summary="re-published copy"))
    assert again.id == first.id and len(uow.assessments.rows) == 1


async def test_a_resubmission_opens_a_new_round_linked_to_the_earlier_one():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    first = await _open(uow, dossier)
    await _decide(uow, first.id, Verdict.NEEDS_INFORMATION, rationale="Which partners pay?")
    second = await _open(uow, replace(dossier, revision=2))
    assert second.round == 2 and second.previous_ids == (first.id,)
    latest = await handlers.get_project_assessment(dossier.project_id, uow)
    assert latest.id == second.id


async def test_a_newer_revision_supersedes_an_undecided_older_round():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    first = await _open(uow, dossier)
    await _open(uow, replace(dossier, revision=2))
    assert (await handlers.get_assessment(first.id, uow)).status is AssessmentStatus.SUPERSEDED


async def test_a_late_older_revision_is_recorded_as_superseded():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    second = await _open(uow, replace(dossier, revision=2))
    first = await _open(uow, dossier)
    assert first.status is AssessmentStatus.SUPERSEDED
    assert (await handlers.get_assessment(second.id, uow)).status is AssessmentStatus.OPEN


async def test_reviews_are_kept_one_per_reviewer_and_revisable():
    uow = FakeUnitOfWork()
    a = await _open(uow, known("Doorbraakmethode"))
    _, _, created = await _review(uow, a.id, "anna", {**MET, Criterion.AVAILABLE: Finding(False, "not yet")})
    _, review, created_again = await _review(uow, a.id, "anna")
    stored = await handlers.get_assessment(a.id, uow)
    assert created and not created_again and review.version == 2
    assert list(stored.reviews) == ["anna"] and stored.reviews["anna"].findings[Criterion.AVAILABLE].met


async def test_a_review_of_a_missing_assessment_is_not_found():
    with pytest.raises(AssessmentNotFound):
        await _review(FakeUnitOfWork(), uuid.uuid4(), "anna")


async def test_a_refused_decision_changes_nothing_and_publishes_nothing():
    uow = FakeUnitOfWork()
    a = await _open(uow, known("Doorbraakmethode"))
    await _review(uow, a.id, "anna")
    with pytest.raises(DecisionRefused):
        await _decide(uow, a.id)
    assert uow.published == [] and uow.portfolio.projects == {}
    assert (await handlers.get_assessment(a.id, uow)).status is AssessmentStatus.OPEN


async def test_a_proven_decision_publishes_project_assessed_and_joins_the_portfolio():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    a = await _open(uow, dossier)
    await _review(uow, a.id, "anna")
    await _review(uow, a.id, "bram", {**MET, Criterion.REUSABLE: Finding(False, "only Almelo")})
    await _review(uow, a.id, "carla")
    await _decide(uow, a.id, rationale="Fills the stabilisation gap.")
    [event] = uow.published
    assert isinstance(event, ProjectAssessed)
    assert (event.project_id, event.assessment_id, event.revision) == (dossier.project_id, a.id, 1)
    assert event.verdict == "proven" and event.rationale == "Fills the stabilisation gap."
    assert event.criteria.reusable.met and "bram (subject_matter_expert): not met - only Almelo" in \
        event.criteria.reusable.notes
    assert event.portfolio.phases == ["stabilisation", "planning"]
    assert event.portfolio.adds_to_portfolio and event.portfolio.similar_project_ids == []
    assert dossier.project_id in uow.portfolio.projects
    assert (await handlers.get_assessment(a.id, uow)).status is AssessmentStatus.DECIDED


async def test_a_board_override_publishes_its_written_reason():
    uow = FakeUnitOfWork()
    a = await _open(uow, known("Doorbraakmethode"))
    not_reusable = {**MET, Criterion.REUSABLE: Finding(False, "only Almelo")}
    await _review(uow, a.id, "anna", not_reusable)
    await _review(uow, a.id, "bram", not_reusable)
    await _decide(uow, a.id, rationale="Needed for stabilisation.", override="The pilot in Enschede shows reuse.")
    [event] = uow.published
    assert event.verdict == "proven" and not event.criteria.reusable.met
    assert event.override_reason == "The pilot in Enschede shows reuse."


async def test_a_rejected_decision_publishes_but_leaves_the_portfolio_alone():
    uow = FakeUnitOfWork()
    a = await _open(uow, known("Doorbraakmethode"))
    await _decide(uow, a.id, Verdict.REJECTED, rationale="Not ours to scale.")
    assert [e.verdict for e in uow.published] == ["rejected"] and uow.portfolio.projects == {}


async def test_portfolio_gaps_shrink_as_projects_are_proven_and_similar_projects_are_named():
    uow = FakeUnitOfWork()
    jpf = known("Jongeren Perspectief Fonds")
    a = await _open(uow, jpf)
    assert (await handlers.get_portfolio(uow)).gaps() == ("awareness", "intake", "referral", "stabilisation",
                                                          "planning", "debt_reduction", "aftercare")
    for reviewer in ("anna", "bram"):
        await _review(uow, a.id, reviewer)
    await _decide(uow, a.id)
    assert "debt_reduction" not in (await handlers.get_portfolio(uow)).gaps()

    copy = replace(jpf, project_id=uuid.uuid4(), name="Jongerenfonds Rotterdam")
    b = await _open(uow, copy)
    assert b.fit.similar_project_ids == (jpf.project_id,) and not b.fit.adds_to_portfolio
    for reviewer in ("anna", "bram"):
        await _review(uow, b.id, reviewer)
    await _decide(uow, b.id, Verdict.REJECTED, rationale="More of the same.")
    assert uow.published[-1].portfolio.similar_project_ids == [jpf.project_id]
    assert uow.published[-1].portfolio.adds_to_portfolio is False


async def test_an_open_round_shows_the_portfolio_as_it_is_now():
    uow = FakeUnitOfWork()
    a = await _open(uow, known("Doorbraakmethode"))
    await handlers.record_catalogue_project(PortfolioProject.from_dossier(known("Collectief Schuldregelen")), uow)
    assert (await handlers.get_assessment(a.id, uow)).fit.gap_phases == ("stabilisation",)


async def test_a_project_withdrawn_from_the_catalogue_leaves_the_portfolio():
    uow = FakeUnitOfWork()
    project = PortfolioProject.from_dossier(known("Nederlandse Schuldhulproute"))
    await handlers.record_catalogue_project(project, uow)
    assert "awareness" not in (await handlers.get_portfolio(uow)).gaps()
    assert await _withdraw(uow, project.project_id) == []
    assert "awareness" in (await handlers.get_portfolio(uow)).gaps()


async def test_a_withdrawal_closes_the_open_round_so_a_later_proven_cannot_put_the_project_back():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    a = await _open(uow, dossier)
    for reviewer in ("anna", "bram"):
        await _review(uow, a.id, reviewer)
    [withdrawn] = await _withdraw(uow, dossier.project_id)
    assert withdrawn.id == a.id
    stored = await handlers.get_assessment(a.id, uow)
    assert stored.status is AssessmentStatus.WITHDRAWN and set(stored.reviews) == {"anna", "bram"}
    assert [x.id for x in await handlers.list_assessments(AssessmentStatus.WITHDRAWN, uow)] == [a.id]
    with pytest.raises(DecisionRefused) as refused:
        await _decide(uow, a.id)
    assert refused.value.conditions == [
        "the project was withdrawn from the catalogue; its round takes no more reviews or decisions"]
    with pytest.raises(ReviewRefused):
        await _review(uow, a.id, "carla")
    assert uow.published == [] and uow.portfolio.projects == {}


async def test_a_withdrawal_leaves_a_decided_round_decided_and_takes_the_project_out_of_the_portfolio():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    a = await _open(uow, dossier)
    for reviewer in ("anna", "bram"):
        await _review(uow, a.id, reviewer)
    await _decide(uow, a.id)
    assert await _withdraw(uow, dossier.project_id) == []
    assert (await handlers.get_assessment(a.id, uow)).status is AssessmentStatus.DECIDED
    assert uow.portfolio.projects == {}


WITHDRAWN = "the project was withdrawn from the catalogue; its round takes no more reviews or decisions"


async def test_a_tombstone_handled_before_the_submission_of_an_earlier_revision_opens_its_round_withdrawn():
    uow = FakeUnitOfWork()
    listed = PortfolioProject.from_dossier(known("Nederlandse Schuldhulproute"))
    await handlers.record_catalogue_project(listed, uow)
    dossier = known("Doorbraakmethode")
    # The catalogue withdrew the project an hour after its submission; the tombstone arrives first.
    assert await _withdraw(uow, dossier.project_id, at=dossier.submitted_at + timedelta(hours=1)) == []
    a = await _open(uow, dossier)
    assert a.status is AssessmentStatus.WITHDRAWN
    stored = await handlers.get_project_assessment(dossier.project_id, uow)
    assert stored.id == a.id and stored.status is AssessmentStatus.WITHDRAWN  # still readable
    assert [x.id for x in await handlers.list_assessments(AssessmentStatus.WITHDRAWN, uow)] == [a.id]
    with pytest.raises(ReviewRefused) as refused_review:
        await _review(uow, a.id, "anna")
    with pytest.raises(DecisionRefused) as refused:
        await _decide(uow, a.id, override="The board knows it works.")
    assert refused.value.conditions == refused_review.value.conditions == [WITHDRAWN]
    assert uow.published == [] and list(uow.portfolio.projects) == [listed.project_id]


async def test_a_revision_submitted_at_the_moment_of_the_withdrawal_opens_withdrawn_too():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    await _withdraw(uow, dossier.project_id, at=dossier.submitted_at)
    assert (await _open(uow, dossier)).status is AssessmentStatus.WITHDRAWN


async def test_a_revision_submitted_after_the_recorded_withdrawal_opens_normally_and_can_be_proven():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    await _withdraw(uow, dossier.project_id, at=dossier.submitted_at - timedelta(days=30))
    a = await _open(uow, dossier)
    assert a.status is AssessmentStatus.OPEN
    for reviewer in ("anna", "bram"):
        await _review(uow, a.id, reviewer)
    await _decide(uow, a.id)
    assert list(uow.portfolio.projects) == [dossier.project_id]


async def test_the_latest_withdrawal_of_a_project_counts_even_when_an_older_tombstone_arrives_last():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    later = dossier.submitted_at + timedelta(hours=1)
    await _withdraw(uow, dossier.project_id, at=later)
    await _withdraw(uow, dossier.project_id, at=dossier.submitted_at - timedelta(days=30))
    assert (await uow.withdrawals.get(dossier.project_id)).withdrawn_at == later
    assert (await _open(uow, dossier)).status is AssessmentStatus.WITHDRAWN


async def test_a_submission_handled_before_the_tombstone_is_withdrawn_by_it_in_the_other_order_too():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    a = await _open(uow, dossier)
    assert a.status is AssessmentStatus.OPEN
    [withdrawn] = await _withdraw(uow, dossier.project_id, at=dossier.submitted_at + timedelta(hours=1))
    assert withdrawn.id == a.id
    assert (await handlers.get_assessment(a.id, uow)).status is AssessmentStatus.WITHDRAWN


async def test_a_withdrawn_revision_arriving_after_the_tombstone_still_supersedes_nothing_decided():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    first = await _open(uow, dossier)
    await _decide(uow, first.id, Verdict.NEEDS_INFORMATION, rationale="Which partners pay?")
    second = replace(dossier, revision=2, submitted_at=dossier.submitted_at + timedelta(days=1))
    await _withdraw(uow, dossier.project_id, at=second.submitted_at + timedelta(hours=1))
    opened = await _open(uow, second)
    assert opened.status is AssessmentStatus.WITHDRAWN and opened.previous_ids == (first.id,)
    assert (await handlers.get_assessment(first.id, uow)).status is AssessmentStatus.DECIDED


async def test_superseding_never_overwrites_a_round_decided_meanwhile():
    uow = FakeUnitOfWork()
    dossier = known("Doorbraakmethode")
    first = await _open(uow, dossier)
    # The submission handler read round 1 as open; the decision commits before it stores the supersede.
    stale_rounds = await uow.assessments.for_project(dossier.project_id)
    reading = uow.assessments.for_project

    async def stale_for_project(project_id):
        await reading(project_id)
        return stale_rounds

    await _decide(uow, first.id, Verdict.NEEDS_INFORMATION, rationale="Who pays?")
    uow.assessments.for_project = stale_for_project
    await _open(uow, replace(dossier, revision=2))
    stored = await handlers.get_assessment(first.id, uow)
    assert stored.status is AssessmentStatus.DECIDED and stored.decision.verdict is Verdict.NEEDS_INFORMATION


async def test_a_revised_review_without_a_seat_keeps_the_seat_recorded_earlier():
    uow = FakeUnitOfWork()
    a = await _open(uow, known("Doorbraakmethode"))
    await _review(uow, a.id, "anna", seat=Seat.DIRECTOR)
    _, revised, _ = await _review(uow, a.id, "anna", seat=None)
    assert revised.seat is Seat.DIRECTOR and revised.version == 2
    assert (await handlers.get_assessment(a.id, uow)).reviews["anna"].seat is Seat.DIRECTOR


async def test_the_project_assessment_of_an_unknown_project_is_not_found():
    with pytest.raises(AssessmentNotFound):
        await handlers.get_project_assessment(uuid.uuid4(), FakeUnitOfWork())
