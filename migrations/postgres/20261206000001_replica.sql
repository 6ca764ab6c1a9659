-- A store that follows a primary (`cairn replicate`): read-only until `cairn promote`. The one
-- row names the source and the largest signed tree head the follower saw published, which
-- `promote` checks the log against.
CREATE TABLE replica (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    source    TEXT    NOT NULL,
    since     BIGINT  NOT NULL,             -- microseconds since 1970-01-01 UTC
    head_size BIGINT  NOT NULL DEFAULT 0,
    head_root TEXT
);
