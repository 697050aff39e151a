-- Implementation stages, pausing and stopping, outcome and cost measures, and what coverage needs of the replica
-- (SPEC 5.3, issue 15).
ALTER TABLE implementations ADD COLUMN stage text NOT NULL DEFAULT 'exploration'
    CHECK (stage IN ('exploration', 'installation', 'initial_implementation', 'full_implementation', 'sustainment'));
-- A handover means sustainment; implementations handed over before stages existed get it too.
UPDATE implementations SET stage = 'sustainment' WHERE status = 'handed_over';
ALTER TABLE implementations DROP CONSTRAINT implementations_status_check;
ALTER TABLE implementations ADD CONSTRAINT implementations_status_check
    CHECK (status IN ('preparing', 'running', 'paused', 'stopped', 'handed_over'));
-- A stopped implementation is closed like a handed-over one: the lab may adopt the project again.
DROP INDEX one_open_implementation_per_lab_and_project;
CREATE UNIQUE INDEX one_open_implementation_per_lab_and_project
    ON implementations (lab_id, project_id) WHERE status NOT IN ('handed_over', 'stopped');

-- Every change of stage or status, with its reason or note: what ImplementationStageChanged published.
CREATE TABLE implementation_changes (
    id                uuid PRIMARY KEY,
    implementation_id uuid        NOT NULL REFERENCES implementations (id),
    stage             text        NOT NULL,
    status            text        NOT NULL,
    reason            text,
    changed_at        timestamptz NOT NULL,
    changed_by        text        NOT NULL
);
CREATE INDEX implementation_changes_by_implementation ON implementation_changes (implementation_id, changed_at);

ALTER TABLE impact_measurements
    ADD COLUMN households_stabilised integer CHECK (households_stabilised BETWEEN 0 AND households_reached),
    ADD COLUMN median_days_to_stabilisation integer CHECK (median_days_to_stabilisation >= 0),
    ADD COLUMN repeat_cases integer CHECK (repeat_cases >= 0),
    ADD COLUMN cost_eur numeric(14,2) CHECK (cost_eur >= 0),
    ADD COLUMN benefit_eur numeric(14,2) CHECK (benefit_eur >= 0);

-- Coverage: the phases and evidence level of each project as the feed last showed them. Entries from before this
-- migration have none until the catalogue publishes the project again (see the README).
ALTER TABLE catalogue_replica ADD COLUMN phases text[] NOT NULL DEFAULT '{}';
ALTER TABLE catalogue_replica ADD COLUMN evidence_level text;
-- Sites where a project runs, counted over all labs.
CREATE INDEX implementations_by_project ON implementations (project_id) WHERE status <> 'stopped';
