"""Implementations with their funding, impact measurements and handover in the `partnering` schema."""

from __future__ import annotations

import uuid

import asyncpg

from partnering.domain.implementation import (
    Funding,
    FundingKind,
    Handover,
    ImpactMeasurement,
    Implementation,
    ImplementationStatus,
    Stage,
    StageChange,
)


def _funding(row: asyncpg.Record) -> Funding:
    return Funding(id=row["id"], source=row["source"], source_partner_id=row["source_partner_id"],
                   source_is_municipality=row["source_is_municipality"], kind=FundingKind(row["kind"]),
                   amount_eur=row["amount_eur"], recorded_at=row["recorded_at"], recorded_by=row["recorded_by"])


def _impact(row: asyncpg.Record) -> ImpactMeasurement:
    return ImpactMeasurement(id=row["id"], period_start=row["period_start"], period_end=row["period_end"],
                             households_reached=row["households_reached"],
                             households_debt_free=row["households_debt_free"], notes=row["notes"],
                             recorded_at=row["recorded_at"], recorded_by=row["recorded_by"],
                             households_stabilised=row["households_stabilised"],
                             median_days_to_stabilisation=row["median_days_to_stabilisation"],
                             repeat_cases=row["repeat_cases"], cost_eur=row["cost_eur"],
                             benefit_eur=row["benefit_eur"])


def _change(row: asyncpg.Record) -> StageChange:
    return StageChange(id=row["id"], stage=Stage(row["stage"]), status=ImplementationStatus(row["status"]),
                       reason=row["reason"], changed_at=row["changed_at"], changed_by=row["changed_by"])


def _implementation(row: asyncpg.Record, fundings: list[asyncpg.Record],
                    impacts: list[asyncpg.Record], changes: list[asyncpg.Record]) -> Implementation:
    handover = None
    if row["handed_over_at"] is not None:
        handover = Handover(handed_over_to=tuple(row["handed_over_to"]), regular_operations=row["regular_operations"],
                            handed_over_at=row["handed_over_at"], handed_over_by=row["handed_over_by"])
    return Implementation(id=row["id"], lab_id=row["lab_id"], project_id=row["project_id"],
                          project_name=row["project_name"], municipalities=tuple(row["municipalities"]),
                          started_at=row["started_at"], started_by=row["started_by"],
                          status=ImplementationStatus(row["status"]), running_since=row["running_since"],
                          running_by=row["running_by"], fundings=[_funding(f) for f in fundings],
                          impacts=[_impact(m) for m in impacts], handover=handover, stage=Stage(row["stage"]),
                          changes=[_change(c) for c in changes])


class PostgresImplementationRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, i: Implementation) -> None:
        await self._conn.execute(
            """INSERT INTO implementations (id, lab_id, project_id, project_name, municipalities, status, started_at,
                                          started_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            i.id, i.lab_id, i.project_id, i.project_name, list(i.municipalities), i.status.value, i.started_at,
            i.started_by,
        )

    async def get(self, implementation_id: uuid.UUID, *, for_update: bool = False) -> Implementation | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(f"SELECT * FROM implementations WHERE id = $1{lock}", implementation_id)
        if row is None:
            return None
        fundings = await self._conn.fetch(
            "SELECT * FROM fundings WHERE implementation_id = $1 ORDER BY recorded_at, id", implementation_id)
        impacts = await self._conn.fetch(
            "SELECT * FROM impact_measurements WHERE implementation_id = $1 ORDER BY period_start", implementation_id)
        changes = await self._conn.fetch(
            "SELECT * FROM implementation_changes WHERE implementation_id = $1 ORDER BY changed_at, id",
            implementation_id)
        return _implementation(row, fundings, impacts, changes)

    async def for_lab(self, lab_id: uuid.UUID) -> list[Implementation]:
        rows = await self._conn.fetch("SELECT * FROM implementations WHERE lab_id = $1 ORDER BY started_at, id", lab_id)
        ids = [r["id"] for r in rows]
        fundings = await self._conn.fetch(
            "SELECT * FROM fundings WHERE implementation_id = ANY($1) ORDER BY recorded_at, id", ids)
        impacts = await self._conn.fetch(
            "SELECT * FROM impact_measurements WHERE implementation_id = ANY($1) ORDER BY period_start", ids)
        changes = await self._conn.fetch(
            "SELECT * FROM implementation_changes WHERE implementation_id = ANY($1) ORDER BY changed_at, id", ids)
        return [_implementation(r, [f for f in fundings if f["implementation_id"] == r["id"]],
                                [m for m in impacts if m["implementation_id"] == r["id"]],
                                [c for c in changes if c["implementation_id"] == r["id"]]) for r in rows]

    async def add_funding(self, implementation_id: uuid.UUID, f: Funding) -> None:
        await self._conn.execute(
            """INSERT INTO fundings (id, implementation_id, source, source_partner_id, source_is_municipality, kind,
                                     amount_eur, recorded_at, recorded_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            f.id, implementation_id, f.source, f.source_partner_id, f.source_is_municipality, f.kind.value,
            f.amount_eur, f.recorded_at, f.recorded_by,
        )

    async def add_impact(self, implementation_id: uuid.UUID, m: ImpactMeasurement) -> None:
        await self._conn.execute(
            """INSERT INTO impact_measurements (id, implementation_id, period_start, period_end, households_reached,
                                                households_debt_free, notes, recorded_at, recorded_by,
                                                households_stabilised, median_days_to_stabilisation, repeat_cases,
                                                cost_eur, benefit_eur)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)""",
            m.id, implementation_id, m.period_start, m.period_end, m.households_reached, m.households_debt_free,
            m.notes, m.recorded_at, m.recorded_by, m.households_stabilised, m.median_days_to_stabilisation,
            m.repeat_cases, m.cost_eur, m.benefit_eur,
        )

    async def save_status(self, i: Implementation) -> None:
        h = i.handover
        await self._conn.execute(
            """UPDATE implementations SET status = $2, running_since = $3, handed_over_to = $4,
                      regular_operations = $5, handed_over_at = $6, handed_over_by = $7,
                      running_by = $8, stage = $9
               WHERE id = $1""",
            i.id, i.status.value, i.running_since, list(h.handed_over_to) if h else None,
            h.regular_operations if h else None, h.handed_over_at if h else None, h.handed_over_by if h else None,
            i.running_by, i.stage.value,
        )
        # The changes are kept in full; the ones already stored are left as they are.
        await self._conn.executemany(
            """INSERT INTO implementation_changes (id, implementation_id, stage, status, reason, changed_at, changed_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING""",
            [(c.id, i.id, c.stage.value, c.status.value, c.reason, c.changed_at, c.changed_by) for c in i.changes],
        )

    async def sites_by_project(self) -> dict[uuid.UUID, int]:
        rows = await self._conn.fetch(
            """SELECT project_id, count(DISTINCT lab_id) AS sites FROM implementations WHERE status <> 'stopped'
               GROUP BY project_id""")
        return {r["project_id"]: r["sites"] for r in rows}
