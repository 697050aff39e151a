"""The one Prometheus registry of a service process, and the runtime library's own metrics.

Naming (checked by tests/integration/runtime/test_metrics_naming.py): every metric of the platform starts
`schuldenlab_`, is in base units (`_seconds`, `_bytes`), and a counter is exposed with `_total`
(prometheus_client appends it: declare counters without it). Only the libraries' own standard families
keep their names: `process_`/`python_` (the collectors below) and FastStream's `faststream_`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
# CPU, memory, open files and the Python version of the process, as every Prometheus client exports them.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

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

# HTTP, by route template (`/v1/projects/{project_id}`), never the raw path: one series per route, not per id.
HTTP_REQUESTS = Counter(
    "schuldenlab_http_requests", "HTTP requests answered, by method, route template and status",
    ["service", "method", "route", "status"], registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "schuldenlab_http_request_duration_seconds", "Time to answer an HTTP request, by method and route template",
    ["service", "method", "route"], registry=REGISTRY,
)
# Records behind the end of each partition the service's consumer group reads (end offset minus position),
# sampled by the consumer as it fetches. Dead letters are counted by EVENTS_HANDLED{outcome="dead_lettered"}.
CONSUMER_LAG = Gauge(
    "schuldenlab_consumer_lag", "Records not yet consumed, per topic and partition",
    ["service", "topic", "partition"], registry=REGISTRY,
)
# 1 while the check (database, broker) answers, 0 while it fails; taken on each scrape of /metrics.
READY = Gauge("schuldenlab_ready", "Readiness of the service by check (1 ready, 0 failing)", ["service", "check"],
              registry=REGISTRY)
