//! The read-model database (SQLite or PostgreSQL) and the tables, described once.
//!
//! Every read-model table is described by a [`Table`]; its DDL, bulk inserts, queries and
//! digest are generated from that description for either backend. A table lives in a physical
//! table per *generation* (`lots_g3`), and a view with the table's own name (`lots`) points at
//! the generation in service, so a rebuild can fill the next generation while queries keep
//! reading the current one, and swap the view when it has caught up.
//!
//! Values travel as text: a row is `Vec<Option<String>>` in column order, decimals as their
//! normalized string, dates as `YYYY-MM-DD`, instants as RFC 3339 with microseconds and `Z`,
//! booleans as `1`/`0`. Bulk writes are one statement per thousands of rows: multi-row
//! `VALUES (?, …), …` on SQLite (up to 32,000 parameters; SQLite's JSON functions would parse
//! each row once per column), and on PostgreSQL one text array per column, `unnest`ed and cast.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sha2::{Digest as _, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Row as _, Sqlite, SqlitePool, Transaction};

use crate::{Error, Result};

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Dec,
    /// An amount of money: stored exactly like [`Kind::Dec`] (same column types, casts and
    /// canonical text), marked so that readers can show it with two decimals.
    Money,
    Date,
    Time,
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

pub const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// A read-model table: its columns, its primary key (also the canonical order for digests) and
/// the column that scopes rows to one aggregate (a household, a symbol, a user), so that a
/// projector can replace everything it derived for that aggregate at once.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    pub key: &'static [&'static str],
    pub scope: &'static str,
    /// A time series on its `day` column: a TimescaleDB hypertable where the extension can be
    /// created, else a table range-partitioned by month with a BRIN index (PostgreSQL only).
    pub time_series: bool,
}

impl Table {
    pub fn physical(&self, generation: i64) -> String {
        format!("{}_g{generation}", self.name)
    }

    fn kind_of(&self, column: &str) -> Kind {
        self.columns.iter().find(|c| c.name == column).map_or(Kind::Text, |c| c.kind)
    }
}

/// One row, in column order.
pub type Row = Vec<Option<String>>;

/// A value as it is stored (see the module documentation).
pub trait Cell {
    fn cell(&self) -> Option<String>;
}

