-- Keyset pages (issue 13). Subscriptions in (created_at, id) order, an integrator's own or all; the owner index gains
-- the id (the old one is a prefix of it).
DROP INDEX subscriptions_by_owner;
CREATE INDEX subscriptions_by_owner_page ON subscriptions (owner, created_at, id);
CREATE INDEX subscriptions_page ON subscriptions (created_at, id);
-- A subscription's deliveries newest first; it also serves the cascade when a subscription is deleted.
DROP INDEX deliveries_by_subscription;
CREATE INDEX deliveries_by_subscription_page ON deliveries (subscription_id, created_at DESC, id DESC);
-- Received events newest first (read backwards); retention finds the oldest through it too.
CREATE INDEX received_events_page ON received_events (received_at, event_id);

-- Retention (adapters/retention.py): finished deliveries oldest first; and whether any delivery is made of an event,
-- which deleting an event asks (its own check, and the foreign key's) for every event it deletes.
CREATE INDEX deliveries_finished ON deliveries (completed_at) WHERE status <> 'pending';
CREATE INDEX deliveries_by_event ON deliveries (event_id);
