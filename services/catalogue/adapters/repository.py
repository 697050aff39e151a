"""Projects and labs in the `catalogue` schema."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import asyncpg

from catalogue.domain.adoption import Measurement
from catalogue.domain.model import (
    Contact,
    Dossier,
    Implementation,
    Project,
    ProjectStatus,
    Verdict,
    VerdictRecord,
)
from catalogue.domain.rating import Rating


def dossier_from_json(data: dict) -> Dossier:
    return Dossier(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _verdict_json(v: VerdictRecord) -> dict:
    return {"assessment_id": str(v.assessment_id), "revision": v.revision, "verdict": v.verdict.value,
            "rationale": v.rationale, "decided_at": v.decided_at.isoformat(), "applied": v.applied}


def _verdict(data: dict) -> VerdictRecord:
    return VerdictRecord(uuid.UUID(data["assessment_id"]), data["revision"], Verdict(data["verdict"]),
                         data["rationale"], datetime.fromisoformat(data["decided_at"]), data["applied"])


def _rating_json(r: Rating | None) -> dict | None:
    if r is None:
        return None
    return {"evidence_level": r.evidence_level, "valid_until": r.valid_until.isoformat() if r.valid_until else None,
            "reassessment_id": str(r.reassessment_id) if r.reassessment_id else None,
            "expiry_published": r.expiry_published}


def _rating(data: dict | None) -> Rating | None:
    if data is None:
        return None
    return Rating(data["evidence_level"],
                  datetime.fromisoformat(data["valid_until"]) if data["valid_until"] else None,
                  uuid.UUID(data["reassessment_id"]) if data["reassessment_id"] else None, data["expiry_published"])


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _implementation_json(i: Implementation) -> dict:
    return {"implementation_id": str(i.implementation_id), "lab_id": str(i.lab_id),
            "municipalities": list(i.municipalities),
            "handed_over_at": i.handed_over_at.isoformat() if i.handed_over_at else None,
            "stage": i.stage, "status": i.status, "reason": i.reason,
            "changed_at": i.changed_at.isoformat() if i.changed_at else None}


def _implementation(data: dict) -> Implementation:
    # Rows from before stages (migration 0004) have no stage keys.
    return Implementation(uuid.UUID(data["implementation_id"]), uuid.UUID(data["lab_id"]),
                          tuple(data["municipalities"]), _instant(data["handed_over_at"]),
                          data.get("stage"), data.get("status"), data.get("reason"), _instant(data.get("changed_at")))


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _measurement_json(m: Measurement) -> dict:
    # Money as decimal strings: a JSON number would pass through a float somewhere.
    return {"measurement_id": str(m.measurement_id), "implementation_id": str(m.implementation_id),
            "households_reached": m.households_reached, "households_debt_free": m.households_debt_free,
            "households_stabilised": m.households_stabilised,
            "cost_eur": None if m.cost_eur is None else str(m.cost_eur),
            "benefit_eur": None if m.benefit_eur is None else str(m.benefit_eur)}


def _measurement(data: dict) -> Measurement:
    return Measurement(uuid.UUID(data["measurement_id"]), uuid.UUID(data["implementation_id"]),
                       data["households_reached"], data["households_debt_free"], data["households_stabilised"],
                       _money(data["cost_eur"]), _money(data["benefit_eur"]))


class PostgresProjectRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, project: Project) -> None:
        # The project and its contact in one statement, one round trip (issue 13): a new project has no contact
        # row to replace, and the contact's foreign key is checked at the statement's end, after both inserts.
        contact = project.contact
        await self._conn.execute(
            """WITH project AS (
                   INSERT INTO projects (id, revision, status, dossier, submitted_at, verdicts, implementations,
                                         submitter_key_digest)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id)
               INSERT INTO contacts (project_id, name, email)
               SELECT id, $9, $10 FROM project WHERE $9::text IS NOT NULL""",
            *self._columns(project), project.submitter_key_digest,
            contact.name if contact else None, contact.email if contact else None,
        )

    async def save(self, project: Project) -> None:
        await self._conn.execute(
            """UPDATE projects SET revision = $2, status = $3, dossier = $4, submitted_at = $5,
                                   verdicts = $6, implementations = $7, updated_at = clock_timestamp(),
                                   rating = $8, rating_expires_at = $9, measurements = $10
               WHERE id = $1""",
            *self._columns(project), _rating_json(project.rating),
            project.rating.expiry_due_at if project.rating and project.is_listed else None,
            [_measurement_json(m) for m in project.measurements.values()],
        )
        await self._save_contact(project)

    async def get(self, project_id: uuid.UUID, *, for_update: bool = False) -> Project | None:
        # Commands lock the row, so concurrent events and requests on one project apply one at a time.
        lock = " FOR UPDATE OF p" if for_update else ""
        row = await self._conn.fetchrow(
            f"""SELECT p.*, c.name AS contact_name, c.email AS contact_email
                FROM projects p LEFT JOIN contacts c ON c.project_id = p.id WHERE p.id = $1{lock}""",
            project_id,
        )
        if row is None:
            return None
        contact = Contact(row["contact_name"], row["contact_email"]) if row["contact_name"] else None
        implementations = [_implementation(i) for i in row["implementations"]]
        return Project(id=row["id"], revision=row["revision"], status=ProjectStatus(row["status"]),
                       dossier=dossier_from_json(row["dossier"]), contact=contact, submitted_at=row["submitted_at"],
                       verdicts=[_verdict(v) for v in row["verdicts"]],
                       implementations={i.implementation_id: i for i in implementations},
                       submitter_key_digest=row["submitter_key_digest"], rating=_rating(row["rating"]),
                       measurements={m.measurement_id: m for m in map(_measurement, row["measurements"])})

    async def expiring(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Projects whose rating ran out and whose feed record does not say so yet, locked for this transaction;
        rows another replica holds are skipped, so each expiry is published by one replica."""
        rows = await self._conn.fetch(
            """SELECT id FROM projects WHERE rating_expires_at <= $1 ORDER BY rating_expires_at LIMIT $2
               FOR UPDATE SKIP LOCKED""", now, limit)
        return [r["id"] for r in rows]

    @staticmethod
    def _columns(project: Project) -> tuple:
        return (project.id, project.revision, project.status.value, project.dossier.fields(), project.submitted_at,
                [_verdict_json(v) for v in project.verdicts],
                [_implementation_json(i) for i in project.implementations.values()])

    async def _save_contact(self, project: Project) -> None:
        if project.contact is None:
            await self._conn.execute("DELETE FROM contacts WHERE project_id = $1", project.id)
        else:
            await self._conn.execute(
                """INSERT INTO contacts (project_id, name, email) VALUES ($1, $2, $3)
                   ON CONFLICT (project_id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email""",
                project.id, project.contact.name, project.contact.email,
            )


class PostgresLabRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, lab_id: uuid.UUID) -> None:
        await self._conn.execute("INSERT INTO labs (lab_id) VALUES ($1) ON CONFLICT (lab_id) DO NOTHING", lab_id)

    async def is_formed(self, lab_id: uuid.UUID) -> bool:
        return bool(await self._conn.fetchval("SELECT EXISTS (SELECT 1 FROM labs WHERE lab_id = $1)", lab_id))
