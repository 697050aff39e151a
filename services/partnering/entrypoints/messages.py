"""Event handlers of the partnering service."""

from __future__ import annotations

import uuid

from partnering.domain.model import CatalogueEntry
from partnering.service_layer import handlers
from schuldenlab_contracts.cloudevents import CloudEvent
from schuldenlab_contracts.events import CatalogueProject
from schuldenlab_contracts.registry import by_model


async def on_catalogue_project(payload: CatalogueProject | None, event: CloudEvent, uow) -> None:
    if payload is None:  # a tombstone: the project left the catalogue
        await handlers.forget_catalogue_entry(uuid.UUID(event.subject), event.time, uow)
        return
    # Versioned by the CloudEvent time, which a replay from the dead-letter topic keeps.
    # Phases and the evidence level for a lab's coverage; a record without a rating has no level (ranks last).
    rating = getattr(payload, "rating", None)
    entry = CatalogueEntry(project_id=payload.project_id, name=payload.name, status=str(payload.status),
                           revision=payload.revision, as_of=event.time,
                           phases=tuple(str(phase) for phase in payload.phases),
                           evidence_level=str(rating.evidence_level) if rating is not None else None)
    await handlers.record_catalogue_entry(entry, uow)


HANDLERS = {by_model(CatalogueProject).ce_type: on_catalogue_project}
