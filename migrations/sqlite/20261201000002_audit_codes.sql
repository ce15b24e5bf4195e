-- The audit log stores codes for action and interface (result already was
-- `success`/`failure`); the labels are shown from the codes, so rewording a
-- label leaves old entries alone. Rows written with the old labels become
-- codes; anything else is kept as it is.
UPDATE audit_log SET action = CASE action
    WHEN 'Sign In' THEN 'sign_in'
    WHEN 'Sign Out' THEN 'sign_out'
    WHEN 'Create' THEN 'create'
    WHEN 'Update' THEN 'update'
    WHEN 'Delete' THEN 'delete'
    WHEN 'Regenerate' THEN 'regenerate'
    WHEN 'Reveal' THEN 'reveal'
    WHEN 'Enable' THEN 'enable'
    WHEN 'Disable' THEN 'disable'
    WHEN 'Access' THEN 'access'
    ELSE action
END
WHERE action IN ('Sign In', 'Sign Out', 'Create', 'Update', 'Delete',
                 'Regenerate', 'Reveal', 'Enable', 'Disable', 'Access');

UPDATE audit_log SET interface = CASE interface
    WHEN 'Admin UI' THEN 'admin_ui'
    WHEN 'API' THEN 'api'
    WHEN 'CLI' THEN 'cli'
    ELSE interface
END
WHERE interface IN ('Admin UI', 'API', 'CLI');
