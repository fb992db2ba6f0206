-- Plugins installed in this tenant (core-api.md, "Plugins in a tenant"). The install record
-- lives beside the plugin's own tables so that its migrations, their tracking, the record and
-- the `core.plugin.*` event commit in one transaction of this data space.

-- One row per installed plugin. `manifest` is the installed version's manifest (JSON);
-- `config` the tenant's values (JSON, secrets included: redacted on every read).
CREATE TABLE plugin_installs (
    plugin_id    TEXT PRIMARY KEY,
    version      TEXT NOT NULL,
    state        TEXT NOT NULL,
    config       TEXT NOT NULL,
    manifest     TEXT NOT NULL,
    digest       TEXT NOT NULL,
    error        TEXT,
    installed_at BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- Every plugin migration applied here, never run twice; `checksum` is the sha256 of its SQL.
CREATE TABLE plugin_migrations (
    plugin_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (plugin_id, name)
);

-- The tables a plugin's migrations created (what `?purge=true` drops).
CREATE TABLE plugin_tables (
    plugin_id  TEXT NOT NULL,
    table_name TEXT NOT NULL,
    PRIMARY KEY (plugin_id, table_name)
);

-- Permissions plugins registered at install (removed at uninstall).
CREATE TABLE plugin_permissions (
    permission   TEXT PRIMARY KEY,
    plugin_id    TEXT NOT NULL,
    description  TEXT NOT NULL,
    default_role TEXT
);

-- A workspace's overrides of fields marked `workspace-override` (JSON).
CREATE TABLE workspace_plugin_settings (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    plugin_id    TEXT NOT NULL,
    settings     TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, plugin_id)
);
