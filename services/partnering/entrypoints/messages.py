"""Event handlers of the partnering service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from partnering.domain.model import EXPIRED, CatalogueEntry, Withdrawal
from partnering.service_layer import handlers
from schuldenlab_contracts.cloudevents import CloudEvent
from schuldenlab_contracts.events import CatalogueProject
from schuldenlab_contracts.registry import by_model


def _change(payload: CatalogueProject | None, event: CloudEvent) -> CatalogueEntry | Withdrawal:
    """The feed record as a change of the replica, versioned by the CloudEvent time (a replay from the
    dead-letter topic keeps it)."""
    if payload is None:  # a tombstone: the project left the catalogue
        return Withdrawal(uuid.UUID(event.subject), event.time)
    # Phases and the evidence level for a lab's coverage; a record without a rating has no level (ranks last).
    rating = getattr(payload, "rating", None)
    # A rating that ran out with no decision (SPEC 5.2; the catalogue republishes the listing when it does) leaves
    # the project proven no more for partnering: no lab adopts it anew, no coverage suggests it, until renewed.
    expired = rating is not None and str(rating.status) == "expired"
    return CatalogueEntry(project_id=payload.project_id, name=payload.name,
                          status=EXPIRED if expired else str(payload.status),
                          revision=payload.revision, as_of=event.time,
                          phases=tuple(str(phase) for phase in payload.phases),
                          evidence_level=str(rating.evidence_level) if rating is not None else None)


async def on_catalogue_project(payload: CatalogueProject | None, event: CloudEvent, uow) -> None:
    change = _change(payload, event)
    if isinstance(change, Withdrawal):
        await handlers.forget_catalogue_entry(change.project_id, change.as_of, uow)
    else:
        await handlers.record_catalogue_entry(change, uow)


async def on_catalogue_projects(batch: Sequence[tuple[CatalogueProject | None, CloudEvent]], uow) -> None:
    """A run of feed records of one fetch at once (the runtime's batch handler); the same as one by one."""
    await handlers.apply_catalogue_changes([_change(payload, event) for payload, event in batch], uow)


HANDLERS = {by_model(CatalogueProject).ce_type: on_catalogue_project}
BATCH_HANDLERS = {by_model(CatalogueProject).ce_type: on_catalogue_projects}
