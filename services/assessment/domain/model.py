"""An assessment ("beoordeling") of one revision of a submitted project."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime


class AssessmentStatus(enum.StrEnum):
    OPEN = "open"
    DECIDED = "decided"


@dataclass
class Assessment:
    id: uuid.UUID
    project_id: uuid.UUID
    revision: int
    project_name: str
    phases: tuple[str, ...]
    status: AssessmentStatus
    opened_at: datetime

    @classmethod
    def open(cls, project_id: uuid.UUID, revision: int, project_name: str, phases: tuple[str, ...],
             now: datetime) -> "Assessment":
        return cls(id=uuid.uuid4(), project_id=project_id, revision=revision, project_name=project_name,
                   phases=phases, status=AssessmentStatus.OPEN, opened_at=now)
