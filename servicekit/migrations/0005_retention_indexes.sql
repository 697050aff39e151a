-- Retention (servicekit/retention.py) deletes published outbox rows and inbox rows a batch at a time, oldest first:
-- these indexes find each batch without reading the whole table. Unpublished rows are not in the outbox's.
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX inbox_processed ON inbox (processed_at);
