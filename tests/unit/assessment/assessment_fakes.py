"""Test doubles and dossiers for the assessment's unit tests (no I/O)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from assessment.domain.dossier import Dossier, Partner
from assessment.domain.model import Assessment, AssessmentStatus, Review
from assessment.domain.portfolio import PortfolioProject
from assessment.domain.rating import counts_in_portfolio
from assessment.domain.withdrawal import Withdrawal
from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.unit.assessment.rating_fakes import FakeRatingRepository


def dossier_from(submission: dict[str, Any], *, project_id: uuid.UUID | None = None, revision: int = 1,
                 **changes: Any) -> Dossier:
    d = submission
    dossier = Dossier(
        project_id=project_id or uuid.uuid4(), revision=revision, name=d["name"], summary=d["summary"],
        problem=d["problem"], target_group=d["target_group"], phases=tuple(d["phases"]), themes=tuple(d["themes"]),
        organisation=d["origin"]["organisation"], municipality=d["origin"]["municipality"], lab_id=None,
        partners=tuple(Partner(**p) for p in d["partners"]), in_production=d["in_production"],
        clients_served=d["clients_served"], results=d["results"], evidence_urls=tuple(d["evidence_urls"]),
        continuity_model=d["continuity_model"], availability=d["availability"], submitted_at=datetime.now(UTC),
    )
    return replace(dossier, **changes)


def known(project: str, **changes: Any) -> Dossier:
    """One of the known proven projects of DOMAIN.md, by name, with `changes` applied."""
    [submission] = [p for p in KNOWN_PROJECTS if p["name"] == project]
    return dossier_from(submission, **changes)


def weak_dossier(**changes: Any) -> Dossier:
    """A project that exists on paper only: one party, no clients, nothing to show yet."""
    base = known("Jongeren Perspectief Fonds", name="Schuldenapp Zwolle",
                 summary="An app that will help residents keep track of their bills.",
                 problem="Residents in our municipality lose track of their bills.",
                 target_group="Residents of Zwolle", phases=("awareness",), themes=("app",),
                 municipality="Zwolle", partners=(Partner("Gemeente Zwolle", "public"),), in_production=False,
                 clients_served=0, results="n/a", evidence_urls=(), continuity_model="tbd", availability="not_yet")
    return replace(base, **changes)


class FakeAssessmentRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Assessment] = {}

    async def add(self, a: Assessment) -> None:
        if a.reassessment is None and any(x.project_id == a.project_id and x.revision == a.revision
                                          and x.reassessment is None for x in self.rows.values()):
            raise AssertionError("unique (project_id, revision) violated")
        self.rows[a.id] = copy.deepcopy(a)

    async def add_many(self, assessments) -> None:
        for a in assessments:
            await self.add(a)

    async def save(self, a: Assessment) -> None:
        stored = self.rows[a.id]
        stored.status, stored.decision = a.status, copy.deepcopy(a.decision)

    async def close_if_open(self, a: Assessment) -> bool:
        stored = self.rows[a.id]
        if stored.status is not AssessmentStatus.OPEN:
            return False
        stored.status = a.status
        return True

    async def save_review(self, assessment_id: uuid.UUID, review: Review) -> None:
        self.rows[assessment_id].reviews[review.reviewer] = copy.deepcopy(review)

    async def get(self, assessment_id: uuid.UUID, *, lock: bool = False) -> Assessment | None:
        # A copy, so that a handler that forgets to save loses its changes, as it would with a database.
        return copy.deepcopy(self.rows.get(assessment_id))

    async def for_project(self, project_id: uuid.UUID) -> list[Assessment]:
        return copy.deepcopy(sorted((a for a in self.rows.values() if a.project_id == project_id),
                                    key=lambda a: (a.revision, a.opened_at)))

    async def for_projects(self, project_ids) -> dict[uuid.UUID, list[Assessment]]:
        return {pid: rounds for pid in project_ids if (rounds := await self.for_project(pid))}

    async def list(self, status: AssessmentStatus | None, after=None, limit: int = 50) -> list[Assessment]:
        found = sorted((a for a in self.rows.values() if status is None or a.status is status),
                       key=lambda a: (a.opened_at, a.id))
        return copy.deepcopy([a for a in found if after is None or (a.opened_at, a.id) > after][:limit])


class FakePortfolioRepository:
    def __init__(self, ratings: FakeRatingRepository | None = None) -> None:
        self.projects: dict[uuid.UUID, PortfolioProject] = {}
        self._ratings = ratings or FakeRatingRepository()

    def _counting(self, as_of: datetime) -> list[PortfolioProject]:
        # Like the SQL adapter: a project whose rating ran out by `as_of` is kept but not read.
        return [p for p in self.projects.values() if counts_in_portfolio(self._ratings.rows.get(p.project_id), as_of)]

    async def all(self, *, as_of: datetime) -> list[PortfolioProject]:
        return self._counting(as_of)

    async def covered_phases(self, candidate: PortfolioProject, *, as_of: datetime) -> set[str]:
        return {phase for p in self._counting(as_of) if p.project_id != candidate.project_id
                for phase in p.phases if phase in candidate.phases}

    async def resembling(self, candidate: PortfolioProject, *, as_of: datetime) -> list[PortfolioProject]:
        return self._counting(as_of)  # all that count: a superset is what the port allows

    async def covered_phases_of(self, candidates, *, as_of: datetime) -> list[set[str]]:
        return [await self.covered_phases(c, as_of=as_of) for c in candidates]

    async def resembling_of(self, candidates, *, as_of: datetime) -> list[list[PortfolioProject]]:
        return [await self.resembling(c, as_of=as_of) for c in candidates]

    async def put(self, project: PortfolioProject) -> None:
        self.projects[project.project_id] = project

    async def remove(self, project_id: uuid.UUID) -> bool:
        return self.projects.pop(project_id, None) is not None


class FakeWithdrawalRepository:
    def __init__(self) -> None:
        self.withdrawals: dict[uuid.UUID, Withdrawal] = {}

    async def lock_project(self, project_id: uuid.UUID) -> None:
        pass  # one handler at a time here anyway

    async def lock_projects(self, project_ids) -> None:
        pass

    async def get(self, project_id: uuid.UUID) -> Withdrawal | None:
        return self.withdrawals.get(project_id)

    async def get_many(self, project_ids) -> dict[uuid.UUID, Withdrawal]:
        return {pid: w for pid in project_ids if (w := self.withdrawals.get(pid)) is not None}

    async def put(self, withdrawal: Withdrawal) -> None:
        self.withdrawals[withdrawal.project_id] = withdrawal


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.assessments = FakeAssessmentRepository()
        self.ratings = FakeRatingRepository()
        self.portfolio = FakePortfolioRepository(self.ratings)
        self.withdrawals = FakeWithdrawalRepository()
        self.published: list[Any] = []

    async def publish(self, payload: Any) -> None:
        self.published.append(payload)
