"""Request and response bodies of the assessment's HTTP API."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from assessment.domain.dossier import Dossier
from assessment.domain.model import Assessment, Criterion, CriterionResult, Review, Seat, Verdict
from assessment.domain.portfolio import Portfolio, PortfolioFit
from assessment.domain.prescreen import Prescreen
from assessment.domain.rating import EvidenceLevel
from servicekit.pagination import NEXT_CURSOR

Notes = Annotated[str, StringConstraints(max_length=10_000)]


class _In(BaseModel):
    # Closed, so a misspelt field (e.g. "rationle") is a 422 rather than silently ignored.
    model_config = ConfigDict(extra="forbid")


class FindingIn(_In):
    met: bool = Field(description="True when the reviewer finds the criterion met.")
    notes: Notes = Field(default="", description="The reviewer's reasoning.")


class CriteriaIn(_In):
    workable: FindingIn = Field(description="Werkbaar: in production, results, continuity model, several parties.")
    reusable: FindingIn = Field(description="Herbruikbaar: public and private partners, a generic problem.")
    available: FindingIn = Field(description="Beschikbaar: available now or with small effort.")


class ReviewIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "criteria": {"workable": {"met": True, "notes": "In production since 2019, 53 clients, results published."},
                     "reusable": {"met": True, "notes": "Municipality, housing corporations and a foundation."},
                     "available": {"met": False, "notes": "The handbook is still being written."}},
        "notes": "Promising; ask for the handbook.", "seat": "municipalities_representative"}]})

    criteria: CriteriaIn
    notes: Notes = Field(default="", description="General notes on the project.")
    seat: Seat | None = Field(default=None, description="The reviewer's seat on the portfolio board, if any.")


class DecisionIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "verdict": "needs_information",
        "rationale": "Workable and reusable; please send the handbook so other labs can start with it."}]})

    verdict: Verdict
    rationale: Notes | None = Field(default=None, description="Required for rejected and needs_information.")
    override_reason: Notes | None = Field(
        default=None, description="Find a project proven although the reviews' majority does not find every "
        "criterion met; published in override_reason and with the rationale. Ignored when the majority already "
        "finds every criterion met.")
    evidence_level: EvidenceLevel | None = Field(
        default=None, description="For 'proven' only: practice_based (the default), evaluated or effective. "
        "Refused (422) with another verdict: a project that is not proven has no rating to qualify.")

    @field_validator("evidence_level")
    @classmethod
    def _only_when_proven(cls, value: EvidenceLevel | None, info: ValidationInfo) -> EvidenceLevel | None:
        verdict = info.data.get("verdict")
        if value is not None and verdict is not None and verdict is not Verdict.PROVEN:
            raise ValueError(f"an evidence level only qualifies a 'proven' verdict, not {verdict.value!r}")
        return value


class ReassessmentIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "reason": "The municipality reports that the fund stopped taking new young people."}]})

    reason: Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=r"\S")] = Field(
        description="Why the board asks for a re-assessment now.")


# The API's own shapes of the dossier and pre-screen: they happen to match what adapters store, but the
# two may change independently, and entrypoints do not depend on adapters.
def _dossier(d: Dossier) -> dict[str, Any]:
    return {**asdict(d), "project_id": str(d.project_id), "lab_id": str(d.lab_id) if d.lab_id else None,
            "submitted_at": d.submitted_at.isoformat()}


def _prescreen(p: Prescreen) -> dict[str, Any]:
    screens = {"workable": p.workable, "reusable": p.reusable, "available": p.available}
    return {c: {"outcome": s.outcome.value, "reasons": list(s.reasons)} for c, s in screens.items()}


def _fit(f: PortfolioFit) -> dict[str, Any]:
    return {"phases": list(f.phases), "gap_phases": list(f.gap_phases), "adds_to_portfolio": f.adds_to_portfolio,
            "similar_project_ids": [str(i) for i in f.similar_project_ids],
            "similar_projects": [{"project_id": str(s.project_id), "name": s.name,
                                  "shared_phases": list(s.shared_phases), "phase_overlap": s.phase_overlap,
                                  "content_overlap": s.content_overlap} for s in f.similar]}


def _results(results: dict[Criterion, CriterionResult]) -> dict[str, Any]:
    return {c.value: {"met": r.met, "met_count": r.met_count, "review_count": r.review_count, "notes": r.notes}
            for c, r in results.items()}


def review_out(r: Review) -> dict[str, Any]:
    return {"reviewer": r.reviewer, "seat": r.seat.value if r.seat else None,
            "criteria": {c.value: {"met": f.met, "notes": f.notes} for c, f in r.findings.items()},
            "notes": r.notes, "recorded_at": r.recorded_at, "revised_at": r.revised_at, "version": r.version}


class AssessmentSummary(BaseModel):
    """What anyone may know about an assessment round (e.g. the submitter): where it stands."""

    id: uuid.UUID
    project_id: uuid.UUID
    revision: int
    round: int
    status: str
    project_name: str
    phases: list[str]
    opened_at: datetime
    verdict: str | None
    decided_at: datetime | None
    reassessment: str | None = Field(default=None, description="'expiry' or 'requested' on a re-assessment round.")
    evidence_level: str | None = Field(default=None, description="The evidence level a 'proven' decision gave.")
    valid_until: datetime | None = Field(default=None, description="Until when a 'proven' decision's rating holds.")

    @classmethod
    def of(cls, a: Assessment) -> AssessmentSummary:
        return cls(id=a.id, project_id=a.project_id, revision=a.revision, round=a.round, status=a.status.value,
                   project_name=a.dossier.name, phases=list(a.dossier.phases), opened_at=a.opened_at,
                   verdict=a.decision.verdict.value if a.decision else None,
                   decided_at=a.decision.decided_at if a.decision else None,
                   reassessment=a.reassessment.value if a.reassessment else None,
                   evidence_level=a.decision.evidence_level.value if a.decision and a.decision.evidence_level
                   else None, valid_until=a.decision.valid_until if a.decision else None)


class AssessmentOut(AssessmentSummary):
    """The whole round, for reviewers and the board: pre-screen, portfolio fit, reviews, decision."""

    previous_assessment_ids: list[uuid.UUID]
    dossier: dict[str, Any]
    prescreen: dict[str, Any]
    portfolio_fit: dict[str, Any]
    reviews: list[dict[str, Any]]
    review_majority: dict[str, Any] = Field(description="Per criterion, what the reviews so far find.")
    decision: dict[str, Any] | None

    @classmethod
    def of(cls, a: Assessment) -> AssessmentOut:
        d = a.decision
        decision = None if d is None else {
            "verdict": d.verdict.value, "rationale": d.rationale, "override_reason": d.override_reason,
            "decided_by": d.decided_by, "decided_at": d.decided_at, "criteria": _results(d.criteria)}
        return cls(**AssessmentSummary.of(a).model_dump(), previous_assessment_ids=list(a.previous_ids),
                   dossier=_dossier(a.dossier), prescreen=_prescreen(a.prescreen),
                   portfolio_fit=_fit(d.fit if d else a.fit), reviews=[review_out(r) for r in a.reviews.values()],
                   review_majority=_results(a.majority()), decision=decision)


class AssessmentList(BaseModel):
    items: list[AssessmentOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR)


def portfolio_out(p: Portfolio) -> dict[str, Any]:
    phases = [{"phase": phase, "gap": not projects,
               "projects": [{"project_id": str(x.project_id), "name": x.name, "phases": list(x.phases),
                             "proven_at": x.proven_at} for x in projects]}
              for phase, projects in p.by_phase().items()]
    return {"phases": phases, "gaps": list(p.gaps()), "project_count": len(p.projects)}
