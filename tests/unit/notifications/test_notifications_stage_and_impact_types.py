"""Notifications offers SPEC 5.3's new event types to subscribers, and their filters find lab, project and
municipality in them (the payloads carry `municipalities` for that)."""

from __future__ import annotations

import uuid

from notifications.domain.model import EventFilter, ReceivedEvent
from notifications.service_layer import handlers
from schuldenlab_contracts.examples import example_event
from tests.unit.notifications.test_notifications_handlers import NOW, PUBLIC, FakeUnitOfWork, cmd

STAGE = "nl.schuldenlab.project.implementation-stage-changed.v1"
IMPACT = "nl.schuldenlab.project.impact-recorded.v1"


def received(ce_type: str):
    example = example_event(ce_type)
    return ReceivedEvent(event_id=str(uuid.uuid4()), ce_type=ce_type, subject=example.subject,
                         source=example.source, time=NOW, data=example.data)


async def test_integrators_subscribe_to_stage_changes_and_impact_and_filters_match_them():
    uow = FakeUnitOfWork()
    stage = received(STAGE)
    lab_id, project_id = stage.data["lab_id"], stage.data["project_id"]
    wanted = [
        await handlers.subscribe(cmd(types=(STAGE, IMPACT)), uow, PUBLIC, frozenset()),
        await handlers.subscribe(cmd(types=(STAGE, IMPACT), filter=EventFilter(municipality="schiedam")), uow,
                                 PUBLIC, frozenset()),
        await handlers.subscribe(cmd(types=(STAGE, IMPACT), filter=EventFilter(lab_id=lab_id,
                                                                               project_id=project_id)),
                                 uow, PUBLIC, frozenset()),
    ]
    elsewhere = await handlers.subscribe(cmd(types=(STAGE, IMPACT), filter=EventFilter(municipality="Emmen")),
                                         uow, PUBLIC, frozenset())
    assert await handlers.record_event(stage, uow) == 3
    assert await handlers.record_event(received(IMPACT), uow) == 3
    assert {s for s, _ in uow.deliveries.rows} == {s.id for s in wanted} and elsewhere.id
