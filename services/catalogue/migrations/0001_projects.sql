CREATE TABLE projects (
    id           uuid PRIMARY KEY,
    revision     integer     NOT NULL,
    status       text        NOT NULL,
    dossier      jsonb       NOT NULL,
    submitted_at timestamptz NOT NULL
);

-- Personal data lives apart, so erasing it (GDPR) is one DELETE and nothing else refers to it.
CREATE TABLE contacts (
    project_id uuid PRIMARY KEY REFERENCES projects (id),
    name       text NOT NULL,
    email      text NOT NULL
);