impl Cell for str {
    fn cell(&self) -> Option<String> {
        Some(self.to_owned())
    }
}
impl Cell for String {
    fn cell(&self) -> Option<String> {
        Some(self.clone())
    }
}
impl Cell for Decimal {
    fn cell(&self) -> Option<String> {
        Some(self.normalize().to_string())
    }
}
impl Cell for NaiveDate {
    fn cell(&self) -> Option<String> {
        Some(self.format("%Y-%m-%d").to_string())
    }
}
impl Cell for DateTime<Utc> {
    fn cell(&self) -> Option<String> {
        Some(self.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    }
}
impl Cell for bool {
    fn cell(&self) -> Option<String> {
        Some(if *self { "1" } else { "0" }.to_owned())
    }
}
macro_rules! int_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn cell(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
int_cell!(i32, i64, u32, u64, usize);
impl<T: Cell> Cell for Option<T> {
    fn cell(&self) -> Option<String> {
        self.as_ref().and_then(Cell::cell)
    }
}
impl<T: Cell + ?Sized> Cell for &T {
    fn cell(&self) -> Option<String> {
        (**self).cell()
    }
}

/// Builds a [`Row`] from values of mixed types.
#[macro_export]
macro_rules! row {
    ($($v:expr),* $(,)?) => { vec![$($crate::db::Cell::cell(&$v)),*] };
}

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to the read-model database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: Pool,
    /// Whether the TimescaleDB extension could be created (decided once, at the first table).
    timescale: Arc<Mutex<Option<bool>>>,
    /// A read transaction that [`Db::fetch`] runs in, for a consistent view (see [`Db::pinned`]).
    pinned: Option<Arc<tokio::sync::Mutex<Tx>>>,
    /// SQLite: connections that only read (`query_only`), where [`Db::pinned`] snapshots are
    /// taken, so that queries never wait for a connection the projectors hold while they write
    /// (WAL readers are not blocked by the writer; only a shared pool made them wait).
    readers: Option<SqlitePool>,
}

/// Connections of a SQLite read-model database kept for read snapshots (see `Db::readers`).
const SQLITE_READERS: u32 = 8;

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction.
#[derive(Debug)]
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same sqlx code on either backend's executor.
macro_rules! on {
    ($target:expr, $c:ident => $body:expr) => {
        match $target {
            Pool::Sqlite($c) => $body,
            Pool::Postgres($c) => $body,
        }
    };
}
macro_rules! on_tx {
    ($target:expr, $c:ident => $body:expr) => {
        match $target {
            Tx::Sqlite($c) => $body,
            Tx::Postgres($c) => $body,
        }
    };
}

/// Rows per bulk statement.
const CHUNK: usize = 5_000;
/// Rows per PostgreSQL bulk statement (bound as one array per column).
const PG_CHUNK: usize = 20_000;
/// Parameters per SQLite statement (its limit is 32,766).
const SQLITE_PARAMS: usize = 32_000;

impl Db {
    /// Opens `sqlite://PATH` or `postgres://…`, and creates the projector registry tables if
    /// missing. A SQLite file is created when `create` is set. An in-memory SQLite database is
    /// refused: a runner reads through the pool while its write transaction is open, which one
    /// connection cannot do.
    pub async fn open(url: &str, create: bool) -> Result<Self> {
        let bad = |problem: String| Error::Config(format!("read-model database {url}: {problem}"));
        let mut readers = None;
        let pool = if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(bad("an in-memory database cannot hold read models; give a file (sqlite://PATH)".into()));
            }
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| bad(e.to_string()))?
                .create_if_missing(create)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .row_buffer_size(4096)
                .pragma("cache_size", event_store::SQLITE_CACHE_SIZE)
                .pragma("soft_heap_limit", event_store::SQLITE_SOFT_HEAP_LIMIT);
            if create {
                if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| bad(format!("cannot create {}: {e}", dir.display())))?;
                }
            }
            let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await?;
            readers = Some(
                SqlitePoolOptions::new()
                    .max_connections(SQLITE_READERS)
                    .connect_lazy_with(options.create_if_missing(false).pragma("query_only", "ON")),
            );
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
            let pool = event_store::connect_pool(options, 8).await?;
            Pool::Postgres(pool)
        } else {
            return Err(bad("expected sqlite://PATH or postgres://USER@HOST:PORT/DB".into()));
        };
        let db = Self { pool, timescale: Arc::default(), pinned: None, readers };
        db.create_registry().await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    async fn create_registry(&self) -> Result<()> {
        let blob = match self.backend() {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        };
        let mut statements = Vec::new();
        for sql in [
            "CREATE TABLE IF NOT EXISTS cairn_projectors (
                name TEXT PRIMARY KEY,
                version BIGINT NOT NULL,
                generation BIGINT NOT NULL,
                shadow_version BIGINT,
                shadow_generation BIGINT
            )"
            .to_owned(),
            "CREATE TABLE IF NOT EXISTS cairn_projector_checkpoints (
                name TEXT NOT NULL,
                generation BIGINT NOT NULL,
                position BIGINT NOT NULL,
                PRIMARY KEY (name, generation)
            )"
            .to_owned(),
            format!(
                "CREATE TABLE IF NOT EXISTS cairn_projector_state (
                    name TEXT NOT NULL,
                    generation BIGINT NOT NULL,
                    key TEXT NOT NULL,
                    state {blob} NOT NULL,
                    PRIMARY KEY (name, generation, key)
                )"
            ),
            // A fresh token per (physical table, scope) each time that scope's rows are
            // rewritten, in the same transaction: equal tokens mean equal rows, so readers may
            // keep answers keyed by it.
            "CREATE TABLE IF NOT EXISTS cairn_scope_versions (
                tbl TEXT NOT NULL,
                scope TEXT NOT NULL,
                version TEXT NOT NULL,
                PRIMARY KEY (tbl, scope)
            )"
            .to_owned(),
        ] {
            statements.push(sql);
        }
        // CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin on PostgreSQL (both
        // may try to create the table's type): serialize starting processes on a lock.
        let mut tx = self.begin().await?;
        if self.backend() == Backend::Postgres {
            tx.execute("SELECT pg_advisory_xact_lock(7261001)", &[]).await?;
        }
        for sql in &statements {
            tx.execute(sql, &[]).await?;
        }
        tx.commit().await
    }

    /// A handle whose queries ([`Db::fetch`] and what uses it) all read one snapshot of the
    /// database, taken at its first query: a report and the checkpoint it states then agree even
    /// while a projector writes. Writes through it are not allowed; the transaction is rolled back
    /// when the last clone is dropped.
    pub async fn pinned(&self) -> Result<Db> {
        let mut tx = match &self.readers {
            Some(readers) => Tx::Sqlite(readers.begin().await?),
            None => self.begin().await?,
        };
        if self.backend() == Backend::Postgres {
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", &[]).await?;
        }
        Ok(Db { pinned: Some(Arc::new(tokio::sync::Mutex::new(tx))), ..self.clone() })
    }

    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Runs one statement with text parameters (cast them in the SQL where PostgreSQL needs a type).
    pub async fn execute(&self, sql: &str, params: &[Option<String>]) -> Result<u64> {
        on!(&self.pool, p => {
            let mut q = sqlx::query(sql);
            for v in params {
                q = q.bind(v.clone());
            }
            Ok(q.execute(p).await?.rows_affected())
        })
    }

    /// Runs a query whose every selected column is text (see [`Db::text`]).
    pub async fn fetch(&self, sql: &str, params: &[Option<String>]) -> Result<Vec<Row>> {
        if let Some(tx) = &self.pinned {
            return tx.lock().await.fetch(sql, params).await;
        }
        on!(&self.pool, p => {
            let mut q = sqlx::query(sql);
            for v in params {
                q = q.bind(v.clone());
            }
            let rows = q.fetch_all(p).await?;
            rows.iter()
                .map(|r| (0..r.len()).map(|i| r.try_get::<Option<String>, _>(i).map_err(Error::from)).collect())
                .collect()
        })
    }

    /// A projector's saved state under `key`, if any (in the pinned snapshot, on a handle
    /// from [`Db::pinned`], so that it agrees with the rows and checkpoint read there).
    pub async fn load_state(&self, name: &str, generation: i64, key: &str) -> Result<Option<Vec<u8>>> {
        let sql = "SELECT state FROM cairn_projector_state WHERE name = $1 AND generation = $2 AND key = $3";
        macro_rules! one {
            ($executor:expr) => {{
                let row = sqlx::query(sql).bind(name).bind(generation).bind(key).fetch_optional($executor).await?;
                Ok(match row {
                    Some(r) => Some(r.try_get::<Vec<u8>, _>(0)?),
                    None => None,
                })
            }};
        }
        if let Some(tx) = &self.pinned {
            let mut tx = tx.lock().await;
            return on_tx!(&mut *tx, t => one!(&mut **t));
        }
        on!(&self.pool, p => one!(p))
    }

    /// The generation in service of a projector, if it is registered.
    pub async fn generation(&self, name: &str) -> Result<Option<i64>> {
        let rows = self
            .fetch("SELECT CAST(generation AS TEXT) FROM cairn_projectors WHERE name = $1", &[Some(name.to_owned())])
            .await?;
        Ok(rows.first().and_then(|r| r[0].as_deref()).and_then(|g| g.parse().ok()))
    }

    /// `column` as a text expression, in the canonical form of the module documentation.
    pub fn text(&self, column: &str, kind: Kind) -> String {
        match (self.backend(), kind) {
            (Backend::Sqlite, Kind::Int | Kind::Bool) => format!("CAST({column} AS TEXT)"),
            (Backend::Sqlite, _) => column.to_owned(),
            (Backend::Postgres, Kind::Text) => column.to_owned(),
            (Backend::Postgres, Kind::Int | Kind::Dec | Kind::Money | Kind::Date) => format!("{column}::text"),
            (Backend::Postgres, Kind::Bool) => format!("CASE WHEN {column} THEN '1' WHEN NOT {column} THEN '0' END"),
            (Backend::Postgres, Kind::Time) => {
                format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
            }
        }
    }

    /// Parameter `$n` compared with a column of `kind`.
    pub fn param(&self, n: usize, kind: Kind) -> String {
        match (self.backend(), kind) {
            (Backend::Sqlite, _) | (Backend::Postgres, Kind::Text) => format!("${n}"),
            (Backend::Postgres, k) => format!("${n}::{}", pg_type(k)),
        }
    }

    /// The table's columns as text, for a SELECT list.
    pub fn select_list(&self, table: &Table) -> String {
        table.columns.iter().map(|c| self.text(c.name, c.kind)).collect::<Vec<_>>().join(", ")
    }

    /// Rows of the table's view (the generation in service) where `filters` hold
    /// (`column = value`, or `column >= value` / `column <= value` with a trailing `>=`/`<=`
    /// in the name), in primary-key order.
    pub async fn select(&self, table: &Table, filters: &[(&str, Option<String>)]) -> Result<Vec<Row>> {
        self.select_from(table, table.name, filters).await
    }

    async fn select_from(&self, table: &Table, from: &str, filters: &[(&str, Option<String>)]) -> Result<Vec<Row>> {
        let mut sql = format!("SELECT {} FROM {from}", self.select_list(table));
        for (i, (name, _)) in filters.iter().enumerate() {
            let (column, op) = filter_op(name);
            sql.push_str(if i == 0 { " WHERE " } else { " AND " });
            sql.push_str(&format!("{column} {op} {}", self.param(i + 1, table.kind_of(column))));
        }
        // Byte order on both backends, so that digests agree (PostgreSQL would use its locale).
        let order: Vec<String> = table
            .key
            .iter()
            .map(|k| match (self.backend(), table.kind_of(k)) {
                (Backend::Postgres, Kind::Text) => format!("{k} COLLATE \"C\""),
                _ => (*k).to_owned(),
            })
            .collect();
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
        let params: Vec<Option<String>> = filters.iter().map(|(_, v)| v.clone()).collect();
        self.fetch(&sql, &params).await
    }

    /// Creates the physical tables of one generation (and, on PostgreSQL, the time-series
    /// layout), inside the caller's transaction.
    pub async fn create_tables(&self, tx: &mut Tx, tables: &[&Table], generation: i64) -> Result<()> {
        for table in tables {
            let physical = table.physical(generation);
            let columns: Vec<String> =
                table.columns.iter().map(|c| format!("{} {}", c.name, self.column_type(c.kind))).collect();
            let key = table.key.join(", ");
            let pg_series = table.time_series && self.backend() == Backend::Postgres;
            let timescale = pg_series && self.timescale_available().await;
            let partitioned = if pg_series && !timescale { " PARTITION BY RANGE (day)" } else { "" };
            let cascade = if self.backend() == Backend::Postgres { " CASCADE" } else { "" };
            tx.execute(&format!("DROP TABLE IF EXISTS {physical}{cascade}"), &[]).await?;
            tx.execute(
                &format!("CREATE TABLE {physical} ({}, PRIMARY KEY ({key})){partitioned}", columns.join(", ")),
                &[],
            )
            .await?;
            if table.key.first() != Some(&table.scope) {
                tx.execute(&format!("CREATE INDEX {physical}_scope ON {physical} ({})", table.scope), &[]).await?;
            }
            if timescale {
                tx.execute(
                    &format!(
                        "SELECT create_hypertable('{physical}', 'day', chunk_time_interval => INTERVAL '1 month')"
                    ),
                    &[],
                )
                .await?;
                tx.execute(
                    &format!(
                        "ALTER TABLE {physical} SET (timescaledb.compress, timescaledb.compress_segmentby = '{}')",
                        table.scope
                    ),
                    &[],
                )
                .await?;
                tx.execute(&format!("SELECT add_compression_policy('{physical}', INTERVAL '90 days')"), &[]).await?;
            } else if pg_series {
                tx.execute(&format!("CREATE INDEX {physical}_day_brin ON {physical} USING brin (day)"), &[]).await?;
            }
        }
        Ok(())
    }

    /// Whether the TimescaleDB extension is (or can be) installed in this database; asked once.
    pub async fn timescale_available(&self) -> bool {
        if let Some(known) = *self.timescale.lock().unwrap_or_else(|p| p.into_inner()) {
            return known;
        }
        let offered = self
            .fetch("SELECT name FROM pg_available_extensions WHERE name = 'timescaledb'", &[])
            .await
            .is_ok_and(|r| !r.is_empty());
        let created = offered && self.execute("CREATE EXTENSION IF NOT EXISTS timescaledb", &[]).await.is_ok();
        if offered && !created {
            tracing::warn!("TimescaleDB is offered but cannot be created (is it in shared_preload_libraries?); prices use monthly partitions");
        }
        *self.timescale.lock().unwrap_or_else(|p| p.into_inner()) = Some(created);
        created
    }

    /// How the prices time series is laid out in this database, for `projections status`.
    pub async fn time_series_layout(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "table with a (symbol, day) primary key",
            Backend::Postgres if self.timescale_available().await => {
                "TimescaleDB hypertable (monthly chunks, compression after 90 days)"
            }
            Backend::Postgres => "range-partitioned by month, BRIN index on day",
        }
    }

    fn column_type(&self, kind: Kind) -> &'static str {
        match self.backend() {
            Backend::Sqlite => match kind {
                Kind::Int | Kind::Bool => "INTEGER",
                _ => "TEXT",
            },
            Backend::Postgres => pg_type(kind),
        }
    }

    /// Makes sure the monthly partitions of a time-series table exist for the given days.
    async fn ensure_partitions(&self, tx: &mut Tx, table: &Table, physical: &str, rows: &[Row]) -> Result<()> {
        if !(table.time_series && self.backend() == Backend::Postgres) || self.timescale_available().await {
            return Ok(());
        }
        let Some(day_index) = table.columns.iter().position(|c| c.name == "day") else { return Ok(()) };
        let mut months: Vec<(i32, u32)> = rows
            .iter()
            .filter_map(|r| r[day_index].as_deref())
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| (chrono::Datelike::year(&d), chrono::Datelike::month(&d)))
            .collect();
        months.sort_unstable();
        months.dedup();
        for (y, m) in months {
            // Created inside the caller's transaction, so not remembered: a rollback drops it.
            let name = format!("{physical}_p{y:04}{m:02}");
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            tx.execute(
                &format!(
                    "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {physical} \
                     FOR VALUES FROM ('{y:04}-{m:02}-01') TO ('{ny:04}-{nm:02}-01')"
                ),
                &[],
            )
            .await?;
        }
        Ok(())
    }

    /// Inserts rows into one generation of a table; with `replace`, a row whose key exists
    /// replaces it.
    pub async fn insert(&self, tx: &mut Tx, table: &Table, generation: i64, rows: &[Row], replace: bool) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let physical = table.physical(generation);
        self.ensure_partitions(tx, table, &physical, rows).await?;
        let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        let sql = match self.backend() {
            Backend::Sqlite => {
                // Multi-row VALUES with one parameter per value: SQLite's JSON functions would
                // parse each row's text once per column.
                let verb = if replace { "INSERT OR REPLACE" } else { "INSERT" };
                let width = names.len();
                for chunk in rows.chunks((SQLITE_PARAMS / width).max(1)) {
                    let mut sql = format!("{verb} INTO {physical} ({}) VALUES ", names.join(", "));
                    for r in 0..chunk.len() {
                        sql.push_str(if r == 0 { "(" } else { ", (" });
                        for c in 0..width {
                            sql.push_str(if c > 0 { ", ?" } else { "?" });
                        }
                        sql.push(')');
                    }
                    tx.execute_rows(&sql, chunk).await?;
                }
                return Ok(());
            }
            Backend::Postgres => {
                // One text array per column, unnested into rows and cast to the column types.
                let arrays: Vec<String> = (1..=names.len()).map(|i| format!("${i}::text[]")).collect();
                let values: Vec<String> = table
                    .columns
                    .iter()
                    .map(|c| match c.kind {
                        Kind::Text => format!("u.{}", c.name),
                        k => format!("u.{}::{}", c.name, pg_type(k)),
                    })
                    .collect();
                let conflict = if replace {
                    let updates: Vec<String> = names
                        .iter()
                        .filter(|n| !table.key.contains(n))
                        .map(|n| format!("{n} = EXCLUDED.{n}"))
                        .collect();
                    if updates.is_empty() {
                        format!(" ON CONFLICT ({}) DO NOTHING", table.key.join(", "))
                    } else {
                        format!(" ON CONFLICT ({}) DO UPDATE SET {}", table.key.join(", "), updates.join(", "))
                    }
                } else {
                    String::new()
                };
                format!(
                    "INSERT INTO {physical} ({names}) SELECT {} FROM unnest({}) AS u({names}){conflict}",
                    values.join(", "),
                    arrays.join(", "),
                    names = names.join(", "),
                )
            }
        };
        for chunk in rows.chunks(PG_CHUNK) {
            tx.execute_columns(&sql, chunk, names.len()).await?;
        }
        Ok(())
    }

    /// Writes one row into one generation of a table, replacing the row with its key unless
    /// that row's `guard` column is greater than this one's (so that of two writers computing
    /// from different positions, the later inputs win whichever commits last). Returns whether
    /// the row was written.
    pub async fn upsert_unless_newer(&self, table: &Table, generation: i64, row: &Row, guard: &str) -> Result<bool> {
        let physical = table.physical(generation);
        let names: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        let values: Vec<String> = table.columns.iter().enumerate().map(|(i, c)| self.param(i + 1, c.kind)).collect();
        let updates: Vec<String> =
            names.iter().filter(|n| !table.key.contains(n)).map(|n| format!("{n} = excluded.{n}")).collect();
        let sql = format!(
            "INSERT INTO {physical} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {} \
             WHERE {physical}.{guard} <= excluded.{guard}",
            names.join(", "),
            values.join(", "),
            table.key.join(", "),
            updates.join(", "),
        );
        Ok(self.execute(&sql, row).await? == 1)
    }

    /// Deletes the rows of several scopes at once from one generation of a table.
    pub async fn delete_scopes(&self, tx: &mut Tx, table: &Table, generation: i64, scopes: &[String]) -> Result<()> {
        if scopes.is_empty() {
            return Ok(());
        }
        let list = match self.backend() {
            Backend::Sqlite => "SELECT value FROM json_each($1)",
            Backend::Postgres => "SELECT json_array_elements_text($1::json)",
        };
        let physical = table.physical(generation);
        let sql = format!("DELETE FROM {physical} WHERE {} IN ({list})", table.scope);
        let version = format!(
            "INSERT INTO cairn_scope_versions (tbl, scope, version) \
             SELECT CAST($2 AS TEXT), s.value, CAST($3 AS TEXT) FROM ({list}) AS s(value) WHERE true \
             ON CONFLICT (tbl, scope) DO UPDATE SET version = excluded.version"
        );
        let version =
            version.replace("SELECT value FROM json_each($1)) AS s(value)", "SELECT value FROM json_each($1)) AS s");
        let token = uuid::Uuid::new_v4().simple().to_string();
        for chunk in scopes.chunks(CHUNK) {
            let json = serde_json::to_string(chunk).map_err(|e| Error::Config(e.to_string()))?;
            tx.execute(&sql, &[Some(json.clone())]).await?;
            tx.execute(&version, &[Some(json), Some(physical.clone()), Some(token.clone())]).await?;
        }
        Ok(())
    }

    /// The token of a scope's rows in one generation of a table (see `cairn_scope_versions`);
    /// `None` when its rows were never rewritten by [`Db::delete_scopes`].
    pub async fn scope_version(&self, table: &Table, generation: i64, scope: &str) -> Result<Option<String>> {
        let rows = self
            .fetch(
                "SELECT version FROM cairn_scope_versions WHERE tbl = $1 AND scope = $2",
                &[Some(table.physical(generation)), Some(scope.to_owned())],
            )
            .await?;
        Ok(rows.into_iter().next().and_then(|r| r.into_iter().next().flatten()))
    }

    /// The distinct scopes of rows where `column = value` (e.g. the households holding a symbol).
    pub async fn scopes_where(&self, table: &Table, generation: i64, column: &str, value: &str) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT DISTINCT {} FROM {} WHERE {column} = {}",
            table.scope,
            table.physical(generation),
            self.param(1, table.kind_of(column))
        );
        Ok(self.fetch(&sql, &[Some(value.to_owned())]).await?.into_iter().filter_map(|mut r| r.remove(0)).collect())
    }

    /// SHA-256 over one generation of a table, rows in primary-key order, each value in its
    /// canonical text form (NULL distinct from every text), so equal digests mean equal rows
    /// whichever backend holds them.
    pub async fn digest(&self, table: &Table, generation: i64) -> Result<(u64, String)> {
        let rows = self.select_from(table, &table.physical(generation), &[]).await?;
        Ok(digest_rows(&rows))
    }

    /// Points the view `table.name` at `generation` (inside the caller's transaction).
    pub async fn point_view(&self, tx: &mut Tx, table: &Table, generation: i64) -> Result<()> {
        tx.execute(&format!("DROP VIEW IF EXISTS {}", table.name), &[]).await?;
        tx.execute(&format!("CREATE VIEW {} AS SELECT * FROM {}", table.name, table.physical(generation)), &[]).await?;
        Ok(())
    }
}

