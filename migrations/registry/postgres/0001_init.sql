-- Registry schema (PostgreSQL). Times are Unix milliseconds.
-- Booleans are BIGINT 0/1: the `Any` driver of sqlx cannot decode SQLite booleans.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    admin         BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE tokens (
    id          TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    name        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL UNIQUE,
    scopes      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE publisher_keys (
    user_id    BIGINT NOT NULL REFERENCES users (id),
    key_id     TEXT   NOT NULL,
    public_key TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (user_id, key_id)
);

CREATE TABLE plugins (
    id                    TEXT   PRIMARY KEY,
    name                  TEXT   NOT NULL,
    description           TEXT   NOT NULL,
    keywords              TEXT   NOT NULL,
    categories            TEXT   NOT NULL,
    latest                TEXT,
    downloads             BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    deprecation_message   TEXT,
    deprecation_successor TEXT
);

CREATE TABLE plugin_owners (
    plugin_id TEXT   NOT NULL REFERENCES plugins (id),
    user_id   BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (plugin_id, user_id)
);

CREATE TABLE versions (
    plugin_id      TEXT    NOT NULL REFERENCES plugins (id),
    version_key    TEXT    NOT NULL,
    version        TEXT    NOT NULL,
    manifest       TEXT    NOT NULL,
    digest         TEXT    NOT NULL,
    content_digest TEXT    NOT NULL,
    signature      TEXT,
    key_id         TEXT,
    size           BIGINT  NOT NULL,
    yanked         BIGINT  NOT NULL DEFAULT 0,
    yank_reason    TEXT,
    published_at   BIGINT  NOT NULL,
    published_by   BIGINT  NOT NULL REFERENCES users (id),
    downloads      BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (plugin_id, version_key)
);
CREATE INDEX versions_published ON versions (published_at);
CREATE INDEX versions_digest ON versions (digest);

CREATE TABLE reviews (
    plugin_id  TEXT    NOT NULL REFERENCES plugins (id),
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    rating     BIGINT  NOT NULL,
    body       TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (plugin_id, user_id)
);

-- Blobs being written: a row is inserted before the blob and removed with the version's
-- commit, so blobs of uploads that never committed can be found and deleted after a crash.
CREATE TABLE pending_blobs (
    digest     TEXT   NOT NULL,
    upload_id  TEXT   PRIMARY KEY,
    created_at BIGINT NOT NULL
);

-- Publish rate limit per user (GCRA: theoretical arrival time).
CREATE TABLE publish_limits (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    tat     BIGINT NOT NULL
);
