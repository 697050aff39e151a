"""An assessment ("beoordeling") of one revision of a submitted project: reviews and the board's decision."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from assessment.domain.dossier import Dossier
from assessment.domain.errors import DecisionRefused, ReviewRefused
from assessment.domain.portfolio import PortfolioFit
from assessment.domain.prescreen import Prescreen
from assessment.domain.rating import EvidenceLevel, RatingPolicy, ReassessmentReason, evidence_level_for
from assessment.domain.withdrawal import Withdrawal


class AssessmentStatus(enum.StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    SUPERSEDED = "superseded"  # a newer revision of the dossier arrived before this round was decided
    WITHDRAWN = "withdrawn"  # the project was withdrawn from the catalogue before this round was decided


class Criterion(enum.StrEnum):
    WORKABLE = "workable"  # werkbaar
    REUSABLE = "reusable"  # herbruikbaar
    AVAILABLE = "available"  # beschikbaar


class Seat(enum.StrEnum):
    """A seat on the portfolio board ("portfolioboard")."""

    DIRECTOR = "director"
    MUNICIPALITIES_REPRESENTATIVE = "municipalities_representative"
    SPONSOR_PARTNERS_REPRESENTATIVE = "sponsor_partners_representative"
    SUBJECT_MATTER_EXPERT = "subject_matter_expert"
    PROGRAMME_MANAGER = "programme_manager"


class Verdict(enum.StrEnum):
    PROVEN = "proven"
    REJECTED = "rejected"
    NEEDS_INFORMATION = "needs_information"


MIN_REVIEWS_FOR_PROVEN = 2


@dataclass(frozen=True)
class Finding:
    """One reviewer's judgement of one criterion."""

    met: bool
    notes: str = ""


@dataclass(frozen=True)
class Review:
    reviewer: str
    seat: Seat | None
    findings: dict[Criterion, Finding]
    notes: str
    recorded_at: datetime
    revised_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class CriterionResult:
    """What the reviews together say about one criterion: met when a strict majority finds it met."""

    met: bool
    met_count: int
    review_count: int
    notes: str


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    rationale: str  # as published: the board's text, with the override reason when there was one
    override_reason: str | None
    decided_by: str
    decided_at: datetime
    criteria: dict[Criterion, CriterionResult]
    fit: PortfolioFit
    evidence_level: EvidenceLevel | None = None  # proven only (SPEC 5.2); None in decisions from before
    valid_until: datetime | None = None  # proven only: when the rating runs out unless renewed


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


