-- Idempotency keys (servicekit/idempotency.py): per caller and key, the request it named and, once answered,
-- the answer a retry gets. Neither the caller nor the key is stored: `id` and `fingerprint` are derived from
-- them, and `answer` is sealed with a key derived from them.
CREATE TABLE idempotency_keys (
    id          bytea       PRIMARY KEY,         -- SHA-256 of what (caller, key) derive
    fingerprint bytea       NOT NULL,            -- keyed hash of method, path, query and raw body
    claim       uuid        NOT NULL,            -- the request that holds the key
    status      smallint,                        -- NULL while that request is being answered
    answer      bytea,                           -- status, headers and body, encrypted and authenticated
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
