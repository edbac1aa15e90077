-- The seller on invoices and credit notes (PostgreSQL). Every save of the company page adds a
-- version; versions never change, and each document names the version that was current when it
-- was issued, so a later change of address or bank never alters an issued document.
CREATE TABLE company_profiles (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               TEXT NOT NULL CHECK (length(trim(name)) > 0),
    address            TEXT NOT NULL,
    vat_id             TEXT NOT NULL,
    iban               TEXT NOT NULL,
    bic                TEXT NOT NULL,
    payment_terms_days BIGINT NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 365),
    footer             TEXT NOT NULL,
    saved_at           TIMESTAMPTZ NOT NULL,
    saved_by           TEXT NOT NULL
);
CREATE TRIGGER company_profiles_never_change BEFORE UPDATE OR DELETE ON company_profiles
    FOR EACH ROW EXECUTE FUNCTION refuse_changing_documents();
CREATE TRIGGER company_profiles_never_truncated BEFORE TRUNCATE ON company_profiles
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_changing_documents();

-- Documents issued before the first profile was saved name none (NULL) and print without a
-- seller block. The customer's own reference (their PO number) is copied from the order.
ALTER TABLE invoices ADD COLUMN company_id BIGINT REFERENCES company_profiles (id);
ALTER TABLE invoices ADD COLUMN customer_reference TEXT NOT NULL DEFAULT '';
ALTER TABLE credit_notes ADD COLUMN company_id BIGINT REFERENCES company_profiles (id);
ALTER TABLE credit_notes ADD COLUMN customer_reference TEXT NOT NULL DEFAULT '';
