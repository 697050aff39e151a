"""Reviews and the board's decision on one assessment round (domain rules, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assessment.domain.errors import DecisionRefused, ReviewRefused
from assessment.domain.model import Assessment, AssessmentStatus, Criterion, Finding, Seat, Verdict
from assessment.domain.portfolio import Portfolio, PortfolioProject
from assessment.domain.prescreen import prescreen
from assessment.domain.withdrawal import Withdrawal
from tests.unit.assessment.assessment_fakes import known

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def _open() -> Assessment:
    dossier = known("Collectief Schuldregelen")
    fit = Portfolio([]).fit(PortfolioProject.from_dossier(dossier))
    return Assessment.open(dossier, prescreen(dossier), fit, (), NOW)


def _findings(workable=True, reusable=True, available=True, notes="") -> dict[Criterion, Finding]:
    return {Criterion.WORKABLE: Finding(workable, notes), Criterion.REUSABLE: Finding(reusable, notes),
            Criterion.AVAILABLE: Finding(available, notes)}


def _review(a: Assessment, reviewer: str, **kw) -> None:
    a.record_review(reviewer, Seat.DIRECTOR, _findings(**kw), "", NOW)


def _decide(a: Assessment, verdict=Verdict.PROVEN, rationale=None, override=None):
    fit = Portfolio([]).fit(PortfolioProject.from_dossier(a.dossier))
    return a.decide(verdict, rationale, override, "board-member", fit, NOW)


def test_proven_needs_at_least_two_reviews():
    a = _open()
    _review(a, "anna")
    with pytest.raises(DecisionRefused) as refused:
        _decide(a)
    assert refused.value.conditions == ["at least 2 reviews are needed to find a project proven; this round has 1"]
    assert a.status is AssessmentStatus.OPEN and a.decision is None


def test_proven_without_reviews_names_every_unmet_condition():
    with pytest.raises(DecisionRefused) as refused:
        _decide(_open())
    conditions = refused.value.conditions
    assert len(conditions) == 4
    assert conditions[0].startswith("at least 2 reviews")
    assert [c.split("'")[1] for c in conditions[1:]] == ["workable", "reusable", "available"]


def test_proven_needs_a_majority_of_reviews_finding_each_criterion_met():
    a = _open()
    _review(a, "anna")
    _review(a, "bram", reusable=False)
    with pytest.raises(DecisionRefused) as refused:
        _decide(a)
    # A tie is no majority.
    assert refused.value.conditions == [
        ("a majority of reviews must find 'reusable' met (1 of 2 do), or the board overrides with a written "
         "override_reason")]


def test_proven_with_two_agreeing_reviews_is_decided_and_final():
    a = _open()
    _review(a, "anna", notes="runs in six cities")
    _review(a, "bram")
    _review(a, "carla", available=False)
    decision = _decide(a)
    assert a.status is AssessmentStatus.DECIDED and decision.verdict is Verdict.PROVEN
    assert decision.criteria[Criterion.AVAILABLE].met and decision.criteria[Criterion.AVAILABLE].met_count == 2
    assert "anna (director): met - runs in six cities" in decision.criteria[Criterion.WORKABLE].notes
    assert decision.rationale  # the contract needs one; generated when the board gives none
    with pytest.raises(DecisionRefused) as refused:
        _decide(a, Verdict.REJECTED, rationale="changed our mind")
    assert "a decision is final for its round" in refused.value.conditions[0]


def test_the_board_may_override_the_reviews_with_a_written_reason_that_is_published():
    a = _open()
    _review(a, "anna", workable=False)
    _review(a, "bram", workable=False)
    decision = _decide(a, rationale="Fills the planning gap.", override="Results since 2019 convince the board.")
    assert decision.verdict is Verdict.PROVEN and not decision.criteria[Criterion.WORKABLE].met
    assert decision.override_reason == "Results since 2019 convince the board."
    assert decision.rationale.startswith("Fills the planning gap.")
    assert "Board override of the reviews: Results since 2019 convince the board." in decision.rationale


def test_an_override_does_not_replace_the_two_reviews():
    a = _open()
    _review(a, "anna", workable=False)
    with pytest.raises(DecisionRefused) as refused:
        _decide(a, override="We know this one.")
    assert refused.value.conditions == ["at least 2 reviews are needed to find a project proven; this round has 1"]


@pytest.mark.parametrize("verdict", [Verdict.REJECTED, Verdict.NEEDS_INFORMATION])
def test_rejected_and_needs_information_need_a_rationale(verdict):
    a = _open()
    for blank in (None, "   "):
        with pytest.raises(DecisionRefused) as refused:
            _decide(a, verdict, rationale=blank)
        assert refused.value.conditions == [f"a {verdict.value!r} verdict needs a rationale"]
    decision = _decide(a, verdict, rationale="No continuity model yet.")
    assert decision.verdict is verdict and decision.rationale == "No continuity model yet."


def test_an_override_reason_only_belongs_to_a_proven_verdict():
    with pytest.raises(DecisionRefused) as refused:
        _decide(_open(), Verdict.REJECTED, rationale="weak", override="because")
    assert refused.value.conditions == ["an override_reason only applies to a 'proven' verdict"]


def test_a_reviewer_revises_their_review_instead_of_adding_a_second():
    a = _open()
    _, created = a.record_review("anna", Seat.DIRECTOR, _findings(reusable=False), "first look", NOW)
    later = datetime(2025, 3, 2, tzinfo=UTC)
    review, created_again = a.record_review("anna", Seat.DIRECTOR, _findings(), "after the call", later)
    assert created and not created_again
    assert len(a.reviews) == 1
    assert review.version == 2 and review.recorded_at == NOW and review.revised_at == later
    assert a.majority()[Criterion.REUSABLE].met


def test_no_reviews_after_the_decision():
    a = _open()
    _decide(a, Verdict.NEEDS_INFORMATION, rationale="Send the evaluation report.")
    with pytest.raises(ReviewRefused) as refused:
        _review(a, "anna")
    assert "a decision is final for its round" in refused.value.conditions[0]


def test_a_superseded_round_takes_no_reviews_and_no_decision():
    a = _open()
    a.supersede()
    with pytest.raises(ReviewRefused):
        _review(a, "anna")
    with pytest.raises(DecisionRefused) as refused:
        _decide(a, Verdict.REJECTED, rationale="x")
    assert "superseded" in refused.value.conditions[0]


def test_an_override_when_the_majority_already_finds_every_criterion_met_is_no_override():
    a = _open()
    _review(a, "anna")
    _review(a, "bram")
    decision = _decide(a, rationale="Proven in six cities.", override="We would have anyway.")
    assert decision.override_reason is None
    assert decision.rationale == "Proven in six cities."
    assert "Board override" not in decision.rationale


def test_a_revision_without_a_seat_keeps_the_earlier_seat_and_a_new_seat_replaces_it():
    a = _open()
    a.record_review("anna", Seat.SUBJECT_MATTER_EXPERT, _findings(), "", NOW)
    kept, _ = a.record_review("anna", None, _findings(reusable=False), "", NOW)
    assert kept.seat is Seat.SUBJECT_MATTER_EXPERT and kept.version == 2
    changed, _ = a.record_review("anna", Seat.DIRECTOR, _findings(), "", NOW)
    assert changed.seat is Seat.DIRECTOR


def test_a_withdrawn_round_takes_no_reviews_and_no_decision_but_a_decided_one_stays_decided():
    a = _open()
    _review(a, "anna")
    _review(a, "bram")
    assert a.withdraw() and a.status is AssessmentStatus.WITHDRAWN
    with pytest.raises(DecisionRefused) as refused:
        _decide(a)
    assert refused.value.conditions == [
        "the project was withdrawn from the catalogue; its round takes no more reviews or decisions"]
    with pytest.raises(ReviewRefused):
        _review(a, "carla")
    decided = _open()
    _decide(decided, Verdict.REJECTED, rationale="weak")
    assert not decided.withdraw() and not decided.supersede()
    assert decided.status is AssessmentStatus.DECIDED


def test_a_round_of_a_revision_submitted_up_to_the_withdrawal_opens_withdrawn_and_a_later_one_opens_normally():
    dossier = known("Collectief Schuldregelen")
    fit = Portfolio([]).fit(PortfolioProject.from_dossier(dossier))
    at = dossier.submitted_at

    def opened(withdrawn_at: datetime, project_id=dossier.project_id) -> AssessmentStatus:
        return Assessment.open(dossier, prescreen(dossier), fit, (), NOW, Withdrawal(project_id, withdrawn_at)).status

    assert opened(at + timedelta(seconds=1)) is AssessmentStatus.WITHDRAWN
    assert opened(at) is AssessmentStatus.WITHDRAWN
    assert opened(at - timedelta(seconds=1)) is AssessmentStatus.OPEN  # submitted after it: a new submission
    assert opened(at + timedelta(days=1), project_id=known("Doorbraakmethode").project_id) is AssessmentStatus.OPEN
    assert Assessment.open(dossier, prescreen(dossier), fit, (), NOW).status is AssessmentStatus.OPEN
    withdrawn = Assessment.open(dossier, prescreen(dossier), fit, (), NOW, Withdrawal(dossier.project_id, at))
    with pytest.raises(DecisionRefused) as refused:
        _decide(withdrawn, Verdict.PROVEN, override="proven elsewhere")
    assert refused.value.conditions == [
        "the project was withdrawn from the catalogue; its round takes no more reviews or decisions"]


def test_of_two_withdrawals_of_a_project_the_later_one_counts():
    project_id = known("Collectief Schuldregelen").project_id
    early, late = Withdrawal(project_id, NOW), Withdrawal(project_id, NOW + timedelta(hours=1))
    assert early.latest(late) == late and late.latest(early) == late and early.latest(None) == early
