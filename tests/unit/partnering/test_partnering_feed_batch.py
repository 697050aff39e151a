"""A run of catalogue-feed records applied at once leaves the replica as applying them one by one does."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from partnering.domain.model import CatalogueEntry, Withdrawal, net_changes, withdrawn
from partnering.entrypoints.messages import on_catalogue_project, on_catalogue_projects
from schuldenlab_contracts.cloudevents import new_event, tombstone
from schuldenlab_contracts.events import CatalogueProject
from schuldenlab_contracts.registry import by_model
from tests.contract.samples import DOSSIER

T0 = datetime(2026, 5, 1, tzinfo=UTC)
PROJECTS = [uuid.UUID(int=n) for n in range(1, 5)]


def one_by_one(replica: dict, change) -> None:
    """The reference: the one-record handler's rule (a change replaces only an entry it is newer than)."""
    current = replica.get(change.project_id)
    if isinstance(change, Withdrawal):
        change = withdrawn(change.project_id, as_of=change.as_of, current=current)
    if change.supersedes(current):
        replica[change.project_id] = change


class Replica:
    """The replica's writes as PostgresCatalogueReplica makes them: records, then withdrawals, each where newer."""

    def __init__(self, entries: dict) -> None:
        self.entries = dict(entries)
        self.writes: list[tuple[list, list]] = []

    async def upsert(self, entry):
        one_by_one(self.entries, entry)

    async def withdraw(self, project_id, as_of):
        one_by_one(self.entries, Withdrawal(project_id, as_of))

    async def write(self, records, withdrawals):
        self.writes.append((list(records), list(withdrawals)))
        assert len({r.project_id for r in records}) == len(records)  # one statement may not change a row twice
        assert len({w.project_id for w in withdrawals}) == len(withdrawals)
        for change in [*records, *withdrawals]:
            one_by_one(self.entries, change)


class Uow:
    def __init__(self, entries: dict) -> None:
        self.catalogue = Replica(entries)


def entry(project_id: uuid.UUID, minutes: int, revision: int = 1, phases=("intake",)) -> CatalogueEntry:
    return CatalogueEntry(project_id=project_id, name=f"{project_id.int} r{revision}", status="proven",
                          revision=revision, as_of=T0 + timedelta(minutes=minutes), phases=tuple(phases),
                          evidence_level="effective" if revision % 2 else None)


def random_change(rng: random.Random, n: int):
    project_id, minutes = rng.choice(PROJECTS), rng.randrange(8)  # equal times and out-of-order ones included
    if rng.random() < 0.3:
        return Withdrawal(project_id, T0 + timedelta(minutes=minutes))
    return entry(project_id, minutes, revision=n + 1, phases=rng.sample(["intake", "aftercare", "stabilisation"], 2))


def test_net_changes_written_give_what_one_by_one_gives_whatever_the_order_and_the_stored_entries():
    rng = random.Random(13)
    for _ in range(3000):
        stored = {}
        for n in range(rng.randrange(4)):
            one_by_one(stored, random_change(rng, 100 + n))
        changes = [random_change(rng, n) for n in range(rng.randrange(1, 9))]
        expected = dict(stored)
        for change in changes:
            one_by_one(expected, change)
        records, withdrawals = net_changes(changes)
        got = dict(stored)
        for change in [*records, *withdrawals]:
            one_by_one(got, change)
        assert got == expected, (stored, changes)


def test_superseded_versions_of_a_project_are_dropped_and_a_tombstone_after_a_record_keeps_its_phases():
    a, b, c = PROJECTS[:3]
    records, withdrawals = net_changes([
        entry(a, 1, revision=1), entry(b, 1), entry(a, 3, revision=3), entry(a, 2, revision=2),  # a late stale one
        Withdrawal(b, T0 + timedelta(minutes=2)), Withdrawal(c, T0), Withdrawal(c, T0 + timedelta(minutes=1))])
    assert records == [entry(a, 3, revision=3), entry(b, 1)]  # in project id order
    assert withdrawals == [Withdrawal(b, T0 + timedelta(minutes=2)), Withdrawal(c, T0 + timedelta(minutes=1))]
    replica = {}
    for change in [*records, *withdrawals]:
        one_by_one(replica, change)
    assert replica[b].status == "withdrawn" and replica[b].phases == ("intake",) and replica[b].name == "2 r1"


def test_a_record_after_a_tombstone_in_the_same_run_proves_the_project_again():
    a = PROJECTS[0]
    records, withdrawals = net_changes([entry(a, 1), Withdrawal(a, T0 + timedelta(minutes=2)), entry(a, 3, 2)])
    assert records == [entry(a, 3, 2)] and withdrawals == []


async def test_the_batch_handler_leaves_the_replica_as_the_one_record_handler_does():
    def record(project_id, minutes, revision):
        at = T0 + timedelta(minutes=minutes)
        payload = CatalogueProject(**{**DOSSIER, "project_id": project_id, "revision": revision},
                                   assessment_id=uuid.uuid4(), decided_at=at, labs_implementing=[], handovers=0,
                                   municipalities=["Den Haag"], updated_at=at)
        return payload, new_event(payload, time=at)

    a, b, c = PROJECTS[:3]
    gone = tombstone(by_model(CatalogueProject), str(b), time=T0 + timedelta(minutes=5))
    batch = [record(a, 1, 1), record(b, 1, 1), record(a, 2, 2), (None, gone), record(c, 1, 1), record(a, 0, 9)]
    stored = {c: entry(c, 4, revision=7)}  # newer than the feed's record of c
    one, together = Uow(stored), Uow(stored)
    for payload, event in batch:
        await on_catalogue_project(payload, event, one)
    await on_catalogue_projects(batch, together)
    assert together.catalogue.entries == one.catalogue.entries
    assert len(together.catalogue.writes) == 1
    assert together.catalogue.entries[a].revision == 2 and together.catalogue.entries[c].revision == 7
    assert together.catalogue.entries[b].status == "withdrawn" and together.catalogue.entries[b].revision == 1
