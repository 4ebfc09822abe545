-- Refunds made in a payment provider's console, recorded by staff (acme-pay-admin refund
-- record). Each debits the holder with a ledger row (kind payment_refund) in the same
-- transaction. A refund is recorded once per (payment reference, refund id): a
-- second record of it changes nothing. payments.refunded is raised by a conditional
-- UPDATE (refunded + amount <= amount), so concurrent records never refund more than the
-- payment credited.
ALTER TABLE payments ADD COLUMN refunded BIGINT NOT NULL DEFAULT 0;
CREATE TABLE payment_refunds (
    provider TEXT NOT NULL, payment_ref TEXT NOT NULL, refund_id TEXT NOT NULL,
    invoice_id TEXT NOT NULL, billing_id TEXT NOT NULL, amount BIGINT NOT NULL,
    currency TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT NOT NULL, created BIGINT NOT NULL,
    PRIMARY KEY (payment_ref, refund_id));
CREATE INDEX payment_refunds_invoice ON payment_refunds (invoice_id);
CREATE INDEX payment_refunds_billing ON payment_refunds (billing_id, created);
