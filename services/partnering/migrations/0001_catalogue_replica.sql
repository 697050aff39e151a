-- Partnering's own replica of the catalogue feed: it never asks the catalogue service.
CREATE TABLE catalogue_replica (
    project_id uuid PRIMARY KEY,
    name       text    NOT NULL,
    status     text    NOT NULL,
    revision   integer NOT NULL
);
