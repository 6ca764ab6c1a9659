//! The projector runner.
//!
//! A projector's rows and its checkpoint are written in one transaction. The transaction
//! starts by moving the checkpoint from the position this runner read to the new one, and only
//! if it still holds the position read (compare and set), so two runners on one database (a
//! `cairn serve` and a CLI read, say) never apply an event twice: the loser rolls back, forgets
//! its cached state and carries on from the stored checkpoint.
//!
//! The registry `cairn_projectors` names, per projector, the version and generation in service
//! and, during a rebuild, the shadow generation being filled. A rebuild (asked for, or because
//! the code's version differs from the stored one) fills the shadow from position 0 while the
//! views keep pointing at the old generation; once the shadow has caught up, one transaction
//! points the views at it, and the old generation's tables are dropped.

use std::collections::BTreeMap;
use std::time::Instant;

use event_store::{EventStore as _, StoredEvent};
use sha2::{Digest as _, Sha256};

use crate::db::{Db, Table, Tx};
use crate::holdings::Holdings;
use crate::people::People;
use crate::prices::Prices;
use crate::source::Source;
use crate::valuation_history::ValuationHistory;
use crate::{Error, Result};

/// Events read per query.
const PAGE: usize = 20_000;
/// Events absorbed before the rows are written and the checkpoint moves (during catch-up;
/// live batches are written as soon as the source has nothing more). Large, because each write
/// replaces every row of the aggregates touched: a rebuild writes each household about once.
const CHUNK_EVENTS: u64 = 2_000_000;
/// The longest a catch-up absorbs before writing: a crash (or a server that keeps crashing)
/// loses at most this much work, so a large backlog is caught up in bounded batches.
const CHUNK_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// One of this build's projectors.
pub enum Projection {
    Holdings(Holdings),
    Prices(Prices),
    People(People),
    ValuationHistory(ValuationHistory),
}

macro_rules! each {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            Projection::Holdings($p) => $body,
            Projection::Prices($p) => $body,
            Projection::People($p) => $body,
            Projection::ValuationHistory($p) => $body,
        }
    };
}

impl Projection {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Holdings(_) => Holdings::NAME,
            Self::Prices(_) => Prices::NAME,
            Self::People(_) => People::NAME,
            Self::ValuationHistory(_) => ValuationHistory::NAME,
        }
    }

    pub fn version(&self) -> i64 {
        match self {
            Self::Holdings(_) => Holdings::VERSION,
            Self::Prices(_) => Prices::VERSION,
            Self::People(_) => People::VERSION,
            Self::ValuationHistory(_) => ValuationHistory::VERSION,
        }
    }

    pub fn tables(&self) -> &'static [&'static Table] {
        match self {
            Self::Holdings(_) => Holdings::TABLES,
            Self::Prices(_) => Prices::TABLES,
            Self::People(_) => People::TABLES,
            Self::ValuationHistory(_) => ValuationHistory::TABLES,
        }
    }

    /// Tables computed on read rather than stored (no physical table, no view); an older
    /// generation may still have them stored, and they go with it.
    pub fn derived(&self) -> &'static [&'static Table] {
        match self {
            Self::Holdings(_) => crate::holdings::DERIVED,
            Self::Prices(_) | Self::People(_) | Self::ValuationHistory(_) => &[],
        }
    }

    fn wants(&self, event: &StoredEvent) -> bool {
        let category = event.stream_id.category();
        match self {
            Self::Holdings(_) => Holdings::CATEGORIES.contains(&category),
            Self::Prices(_) => Prices::CATEGORIES.contains(&category),
            Self::People(_) => People::CATEGORIES.contains(&category),
            Self::ValuationHistory(_) => ValuationHistory::CATEGORIES.contains(&category),
        }
    }

    fn reset(&mut self) {
        each!(self, p => p.reset())
    }

    /// Lets caches go that a caught-up projector does not need.
    fn trim(&mut self) {
        match self {
            Self::Holdings(h) => h.trim(),
            Self::ValuationHistory(v) => v.trim(),
            Self::Prices(_) | Self::People(_) => {}
        }
    }

    async fn absorb(&mut self, db: &Db, generation: i64, events: &[StoredEvent]) -> Result<()> {
        each!(self, p => p.absorb(db, generation, events).await)
    }

    async fn flush(&mut self, db: &Db, tx: &mut Tx, generation: i64) -> Result<()> {
        each!(self, p => p.flush(db, tx, generation).await)
    }
}

