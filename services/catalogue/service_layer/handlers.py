"""Use cases of the catalogue: `verb_noun(command, uow)`."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from catalogue.domain.adoption import Measurement
from catalogue.domain.errors import ProjectNotFound
from catalogue.domain.model import (
    Contact,
    Dossier,
    Project,
    Verdict,
    issue_submitter_key,
    require_formed_lab,
)
from catalogue.domain.rating import status_now
from catalogue.service_layer.ports import CatalogueQuery, CatalogueUnitOfWork, Change, Listing, ListingText
from schuldenlab_contracts.events import Adoption, CatalogueProject, PooledOutcomes, ProjectSubmitted, Rating
from schuldenlab_contracts.registry import by_model

log = logging.getLogger(__name__)


# --- commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitProject:
    dossier: Dossier
    contact: Contact


@dataclass(frozen=True)
class ResubmitProject:
    project_id: uuid.UUID
    dossier: Dossier
    contact: Contact | None
    submitter_key: str | None = None
    by_operator: bool = False  # an operator may resubmit on the submitter's behalf, without the key


@dataclass(frozen=True)
class Submitted:
    """A stored submission and the submitter's key, which exists in clear only in this answer."""

    project: Project
    submitter_key: str


@dataclass(frozen=True)
class RecordVerdict:
    project_id: uuid.UUID
    assessment_id: uuid.UUID
    revision: int
    verdict: Verdict
    rationale: str
    decided_at: datetime
    evidence_level: str | None = None  # proven only, from events since SPEC 5.2
    valid_until: datetime | None = None


@dataclass(frozen=True)
class RecordReassessmentDue:
    project_id: uuid.UUID
    assessment_id: uuid.UUID  # the re-assessment round
    valid_until: datetime  # of the rating being re-assessed


@dataclass(frozen=True)
class RecordLabFormed:
    lab_id: uuid.UUID


@dataclass(frozen=True)
class RecordImplementationStarted:
    project_id: uuid.UUID
    implementation_id: uuid.UUID
    lab_id: uuid.UUID
    municipalities: tuple[str, ...]


@dataclass(frozen=True)
class RecordHandover:
    project_id: uuid.UUID
    implementation_id: uuid.UUID
    lab_id: uuid.UUID
    handed_over_at: datetime


@dataclass(frozen=True)
class RecordStageChange:
    project_id: uuid.UUID
    implementation_id: uuid.UUID
    lab_id: uuid.UUID
    municipalities: tuple[str, ...]
    stage: str
    status: str
    reason: str | None
    changed_at: datetime


@dataclass(frozen=True)
class RecordMeasurement:
    project_id: uuid.UUID
    implementation_id: uuid.UUID
    lab_id: uuid.UUID
    municipalities: tuple[str, ...]
    measurement_id: uuid.UUID
    households_reached: int
    households_debt_free: int
    households_stabilised: int | None = None
    cost_eur: Decimal | None = None
    benefit_eur: Decimal | None = None


# --- public records ------------------------------------------------------------------------------


def project_submitted(project: Project) -> ProjectSubmitted:
    """The public event of a submission: the dossier, never the contact person."""
    return ProjectSubmitted(project_id=project.id, revision=project.revision, submitted_at=project.submitted_at,
                            **project.dossier.fields())


def catalogue_record(project: Project, now: datetime) -> CatalogueProject:
    """The public state of a listed project, as the feed and the catalogue show it."""
    verdict = project.listing_verdict
    if verdict is None:  # pragma: no cover - a listed project always has the verdict that listed it
        raise AssertionError(f"project {project.id} is listed without a verdict")
    return CatalogueProject(
        project_id=project.id, revision=project.revision, submitted_at=project.submitted_at,
        **project.dossier.fields(),
        assessment_id=verdict.assessment_id, decided_at=verdict.decided_at, rationale=verdict.rationale,
        labs_implementing=project.labs_implementing, handovers=project.handovers,
        municipalities=project.municipalities, updated_at=now,
        rating=None if project.rating is None else Rating(
            evidence_level=project.rating.evidence_level, valid_until=project.rating.valid_until,
            status=project.rating.status(now).value),
        adoption=Adoption.model_validate(project.adoption),
        outcomes=None if (outcomes := project.outcomes) is None else PooledOutcomes.model_validate(outcomes),
    )


