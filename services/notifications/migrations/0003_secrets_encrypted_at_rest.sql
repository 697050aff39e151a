-- Webhook signing secrets encrypted at rest (issue 12): the service stores only Fernet tokens under the key ring of
-- SCHULDENLAB_SECRETS_KEY, in the *_encrypted columns. SQL cannot encrypt (the key is never in the database), so
-- the plain columns stay until the service has encrypted what an earlier version left in them: it does so at
-- start, in batches, and sets them NULL. A row still in plain text (written by an earlier version) is read as it
-- is until then; `schuldenlab secrets reencrypt` encrypts it too.
ALTER TABLE subscriptions
    ADD COLUMN secret_encrypted          text,
    ADD COLUMN previous_secret_encrypted text,
    ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE subscriptions
    ADD CONSTRAINT subscriptions_secret_kept CHECK (secret IS NOT NULL OR secret_encrypted IS NOT NULL);
-- Finds the rows still to encrypt without reading the whole table at every start.
CREATE INDEX subscriptions_plain_secrets ON subscriptions (id) WHERE secret IS NOT NULL OR previous_secret IS NOT NULL;
