-- Tables of this plugin, created in each tenant's data space at install.
-- Their names must start with `{{table_prefix}}_`.
CREATE TABLE {{table_prefix}}_items (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX {{table_prefix}}_items_workspace ON {{table_prefix}}_items (workspace_id);
