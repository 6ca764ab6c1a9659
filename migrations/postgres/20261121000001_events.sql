-- The append-only event log. global_position is assigned by the store under a
-- transaction-scoped advisory lock (see cairn_append_begin), so positions are gap-free and
-- become visible in commit order: a reader of "position > checkpoint" never skips one.
CREATE TABLE events (
    global_position BIGINT      PRIMARY KEY,
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL,
    event_id        UUID        NOT NULL UNIQUE,
    event_type      TEXT        NOT NULL,
    schema_version  INTEGER     NOT NULL,
    payload         BYTEA       NOT NULL,   -- MessagePack
    metadata        BYTEA       NOT NULL,   -- MessagePack
    recorded_at     TIMESTAMPTZ NOT NULL,   -- never decreasing along the log
    prev_hash       BYTEA       NOT NULL,
    hash            BYTEA       NOT NULL,
    UNIQUE (stream_id, stream_version)
);

CREATE INDEX events_recorded_at ON events (recorded_at, global_position);

-- The database itself refuses to change or remove an event.
CREATE FUNCTION cairn_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'cairn: events are append-only; % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION cairn_refuse_change();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_refuse_change();

-- Live subscribers LISTEN on cairn_events; every committed insert wakes them.
CREATE FUNCTION cairn_notify_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cairn_events', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION cairn_notify_commit();

-- The first step of every append, in one round trip: take the append lock (held until the
-- transaction ends), then read the log's head and the stream's version under it.
CREATE FUNCTION cairn_append_begin(p_stream TEXT)
RETURNS TABLE (head_position BIGINT, head_hash BYTEA, head_recorded_at TIMESTAMPTZ, stream_version BIGINT)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(2029861751);
    RETURN QUERY
        SELECT h.global_position, h.hash, h.recorded_at,
               (SELECT COALESCE(MAX(s.stream_version), 0) FROM events s WHERE s.stream_id = p_stream)
        FROM (SELECT 1) AS one
        LEFT JOIN LATERAL (
            SELECT e.global_position, e.hash, e.recorded_at FROM events e
            ORDER BY e.global_position DESC LIMIT 1
        ) h ON TRUE;
END
$$;

-- Positions of named subscribers (the NATS relay, later projectors that run outside a transaction).
CREATE TABLE checkpoints (
    name       TEXT        PRIMARY KEY,
    position   BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
