"""A proven project's rating ("beoordeling"): its evidence level ("bewijsniveau") and how long it holds."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from assessment.domain.errors import ReassessmentRefused


class EvidenceLevel(enum.StrEnum):
    PRACTICE_BASED = "practice_based"  # runs in production with positive, visible results (the default)
    EVALUATED = "evaluated"  # a process or outcome evaluation exists
    EFFECTIVE = "effective"  # a study with a comparison shows the effect


class ReassessmentReason(enum.StrEnum):
    EXPIRY = "expiry"  # the rating runs out within the notice period
    REQUESTED = "requested"  # the board asked


DEFAULT_VALIDITY = timedelta(days=1095)
DEFAULT_NOTICE = timedelta(days=90)


@dataclass(frozen=True)
class RatingPolicy:
    """How long a proven rating holds, and how long before its end the re-assessment opens."""

    validity: timedelta = DEFAULT_VALIDITY
    notice: timedelta = DEFAULT_NOTICE

    def __post_init__(self) -> None:
        # A notice as long as the validity would open a re-assessment the moment a project is found proven.
        if self.validity <= timedelta(0) or not timedelta(0) <= self.notice < self.validity:
            raise ValueError("the validity must be positive and the notice shorter than it")

    def rate(self, project_id: uuid.UUID, assessment_id: uuid.UUID, level: EvidenceLevel,
             decided_at: datetime) -> Rating:
        valid_until = decided_at + self.validity
        return Rating(project_id=project_id, assessment_id=assessment_id, evidence_level=level,
                      valid_until=valid_until, notice_at=valid_until - self.notice)


@dataclass(frozen=True)
class Rating:
    """The rating a `proven` decision gave; a later `proven` replaces it (renewal), `rejected` ends it."""

    project_id: uuid.UUID
    assessment_id: uuid.UUID  # the round that gave it
    evidence_level: EvidenceLevel
    valid_until: datetime
    notice_at: datetime  # when the re-assessment opens by itself
    reassessment_id: uuid.UUID | None = None  # the re-assessment round opened for it, if any

    def holds(self, now: datetime) -> bool:
        """Until `valid_until` the rating holds; from then on it has expired (as the catalogue tells it too)."""
        return now < self.valid_until

    def is_due(self, now: datetime) -> bool:
        """The notice time has come and no re-assessment was opened for this rating yet."""
        return self.reassessment_id is None and self.notice_at <= now

    def reassess(self, round_id: uuid.UUID) -> Rating:
        """One re-assessment per rating: a second one (the scheduler and the board at once) is refused."""
        if self.reassessment_id is not None:
            raise ReassessmentRefused("A re-assessment of this project is already open",
                                      [f"re-assessment round {self.reassessment_id} is open for the rating "
                                       f"valid until {self.valid_until.isoformat()}; decide that round"])
        return replace(self, reassessment_id=round_id)


def counts_in_portfolio(rating: Rating | None, now: datetime) -> bool:
    """Whether a proven project counts in the portfolio a new submission is fitted against.

    An expired rating is no longer "proven" (the catalogue takes it out of its listing), so the project neither
    covers its phases nor makes a newcomer "more of the same" until a `proven` renews it. A project without a rating
    here was found proven before ratings had an end, and the catalogue never expires it either: it counts.
    """
    return rating is None or rating.holds(now)


def evidence_level_for(verdict_is_proven: bool, given: EvidenceLevel | None) -> EvidenceLevel | None:
    """`proven` without a level is practice-based (SPEC 5.2); other verdicts carry none (the API refuses one)."""
    if not verdict_is_proven:
        return None
    return given or EvidenceLevel.PRACTICE_BASED
