"""In-memory fakes of the catalogue's repositories and unit of work, for handler tests without I/O."""

from __future__ import annotations

import copy
import uuid

from catalogue.domain.model import Contact, Dossier, Project
from catalogue.service_layer.ports import CatalogueQuery, Change, Listing
from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.cloudevents import new_event, tombstone


def dossier(**changes) -> Dossier:
    data = {k: v for k, v in copy.deepcopy(KNOWN_PROJECTS[0]).items() if k != "contact"}
    data.update(changes)
    return Dossier(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


CONTACT = Contact("Anna de Vries", "anna.devries@example.nl")


class FakeProjects:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Project] = {}

    async def add(self, project: Project) -> None:
        self.rows[project.id] = copy.deepcopy(project)

    async def get(self, project_id: uuid.UUID, *, for_update: bool = False) -> Project | None:
        found = self.rows.get(project_id)
        return copy.deepcopy(found) if found else None

    async def save(self, project: Project) -> None:
        self.rows[project.id] = copy.deepcopy(project)

    async def expiring(self, now, limit: int) -> list[uuid.UUID]:
        return [p.id for p in self.rows.values()
                if p.is_listed and p.rating and p.rating.expiry_due_at and p.rating.expiry_due_at <= now][:limit]


class FakeLabs:
    def __init__(self) -> None:
        self.formed: set[uuid.UUID] = set()

    async def add(self, lab_id: uuid.UUID) -> None:
        self.formed.add(lab_id)

    async def is_formed(self, lab_id: uuid.UUID) -> bool:
        return lab_id in self.formed


class FakeCatalogue:
    def __init__(self) -> None:
        self.listed: dict[uuid.UUID, Listing] = {}
        self.positions: dict[uuid.UUID, int] = {}  # kept after a project leaves, as the real listing row is
        self.log: list[Change] = []

    async def put(self, project_id: uuid.UUID, record: dict) -> None:
        self.log.append(Change(len(self.log) + 1, project_id, record, None))
        position = self.positions.setdefault(project_id, len(self.log))
        self.listed[project_id] = Listing(position, record)

    async def remove(self, project_id: uuid.UUID) -> None:
        self.log.append(Change(len(self.log) + 1, project_id, None, None))
        self.listed.pop(project_id, None)

    async def page(self, query: CatalogueQuery) -> list[Listing]:
        return sorted(self.listed.values(), key=lambda listing: listing.position)[: query.limit]

    async def count(self, query: CatalogueQuery) -> int:
        return sum(1 for listing in self.listed.values() if not query.phase or query.phase in listing.record["phases"])

    async def changes(self, after: int, limit: int) -> list[Change]:
        return [c for c in self.log if c.seq > after][:limit]


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.projects = FakeProjects()
        self.labs = FakeLabs()
        self.catalogue = FakeCatalogue()
        self.published = []  # CloudEvents, as the outbox would hold them

    async def publish(self, payload):
        event = new_event(payload)
        self.published.append(event)
        return event

    async def publish_tombstone(self, spec, subject: str):
        event = tombstone(spec, subject)
        self.published.append(event)
        return event

    def of_type(self, suffix: str) -> list:
        return [e for e in self.published if e.type.endswith(suffix)]
