-- The Merkle tree's stored nodes (event_store::tree): the root of every perfect subtree of 64
-- leaves or more over a prefix of the log, so a proof reads a few nodes and at most a few
-- dozen leaf hashes instead of the whole log. Derived from the log: deleting rows loses
-- nothing (the next sync rebuilds them), and a wrong row can only make a proof fail to verify.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,   -- the subtree holds 2^level leaves
    idx   INTEGER NOT NULL,   -- its first leaf is idx * 2^level (the event at that position + 1)
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