/// A projector's place, as `projections status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub name: &'static str,
    /// The version this build's code would project.
    pub code_version: i64,
    /// The version of the generation in service (0 when never run).
    pub version: i64,
    pub generation: i64,
    pub checkpoint: u64,
    /// The source's head minus the checkpoint, where the head is known.
    pub lag: Option<u64>,
    /// During a rebuild: its generation and checkpoint.
    pub rebuilding: Option<(i64, u64)>,
}

/// How far a catch-up has come, for progress bars.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: u64,
    pub total: Option<u64>,
    pub elapsed: std::time::Duration,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Registration {
    pub(crate) version: i64,
    pub(crate) generation: i64,
    pub(crate) shadow: Option<(i64, i64)>,
}

/// The registry row of `name` (a projector, or a worker keeping tables the same way).
pub(crate) async fn registration(db: &Db, name: &str) -> Result<Option<Registration>> {
    let rows = db
        .fetch(
            "SELECT CAST(version AS TEXT), CAST(generation AS TEXT), CAST(shadow_version AS TEXT), \
             CAST(shadow_generation AS TEXT) FROM cairn_projectors WHERE name = $1",
            &[Some(name.to_owned())],
        )
        .await?;
    Ok(rows.first().map(|r| Registration {
        version: num(&r[0]),
        generation: num(&r[1]),
        shadow: r[3].as_ref().map(|_| (num(&r[2]), num(&r[3]))),
    }))
}

/// Registers `name` with generation 1 of `tables` and a checkpoint at 0. The registry row is
/// inserted first, in the same transaction as the tables, so that of two runners starting at
/// once only one creates them (the other finds the row taken and keeps the first one's).
pub(crate) async fn register(db: &Db, name: &str, version: i64, tables: &[&Table]) -> Result<()> {
    let mut tx = db.begin().await?;
    let inserted = tx
        .execute(
            "INSERT INTO cairn_projectors (name, version, generation) VALUES ($1, CAST($2 AS BIGINT), 1) \
             ON CONFLICT (name) DO NOTHING",
            &[Some(name.to_owned()), Some(version.to_string())],
        )
        .await?;
    if inserted == 0 {
        return Ok(());
    }
    db.create_tables(&mut tx, tables, 1).await?;
    for t in tables {
        db.point_view(&mut tx, t, 1).await?;
    }
    tx.execute(
        "INSERT INTO cairn_projector_checkpoints (name, generation, position) VALUES ($1, 1, 0)",
        &[Some(name.to_owned())],
    )
    .await?;
    tx.commit().await
}

/// The checkpoint of `name` in `generation` (0 when there is none).
pub async fn checkpoint(db: &Db, name: &str, generation: i64) -> Result<u64> {
    let rows = db
        .fetch(
            "SELECT CAST(position AS TEXT) FROM cairn_projector_checkpoints WHERE name = $1 AND generation = CAST($2 AS BIGINT)",
            &[Some(name.to_owned()), Some(generation.to_string())],
        )
        .await?;
    Ok(rows.first().map_or(0, |r| num(&r[0]) as u64))
}

/// Runs one projector against one read-model database.
pub struct Runner {
    db: Db,
    projection: Projection,
    /// The generation and checkpoint that the projector's in-memory state reflects; anything
    /// else found at the top of a step (another runner wrote, or a write of ours failed) means
    /// the state is dropped and reloaded from the saved snapshots.
    cached: Option<(i64, u64)>,
}

fn num(v: &Option<String>) -> i64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0)
}

impl Runner {
    /// Registers the projector on first use (generation 1, views created), and starts a rebuild
    /// when the stored version is not this code's.
    pub async fn open(db: Db, projection: Projection) -> Result<Self> {
        let mut runner = Self { db, projection, cached: None };
        match runner.registration().await? {
            None => runner.register().await?,
            Some(r)
                if r.version != runner.projection.version()
                    && r.shadow.map(|s| s.0) != Some(runner.projection.version()) =>
            {
                tracing::info!(
                    projector = runner.projection.name(),
                    from = r.version,
                    to = runner.projection.version(),
                    "projector version changed; rebuilding into a shadow generation"
                );
                runner.start_shadow().await?;
            }
            Some(_) => {}
        }
        Ok(runner)
    }

    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    async fn registration(&self) -> Result<Option<Registration>> {
        registration(&self.db, self.name()).await
    }

