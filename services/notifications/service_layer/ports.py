"""What notifications' service layer needs from adapters (and fakes)."""

from __future__ import annotations

from typing import Protocol

from notifications.domain.model import ReceivedEvent


class EventLog(Protocol):
    async def add(self, event: ReceivedEvent) -> None: ...
    async def recent(self, limit: int) -> list[ReceivedEvent]: ...


class NotificationsUnitOfWork(Protocol):
    events: EventLog
