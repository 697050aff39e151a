-- Who may change a lab besides the operator: lab-role holders, by their token's subject (issue 10). Labs from
-- before this migration get no members: their creator was not recorded, and having changed a lab proves nothing
-- (any lab token could); the operator adds their members.
CREATE TABLE lab_members (
    lab_id   uuid        NOT NULL REFERENCES labs (id),
    subject  text        NOT NULL CHECK (subject <> ''),
    added_by text        NOT NULL,
    added_at timestamptz NOT NULL,
    PRIMARY KEY (lab_id, subject)
);