/// A filter's column and comparison: `column`, `column >=` or `column <=` (see [`Db::select`]).
fn filter_op(name: &str) -> (&str, &str) {
    if let Some(c) = name.strip_suffix(">=") {
        (c.trim(), ">=")
    } else if let Some(c) = name.strip_suffix("<=") {
        (c.trim(), "<=")
    } else {
        (name, "=")
    }
}

/// Whether a row built in memory (canonical text values, see the module documentation) passes
/// `filters` as [`Db::select`] would apply them in SQL: numbers compared as numbers, text and
/// dates as text, and nothing equal to NULL.
pub fn matches(table: &Table, row: &Row, filters: &[(&str, Option<String>)]) -> bool {
    filters.iter().all(|(name, wanted)| {
        let (column, op) = filter_op(name);
        let Some(i) = table.columns.iter().position(|c| c.name == column) else { return false };
        let (Some(value), Some(wanted)) = (row[i].as_deref(), wanted.as_deref()) else { return false };
        let order = match table.columns[i].kind {
            Kind::Bool => {
                let truth = |v: &str| match v {
                    "1" | "true" | "t" => Some(true),
                    "0" | "false" | "f" => Some(false),
                    _ => None,
                };
                match (truth(value), truth(wanted)) {
                    (Some(v), Some(w)) => v.cmp(&w),
                    _ => return false,
                }
            }
            Kind::Int | Kind::Dec | Kind::Money => match (Decimal::from_str(value), Decimal::from_str(wanted)) {
                (Ok(v), Ok(w)) => v.cmp(&w),
                _ => return false,
            },
            Kind::Text | Kind::Date | Kind::Time => value.cmp(wanted),
        };
        match op {
            ">=" => order.is_ge(),
            "<=" => order.is_le(),
            _ => order.is_eq(),
        }
    })
}

