"""Event handlers of the assessment service: each translates an event into a command."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from assessment.domain.dossier import Dossier, Partner
from assessment.domain.portfolio import PortfolioProject
from assessment.service_layer import handlers
from schuldenlab_contracts.cloudevents import CloudEvent
from schuldenlab_contracts.events import CatalogueProject, ProjectSubmitted
from schuldenlab_contracts.registry import by_model


def dossier_of(p: ProjectSubmitted) -> Dossier:
    return Dossier(
        project_id=p.project_id, revision=p.revision, name=p.name, summary=p.summary, problem=p.problem,
        target_group=p.target_group, phases=tuple(ph.value for ph in p.phases), themes=tuple(p.themes),
        organisation=p.origin.organisation, municipality=p.origin.municipality, lab_id=p.origin.lab_id,
        partners=tuple(Partner(name=x.name, kind=x.kind.value) for x in p.partners),
        in_production=p.in_production, clients_served=p.clients_served, results=p.results,
        evidence_urls=tuple(p.evidence_urls), continuity_model=p.continuity_model,
        availability=p.availability.value, submitted_at=p.submitted_at,
    )


async def on_project_submitted(payload: ProjectSubmitted, event: CloudEvent, uow) -> None:
    await handlers.open_assessment(handlers.OpenAssessment(dossier=dossier_of(payload)), uow)


async def on_projects_submitted(batch: Sequence[tuple[ProjectSubmitted, CloudEvent]], uow) -> None:
    """A run of submissions of one fetch at once (the runtime's batch handler): the rounds one by one would open."""
    await handlers.open_assessments([handlers.OpenAssessment(dossier=dossier_of(p)) for p, _ in batch], uow)


async def on_catalogue_project(payload: CatalogueProject | None, event: CloudEvent, uow) -> None:
    if payload is None:  # a tombstone: the project left the catalogue (withdrawn, or no longer proven)
        await handlers.withdraw_project(handlers.WithdrawProject(uuid.UUID(event.subject), event.time), uow)
        return
    project = PortfolioProject(project_id=payload.project_id, name=payload.name,
                               phases=tuple(ph.value for ph in payload.phases), summary=payload.summary,
                               problem=payload.problem, target_group=payload.target_group,
                               themes=tuple(payload.themes), proven_at=payload.decided_at)
    await handlers.record_catalogue_project(project, uow)


HANDLERS = {
    by_model(ProjectSubmitted).ce_type: on_project_submitted,
    by_model(CatalogueProject).ce_type: on_catalogue_project,
}
BATCH_HANDLERS = {by_model(ProjectSubmitted).ce_type: on_projects_submitted}
