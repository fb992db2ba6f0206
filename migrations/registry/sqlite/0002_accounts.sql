-- A key belongs to one account. Where an earlier registry let two accounts register the same
-- key, the first registration keeps it.
DELETE FROM publisher_keys WHERE EXISTS (
    SELECT 1 FROM publisher_keys AS first
    WHERE first.key_id = publisher_keys.key_id
      AND (first.created_at < publisher_keys.created_at
           OR (first.created_at = publisher_keys.created_at
               AND first.user_id < publisher_keys.user_id))
);
CREATE UNIQUE INDEX publisher_keys_one_account ON publisher_keys (key_id);

-- Texts a key must sign to be registered: single use, short-lived.
CREATE TABLE key_challenges (
    id         TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    challenge  TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Invites to create one named (non-administrator) account, stored as SHA-256 hashes.
CREATE TABLE invites (
    secret_hash TEXT   PRIMARY KEY,
    username    TEXT   NOT NULL,
    created_by  BIGINT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