/// The row count and SHA-256 of rows (in their canonical order and text form): each value
/// length-prefixed, NULL distinct from every text, each row terminated.
pub fn digest_rows(rows: &[Row]) -> (u64, String) {
    let mut hash = Sha256::new();
    for row in rows {
        for value in row {
            match value {
                Some(v) => {
                    hash.update([1u8]);
                    hash.update((v.len() as u64).to_le_bytes());
                    hash.update(v.as_bytes());
                }
                None => hash.update([0u8]),
            }
        }
        hash.update([0x1e]);
    }
    (rows.len() as u64, hex::encode(hash.finalize()))
}

fn pg_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Int => "bigint",
        Kind::Dec | Kind::Money => "numeric",
        Kind::Date => "date",
        Kind::Time => "timestamptz",
        Kind::Bool => "boolean",
    }
}

impl Tx {
    pub async fn execute(&mut self, sql: &str, params: &[Option<String>]) -> Result<u64> {
        on_tx!(self, t => {
            let mut q = sqlx::query(sql);
            for v in params {
                q = q.bind(v.clone());
            }
            Ok(q.execute(&mut **t).await?.rows_affected())
        })
    }

    /// Runs a query whose every selected column is text.
    pub async fn fetch(&mut self, sql: &str, params: &[Option<String>]) -> Result<Vec<Row>> {
        on_tx!(self, t => {
            let mut q = sqlx::query(sql);
            for v in params {
                q = q.bind(v.clone());
            }
            let rows = q.fetch_all(&mut **t).await?;
            rows.iter()
                .map(|r| (0..r.len()).map(|i| r.try_get::<Option<String>, _>(i).map_err(Error::from)).collect())
                .collect()
        })
    }