    async fn register(&mut self) -> Result<()> {
        register(&self.db, self.name(), self.projection.version(), self.projection.tables()).await
    }

    /// Starts filling a new shadow generation from position 0 (dropping an unfinished one).
    /// The registry moves only if no other runner changed it since it was read.
    pub async fn start_shadow(&mut self) -> Result<i64> {
        let r =
            self.registration().await?.ok_or_else(|| Error::NotFound(format!("{} is not registered", self.name())))?;
        let generation = r.generation.max(r.shadow.map_or(0, |s| s.1)) + 1;
        let mut tx = self.db.begin().await?;
        let claimed = tx
            .execute(
                "UPDATE cairn_projectors SET shadow_version = CAST($2 AS BIGINT), shadow_generation = CAST($3 AS BIGINT) \
                 WHERE name = $1 AND generation = CAST($4 AS BIGINT) AND COALESCE(shadow_generation, 0) = CAST($5 AS BIGINT)",
                &[
                    Some(self.name().to_owned()),
                    Some(self.projection.version().to_string()),
                    Some(generation.to_string()),
                    Some(r.generation.to_string()),
                    Some(r.shadow.map_or(0, |s| s.1).to_string()),
                ],
            )
            .await?;
        if claimed != 1 {
            // Another runner started (or finished) a rebuild first; follow theirs.
            return Ok(self.target().await?.1);
        }
        if let Some((_, old)) = r.shadow {
            self.drop_generation_in(&mut tx, old).await?;
        }
        self.db.create_tables(&mut tx, self.projection.tables(), generation).await?;
        tx.execute(
            "INSERT INTO cairn_projector_checkpoints (name, generation, position) VALUES ($1, CAST($2 AS BIGINT), 0)",
            &[Some(self.name().to_owned()), Some(generation.to_string())],
        )
        .await?;
        tx.commit().await?;
        Ok(generation)
    }

    async fn drop_generation(&self, generation: i64) -> Result<()> {
        let mut tx = self.db.begin().await?;
        self.drop_generation_in(&mut tx, generation).await?;
        tx.commit().await
    }

    async fn drop_generation_in(&self, tx: &mut Tx, generation: i64) -> Result<()> {
        let cascade = if self.db.backend() == crate::Backend::Postgres { " CASCADE" } else { "" };
        for t in self.projection.tables().iter().chain(self.projection.derived()) {
            tx.execute(&format!("DROP TABLE IF EXISTS {}{cascade}", t.physical(generation)), &[]).await?;
            tx.execute("DELETE FROM cairn_scope_versions WHERE tbl = $1", &[Some(t.physical(generation))]).await?;
        }
        let params = [Some(self.name().to_owned()), Some(generation.to_string())];
        tx.execute(
            "DELETE FROM cairn_projector_checkpoints WHERE name = $1 AND generation = CAST($2 AS BIGINT)",
            &params,
        )
        .await?;
        tx.execute("DELETE FROM cairn_projector_state WHERE name = $1 AND generation = CAST($2 AS BIGINT)", &params)
            .await?;
        Ok(())
    }

    async fn checkpoint(&self, generation: i64) -> Result<u64> {
        checkpoint(&self.db, self.name(), generation).await
    }

    /// The generation being written: the shadow during a rebuild, else the one in service.
    async fn target(&self) -> Result<(Registration, i64)> {
        let r =
            self.registration().await?.ok_or_else(|| Error::NotFound(format!("{} is not registered", self.name())))?;
        Ok((r, r.shadow.map_or(r.generation, |s| s.1)))
    }

    pub async fn status(&self, head: Option<u64>) -> Result<Status> {
        let r = self.registration().await?;
        let (version, generation) = r.map_or((0, 0), |r| (r.version, r.generation));
        let checkpoint = self.checkpoint(generation).await?;
        let rebuilding = match r.and_then(|r| r.shadow) {
            Some((_, g)) => Some((g, self.checkpoint(g).await?)),
            None => None,
        };
        Ok(Status {
            name: self.name(),
            code_version: self.projection.version(),
            version,
            generation,
            checkpoint,
            lag: head.map(|h| h.saturating_sub(checkpoint)),
            rebuilding,
        })
    }

