-- One pipeline per workspace (created when the workspace is), and the deals moving through it.
CREATE TABLE crm_pipelines (
    workspace_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    stages JSON NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE crm_deals (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    contact_id TEXT REFERENCES crm_contacts (id),
    title TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    stage TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX crm_deals_workspace ON crm_deals (workspace_id, stage);
