"""Projects in the `catalogue` schema."""

from __future__ import annotations

import uuid
from dataclasses import asdict

import asyncpg

from catalogue.domain.model import Contact, Dossier, Project, ProjectStatus


def _dossier(data: dict) -> Dossier:
    return Dossier(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class PostgresProjectRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, project: Project) -> None:
        await self._conn.execute(
            """INSERT INTO projects (id, revision, status, dossier, submitted_at)
               VALUES ($1, $2, $3, $4, $5)""",
            project.id, project.revision, project.status.value, asdict(project.dossier), project.submitted_at,
        )
        if project.contact is not None:
            await self._conn.execute(
                "INSERT INTO contacts (project_id, name, email) VALUES ($1, $2, $3)",
                project.id, project.contact.name, project.contact.email,
            )

    async def get(self, project_id: uuid.UUID) -> Project | None:
        row = await self._conn.fetchrow(
            """SELECT p.*, c.name AS contact_name, c.email AS contact_email
               FROM projects p LEFT JOIN contacts c ON c.project_id = p.id WHERE p.id = $1""",
            project_id,
        )
        if row is None:
            return None
        contact = Contact(row["contact_name"], row["contact_email"]) if row["contact_name"] else None
        return Project(id=row["id"], revision=row["revision"], status=ProjectStatus(row["status"]),
                       dossier=_dossier(row["dossier"]), contact=contact, submitted_at=row["submitted_at"])
