"""Event handlers of the notifications service: every platform event is recorded and fanned out."""

from __future__ import annotations

from notifications.domain.model import ReceivedEvent
from notifications.service_layer import handlers
from schuldenlab_contracts.cloudevents import CloudEvent
from schuldenlab_contracts.registry import EVENTS


async def on_any_event(payload, event: CloudEvent, uow) -> None:
    received = ReceivedEvent(event_id=event.id, ce_type=event.type, subject=event.subject, source=event.source,
                             time=event.time, data=event.data, traceparent=event.traceparent,
                             tracestate=event.tracestate)
    await handlers.record_event(received, uow)


HANDLERS = {spec.ce_type: on_any_event for spec in EVENTS}
