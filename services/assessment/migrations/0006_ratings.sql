-- Ratings that last a set time (SPEC 5.2). A re-assessment round assesses the same revision again, so the
-- one-round-per-revision rule now holds for rounds opened by a submission only.
ALTER TABLE assessments ADD COLUMN reassessment text CHECK (reassessment IN ('expiry', 'requested'));
ALTER TABLE assessments DROP CONSTRAINT assessments_project_id_revision_key;
CREATE UNIQUE INDEX assessments_one_per_submission ON assessments (project_id, revision) WHERE reassessment IS NULL;

-- The current rating of each proven project: the scheduler finds what is due by notice_at (a column, so a
-- restart loses nothing) and takes rows with FOR UPDATE SKIP LOCKED, so two replicas never open one twice.
CREATE TABLE ratings (
    project_id      uuid        PRIMARY KEY,
    assessment_id   uuid        NOT NULL,
    evidence_level  text        NOT NULL CHECK (evidence_level IN ('practice_based', 'evaluated', 'effective')),
    valid_until     timestamptz NOT NULL,
    notice_at       timestamptz NOT NULL,
    reassessment_id uuid
);
CREATE INDEX ratings_due ON ratings (notice_at) WHERE reassessment_id IS NULL;
