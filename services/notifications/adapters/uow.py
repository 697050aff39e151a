"""Notifications' unit of work on PostgreSQL."""

from __future__ import annotations

import asyncpg
from servicekit.uow import UnitOfWork

from notifications.adapters.repository import PostgresEventLog


class PostgresNotificationsUnitOfWork(UnitOfWork):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn, schema="notifications")
        self.events = PostgresEventLog(conn)