async def _publish_public_state(project: Project, was_listed: bool, uow: CatalogueUnitOfWork) -> None:
    """Every change of a project's public state goes to the feed and the change log, in this transaction."""
    if project.is_listed:
        record = catalogue_record(project, datetime.now(UTC))
        await uow.catalogue.put(project.id, record.model_dump(mode="json"))
        await uow.publish(record)
    elif was_listed:
        await uow.catalogue.remove(project.id)
        await uow.publish_tombstone(by_model(CatalogueProject), str(project.id))


async def _get(project_id: uuid.UUID, uow: CatalogueUnitOfWork) -> Project:
    project = await uow.projects.get(project_id, for_update=True)
    if project is None:
        raise ProjectNotFound(f"No project with id {project_id}")
    return project


# --- submitter and operator ----------------------------------------------------------------------


async def submit_project(cmd: SubmitProject, uow: CatalogueUnitOfWork) -> Submitted:
    lab_id = cmd.dossier.lab_id
    require_formed_lab(cmd.dossier, lab_id is not None and await uow.labs.is_formed(uuid.UUID(lab_id)))
    key, digest = issue_submitter_key()
    project = Project.submit(cmd.dossier, cmd.contact, datetime.now(UTC), digest)
    await uow.projects.add(project)
    await uow.publish(project_submitted(project))
    return Submitted(project, key)


async def resubmit_project(cmd: ResubmitProject, uow: CatalogueUnitOfWork) -> Project:
    project = await _get(cmd.project_id, uow)
    if not cmd.by_operator:
        project.require_submitter(cmd.submitter_key)
    # The status decides first: a resubmission that is not allowed at all is a conflict, whatever it says.
    project.require_resubmittable()
    lab_id = cmd.dossier.lab_id
    require_formed_lab(cmd.dossier, lab_id is not None and await uow.labs.is_formed(uuid.UUID(lab_id)))
    project.resubmit(cmd.dossier, cmd.contact, datetime.now(UTC))
    await uow.projects.save(project)
    await uow.publish(project_submitted(project))
    if project.is_listed:  # revised during its re-assessment: the listing shows the new dossier
        await _publish_public_state(project, True, uow)
    return project


async def withdraw_project(project_id: uuid.UUID, uow: CatalogueUnitOfWork) -> Project:
    project = await _get(project_id, uow)
    if project.withdraw():
        await uow.projects.save(project)
        # Every withdrawal is announced with a tombstone, listed before or not: assessment reads one
        # for a project with an open assessment round as "withdrawn" (harmless on a compacted topic).
        await _publish_public_state(project, True, uow)
    return project


async def erase_contact(project_id: uuid.UUID, uow: CatalogueUnitOfWork) -> None:
    project = await _get(project_id, uow)
    project.erase_contact()
    await uow.projects.save(project)


async def get_project(project_id: uuid.UUID, uow: CatalogueUnitOfWork) -> Project:
    project = await uow.projects.get(project_id)
    if project is None:
        raise ProjectNotFound(f"No project with id {project_id}")
    return project


async def browse_catalogue(query: CatalogueQuery, uow: CatalogueUnitOfWork) -> list[Listing]:
    now = datetime.now(UTC)
    return [Listing(x.position, status_now(x.record, now)) for x in await uow.catalogue.page(query)]


async def browse_catalogue_text(query: CatalogueQuery, uow: CatalogueUnitOfWork) -> list[ListingText]:
    """browse_catalogue for an answer that passes the records on as JSON text: only a record whose rating ran out
    is parsed (to say so) and written again; the others go out as PostgreSQL keeps them."""
    now = datetime.now(UTC)
    return [x if not x.rating_ran_out else
            ListingText(x.position, json.dumps(status_now(json.loads(x.record), now), ensure_ascii=False), False)
            for x in await uow.catalogue.page_text(query)]


async def count_catalogue(query: CatalogueQuery, uow: CatalogueUnitOfWork) -> int:
    """How many listed projects match the query's filters (its cursor and limit aside): the website's count."""
    return await uow.catalogue.count(query)


async def list_changes(after: int, limit: int, uow: CatalogueUnitOfWork) -> list[Change]:
    return await uow.catalogue.changes(after, limit)


# --- learned from other services' events ---------------------------------------------------------


