"""What the service layer needs from the outside world, as protocols the adapters (and fakes) fulfil."""

from __future__ import annotations

import uuid
from typing import Protocol

from pydantic import BaseModel

from catalogue.domain.model import Project


class ProjectRepository(Protocol):
    async def add(self, project: Project) -> None: ...
    async def get(self, project_id: uuid.UUID) -> Project | None: ...


class CatalogueUnitOfWork(Protocol):
    projects: ProjectRepository

    async def publish(self, payload: BaseModel) -> object: ...
