CREATE TABLE effects (
    event_id uuid NOT NULL,
    name     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
