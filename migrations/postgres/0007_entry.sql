-- Order entry at a clerk's speed (PostgreSQL): substring search, case- and accent-insensitive,
-- over products (SKU and name), customers (code and name) and order references.
--
-- pg_trgm indexes substrings (LIKE '%...%') and unaccent folds accents ("muller" finds
-- "Müller"). Both are contrib extensions shipped with PostgreSQL itself (Debian and Ubuntu's
-- postgresql package, the official images, and every major managed service), and both are
-- "trusted" since PostgreSQL 13: the database owner running `orderdesk migrate run` may create
-- them without being a superuser. On a server without contrib, install it first (for example
-- `apt-get install postgresql-contrib` on older distributions) or have an administrator run
-- the two CREATE EXTENSION statements below once.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

-- The one folding used by indexes and queries alike. unaccent() itself is only STABLE (its
-- dictionary could change), so an index needs this IMMUTABLE wrapper naming the dictionary.
-- Schema-qualified rather than given a search_path, so that PostgreSQL can inline it: a SET
-- clause would cost a configuration change on every row a search looks at.
CREATE FUNCTION orderdesk_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

CREATE INDEX products_search ON products USING gin (orderdesk_fold(sku || ' ' || name) gin_trgm_ops);
CREATE INDEX customers_search ON customers USING gin (orderdesk_fold(code || ' ' || name) gin_trgm_ops);
CREATE INDEX orders_reference_search ON orders USING gin (orderdesk_fold(reference) gin_trgm_ops);
