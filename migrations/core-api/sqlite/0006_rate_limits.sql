-- Rate limits that hold across replicas (password attempts): a row per key, holding its
-- theoretical arrival time (GCRA, Unix microseconds). A key whose time has passed is pruned: no row
-- means a full allowance.
CREATE TABLE rate_limits (
    key TEXT   PRIMARY KEY,
    tat BIGINT NOT NULL
);
