//! The Merkle tree's nodes stored beside the log (the `merkle_nodes` table), so that a root or
//! a proof ([`crate::merkle`], RFC 6962) reads about log₂ n stored nodes and at most a few
//! chunks of [`CHUNK`] leaf hashes, never the whole log.
//!
//! - The table holds the root of every perfect subtree of [`CHUNK`] leaves or more inside the
//!   synced prefix of the log: `(level, idx)` is the subtree of leaves `idx·2^level ..
//!   (idx+1)·2^level` (leaf i is the chain hash of the event at position i + 1). Every level is
//!   complete up to the same prefix, a multiple of [`CHUNK`], and each sync step commits whole
//!   levels at once, so that holds at every commit.
//! - [`Store::sync_tree`] extends the nodes to the log's last whole chunk, 65,536 leaves per
//!   transaction. `serve`'s head publisher runs it after commits; a root or proof runs it first
//!   when the nodes this process knows of stop short. Appends never wait for it, and a sync
//!   takes the leaves this process just appended from memory instead of reading them back.
//! - A root or proof is planned first (which nodes and chunks it reads), then read in one
//!   statement (on PostgreSQL a prepared one, by key).
//! - The rows are derived. A sync that has chunks to add first checks the last stored chunk
//!   against the log's leaves, and starts over when they differ or the log is shorter than the
//!   tree (a log rewritten or truncated under it). A stale row could only make a proof fail to
//!   verify, never make a false one hold: checking a proof needs nothing but the signed head.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Row as _;

use crate::backend::{on_pool, Store};
use crate::error::{Result, StoreError};
use crate::merkle::{self, node_hash, Hash, Ranges};
use crate::sql::to_i64;
use crate::store::EventStore as _;

/// Stored subtrees hold at least 2^CHUNK_LEVEL leaves.
pub const CHUNK_LEVEL: u32 = 6;
/// The leaves of the smallest stored subtree: a proof reads at most a few chunks of leaves.
pub const CHUNK: u64 = 1 << CHUNK_LEVEL;
/// Chunks a sync step reads and commits at once (65,536 leaves).
const SYNC_CHUNKS: u64 = 1 << (16 - CHUNK_LEVEL);

/// What a process knows of the stored tree, so that a proof within it costs one query: the
/// leaves its stored nodes covered and the log's length when last seen (both only grow, but for
/// a log rewritten under the store, which a missing node then reveals).
#[derive(Debug, Default)]
pub(crate) struct TreeCache {
    synced: AtomicU64,
    length: AtomicU64,
    /// The leaves this process appended lately (at most [`RECENT`]), so a sync that follows
    /// its own appends need not read their hashes back.
    recent: std::sync::Mutex<std::collections::BTreeMap<u64, Hash>>,
}

/// The most recent leaves a process keeps (8 MiB of hashes and keys).
const RECENT: usize = 1 << 18;

impl TreeCache {
    /// Notes leaves just committed.
    pub(crate) fn appended(&self, leaves: impl IntoIterator<Item = (u64, Hash)>) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.extend(leaves);
            while recent.len() > RECENT {
                recent.pop_first();
            }
        }
    }

    /// The leaves at positions `first..=last`, when all of them are kept.
    fn leaves(&self, first: u64, last: u64) -> Option<Vec<Hash>> {
        let recent = self.recent.lock().ok()?;
        let got: Vec<Hash> = recent.range(first..=last).map(|(_, h)| *h).collect();
        (got.len() as u64 == last + 1 - first).then_some(got)
    }

    /// Forgets the leaves up to `last` (synced into stored nodes).
    fn forget(&self, last: u64) {
        if let Ok(mut recent) = self.recent.lock() {
            *recent = recent.split_off(&(last + 1));
        }
    }
}

/// How the root of leaves `lo..hi` is found, when leaves `..synced` have stored nodes.
enum Part {
    /// A stored node: (level, idx).
    Node(u32, u64),
    /// Hashed from the leaves of one chunk (every range RFC 6962 asks for of at most [`CHUNK`]
    /// leaves lies inside one: it starts at a multiple of a power of two at least its length).
    Chunk(u64),
    /// The two halves, split at this leaf.
    Split(u64),
}

