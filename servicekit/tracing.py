"""Distributed tracing (OpenTelemetry, W3C Trace Context): one trace from an HTTP request through the outbox and
Kafka to the handlers that consume its events, and on to the webhooks they cause.

The links of the chain, each written once here:
- an HTTP request starts a server span, or continues the caller's `traceparent`: FastAPI's own OpenTelemetry
  support does it (since 0.16x, on by default, with the global tracer provider), named by the route template;
- the outbox row keeps the trace context of the transaction that wrote it (`current`, in servicekit.outbox),
  and the relay publishes it as the CloudEvents tracing extension (`ce_traceparent` / `ce_tracestate`);
- the consumer continues that trace for the handler's span (`consuming`), so what the handler writes to the
  outbox in turn belongs to the same trace;
- notifications sends the context with each webhook (`traceparent` header, and in the CloudEvent body);
- a unit of work on the database is a client span (`database`, in servicekit.db.transaction) within a trace.

Export only when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then
an SDK tracer provider batches spans there over OTLP/HTTP, named by `OTEL_SERVICE_NAME` or `schuldenlab-<service>`
(the other `OTEL_*` variables apply as the SDK reads them). With nothing configured OpenTelemetry's no-op provider
stays: no span is recorded and each costs next to nothing, yet a trace context that came in travels on (a
non-recording span carries its parent's ids), so a trace begun by a caller is not cut here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACER = "schuldenlab"
_PROPAGATOR = TraceContextTextMapPropagator()


def configure(service: str, env: Mapping[str, str]) -> bool:
    """Export spans over OTLP when the standard variables ask for it; whether it does."""
    if not (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    if (env.get("OTEL_SDK_DISABLED") or "").lower() == "true" or env.get("OTEL_TRACES_EXPORTER") == "none":
        return False
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return False  # one is set already (a test's in-memory exporter, say): leave it
    # Imported only here: a process that exports nothing never loads the SDK.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = env.get("OTEL_SERVICE_NAME") or f"schuldenlab-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))  # flushed at exit by the SDK
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER)


def current() -> tuple[str | None, str | None]:
    """The current trace context as (traceparent, tracestate); (None, None) outside any trace."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate")


def context_of(traceparent: str | None, tracestate: str | None) -> Context:
    """A context whose parent is the given trace context (an empty one when there is none)."""
    carrier = {name: value for name, value in (("traceparent", traceparent), ("tracestate", tracestate)) if value}
    return _PROPAGATOR.extract(carrier)


@contextlib.contextmanager
def consuming(name: str, traceparent: str | None, tracestate: str | None, **attributes: str) -> Iterator[Span]:
    """The span of handling one consumed event, continuing the trace of the transaction that produced it."""
    with tracer().start_as_current_span(name, context=context_of(traceparent, tracestate), kind=SpanKind.CONSUMER,
                                        attributes=attributes) as span:
        yield span


@contextlib.contextmanager
def consuming_many(name: str, contexts: Sequence[tuple[str | None, str | None]], **attributes: object,
                   ) -> Iterator[Span]:
    """The span of handling several consumed events at once (a batch handler): a new trace, linked to the trace of
    each event that has one, as the messaging conventions ask of batch processing."""
    links = []
    for traceparent, tracestate in contexts:
        parent = trace.get_current_span(context_of(traceparent, tracestate)).get_span_context()
        if parent.is_valid:
            links.append(Link(parent))
    with tracer().start_as_current_span(name, context=Context(), kind=SpanKind.CONSUMER, links=links,
                                        attributes=attributes) as span:
        yield span


def publishing(name: str, traceparent: str | None, tracestate: str | None, **attributes: str) -> Span | None:
    """A PRODUCER span for handing one event to Kafka, child of the trace its outbox row kept; None when that
    row has no trace or nothing is recorded. Not the current span: the caller ends it (`ended`) once Kafka
    answered, which may be after other rows were handed over."""
    # Per row on the relay's path: with no provider set (nothing configured) there is nothing to record.
    if not traceparent or isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return None
    span = tracer().start_span(name, context=context_of(traceparent, tracestate), kind=SpanKind.PRODUCER,
                               attributes=attributes)
    return span if span.is_recording() else None


def ended(span: Span | None, failure: BaseException | None = None) -> None:
    """End a span `publishing` gave, as failed when `failure` (named by its type alone: its message may quote data)."""
    if span is None:
        return
    if failure is not None:
        span.set_attribute("error.type", type(failure).__qualname__)
        span.set_status(Status(StatusCode.ERROR, type(failure).__name__))
    span.end()


@contextlib.contextmanager
def sending(name: str, parent: Mapping[str, str] | None = None, **attributes: str) -> Iterator[dict[str, str]]:
    """A client span for an outgoing request (a webhook), child of `parent` (W3C headers) or of the current span,
    and the headers that carry it to the receiver."""
    context = context_of(parent.get("traceparent"), parent.get("tracestate")) if parent is not None else None
    with tracer().start_as_current_span(name, context=context, kind=SpanKind.CLIENT, attributes=attributes):
        traceparent, tracestate = current()
        yield {name: value for name, value in (("traceparent", traceparent), ("tracestate", tracestate)) if value}


@contextlib.asynccontextmanager
async def database(operation: str) -> AsyncIterator[None]:
    """A client span for a unit of work on PostgreSQL (waiting for a connection, the statements, the commit).

    Only within a recorded trace: the relay, the consumer's batches and the workers that poll the database
    would otherwise each start a trace of their own every few milliseconds. Not the current span: what runs
    inside (an outbox row's trace context, a log line's span id) stays with the request or the handler.
    Why not opentelemetry-instrumentation-asyncpg: its releases pin a semantic-conventions version other than
    the SDK's (0.66b1 against 1.45.2's 0.66b2), so the two cannot be installed together.
    """
    if not trace.get_current_span().is_recording():
        yield
        return
    # Named by the operation alone, as the semantic conventions ask when a span has no single target table.
    span = tracer().start_span(operation, kind=SpanKind.CLIENT,
                               attributes={"db.system.name": "postgresql", "db.operation.name": operation})
    try:
        yield
    except BaseException as exc:
        span.set_attribute("error.type", type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))  # no message: it may quote data
        raise
    finally:
        span.end()
