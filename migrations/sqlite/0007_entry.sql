-- Order entry at a clerk's speed (SQLite): substring search, case- and accent-insensitive, over
-- products (SKU and name), customers (code and name) and order references.
--
-- FTS5 is compiled into the SQLite that orderdesk embeds, so nothing is installed. Each index is
-- an external-content FTS5 table with the trigram tokenizer (case-insensitive, diacritics
-- removed: "muller" finds "Müller"), kept in step with its table by triggers, so every writer
-- (the pages, the API, the demo, bulk loads) feeds it without knowing it exists. A trigram
-- query needs at least three characters; shorter searches fall back to a plain LIKE.

CREATE VIRTUAL TABLE product_search USING fts5(
    sku, name, content = 'products', content_rowid = 'id',
    tokenize = 'trigram remove_diacritics 1'
);
CREATE TRIGGER product_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO product_search (rowid, sku, name) VALUES (new.id, new.sku, new.name);
END;
CREATE TRIGGER product_search_delete AFTER DELETE ON products BEGIN
    INSERT INTO product_search (product_search, rowid, sku, name)
    VALUES ('delete', old.id, old.sku, old.name);
END;
CREATE TRIGGER product_search_update AFTER UPDATE OF sku, name ON products BEGIN
    INSERT INTO product_search (product_search, rowid, sku, name)
    VALUES ('delete', old.id, old.sku, old.name);
    INSERT INTO product_search (rowid, sku, name) VALUES (new.id, new.sku, new.name);
END;
INSERT INTO product_search (product_search) VALUES ('rebuild');

CREATE VIRTUAL TABLE customer_search USING fts5(
    code, name, content = 'customers', content_rowid = 'id',
    tokenize = 'trigram remove_diacritics 1'
);
CREATE TRIGGER customer_search_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customer_search (rowid, code, name) VALUES (new.id, new.code, new.name);
END;
CREATE TRIGGER customer_search_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customer_search (customer_search, rowid, code, name)
    VALUES ('delete', old.id, old.code, old.name);
END;
CREATE TRIGGER customer_search_update AFTER UPDATE OF code, name ON customers BEGIN
    INSERT INTO customer_search (customer_search, rowid, code, name)
    VALUES ('delete', old.id, old.code, old.name);
    INSERT INTO customer_search (rowid, code, name) VALUES (new.id, new.code, new.name);
END;
INSERT INTO customer_search (customer_search) VALUES ('rebuild');

CREATE VIRTUAL TABLE order_search USING fts5(
    reference, content = 'orders', content_rowid = 'id',
    tokenize = 'trigram remove_diacritics 1'
);
CREATE TRIGGER order_search_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_search (rowid, reference) VALUES (new.id, new.reference);
END;
CREATE TRIGGER order_search_delete AFTER DELETE ON orders BEGIN
    INSERT INTO order_search (order_search, rowid, reference) VALUES ('delete', old.id, old.reference);
END;
CREATE TRIGGER order_search_update AFTER UPDATE OF reference ON orders BEGIN
    INSERT INTO order_search (order_search, rowid, reference) VALUES ('delete', old.id, old.reference);
    INSERT INTO order_search (rowid, reference) VALUES (new.id, new.reference);
END;
INSERT INTO order_search (order_search) VALUES ('rebuild');
