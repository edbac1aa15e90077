-- The JSON API (PostgreSQL): idempotency keys per user for forms and API alike, API tokens,
-- and the active flag of customers and products.

-- A key belongs to a user: (user_id, key) is the primary key, so two users' API keys never
-- collide. Form keys are 'form:' + the token's nonce (hex), API keys 'api:' + the client's key.
-- The recorded response keeps its Content-Type beside Location and body.
CREATE TABLE idempotency_keys_v2 (
    user_id      BIGINT NOT NULL,
    key          TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    target       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status_code  BIGINT,
    location     TEXT,
    content_type TEXT,
    body         TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, key)
);
-- Keys recorded before the upgrade keep replaying (form fingerprints are unchanged).
INSERT INTO idempotency_keys_v2 (user_id, key, purpose, target, fingerprint, status_code, location,
                                 body, created_at, completed_at)
SELECT substr(subject, 6)::BIGINT, 'form:' || replace(key::text, '-', ''), purpose, target, fingerprint,
       status_code, location, body, created_at, completed_at
FROM idempotency_keys WHERE subject LIKE 'user:%';
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys;
ALTER INDEX idempotency_keys_v2_pkey RENAME TO idempotency_keys_pkey;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Bearer tokens of the JSON API. Only the SHA-256 of a token is stored; `hint` is its first
-- characters, to recognise it in lists. A revoked token stops working on every server at once.
CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    label        TEXT NOT NULL DEFAULT '',
    token_hash   TEXT NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    created_by   TEXT NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Deactivated instead of deleted: an inactive customer or product goes on no new order or line.
ALTER TABLE customers ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE products ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
