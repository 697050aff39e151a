"""Notifications' Prometheus metrics, on the service's one registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from servicekit.metrics import REGISTRY

DELIVERY_ATTEMPTS = Counter(
    "schuldenlab_webhook_attempts", "Webhook delivery attempts by outcome (succeeded, failed, gone)",
    ["outcome"], registry=REGISTRY,
)
DELIVERIES_COMPLETED = Counter(
    "schuldenlab_webhook_deliveries", "Deliveries that reached a final state, by outcome (succeeded, failed)",
    ["outcome"], registry=REGISTRY,
)
ATTEMPT_SECONDS = Histogram(
    "schuldenlab_webhook_attempt_seconds", "Time from sending a webhook to the receiver's answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY,
)
PENDING_BACKLOG = Gauge(
    "schuldenlab_webhook_pending", "Deliveries waiting to be delivered (due or backing off)", registry=REGISTRY,
)
PENDING_OLDEST_AGE = Gauge(
    "schuldenlab_webhook_pending_oldest_age_seconds", "Age of the oldest pending delivery", registry=REGISTRY,
)
DISABLED_SUBSCRIPTIONS = Gauge(
    "schuldenlab_webhook_disabled_subscriptions", "Subscriptions disabled (410 or persistent failure)",
    registry=REGISTRY,
)