    /// Applies every event the source has now (a rebuild in progress first, then the swap),
    /// calling `progress` after each write. Returns how many events were read.
    pub async fn catch_up(&mut self, source: &mut Source, progress: &mut (dyn FnMut(Progress) + Send)) -> Result<u64> {
        let started = Instant::now();
        let mut read = 0u64;
        loop {
            let (registration, generation) = self.target().await?;
            let checkpoint = self.checkpoint(generation).await?;
            if self.cached != Some((generation, checkpoint)) {
                let log = source.log().cloned();
                self.check_log(log, generation, checkpoint).await?;
                self.projection.reset();
                self.cached = Some((generation, checkpoint));
            }
            let head = source.head().await?;
            let total = head.map(|h| h.saturating_sub(checkpoint) + read);
            let (n, caught_up) = match self.step(source, generation, checkpoint).await {
                Ok(done) => done,
                Err(e) => {
                    // Whatever was absorbed is not in the database: forget it.
                    self.projection.reset();
                    self.cached = None;
                    if matches!(e, Error::Conflict) {
                        tracing::info!(projector = self.name(), "another runner moved the checkpoint; reloading");
                        continue;
                    }
                    return Err(e);
                }
            };
            self.cached = Some((generation, checkpoint + n));
            read += n;
            progress(Progress { done: read, total, elapsed: started.elapsed() });
            if caught_up {
                if registration.shadow.is_some() {
                    match self.swap(registration, generation).await {
                        Ok(()) | Err(Error::Conflict) => continue,
                        Err(e) => return Err(e),
                    }
                }
                return Ok(read);
            }
        }
    }

    /// Refuses a log that is not the one this generation was built from: one shorter than the
    /// checkpoint (truncated, or an older backup restored under newer read models), or whose
    /// event at the checkpoint is not the one applied (rewritten).
    async fn check_log(&self, log: Option<event_store::Store>, generation: i64, checkpoint: u64) -> Result<()> {
        let Some(store) = log else { return Ok(()) };
        let head = store.head().await?.map_or(0, |h| h.position);
        if checkpoint > head {
            return Err(Error::LogMoved(format!(
                "projector {}: its read models reflect the log up to position {checkpoint}, but the log ends at \
                 {head}: the log moved backwards (restored from an older backup, or cut); stopped. Restore the \
                 missing events, or rebuild the read models from this log (`cairn projections rebuild`)",
                self.name()
            )));
        }
        if checkpoint == 0 {
            return Ok(());
        }
        // The position and its hash as one commit left them: another runner (a server beside a
        // CLI command) may have moved both since `checkpoint` was read.
        let applied = self
            .db
            .fetch(
                "SELECT CAST(c.position AS TEXT), a.hash FROM cairn_projector_checkpoints c \
                 JOIN cairn_projector_applied a ON a.name = c.name AND a.generation = c.generation \
                 WHERE c.name = $1 AND c.generation = CAST($2 AS BIGINT)",
                &[Some(self.name().to_owned()), Some(generation.to_string())],
            )
            .await?;
        let row = applied.first();
        let at = row.and_then(|r| r.first().cloned().flatten()).and_then(|p| p.parse::<u64>().ok());
        let (Some(checkpoint @ 1..), Some(saved)) = (at, row.and_then(|r| r.get(1).cloned().flatten())) else {
            return Ok(());
        };
        let logged = store.read_range(checkpoint, checkpoint, 1).await?.pop().map(|e| hex::encode(e.hash));
        if logged.as_deref() != Some(saved.as_str()) {
            return Err(Error::LogMoved(format!(
                "projector {}: the event it applied at position {checkpoint} had hash {saved}, the log's has {}: \
                 the log was rewritten under the read models; stopped. Rebuild them from this log \
                 (`cairn projections rebuild`) once it is the one to trust (`cairn verify --heads`)",
                self.name(),
                logged.unwrap_or_else(|| "none".into())
            )));
        }
        Ok(())
    }

