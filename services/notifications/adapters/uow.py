"""Notifications' unit of work on PostgreSQL."""

from __future__ import annotations

import asyncpg

from notifications.adapters.repository import (
    PostgresDeliveries,
    PostgresEventLog,
    PostgresSubscriptions,
)
from notifications.adapters.secrets import SecretKeys
from servicekit.uow import UnitOfWork


class PostgresNotificationsUnitOfWork(UnitOfWork):
    def __init__(self, conn: asyncpg.Connection, keys: SecretKeys) -> None:
        super().__init__(conn, schema="notifications")
        self.events = PostgresEventLog(conn)
        self.subscriptions = PostgresSubscriptions(conn, keys)
        self.deliveries = PostgresDeliveries(conn)
