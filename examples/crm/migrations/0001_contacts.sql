-- The workspace's contacts. `workspace_id` is filled in by the platform.
CREATE TABLE crm_contacts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    company TEXT,
    created_at TEXT NOT NULL
);

CREATE INDEX crm_contacts_workspace ON crm_contacts (workspace_id, created_at);
CREATE UNIQUE INDEX crm_contacts_email ON crm_contacts (workspace_id, email);
