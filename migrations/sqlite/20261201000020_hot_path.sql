-- The consumer API's hot path (README, Performance).
--
-- Rate limits: one row per organisation and class of requests holding both
-- fixed windows (a second and an hour), counted by one conditional UPSERT
-- (src/server/store/rate.rs) instead of a read and two writes per window.
CREATE TABLE api_rate_limits (
    org_id       INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    class        TEXT NOT NULL,
    second_start INTEGER NOT NULL,
    second_count INTEGER NOT NULL,
    hour_start   INTEGER NOT NULL,
    hour_count   INTEGER NOT NULL,
    PRIMARY KEY (org_id, class)
);
DROP TABLE api_rate_counters;

-- Submissions per UTC day: the organisation's (token_id 0, against the
-- daily allowance) and each token's (against its daily cap), counted in the
-- submission's own transaction instead of a COUNT(*) over the day's rows.
CREATE TABLE submission_days (
    org_id    INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    token_id  INTEGER NOT NULL,
    day_start INTEGER NOT NULL,
    used      INTEGER NOT NULL,
    PRIMARY KEY (org_id, token_id, day_start)
);
INSERT INTO submission_days (org_id, token_id, day_start, used)
    SELECT org_id, 0, at - (at % 86400000), COUNT(*) FROM sandbox_submissions
    GROUP BY org_id, at - (at % 86400000);
INSERT INTO submission_days (org_id, token_id, day_start, used)
    SELECT org_id, token_id, at - (at % 86400000), COUNT(*) FROM sandbox_submissions
    WHERE token_id IS NOT NULL
    GROUP BY org_id, token_id, at - (at % 86400000);
