-- Event delivery (events-sdk.md, "Delivery"): who subscribes to what, what is still to be
-- delivered to whom, and what could not be delivered (the dead letter store).

-- A plugin install's subscription in one tenant: its event endpoint, the secret pushes are
-- signed with, and its patterns (space-separated types or `prefix.*`).
CREATE TABLE subscriptions (
    tenant          TEXT NOT NULL,
    plugin_id       TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    secret          TEXT NOT NULL,
    patterns        TEXT NOT NULL,
    workspace_aware BIGINT NOT NULL,
    active          BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant, plugin_id)
);

-- One event for one subscriber, until it is delivered or dead-lettered. Per (tenant, plugin)
-- the oldest row is delivered first; `lease_until` claims a row for one dispatcher.
CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    event_id        TEXT NOT NULL,
    tenant          TEXT NOT NULL,
    plugin_id       TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    envelope        TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL,
    last_error      TEXT,
    dead_letter_id  TEXT,
    created_at      BIGINT NOT NULL,
    UNIQUE (tenant, plugin_id, event_id)
);
CREATE INDEX deliveries_subscriber ON deliveries (tenant, plugin_id, id);

-- Deliveries that failed every attempt. States: PENDING, RETRYING, RESOLVED, DISCARDED.
CREATE TABLE dead_letters (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL,
    tenant           TEXT NOT NULL,
    plugin_id        TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    envelope         TEXT NOT NULL,
    error            TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    state            TEXT NOT NULL,
    first_attempt_at BIGINT NOT NULL,
    failed_at        BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX dead_letters_state ON dead_letters (state, failed_at);
