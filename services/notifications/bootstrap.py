"""Wires the notifications service."""

from __future__ import annotations

from servicekit.service import ServiceDefinition

from notifications.adapters.uow import PostgresNotificationsUnitOfWork
from notifications.entrypoints.http import router
from notifications.entrypoints.messages import HANDLERS


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="notifications",
        description="Webhook subscriptions and signed, retried, durable deliveries of the platform's events.",
        migrations_package="notifications.migrations",
        uow_factory=PostgresNotificationsUnitOfWork,
        routers=[router],
        handlers=HANDLERS,
    )
