"""What the assessment's service layer needs from adapters (and fakes)."""

from __future__ import annotations

import uuid
from typing import Protocol

from assessment.domain.model import Assessment


class AssessmentRepository(Protocol):
    async def add(self, assessment: Assessment) -> None: ...
    async def latest_for_project(self, project_id: uuid.UUID) -> Assessment | None: ...
    async def for_revision(self, project_id: uuid.UUID, revision: int) -> Assessment | None: ...


class AssessmentUnitOfWork(Protocol):
    assessments: AssessmentRepository