    /// Reads from `checkpoint + 1`, absorbing pages until a chunk is full or the source has
    /// nothing more, then writes. Returns the events read and whether the source ran dry.
    async fn step(&mut self, source: &mut Source, generation: i64, checkpoint: u64) -> Result<(u64, bool)> {
        let mut next = checkpoint + 1;
        let mut last_hash = String::new();
        let mut absorbed = 0u64;
        let mut caught_up = false;
        let prefetch = source.prefetcher();
        let read_ahead = |from: u64| {
            prefetch
                .clone()
                .map(|(store, until)| tokio::spawn(async move { store.read_range(from, until, PAGE).await }))
        };
        let mut ahead: Option<tokio::task::JoinHandle<event_store::Result<Vec<StoredEvent>>>> = None;
        let (mut reading, mut absorbing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        let chunk_started = Instant::now();
        let chunk_full = |absorbed: u64| absorbed >= CHUNK_EVENTS || chunk_started.elapsed() >= CHUNK_TIME;
        loop {
            let t = Instant::now();
            let page = match ahead.take() {
                Some(handle) => handle.await.map_err(|e| Error::Config(format!("read-ahead failed: {e}")))??,
                None => source.read(next, PAGE).await?,
            };
            reading += t.elapsed();
            let t = Instant::now();
            if let Some(last) = page.last() {
                if page.first().map(|e| e.global_position) != Some(next) {
                    return Err(Error::Decode { position: next, problem: "the feed skipped this position".into() });
                }
                next = last.global_position + 1;
                last_hash = hex::encode(&last.hash);
            }
            let full = page.len() == PAGE;
            absorbed += page.len() as u64;
            if full && !chunk_full(absorbed) {
                ahead = read_ahead(next);
            }
            let wanted: Vec<StoredEvent> = page.into_iter().filter(|e| self.projection.wants(e)).collect();
            if !wanted.is_empty() {
                self.projection.absorb(&self.db, generation, &wanted).await?;
            }
            absorbing += t.elapsed();
            if !full {
                caught_up = true;
                break;
            }
            if chunk_full(absorbed) {
                break;
            }
        }
        if absorbed > 0 {
            let t = Instant::now();
            let mut tx = self.db.begin().await?;
            // The checkpoint moves by compare-and-set from the value read: 0 rows means another
            // runner got there first, and all of it rolls back. On PostgreSQL it moves first, so
            // its row lock queues a second runner before it touches any row. On SQLite the rows
            // come first: deriving them then holds no lock, and the write lock (which appends
            // need too) is taken by the first write, which already serializes runners.
            let cas_first = self.db.backend() == crate::Backend::Postgres;
            if !cas_first {
                self.projection.flush(&self.db, &mut tx, generation).await?;
            }
            let moved = tx
                .execute(
                    "UPDATE cairn_projector_checkpoints SET position = CAST($3 AS BIGINT) \
                     WHERE name = $1 AND generation = CAST($2 AS BIGINT) AND position = CAST($4 AS BIGINT)",
                    &[
                        Some(self.name().to_owned()),
                        Some(generation.to_string()),
                        Some((next - 1).to_string()),
                        Some(checkpoint.to_string()),
                    ],
                )
                .await?;
            if moved != 1 {
                return Err(Error::Conflict);
            }
            tx.execute(
                "INSERT INTO cairn_projector_applied (name, generation, hash) VALUES ($1, CAST($2 AS BIGINT), $3) \
                 ON CONFLICT (name, generation) DO UPDATE SET hash = excluded.hash",
                &[Some(self.name().to_owned()), Some(generation.to_string()), Some(last_hash)],
            )
            .await?;
            if cas_first {
                self.projection.flush(&self.db, &mut tx, generation).await?;
            }
            tx.commit().await?;
            tracing::debug!(
                projector = self.name(),
                events = absorbed,
                reading_ms = reading.as_millis() as u64,
                absorbing_ms = absorbing.as_millis() as u64,
                writing_ms = t.elapsed().as_millis() as u64,
                "batch written"
            );
        }
        Ok((absorbed, caught_up))
    }

    /// Points the views at the caught-up shadow and drops the old generation.
    async fn swap(&mut self, r: Registration, generation: i64) -> Result<()> {
        let Some((version, _)) = r.shadow else { return Ok(()) };
        let mut tx = self.db.begin().await?;
        let claimed = tx
            .execute(
                "UPDATE cairn_projectors SET version = CAST($2 AS BIGINT), generation = CAST($3 AS BIGINT), \
                 shadow_version = NULL, shadow_generation = NULL \
                 WHERE name = $1 AND generation = CAST($4 AS BIGINT) AND shadow_generation = CAST($3 AS BIGINT)",
                &[
                    Some(self.name().to_owned()),
                    Some(version.to_string()),
                    Some(generation.to_string()),
                    Some(r.generation.to_string()),
                ],
            )
            .await?;
        if claimed != 1 {
            // Another runner swapped (or restarted the rebuild) first.
            return Err(Error::Conflict);
        }
        for t in self.projection.tables() {
            self.db.point_view(&mut tx, t, generation).await?;
        }
        for t in self.projection.derived() {
            tx.execute(&format!("DROP VIEW IF EXISTS {}", t.name), &[]).await?;
        }
        tx.commit().await?;
        tracing::info!(projector = self.name(), generation, version, "rebuilt generation swapped in");
        self.drop_generation(r.generation).await
    }

    /// SHA-256 per table of the generation in service, and one over them all.
    pub async fn digest(&self) -> Result<(BTreeMap<&'static str, (u64, String)>, String)> {
        let generation = self.registration().await?.map_or(1, |r| r.generation);
        let mut tables = BTreeMap::new();
        for t in self.projection.tables() {
            tables.insert(t.name, self.db.digest(t, generation).await?);
        }
        if !self.projection.derived().is_empty() {
            tables.extend(crate::holdings::derived_digest(&self.db, generation).await?);
        }
        let mut all = Sha256::new();
        for (name, (_, hash)) in &tables {
            all.update(format!("{name}:{hash}\n"));
        }
        Ok((tables, hex::encode(all.finalize())))
    }
}

impl Runner {
    /// A runner that registers nothing: for `projections status`, which must not change anything.
    pub fn inspect(db: Db, projection: Projection) -> Self {
        Self { db, projection, cached: None }
    }
}

/// Keeps one projector caught up with the store until `stop` turns true: catches up, then waits
/// for the store's commit notifications (or its fallback tick). A failure is logged and retried
/// after five seconds, from the stored checkpoint.
/// How long `follow` lets commits gather after being woken, before catching up.
pub const COALESCE: std::time::Duration = std::time::Duration::from_millis(50);

pub async fn follow(
    db: Db,
    store: event_store::Store,
    projection: Projection,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let name = projection.name();
    let mut runner = None;
    let mut projection = Some(projection);
    let mut commits = store.commits();
    let tick = store.fallback_tick().unwrap_or(std::time::Duration::from_secs(30));
    let metrics = store.metrics().clone();
    let mut source = Source::store(store);
    loop {
        commits.borrow_and_update();
        let work = async {
            if runner.is_none() {
                let p = projection.take().expect("a projection until the runner exists");
                runner = Some(Runner::open(db.clone(), p).await?);
            }
            runner.as_mut().expect("set above").catch_up(&mut source, &mut |_| {}).await
        };
        // Shutdown does not wait for a long catch-up: the open transaction, if any, rolls back
        // and the next start resumes from the stored checkpoint.
        let result = tokio::select! {
            r = work => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let pause = match result {
            Ok(_) => {
                if let Some(r) = runner.as_mut() {
                    r.projection.trim();
                }
                // The projector's checkpoint and lag on /metrics, as `projector:<name>`.
                if let Some(status) = match &runner {
                    Some(r) => r.status(None).await.ok(),
                    None => None,
                } {
                    metrics.set_subscriber_position(&format!("projector:{name}"), status.checkpoint);
                }
                tick
            }
            Err(e) => {
                tracing::warn!(projector = name, error = %e, "projector failed; retrying in 5 s");
                if runner.is_none() && projection.is_none() {
                    projection = crate::by_name(name).ok();
                }
                std::time::Duration::from_secs(5)
            }
        };
        let woken = tokio::select! {
            woken = tokio::time::timeout(pause, commits.changed()) => matches!(woken, Ok(Ok(()))),
            _ = stop.wait_for(|s| *s) => return,
        };
        // A commit: let the commits of the next moment gather, so a burst is written as one
        // batch rather than a transaction per command (on SQLite each would also wait for the
        // single writer, as appends do).
        if woken {
            tokio::time::sleep(COALESCE).await;
        }
    }
}
