-- Per-subject data keys (AES-256), wrapped by the master key. Destroying a key (crypto-
-- shredding) clears wrapped_key and stamps destroyed_at: the events stay, the personal data
-- they carry becomes unreadable.
CREATE TABLE data_keys (
    subject      TEXT        PRIMARY KEY,
    wrapped_key  BYTEA,
    created_at   TIMESTAMPTZ NOT NULL,
    destroyed_at TIMESTAMPTZ
);
