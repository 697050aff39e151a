"""Request and response bodies of the catalogue's HTTP API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from schuldenlab_contracts.events import (
    Adoption,
    Availability,
    CatalogueProject,
    HttpUrl,
    Label,
    Origin,
    Phases,
    PooledOutcomes,
    ProjectPartner,
    Text,
)
from servicekit.inputs import Count

# The dossier fields reuse the contract's constrained types, so whatever is accepted here is exactly
# what ProjectSubmitted can carry: a valid request can never fail later when the event is built. Counts
# are narrower than the contract's (servicekit's strict Count: a JSON integer a PostgreSQL integer holds),
# so every consumer can store what it receives.

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an e-mail address like name@example.nl")
    return value


Email = Annotated[str, StringConstraints(min_length=3, max_length=320), AfterValidator(_email)]


class ContactIn(BaseModel):
    """The submitter's contact person (personal data: stored only in the catalogue, shown only to operator)."""

    model_config = ConfigDict(extra="forbid")
    name: Label
    email: Email


# A whole dossier as the API documents it: a valid submission, so "try it out" (and the schemathesis run)
# starts from one that is accepted.
SUBMISSION_EXAMPLE = {
    "name": "Jongeren Perspectief Fonds",
    "summary": "The debts of young people are settled in exchange for a social internship and a plan towards "
               "school or work.",
    "problem": "Young people with debts cannot start school or work, so their debts keep growing.",
    "target_group": "Young people aged 18 to 27 with problematic debts",
    "phases": ["debt_reduction", "aftercare"],
    "themes": ["youth", "work"],
    "origin": {"organisation": "Gemeente Den Haag", "municipality": "Den Haag"},
    "partners": [{"name": "Gemeente Den Haag", "kind": "public"},
                 {"name": "Haagse woningcorporaties", "kind": "private"},
                 {"name": "Stichting Schuldhulpmaatje", "kind": "societal"}],
    "in_production": True,
    "clients_served": 53,
    "results": "All 53 young people in the pilot became debt-free.",
    "evidence_urls": ["https://www.schuldenlab.nl/projecten/jongeren-perspectief-fonds"],
    "continuity_model": "Funded by the municipality and private partners together from the savings on debt "
                        "collection.",
    "availability": "immediate",
    "contact": {"name": "Anna de Vries", "email": "anna.devries@example.nl"},
}


class ProjectSubmission(BaseModel):
    """The dossier of a submission ("aanmelding"): the ProjectSubmitted fields plus a contact person."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SUBMISSION_EXAMPLE]})
    name: Label
    summary: Text
    problem: Text
    target_group: Text
    phases: Phases
    themes: list[Label] = Field(default_factory=list, max_length=50)
    origin: Origin
    partners: list[ProjectPartner] = Field(min_length=1, max_length=200,
                                           description="Parties involved in running it; at least one.")
    in_production: bool
    clients_served: Count
    results: Text
    evidence_urls: list[HttpUrl] = Field(default_factory=list, max_length=50)
    continuity_model: Text
    availability: Availability
    contact: ContactIn


class Resubmission(ProjectSubmission):
    """A new revision of the dossier; the contact person may stay as it was."""

    contact: ContactIn | None = None


class SubmissionAccepted(BaseModel):
    id: uuid.UUID
    status: str
    revision: int


class SubmissionCreated(SubmissionAccepted):
    resubmission_token: str = Field(
        description="The submitter's key, shown only in this answer: send it as header X-Resubmission-Token "
                    "to resubmit (PUT) or to read the full dossier while the project is not listed.")


class ProjectSummaryOut(BaseModel):
    """What the public sees of a project that is not (yet) in the catalogue."""

    id: uuid.UUID
    name: str
    status: str
    revision: int


class VerdictOut(BaseModel):
    assessment_id: uuid.UUID
    revision: int
    verdict: str
    rationale: str
    decided_at: datetime
    applied: bool = Field(description="False when it was about an older revision and changed nothing.")


class ImplementationOut(BaseModel):
    implementation_id: uuid.UUID
    lab_id: uuid.UUID
    municipalities: list[str]
    handed_over_at: datetime | None
    stage: str | None = Field(default=None, description="The stage it reached (SPEC 5.3), once partnering said.")
    status: str | None = Field(default=None, description="preparing, running, paused, stopped or handed_over.")
    reason: str | None = Field(default=None, description="Why it was paused, resumed or stopped, or a stage note.")
    changed_at: datetime | None = None


class ProjectOut(BaseModel):
    """A project with its dossier, status, verdicts and adoption; contact only for operator.

    The public sees this only of a listed project, with just the verdict that listed it; the whole
    verdict history needs operator, board, assessor or the submitter's key."""

    id: uuid.UUID
    revision: int
    status: str
    submitted_at: datetime
    name: str
    summary: str
    problem: str
    target_group: str
    phases: list[str]
    themes: list[str]
    origin: dict
    partners: list[dict]
    in_production: bool
    clients_served: int
    results: str
    evidence_urls: list[str]
    continuity_model: str
    availability: str
    verdicts: list[VerdictOut]
    implementations: list[ImplementationOut]
    labs_implementing: list[uuid.UUID]
    handovers: int
    municipalities: list[str]
    contact: ContactIn | None = None
    rating: dict | None = Field(default=None, description="evidence_level, valid_until and status (current, "
                                "reassessment_due, expired) of a project found proven with an evidence level.")
    adoption: Adoption | None = Field(default=None, description="Implementations per stage, paused, stopped with "
                                      "their reasons, handed over (SPEC 5.3).")
    outcomes: PooledOutcomes | None = Field(default=None, description="Outcomes pooled over the sites that "
                                            "reported; absent before any did (SPEC 5.3).")


class CataloguePage(BaseModel):
    items: list[CatalogueProject]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ChangeOut(BaseModel):
    cursor: str
    project_id: uuid.UUID
    record: CatalogueProject | None = Field(description="The project's new public state; null when it left.")
    changed_at: datetime


class ChangesPage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str = Field(description="Pass as `after` to poll for later changes (also when items is empty).")
