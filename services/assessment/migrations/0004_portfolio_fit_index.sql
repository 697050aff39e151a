-- What a portfolio fit needs, kept when a project enters the portfolio, so that a fit reads only the
-- candidates that can score rather than the whole portfolio (issue 13).
-- Per project the number of its significant words (PortfolioProject.words()); NULL: not indexed yet. The
-- words come from the domain's tokeniser (Python), so rows from before this migration are indexed by the
-- service on its first fit (the partial index finds them); `UPDATE portfolio SET word_count = NULL`
-- re-indexes everything, e.g. after the stop words change.
ALTER TABLE portfolio ADD COLUMN word_count integer;
CREATE INDEX portfolio_not_indexed ON portfolio (project_id) WHERE word_count IS NULL;

-- An inverted index of the significant words: a fit reads the postings of the candidate's own words.
-- word_count rides along, so the overlap bound is checked before any portfolio row is read.
CREATE TABLE portfolio_words (
    word       text    NOT NULL,
    project_id uuid    NOT NULL REFERENCES portfolio (project_id) ON DELETE CASCADE,
    word_count integer NOT NULL,
    PRIMARY KEY (word, project_id) INCLUDE (word_count)
);
CREATE INDEX portfolio_words_by_project ON portfolio_words (project_id);

-- Phase coverage: whether a phase is covered is the first index entry of that phase, not a scan.
CREATE TABLE portfolio_phases (
    phase      text NOT NULL,
    project_id uuid NOT NULL REFERENCES portfolio (project_id) ON DELETE CASCADE,
    PRIMARY KEY (phase, project_id)
);
CREATE INDEX portfolio_phases_by_project ON portfolio_phases (project_id);
