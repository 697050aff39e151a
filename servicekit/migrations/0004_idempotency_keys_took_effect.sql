-- When the request holding a key committed its unit of work (servicekit/idempotency.py): written in that same
-- transaction, so a key whose request took effect is never given up, even when its answer was lost (a commit
-- the server made just before the connection dropped is answered 503, like one it did not make).
ALTER TABLE idempotency_keys ADD COLUMN took_effect_at timestamptz;
