"""Use cases of ratings that last a set time (SPEC 5.2): opening a re-assessment round, by time or on request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from assessment.domain.errors import AssessmentNotFound, ReassessmentRefused
from assessment.domain.model import Assessment
from assessment.domain.rating import Rating, ReassessmentReason
from assessment.service_layer.handlers import fit_now
from assessment.service_layer.ports import AssessmentUnitOfWork
from schuldenlab_contracts import events as contract


@dataclass(frozen=True)
class RequestReassessment:
    project_id: uuid.UUID
    reason: str  # the board's words; kept with the round's opening in the log, not published
    requested_by: str


def reassessment_due(rating: Rating, round_: Assessment, reason: ReassessmentReason) -> contract.ReassessmentDue:
    return contract.ReassessmentDue(project_id=rating.project_id, assessment_id=round_.id, revision=round_.revision,
                                    valid_until=rating.valid_until, reason=contract.ReassessmentReason(reason.value),
                                    opened_at=round_.opened_at)


async def _reopen(rating: Rating, reason: ReassessmentReason, uow: AssessmentUnitOfWork,
                  now: datetime) -> Assessment:
    rounds = await uow.assessments.for_project(rating.project_id)
    if not rounds:  # pragma: no cover - a rating is only ever given by a round
        raise AssessmentNotFound(f"No assessment for project {rating.project_id}")
    latest = rounds[-1]
    fit = await fit_now(latest.dossier, uow, now)
    round_ = Assessment.reopen(latest, tuple(r.id for r in rounds), reason, fit, now)
    await uow.ratings.put(rating.reassess(round_.id))
    await uow.assessments.add(round_)
    await uow.publish(reassessment_due(rating, round_, reason))
    return round_


async def request_reassessment(cmd: RequestReassessment, uow: AssessmentUnitOfWork) -> Assessment:
    """The board asks for a re-assessment now; 409 when the project has no rating or one is already open."""
    rating = await uow.ratings.get(cmd.project_id, lock=True)
    if rating is None:
        raise ReassessmentRefused(f"Project {cmd.project_id} cannot be re-assessed",
                                  ["only a project with a current 'proven' rating is re-assessed; this one has none"])
    rating.reassess(uuid.uuid4())  # refuses before anything is written when a round is already open
    return await _reopen(rating, ReassessmentReason.REQUESTED, uow, datetime.now(UTC))


async def open_due_reassessments(uow: AssessmentUnitOfWork, limit: int = 50) -> list[Assessment]:
    """The scheduler's pass: every rating whose notice time has come gets its re-assessment round, once."""
    now = datetime.now(UTC)
    return [await _reopen(rating, ReassessmentReason.EXPIRY, uow, now)
            for rating in await uow.ratings.take_due(now, limit) if rating.is_due(now)]
