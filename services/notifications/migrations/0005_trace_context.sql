-- The W3C trace context an event arrived with (its ce_traceparent / ce_tracestate headers), so each webhook it
-- causes continues that trace (servicekit/tracing.py): the deliveries are sent later, by the worker, not while
-- the event is consumed. Context only, never content: ids and vendor state, no personal data.
ALTER TABLE received_events ADD COLUMN traceparent text, ADD COLUMN tracestate text;
