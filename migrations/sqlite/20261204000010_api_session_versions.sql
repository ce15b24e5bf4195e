-- An API session's end or change bumps its organisation's version too, so
-- a process that keeps a validated session (src/server/store/api_sessions.rs)
-- sees it on the next call: the call's count reads the version in the same
-- statement (src/server/store/rate.rs). Opening a session needs no bump:
-- a session no process has seen is read from the table.
CREATE TRIGGER api_sessions_version_update AFTER UPDATE ON api_sessions BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER api_sessions_version_delete AFTER DELETE ON api_sessions BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