fn part(lo: u64, hi: u64, synced: u64) -> Part {
    let n = hi - lo;
    if n >= CHUNK && n.is_power_of_two() && lo % n == 0 && hi <= synced {
        Part::Node(n.trailing_zeros(), lo / n)
    } else if n <= CHUNK {
        Part::Chunk(lo / CHUNK)
    } else {
        Part::Split(lo + merkle::split(n))
    }
}

/// A first pass over a computation: records the nodes and chunks it would read.
struct Plan {
    synced: u64,
    nodes: RefCell<BTreeSet<(u32, u64)>>,
    chunks: RefCell<BTreeSet<u64>>,
}

impl Ranges for Plan {
    fn range_root(&self, lo: u64, hi: u64) -> Hash {
        match part(lo, hi, self.synced) {
            Part::Node(level, idx) => {
                self.nodes.borrow_mut().insert((level, idx));
            }
            Part::Chunk(c) => {
                self.chunks.borrow_mut().insert(c);
            }
            Part::Split(k) => {
                self.range_root(lo, k);
                self.range_root(k, hi);
            }
        }
        [0; 32]
    }
}

/// The second pass: the nodes and chunks the plan named, read.
struct Loaded {
    synced: u64,
    nodes: HashMap<(u32, u64), Hash>,
    chunks: HashMap<u64, Vec<Hash>>,
}

impl Ranges for Loaded {
    fn range_root(&self, lo: u64, hi: u64) -> Hash {
        match part(lo, hi, self.synced) {
            // Loading made sure every planned node and chunk is here.
            Part::Node(level, idx) => self.nodes.get(&(level, idx)).copied().unwrap_or_default(),
            Part::Chunk(c) => {
                let base = c * CHUNK;
                let leaves = self.chunks.get(&c).map_or(&[][..], Vec::as_slice);
                merkle::root(leaves.get((lo - base) as usize..(hi - base) as usize).unwrap_or_default())
            }
            Part::Split(k) => node_hash(&self.range_root(lo, k), &self.range_root(k, hi)),
        }
    }
}