async def record_verdict(cmd: RecordVerdict, uow: CatalogueUnitOfWork) -> None:
    project = await uow.projects.get(cmd.project_id, for_update=True)
    if project is None:
        # Every assessed project was submitted here first; one we do not know is not ours to list.
        log.warning("verdict for unknown project %s ignored", cmd.project_id)
        return
    was_listed = project.is_listed
    applied = project.record_verdict(assessment_id=cmd.assessment_id, revision=cmd.revision, verdict=cmd.verdict,
                                     rationale=cmd.rationale, decided_at=cmd.decided_at,
                                     evidence_level=cmd.evidence_level, valid_until=cmd.valid_until)
    await uow.projects.save(project)
    if applied:
        await _publish_public_state(project, was_listed, uow)


async def record_reassessment_due(cmd: RecordReassessmentDue, uow: CatalogueUnitOfWork) -> None:
    """A re-assessment round opened: the rating shows `reassessment_due`, and the submitter may revise."""
    project = await uow.projects.get(cmd.project_id, for_update=True)
    if project is None or not project.record_reassessment_due(cmd.assessment_id, cmd.valid_until):
        return  # unknown, unlisted, or about a rating already replaced: nothing public changes
    await uow.projects.save(project)
    await _publish_public_state(project, True, uow)


async def publish_expiries(uow: CatalogueUnitOfWork, limit: int = 50) -> list[uuid.UUID]:
    """The expiry job's pass: each listed project whose rating ran out is republished once, `expired`."""
    now = datetime.now(UTC)
    done = []
    for project_id in await uow.projects.expiring(now, limit):
        project = await _get(project_id, uow)
        expired = project.publish_expiry(now)
        await uow.projects.save(project)  # also clears its due time when there was nothing to publish
        if expired and project.is_listed:
            await _publish_public_state(project, True, uow)
            done.append(project_id)
    return done


async def record_lab_formed(cmd: RecordLabFormed, uow: CatalogueUnitOfWork) -> None:
    await uow.labs.add(cmd.lab_id)


async def record_implementation_started(cmd: RecordImplementationStarted, uow: CatalogueUnitOfWork) -> None:
    project = await uow.projects.get(cmd.project_id, for_update=True)
    if project is None:
        log.warning("implementation %s of unknown project %s ignored", cmd.implementation_id, cmd.project_id)
        return
    await _republish_if_changed(project, project.start_implementation(cmd.implementation_id, cmd.lab_id,
                                                                      cmd.municipalities), uow)


async def record_handover(cmd: RecordHandover, uow: CatalogueUnitOfWork) -> None:
    project = await uow.projects.get(cmd.project_id, for_update=True)
    if project is None:
        log.warning("handover %s of unknown project %s ignored", cmd.implementation_id, cmd.project_id)
        return
    await _republish_if_changed(project, project.hand_over(cmd.implementation_id, cmd.lab_id, cmd.handed_over_at),
                                uow)


async def _republish_if_changed(project: Project, changed: bool, uow: CatalogueUnitOfWork) -> None:
    if changed:
        await uow.projects.save(project)
        # Adoption and outcomes are public state: a listed project's feed record changes with them.
        if project.is_listed:
            await _publish_public_state(project, True, uow)


async def record_stage_change(cmd: RecordStageChange, uow: CatalogueUnitOfWork) -> None:
    """An implementation's stage or status changed (SPEC 5.3); the newest change per implementation holds."""
    project = await uow.projects.get(cmd.project_id, for_update=True)
    if project is None:
        log.warning("stage change of %s of unknown project %s ignored", cmd.implementation_id, cmd.project_id)
        return
    changed = project.change_stage(cmd.implementation_id, cmd.lab_id, cmd.municipalities, stage=cmd.stage,
                                   status=cmd.status, reason=cmd.reason, changed_at=cmd.changed_at)
    await _republish_if_changed(project, changed, uow)


async def record_measurement(cmd: RecordMeasurement, uow: CatalogueUnitOfWork) -> None:
    """A site measured its impact over a period (SPEC 5.3): the pooled outcomes change."""
    project = await uow.projects.get(cmd.project_id, for_update=True)
    if project is None:
        log.warning("measurement %s of unknown project %s ignored", cmd.measurement_id, cmd.project_id)
        return
    if cmd.implementation_id not in project.implementations:  # measured before its start arrived
        project.start_implementation(cmd.implementation_id, cmd.lab_id, cmd.municipalities)
    changed = project.record_measurement(Measurement(
        cmd.measurement_id, cmd.implementation_id, cmd.households_reached, cmd.households_debt_free,
        cmd.households_stabilised, cmd.cost_eur, cmd.benefit_eur))
    await _republish_if_changed(project, changed, uow)
