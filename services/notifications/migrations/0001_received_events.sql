-- Every platform event notifications received: what deliveries are made from.
CREATE TABLE received_events (
    event_id    uuid PRIMARY KEY,
    ce_type     text        NOT NULL,
    subject     text        NOT NULL,
    source      text        NOT NULL,
    time        timestamptz NOT NULL,
    data        jsonb,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
