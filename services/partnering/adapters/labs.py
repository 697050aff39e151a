"""Labs, their partners and their set-up checklist in the `partnering` schema."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from partnering.domain.lab import Lab, LabStatus, Partner, PartnerKind, SetupStep, StepRecord
from partnering.domain.membership import Member


def _partner(row: asyncpg.Record) -> Partner:
    return Partner(id=row["id"], lab_id=row["lab_id"], organisation=row["organisation"],
                   kind=PartnerKind(row["kind"]), sector=row["sector"], is_municipality=row["is_municipality"],
                   commitment=row["commitment"], joined_at=row["joined_at"])


def _step(row: asyncpg.Record) -> StepRecord:
    return StepRecord(step=SetupStep(row["step"]), done_by=row["done_by"], done_at=row["done_at"], note=row["note"])


class PostgresLabRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, lab: Lab) -> None:
        await self._conn.execute(
            """INSERT INTO labs (id, name, municipalities, region, status, created_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            lab.id, lab.name, list(lab.municipalities), lab.region, lab.status.value, lab.created_at,
        )

    async def get(self, lab_id: uuid.UUID, *, for_update: bool = False) -> Lab | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(f"SELECT * FROM labs WHERE id = $1{lock}", lab_id)
        if row is None:
            return None
        partners = await self._conn.fetch("SELECT * FROM partners WHERE lab_id = $1 ORDER BY joined_at, id", lab_id)
        steps = await self._conn.fetch("SELECT * FROM lab_checklist WHERE lab_id = $1", lab_id)
        return self._lab(row, partners, steps)

    async def list(self, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Lab]:
        # A page through the index on (created_at, id), then the partners and steps of its labs only.
        if after is None:
            rows = await self._conn.fetch("SELECT * FROM labs ORDER BY created_at, id LIMIT $1", limit)
        else:
            rows = await self._conn.fetch(
                "SELECT * FROM labs WHERE (created_at, id) > ($1::timestamptz, $2::uuid) ORDER BY created_at, id "
                "LIMIT $3", *after, limit)
        ids = [row["id"] for row in rows]
        partners: dict[uuid.UUID, list[asyncpg.Record]] = {}
        for p in await self._conn.fetch(
                "SELECT * FROM partners WHERE lab_id = ANY($1::uuid[]) ORDER BY joined_at, id", ids):
            partners.setdefault(p["lab_id"], []).append(p)
        steps: dict[uuid.UUID, list[asyncpg.Record]] = {}
        for s in await self._conn.fetch("SELECT * FROM lab_checklist WHERE lab_id = ANY($1::uuid[])", ids):
            steps.setdefault(s["lab_id"], []).append(s)
        return [self._lab(row, partners.get(row["id"], []), steps.get(row["id"], [])) for row in rows]

    @staticmethod
    def _lab(row: asyncpg.Record, partners: list[asyncpg.Record], steps: list[asyncpg.Record]) -> Lab:
        checklist = {record.step: record for record in map(_step, steps)}
        return Lab(id=row["id"], name=row["name"], municipalities=tuple(row["municipalities"]), region=row["region"],
                   created_at=row["created_at"], status=LabStatus(row["status"]), formed_at=row["formed_at"],
                   formed_by=row["formed_by"],
                   founding_partner_ids=tuple(row["founding_partner_ids"]),
                   partners=[_partner(p) for p in partners], checklist=checklist)

    async def add_partner(self, partner: Partner) -> None:
        await self._conn.execute(
            """INSERT INTO partners (id, lab_id, organisation, organisation_key, kind, sector, is_municipality,
                                     commitment, joined_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            partner.id, partner.lab_id, partner.organisation, partner.key, partner.kind.value, partner.sector,
            partner.is_municipality, partner.commitment, partner.joined_at,
        )

    async def save_step(self, lab_id: uuid.UUID, record: StepRecord) -> None:
        await self._conn.execute(
            """INSERT INTO lab_checklist (lab_id, step, done_by, done_at, note) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (lab_id, step) DO UPDATE SET done_by = $3, done_at = $4, note = $5""",
            lab_id, record.step.value, record.done_by, record.done_at, record.note,
        )

    async def save_formation(self, lab: Lab) -> None:
        await self._conn.execute(
            "UPDATE labs SET status = $2, formed_at = $3, founding_partner_ids = $4, formed_by = $5 WHERE id = $1",
            lab.id, lab.status.value, lab.formed_at, list(lab.founding_partner_ids), lab.formed_by,
        )

    async def members(self, lab_id: uuid.UUID) -> list[Member]:
        rows = await self._conn.fetch(
            "SELECT * FROM lab_members WHERE lab_id = $1 ORDER BY added_at, subject", lab_id)
        return [Member(lab_id=r["lab_id"], subject=r["subject"], added_by=r["added_by"], added_at=r["added_at"])
                for r in rows]

    async def add_member(self, member: Member) -> None:
        await self._conn.execute(
            "INSERT INTO lab_members (lab_id, subject, added_by, added_at) VALUES ($1, $2, $3, $4)",
            member.lab_id, member.subject, member.added_by, member.added_at,
        )

    async def remove_member(self, lab_id: uuid.UUID, subject: str) -> None:
        await self._conn.execute("DELETE FROM lab_members WHERE lab_id = $1 AND subject = $2", lab_id, subject)
