"""Payload models of SPEC 5.2: a proven project's evidence level, how long its rating holds, its re-assessment."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import AwareDatetime, Field

from .base import ContractModel, Revision

__all__ = ["EvidenceLevel", "Rating", "RatingStatus", "ReassessmentDue", "ReassessmentReason"]


class EvidenceLevel(StrEnum):
    """How strong the evidence is that a project works ("bewijsniveau")."""

    PRACTICE_BASED = "practice_based"  # runs in production with positive, visible results
    EVALUATED = "evaluated"  # a process or outcome evaluation exists
    EFFECTIVE = "effective"  # a study with a comparison shows the effect


class RatingStatus(StrEnum):
    """Where a proven rating stands in its validity."""

    CURRENT = "current"
    REASSESSMENT_DUE = "reassessment_due"
    EXPIRED = "expired"


class ReassessmentReason(StrEnum):
    """Why a re-assessment round opened: the rating runs out soon, or the board asked."""

    EXPIRY = "expiry"
    REQUESTED = "requested"


class ReassessmentDue(ContractModel):
    """A proven project's rating runs out soon, or the board asked: a re-assessment round opened."""

    project_id: uuid.UUID = Field(description="Id of the project (the aggregate id).")
    assessment_id: uuid.UUID = Field(description="Id of the re-assessment round that opened.")
    revision: Revision = Field(description="The revision of the dossier the round assesses.")
    valid_until: AwareDatetime = Field(description="When the current rating runs out.")
    reason: ReassessmentReason = Field(description="'expiry' (notice before the end) or 'requested' (the board).")
    opened_at: AwareDatetime = Field(description="When the round opened.")


class Rating(ContractModel):
    """A listed project's rating: its evidence level and how long it holds."""

    evidence_level: EvidenceLevel = Field(description="How strong the evidence is that it works.")
    valid_until: AwareDatetime | None = Field(
        default=None, description="When the rating runs out; absent for ratings from before validity."
    )
    status: RatingStatus = Field(description="current, reassessment_due or expired.")
