-- The seller on invoices and credit notes (SQLite). Every save of the company page adds a
-- version; versions never change, and each document names the version that was current when it
-- was issued, so a later change of address or bank never alters an issued document.
CREATE TABLE company_profiles (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL CHECK (length(trim(name)) > 0),
    address            TEXT NOT NULL,
    vat_id             TEXT NOT NULL,
    iban               TEXT NOT NULL,
    bic                TEXT NOT NULL,
    payment_terms_days INTEGER NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
    footer             TEXT NOT NULL,
    saved_at           TEXT NOT NULL,
    saved_by           TEXT NOT NULL
);
CREATE TRIGGER company_profiles_never_change BEFORE UPDATE ON company_profiles
BEGIN SELECT RAISE(ABORT, 'issued documents never change: company_profiles'); END;
CREATE TRIGGER company_profiles_never_go BEFORE DELETE ON company_profiles
BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted: company_profiles'); END;

-- Documents issued before the first profile was saved name none (NULL) and print without a
-- seller block. The customer's own reference (their PO number) is copied from the order.
ALTER TABLE invoices ADD COLUMN company_id INTEGER REFERENCES company_profiles (id);
ALTER TABLE invoices ADD COLUMN customer_reference TEXT NOT NULL DEFAULT '';
ALTER TABLE credit_notes ADD COLUMN company_id INTEGER REFERENCES company_profiles (id);
ALTER TABLE credit_notes ADD COLUMN customer_reference TEXT NOT NULL DEFAULT '';
