"""Request and response bodies of the catalogue's HTTP API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from schuldenlab_contracts.events import Availability, Origin, Phase, ProjectPartner

Short = Annotated[str, Field(min_length=1, max_length=200)]
Long = Annotated[str, Field(min_length=1, max_length=10_000)]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Short
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class ProjectSubmission(BaseModel):
    """The dossier of a submission ("aanmelding"): the ProjectSubmitted fields plus a contact person."""

    model_config = ConfigDict(extra="forbid")
    name: Short
    summary: Long
    problem: Long
    target_group: Long
    phases: Annotated[list[Phase], Field(min_length=1)]
    themes: list[Short] = Field(default_factory=list, max_length=20)
    origin: Origin
    partners: Annotated[list[ProjectPartner], Field(min_length=1, max_length=100)]
    in_production: bool
    clients_served: Annotated[int, Field(ge=0)]
    results: Long
    evidence_urls: list[Annotated[str, Field(max_length=2048, pattern=r"^https?://\S+$")]] = Field(
        default_factory=list, max_length=50)
    continuity_model: Long
    availability: Availability
    contact: ContactIn


class ProjectOut(BaseModel):
    id: uuid.UUID
    revision: int
    status: str
    submitted_at: datetime
    dossier: dict
    contact: dict | None = None
