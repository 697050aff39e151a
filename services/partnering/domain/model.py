"""Partnering's view of the catalogue: which projects are proven right now (a replica, fed by events)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WITHDRAWN = "withdrawn"  # what a tombstone leaves in the replica: the project left the catalogue
# The replica's status of a listed project whose rating ran out (the feed's `rating.status`): not proven now.
EXPIRED = "expired"


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


@dataclass(frozen=True)
class Withdrawal:
    """A tombstone on the feed: the project left the catalogue as of `as_of`."""

    project_id: uuid.UUID
    as_of: datetime


def net_changes(changes: Sequence[CatalogueEntry | Withdrawal]) -> tuple[list[CatalogueEntry], list[Withdrawal]]:
    """What a run of feed records (in feed order) leaves to write: per project at most one record, then at most
    one withdrawal, in project id order; written in that order, each still only where newer than the stored
    entry (`supersedes`, a withdrawal keeping the entry's other fields), they give what the records give one by one.

    Why: one by one, a change newer than every earlier one of its project is the only kind that can take effect
    (each leaves the entry at least as new as itself). Of those, the last record replaces all before it, and the
    tombstones after it only change the status and time, so the last of them stands for them all.
    """
    newest: dict[uuid.UUID, datetime] = {}
    records: dict[uuid.UUID, CatalogueEntry] = {}
    withdrawals: dict[uuid.UUID, Withdrawal] = {}
    for change in changes:
        if change.project_id in newest and change.as_of <= newest[change.project_id]:
            continue  # superseded within the run: one by one it would change nothing
        newest[change.project_id] = change.as_of
        if isinstance(change, Withdrawal):
            withdrawals[change.project_id] = change
        else:
            records[change.project_id] = change
            withdrawals.pop(change.project_id, None)
    return [records[p] for p in sorted(records)], [withdrawals[p] for p in sorted(withdrawals)]