/// One statement reading the nodes `wanted`: a primary-key lookup each, joined by `UNION ALL`
/// (a row-value `IN` list let PostgreSQL scan the whole table). Levels and indexes are numbers
/// this module computed, written as literals.
fn select_nodes(wanted: &[(u32, u64)]) -> String {
    wanted
        .iter()
        .map(|(l, i)| format!("SELECT level, idx, hash FROM merkle_nodes WHERE level = {l} AND idx = {i}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

fn to_hash(position: u64, bytes: &[u8]) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Decode { position, problem: format!("a hash of {} bytes, not 32", bytes.len()) })
}

fn shorter(size: u64, length: u64) -> StoreError {
    StoreError::Decode { position: length + 1, problem: format!("the log holds {length} events, not {size}") }
}

impl Store {
    /// The Merkle root (RFC 6962 MTH) of the log's first `size` events.
    pub async fn tree_root(&self, size: u64) -> Result<Hash> {
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        self.over_tree(size, |t| t.range_root(0, size)).await
    }

    /// The inclusion proof (RFC 6962 §2.1.1) of the event at `position` in the tree of the
    /// log's first `size` events.
    pub async fn tree_inclusion_proof(&self, position: u64, size: u64) -> Result<Vec<Hash>> {
        if position == 0 || position > size {
            return Err(StoreError::Decode { position, problem: format!("not an event of a log of {size}") });
        }
        self.over_tree(size, |t| merkle::inclusion_proof_in(t, size, position - 1).unwrap_or_default()).await
    }

    /// The consistency proof (RFC 6962 §2.1.2) that the log's first `size` events extend its
    /// first `from` (1 ≤ from ≤ size; empty when they are equal).
    pub async fn tree_consistency_proof(&self, from: u64, size: u64) -> Result<Vec<Hash>> {
        if from == 0 || from > size {
            return Err(StoreError::Decode { position: from, problem: format!("not a size between 1 and {size}") });
        }
        self.over_tree(size, |t| merkle::consistency_proof_in(t, size, from).unwrap_or_default()).await
    }

    /// Runs `f` over the tree of the first `size` events: once to learn what it reads, then
    /// over those nodes and leaves, read in one query. Syncs first only when the stored nodes
    /// known to this process stop short of `size`'s whole chunks.
    async fn over_tree<R>(&self, size: u64, f: impl Fn(&dyn Ranges) -> R) -> Result<R> {
        let cache = self.tree_cache();
        for attempt in 0..2 {
            let mut synced = cache.synced.load(Ordering::Relaxed);
            if synced < size / CHUNK * CHUNK {
                synced = self.sync().await?.0;
            }
            if size > cache.length.load(Ordering::Relaxed) {
                let length = self.head().await?.map_or(0, |h| h.position);
                cache.length.fetch_max(length, Ordering::Relaxed);
                if size > length {
                    return Err(shorter(size, length));
                }
            }
            let synced = synced.min(size);
            let plan = Plan { synced, nodes: RefCell::default(), chunks: RefCell::default() };
            f(&plan);
            let wanted: Vec<(u32, u64)> = plan.nodes.into_inner().into_iter().collect();
            let ranges: Vec<(u64, u64)> =
                plan.chunks.into_inner().into_iter().map(|c| (c * CHUNK + 1, ((c + 1) * CHUNK).min(size))).collect();
            let (nodes, leaves) = self.fetch(&wanted, &ranges).await?;
            if nodes.len() != wanted.len() {
                // The stored tree is not what this process knew (rebuilt elsewhere): sync again.
                cache.synced.store(0, Ordering::Relaxed);
                if attempt == 0 {
                    continue;
                }
                return Err(StoreError::Decode {
                    position: synced,
                    problem: "the stored tree changed while it was read (the log was rewritten?)".into(),
                });
            }
            let mut chunks = HashMap::new();
            for (first, last) in ranges {
                let got: Vec<Hash> = leaves.range(first..=last).map(|(_, h)| *h).collect();
                if got.len() as u64 != last + 1 - first {
                    return Err(shorter(last, first - 1 + got.len() as u64));
                }
                chunks.insert((first - 1) / CHUNK, got);
            }
            return Ok(f(&Loaded { synced, nodes, chunks }));
        }
        unreachable!("the second attempt returns")
    }

    /// The stored nodes of `wanted` that exist, and the leaves of the positions in `ranges`
    /// (inclusive), in one statement.
    async fn fetch(
        &self,
        wanted: &[(u32, u64)],
        ranges: &[(u64, u64)],
    ) -> Result<(HashMap<(u32, u64), Hash>, std::collections::BTreeMap<u64, Hash>)> {
        let (mut nodes, mut leaves) = (HashMap::new(), std::collections::BTreeMap::new());
        if wanted.is_empty() && ranges.is_empty() {
            return Ok((nodes, leaves));
        }
        let positions: Vec<u64> = ranges.iter().flat_map(|&(first, last)| first..=last).collect();
        let rows: Vec<(i32, i64, Vec<u8>)> = match self {
            Store::Sqlite(s) => {
                // Levels, indexes and positions are numbers computed here, written as literals
                // (SQLite plans a statement in microseconds).
                let mut parts = Vec::new();
                if !wanted.is_empty() {
                    parts.push(select_nodes(wanted));
                }
                if !positions.is_empty() {
                    let listed: Vec<String> = positions.iter().map(u64::to_string).collect();
                    parts.push(format!(
                        "SELECT -1, global_position, hash FROM events WHERE global_position IN ({})",
                        listed.join(", ")
                    ));
                }
                sqlx::query_as(&parts.join(" UNION ALL ")).fetch_all(s.pool()).await?
            }
            Store::Postgres(s) => {
                // One prepared statement: the nodes by their one-number key (an index of its
                // own), the leaves by position. Equality on the keys is planned as the few rows
                // it is even before a freshly loaded table has statistics (a range was estimated
                // at 70,000 rows and read in parallel, 30 ms).
                const SQL: &str = "SELECT level, idx, hash FROM merkle_nodes \
                     WHERE (level::bigint * 281474976710656 + idx) = ANY($1) \
                     UNION ALL SELECT -1, global_position, hash FROM events WHERE global_position = ANY($2)";
                let keys: Vec<i64> = wanted.iter().map(|&(l, i)| (i64::from(l) << 48) + to_i64(i)).collect();
                let positions: Vec<i64> = positions.iter().map(|&p| to_i64(p)).collect();
                sqlx::query_as(SQL).bind(keys).bind(positions).fetch_all(s.pool()).await?
            }
        };
        for (level, idx, hash) in rows {
            if level < 0 {
                leaves.insert(idx as u64, to_hash(idx as u64, &hash)?);
            } else {
                let (level, idx) = (level as u32, idx as u64);
                nodes.insert((level, idx), to_hash(idx << level, &hash)?);
            }
        }
        Ok((nodes, leaves))
    }

    /// Brings the stored nodes up to the log's last whole chunk; returns how many leaves they
    /// cover. Two small queries when nothing was appended since the last call.
    pub async fn sync_tree(&self) -> Result<u64> {
        Ok(self.sync().await?.0)
    }

    /// [`Store::sync_tree`], and the log's length it synced to.
    async fn sync(&self) -> Result<(u64, u64)> {
        let length = self.head().await?.map_or(0, |h| h.position);
        let mut chunks = self.stored_chunks().await?;
        let target = length / CHUNK;
        // Before building on the stored nodes, check the last against the log.
        if chunks > 0 && chunks != target {
            let last = chunks - 1;
            let held = self.nodes(&[(CHUNK_LEVEL, last)]).await?.remove(&(CHUNK_LEVEL, last));
            let now = if chunks * CHUNK <= length {
                Some(merkle::root(&self.leaf_hashes(last * CHUNK + 1, chunks * CHUNK).await?))
            } else {
                None
            };
            if held.is_none() || held != now {
                tracing::warn!(chunks, length, "the stored Merkle tree no longer matches the log; rebuilding it");
                self.clear_tree().await?;
                chunks = 0;
            }
        }
        while chunks < target {
            let end = target.min(chunks + SYNC_CHUNKS);
            let (first, last) = (chunks * CHUNK + 1, end * CHUNK);
            let leaves = match self.tree_cache().leaves(first, last) {
                Some(leaves) => leaves,
                None => self.leaf_hashes(first, last).await?,
            };
            if leaves.len() as u64 != (end - chunks) * CHUNK {
                return Err(shorter(end * CHUNK, chunks * CHUNK + leaves.len() as u64));
            }
            // Level by level: the new nodes, and the parents they complete (with the stored
            // left sibling of the first when it starts a level at an odd index).
            let mut rows: Vec<(u32, u64, Hash)> = Vec::new();
            let mut level_nodes: Vec<Hash> = leaves.chunks(CHUNK as usize).map(merkle::root).collect();
            let (mut level, mut first) = (CHUNK_LEVEL, chunks);
            loop {
                rows.extend(level_nodes.iter().enumerate().map(|(i, h)| (level, first + i as u64, *h)));
                let end_idx = first + level_nodes.len() as u64;
                let (parent_lo, parent_hi) = (first / 2, end_idx / 2);
                if parent_hi <= parent_lo {
                    break;
                }
                let mut children = Vec::with_capacity(level_nodes.len() + 1);
                if first % 2 == 1 {
                    let left =
                        self.nodes(&[(level, first - 1)]).await?.remove(&(level, first - 1)).ok_or_else(|| {
                            StoreError::Decode {
                                position: (first - 1) << level,
                                problem: format!("the stored tree lacks node ({level}, {})", first - 1),
                            }
                        })?;
                    children.push(left);
                }
                children.extend_from_slice(&level_nodes);
                level_nodes = children.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
                (level, first) = (level + 1, parent_lo);
            }
            self.insert_nodes(&rows).await?;
            self.tree_cache().forget(end * CHUNK);
            chunks = end;
        }
        let cache = self.tree_cache();
        cache.synced.store(chunks * CHUNK, Ordering::Relaxed);
        cache.length.fetch_max(length, Ordering::Relaxed);
        Ok((chunks * CHUNK, length))
    }

    /// How many nodes are stored.
    pub async fn tree_nodes(&self) -> Result<u64> {
        let n: i64 =
            on_pool!(self, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM merkle_nodes").fetch_one(pool).await?);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// How many whole chunks have stored nodes.
    async fn stored_chunks(&self) -> Result<u64> {
        const SQL: &str = "SELECT MAX(idx) FROM merkle_nodes WHERE level = $1";
        let max: Option<i64> =
            on_pool!(self, |pool| sqlx::query_scalar(SQL).bind(CHUNK_LEVEL as i32).fetch_one(pool).await?);
        Ok(max.map_or(0, |m| u64::try_from(m).unwrap_or(0) + 1))
    }

    /// The stored nodes of `wanted` that exist.
    async fn nodes(&self, wanted: &[(u32, u64)]) -> Result<HashMap<(u32, u64), Hash>> {
        let mut out = HashMap::with_capacity(wanted.len());
        for batch in wanted.chunks(200) {
            let sql = select_nodes(batch);
            let rows: Vec<(i32, i64, Vec<u8>)> = on_pool!(self, |pool| {
                sqlx::query(&sql)
                    .fetch_all(pool)
                    .await?
                    .into_iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .collect::<Result<_, sqlx::Error>>()?
            });
            for (level, idx, hash) in rows {
                let (level, idx) = (level as u32, idx as u64);
                out.insert((level, idx), to_hash(idx << level, &hash)?);
            }
        }
        Ok(out)
    }

    /// The chain hashes of the events at positions `first..=last`, in order.
    async fn leaf_hashes(&self, first: u64, last: u64) -> Result<Vec<Hash>> {
        const SQL: &str =
            "SELECT global_position, hash FROM events WHERE global_position >= $1 AND global_position <= $2 \
             ORDER BY global_position";
        let rows: Vec<(i64, Vec<u8>)> = on_pool!(self, |pool| {
            sqlx::query_as(SQL).bind(to_i64(first)).bind(to_i64(last)).fetch_all(pool).await?
        });
        rows.into_iter()
            .enumerate()
            .map(|(i, (position, hash))| {
                let position = position as u64;
                if position != first + i as u64 {
                    return Err(StoreError::Decode {
                        position: first + i as u64,
                        problem: "missing from the log".into(),
                    });
                }
                to_hash(position, &hash)
            })
            .collect()
    }

    /// Stores nodes, all in one transaction (levels whole, so every level covers the same
    /// prefix at every commit).
    async fn insert_nodes(&self, rows: &[(u32, u64, Hash)]) -> Result<()> {
        const PER_STATEMENT: usize = 1_000;
        macro_rules! insert {
            ($tx:expr, $db:ty) => {
                for batch in rows.chunks(PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO merkle_nodes (level, idx, hash) ");
                    q.push_values(batch, |mut b, (level, idx, hash)| {
                        b.push_bind(*level as i32).push_bind(to_i64(*idx)).push_bind(hash.to_vec());
                    });
                    q.push(" ON CONFLICT (level, idx) DO NOTHING");
                    q.build().execute(&mut *$tx).await?;
                }
            };
        }
        match self {
            Store::Sqlite(s) => {
                let _writer = s.write_lock().lock().await;
                let mut tx = s.pool().begin_with("BEGIN IMMEDIATE").await?;
                insert!(tx, sqlx::Sqlite);
                tx.commit().await?;
            }
            Store::Postgres(s) => {
                let mut tx = s.pool().begin().await?;
                insert!(tx, sqlx::Postgres);
                tx.commit().await?;
            }
        }
        Ok(())
    }

    fn tree_cache(&self) -> &TreeCache {
        match self {
            Store::Sqlite(s) => s.tree_cache(),
            Store::Postgres(s) => s.tree_cache(),
        }
    }

    /// Forgets every stored node (the next sync rebuilds them from the log).
    async fn clear_tree(&self) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM merkle_nodes").execute(pool).await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_of_a_chunk_or_less_lies_inside_one_chunk() {
        // What `Part::Chunk` relies on, for every range the RFC's recursions visit.
        struct Check;
        impl Ranges for Check {
            fn range_root(&self, lo: u64, hi: u64) -> Hash {
                if hi - lo <= CHUNK {
                    assert_eq!(lo / CHUNK, (hi - 1) / CHUNK, "{lo}..{hi}");
                } else {
                    let k = lo + merkle::split(hi - lo);
                    self.range_root(lo, k);
                    self.range_root(k, hi);
                }
                [0; 32]
            }
        }
        for size in [1, 255, 256, 257, 300, 511, 512, 513, 1000, 4097, 70_001] {
            for m in [0, 1, size / 3, size / 2, size - 1] {
                merkle::inclusion_proof_in(&Check, size, m);
                merkle::consistency_proof_in(&Check, size, m.max(1));
            }
            Check.range_root(0, size);
        }
    }
}
