-- Webhook subscriptions, one delivery per (subscription, event), and the log of every attempt.
CREATE TABLE subscriptions (
    id                         uuid PRIMARY KEY,
    owner                      text        NOT NULL,
    url                        text        NOT NULL,
    target_host                text        NOT NULL,  -- host:port, for per-host concurrency limits
    event_types                text[]      NOT NULL,
    filter                     jsonb       NOT NULL DEFAULT '{}',
    description                text,
    secret                     text        NOT NULL,  -- raw signing key (needed to sign); never returned after creation
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    status                     text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    disabled_reason            text,
    disabled_at                timestamptz,
    failing_since              timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX subscriptions_by_owner ON subscriptions (owner, created_at);
CREATE INDEX subscriptions_active_types ON subscriptions USING gin (event_types) WHERE status = 'active';

CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    subscription_id  uuid        NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_id         uuid        NOT NULL REFERENCES received_events (event_id),
    status           text        NOT NULL DEFAULT 'pending'
                                 CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
    attempts         integer     NOT NULL DEFAULT 0,  -- over the delivery's whole life
    round_attempts   integer     NOT NULL DEFAULT 0,  -- since it was queued or last redelivered
    next_attempt_at  timestamptz,
    locked_until     timestamptz,                     -- a worker's lease; expired leases are claimed again
    claim_token      uuid,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    completed_at     timestamptz,
    -- A duplicate event, or the same event fanned out twice, cannot make a second delivery.
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, created_at DESC);

CREATE TABLE delivery_attempts (
    delivery_id uuid             NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number      integer          NOT NULL,
    started_at  timestamptz      NOT NULL,
    duration_ms double precision NOT NULL,
    status_code integer,
    error       text,
    outcome     text             NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
