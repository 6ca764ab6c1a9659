-- Per-subject data keys (AES-256), wrapped by the master key. Destroying a key (crypto-
-- shredding) clears wrapped_key and stamps destroyed_at: the events stay, the personal data
-- they carry becomes unreadable.
CREATE TABLE data_keys (
    subject      TEXT    PRIMARY KEY,
    wrapped_key  BLOB,
    created_at   INTEGER NOT NULL,     -- microseconds since 1970-01-01 UTC
    destroyed_at INTEGER
) STRICT;
