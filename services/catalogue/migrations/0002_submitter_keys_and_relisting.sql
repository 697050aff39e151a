-- The submitter's key: only its sha256 is kept; projects from before have none (operator resubmits them).
ALTER TABLE projects ADD COLUMN submitter_key_digest bytea;

-- A project that leaves the catalogue keeps its listing row (unlisted), so listed again it takes its old
-- place: a client paging the catalogue is never shown the same project twice.
ALTER TABLE catalogue_listings ADD COLUMN listed boolean NOT NULL DEFAULT true;

-- LabFormed is remembered only to accept a lab's own project; its name and municipalities were never read.
ALTER TABLE labs DROP COLUMN name, DROP COLUMN municipalities;
