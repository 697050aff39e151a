"""What partnering's service layer needs from adapters (and fakes)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from partnering.domain.implementation import Funding, ImpactMeasurement, Implementation
from partnering.domain.lab import Lab, Partner, StepRecord
from partnering.domain.membership import Member
from partnering.domain.model import CatalogueEntry, Withdrawal


class CatalogueReplica(Protocol):
    async def upsert(self, entry: CatalogueEntry) -> None: ...
    async def withdraw(self, project_id: uuid.UUID, as_of: datetime) -> None: ...
    async def write(self, records: Sequence[CatalogueEntry], withdrawals: Sequence[Withdrawal]) -> None:
        """What `net_changes` left of a run of feed records: each upserted, then each withdrawn, where newer."""
    async def get(self, project_id: uuid.UUID) -> CatalogueEntry | None: ...
    async def list_entries(self) -> list[CatalogueEntry]:
        """Every entry of the replica (proven and withdrawn), for a lab's coverage."""


class LabRepository(Protocol):
    async def add(self, lab: Lab) -> None: ...
    async def get(self, lab_id: uuid.UUID, *, for_update: bool = False) -> Lab | None: ...
    async def list(self, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Lab]:
        """At most `limit` labs in (created_at, id) order, after `after` if given."""
    async def add_partner(self, partner: Partner) -> None: ...
    async def save_step(self, lab_id: uuid.UUID, record: StepRecord) -> None: ...
    async def save_formation(self, lab: Lab) -> None: ...
    async def members(self, lab_id: uuid.UUID) -> list[Member]: ...
    async def add_member(self, member: Member) -> None: ...
    async def remove_member(self, lab_id: uuid.UUID, subject: str) -> None: ...


class ImplementationRepository(Protocol):
    async def add(self, implementation: Implementation) -> None: ...
    async def get(self, implementation_id: uuid.UUID, *, for_update: bool = False) -> Implementation | None: ...
    async def for_lab(self, lab_id: uuid.UUID) -> list[Implementation]: ...
    async def add_funding(self, implementation_id: uuid.UUID, funding: Funding) -> None: ...
    async def add_impact(self, implementation_id: uuid.UUID, measurement: ImpactMeasurement) -> None: ...
    async def save_status(self, implementation: Implementation) -> None:
        """Status, stage, running, handover, and the changes (`implementation.changes`) not stored yet."""
    async def sites_by_project(self) -> dict[uuid.UUID, int]:
        """Per project the number of labs with an implementation of it that is not stopped."""


class PartneringUnitOfWork(Protocol):
    catalogue: CatalogueReplica
    labs: LabRepository
    implementations: ImplementationRepository

    async def publish(self, payload: BaseModel) -> object: ...
