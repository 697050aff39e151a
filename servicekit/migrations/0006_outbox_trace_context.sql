-- The W3C trace context of the transaction that wrote each outbox row (servicekit/tracing.py): the relay
-- publishes it with the event (ce_traceparent / ce_tracestate), so the consumers continue that trace.
ALTER TABLE outbox ADD COLUMN traceparent text, ADD COLUMN tracestate text;
