"""Ratings in the catalogue (SPEC 5.2): given by `proven`, due for re-assessment, renewed, ended, expired."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalogue.domain.errors import CatalogueConflict
from catalogue.domain.model import Project, ProjectStatus, Verdict, issue_submitter_key
from catalogue.domain.rating import RatingStatus, status_now
from catalogue.service_layer import handlers
from tests.unit.catalogue.catalogue_fakes import CONTACT, FakeUnitOfWork, dossier

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY, DIGEST = issue_submitter_key()


def proven(valid_until: datetime = NOW + timedelta(days=10), level: str = "evaluated") -> Project:
    p = Project.submit(dossier(), CONTACT, NOW, DIGEST)
    p.record_verdict(assessment_id=uuid.uuid4(), revision=1, verdict=Verdict.PROVEN, rationale="Goed.",
                     decided_at=NOW, evidence_level=level, valid_until=valid_until)
    return p


def test_proven_with_a_level_gives_a_current_rating_that_expires_by_the_clock():
    p = proven()
    assert p.rating.evidence_level == "evaluated"
    assert p.rating.status(NOW) is RatingStatus.CURRENT
    assert p.rating.status(NOW + timedelta(days=10)) is RatingStatus.EXPIRED


def test_a_proven_event_from_before_evidence_levels_gives_no_rating():
    p = Project.submit(dossier(), CONTACT, NOW, DIGEST)
    p.record_verdict(assessment_id=uuid.uuid4(), revision=1, verdict=Verdict.PROVEN, rationale="Goed.",
                     decided_at=NOW)
    assert p.is_listed and p.rating is None


def test_reassessment_due_marks_the_current_rating_only():
    p = proven()
    assert not p.record_reassessment_due(uuid.uuid4(), NOW + timedelta(days=99))  # another rating's round
    round_id = uuid.uuid4()
    assert p.record_reassessment_due(round_id, NOW + timedelta(days=10))
    assert not p.record_reassessment_due(round_id, NOW + timedelta(days=10))  # redelivered
    assert p.rating.status(NOW) is RatingStatus.REASSESSMENT_DUE


def test_the_submitter_may_revise_only_while_a_reassessment_is_open_and_it_stays_listed():
    p = proven()
    with pytest.raises(CatalogueConflict) as refused:
        p.resubmit(dossier(name="Nieuw"), None, NOW)
    assert "re-assessment" in refused.value.conditions[0]
    p.record_reassessment_due(uuid.uuid4(), NOW + timedelta(days=10))
    p.resubmit(dossier(name="Nieuw"), None, NOW)
    assert (p.revision, p.status, p.listing_verdict.revision) == (2, ProjectStatus.PROVEN, 1)


def test_renewal_replaces_the_rating_and_rejection_ends_it():
    p = proven()
    p.record_reassessment_due(uuid.uuid4(), NOW + timedelta(days=10))
    p.record_verdict(assessment_id=uuid.uuid4(), revision=1, verdict=Verdict.PROVEN, rationale="Nog steeds.",
                     decided_at=NOW + timedelta(days=8), evidence_level="effective",
                     valid_until=NOW + timedelta(days=18))
    assert (p.rating.evidence_level, p.rating.status(NOW + timedelta(days=12))) == ("effective", RatingStatus.CURRENT)
    p.record_verdict(assessment_id=uuid.uuid4(), revision=1, verdict=Verdict.REJECTED, rationale="Gestopt.",
                     decided_at=NOW + timedelta(days=9))
    assert p.rating is None and not p.is_listed


def test_a_stored_record_reads_expired_once_its_time_passed():
    record = {"rating": {"evidence_level": "effective", "valid_until": NOW.isoformat(), "status": "current"}}
    assert status_now(record, NOW - timedelta(seconds=1)) == record
    assert status_now(record, NOW)["rating"]["status"] == "expired"


async def _listed(uow: FakeUnitOfWork, valid_until: datetime) -> Project:
    p = proven(valid_until)
    await uow.projects.add(p)
    return p


async def test_the_expiry_pass_republishes_an_expired_rating_once():
    uow = FakeUnitOfWork()
    expired = await _listed(uow, datetime.now(UTC) - timedelta(seconds=1))
    await _listed(uow, datetime.now(UTC) + timedelta(days=1))
    assert await handlers.publish_expiries(uow) == [expired.id]
    [record] = uow.of_type("catalogue.project.v1")
    assert record.data["rating"]["status"] == "expired" and record.subject == str(expired.id)
    assert await handlers.publish_expiries(uow) == []


async def test_reassessment_due_republishes_the_record_with_its_status():
    uow = FakeUnitOfWork()
    p = await _listed(uow, NOW + timedelta(days=3650))
    await handlers.record_reassessment_due(handlers.RecordReassessmentDue(p.id, uuid.uuid4(), p.rating.valid_until),
                                           uow)
    [record] = uow.of_type("catalogue.project.v1")
    assert record.data["rating"]["status"] == "reassessment_due"
