-- What a version's package says of itself, kept for the web pages and the API: its README and
-- changelog (Markdown source; rendered and sanitized when served) and its images (screenshots
-- and the README's own images, type-checked by content and size-capped at publish).
CREATE TABLE version_documents (
    plugin_id TEXT NOT NULL REFERENCES plugins (id),
    version   TEXT NOT NULL,
    kind      TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (plugin_id, version, kind)
);

CREATE TABLE version_images (
    plugin_id  TEXT   NOT NULL REFERENCES plugins (id),
    version    TEXT   NOT NULL,
    path       TEXT   NOT NULL,
    media_type TEXT   NOT NULL,
    bytes      BLOB  NOT NULL,
    PRIMARY KEY (plugin_id, version, path)
);

CREATE INDEX plugin_owners_user ON plugin_owners (user_id);
