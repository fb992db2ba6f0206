-- How far the relay has moved each outbox (`core`, or `tenant:<tenant id>`) to the transport:
-- every event with a larger `seq` is still to be relayed. Kept here, next to the deliveries it
-- is advanced with, so that relaying never writes to a tenant's data. Supersedes
-- `outbox.relayed_at`, which is no longer written (an outbox without a cursor starts after its
-- last event marked relayed).
CREATE TABLE relay_cursors (
    outbox TEXT PRIMARY KEY,
    seq    BIGINT NOT NULL
);
