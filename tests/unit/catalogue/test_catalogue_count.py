"""Counting the catalogue (the number of results the website shows): only listed projects, with the query's filters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from catalogue.domain.model import Verdict
from catalogue.service_layer import handlers
from catalogue.service_layer.ports import CatalogueQuery
from tests.unit.catalogue.catalogue_fakes import CONTACT, FakeUnitOfWork, dossier


async def assess(uow: FakeUnitOfWork, project_id: uuid.UUID, verdict: Verdict) -> None:
    await handlers.record_verdict(handlers.RecordVerdict(
        project_id, uuid.uuid4(), 1, verdict, "Voldoet aan de criteria.", datetime.now(UTC)), uow)


async def test_the_count_is_of_listed_projects_matching_the_filters_whatever_the_page():
    uow = FakeUnitOfWork()
    ids = []
    for phases in (("awareness",), ("awareness", "intake"), ("aftercare",)):
        submitted = await handlers.submit_project(handlers.SubmitProject(dossier(phases=phases), CONTACT), uow)
        ids.append(submitted.project.id)
    for project_id in ids[:2]:
        await assess(uow, project_id, Verdict.PROVEN)
    assert await handlers.count_catalogue(CatalogueQuery(), uow) == 2
    assert await handlers.count_catalogue(CatalogueQuery(phase="awareness", limit=1, after=5), uow) == 2
    assert await handlers.count_catalogue(CatalogueQuery(phase="intake"), uow) == 1
    assert await handlers.count_catalogue(CatalogueQuery(phase="aftercare"), uow) == 0  # submitted, not proven
