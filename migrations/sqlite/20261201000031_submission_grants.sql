-- Concurrent submissions with one token are recorded in one transaction
-- (src/server/store/sandbox/submissions.rs): each day count takes as many
-- of them as the allowance or cap has room for, and answers how many here.
ALTER TABLE submission_days ADD COLUMN last_grant INTEGER NOT NULL DEFAULT 0;
