-- Restrictions per credential (docs/PAGES.md#credential-restrictions): an
-- optional expiry (epoch ms, NULL: never), an IP allowlist (normalised CIDR
-- blocks joined by commas, '': any address) and, for sandbox tokens, a
-- daily submission cap (NULL: only the organisation's allowance). Checked
-- on every consumer-API request from these columns: nothing is cached.
ALTER TABLE sandbox_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE sandbox_tokens ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '';
ALTER TABLE sandbox_tokens ADD COLUMN daily_cap BIGINT CHECK (daily_cap IS NULL OR daily_cap >= 1);

ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN ip_allowlist TEXT NOT NULL DEFAULT '';

-- "Who looked": the reveals of one credential, newest first.
CREATE INDEX audit_log_by_resource ON audit_log (org, sub_category, resource, action);
