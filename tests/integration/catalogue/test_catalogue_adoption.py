"""Adoption and pooled outcomes (SPEC 5.3) from partnering's events, on the catalogue, the feed and the website."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from catalogue.entrypoints import messages
from schuldenlab_contracts.cloudevents import new_event
from schuldenlab_contracts.events import ImpactRecorded, ImplementationStageChanged, ImplementationStarted
from tests.integration.catalogue.catalogue_support import decide, fold, kafka_pairs, send, submit
from tests.integration.catalogue.website_support import Page, website
from tests.support.harness import eventually, running_service, service_settings
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

T0 = datetime(2026, 6, 1, tzinfo=UTC)
STOP_REASON = "De woningcorporatie levert geen gegevens meer."


def started(project: str, lab: uuid.UUID, impl: uuid.UUID, municipality: str) -> ImplementationStarted:
    return ImplementationStarted(lab_id=lab, implementation_id=impl, project_id=uuid.UUID(project),
                                 municipalities=[municipality], started_at=T0)


def stage(project: str, lab: uuid.UUID, impl: uuid.UUID, municipality: str, stage: str, status: str, days: int,
          reason: str | None = None) -> ImplementationStageChanged:
    return ImplementationStageChanged(lab_id=lab, implementation_id=impl, project_id=uuid.UUID(project),
                                      municipalities=[municipality], stage=stage, status=status, reason=reason,
                                      changed_at=T0 + timedelta(days=days))


def impact(project: str, lab: uuid.UUID, impl: uuid.UUID, municipality: str, reached: int, debt_free: int,
           cost: str | None = None, benefit: str | None = None, stabilised: int | None = None) -> ImpactRecorded:
    return ImpactRecorded(lab_id=lab, implementation_id=impl, project_id=uuid.UUID(project),
                          municipalities=[municipality], measurement_id=uuid.uuid4(), period_start=T0.date(),
                          period_end=(T0 + timedelta(days=90)).date(), households_reached=reached,
                          households_debt_free=debt_free, households_stabilised=stabilised,
                          cost_eur=None if cost is None else Decimal(cost),
                          benefit_eur=None if benefit is None else Decimal(benefit), recorded_at=T0)


def three_labs(project: str) -> list:
    """Three labs adopt the project: one gets to initial implementation, one just started, one stopped.

    Site a: cost 4500 / 30 debt-free = 150, benefit 9000 / 3000 = 3; site b: 2000 / 8 = 250, no benefit;
    site c: nobody debt-free (no cost figure), benefit 350 / 700 = 0.5. Medians: 200.00 and 1.75.
    """
    (lab_a, a), (lab_b, b), (lab_c, c) = [(uuid.uuid4(), uuid.uuid4()) for _ in range(3)]
    duplicate = impact(project, lab_b, b, "Emmen", 40, 8, cost="2000.00")
    return [
        started(project, lab_a, a, "Zwolle"), started(project, lab_b, b, "Emmen"), started(project, lab_c, c, "Hoorn"),
        # Newest first: the older change arriving later must not win.
        stage(project, lab_a, a, "Zwolle", "initial_implementation", "running", 2),
        stage(project, lab_a, a, "Zwolle", "installation", "preparing", 1),
        stage(project, lab_c, c, "Hoorn", "installation", "preparing", 1),
        stage(project, lab_c, c, "Hoorn", "installation", "stopped", 3, reason=STOP_REASON),
        impact(project, lab_a, a, "Zwolle", 100, 20, cost="3000.00", benefit="9000.00", stabilised=50),
        impact(project, lab_a, a, "Zwolle", 50, 10, cost="1500.00"),
        duplicate, duplicate,  # the same measurement twice (a new event id each time)
        impact(project, lab_c, c, "Hoorn", 10, 0, cost="700.00", benefit="350.00"),
    ]


def check_pooled(record: dict) -> None:
    adoption, outcomes = record["adoption"], record["outcomes"]
    assert adoption["stages"] == {"exploration": 1, "installation": 0, "initial_implementation": 1,
                                  "full_implementation": 0, "sustainment": 0}
    assert (adoption["implementations"], adoption["paused"], adoption["handed_over"]) == (2, 0, 0)
    assert adoption["municipalities"] == ["Zwolle", "Emmen"]
    [stopped] = adoption["stopped"]
    assert (stopped["municipalities"], stopped["stage"], stopped["reason"]) == (["Hoorn"], "installation", STOP_REASON)
    assert outcomes == {"sites_reporting": 3, "households_reached": 200, "households_stabilised": 50,
                        "households_debt_free": 38, "cost_per_debt_free_household_eur": "200.00",
                        "benefit_per_euro": "1.7500"}


async def test_stage_changes_and_impact_from_three_labs_are_pooled_on_the_catalogue_and_its_feed(
        fresh_database, fresh_kafka, tmp_path):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("catalogue", settings) as catalogue:
        project_id = await submit(catalogue)
        await decide(catalogue, project_id, "proven")
        for payload in three_labs(project_id):
            await send(fresh_kafka, payload)

        async def pooled():
            [item] = (await catalogue.client.get("/v1/catalogue")).json()["items"]
            done = (item.get("outcomes") or {}).get("sites_reporting") == 3 and item["adoption"]["stopped"]
            return item if done and item["adoption"]["stages"]["initial_implementation"] else None

        item = await eventually(pooled)
        check_pooled(item)
        assert len(item["labs_implementing"]) == 2  # the lab that stopped implements nothing
        project = (await catalogue.client.get(f"/v1/projects/{project_id}")).json()
        check_pooled(project)
        changes = (await catalogue.client.get("/v1/catalogue/changes", params={"limit": 100})).json()["items"]

    records = await read_topic(fresh_kafka, "catalogue.projects.v1", expect=len(changes))
    on_feed = fold(kafka_pairs(records))[project_id]
    check_pooled(on_feed)
    assert on_feed == item


async def test_the_project_page_shows_stages_the_stopped_reason_and_the_pooled_outcomes(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        project_id = await submit(catalogue, 1)
        await decide(catalogue, project_id, "proven")
        for payload in three_labs(project_id):
            handler = messages.HANDLERS[new_event(payload).type]
            async with catalogue.runtime.transaction() as uow:
                await handler(payload, new_event(payload), uow)
        response = await browser.get(f"/projecten/{project_id}")
        assert response.status_code == 200
        text = Page(response.text).text
        assert "Zwolle: eerste invoering" in text
        assert f"Hoorn: gestopt in de fase voorbereiding; reden: {STOP_REASON}" in text
        assert "Gestopt" in text
        for shown in ("Schuldenlabs die meten", "Huishoudens bereikt", "Huishoudens schuldenvrij",
                      "Kosten per schuldenvrij huishouden (mediaan, euro)", "200,00",
                      "Maatschappelijke opbrengst per euro (mediaan)", "1,75"):
            assert shown in text, shown
        assert "Er zijn nog geen uitkomsten gemeten" not in text
