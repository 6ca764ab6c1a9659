-- The append-only event log. global_position is the rowid: assigned by the store, gap-free.
CREATE TABLE events (
    global_position INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    event_id        BLOB    NOT NULL UNIQUE,      -- UUID v7, 16 bytes
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    payload         BLOB    NOT NULL,             -- MessagePack
    metadata        BLOB    NOT NULL,             -- MessagePack
    recorded_at     INTEGER NOT NULL,             -- microseconds since 1970-01-01 UTC, never decreasing
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL,
    UNIQUE (stream_id, stream_version)
) STRICT;

CREATE INDEX events_recorded_at ON events (recorded_at);

-- The database itself refuses to change or remove an event.
CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'cairn: events are append-only; UPDATE is refused');
END;

CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'cairn: events are append-only; DELETE is refused');
END;

-- Positions of named subscribers (the NATS relay, later projectors that run outside a transaction).
CREATE TABLE checkpoints (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
