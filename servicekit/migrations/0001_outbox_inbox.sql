-- The transactional outbox: event rows written in the same transaction as the state change.
CREATE TABLE outbox (
    seq             bigserial PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    topic           text        NOT NULL,
    key             text        NOT NULL,
    ce_type         text        NOT NULL,
    ce_source       text        NOT NULL,
    ce_time         timestamptz NOT NULL,
    payload         jsonb,                          -- NULL is a tombstone
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_error      text
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;

-- The inbox: every processed event id, recorded in the same transaction as its effect.
CREATE TABLE inbox (
    event_id     uuid        PRIMARY KEY,
    ce_type      text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
