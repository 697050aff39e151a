"""HTTP routes of the catalogue; each translates a request into a command and calls a handler."""

from __future__ import annotations

import uuid
from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from servicekit.auth import Principal, optional_principal
from servicekit.service import get_runtime

from catalogue.domain.model import Contact, Dossier, Project
from catalogue.entrypoints.schemas import ProjectOut, ProjectSubmission
from catalogue.service_layer import handlers

router = APIRouter(prefix="/v1", tags=["projects"])


def _out(project: Project, principal: Principal | None) -> ProjectOut:
    show_contact = principal is not None and "operator" in principal.roles and project.contact is not None
    return ProjectOut(id=project.id, revision=project.revision, status=project.status.value,
                      submitted_at=project.submitted_at, dossier=asdict(project.dossier),
                      contact=asdict(project.contact) if show_contact else None)


@router.post("/projects", status_code=201, summary="Submit a project (aanmelden); public")
async def submit_project(body: ProjectSubmission, request: Request) -> dict:
    data = body.model_dump(mode="json", exclude={"contact"})
    dossier = Dossier(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
    cmd = handlers.SubmitProject(dossier=dossier, contact=Contact(body.contact.name, body.contact.email))
    async with get_runtime(request).transaction() as uow:
        project = await handlers.submit_project(cmd, uow)
    return {"id": str(project.id), "status": project.status.value, "revision": project.revision}


@router.get("/projects/{project_id}", summary="A project with its status; contact only for operator")
async def get_project(project_id: uuid.UUID, request: Request,
                      principal: Principal | None = Depends(optional_principal)) -> ProjectOut:
    async with get_runtime(request).transaction() as uow:
        project = await handlers.get_project(project_id, uow)
    return _out(project, principal)
