-- Keyport's schema. Times are epoch milliseconds (INTEGER); enums are TEXT.
-- Released migrations are never edited: add a new file instead.

CREATE TABLE organisations (
    id                      INTEGER PRIMARY KEY,
    short_name              TEXT NOT NULL UNIQUE,
    name                    TEXT NOT NULL,
    sandbox_token_limit     INTEGER NOT NULL DEFAULT 5 CHECK (sandbox_token_limit BETWEEN 1 AND 5),
    sandbox_daily_allowance INTEGER NOT NULL DEFAULT 100 CHECK (sandbox_daily_allowance >= 0),
    created_at              INTEGER NOT NULL
);

-- One row per organisation and kind; no row means "no subscription".
CREATE TABLE subscriptions (
    org_id     INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('sandbox', 'api')),
    status     TEXT NOT NULL CHECK (status IN ('active', 'expired')),
    expires_at INTEGER,
    PRIMARY KEY (org_id, kind)
);

CREATE TABLE admins (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE memberships (
    admin_id INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    org_id   INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('super_admin', 'api_admin', 'read_only_admin', 'cloud_connector_admin', 'provider')),
    PRIMARY KEY (admin_id, org_id)
);

-- Failed sign-ins, for the lockout (per account) and throttling (per address).
CREATE TABLE sign_in_failures (
    id        INTEGER PRIMARY KEY,
    username  TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_user ON sign_in_failures (username, at);
CREATE INDEX sign_in_failures_by_ip ON sign_in_failures (client_ip, at);

-- The secret is stored sealed (AES-256-GCM) for reveal, and as a keyed
-- digest (HMAC-SHA-256) for lookup; never in plaintext.
CREATE TABLE sandbox_tokens (
    id                INTEGER PRIMARY KEY,
    org_id            INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    secret_sealed     BLOB NOT NULL,
    secret_digest     BLOB NOT NULL UNIQUE,
    last4             TEXT NOT NULL,
    disabled_reason   TEXT CHECK (disabled_reason IN ('threshold_exceeded', 'terms_violation', 'other')),
    created_at        INTEGER NOT NULL,
    modified_at       INTEGER NOT NULL,
    modified_by       TEXT NOT NULL,
    last_used_at      INTEGER,
    last_used_ip      TEXT
);
CREATE UNIQUE INDEX sandbox_tokens_name ON sandbox_tokens (org_id, lower(name));

CREATE TABLE sandbox_submissions (
    id        INTEGER PRIMARY KEY,
    org_id    INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    token_id  INTEGER REFERENCES sandbox_tokens (id) ON DELETE SET NULL,
    size      INTEGER NOT NULL,
    md5       TEXT NOT NULL,
    file_type TEXT NOT NULL,
    force     INTEGER NOT NULL,
    client_ip TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX sandbox_submissions_by_org ON sandbox_submissions (org_id, at);
CREATE INDEX sandbox_submissions_by_token ON sandbox_submissions (token_id, at);

-- Append-only. Admin and organisation are kept as text so entries outlive them.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    action       TEXT NOT NULL,
    category     TEXT NOT NULL,
    sub_category TEXT NOT NULL,
    resource     TEXT NOT NULL,
    admin        TEXT NOT NULL,
    org          TEXT NOT NULL,
    client_ip    TEXT NOT NULL,
    interface    TEXT NOT NULL,
    trace_id     TEXT NOT NULL,
    result       TEXT NOT NULL CHECK (result IN ('success', 'failure')),
    reason       TEXT
);
CREATE INDEX audit_log_by_org ON audit_log (org, at);
