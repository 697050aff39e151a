"""Wires the notifications service."""

from __future__ import annotations

from notifications.adapters.uow import PostgresNotificationsUnitOfWork
from notifications.config import WebhookSettings
from notifications.domain.errors import DeliveryConflict, NotFound
from notifications.entrypoints.http import router
from notifications.entrypoints.messages import HANDLERS
from notifications.entrypoints.worker import deliver_webhooks
from servicekit.service import ServiceDefinition


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="notifications",
        description="Webhook subscriptions and signed, retried, durable deliveries of the platform's events.",
        migrations_package="notifications.migrations",
        uow_factory=PostgresNotificationsUnitOfWork,
        routers=[router],
        handlers=HANDLERS,
        error_statuses={NotFound: 404, DeliveryConflict: 409},
        background=[deliver_webhooks],
        check_settings=WebhookSettings.from_settings,
    )
