-- A desk a business can run (SQLite): cancellations with credit notes, price history, documents
-- that never change, and indexes for the audit log's filters.

-- Why and by whom an order was cancelled (a draft by a clerk, a confirmed order by an
-- accountant with a credit note).
ALTER TABLE orders ADD COLUMN cancelled_at TEXT;
ALTER TABLE orders ADD COLUMN cancelled_by TEXT;
ALTER TABLE orders ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';

-- Credit notes CN-YYYY-NNNNNN: gapless per year (number_series 'CN'), at most one per invoice,
-- customer data and lines copied from the invoice they negate.
CREATE TABLE credit_notes (
    order_id         INTEGER PRIMARY KEY REFERENCES invoices (order_id),
    number           TEXT NOT NULL UNIQUE,
    year             INTEGER NOT NULL,
    seq              INTEGER NOT NULL,
    invoice_number   TEXT NOT NULL UNIQUE REFERENCES invoices (number),
    customer_id      INTEGER NOT NULL REFERENCES customers (id),
    customer_code    TEXT NOT NULL,
    customer_name    TEXT NOT NULL,
    customer_address TEXT NOT NULL,
    customer_vat_id  TEXT NOT NULL,
    currency         TEXT NOT NULL,
    net_cents        INTEGER NOT NULL,
    tax_cents        INTEGER NOT NULL,
    gross_cents      INTEGER NOT NULL CHECK (gross_cents = net_cents + tax_cents),
    reason           TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    issued_at        TEXT NOT NULL,
    issued_by        TEXT NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX credit_notes_issued_at ON credit_notes (issued_at DESC);

-- Lines are written before their header (the numbering counter is taken last), hence deferred.
-- Quantities and prices as invoiced; net, tax and gross negated.
CREATE TABLE credit_note_lines (
    order_id         INTEGER NOT NULL REFERENCES credit_notes (order_id) DEFERRABLE INITIALLY DEFERRED,
    line_no          INTEGER NOT NULL,
    product_id       INTEGER NOT NULL REFERENCES products (id),
    sku              TEXT NOT NULL,
    name             TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    tax_rate_bp      INTEGER NOT NULL,
    net_cents        INTEGER NOT NULL,
    tax_cents        INTEGER NOT NULL,
    gross_cents      INTEGER NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

-- Issued documents never change: the database itself refuses UPDATE and DELETE.
CREATE TRIGGER invoices_never_change BEFORE UPDATE ON invoices
BEGIN SELECT RAISE(ABORT, 'issued documents never change: invoices'); END;
CREATE TRIGGER invoices_never_go BEFORE DELETE ON invoices
BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted: invoices'); END;
CREATE TRIGGER invoice_lines_never_change BEFORE UPDATE ON invoice_lines
BEGIN SELECT RAISE(ABORT, 'issued documents never change: invoice_lines'); END;
CREATE TRIGGER invoice_lines_never_go BEFORE DELETE ON invoice_lines
BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted: invoice_lines'); END;
CREATE TRIGGER credit_notes_never_change BEFORE UPDATE ON credit_notes
BEGIN SELECT RAISE(ABORT, 'issued documents never change: credit_notes'); END;
CREATE TRIGGER credit_notes_never_go BEFORE DELETE ON credit_notes
BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted: credit_notes'); END;
CREATE TRIGGER credit_note_lines_never_change BEFORE UPDATE ON credit_note_lines
BEGIN SELECT RAISE(ABORT, 'issued documents never change: credit_note_lines'); END;
CREATE TRIGGER credit_note_lines_never_go BEFORE DELETE ON credit_note_lines
BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted: credit_note_lines'); END;

-- Every price and tax rate a product had, with who set it and when.
CREATE TABLE product_prices (
    id               INTEGER PRIMARY KEY,
    product_id       INTEGER NOT NULL REFERENCES products (id),
    unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
    tax_rate_bp      INTEGER NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    changed_at       TEXT NOT NULL,
    changed_by       TEXT NOT NULL
);
CREATE INDEX product_prices_product ON product_prices (product_id, id);
INSERT INTO product_prices (product_id, unit_price_cents, tax_rate_bp, changed_at, changed_by)
SELECT id, unit_price_cents, tax_rate_bp, strftime('%Y-%m-%dT%H:%M:%fZ'), 'before price history'
FROM products;

-- The audit log lists events newest first by (at, id), a page at a time from a cursor; each of
-- its filters (actor, action, kind of record, date range) has an index that ends in (at, id).
-- One record's events (entity, entity_id) are few and use the index of 0001.
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_actor ON audit_events (actor, at, id);
CREATE INDEX audit_events_action ON audit_events (action, at, id);
CREATE INDEX audit_events_entity_at ON audit_events (entity, at, id);
