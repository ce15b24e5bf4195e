-- Each admin's chosen layout of each table (PRODUCT.md §2.5), as JSON.
CREATE TABLE table_layouts (
    admin_id  INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    table_key TEXT NOT NULL,
    layout    TEXT NOT NULL,
    PRIMARY KEY (admin_id, table_key)
);
