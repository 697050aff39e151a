-- A fit that reads only a few of the postings of its candidate's words (issue 13): the rarest words first,
-- long or short projects only where they can still score, and only projects whose phases can be alike.
-- Per project the phases its postings were written for (by this version's `put`). `indexed` is NULL while
-- that is not known or differs from the project's phases (e.g. a row written by an older replica during an
-- upgrade): the service indexes such projects again before the first fit that needs them, as those with
-- word_count IS NULL (migration 0004), found by a partial index. So every project stored before this
-- migration is indexed again, which fills portfolio_words.phase_mask.
ALTER TABLE portfolio ADD COLUMN indexed_phases text[];
ALTER TABLE portfolio ADD COLUMN indexed boolean
    GENERATED ALWAYS AS (CASE WHEN word_count IS NOT NULL AND indexed_phases = phases THEN true END) STORED;
CREATE INDEX portfolio_to_index ON portfolio (project_id) WHERE indexed IS NULL;

-- The project's phases as a bit set (bit i: PHASES[i] of domain/dossier.py); NULL: not known, read always.
ALTER TABLE portfolio_words ADD COLUMN phase_mask integer;
-- The postings of a word ordered by the project's word count: a fit reads only the lengths that can score.
CREATE INDEX portfolio_words_by_length ON portfolio_words (word, word_count) INCLUDE (phase_mask, project_id);

-- How many projects use each word (their postings), kept by `put` and `remove`. Only the order of the
-- candidate's words depends on it (rarest first), never which projects a fit finds, so a count gone
-- stale (two writers at once) costs speed at most.
CREATE TABLE portfolio_word_projects (
    word     text    PRIMARY KEY,
    projects integer NOT NULL
);
INSERT INTO portfolio_word_projects (word, projects)
SELECT word, count(*) FROM portfolio_words GROUP BY word;
