"""A listed project's rating ("beoordeling"): evidence level ("bewijsniveau"), validity and where it stands.

The catalogue learns a rating from the events it consumes: ProjectAssessed (`proven` gives or renews it) and
ReassessmentDue (a re-assessment round is open). That a rating ran out it tells from its own clock on
`valid_until`: no event says so, and none is needed.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime


class RatingStatus(enum.StrEnum):
    CURRENT = "current"
    REASSESSMENT_DUE = "reassessment_due"  # a re-assessment round is open; the rating still holds
    EXPIRED = "expired"  # valid_until passed without a new decision: out of the default listing


@dataclass(frozen=True)
class Rating:
    evidence_level: str
    valid_until: datetime | None  # None for ratings given before ratings had an end
    reassessment_id: uuid.UUID | None = None  # the open re-assessment round, from ReassessmentDue
    expiry_published: bool = False  # the feed has carried this rating as expired

    def status(self, now: datetime) -> RatingStatus:
        if self.valid_until is not None and self.valid_until <= now:
            return RatingStatus.EXPIRED
        if self.reassessment_id is not None:
            return RatingStatus.REASSESSMENT_DUE
        return RatingStatus.CURRENT

    def reassessment_opened(self, round_id: uuid.UUID, valid_until: datetime) -> Rating | None:
        """The rating with its re-assessment open; None when the event is about another (older) rating."""
        if self.valid_until != valid_until or self.reassessment_id == round_id:
            return None
        return replace(self, reassessment_id=round_id)

    @property
    def expiry_due_at(self) -> datetime | None:
        """When the feed must next say this rating expired (the catalogue's scheduler reads it as a column)."""
        return None if self.expiry_published else self.valid_until


def status_now(record: dict, now: datetime) -> dict:
    """A stored public record with its rating's status as of `now`: a listing stored before the rating ran out
    says `current` until the scheduler republishes it; readers must never see that."""
    rating = record.get("rating")
    if not rating or not rating.get("valid_until") or rating.get("status") == RatingStatus.EXPIRED:
        return record
    if datetime.fromisoformat(rating["valid_until"]) <= now:
        return {**record, "rating": {**rating, "status": RatingStatus.EXPIRED.value}}
    return record
