"""Use cases of the assessment service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from assessment.domain.errors import AssessmentNotFound
from assessment.domain.model import Assessment
from assessment.service_layer.ports import AssessmentUnitOfWork


@dataclass(frozen=True)
class OpenAssessment:
    project_id: uuid.UUID
    revision: int
    project_name: str
    phases: tuple[str, ...]


async def open_assessment(cmd: OpenAssessment, uow: AssessmentUnitOfWork) -> Assessment:
    """Every submitted revision gets exactly one assessment round."""
    existing = await uow.assessments.for_revision(cmd.project_id, cmd.revision)
    if existing is not None:
        return existing
    assessment = Assessment.open(cmd.project_id, cmd.revision, cmd.project_name, cmd.phases, datetime.now(UTC))
    await uow.assessments.add(assessment)
    return assessment


async def get_project_assessment(project_id: uuid.UUID, uow: AssessmentUnitOfWork) -> Assessment:
    assessment = await uow.assessments.latest_for_project(project_id)
    if assessment is None:
        raise AssessmentNotFound(f"No assessment for project {project_id}")
    return assessment
