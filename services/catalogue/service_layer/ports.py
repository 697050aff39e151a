"""What the service layer needs from the outside world, as protocols the adapters (and fakes) fulfil."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from catalogue.domain.model import Project


@dataclass(frozen=True)
class CatalogueQuery:
    """Filters and the keyset position of one page of the catalogue."""

    phase: str | None = None
    theme: str | None = None
    municipality: str | None = None
    text: str | None = None
    evidence_level: str | None = None  # practice_based | evaluated | effective (SPEC 5.2)
    include_expired: bool = False  # a rating that ran out leaves the default listing
    after: int | None = None  # the listing position of the last item already seen
    limit: int = 20


@dataclass(frozen=True)
class Listing:
    position: int  # stable, increasing in the order projects entered the catalogue
    record: dict


@dataclass(frozen=True)
class ListingText:
    """A listing as the JSON text PostgreSQL keeps, for an answer that passes it on without parsing it (issue 13)."""

    position: int
    record: str  # the public record as JSON text
    rating_ran_out: bool  # its rating's valid_until has passed: the status in the text may be out of date


@dataclass(frozen=True)
class Change:
    """One entry of the catalogue's change log: a project's new public state, or None when it left."""

    seq: int
    project_id: uuid.UUID
    record: dict | None
    changed_at: datetime


class ProjectRepository(Protocol):
    async def add(self, project: Project) -> None: ...
    async def get(self, project_id: uuid.UUID, *, for_update: bool = False) -> Project | None: ...
    async def save(self, project: Project) -> None: ...

    async def expiring(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Projects whose rating ran out at `now` and is not yet published as expired; locked, others skipped."""


class LabRepository(Protocol):
    async def add(self, lab_id: uuid.UUID) -> None: ...
    async def is_formed(self, lab_id: uuid.UUID) -> bool: ...


class CatalogueRepository(Protocol):
    """The public read model: the listed projects and the log of every change to them."""

    async def put(self, project_id: uuid.UUID, record: dict) -> None: ...
    async def remove(self, project_id: uuid.UUID) -> None: ...  # also for a project never listed
    async def page(self, query: CatalogueQuery) -> list[Listing]: ...
    async def page_text(self, query: CatalogueQuery) -> list[ListingText]: ...  # the same page, records unparsed
    async def count(self, query: CatalogueQuery) -> int: ...  # matches of the filters, cursor and limit aside
    async def changes(self, after: int, limit: int) -> list[Change]: ...


class CatalogueUnitOfWork(Protocol):
    projects: ProjectRepository
    labs: LabRepository
    catalogue: CatalogueRepository

    async def publish(self, payload: BaseModel) -> object: ...
    async def publish_tombstone(self, spec: object, subject: str) -> object: ...
