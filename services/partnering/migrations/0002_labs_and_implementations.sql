-- Labs with their partners and set-up checklist; implementations with funding, impact and handover.
CREATE TABLE labs (
    id                   uuid PRIMARY KEY,
    name                 text        NOT NULL,
    municipalities       text[]      NOT NULL CHECK (cardinality(municipalities) >= 1),
    region               text,
    status               text        NOT NULL CHECK (status IN ('forming', 'formed')),
    created_at           timestamptz NOT NULL,
    formed_at            timestamptz,
    founding_partner_ids uuid[]      NOT NULL DEFAULT '{}'
);

CREATE TABLE lab_checklist (
    lab_id  uuid        NOT NULL REFERENCES labs (id),
    step    text        NOT NULL,
    done_by text        NOT NULL,
    done_at timestamptz NOT NULL,
    note    text,
    PRIMARY KEY (lab_id, step)
);

CREATE TABLE partners (
    id               uuid PRIMARY KEY,
    lab_id           uuid        NOT NULL REFERENCES labs (id),
    organisation     text        NOT NULL,
    -- case- and space-folded name: the same organisation cannot join one lab twice
    organisation_key text        NOT NULL,
    kind             text        NOT NULL CHECK (kind IN ('public', 'private', 'societal')),
    sector           text        NOT NULL,
    is_municipality  boolean     NOT NULL,
    commitment       text        NOT NULL,
    joined_at        timestamptz NOT NULL,
    UNIQUE (lab_id, organisation_key)
);
CREATE INDEX partners_by_lab ON partners (lab_id, joined_at);

CREATE TABLE implementations (
    id                 uuid PRIMARY KEY,
    lab_id             uuid        NOT NULL REFERENCES labs (id),
    project_id         uuid        NOT NULL,
    project_name       text        NOT NULL,
    municipalities     text[]      NOT NULL,
    status             text        NOT NULL CHECK (status IN ('preparing', 'running', 'handed_over')),
    started_at         timestamptz NOT NULL,
    running_since      timestamptz,
    handed_over_to     text[],
    regular_operations text,
    handed_over_at     timestamptz,
    handed_over_by     text
);
CREATE INDEX implementations_by_lab ON implementations (lab_id, started_at);
-- A lab implements a project once at a time; after a handover it may adopt it again.
CREATE UNIQUE INDEX one_open_implementation_per_lab_and_project
    ON implementations (lab_id, project_id) WHERE status <> 'handed_over';

CREATE TABLE fundings (
    id                     uuid PRIMARY KEY,
    implementation_id      uuid          NOT NULL REFERENCES implementations (id),
    source                 text          NOT NULL,
    source_partner_id      uuid,
    source_is_municipality boolean       NOT NULL,
    kind                   text          NOT NULL CHECK (kind IN ('base', 'additional')),
    amount_eur             numeric(14,2) NOT NULL CHECK (amount_eur > 0),
    recorded_at            timestamptz   NOT NULL,
    recorded_by            text          NOT NULL
);
CREATE INDEX fundings_by_implementation ON fundings (implementation_id, recorded_at);

CREATE TABLE impact_measurements (
    id                   uuid PRIMARY KEY,
    implementation_id    uuid        NOT NULL REFERENCES implementations (id),
    period_start         date        NOT NULL,
    period_end           date        NOT NULL CHECK (period_end >= period_start),
    households_reached   integer     NOT NULL CHECK (households_reached >= 0),
    households_debt_free integer     NOT NULL CHECK (households_debt_free BETWEEN 0 AND households_reached),
    notes                text        NOT NULL,
    recorded_at          timestamptz NOT NULL,
    recorded_by          text        NOT NULL
);
CREATE INDEX impact_by_implementation ON impact_measurements (implementation_id, period_start);
