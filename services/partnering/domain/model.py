"""Partnering's view of the catalogue: which projects are proven right now (a replica, fed by events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

WITHDRAWN = "withdrawn"  # what a tombstone leaves in the replica: the project left the catalogue


@dataclass(frozen=True)
class CatalogueEntry:
    """A project as the catalogue feed last showed it, as of the feed record's time.

    `as_of` versions the entry: a record (or tombstone) only replaces an entry it is newer than, so a stale
    record replayed late (e.g. from the dead-letter topic, keeping its original time) cannot undo a newer one.
    """

    project_id: uuid.UUID
    name: str
    status: str
    revision: int
    as_of: datetime
    # For the coverage of a lab (SPEC 5.3): the phases the project covers and its evidence level (the feed's
    # `rating.evidence_level`; None when the record has no rating).
    phases: tuple[str, ...] = ()
    evidence_level: str | None = None

    @property
    def is_proven(self) -> bool:
        return self.status == "proven"

    def supersedes(self, current: CatalogueEntry | None) -> bool:
        return current is None or current.as_of < self.as_of


def withdrawn(project_id: uuid.UUID, *, as_of: datetime, current: CatalogueEntry | None = None) -> CatalogueEntry:
    """The entry a tombstone leaves: withdrawn since `as_of`, keeping the name and revision last seen."""
    return CatalogueEntry(project_id=project_id, name=current.name if current else "", status=WITHDRAWN,
                          revision=current.revision if current else 0, as_of=as_of,
                          phases=current.phases if current else (),
                          evidence_level=current.evidence_level if current else None)
