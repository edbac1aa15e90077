-- A desk a business can run (PostgreSQL): cancellations with credit notes, price history,
-- documents that never change, and indexes for the audit log's filters.

-- Why and by whom an order was cancelled (a draft by a clerk, a confirmed order by an
-- accountant with a credit note).
ALTER TABLE orders ADD COLUMN cancelled_at TIMESTAMPTZ;
ALTER TABLE orders ADD COLUMN cancelled_by TEXT;
ALTER TABLE orders ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT '';

-- Credit notes CN-YYYY-NNNNNN: gapless per year (number_series 'CN'), at most one per invoice,
-- customer data and lines copied from the invoice they negate.
CREATE TABLE credit_notes (
    order_id         BIGINT PRIMARY KEY REFERENCES invoices (order_id),
    number           TEXT NOT NULL UNIQUE,
    year             BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    invoice_number   TEXT NOT NULL UNIQUE REFERENCES invoices (number),
    customer_id      BIGINT NOT NULL REFERENCES customers (id),
    customer_code    TEXT NOT NULL,
    customer_name    TEXT NOT NULL,
    customer_address TEXT NOT NULL,
    customer_vat_id  TEXT NOT NULL,
    currency         TEXT NOT NULL,
    net_cents        BIGINT NOT NULL,
    tax_cents        BIGINT NOT NULL,
    gross_cents      BIGINT NOT NULL CHECK (gross_cents = net_cents + tax_cents),
    reason           TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    issued_at        TIMESTAMPTZ NOT NULL,
    issued_by        TEXT NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX credit_notes_issued_at ON credit_notes (issued_at DESC);

-- Lines are written before their header (the numbering counter is taken last), hence deferred.
-- Quantities and prices as invoiced; net, tax and gross negated.
CREATE TABLE credit_note_lines (
    order_id         BIGINT NOT NULL REFERENCES credit_notes (order_id) DEFERRABLE INITIALLY DEFERRED,
    line_no          BIGINT NOT NULL,
    product_id       BIGINT NOT NULL REFERENCES products (id),
    sku              TEXT NOT NULL,
    name             TEXT NOT NULL,
    quantity         BIGINT NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    tax_rate_bp      BIGINT NOT NULL,
    net_cents        BIGINT NOT NULL,
    tax_cents        BIGINT NOT NULL,
    gross_cents      BIGINT NOT NULL,
    PRIMARY KEY (order_id, line_no)
);

-- Issued documents never change: the database itself refuses UPDATE, DELETE and TRUNCATE.
CREATE FUNCTION refuse_changing_documents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issued documents never change: % on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER invoices_never_change BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION refuse_changing_documents();
CREATE TRIGGER invoice_lines_never_change BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_changing_documents();
CREATE TRIGGER credit_notes_never_change BEFORE UPDATE OR DELETE ON credit_notes
    FOR EACH ROW EXECUTE FUNCTION refuse_changing_documents();
CREATE TRIGGER credit_note_lines_never_change BEFORE UPDATE OR DELETE ON credit_note_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_changing_documents();
CREATE TRIGGER invoices_never_truncated BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_changing_documents();
CREATE TRIGGER invoice_lines_never_truncated BEFORE TRUNCATE ON invoice_lines
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_changing_documents();
CREATE TRIGGER credit_notes_never_truncated BEFORE TRUNCATE ON credit_notes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_changing_documents();
CREATE TRIGGER credit_note_lines_never_truncated BEFORE TRUNCATE ON credit_note_lines
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_changing_documents();

-- Every price and tax rate a product had, with who set it and when.
CREATE TABLE product_prices (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id       BIGINT NOT NULL REFERENCES products (id),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    tax_rate_bp      BIGINT NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    changed_at       TIMESTAMPTZ NOT NULL,
    changed_by       TEXT NOT NULL
);
CREATE INDEX product_prices_product ON product_prices (product_id, id);
INSERT INTO product_prices (product_id, unit_price_cents, tax_rate_bp, changed_at, changed_by)
SELECT id, unit_price_cents, tax_rate_bp, now(), 'before price history' FROM products;

-- The audit log lists events newest first by (at, id), a page at a time from a cursor; each of
-- its filters (actor, action, kind of record, date range) has an index that ends in (at, id).
-- One record's events (entity, entity_id) are few and use the index of 0001.
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_actor ON audit_events (actor, at, id);
CREATE INDEX audit_events_action ON audit_events (action, at, id);
CREATE INDEX audit_events_entity_at ON audit_events (entity, at, id);
