-- An API session's end or change bumps its organisation's version too, so
-- a process that keeps a validated session (src/server/store/api_sessions.rs)
-- sees it on the next call: the call's count reads the version in the same
-- statement (src/server/store/rate.rs). Opening a session needs no bump:
-- a session no process has seen is read from the table.
CREATE CONSTRAINT TRIGGER api_sessions_version AFTER UPDATE OR DELETE ON api_sessions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_row();
