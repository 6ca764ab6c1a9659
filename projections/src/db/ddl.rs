//! The DDL: the projector registry, one generation's physical tables (with, on PostgreSQL, the
//! time-series layout: TimescaleDB when it can be created, else monthly range partitions) and
//! the views that point at the generation in service.

use chrono::NaiveDate;

use super::{Backend, Db, Kind, Row, Table, Tx};
use crate::Result;

impl Db {
    /// Whether a table or view of this name exists (a generation, or a view in service).
    pub async fn relation_exists(&self, name: &str) -> Result<bool> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE name = $1 AND type IN ('table', 'view')",
            Backend::Postgres => {
                "SELECT relname::text FROM pg_catalog.pg_class \
                 WHERE relname = $1 AND relkind IN ('r', 'v', 'p') AND pg_catalog.pg_table_is_visible(oid)"
            }
        };
        Ok(!self.fetch(sql, &[Some(name.to_owned())]).await?.is_empty())
    }

    pub(super) async fn create_registry(&self) -> Result<()> {
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
            // The chain hash of the last event each generation applied: a log rewritten under
            // the read models is caught when they start.
            "CREATE TABLE IF NOT EXISTS cairn_projector_applied (
                name TEXT NOT NULL,
                generation BIGINT NOT NULL,
                hash TEXT NOT NULL,
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
    pub(super) async fn ensure_partitions(
        &self,
        tx: &mut Tx,
        table: &Table,
        physical: &str,
        rows: &[Row],
    ) -> Result<()> {
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

    /// Points the view `table.name` at `generation` (inside the caller's transaction).
    pub async fn point_view(&self, tx: &mut Tx, table: &Table, generation: i64) -> Result<()> {
        tx.execute(&format!("DROP VIEW IF EXISTS {}", table.name), &[]).await?;
        tx.execute(&format!("CREATE VIEW {} AS SELECT * FROM {}", table.name, table.physical(generation)), &[]).await?;
        Ok(())
    }
}

pub(super) fn pg_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Int => "bigint",
        Kind::Dec | Kind::Money => "numeric",
        Kind::Date => "date",
        Kind::Time => "timestamptz",
        Kind::Bool => "boolean",
    }
}
