"""Assessments, reviews and withdrawals in the `assessment` schema (the portfolio: `portfolio.py`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from assessment.adapters import codec
from assessment.domain.model import Assessment, AssessmentStatus, Review, Seat
from assessment.domain.rating import ReassessmentReason
from assessment.domain.withdrawal import Withdrawal
from servicekit import pagination


def _review(row: asyncpg.Record) -> Review:
    return Review(reviewer=row["reviewer"], seat=Seat(row["seat"]) if row["seat"] else None,
                  findings=codec.findings_from_json(row["findings"]), notes=row["notes"],
                  recorded_at=row["recorded_at"], revised_at=row["revised_at"], version=row["version"])


def _assessment(row: asyncpg.Record, reviews: list[Review]) -> Assessment:
    return Assessment(
        id=row["id"], dossier=codec.dossier_from_json(row["dossier"]), status=AssessmentStatus(row["status"]),
        opened_at=row["opened_at"], prescreen=codec.prescreen_from_json(row["prescreen"]),
        fit=codec.fit_from_json(row["fit"]), previous_ids=tuple(row["previous_ids"]),
        reviews={r.reviewer: r for r in sorted(reviews, key=lambda r: r.recorded_at)},
        decision=codec.decision_from_json(row["decision"]) if row["decision"] else None,
        reassessment=ReassessmentReason(row["reassessment"]) if row["reassessment"] else None,
    )


class PostgresAssessmentRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def _load(self, rows: list[asyncpg.Record]) -> list[Assessment]:
        if not rows:
            return []  # no question to ask about their reviews
        ids = [row["id"] for row in rows]
        review_rows = await self._conn.fetch("SELECT * FROM reviews WHERE assessment_id = ANY($1::uuid[])", ids)
        by_assessment: dict[uuid.UUID, list[Review]] = {}
        for r in review_rows:
            by_assessment.setdefault(r["assessment_id"], []).append(_review(r))
        return [_assessment(row, by_assessment.get(row["id"], [])) for row in rows]

    async def add(self, a: Assessment) -> None:
        await self.add_many([a])

    async def add_many(self, assessments: Sequence[Assessment]) -> None:
        # One statement for a run of submissions: the rows as arrays, one per column, unnested by the server.
        # A round trip per row (executemany) cost more than the rest of opening a round (issue 13). The JSON
        # documents go as text, encoded here once each; the earlier rounds as an array literal per row.
        if not assessments:
            return
        await self._conn.execute(
            """INSERT INTO assessments (id, project_id, revision, previous_ids, status, dossier, prescreen, fit,
                                        opened_at, reassessment)
               SELECT id, project_id, revision, previous_ids::uuid[], status, dossier::jsonb, prescreen::jsonb,
                      fit::jsonb, opened_at, reassessment
               FROM unnest($1::uuid[], $2::uuid[], $3::integer[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::timestamptz[], $10::text[])
                    AS given(id, project_id, revision, previous_ids, status, dossier, prescreen, fit, opened_at,
                             reassessment)""",
            [a.id for a in assessments], [a.project_id for a in assessments], [a.revision for a in assessments],
            ["{" + ",".join(str(i) for i in a.previous_ids) + "}" for a in assessments],
            [a.status.value for a in assessments],
            [json.dumps(codec.dossier_to_json(a.dossier)) for a in assessments],
            [json.dumps(codec.prescreen_to_json(a.prescreen)) for a in assessments],
            [json.dumps(codec.fit_to_json(a.fit)) for a in assessments],
            [a.opened_at for a in assessments],
            [a.reassessment.value if a.reassessment else None for a in assessments],
        )
        for a in assessments:
            for review in a.reviews.values():
                await self.save_review(a.id, review)

    async def save(self, a: Assessment) -> None:
        """Status and decision; reviews are saved one by one with `save_review`."""
        d = a.decision
        await self._conn.execute(
            "UPDATE assessments SET status = $2, verdict = $3, decision = $4, decided_at = $5 WHERE id = $1",
            a.id, a.status.value, d.verdict.value if d else None, codec.decision_to_json(d) if d else None,
            d.decided_at if d else None,
        )

    async def close_if_open(self, a: Assessment) -> bool:
        """Stores a round's closing (superseded, withdrawn) only if it is still open in the database.

        Read committed: a decision committed meanwhile holds the row lock; once it commits, the WHERE is
        evaluated again on the decided row and leaves it alone, so the decision is never overwritten.
        """
        done = await self._conn.execute(
            "UPDATE assessments SET status = $2 WHERE id = $1 AND status = 'open'", a.id, a.status.value)
        return done == "UPDATE 1"

    async def save_review(self, assessment_id: uuid.UUID, r: Review) -> None:
        await self._conn.execute(
            """INSERT INTO reviews (assessment_id, reviewer, seat, findings, notes, recorded_at, revised_at, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (assessment_id, reviewer) DO UPDATE
               SET seat = EXCLUDED.seat, findings = EXCLUDED.findings, notes = EXCLUDED.notes,
                   revised_at = EXCLUDED.revised_at, version = EXCLUDED.version""",
            assessment_id, r.reviewer, r.seat.value if r.seat else None, codec.findings_to_json(r.findings),
            r.notes, r.recorded_at, r.revised_at, r.version,
        )

    async def get(self, assessment_id: uuid.UUID, *, lock: bool = False) -> Assessment | None:
        lock_clause = " FOR UPDATE" if lock else ""
        row = await self._conn.fetchrow(f"SELECT * FROM assessments WHERE id = $1{lock_clause}", assessment_id)
        return (await self._load([row]))[0] if row else None

    async def for_project(self, project_id: uuid.UUID) -> list[Assessment]:
        return (await self.for_projects([project_id])).get(project_id, [])

    async def for_projects(self, project_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Assessment]]:
        rows = await self._conn.fetch(
            # A re-assessment round shares its revision with the round it re-assesses: the later one last.
            """SELECT * FROM assessments WHERE project_id = ANY($1::uuid[])
               ORDER BY project_id, revision, opened_at""", list(project_ids))
        rounds: dict[uuid.UUID, list[Assessment]] = {}
        for assessment in await self._load(list(rows)):
            rounds.setdefault(assessment.project_id, []).append(assessment)
        return rounds

    async def list(self, status: AssessmentStatus | None, after: tuple[datetime, uuid.UUID] | None,
                   limit: int) -> list[Assessment]:
        # Read through the index on (opened_at, id), or (status, opened_at, id) with a status.
        query, args = pagination.page_query("assessments", "opened_at",
                                            {"status": status.value if status else None}, after, limit)
        rows = await self._conn.fetch(query, *args)
        return await self._load(list(rows))


class PostgresWithdrawalRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def lock_project(self, project_id: uuid.UUID) -> None:
        await self.lock_projects([project_id])

    async def lock_projects(self, project_ids: Sequence[uuid.UUID]) -> None:
        # Without it, a tombstone and a submission handled at once would each miss the other's uncommitted
        # row (read committed), and the round would open normally. Two-key form: its own lock space. Taken
        # in the order given (WITH ORDINALITY keeps it), which callers sort, so two runs cannot deadlock.
        await self._conn.execute(
            """SELECT pg_advisory_xact_lock(hashtext('assessment.withdrawals'), hashtext(id))
               FROM unnest($1::text[]) WITH ORDINALITY AS given(id, n) ORDER BY n""",
            [str(project_id) for project_id in project_ids])

    async def get(self, project_id: uuid.UUID) -> Withdrawal | None:
        return (await self.get_many([project_id])).get(project_id)

    async def get_many(self, project_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Withdrawal]:
        rows = await self._conn.fetch("SELECT * FROM withdrawals WHERE project_id = ANY($1::uuid[])",
                                      list(project_ids))
        return {row["project_id"]: Withdrawal(project_id=row["project_id"], withdrawn_at=row["withdrawn_at"])
                for row in rows}

    async def put(self, w: Withdrawal) -> None:
        await self._conn.execute(
            """INSERT INTO withdrawals (project_id, withdrawn_at) VALUES ($1, $2)
               ON CONFLICT (project_id) DO UPDATE SET withdrawn_at = EXCLUDED.withdrawn_at""",
            w.project_id, w.withdrawn_at)
