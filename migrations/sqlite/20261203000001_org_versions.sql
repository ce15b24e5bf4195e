-- Every admin page's data belongs to one organisation: a change to any of
-- it bumps the organisation's version, in the changing transaction, so a
-- rendered page is reused only while its version is current
-- (src/server/page_cache.rs). Rows are never deleted: a version only grows,
-- also across a demo reset that gives an organisation its id again.
-- Not versioned, because no page shows them: API sessions, submissions,
-- rate windows, sign-in failures and locks.
CREATE TABLE org_versions (
    org_id  INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);
INSERT INTO org_versions (org_id, version) SELECT id, 1 FROM organisations;
-- An organisation's row is made with it (again, after a reset).
CREATE TRIGGER organisations_version_insert AFTER INSERT ON organisations BEGIN
    INSERT INTO org_versions (org_id, version) VALUES (NEW.id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER organisations_version_update AFTER UPDATE ON organisations BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.id;
END;
CREATE TRIGGER organisations_version_delete AFTER DELETE ON organisations BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.id;
END;
CREATE TRIGGER subscriptions_version_insert AFTER INSERT ON subscriptions BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER subscriptions_version_update AFTER UPDATE ON subscriptions BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER subscriptions_version_delete AFTER DELETE ON subscriptions BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
CREATE TRIGGER memberships_version_insert AFTER INSERT ON memberships BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER memberships_version_update AFTER UPDATE ON memberships BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER memberships_version_delete AFTER DELETE ON memberships BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
CREATE TRIGGER sandbox_tokens_version_insert AFTER INSERT ON sandbox_tokens BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER sandbox_tokens_version_update AFTER UPDATE ON sandbox_tokens BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER sandbox_tokens_version_delete AFTER DELETE ON sandbox_tokens BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
CREATE TRIGGER api_keys_version_insert AFTER INSERT ON api_keys BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER api_keys_version_update AFTER UPDATE ON api_keys BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER api_keys_version_delete AFTER DELETE ON api_keys BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
CREATE TRIGGER oauth_servers_version_insert AFTER INSERT ON oauth_servers BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER oauth_servers_version_update AFTER UPDATE ON oauth_servers BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER oauth_servers_version_delete AFTER DELETE ON oauth_servers BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
CREATE TRIGGER credential_calls_version_insert AFTER INSERT ON credential_calls BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER credential_calls_version_update AFTER UPDATE ON credential_calls BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER credential_calls_version_delete AFTER DELETE ON credential_calls BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
CREATE TRIGGER submission_days_version_insert AFTER INSERT ON submission_days BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER submission_days_version_update AFTER UPDATE ON submission_days BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = NEW.org_id;
END;
CREATE TRIGGER submission_days_version_delete AFTER DELETE ON submission_days BEGIN
    UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.org_id;
END;
-- An admin's own rows show in each of their organisations.
CREATE TRIGGER admins_version_insert AFTER INSERT ON admins BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT org_id FROM memberships WHERE admin_id = NEW.id);
END;
CREATE TRIGGER admins_version_update AFTER UPDATE ON admins BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT org_id FROM memberships WHERE admin_id = NEW.id);
END;
CREATE TRIGGER admins_version_delete AFTER DELETE ON admins BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT org_id FROM memberships WHERE admin_id = OLD.id);
END;
CREATE TRIGGER table_layouts_version_insert AFTER INSERT ON table_layouts BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT org_id FROM memberships WHERE admin_id = NEW.admin_id);
END;
CREATE TRIGGER table_layouts_version_update AFTER UPDATE ON table_layouts BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT org_id FROM memberships WHERE admin_id = NEW.admin_id);
END;
CREATE TRIGGER table_layouts_version_delete AFTER DELETE ON table_layouts BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT org_id FROM memberships WHERE admin_id = OLD.admin_id);
END;
-- The audit log names its organisation.
CREATE TRIGGER audit_log_version_insert AFTER INSERT ON audit_log BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT id FROM organisations WHERE short_name = NEW.org);
END;
CREATE TRIGGER audit_log_version_delete AFTER DELETE ON audit_log BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT id FROM organisations WHERE short_name = OLD.org);
END;
