"""The one Prometheus registry of a service process, and the runtime library's own metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

OUTBOX_BACKLOG = Gauge(
    "schuldenlab_outbox_backlog", "Outbox rows not yet published", ["schema"], registry=REGISTRY
)
OUTBOX_OLDEST_AGE = Gauge(
    "schuldenlab_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", ["schema"],
    registry=REGISTRY,
)
OUTBOX_PUBLISHED = Counter(
    "schuldenlab_outbox_published", "Outbox rows published", ["schema"], registry=REGISTRY
)
OUTBOX_FAILURES = Counter(
    "schuldenlab_outbox_publish_failures", "Outbox publish attempts that failed", ["schema"], registry=REGISTRY
)
EVENTS_HANDLED = Counter(
    "schuldenlab_events_handled", "Consumed events by outcome (processed, duplicate, dead_lettered, retried)",
    ["service", "ce_type", "outcome"], registry=REGISTRY,
)
HANDLER_SECONDS = Histogram(
    "schuldenlab_event_handler_seconds", "Time to apply one consumed event", ["service", "ce_type"],
    registry=REGISTRY,
)
