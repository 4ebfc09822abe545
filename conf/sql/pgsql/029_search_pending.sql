-- mod_acme_pay schema, version 29 (PostgreSQL): the staff search's GIN indexes (version
-- 28) take new entries into a short pending list (fastupdate, at most 256 kB per index)
-- instead of inserting each trigram and word into the index's tree at once. A search row
-- has about sixty trigrams; inserted one by one they cost about 0.5 ms of PostgreSQL CPU
-- per row on the bench machine (four rows per certificate), merged in bulk about half of
-- that (docs/PERFORMANCE.md, "The search indexes' pending lists"). The list is merged by
-- the insert that finds it full (about 190 rows of one kind: a few tens of milliseconds,
-- once) or by VACUUM; a lookup reads it whole, which the 256 kB bound keeps under about
-- 2 ms. Version 28's fastupdate = off guarded against the default 4 MB list.
ALTER INDEX search_holder_trgm SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_holder_words SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_account_trgm SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_account_words SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_order_trgm SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_order_words SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_invoice_trgm SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_invoice_words SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_cert_trgm SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_cert_words SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_eab_trgm SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_eab_words SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_payment_trgm SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_payment_words SET (fastupdate = on, gin_pending_list_limit = 256);
