-- Submitted projects: the dossier of the current revision, the verdicts received, the adoption by labs.
CREATE TABLE projects (
    id              uuid        PRIMARY KEY,
    revision        integer     NOT NULL CHECK (revision >= 1),
    status          text        NOT NULL CHECK (status IN ('submitted', 'proven', 'rejected',
                                                           'needs_information', 'withdrawn')),
    dossier         jsonb       NOT NULL,
    submitted_at    timestamptz NOT NULL,
    verdicts        jsonb       NOT NULL DEFAULT '[]',
    implementations jsonb       NOT NULL DEFAULT '[]',
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Personal data lives apart, so erasing it (GDPR) is one DELETE and nothing else refers to it.
CREATE TABLE contacts (
    project_id uuid PRIMARY KEY REFERENCES projects (id),
    name       text NOT NULL,
    email      text NOT NULL
);

-- Labs this service has seen formed (LabFormed): a lab's own project is accepted only from these.
CREATE TABLE labs (
    lab_id         uuid        PRIMARY KEY,
    name           text        NOT NULL,
    municipalities text[]      NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The catalogue's change log: every change of a listed project's public state, a NULL record when it
-- left. It backs GET /v1/catalogue/changes; writers hold an advisory lock, so seq order is commit order.
CREATE TABLE catalogue_changes (
    seq        bigserial   PRIMARY KEY,
    project_id uuid        NOT NULL,
    record     jsonb,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- unaccent may already be installed in another schema (an extension exists once per database): the
-- search function names it by the schema it is actually in, which also makes it safe as IMMUTABLE.
CREATE EXTENSION IF NOT EXISTS unaccent;

DO $migration$
DECLARE
    ext_schema text;
BEGIN
    SELECT n.nspname INTO STRICT ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'unaccent';
    EXECUTE format(
        $f$CREATE FUNCTION dutch_search_text(value text) RETURNS text
             LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
             AS $body$ SELECT %I.unaccent(%L::regdictionary, value) $body$$f$,
        ext_schema, format('%I.unaccent', ext_schema));
END
$migration$;

-- The public read model: one row per listed (proven) project, with what the filters and search need.
CREATE TABLE catalogue_listings (
    project_id        uuid   PRIMARY KEY,
    listed_seq        bigint NOT NULL UNIQUE,   -- keyset of the cursor pagination; never changes while listed
    record            jsonb  NOT NULL,          -- the CatalogueProject, as on the feed
    phases            text[] NOT NULL,
    theme_keys        text[] NOT NULL,          -- lower-cased, for case-insensitive filters
    municipality_keys text[] NOT NULL,
    search            tsvector NOT NULL
);
CREATE INDEX catalogue_listings_phases ON catalogue_listings USING gin (phases);
CREATE INDEX catalogue_listings_themes ON catalogue_listings USING gin (theme_keys);
CREATE INDEX catalogue_listings_municipalities ON catalogue_listings USING gin (municipality_keys);
CREATE INDEX catalogue_listings_search ON catalogue_listings USING gin (search);
