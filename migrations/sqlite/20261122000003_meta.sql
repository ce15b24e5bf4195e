-- Facts about the installation itself, e.g. the fingerprint of the master
-- key the secrets were sealed with (a different key must not start silently).
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
