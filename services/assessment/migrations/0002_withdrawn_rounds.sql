-- A round whose project was withdrawn from the catalogue while it was open ends as 'withdrawn'.
ALTER TABLE assessments DROP CONSTRAINT assessments_status_check;
ALTER TABLE assessments ADD CONSTRAINT assessments_status_check
    CHECK (status IN ('open', 'decided', 'superseded', 'withdrawn'));
