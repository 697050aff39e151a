"""What the assessment's service layer needs from adapters (and fakes)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from assessment.domain.model import Assessment, AssessmentStatus, Review
from assessment.domain.portfolio import PortfolioProject
from assessment.domain.rating import Rating
from assessment.domain.withdrawal import Withdrawal


class AssessmentRepository(Protocol):
    async def add(self, assessment: Assessment) -> None: ...
    async def add_many(self, assessments: Sequence[Assessment]) -> None: ...
    async def save(self, assessment: Assessment) -> None: ...
    async def close_if_open(self, assessment: Assessment) -> bool: ...
    async def save_review(self, assessment_id: uuid.UUID, review: Review) -> None: ...
    async def get(self, assessment_id: uuid.UUID, *, lock: bool = False) -> Assessment | None: ...
    async def for_project(self, project_id: uuid.UUID) -> list[Assessment]: ...

    async def for_projects(self, project_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Assessment]]:
        """`for_project` of each; a project without rounds is left out."""
    async def list(self, status: AssessmentStatus | None, after: tuple[datetime, uuid.UUID] | None,
                   limit: int) -> list[Assessment]:
        """At most `limit` rounds (of `status`, if given) in (opened_at, id) order, after `after` if given."""


class PortfolioRepository(Protocol):
    """The proven projects. Reads answer with those that count `as_of` a moment (`rating.counts_in_portfolio`):
    a project whose rating expired by then is still stored, and counts again when a `proven` renews it."""

    async def all(self, *, as_of: datetime) -> list[PortfolioProject]: ...

    async def covered_phases(self, candidate: PortfolioProject, *, as_of: datetime) -> set[str]:
        """Those of the candidate's phases that some other proven project covers."""

    async def resembling(self, candidate: PortfolioProject, *, as_of: datetime) -> list[PortfolioProject]:
        """Other proven projects, at least every one that is more of the same as the candidate.

        Those sharing a phase and an overlap of words of at least CONTENT_FLOOR with it are enough; an
        adapter should not return many more, as this is what keeps a fit from growing with the portfolio.
        """

    async def covered_phases_of(self, candidates: Sequence[PortfolioProject], *, as_of: datetime) -> list[set[str]]:
        """`covered_phases` of each candidate, in their order."""

    async def resembling_of(self, candidates: Sequence[PortfolioProject], *,
                            as_of: datetime) -> list[list[PortfolioProject]]:
        """`resembling` of each candidate, in their order."""

    async def put(self, project: PortfolioProject) -> None: ...
    async def remove(self, project_id: uuid.UUID) -> bool: ...


class WithdrawalRepository(Protocol):
    async def lock_project(self, project_id: uuid.UUID) -> None:
        """Until the transaction ends, a tombstone and a submission of the project are handled one at a time."""

    async def lock_projects(self, project_ids: Sequence[uuid.UUID]) -> None:
        """`lock_project` of each, in the order given (sorted, so that two runs cannot deadlock)."""

    async def get(self, project_id: uuid.UUID) -> Withdrawal | None: ...
    async def get_many(self, project_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Withdrawal]: ...
    async def put(self, withdrawal: Withdrawal) -> None: ...


class RatingRepository(Protocol):
    async def get(self, project_id: uuid.UUID, *, lock: bool = False) -> Rating | None: ...
    async def put(self, rating: Rating) -> None: ...
    async def remove(self, project_id: uuid.UUID) -> None: ...

    async def take_due(self, now: datetime, limit: int) -> list[Rating]:
        """At most `limit` ratings due at `now`, locked for this transaction; none another transaction holds."""


class AssessmentUnitOfWork(Protocol):
    assessments: AssessmentRepository
    portfolio: PortfolioRepository
    withdrawals: WithdrawalRepository
    ratings: RatingRepository

    async def publish(self, payload: BaseModel) -> object: ...
