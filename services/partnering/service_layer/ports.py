"""What partnering's service layer needs from adapters (and fakes)."""

from __future__ import annotations

import uuid
from typing import Protocol

from partnering.domain.model import CatalogueEntry


class CatalogueReplica(Protocol):
    async def upsert(self, entry: CatalogueEntry) -> None: ...
    async def remove(self, project_id: uuid.UUID) -> None: ...
    async def get(self, project_id: uuid.UUID) -> CatalogueEntry | None: ...


class PartneringUnitOfWork(Protocol):
    catalogue: CatalogueReplica
