-- Every admin page's data belongs to one organisation: a change to any of
-- it bumps the organisation's version, in the changing transaction, so a
-- rendered page is reused only while its version is current
-- (src/server/page_cache.rs). Rows are never deleted: a version only grows,
-- also across a demo reset that gives an organisation its id again.
-- Not versioned, because no page shows them: API sessions, submissions,
-- rate windows, sign-in failures and locks.
-- PostgreSQL: the triggers are deferred to commit, so each transaction
-- takes the version row's lock last and holds it only while committing
-- (taken earlier, it would order before locks the transaction takes next).
CREATE TABLE org_versions (
    org_id  BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO org_versions (org_id, version) SELECT id, 1 FROM organisations;

CREATE FUNCTION org_version_of_organisation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE org_versions SET version = version + 1 WHERE org_id = OLD.id;
    ELSE
        INSERT INTO org_versions (org_id, version) VALUES (NEW.id, 1)
            ON CONFLICT (org_id) DO UPDATE SET version = org_versions.version + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION org_version_of_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END);
    RETURN NULL;
END $$;

-- An admin's own rows show in each of their organisations.
CREATE FUNCTION org_version_of_admin() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT org_id FROM memberships
                         WHERE admin_id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END));
    RETURN NULL;
END $$;

CREATE FUNCTION org_version_of_layout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT org_id FROM memberships
                         WHERE admin_id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.admin_id ELSE NEW.admin_id END));
    RETURN NULL;
END $$;

-- The audit log names its organisation.
CREATE FUNCTION org_version_of_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE org_versions SET version = version + 1
        WHERE org_id IN (SELECT id FROM organisations
                         WHERE short_name = (CASE WHEN TG_OP = 'DELETE' THEN OLD.org ELSE NEW.org END));
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER organisations_version AFTER INSERT OR UPDATE OR DELETE ON organisations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_organisation();
CREATE CONSTRAINT TRIGGER subscriptions_version AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_row();
CREATE CONSTRAINT TRIGGER memberships_version AFTER INSERT OR UPDATE OR DELETE ON memberships
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_row();
CREATE CONSTRAINT TRIGGER sandbox_tokens_version AFTER INSERT OR UPDATE OR DELETE ON sandbox_tokens
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_row();
CREATE CONSTRAINT TRIGGER api_keys_version AFTER INSERT OR UPDATE OR DELETE ON api_keys
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_row();
CREATE CONSTRAINT TRIGGER oauth_servers_version AFTER INSERT OR UPDATE OR DELETE ON oauth_servers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_row();
CREATE CONSTRAINT TRIGGER credential_calls_version AFTER INSERT OR UPDATE OR DELETE ON credential_calls
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_row();
CREATE CONSTRAINT TRIGGER submission_days_version AFTER INSERT OR UPDATE OR DELETE ON submission_days
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_row();
CREATE CONSTRAINT TRIGGER admins_version AFTER INSERT OR UPDATE OR DELETE ON admins
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_admin();
CREATE CONSTRAINT TRIGGER table_layouts_version AFTER INSERT OR UPDATE OR DELETE ON table_layouts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_layout();
CREATE CONSTRAINT TRIGGER audit_log_version AFTER INSERT OR UPDATE OR DELETE ON audit_log
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION org_version_of_audit();