@dataclass
class Assessment:
    id: uuid.UUID
    dossier: Dossier
    status: AssessmentStatus
    opened_at: datetime
    prescreen: Prescreen
    fit: PortfolioFit  # at opening; the decision records the fit at the time of deciding
    previous_ids: tuple[uuid.UUID, ...] = ()  # earlier rounds of the same project, oldest first
    reviews: dict[str, Review] = field(default_factory=dict)
    decision: Decision | None = None
    reassessment: ReassessmentReason | None = None  # set on a re-assessment round of a proven rating

    @property
    def project_id(self) -> uuid.UUID:
        return self.dossier.project_id

    @property
    def revision(self) -> int:
        return self.dossier.revision

    @property
    def round(self) -> int:
        return len(self.previous_ids) + 1

    @classmethod
    def open(cls, dossier: Dossier, prescreen: Prescreen, fit: PortfolioFit,
             previous_ids: tuple[uuid.UUID, ...], now: datetime,
             withdrawal: Withdrawal | None = None) -> Assessment:
        """A new round; one of a revision submitted before the project's withdrawal opens `withdrawn`."""
        assessment = cls(id=uuid.uuid4(), dossier=dossier, status=AssessmentStatus.OPEN, opened_at=now,
                         prescreen=prescreen, fit=fit, previous_ids=previous_ids)
        if withdrawal is not None and withdrawal.covers(dossier):
            # Its tombstone was handled first: deciding this round could put a withdrawn project in the portfolio.
            assessment.withdraw()
        return assessment

    @classmethod
    def reopen(cls, latest: Assessment, previous_ids: tuple[uuid.UUID, ...], reason: ReassessmentReason,
               fit: PortfolioFit, now: datetime) -> Assessment:
        """A re-assessment round of the rated dossier: reviewed and decided like any other round."""
        return cls(id=uuid.uuid4(), dossier=latest.dossier, status=AssessmentStatus.OPEN, opened_at=now,
                   prescreen=latest.prescreen, fit=fit, previous_ids=previous_ids, reassessment=reason)

    def _closed_conditions(self) -> list[str]:
        if self.status is AssessmentStatus.DECIDED and self.decision is not None:
            return [(f"the assessment was already decided ({self.decision.verdict.value}, "
                     f"{self.decision.decided_at.isoformat()}); a decision is final for its round")]
        if self.status is AssessmentStatus.SUPERSEDED:
            return ["this round was superseded by a newer revision of the dossier; use the latest round"]
        if self.status is AssessmentStatus.WITHDRAWN:
            return ["the project was withdrawn from the catalogue; its round takes no more reviews or decisions"]
        return []

    def _close(self, status: AssessmentStatus) -> bool:
        # Only an open round is closed: a decided one stays decided, whatever arrives later.
        if self.status is not AssessmentStatus.OPEN:
            return False
        self.status = status
        return True

    def supersede(self) -> bool:
        """A newer revision arrived; returns False (and changes nothing) when this round is no longer open."""
        return self._close(AssessmentStatus.SUPERSEDED)

    def withdraw(self) -> bool:
        """The project left the catalogue while this round was open; False when it is no longer open."""
        return self._close(AssessmentStatus.WITHDRAWN)

    def record_review(self, reviewer: str, seat: Seat | None, findings: dict[Criterion, Finding], notes: str,
                      now: datetime) -> tuple[Review, bool]:
        """One review per reviewer per round; a second one from the same reviewer revises the first."""
        closed = self._closed_conditions()
        if closed:
            raise ReviewRefused("This assessment takes no more reviews", closed)
        missing = [c for c in Criterion if c not in findings]
        if missing:
            raise ValueError(f"a review judges every criterion; missing: {', '.join(missing)}")
        earlier = self.reviews.get(reviewer)
        if earlier is None:
            review = Review(reviewer, seat, dict(findings), notes, recorded_at=now)
        else:
            # A revision without a seat keeps the seat given earlier rather than erasing it.
            review = Review(reviewer, seat or earlier.seat, dict(findings), notes, recorded_at=earlier.recorded_at,
                            revised_at=now, version=earlier.version + 1)
        self.reviews[reviewer] = review
        return review, earlier is None

    def majority(self) -> dict[Criterion, CriterionResult]:
        reviews = sorted(self.reviews.values(), key=lambda r: r.recorded_at)
        results: dict[Criterion, CriterionResult] = {}
        for criterion in Criterion:
            met = sum(1 for r in reviews if r.findings[criterion].met)
            lines = [f"{met} of {len(reviews)} review(s) find it met."]
            for r in reviews:
                finding = r.findings[criterion]
                who = f"{r.reviewer} ({r.seat.value})" if r.seat else r.reviewer
                said = "met" if finding.met else "not met"
                lines.append(f"{who}: {said}" + (f" - {finding.notes.strip()}" if finding.notes.strip() else ""))
            results[criterion] = CriterionResult(met=met * 2 > len(reviews), met_count=met,
                                                 review_count=len(reviews), notes=" ".join(lines)[:10_000])
        return results

    def decision_conditions(self, verdict: Verdict, rationale: str | None, override_reason: str | None) -> list[str]:
        """Every condition the requested decision does not meet; empty when it may be taken."""
        closed = self._closed_conditions()
        if closed:
            return closed
        conditions: list[str] = []
        rationale, override_reason = _text(rationale), _text(override_reason)
        if verdict is Verdict.PROVEN:
            count = len(self.reviews)
            if count < MIN_REVIEWS_FOR_PROVEN:
                conditions.append(f"at least {MIN_REVIEWS_FOR_PROVEN} reviews are needed to find a project "
                                  f"proven; this round has {count}")
            if override_reason is None:
                for criterion, result in self.majority().items():
                    if not result.met:
                        conditions.append(f"a majority of reviews must find {criterion.value!r} met "
                                          f"({result.met_count} of {result.review_count} do), or the board "
                                          "overrides with a written override_reason")
        else:
            if rationale is None:
                conditions.append(f"a {verdict.value!r} verdict needs a rationale")
            if override_reason is not None:
                conditions.append("an override_reason only applies to a 'proven' verdict")
        return conditions

    def decide(self, verdict: Verdict, rationale: str | None, override_reason: str | None, decided_by: str,
               fit: PortfolioFit, now: datetime, evidence_level: EvidenceLevel | None = None,
               policy: RatingPolicy | None = None) -> Decision:
        conditions = self.decision_conditions(verdict, rationale, override_reason)
        if conditions:
            raise DecisionRefused(f"The assessment cannot be decided {verdict.value!r}", conditions)
        rationale, override_reason = _text(rationale), _text(override_reason)
        criteria = self.majority()
        if all(result.met for result in criteria.values()):
            override_reason = None  # the reviews already carry the verdict: there is nothing to override
        published = rationale or (f"A majority of {len(self.reviews)} reviews finds the project workable, "
                                  "reusable and available.")
        if override_reason is not None:
            published = (f"{rationale}\n\n" if rationale else "") + f"Board override of the reviews: {override_reason}"
        proven = verdict is Verdict.PROVEN
        self.decision = Decision(verdict=verdict, rationale=published[:10_000], override_reason=override_reason,
                                 decided_by=decided_by, decided_at=now, criteria=criteria, fit=fit,
                                 evidence_level=evidence_level_for(proven, evidence_level),
                                 valid_until=now + (policy or RatingPolicy()).validity if proven else None)
        self.status = AssessmentStatus.DECIDED
        return self.decision
