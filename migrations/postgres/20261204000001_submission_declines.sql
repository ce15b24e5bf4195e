-- A batch of submissions is recorded in one statement outside a
-- transaction block (src/server/store/sandbox/submissions/at_once.rs).
-- When the batch cannot be accepted whole, the statement calls this
-- function, whose error undoes everything the statement counted, and the
-- server sees the code: KP001 for a token with a daily cap, KP002 for
-- anything else. Never constant-folded: plpgsql functions are volatile.
CREATE FUNCTION keyport_decline_batch(code TEXT) RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'submission batch declined' USING ERRCODE = code;
END $$;
