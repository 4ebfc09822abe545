-- ACME profiles as products: the profile an order was placed under (NULL: none
-- configured). A certificate's profile is its order's; the free-reissue lookup under
-- profiles joins them (acp_cert_reissue_match_profile).
ALTER TABLE orders ADD COLUMN profile TEXT;
