"""The catalogue's use cases on fakes: what is stored, what goes on the outbox, what the feed says."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from catalogue.domain.errors import (
    CatalogueConflict,
    ProjectNotFound,
    SubmitterKeyMissing,
    SubmitterKeyRejected,
    UnknownLab,
)
from catalogue.domain.model import ProjectStatus, Verdict
from catalogue.service_layer import handlers
from catalogue.service_layer.ports import CatalogueQuery
from tests.unit.catalogue.catalogue_fakes import CONTACT, FakeUnitOfWork, dossier

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FEED = "catalogue.project.v1"


async def submitted(uow: FakeUnitOfWork, **changes):
    return (await handlers.submit_project(handlers.SubmitProject(dossier(**changes), CONTACT), uow)).project


async def with_key(uow: FakeUnitOfWork, **changes) -> handlers.Submitted:
    return await handlers.submit_project(handlers.SubmitProject(dossier(**changes), CONTACT), uow)


async def assess(uow: FakeUnitOfWork, project_id, verdict: Verdict, revision: int = 1) -> None:
    await handlers.record_verdict(handlers.RecordVerdict(
        project_id, uuid.uuid4(), revision, verdict, "Voldoet aan de criteria.", datetime.now(UTC)), uow)


async def test_a_submission_is_stored_and_announced_without_the_contact_person():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    assert uow.projects.rows[project.id].contact == CONTACT
    [event] = uow.published
    assert event.type == "nl.schuldenlab.project.submitted.v1" and event.data["revision"] == 1
    text = json.dumps(event.data)
    assert "contact" not in text and CONTACT.email not in text and CONTACT.name not in text


async def test_a_labs_own_project_from_an_unformed_lab_is_refused_and_nothing_stored():
    uow = FakeUnitOfWork()
    lab_id = uuid.uuid4()
    origin = {"organisation": "Schuldenlab073", "municipality": "'s-Hertogenbosch", "lab_id": str(lab_id)}
    with pytest.raises(UnknownLab):
        await submitted(uow, origin=origin)
    assert uow.projects.rows == {} and uow.published == []
    await handlers.record_lab_formed(handlers.RecordLabFormed(lab_id), uow)
    assert (await submitted(uow, origin=origin)).status is ProjectStatus.SUBMITTED


async def test_a_proven_verdict_lists_the_project_and_publishes_its_public_state():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    await assess(uow, project.id, Verdict.PROVEN)
    [record] = uow.of_type(FEED)
    assert record.subject == str(project.id)
    assert record.data["status"] == "proven" and record.data["name"] == "Jongeren Perspectief Fonds"
    assert CONTACT.email not in json.dumps(record.data)
    assert list(uow.catalogue.listed) == [project.id]


async def test_other_verdicts_on_an_unlisted_project_put_nothing_on_the_feed():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    await assess(uow, project.id, Verdict.NEEDS_INFORMATION)
    await assess(uow, project.id, Verdict.REJECTED)
    assert uow.of_type(FEED) == [] and uow.catalogue.log == []


async def test_a_proven_project_rejected_later_leaves_the_catalogue_with_a_tombstone():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    await assess(uow, project.id, Verdict.PROVEN)
    await assess(uow, project.id, Verdict.REJECTED)
    assert [e.data is None for e in uow.of_type(FEED)] == [False, True]
    assert uow.catalogue.listed == {} and uow.catalogue.log[-1].record is None


async def test_withdrawing_a_listed_project_publishes_a_tombstone_once():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    await assess(uow, project.id, Verdict.PROVEN)
    await handlers.withdraw_project(project.id, uow)
    await handlers.withdraw_project(project.id, uow)
    assert [e.data is None for e in uow.of_type(FEED)] == [False, True]
    assert uow.projects.rows[project.id].status is ProjectStatus.WITHDRAWN


async def test_withdrawing_an_unlisted_project_publishes_a_tombstone_once():
    # Assessment reads a tombstone of a project with an open assessment round as its withdrawal.
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    await handlers.withdraw_project(project.id, uow)
    await handlers.withdraw_project(project.id, uow)
    [tombstone] = uow.of_type(FEED)
    assert tombstone.data is None and tombstone.subject == str(project.id)
    assert [c.record for c in uow.catalogue.log] == [None] and uow.catalogue.listed == {}


async def test_a_project_listed_again_keeps_its_place_in_the_catalogue():
    uow = FakeUnitOfWork()
    first, second = await submitted(uow), await submitted(uow)
    await assess(uow, first.id, Verdict.PROVEN)
    await assess(uow, second.id, Verdict.PROVEN)
    await assess(uow, first.id, Verdict.REJECTED)
    await assess(uow, first.id, Verdict.PROVEN)
    order = await uow.catalogue.page(CatalogueQuery())
    assert [listing.record["project_id"] for listing in order] == [str(first.id), str(second.id)]


async def test_a_verdict_redelivered_under_a_new_event_id_is_applied_once():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    cmd = handlers.RecordVerdict(project.id, uuid.uuid4(), 1, Verdict.PROVEN, "Bewezen.", NOW)
    await handlers.record_verdict(cmd, uow)
    await handlers.record_verdict(cmd, uow)
    assert len(uow.of_type(FEED)) == 1 and len(uow.catalogue.log) == 1
    assert len(uow.projects.rows[project.id].verdicts) == 1


async def test_resubmission_publishes_the_next_revision_and_an_old_verdict_does_not_list_it():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    await assess(uow, project.id, Verdict.NEEDS_INFORMATION)
    again = await handlers.resubmit_project(
        handlers.ResubmitProject(project.id, dossier(), None, by_operator=True), uow)
    assert again.revision == 2
    assert [e.data["revision"] for e in uow.of_type("project.submitted.v1")] == [1, 2]
    await assess(uow, project.id, Verdict.PROVEN, revision=1)
    assert uow.projects.rows[project.id].status is ProjectStatus.SUBMITTED and uow.of_type(FEED) == []
    await assess(uow, project.id, Verdict.PROVEN, revision=2)
    assert uow.of_type(FEED)[-1].data["revision"] == 2


async def test_resubmitting_a_submitted_project_is_a_conflict_and_changes_nothing():
    uow = FakeUnitOfWork()
    done = await with_key(uow)
    with pytest.raises(CatalogueConflict):
        await handlers.resubmit_project(
            handlers.ResubmitProject(done.project.id, dossier(), None, submitter_key=done.submitter_key), uow)
    assert len(uow.published) == 1 and uow.projects.rows[done.project.id].revision == 1


async def test_only_the_submitters_key_or_an_operator_may_resubmit():
    uow = FakeUnitOfWork()
    done = await with_key(uow)
    project_id = done.project.id
    await assess(uow, project_id, Verdict.NEEDS_INFORMATION)
    takeover = dossier(name="Overgenomen")
    with pytest.raises(SubmitterKeyMissing):
        await handlers.resubmit_project(handlers.ResubmitProject(project_id, takeover, None), uow)
    with pytest.raises(SubmitterKeyRejected):
        await handlers.resubmit_project(
            handlers.ResubmitProject(project_id, takeover, None, submitter_key="geraden"), uow)
    assert uow.projects.rows[project_id].revision == 1 and len(uow.of_type("project.submitted.v1")) == 1
    again = await handlers.resubmit_project(
        handlers.ResubmitProject(project_id, dossier(), None, submitter_key=done.submitter_key), uow)
    assert again.revision == 2


async def test_resubmitting_a_proven_project_naming_an_unknown_lab_is_a_conflict_not_invalid_input():
    uow = FakeUnitOfWork()
    done = await with_key(uow)
    await assess(uow, done.project.id, Verdict.PROVEN)
    own = dossier(origin={"organisation": "Schuldenlab073", "municipality": "Den Bosch",
                          "lab_id": str(uuid.uuid4())})
    with pytest.raises(CatalogueConflict):
        await handlers.resubmit_project(
            handlers.ResubmitProject(done.project.id, own, None, submitter_key=done.submitter_key), uow)


async def test_adoption_changes_the_feed_record_of_a_listed_project():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    await assess(uow, project.id, Verdict.PROVEN)
    lab, impl = uuid.uuid4(), uuid.uuid4()
    await handlers.record_implementation_started(
        handlers.RecordImplementationStarted(project.id, impl, lab, ("Emmen",)), uow)
    await handlers.record_handover(handlers.RecordHandover(project.id, impl, lab, NOW), uow)
    first, started, handed_over = (e.data for e in uow.of_type(FEED))
    assert (first["labs_implementing"], first["handovers"]) == ([], 0)
    assert (started["labs_implementing"], started["municipalities"]) == ([str(lab)], ["Den Haag", "Emmen"])
    assert (handed_over["labs_implementing"], handed_over["handovers"]) == ([], 1)


async def test_adoption_of_an_unlisted_project_is_kept_but_not_published():
    uow = FakeUnitOfWork()
    project = await submitted(uow)
    await handlers.record_implementation_started(
        handlers.RecordImplementationStarted(project.id, uuid.uuid4(), uuid.uuid4(), ("Emmen",)), uow)
    assert uow.of_type(FEED) == [] and uow.projects.rows[project.id].implementations


async def test_events_about_unknown_projects_are_ignored():
    uow = FakeUnitOfWork()
    await assess(uow, uuid.uuid4(), Verdict.PROVEN)
    await handlers.record_handover(handlers.RecordHandover(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), NOW), uow)
    assert uow.published == []


async def test_erasing_the_contact_of_a_missing_project_is_not_found():
    with pytest.raises(ProjectNotFound):
        await handlers.erase_contact(uuid.uuid4(), FakeUnitOfWork())
