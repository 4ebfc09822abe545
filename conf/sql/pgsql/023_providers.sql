-- Built-in payment providers (AcmePayStripe, AcmePayAlipay, …): which provider made an
-- invoice's checkout (checkout_url) and the provider's own id for it (a Stripe Checkout
-- Session id, an Alipay out_trade_no, …), for staff who look the payment up there.
ALTER TABLE invoices ADD COLUMN checkout_provider TEXT;
ALTER TABLE invoices ADD COLUMN checkout_ref TEXT;
