"""Use cases of the partnering service."""

from __future__ import annotations

import uuid

from partnering.domain.model import CatalogueEntry
from partnering.service_layer.ports import PartneringUnitOfWork


async def record_catalogue_entry(entry: CatalogueEntry, uow: PartneringUnitOfWork) -> None:
    await uow.catalogue.upsert(entry)


async def forget_catalogue_entry(project_id: uuid.UUID, uow: PartneringUnitOfWork) -> None:
    await uow.catalogue.remove(project_id)
