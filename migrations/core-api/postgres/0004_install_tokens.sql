-- Tokens of plugin installs (`plxi_…`, stored as SHA-256): what a plugin's backend
-- authenticates with to the core API, e.g. to publish its own events.
CREATE TABLE install_tokens (
    hash       TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    plugin_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX install_tokens_install ON install_tokens (tenant, plugin_id);
