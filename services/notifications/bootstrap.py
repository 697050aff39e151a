"""Wires the notifications service."""

from __future__ import annotations

from notifications.adapters.retention import PURGES
from notifications.adapters.secrets import SecretKeys
from notifications.adapters.uow import PostgresNotificationsUnitOfWork
from notifications.config import WebhookSettings
from notifications.domain.errors import DeliveryConflict, NotFound
from notifications.entrypoints import worker
from notifications.entrypoints.http import router
from notifications.entrypoints.messages import HANDLERS
from servicekit.config import Settings
from servicekit.service import ServiceDefinition, ServiceRuntime


def definition() -> ServiceDefinition:
    # The key ring of SCHULDENLAB_SECRETS_KEY is read with the other settings when the runtime is built (a bad or
    # wrong key stops the service there, in one line); every unit of work and the worker then use this one.
    keys = SecretKeys()

    def check_settings(settings: Settings) -> None:
        WebhookSettings.from_settings(settings)
        keys.load(settings)

    async def deliver_webhooks(runtime: ServiceRuntime) -> None:
        await worker.deliver_webhooks(runtime, keys)

    return ServiceDefinition(
        name="notifications",
        description="Webhook subscriptions and signed, retried, durable deliveries of the platform's events.",
        migrations_package="notifications.migrations",
        uow_factory=lambda conn: PostgresNotificationsUnitOfWork(conn, keys),
        routers=[router],
        handlers=HANDLERS,
        error_statuses={NotFound: 404, DeliveryConflict: 409},
        background=[deliver_webhooks],
        check_settings=check_settings,
        purges=PURGES,
    )
