-- Pooled outcomes (SPEC 5.3): every impact measurement of every site, by its measurement id, with the project
-- (the stage and status of each implementation live in `implementations`, beside its other facts).
ALTER TABLE projects ADD COLUMN measurements jsonb NOT NULL DEFAULT '[]';
