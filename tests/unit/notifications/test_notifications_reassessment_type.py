"""Notifications offers SPEC 5.2's ReassessmentDue to subscribers: a project filter finds it; a municipality or lab
filter does not, as the event names neither (a filter on what an event does not carry never matches)."""

from __future__ import annotations

import uuid

import pytest

from notifications.domain.errors import InvalidInput
from notifications.domain.model import EventFilter, ReceivedEvent
from notifications.service_layer import handlers
from schuldenlab_contracts.examples import example_event
from tests.unit.notifications.test_notifications_handlers import NOW, PUBLIC, FakeUnitOfWork, cmd

DUE = "nl.schuldenlab.project.reassessment-due.v1"


def received() -> ReceivedEvent:
    example = example_event(DUE)
    return ReceivedEvent(event_id=str(uuid.uuid4()), ce_type=DUE, subject=example.subject, source=example.source,
                         time=NOW, data=example.data)


async def test_reassessment_due_reaches_every_subscriber_and_those_filtering_on_its_project():
    uow = FakeUnitOfWork()
    due = received()
    project_id = due.data["project_id"]
    wanted = [await handlers.subscribe(cmd(types=(DUE,)), uow, PUBLIC, frozenset()),
              await handlers.subscribe(cmd(types=(DUE,), filter=EventFilter(project_id=project_id)), uow, PUBLIC,
                                       frozenset())]
    others = [await handlers.subscribe(cmd(types=(DUE,), filter=f), uow, PUBLIC, frozenset())
              for f in (EventFilter(project_id=str(uuid.uuid4())), EventFilter(municipality="Schiedam"),
                        EventFilter(lab_id=str(uuid.uuid4())))]
    other_type = await handlers.subscribe(cmd(types=("nl.schuldenlab.lab.formed.v1",)), uow, PUBLIC, frozenset())
    assert await handlers.record_event(due, uow) == 2
    assert {s for s, _ in uow.deliveries.rows} == {s.id for s in wanted}
    assert others and other_type


async def test_a_misspelt_reassessment_type_is_refused_naming_the_valid_ones():
    with pytest.raises(InvalidInput) as refused:
        await handlers.subscribe(cmd(types=("nl.schuldenlab.project.reassessment-due.v2",)), FakeUnitOfWork(), PUBLIC,
                                 frozenset())
    assert refused.value.field == "event_types" and DUE in str(refused.value)
