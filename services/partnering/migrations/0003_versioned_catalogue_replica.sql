-- Version the replica by the feed record's time: only a newer record (or tombstone) replaces an entry, so a
-- stale record replayed late cannot resurrect a withdrawn project. Tombstones now leave a 'withdrawn' row.
-- Rows from before this migration count as older than any record.
ALTER TABLE catalogue_replica ADD COLUMN as_of timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE catalogue_replica ALTER COLUMN as_of DROP DEFAULT;
