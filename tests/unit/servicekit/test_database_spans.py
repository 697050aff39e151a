"""The database's client span (servicekit.tracing.database): only within a recorded trace, never the current span,
and a failed unit of work marked as such without its message."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from servicekit import tracing


@pytest.fixture
def recorded(monkeypatch):
    """A tracer provider of this test's own (the process's global one is left alone)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", lambda: provider.get_tracer(tracing.TRACER))
    return exporter


async def test_a_unit_of_work_in_a_trace_is_a_client_span_under_the_current_one_which_stays_current(recorded):
    with tracing.tracer().start_as_current_span("POST /v1/projects") as request:
        async with tracing.database("transaction"):
            assert trace.get_current_span() is request  # what runs inside belongs to the request, not the span
    database, _ = recorded.get_finished_spans()
    assert database.name == "transaction" and database.kind == SpanKind.CLIENT
    assert database.parent.span_id == request.get_span_context().span_id
    assert dict(database.attributes) == {"db.system.name": "postgresql", "db.operation.name": "transaction"}


async def test_no_span_outside_a_recorded_trace(recorded):
    async with tracing.database("transaction"):
        pass
    unsampled = trace.NonRecordingSpan(trace.SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7,
                                                         is_remote=True))
    with trace.use_span(unsampled):
        async with tracing.database("transaction"):
            pass
    assert recorded.get_finished_spans() == ()


async def test_a_failed_unit_of_work_is_an_error_span_naming_the_exception_not_its_message(recorded):
    with tracing.tracer().start_as_current_span("handler"), pytest.raises(ValueError):
        async with tracing.database("transaction"):
            raise ValueError("contact anna@example.org")
    [database] = [s for s in recorded.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert database.status.status_code == StatusCode.ERROR and database.attributes["error.type"] == "ValueError"
    assert "anna" not in str(database.status.description) and not database.events
