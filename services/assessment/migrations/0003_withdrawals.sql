-- The latest withdrawal (tombstone event time) per project: a revision submitted up to then, whose
-- ProjectSubmitted arrives after the tombstone, opens its round as 'withdrawn'.
CREATE TABLE withdrawals (
    project_id   uuid        PRIMARY KEY,
    withdrawn_at timestamptz NOT NULL
);
