-- Account locks by the username typed, known or not, so a lock does not
-- tell an attacker which usernames exist (docs/SECURITY.md). The old
-- admins.locked_until column is no longer read.
CREATE TABLE sign_in_locks (
    username     TEXT PRIMARY KEY,
    locked_until INTEGER NOT NULL
);
