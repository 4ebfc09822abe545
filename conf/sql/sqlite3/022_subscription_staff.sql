-- Subscriptions, staff's side: `acme-pay-admin subscriptions extend` moves the end and adds
-- to extended (free days: a pro-rata refund counts only the paid term, ends - extended);
-- `cancel` ends it now, once (cancelled set), recording who, why and what was refunded
-- (the refund itself is a ledger row on the purchasing order).
ALTER TABLE subscriptions ADD COLUMN extended BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN cancelled BIGINT;
ALTER TABLE subscriptions ADD COLUMN cancelled_by TEXT;
ALTER TABLE subscriptions ADD COLUMN cancel_reason TEXT;
ALTER TABLE subscriptions ADD COLUMN refunded BIGINT;
CREATE INDEX subscriptions_ends ON subscriptions (ends);
