-- Concurrent requests of one organisation share one rate-limit statement
-- (src/server/store/flight.rs): it counts as many of them as both windows
-- have room for and answers how many, kept here for its RETURNING.
ALTER TABLE api_rate_limits ADD COLUMN last_grant BIGINT NOT NULL DEFAULT 0;
