"""Use cases of the catalogue: `verb_noun(command, uow)`."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from schuldenlab_contracts.events import ProjectSubmitted

from catalogue.domain.errors import ProjectNotFound
from catalogue.domain.model import Contact, Dossier, Project
from catalogue.service_layer.ports import CatalogueUnitOfWork


@dataclass(frozen=True)
class SubmitProject:
    dossier: Dossier
    contact: Contact


def project_submitted(project: Project) -> ProjectSubmitted:
    """The public event of a submission: the dossier, never the contact person."""
    return ProjectSubmitted(project_id=project.id, revision=project.revision, submitted_at=project.submitted_at,
                            **asdict(project.dossier))


async def submit_project(cmd: SubmitProject, uow: CatalogueUnitOfWork) -> Project:
    project = Project.submit(cmd.dossier, cmd.contact, datetime.now(UTC))
    await uow.projects.add(project)
    await uow.publish(project_submitted(project))
    return project


async def get_project(project_id: uuid.UUID, uow: CatalogueUnitOfWork) -> Project:
    project = await uow.projects.get(project_id)
    if project is None:
        raise ProjectNotFound(f"No project with id {project_id}")
    return project
