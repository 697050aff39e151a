-- The outbox keeps each payload as the JSON text the contracts wrote (json, not jsonb): the relay sends that
-- text as the record's value as it is, so PostgreSQL neither parses it into jsonb on the write nor prints it
-- back on every read (halved the relay's SELECT and cut its UPDATE by a third: benchmarks.relay_throughput).
-- Nothing queries inside a payload.
ALTER TABLE outbox ALTER COLUMN payload TYPE json USING payload::json;
