"""The delivery worker, a background job of the service: wires the queue and the sender to the dispatcher."""

from __future__ import annotations

import contextlib
import logging

from notifications.adapters.queue import PostgresDeliveryQueue, lease_for, listen_for_work
from notifications.adapters.sender import HttpWebhookSender
from notifications.config import WebhookSettings
from notifications.service_layer.delivery import Dispatcher
from servicekit.service import ServiceRuntime

log = logging.getLogger(__name__)


async def deliver_webhooks(runtime: ServiceRuntime) -> None:
    config = WebhookSettings.from_settings(runtime.settings)
    queue = PostgresDeliveryQueue(runtime.pool, lease_seconds=lease_for(config.timeout))
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
