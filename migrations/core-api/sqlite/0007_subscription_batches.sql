-- Whether a subscriber asked for batched pushes (its manifest's `[events] batches = true`,
-- CloudEvents' batched mode must be solicited): 1 takes batches, 0 one event a push.
ALTER TABLE subscriptions ADD COLUMN batches BIGINT NOT NULL DEFAULT 0;
