"""A run of submissions opened at once (the consumer's batch handler) gives the rounds that one by one would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from assessment.domain.model import AssessmentStatus
from assessment.domain.portfolio import PortfolioProject
from assessment.domain.withdrawal import Withdrawal
from assessment.service_layer import handlers
from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.unit.assessment.assessment_fakes import FakeUnitOfWork, dossier_from, known


def _run() -> list[handlers.OpenAssessment]:
    a, b, withdrawn = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    dossiers = [
        known("Jongeren Perspectief Fonds", project_id=a),
        dossier_from(KNOWN_PROJECTS[1], project_id=b),
        known("Jongeren Perspectief Fonds", project_id=a, revision=2),  # supersedes the round opened just before
        known("Jongeren Perspectief Fonds", project_id=a, revision=2),  # the same revision again: no new round
        dossier_from(KNOWN_PROJECTS[2], project_id=withdrawn),  # withdrawn before it came: opens withdrawn
        dossier_from(KNOWN_PROJECTS[1], project_id=b, revision=3),
        dossier_from(KNOWN_PROJECTS[1], project_id=b, revision=2),  # late: opens superseded by revision 3
    ]
    return [handlers.OpenAssessment(dossier=d) for d in dossiers]


PROVEN = PortfolioProject.from_dossier(dossier_from(KNOWN_PROJECTS[0]))  # what the run's fits are scored against


def _uow(run: list[handlers.OpenAssessment]) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.withdrawals.withdrawals[run[4].dossier.project_id] = Withdrawal(run[4].dossier.project_id, datetime.now(UTC))
    uow.portfolio.projects[PROVEN.project_id] = PROVEN
    return uow


def _rounds(uow: FakeUnitOfWork) -> list[tuple]:
    return sorted((str(a.project_id), a.revision, a.status.value, len(a.previous_ids), a.fit)
                  for a in uow.assessments.rows.values())


async def test_a_run_opened_at_once_gives_the_rounds_one_by_one_would():
    run = _run()
    one_by_one, together = _uow(run), _uow(run)
    for cmd in run:
        await handlers.open_assessment(cmd, one_by_one)
    opened = await handlers.open_assessments(run, together)
    assert _rounds(together) == _rounds(one_by_one)
    assert len(opened) == 6  # the repeated revision opened nothing
    statuses = {(a.project_id, a.revision): a.status for a in together.assessments.rows.values()}
    assert statuses[(run[0].dossier.project_id, 1)] is AssessmentStatus.SUPERSEDED
    assert statuses[(run[4].dossier.project_id, 1)] is AssessmentStatus.WITHDRAWN
    assert statuses[(run[6].dossier.project_id, 2)] is AssessmentStatus.SUPERSEDED
    assert statuses[(run[5].dossier.project_id, 3)] is AssessmentStatus.OPEN


async def test_a_round_stored_before_the_run_is_superseded_by_a_newer_revision_in_it():
    project = uuid.uuid4()
    uow = FakeUnitOfWork()
    first = await handlers.open_assessment(handlers.OpenAssessment(known("Jongeren Perspectief Fonds",
                                                                         project_id=project)), uow)
    await handlers.open_assessments([handlers.OpenAssessment(known("Jongeren Perspectief Fonds", project_id=project,
                                                                   revision=2))], uow)
    assert uow.assessments.rows[first.id].status is AssessmentStatus.SUPERSEDED
