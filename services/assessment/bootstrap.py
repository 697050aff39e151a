"""Wires the assessment service."""

from __future__ import annotations

from assessment.adapters.uow import PostgresAssessmentUnitOfWork
from assessment.config import RatingSettings
from assessment.domain.errors import AssessmentConflict, AssessmentNotFound
from assessment.entrypoints.http import router
from assessment.entrypoints.messages import BATCH_HANDLERS, HANDLERS
from assessment.entrypoints.scheduler import open_reassessments
from servicekit.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="assessment",
        description="Assessments of submitted projects against the afwegingskader, board reviews and decisions.",
        migrations_package="assessment.migrations",
        uow_factory=PostgresAssessmentUnitOfWork,
        routers=[router],
        handlers=HANDLERS,
        batch_handlers=BATCH_HANDLERS,
        error_statuses={AssessmentNotFound: 404, AssessmentConflict: 409},
        background=[open_reassessments],
        check_settings=RatingSettings.from_settings,
    )