    /// Runs one statement whose parameters are the rows' values, row by row.
    async fn execute_rows(&mut self, sql: &str, rows: &[Row]) -> Result<u64> {
        on_tx!(self, t => {
            let mut q = sqlx::query(sql);
            for v in rows.iter().flatten() {
                q = q.bind(v.as_deref());
            }
            Ok(q.execute(&mut **t).await?.rows_affected())
        })
    }

    /// Runs one PostgreSQL statement whose parameters are the rows' columns, one text array each.
    async fn execute_columns(&mut self, sql: &str, rows: &[Row], width: usize) -> Result<u64> {
        let Tx::Postgres(t) = self else {
            return Err(Error::Config("column arrays are a PostgreSQL statement".into()));
        };
        let mut q = sqlx::query(sql);
        for c in 0..width {
            let column: Vec<Option<&str>> = rows.iter().map(|r| r[c].as_deref()).collect();
            q = q.bind(column);
        }
        Ok(q.execute(&mut **t).await?.rows_affected())
    }

    /// Saves a projector's state under `key`.
    pub async fn save_state(&mut self, name: &str, generation: i64, key: &str, state: &[u8]) -> Result<()> {
        let sql = match self {
            Tx::Sqlite(_) => {
                "INSERT OR REPLACE INTO cairn_projector_state (name, generation, key, state) VALUES ($1, $2, $3, $4)"
            }
            Tx::Postgres(_) => {
                "INSERT INTO cairn_projector_state (name, generation, key, state) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name, generation, key) DO UPDATE SET state = EXCLUDED.state"
            }
        };
        on_tx!(self, t => {
            sqlx::query(sql).bind(name).bind(generation).bind(key).bind(state).execute(&mut **t).await?;
            Ok(())
        })
    }

    pub async fn commit(self) -> Result<()> {
        on_tx!(self, t => Ok(t.commit().await?))
    }
}
