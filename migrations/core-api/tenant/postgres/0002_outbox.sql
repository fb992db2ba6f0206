-- The transactional outbox of this tenant's changes (users, workspaces, members, teams):
-- an event row is written in the same transaction as the change it reports (events-sdk.md, "Delivery"). `seq` is the commit order;
-- the relay sets `relayed_at` once the event has been handed to the transport.

CREATE TABLE outbox (
    seq        BIGSERIAL PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    type       TEXT NOT NULL,
    envelope   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    relayed_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (relayed_at, seq);
