-- "API access" (docs/ROLES.md): a per-admin grant, stored with the
-- membership, instead of a consequence of the role. Every existing Super
-- Admin and API Admin keeps the access their role gave them; everyone else
-- starts without it.
ALTER TABLE memberships ADD COLUMN api_access BIGINT NOT NULL DEFAULT 0 CHECK (api_access IN (0, 1));

UPDATE memberships SET api_access = 1 WHERE role IN ('super_admin', 'api_admin');
