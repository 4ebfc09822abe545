-- Renewal information (RFC 9773). certificates.aki: the leaf's Authority Key Identifier
-- (hex), half of the ARI certID; ari_*: a window staff set (acme-pay-admin renew) or a
-- revocation moved, its reason and explanation URL. orders.replaces: the certID a
-- newOrder named, replaces_cert the certificate it resolved to; at most one live
-- (not invalid) order may replace a certificate (checked through this index).
ALTER TABLE certificates ADD COLUMN aki TEXT;
ALTER TABLE certificates ADD COLUMN ari_start BIGINT;
ALTER TABLE certificates ADD COLUMN ari_end BIGINT;
ALTER TABLE certificates ADD COLUMN ari_reason TEXT;
ALTER TABLE certificates ADD COLUMN ari_url TEXT;
ALTER TABLE orders ADD COLUMN replaces TEXT;
ALTER TABLE orders ADD COLUMN replaces_cert TEXT;
CREATE INDEX orders_replaces ON orders (replaces_cert) WHERE replaces_cert IS NOT NULL;
