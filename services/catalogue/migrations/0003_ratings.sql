-- Ratings that last a set time (SPEC 5.2). The project keeps its rating; `rating_expires_at` is when the feed
-- must next say it expired (NULL once it has, or without a rating), so the expiry job finds what is due by an
-- index and a restart loses nothing.
ALTER TABLE projects ADD COLUMN rating jsonb;
ALTER TABLE projects ADD COLUMN rating_expires_at timestamptz;
CREATE INDEX projects_rating_expiry ON projects (rating_expires_at) WHERE rating_expires_at IS NOT NULL;

-- The listing filters on the evidence level, and leaves out what ran out unless asked (include_expired).
ALTER TABLE catalogue_listings ADD COLUMN evidence_level text;
ALTER TABLE catalogue_listings ADD COLUMN valid_until timestamptz;
CREATE INDEX catalogue_listings_evidence ON catalogue_listings (evidence_level, listed_seq) WHERE listed;
