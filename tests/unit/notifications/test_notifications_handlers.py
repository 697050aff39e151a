"""Notifications' use cases with fake repositories: subscribing, fan-out, ownership, rotation."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from notifications.domain.errors import DeliveryConflict, InvalidInput, NotFound
from notifications.domain.model import (
    Delivery,
    DeliveryStatus,
    EventFilter,
    ReceivedEvent,
    Subscription,
    SubscriptionStatus,
)
from notifications.domain.targets import AllowedHost
from notifications.service_layer import handlers
from notifications.service_layer.handlers import Subscribe, Viewer

SUBMITTED = "nl.schuldenlab.project.submitted.v1"
NOW = datetime.now(UTC)


class FakeEvents:
    def __init__(self):
        self.added: list[ReceivedEvent] = []

    async def add(self, event):
        self.added.append(event)

    async def recent(self, limit, before=None):
        return self.added[-limit:]


class FakeSubscriptions:
    def __init__(self):
        self.rows: dict[uuid.UUID, Subscription] = {}

    async def add(self, s):
        self.rows[s.id] = s

    async def get(self, subscription_id):
        return self.rows.get(subscription_id)

    async def list(self, owner, after=None, limit=50):
        return [s for s in self.rows.values() if owner is None or s.owner == owner][:limit]

    async def remove(self, subscription_id):
        self.rows.pop(subscription_id, None)

    async def active_for(self, ce_type):
        return [s for s in self.rows.values() if s.status is SubscriptionStatus.ACTIVE and ce_type in s.event_types]

    async def rotate_secret(self, subscription_id, new_secret, previous_expires_at):
        s = self.rows.get(subscription_id)
        if s is None:
            return None
        self.rows[s.id] = dataclasses.replace(s, secret=new_secret, previous_secret=s.secret,
                                              previous_secret_expires_at=previous_expires_at)
        return self.rows[s.id]


class FakeDeliveries:
    def __init__(self, subscriptions: FakeSubscriptions):
        self.subscriptions = subscriptions
        self.rows: dict[tuple[uuid.UUID, str], Delivery] = {}
        self.woken = 0

    def _active(self, subscription_id):
        s = self.subscriptions.rows.get(subscription_id)
        return s is not None and s.status is SubscriptionStatus.ACTIVE

    async def add_pending(self, subscription_id, event_id):
        if (subscription_id, event_id) in self.rows or not self._active(subscription_id):
            return False
        self.rows[(subscription_id, event_id)] = Delivery(
            id=uuid.uuid4(), subscription_id=subscription_id, event_id=event_id, ce_type=SUBMITTED,
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=NOW, created_at=NOW)
        return True

    async def get(self, delivery_id):
        return next((d for d in self.rows.values() if d.id == delivery_id), None)

    async def list_for(self, subscription_id, limit, before=None):
        return [d for (s, _), d in self.rows.items() if s == subscription_id][:limit]

    async def requeue(self, delivery_id):
        delivery = await self.get(delivery_id)
        if not self._active(delivery.subscription_id):
            return False
        delivery.status = DeliveryStatus.PENDING
        return True

    async def wake_workers(self):
        self.woken += 1


class FakeUnitOfWork:
    def __init__(self):
        self.events = FakeEvents()
        self.subscriptions = FakeSubscriptions()
        self.deliveries = FakeDeliveries(self.subscriptions)


class FakeResolver:
    def __init__(self, table: dict[str, list[str]] | None = None):
        self.table = table or {}

    async def resolve(self, host, port):
        return self.table.get(host, [])


PUBLIC = FakeResolver({"hooks.example.org": ["93.184.216.34"], "sneaky.example.org": ["10.0.0.8"]})


def cmd(url="https://hooks.example.org/in", types=(SUBMITTED,), owner="crm", filter=None):
    return Subscribe(owner=owner, url=url, event_types=types, filter=filter or EventFilter(), description=None)


def event(event_id="11111111-1111-1111-1111-111111111111", municipality="Almere"):
    return ReceivedEvent(event_id=event_id, ce_type=SUBMITTED, subject="p1", source="/schuldenlab/catalogue",
                         time=NOW, data={"project_id": "p1", "origin": {"municipality": municipality}})


async def test_subscribing_gives_a_fresh_whsec_secret_and_stores_the_subscription():
    uow = FakeUnitOfWork()
    s = await handlers.subscribe(cmd(), uow, PUBLIC, frozenset())
    assert s.secret.startswith("whsec_") and uow.subscriptions.rows[s.id].owner == "crm"
    assert s.target_host == "hooks.example.org:443"


async def test_unknown_event_types_are_refused_and_nothing_is_stored():
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidInput) as refused:
        await handlers.subscribe(cmd(types=(SUBMITTED, "nl.nope.v1")), uow, PUBLIC, frozenset())
    assert refused.value.field == "event_types" and SUBMITTED in refused.value.reason
    assert not uow.subscriptions.rows


async def test_a_name_resolving_to_a_private_address_is_refused_without_telling_the_address():
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidInput) as refused:
        await handlers.subscribe(cmd(url="https://sneaky.example.org/"), uow, PUBLIC, frozenset())
    # What an internal name resolves to is not the integrator's to learn.
    assert refused.value.field == "url" and "non-public" in refused.value.reason
    assert "10.0.0.8" not in refused.value.reason and not uow.subscriptions.rows
    allowed = await handlers.subscribe(cmd(url="https://sneaky.example.org/"), uow, PUBLIC,
                                       frozenset({AllowedHost("sneaky.example.org")}))
    assert allowed.id in uow.subscriptions.rows


async def test_a_host_port_entry_exempts_only_that_port_of_the_host():
    uow = FakeUnitOfWork()
    only_8443 = frozenset({AllowedHost("sneaky.example.org", 8443)})
    allowed = await handlers.subscribe(cmd(url="https://sneaky.example.org:8443/in"), uow, PUBLIC, only_8443)
    for other_port in ("https://sneaky.example.org/in", "https://sneaky.example.org:22/"):
        with pytest.raises(InvalidInput) as refused:
            await handlers.subscribe(cmd(url=other_port), uow, PUBLIC, only_8443)
        assert refused.value.field == "url"
    assert list(uow.subscriptions.rows) == [allowed.id]


@pytest.mark.parametrize("url", ["https://hooks.example.org/in\r\nX-Injected: 1", "https://hooks.example.org/a b",
                                 "https://hooks.example.org/\tin", "https://hooks.example.org/\x00",
                                 "https://hooks.example.org/\x7f", "https://hooks.example.org/\x85",
                                 " https://hooks.example.org/in", "https://hooks.example.org/in\n"])
async def test_a_url_with_whitespace_or_control_characters_is_refused_and_nothing_stored(url):
    uow = FakeUnitOfWork()
    with pytest.raises(InvalidInput) as refused:
        await handlers.subscribe(cmd(url=url), uow, PUBLIC, frozenset())
    assert refused.value.field == "url" and "whitespace or control characters" in refused.value.reason
    assert not uow.subscriptions.rows


async def test_an_event_fans_out_to_each_matching_active_subscription_once():
    uow = FakeUnitOfWork()
    everyone = await handlers.subscribe(cmd(), uow, PUBLIC, frozenset())
    almere = await handlers.subscribe(cmd(filter=EventFilter(municipality="Almere")), uow, PUBLIC, frozenset())
    emmen = await handlers.subscribe(cmd(filter=EventFilter(municipality="Emmen")), uow, PUBLIC, frozenset())
    other_type = await handlers.subscribe(cmd(types=("nl.schuldenlab.lab.formed.v1",)), uow, PUBLIC, frozenset())
    disabled = await handlers.subscribe(cmd(), uow, PUBLIC, frozenset())
    disabled.status = SubscriptionStatus.DISABLED

    assert await handlers.record_event(event(), uow) == 2
    assert {s for s, _ in uow.deliveries.rows} == {everyone.id, almere.id}
    assert emmen.id and other_type.id
    assert uow.deliveries.woken == 1
    # The same event once more (e.g. fanned out again) creates nothing new.
    assert await handlers.record_event(event(), uow) == 0 and len(uow.deliveries.rows) == 2


async def test_an_integrator_cannot_see_or_touch_another_integrators_subscription():
    uow = FakeUnitOfWork()
    theirs = await handlers.subscribe(cmd(owner="crm-b"), uow, PUBLIC, frozenset())
    me = Viewer("crm-a", is_operator=False)
    with pytest.raises(NotFound):
        await handlers.get_subscription(theirs.id, me, uow)
    with pytest.raises(NotFound):
        await handlers.unsubscribe(theirs.id, me, uow)
    with pytest.raises(NotFound):
        await handlers.rotate_secret(theirs.id, me, uow, timedelta(hours=1))
    assert await handlers.list_subscriptions(me, uow) == []
    assert await handlers.list_subscriptions(Viewer("ops", is_operator=True), uow) == [theirs]


async def test_rotation_keeps_the_old_secret_signing_for_the_grace_period():
    uow = FakeUnitOfWork()
    s = await handlers.subscribe(cmd(), uow, PUBLIC, frozenset())
    rotated = await handlers.rotate_secret(s.id, Viewer("crm", False), uow, timedelta(hours=1))
    assert rotated.secret != s.secret and rotated.previous_secret == s.secret
    assert rotated.signing_secrets(datetime.now(UTC)) == [rotated.secret, s.secret]
    assert rotated.signing_secrets(datetime.now(UTC) + timedelta(hours=2)) == [rotated.secret]


async def test_redelivery_needs_an_active_subscription():
    uow = FakeUnitOfWork()
    s = await handlers.subscribe(cmd(), uow, PUBLIC, frozenset())
    await handlers.record_event(event(), uow)
    [delivery] = uow.deliveries.rows.values()
    delivery.status = DeliveryStatus.SUCCEEDED
    again = await handlers.redeliver(delivery.id, Viewer("crm", False), uow)
    assert again.status is DeliveryStatus.PENDING
    s.status, s.disabled_reason = SubscriptionStatus.DISABLED, "410"
    with pytest.raises(DeliveryConflict) as conflict:
        await handlers.redeliver(delivery.id, Viewer("crm", False), uow)
    assert "disabled" in conflict.value.conditions[0]
    with pytest.raises(NotFound):
        await handlers.redeliver(delivery.id, Viewer("crm-b", False), uow)


async def test_a_second_rotation_keeps_the_secret_of_the_first_signing_and_drops_the_original():
    uow = FakeUnitOfWork()
    s = await handlers.subscribe(cmd(), uow, PUBLIC, frozenset())
    original = s.secret
    first = await handlers.rotate_secret(s.id, Viewer("crm", False), uow, timedelta(hours=1))
    second = await handlers.rotate_secret(s.id, Viewer("crm", False), uow, timedelta(hours=1))
    assert second.signing_secrets(datetime.now(UTC)) == [second.secret, first.secret]
    assert original not in second.signing_secrets(datetime.now(UTC))


async def test_the_events_received_are_listed_through_the_handler():
    uow = FakeUnitOfWork()
    await handlers.record_event(event(), uow)
    assert [e.event_id for e in await handlers.list_events(10, uow)] == [event().event_id]
