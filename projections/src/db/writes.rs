//! The writes: bulk inserts (multi-row `VALUES` on SQLite, one text array per column on
//! PostgreSQL), guarded upserts, scope deletions with their fresh version tokens, and the
//! projectors' saved states.

use super::ddl::pg_type;
use super::{Backend, Db, Kind, Row, Table, Tx};
use crate::{Error, Result};

/// Rows per bulk statement.
const CHUNK: usize = 5_000;
/// Rows per PostgreSQL bulk statement (bound as one array per column).
const PG_CHUNK: usize = 20_000;
/// Parameters per SQLite statement (its limit is 32,766).
const SQLITE_PARAMS: usize = 32_000;

impl Db {
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
}

impl Tx {
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
}
