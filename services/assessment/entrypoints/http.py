"""HTTP routes of the assessment service."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from servicekit.service import get_runtime

from assessment.service_layer import handlers

router = APIRouter(prefix="/v1", tags=["assessments"])


class AssessmentOut(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    revision: int
    project_name: str
    phases: list[str]
    status: str
    opened_at: datetime


@router.get("/projects/{project_id}/assessment", summary="The latest assessment round of a project")
async def get_project_assessment(project_id: uuid.UUID, request: Request) -> AssessmentOut:
    async with get_runtime(request).transaction() as uow:
        a = await handlers.get_project_assessment(project_id, uow)
    return AssessmentOut(id=a.id, project_id=a.project_id, revision=a.revision, project_name=a.project_name,
                         phases=list(a.phases), status=a.status.value, opened_at=a.opened_at)
