-- Shared data of this tenant's plugins (core-api.md, "Plugin-to-plugin"): JSON values by
-- namespace and key. A namespace belongs to the plugin that wrote it first; who else may read
-- it is declared in that plugin's manifest (`[[shared]] read`).

CREATE TABLE shared_namespaces (
    namespace  TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- `expires_at` (Unix ms) is NULL for values that do not expire.
CREATE TABLE shared_values (
    namespace  TEXT NOT NULL REFERENCES shared_namespaces (namespace) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    expires_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (namespace, key)
);
