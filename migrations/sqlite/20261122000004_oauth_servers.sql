-- OAuth 2.0 Authorization Servers (PRODUCT.md §2.4): at most two per
-- organisation and at most one enabled, both enforced in the store's
-- serialised write transactions.
CREATE TABLE oauth_servers (
    id                INTEGER PRIMARY KEY,
    org_id            INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    enabled           INTEGER NOT NULL DEFAULT 0,
    description       TEXT NOT NULL DEFAULT '',
    jwks_url          TEXT NOT NULL,
    validate_cert     INTEGER NOT NULL DEFAULT 1,
    audience          TEXT NOT NULL DEFAULT '',
    issuer            TEXT NOT NULL DEFAULT '',
    client_id         TEXT NOT NULL DEFAULT '',
    -- What the last successful fetch found (JSON list of {kid, kty, alg}).
    jwks_keys         TEXT NOT NULL DEFAULT '[]',
    last_fetch_at     INTEGER,
    created_at        INTEGER NOT NULL,
    modified_at       INTEGER NOT NULL,
    modified_by       TEXT NOT NULL
);
CREATE UNIQUE INDEX oauth_servers_name ON oauth_servers (org_id, lower(name));
