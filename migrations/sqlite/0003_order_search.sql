-- The order list searches customer references exactly (case-insensitive) through an index.
CREATE INDEX orders_reference_lower ON orders (LOWER(reference));
