-- The product picker at catalogue scale (PostgreSQL).
--
-- SKU prefixes: the picker lists the products whose SKU starts with the typed text first,
-- walked from an index in SKU order. SKUs are upper-case ASCII, so the walk is a byte range;
-- the unique index on sku follows the database's collation, which need not be bytewise
-- (en_US orders '-' apart), hence this one in the "C" collation.
CREATE INDEX products_sku_bytes ON products (sku COLLATE "C");

-- No pending list on the product search index: with fastupdate (the default) new entries
-- wait in an unordered list that every search reads in full until autovacuum merges it; after
-- a bulk load of 100,000 products that list made a search 2 to 4 times slower. Products are
-- written rarely and searched on every keystroke, so each insert updates the index itself.
-- Orders and customers keep the default: they are written far more often than searched.
ALTER INDEX products_search SET (fastupdate = off);
SELECT gin_clean_pending_list('products_search');
