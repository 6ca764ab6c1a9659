-- The Merkle tree's stored nodes (event_store::tree): the root of every perfect subtree of 64
-- leaves or more over a prefix of the log, so a proof reads a few nodes and at most a few
-- dozen leaf hashes instead of the whole log. Derived from the log: deleting rows loses
-- nothing (the next sync rebuilds them), and a wrong row can only make a proof fail to verify.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,   -- the subtree holds 2^level leaves
    idx   BIGINT  NOT NULL,   -- its first leaf is idx * 2^level (the event at that position + 1)
    hash  BYTEA   NOT NULL,
    PRIMARY KEY (level, idx)
);
-- One number per node (level · 2^48 + idx), so a proof's nodes are read with one prepared
-- statement (`= ANY($1)`), planned once per connection.
CREATE UNIQUE INDEX merkle_nodes_key ON merkle_nodes ((level::bigint * 281474976710656 + idx));
