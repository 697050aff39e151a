"""The delivery worker, a background job of the service: wires the queue and the sender to the dispatcher."""

from __future__ import annotations

import contextlib
import logging

from notifications.adapters.queue import PostgresDeliveryQueue, lease_for, listen_for_work
from notifications.adapters.secrets import SecretKeys, encrypt_plain_secrets
from notifications.adapters.sender import HttpWebhookSender
from notifications.config import WebhookSettings
from notifications.service_layer.delivery import Dispatcher
from servicekit.service import ServiceRuntime

log = logging.getLogger(__name__)


async def deliver_webhooks(runtime: ServiceRuntime, keys: SecretKeys) -> None:
    config = WebhookSettings.from_settings(runtime.settings)
    await _encrypt_plain_secrets(runtime, keys)
    queue = PostgresDeliveryQueue(runtime.pool, lease_seconds=lease_for(config.timeout), keys=keys)
    sender = HttpWebhookSender(timeout=config.timeout, allowed_hosts=config.allowed_hosts,
                               max_connections=config.concurrency)
    dispatcher = Dispatcher(queue, sender, config.policy, concurrency=config.concurrency,
                            per_host=config.per_host, poll_interval=config.poll_interval)
    listener = None
    try:
        try:
            listener = await listen_for_work(runtime.dsn, runtime.schema, dispatcher.wake)
        except Exception:
            log.warning("notifications: LISTEN failed; deliveries are found by polling only", exc_info=True)
        await dispatcher.run()
    finally:
        await sender.close()
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close()


async def _encrypt_plain_secrets(runtime: ServiceRuntime, keys: SecretKeys) -> None:
    """Secrets an earlier version stored in plain text, encrypted before any delivery is sent."""
    try:
        done = await encrypt_plain_secrets(runtime.pool, keys)
    except Exception as exc:
        # Not fatal: plain-text rows are still read (and signed with) as before; the next start tries again.
        log.warning("notifications: could not encrypt the webhook secrets still stored in plain text (%s); "
                    "the next start, or `schuldenlab secrets reencrypt`, does it", type(exc).__name__)
        return
    if done:
        log.info("notifications: encrypted the webhook secrets of %d subscriptions stored in plain text", done)
