-- Who formed a lab, who started an implementation and who set it running (token subjects), for the record.
-- Rows from before this migration did not keep them: NULL there ("not recorded").
ALTER TABLE labs ADD COLUMN formed_by text;
ALTER TABLE implementations ADD COLUMN started_by text;
ALTER TABLE implementations ADD COLUMN running_by text;
