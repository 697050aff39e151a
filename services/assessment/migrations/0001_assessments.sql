-- Assessment rounds: one per submitted revision of a project, with a copy of that revision's dossier.
CREATE TABLE assessments (
    id           uuid        PRIMARY KEY,
    project_id   uuid        NOT NULL,
    revision     integer     NOT NULL CHECK (revision >= 1),
    previous_ids uuid[]      NOT NULL DEFAULT '{}',
    status       text        NOT NULL CHECK (status IN ('open', 'decided', 'superseded')),
    dossier      jsonb       NOT NULL,
    prescreen    jsonb       NOT NULL,
    fit          jsonb       NOT NULL,
    opened_at    timestamptz NOT NULL,
    verdict      text        CHECK (verdict IN ('proven', 'rejected', 'needs_information')),
    decision     jsonb,
    decided_at   timestamptz,
    -- a re-published ProjectSubmitted (new ce_id, same revision) must not open a second round
    UNIQUE (project_id, revision),
    CHECK ((status = 'decided') = (decision IS NOT NULL))
);
CREATE INDEX assessments_by_status ON assessments (status, opened_at);

-- One review per reviewer per round; revising it overwrites the row and bumps its version.
CREATE TABLE reviews (
    assessment_id uuid        NOT NULL REFERENCES assessments (id),
    reviewer      text        NOT NULL,
    seat          text,
    findings      jsonb       NOT NULL,
    notes         text        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    revised_at    timestamptz,
    version       integer     NOT NULL,
    PRIMARY KEY (assessment_id, reviewer)
);

-- The portfolio: proven projects, from our own decisions and the catalogue feed.
CREATE TABLE portfolio (
    project_id   uuid        PRIMARY KEY,
    name         text        NOT NULL,
    phases       text[]      NOT NULL,
    summary      text        NOT NULL,
    problem      text        NOT NULL,
    target_group text        NOT NULL,
    themes       text[]      NOT NULL,
    proven_at    timestamptz
);
