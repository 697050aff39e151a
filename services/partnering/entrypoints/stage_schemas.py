"""Request and response bodies of an implementation's stages, pausing and stopping, and of a lab's coverage."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from partnering.entrypoints.schemas import Notes, Request, example

StageName = Literal["exploration", "installation", "initial_implementation", "full_implementation", "sustainment"]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Reason = Annotated[str, StringConstraints(min_length=1, max_length=10_000), AfterValidator(_not_blank)]


class StageUpdate(Request):
    model_config = example(stage="installation", note="Programme team formed; intake process agreed with the "
                                                       "district teams.")

    stage: StageName = Field(description="The next stage (forward one at a time), or an earlier one with a `note`. "
                                         "`sustainment` is reached by the handover only (422 here).")
    note: Notes | None = Field(default=None, description="Why; required for a step back.")


class ReasonBody(Request):
    model_config = example(reason="The municipality's budget for the next half year is not yet agreed.")

    reason: Reason = Field(description="Why; required and not blank. Shown to every reader and published.")


class CoveringImplementation(BaseModel):
    implementation_id: uuid.UUID
    project_id: uuid.UUID
    project_name: str
    stage: str
    status: str


class SuggestionOut(BaseModel):
    project_id: uuid.UUID
    name: str
    evidence_level: str | None = Field(description="effective, evaluated or practice_based; null when the "
                                                   "catalogue gave the project no rating (ranked last).")
    sites: int = Field(description="Labs where the project runs (under way or handed over, not stopped).")
    phases: list[str]


class PhaseOut(BaseModel):
    phase: str
    covered: bool
    implementations: list[CoveringImplementation]
    suggestions: list[SuggestionOut] = Field(description="For a gap: proven projects the lab has never adopted "
                                                         "that cover it, best evidence first, then most sites.")


class CoverageOut(BaseModel):
    lab_id: uuid.UUID
    phases: list[PhaseOut]
    gaps: list[str]
