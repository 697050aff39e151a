"""Use cases of the notifications service."""

from __future__ import annotations

from notifications.domain.model import ReceivedEvent
from notifications.service_layer.ports import NotificationsUnitOfWork


async def record_event(event: ReceivedEvent, uow: NotificationsUnitOfWork) -> None:
    await uow.events.add(event)
