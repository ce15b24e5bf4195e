-- The two 12-character keys (Cloud Service API, Cloud & Branch Connector API),
-- the consumer API's sessions and its rate counters.

CREATE TABLE api_keys (
    org_id          INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('cloud_service', 'connector')),
    key_sealed      BLOB NOT NULL,
    last4           TEXT NOT NULL,
    disabled_reason TEXT CHECK (disabled_reason IN ('threshold_exceeded', 'terms_violation', 'other')),
    created_at      INTEGER NOT NULL,
    modified_at     INTEGER NOT NULL,
    modified_by     TEXT NOT NULL,
    last_used_at    INTEGER,
    last_used_ip    TEXT,
    PRIMARY KEY (org_id, kind)
);

-- Provider-controlled: may the organisation's Super Admins manage the connector key?
ALTER TABLE organisations ADD COLUMN super_admins_manage_connector_key INTEGER NOT NULL DEFAULT 0;

-- Sessions of the consumer API (the JSESSIONID cookie). Only a digest of the
-- id is stored. Changing a key deletes the sessions made with it.
CREATE TABLE api_sessions (
    id_digest    BLOB PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    admin_id     INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX api_sessions_by_org ON api_sessions (org_id, kind);

-- Fixed-window request counters per organisation (per second and per hour).
CREATE TABLE api_rate_counters (
    org_id       INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    window_kind  TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (org_id, window_kind, window_start)
);
