"""A submitted project ("aangemeld project"), its dossier and its status."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime


class ProjectStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    PROVEN = "proven"
    REJECTED = "rejected"
    NEEDS_INFORMATION = "needs_information"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Contact:
    """The submitter's contact person: personal data, kept only in the catalogue."""

    name: str
    email: str


@dataclass(frozen=True)
class Dossier:
    """Everything public about a project as submitted; field meanings as in the ProjectSubmitted contract."""

    name: str
    summary: str
    problem: str
    target_group: str
    phases: tuple[str, ...]
    themes: tuple[str, ...]
    origin: dict
    partners: tuple[dict, ...]
    in_production: bool
    clients_served: int
    results: str
    evidence_urls: tuple[str, ...]
    continuity_model: str
    availability: str


@dataclass
class Project:
    id: uuid.UUID
    revision: int
    status: ProjectStatus
    dossier: Dossier
    contact: Contact | None
    submitted_at: datetime
    history: list[dict] = field(default_factory=list)

    @classmethod
    def submit(cls, dossier: Dossier, contact: Contact, now: datetime, project_id: uuid.UUID | None = None) -> "Project":
        return cls(id=project_id or uuid.uuid4(), revision=1, status=ProjectStatus.SUBMITTED,
                   dossier=dossier, contact=contact, submitted_at=now)

    def with_dossier(self, dossier: Dossier) -> "Project":
        return replace(self, dossier=dossier)
