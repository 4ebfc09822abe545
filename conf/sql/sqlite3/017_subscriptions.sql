-- Subscriptions: a profile sold as a term (AcmePayProfile ... term=365d). The first
-- finalize for a set of names buys one (holder, names, profile, starts .. ends); while it
-- runs, certificates for those names (or a subset) under that profile are free. seq numbers
-- the purchases of one (holder, names, profile): two finalizes racing for the same first
-- purchase cannot both insert seq 0, so only one is charged.
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY, billing_id TEXT NOT NULL, names_key TEXT NOT NULL,
    profile TEXT NOT NULL, seq BIGINT NOT NULL, order_id TEXT NOT NULL,
    price BIGINT NOT NULL, starts BIGINT NOT NULL, ends BIGINT NOT NULL);
CREATE UNIQUE INDEX subscriptions_purchase ON subscriptions (billing_id, names_key, profile, seq);
CREATE INDEX subscriptions_live ON subscriptions (billing_id, profile, ends);
