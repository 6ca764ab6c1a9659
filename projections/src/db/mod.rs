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

use rust_decimal::Decimal;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Row as _, Sqlite, SqlitePool, Transaction};

use crate::{Error, Result};

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

mod ddl;
use ddl::pg_type;
mod digest;
mod table;
mod writes;

pub use digest::digest_rows;
pub use table::{col, Cell, Column, Kind, Row, Table};

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
    pub(crate) async fn execute(&self, sql: &str, params: &[Option<String>]) -> Result<u64> {
        on!(&self.pool, p => {
            let mut q = sqlx::query(sql);
            for v in params {
                q = q.bind(v.clone());
            }
            Ok(q.execute(p).await?.rows_affected())
        })
    }

    /// Runs a query whose every selected column is text (see [`Db::text`]).
    pub(crate) async fn fetch(&self, sql: &str, params: &[Option<String>]) -> Result<Vec<Row>> {
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

    /// A projector's saved states under `keys`, by key (those it has), [`IN_CHUNK`] keys a
    /// statement: a projector loading thousands of households' states after a start does not
    /// make a round trip for each.
    pub async fn load_states(
        &self,
        name: &str,
        generation: i64,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<u8>>> {
        let mut out = std::collections::HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(IN_CHUNK) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "SELECT key, state FROM cairn_projector_state WHERE name = $1 AND generation = $2 AND key IN ({})",
                marks.join(", ")
            );
            macro_rules! many {
                ($executor:expr) => {{
                    let mut q = sqlx::query(&sql).bind(name).bind(generation);
                    for key in chunk {
                        q = q.bind(key.as_str());
                    }
                    for r in q.fetch_all($executor).await? {
                        out.insert(r.try_get::<String, _>(0)?, r.try_get::<Vec<u8>, _>(1)?);
                    }
                    Ok::<(), Error>(())
                }};
            }
            if let Some(tx) = &self.pinned {
                let mut tx = tx.lock().await;
                on_tx!(&mut *tx, t => many!(&mut **t))?;
            } else {
                on!(&self.pool, p => many!(p))?;
            }
        }
        Ok(out)
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

    /// Rows of the table's view whose `column` is one of `values` (e.g. a set of households),
    /// in primary-key order within each chunk of [`IN_CHUNK`] values (so in key order when the
    /// key starts with `column` and `values` are sorted).
    pub async fn select_in(&self, table: &Table, column: &str, values: &[String]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        for chunk in values.chunks(IN_CHUNK) {
            out.extend(self.select_where(table, table.name, &[], Some((column, chunk))).await?);
        }
        Ok(out)
    }

    pub(super) async fn select_from(
        &self,
        table: &Table,
        from: &str,
        filters: &[(&str, Option<String>)],
    ) -> Result<Vec<Row>> {
        self.select_where(table, from, filters, None).await
    }

    async fn select_where(
        &self,
        table: &Table,
        from: &str,
        filters: &[(&str, Option<String>)],
        one_of: Option<(&str, &[String])>,
    ) -> Result<Vec<Row>> {
        let mut sql = format!("SELECT {} FROM {from}", self.select_list(table));
        for (i, (name, _)) in filters.iter().enumerate() {
            let (column, op) = filter_op(name);
            sql.push_str(if i == 0 { " WHERE " } else { " AND " });
            sql.push_str(&format!("{column} {op} {}", self.param(i + 1, table.kind_of(column))));
        }
        let mut params: Vec<Option<String>> = filters.iter().map(|(_, v)| v.clone()).collect();
        if let Some((column, values)) = one_of {
            sql.push_str(if filters.is_empty() { " WHERE " } else { " AND " });
            let kind = table.kind_of(column);
            let list: Vec<String> = (0..values.len()).map(|i| self.param(params.len() + i + 1, kind)).collect();
            // An empty set matches nothing (`IN ()` is not SQL).
            match list.is_empty() {
                true => sql.push_str("1 = 0"),
                false => sql.push_str(&format!("{column} IN ({})", list.join(", "))),
            }
            params.extend(values.iter().cloned().map(Some));
        }
        // Byte order on both backends, so that digests agree (PostgreSQL would use its locale).
        // The key is named through the table: a bare name would be the SELECT list's column of
        // that name, which PostgreSQL has cast to text (`seq::text` is named `seq`), and would
        // order 10 before 9.
        let order: Vec<String> = table
            .key
            .iter()
            .map(|k| match (self.backend(), table.kind_of(k)) {
                (Backend::Postgres, Kind::Text) => format!("{from}.{k} COLLATE \"C\""),
                _ => format!("{from}.{k}"),
            })
            .collect();
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
        self.fetch(&sql, &params).await
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

    /// The largest value of `column` in each scope's rows (e.g. each household's last day), as
    /// canonical text.
    pub async fn max_by_scope(&self, table: &Table, generation: i64, column: &str) -> Result<Vec<(String, String)>> {
        let sql = format!(
            "SELECT {scope}, CAST(MAX({column}) AS TEXT) FROM {} GROUP BY {scope}",
            table.physical(generation),
            scope = table.scope
        );
        Ok(self
            .fetch(&sql, &[])
            .await?
            .into_iter()
            .filter_map(|mut r| {
                let max = r.pop().flatten()?;
                Some((r.pop().flatten()?, max))
            })
            .collect())
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
}

/// The most values one statement of [`Db::select_in`] lists (far below either backend's limit
/// on parameters).
pub const IN_CHUNK: usize = 1000;

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

impl Tx {
    pub(crate) async fn execute(&mut self, sql: &str, params: &[Option<String>]) -> Result<u64> {
        on_tx!(self, t => {
            let mut q = sqlx::query(sql);
            for v in params {
                q = q.bind(v.clone());
            }
            Ok(q.execute(&mut **t).await?.rows_affected())
        })
    }

    /// Runs a query whose every selected column is text.
    pub(crate) async fn fetch(&mut self, sql: &str, params: &[Option<String>]) -> Result<Vec<Row>> {
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

    pub async fn commit(self) -> Result<()> {
        on_tx!(self, t => Ok(t.commit().await?))
    }
}
