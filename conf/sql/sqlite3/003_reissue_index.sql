-- The free-reissue lookup (acp_cert_reissue_match) reads this index alone: partial
-- (live certificates only) and covering (not_after and id; revoked too, or SQLite does
-- not see it as covering), so no certificate row is fetched and the lookup stays cheap
-- as certificates accumulate (make bench, growth run).
DROP INDEX certificates_reissue;
CREATE INDEX certificates_reissue_live ON certificates (billing_id, names_key, issued, not_after, id, revoked) WHERE revoked IS NULL;
