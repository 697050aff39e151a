CREATE TABLE assessments (
    id           uuid PRIMARY KEY,
    project_id   uuid        NOT NULL,
    revision     integer     NOT NULL,
    project_name text        NOT NULL,
    phases       text[]      NOT NULL,
    status       text        NOT NULL,
    opened_at    timestamptz NOT NULL,
    UNIQUE (project_id, revision)
);
