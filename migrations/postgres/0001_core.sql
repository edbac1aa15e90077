-- orderdesk core schema (PostgreSQL).
-- Money is integer cents, tax rates integer basis points: exact, and identical to SQLite.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE customers (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    address    TEXT NOT NULL DEFAULT '',
    vat_id     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX customers_name ON customers (name);

CREATE TABLE products (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku              TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    tax_rate_bp      BIGINT NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    stock_on_hand    BIGINT NOT NULL DEFAULT 0 CHECK (stock_on_hand >= 0),
    reorder_level    BIGINT NOT NULL DEFAULT 0 CHECK (reorder_level >= 0)
);
CREATE INDEX products_name ON products (name);

CREATE TABLE orders (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'confirmed', 'cancelled')),
    reference    TEXT NOT NULL DEFAULT '',
    revision     BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT NOT NULL,
    confirmed_at TIMESTAMPTZ,
    confirmed_by TEXT,
    CHECK ((status = 'draft') = (confirmed_at IS NULL) OR status = 'cancelled')
);
CREATE INDEX orders_status_id ON orders (status, id DESC);
CREATE INDEX orders_customer_id ON orders (customer_id, id DESC);
CREATE INDEX orders_confirmed_at ON orders (confirmed_at) WHERE confirmed_at IS NOT NULL;

CREATE TABLE order_lines (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders (id),
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity   BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 1000000)
);
CREATE INDEX order_lines_order ON order_lines (order_id, id);
CREATE INDEX order_lines_product ON order_lines (product_id);

CREATE TABLE stock_ledger (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id    BIGINT NOT NULL REFERENCES products (id),
    quantity      BIGINT NOT NULL CHECK (quantity <> 0),
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    reason        TEXT NOT NULL CHECK (reason IN ('opening', 'receipt', 'sale', 'return', 'adjustment')),
    order_id      BIGINT REFERENCES orders (id),
    actor         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    -- One sale movement per product per order: a second decrement cannot be recorded.
    UNIQUE (order_id, product_id, reason)
);
CREATE INDEX stock_ledger_product ON stock_ledger (product_id, id);

-- Gapless numbering: one row per series and year, incremented inside the issuing transaction.
CREATE TABLE number_series (
    series      TEXT NOT NULL,
    year        BIGINT NOT NULL,
    last_number BIGINT NOT NULL CHECK (last_number >= 1),
    PRIMARY KEY (series, year)
);

CREATE TABLE invoices (
    order_id         BIGINT PRIMARY KEY REFERENCES orders (id),
    number           TEXT NOT NULL UNIQUE,
    year             BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    customer_id      BIGINT NOT NULL REFERENCES customers (id),
    customer_code    TEXT NOT NULL,
    customer_name    TEXT NOT NULL,
    customer_address TEXT NOT NULL,
    customer_vat_id  TEXT NOT NULL,
    currency         TEXT NOT NULL,
    net_cents        BIGINT NOT NULL,
    tax_cents        BIGINT NOT NULL,
    gross_cents      BIGINT NOT NULL CHECK (gross_cents = net_cents + tax_cents),
    issued_at        TIMESTAMPTZ NOT NULL,
    issued_by        TEXT NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX invoices_issued_at ON invoices (issued_at DESC);
CREATE INDEX invoices_customer ON invoices (customer_id, issued_at DESC);

-- Lines are written before their header (the numbering counter is taken last), hence deferred.
CREATE TABLE invoice_lines (
    order_id         BIGINT NOT NULL REFERENCES invoices (order_id) DEFERRABLE INITIALLY DEFERRED,
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

-- The idempotency contract: a key is claimed (inserted) first in the business transaction;
-- its outcome is filled in before commit. A rolled-back attempt leaves no row.
CREATE TABLE idempotency_keys (
    key          UUID PRIMARY KEY,
    subject      TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    target       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status_code  BIGINT,
    location     TEXT,
    body         TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

CREATE TABLE audit_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id, id);
