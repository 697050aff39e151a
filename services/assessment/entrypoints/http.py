"""HTTP routes of the assessment service; each translates a request into a command and calls a handler."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from prometheus_client import Counter

from assessment.config import RatingSettings
from assessment.domain.model import AssessmentStatus, Criterion, Finding
from assessment.entrypoints.schemas import (
    AssessmentList,
    AssessmentOut,
    AssessmentSummary,
    DecisionIn,
    ReassessmentIn,
    ReviewIn,
    portfolio_out,
    review_out,
)
from assessment.service_layer import handlers, reassessment
from servicekit import pagination
from servicekit.auth import Principal, optional_principal, require_role
from servicekit.metrics import REGISTRY
from servicekit.openapi import problems
from servicekit.service import get_runtime

router = APIRouter(prefix="/v1", tags=["assessments"])
log = logging.getLogger(__name__)

REVIEWS_RECORDED = Counter("schuldenlab_assessment_reviews", "Reviews recorded, by new or revised",
                           ["kind"], registry=REGISTRY)
DECISIONS_TAKEN = Counter("schuldenlab_assessment_decisions", "Board decisions, by verdict", ["verdict"],
                          registry=REGISTRY)

READERS = ("board", "assessor")
Reader = Annotated[Principal, Depends(require_role(*READERS))]
Board = Annotated[Principal, Depends(require_role("board"))]
Anyone = Annotated[Principal | None, Depends(optional_principal)]
NO_ROUND = "No assessment round with this id."
StatusFilter = Annotated[Literal["open", "decided", "superseded", "withdrawn"] | None, Query()]
PAGES = "as1"  # the kind of cursor GET /v1/assessments issues: another list's cursor is refused here


@router.get("/assessments",
            summary="Assessment rounds in the order they opened, optionally of one status; cursor pages")
async def list_assessments(request: Request, _: Reader, status: StatusFilter = None,
                           cursor: pagination.Cursor = None,
                           limit: pagination.Limit = pagination.DEFAULT_LIMIT) -> AssessmentList:
    after = pagination.position(PAGES, cursor)
    async with get_runtime(request).transaction() as uow:
        found = await handlers.list_assessments(AssessmentStatus(status) if status else None, uow, after, limit + 1)
    page, next_cursor = pagination.next_cursor(PAGES, found, limit, lambda a: (a.opened_at, a.id))
    return AssessmentList(items=[AssessmentOut.of(a) for a in page], next_cursor=next_cursor)


@router.get("/assessments/{assessment_id}", summary="One round: pre-screen, portfolio fit, reviews, decision",
            responses=problems(404, described={404: NO_ROUND}))
async def get_assessment(assessment_id: uuid.UUID, request: Request,
                         _: Reader) -> AssessmentOut:
    async with get_runtime(request).transaction() as uow:
        return AssessmentOut.of(await handlers.get_assessment(assessment_id, uow))


@router.get("/projects/{project_id}/assessment",
            summary="The latest round of a project; in full for board and assessors, its status for anyone",
            responses=problems(404, described={404: "No assessment round for this project (yet)."}))
async def get_project_assessment(project_id: uuid.UUID, request: Request,
                                 principal: Anyone,
                                 ) -> AssessmentOut | AssessmentSummary:
    async with get_runtime(request).transaction() as uow:
        assessment = await handlers.get_project_assessment(project_id, uow)
    if principal is not None and principal.has_any(READERS):
        return AssessmentOut.of(assessment)
    return AssessmentSummary.of(assessment)


@router.post("/assessments/{assessment_id}/reviews", status_code=201,
             summary="Record (201) or revise (200) the caller's review of this round",
             responses={200: {"description": "The caller's earlier review of this round, revised",
                              "content": {"application/json": {"schema": {"type": "object"}}}},
                        **problems(404, 409, described={
                            404: NO_ROUND, 409: "The round takes no more reviews; `conditions` says why."})})
async def record_review(assessment_id: uuid.UUID, body: ReviewIn, request: Request, response: Response,
                        principal: Reader) -> dict[str, Any]:
    findings = {c: Finding(met=f.met, notes=f.notes) for c, f in
                ((Criterion.WORKABLE, body.criteria.workable), (Criterion.REUSABLE, body.criteria.reusable),
                 (Criterion.AVAILABLE, body.criteria.available))}
    cmd = handlers.RecordReview(assessment_id=assessment_id, reviewer=principal.subject, seat=body.seat,
                                findings=findings, notes=body.notes)
    async with get_runtime(request).transaction() as uow:
        _, review, created = await handlers.record_review(cmd, uow)
    REVIEWS_RECORDED.labels("new" if created else "revised").inc()
    if not created:
        response.status_code = 200
    return {"assessment_id": str(assessment_id), **review_out(review)}


@router.post("/assessments/{assessment_id}/decision", summary="The board's decision; publishes ProjectAssessed",
             responses=problems(404, 409, described={
                 404: NO_ROUND, 409: "The rules do not allow this verdict now; `conditions` names every unmet one."}))
async def decide_assessment(assessment_id: uuid.UUID, body: DecisionIn, request: Request,
                            principal: Board) -> AssessmentOut:
    cmd = handlers.DecideAssessment(assessment_id=assessment_id, verdict=body.verdict, rationale=body.rationale,
                                    override_reason=body.override_reason, decided_by=principal.subject,
                                    evidence_level=body.evidence_level,
                                    policy=RatingSettings.from_settings(get_runtime(request).settings).policy)
    async with get_runtime(request).transaction() as uow:
        assessment = await handlers.decide_assessment(cmd, uow)
    DECISIONS_TAKEN.labels(body.verdict.value).inc()
    return AssessmentOut.of(assessment)


@router.post("/projects/{project_id}/reassessment", status_code=201,
             summary="The board asks for a re-assessment now; opens a round and publishes ReassessmentDue",
             responses=problems(409, described={
                 409: "The project has no current 'proven' rating, or its re-assessment is already open."}))
async def request_reassessment(project_id: uuid.UUID, body: ReassessmentIn, request: Request,
                               principal: Board) -> AssessmentOut:
    cmd = reassessment.RequestReassessment(project_id=project_id, reason=body.reason, requested_by=principal.subject)
    async with get_runtime(request).transaction() as uow:
        round_ = await reassessment.request_reassessment(cmd, uow)
    log.info("re-assessment round %s of project %s opened at the request of %s: %s",
             round_.id, project_id, principal.subject, body.reason)
    return AssessmentOut.of(round_)


@router.get("/portfolio", tags=["portfolio"], summary="Per phase the proven projects, and the gaps; public")
async def get_portfolio(request: Request) -> dict[str, Any]:
    async with get_runtime(request).transaction() as uow:
        return portfolio_out(await handlers.get_portfolio(uow))
