-- Usage you can see (PRODUCT.md §10): calls per credential in one-minute
-- buckets, enough for "API Calls (24h)" and the blast radius' last hour.
-- `credential` is 'sandbox' (credential_id = the token's id), 'cloud_service'
-- or 'connector' (credential_id = 0). Buckets older than a day are pruned.
CREATE TABLE credential_calls (
    org_id        INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    credential    TEXT NOT NULL,
    credential_id INTEGER NOT NULL,
    minute        INTEGER NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (org_id, credential, credential_id, minute)
);
CREATE INDEX credential_calls_by_minute ON credential_calls (minute);
