"""Use cases of the assessment service: `verb_noun(command, uow)`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from assessment.domain.dossier import Dossier
from assessment.domain.errors import AssessmentNotFound
from assessment.domain.model import (
    Assessment,
    AssessmentStatus,
    Criterion,
    Finding,
    Review,
    Seat,
    Verdict,
)
from assessment.domain.portfolio import Portfolio, PortfolioFit, PortfolioProject, fit_against
from assessment.domain.prescreen import prescreen
from assessment.domain.rating import EvidenceLevel, RatingPolicy
from assessment.domain.withdrawal import Withdrawal
from assessment.service_layer.ports import AssessmentUnitOfWork
from schuldenlab_contracts import events as contract

DEFAULT_POLICY = RatingPolicy()


@dataclass(frozen=True)
class OpenAssessment:
    dossier: Dossier


@dataclass(frozen=True)
class WithdrawProject:
    project_id: uuid.UUID
    withdrawn_at: datetime  # the tombstone's event time


@dataclass(frozen=True)
class RecordReview:
    assessment_id: uuid.UUID
    reviewer: str
    seat: Seat | None
    findings: dict[Criterion, Finding]
    notes: str


@dataclass(frozen=True)
class DecideAssessment:
    assessment_id: uuid.UUID
    verdict: Verdict
    rationale: str | None
    override_reason: str | None
    decided_by: str
    evidence_level: EvidenceLevel | None = None  # proven only; practice_based when not given
    policy: RatingPolicy = DEFAULT_POLICY  # how long a proven rating lasts (the service's settings)


def _now() -> datetime:
    return datetime.now(UTC)


async def _portfolio(uow: AssessmentUnitOfWork) -> Portfolio:
    return Portfolio(await uow.portfolio.all(as_of=_now()))


async def fit_now(dossier: Dossier, uow: AssessmentUnitOfWork, now: datetime | None = None) -> PortfolioFit:
    """The fit against the projects that count now: a project whose rating expired covers nothing (README)."""
    [fit] = await fits_now([dossier], uow, now)
    return fit


async def fits_now(dossiers: Sequence[Dossier], uow: AssessmentUnitOfWork,
                   now: datetime | None = None) -> list[PortfolioFit]:
    """`fit_now` of each dossier, the portfolio asked once for all of them."""
    # Only the covered phases and the projects that may resemble each: the fit of a submission costs the
    # same whether ten or ten thousand projects are proven (issue 13), and equals Portfolio.fit.
    candidates = [PortfolioProject.from_dossier(dossier) for dossier in dossiers]
    as_of = now or _now()
    covered = await uow.portfolio.covered_phases_of(candidates, as_of=as_of)
    resembling = await uow.portfolio.resembling_of(candidates, as_of=as_of)
    return [fit_against(candidate, phases, similar)
            for candidate, phases, similar in zip(candidates, covered, resembling, strict=True)]


async def open_assessment(cmd: OpenAssessment, uow: AssessmentUnitOfWork) -> Assessment:
    """Every submitted revision gets exactly one round; a resubmission opens a new one linked to the earlier."""
    dossier = cmd.dossier
    await uow.withdrawals.lock_project(dossier.project_id)  # a tombstone handled meanwhile sees this round
    rounds = await uow.assessments.for_project(dossier.project_id)
    for existing in rounds:
        if existing.revision == dossier.revision:
            return existing  # the same submission re-published under a new ce_id
    fit = await fit_now(dossier, uow)
    # The tombstone may have come first (another topic): a revision submitted before it opens withdrawn.
    withdrawal = await uow.withdrawals.get(dossier.project_id)
    assessment, closed = _open_round(dossier, rounds, fit, withdrawal, _now())
    for other in closed:
        await uow.assessments.close_if_open(other)
    await uow.assessments.add(assessment)
    return assessment


async def open_assessments(cmds: Sequence[OpenAssessment], uow: AssessmentUnitOfWork) -> list[Assessment]:
    """`open_assessment` for a run of submissions (a fetch's), in their order, with the same rounds as one by one;
    what it reads and writes is read and written for all of them at once."""
    project_ids = sorted({cmd.dossier.project_id for cmd in cmds})
    await uow.withdrawals.lock_projects(project_ids)
    rounds_of = await uow.assessments.for_projects(project_ids)
    withdrawals = await uow.withdrawals.get_many(project_ids)
    now = _now()
    fits = await fits_now([cmd.dossier for cmd in cmds], uow, now)
    opened: list[Assessment] = []
    closed: list[Assessment] = []
    for cmd, fit in zip(cmds, fits, strict=True):
        dossier = cmd.dossier
        rounds = rounds_of.setdefault(dossier.project_id, [])
        if any(existing.revision == dossier.revision for existing in rounds):
            continue  # the same submission re-published under a new ce_id
        assessment, superseded = _open_round(dossier, rounds, fit, withdrawals.get(dossier.project_id), now)
        # A round opened earlier in this run is still to be written, as it now stands; one stored before is
        # closed only if still open there.
        closed.extend(other for other in superseded if all(other is not new for new in opened))
        rounds.append(assessment)
        opened.append(assessment)
    for other in closed:
        await uow.assessments.close_if_open(other)
    await uow.assessments.add_many(opened)
    return opened


def _open_round(dossier: Dossier, rounds: Sequence[Assessment], fit: PortfolioFit, withdrawal: Withdrawal | None,
                now: datetime) -> tuple[Assessment, list[Assessment]]:
    """The new round of `dossier` beside the project's `rounds`, and those of them it supersedes now."""
    earlier = tuple(r.id for r in rounds if r.revision < dossier.revision)
    assessment = Assessment.open(dossier, prescreen(dossier), fit, earlier, now, withdrawal)
    # Only the latest revision of a dossier is decided on; an older open round cannot be any more.
    if any(r.revision > dossier.revision for r in rounds):
        assessment.supersede()  # this revision arrived after a newer one
        return assessment, []
    # Stored only if still open there too: a decision committed meanwhile is never overwritten.
    return assessment, [other for other in rounds if other.supersede()]


async def _get(assessment_id: uuid.UUID, uow: AssessmentUnitOfWork, *, lock: bool = False) -> Assessment:
    assessment = await uow.assessments.get(assessment_id, lock=lock)
    if assessment is None:
        raise AssessmentNotFound(f"No assessment with id {assessment_id}")
    return assessment


async def record_review(cmd: RecordReview, uow: AssessmentUnitOfWork) -> tuple[Assessment, Review, bool]:
    """Returns the review and whether it is new (False: the reviewer revised their review)."""
    # Locked, so a review cannot slip in beside a decision being taken on the same round.
    assessment = await _get(cmd.assessment_id, uow, lock=True)
    review, created = assessment.record_review(cmd.reviewer, cmd.seat, cmd.findings, cmd.notes, _now())
    await uow.assessments.save_review(assessment.id, review)
    return assessment, review, created


def project_assessed(assessment: Assessment) -> contract.ProjectAssessed:
    decision = assessment.decision
    assert decision is not None, "only a decided assessment has a ProjectAssessed event"
    criteria = {c.value: contract.CriterionVerdict(met=r.met, notes=r.notes) for c, r in decision.criteria.items()}
    return contract.ProjectAssessed(
        project_id=assessment.project_id, assessment_id=assessment.id, revision=assessment.revision,
        verdict=contract.Verdict(decision.verdict.value), criteria=contract.Criteria(**criteria),
        portfolio=contract.PortfolioFit(phases=list(decision.fit.phases),
                                        adds_to_portfolio=decision.fit.adds_to_portfolio,
                                        similar_project_ids=list(decision.fit.similar_project_ids)),
        rationale=decision.rationale, decided_at=decision.decided_at,
        override_reason=decision.override_reason,
        evidence_level=contract.EvidenceLevel(decision.evidence_level.value) if decision.evidence_level else None,
        valid_until=decision.valid_until,
    )


async def decide_assessment(cmd: DecideAssessment, uow: AssessmentUnitOfWork) -> Assessment:
    """The board's decision: final for its round, published as ProjectAssessed in the same transaction."""
    assessment = await _get(cmd.assessment_id, uow, lock=True)
    fit = await fit_now(assessment.dossier, uow)
    decision = assessment.decide(cmd.verdict, cmd.rationale, cmd.override_reason, cmd.decided_by, fit, _now(),
                                 cmd.evidence_level, cmd.policy)
    await uow.assessments.save(assessment)
    if decision.verdict is Verdict.PROVEN:
        await uow.portfolio.put(PortfolioProject.from_dossier(assessment.dossier, proven_at=decision.decided_at))
        # A first `proven` starts the rating, a later one (a re-assessment, or a revision during one) renews it.
        assert decision.evidence_level is not None
        await uow.ratings.put(cmd.policy.rate(assessment.project_id, assessment.id, decision.evidence_level,
                                              decision.decided_at))
    elif decision.verdict is Verdict.REJECTED:
        await uow.ratings.remove(assessment.project_id)  # the catalogue takes the project out: nothing to renew
        # Out of the portfolio now, not when the catalogue's tombstone comes back: without its rating an expired
        # project would count again until then.
        await uow.portfolio.remove(assessment.project_id)
    await uow.publish(project_assessed(assessment))
    return assessment


async def record_catalogue_project(project: PortfolioProject, uow: AssessmentUnitOfWork) -> None:
    """The catalogue feed says the project is proven and listed: it belongs in the portfolio."""
    await uow.portfolio.put(project)


async def withdraw_project(cmd: WithdrawProject, uow: AssessmentUnitOfWork) -> list[Assessment]:
    """A tombstone on the catalogue feed: the project leaves the portfolio and its open rounds are withdrawn.

    A listed proven project has no open round (it can only be resubmitted after needs_information), so an
    open round here means the project was withdrawn; without this, a later `proven` would put it back.
    The withdrawal is remembered, so a round of a revision submitted before it, arriving later, opens
    withdrawn. Returns the rounds withdrawn.
    """
    project_id = cmd.project_id
    await uow.withdrawals.lock_project(project_id)  # a submission handled meanwhile sees this withdrawal
    existing = await uow.withdrawals.get(project_id)
    await uow.withdrawals.put(Withdrawal(project_id, cmd.withdrawn_at).latest(existing))
    withdrawn = []
    for assessment in await uow.assessments.for_project(project_id):
        if assessment.withdraw() and await uow.assessments.close_if_open(assessment):
            withdrawn.append(assessment)
    # After the rounds: closing one waits for a decision being taken on it, so a `proven` committed
    # meanwhile has put the project in the portfolio by now, and is taken out again here.
    await uow.portfolio.remove(project_id)
    await uow.ratings.remove(project_id)  # a project out of the catalogue is not re-assessed
    return withdrawn


async def _with_current_fit(assessments: list[Assessment], uow: AssessmentUnitOfWork) -> list[Assessment]:
    # Reviewers of an open round see the portfolio as it is now, not as it was when the round opened.
    for a in assessments:
        if a.status is AssessmentStatus.OPEN:
            a.fit = await fit_now(a.dossier, uow)
    return assessments


async def get_assessment(assessment_id: uuid.UUID, uow: AssessmentUnitOfWork) -> Assessment:
    [assessment] = await _with_current_fit([await _get(assessment_id, uow)], uow)
    return assessment


async def list_assessments(status: AssessmentStatus | None, uow: AssessmentUnitOfWork,
                           after: tuple[datetime, uuid.UUID] | None = None, limit: int = 50) -> list[Assessment]:
    """A page of rounds in the order they opened: at most `limit`, after the round at `after` (opened_at, id)."""
    return await _with_current_fit(await uow.assessments.list(status, after, limit), uow)


async def get_project_assessment(project_id: uuid.UUID, uow: AssessmentUnitOfWork) -> Assessment:
    """The latest round of a project."""
    rounds = await uow.assessments.for_project(project_id)
    if not rounds:
        raise AssessmentNotFound(f"No assessment for project {project_id}")
    [latest] = await _with_current_fit([rounds[-1]], uow)
    return latest


async def get_portfolio(uow: AssessmentUnitOfWork) -> Portfolio:
    return await _portfolio(uow)
