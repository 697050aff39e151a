-- The newest state applied per key of a compacted topic: an older record (a replay, a dead letter
-- sent back) must not set a replica back to a state the feed has already moved past.
CREATE TABLE feed_positions (
    topic    text        NOT NULL,
    key      text        NOT NULL,
    as_of    timestamptz NOT NULL,
    event_id uuid        NOT NULL,
    PRIMARY KEY (topic, key)
);
