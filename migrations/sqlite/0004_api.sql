-- The JSON API (SQLite): idempotency keys per user for forms and API alike, API tokens, and
-- the active flag of customers and products.

-- A key belongs to a user: (user_id, key) is the primary key, so two users' API keys never
-- collide. Form keys are 'form:' + the token's nonce (hex), API keys 'api:' + the client's key.
-- The recorded response keeps its Content-Type beside Location and body.
CREATE TABLE idempotency_keys_v2 (
    user_id      INTEGER NOT NULL,
    key          TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    target       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status_code  INTEGER,
    location     TEXT,
    content_type TEXT,
    body         TEXT,
    created_at   TEXT NOT NULL,
    completed_at TEXT,
    PRIMARY KEY (user_id, key)
);
-- Keys recorded before the upgrade keep replaying (form fingerprints are unchanged).
INSERT INTO idempotency_keys_v2 (user_id, key, purpose, target, fingerprint, status_code, location,
                                 body, created_at, completed_at)
SELECT CAST(substr(subject, 6) AS INTEGER), 'form:' || lower(hex(key)), purpose, target, fingerprint,
       status_code, location, body, created_at, completed_at
FROM idempotency_keys WHERE subject LIKE 'user:%';
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v2 RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Bearer tokens of the JSON API. Only the SHA-256 of a token is stored; `hint` is its first
-- characters, to recognise it in lists. A revoked token stops working on every server at once.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    label        TEXT NOT NULL DEFAULT '',
    token_hash   TEXT NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Deactivated instead of deleted: an inactive customer or product goes on no new order or line.
ALTER TABLE customers ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1;
ALTER TABLE products ADD COLUMN active BOOLEAN NOT NULL DEFAULT 1;
