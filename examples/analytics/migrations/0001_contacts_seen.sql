-- One row per contact CRM announced (`plugin.crm.contact.created`): counting them keeps the
-- workspace's figure up to date without asking CRM, and a repeated delivery adds nothing.
CREATE TABLE analytics_contacts (
    contact_id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    counted_at TEXT NOT NULL
);

CREATE INDEX analytics_contacts_workspace ON analytics_contacts (workspace_id);
