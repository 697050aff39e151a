-- Keyset pages of GET /v1/assessments (issue 13): rounds in (opened_at, id) order, all of them or of one status.
CREATE INDEX assessments_page ON assessments (opened_at, id);
-- The status index gains the id, so a page of one status is read from it in order; the old one is a prefix of it.
DROP INDEX assessments_by_status;
CREATE INDEX assessments_by_status_page ON assessments (status, opened_at, id);
