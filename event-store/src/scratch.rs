//! Throw-away databases for benchmarks and tests: a fresh SQLite file, or a freshly created
//! PostgreSQL database on the same server, dropped again by [`Scratch::remove`].

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use uuid::Uuid;

use crate::error::{Result, StoreError};

#[derive(Debug)]
pub struct Scratch {
    /// The URL of the fresh database.
    pub url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Sqlite(PathBuf),
    Postgres { admin: Box<PgConnectOptions>, name: String },
}

impl Scratch {
    /// A fresh, empty database beside `base_url`: for SQLite a new file in the same folder as
    /// the base file (so it measures the same disk); for PostgreSQL a new database named
    /// `cairn_scratch_<uuid>` on the same server.
    pub async fn create(base_url: &str) -> Result<Self> {
        let id = Uuid::now_v7().simple().to_string();
        if let Some(rest) = base_url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            let dir = match PathBuf::from(path).parent() {
                Some(d) if !d.as_os_str().is_empty() && !path.contains(":memory:") => d.to_path_buf(),
                _ => std::env::temp_dir(),
            };
            let file = dir.join(format!("cairn-scratch-{id}.db"));
            return Ok(Self { url: format!("sqlite://{}", file.display()), kind: Kind::Sqlite(file) });
        }
        let admin = PgConnectOptions::from_str(base_url)
            .map_err(|e| StoreError::InvalidUrl { url: base_url.to_owned(), problem: e.to_string() })?;
        let name = format!("cairn_scratch_{id}");
        let mut conn = admin.connect().await?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
        conn.close().await?;
        Ok(Self { url: with_database(base_url, &name), kind: Kind::Postgres { admin: Box::new(admin), name } })
    }

    /// Deletes the database (its file, or `DROP DATABASE … WITH (FORCE)`).
    pub async fn remove(self) -> Result<()> {
        match self.kind {
            Kind::Sqlite(file) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut f = file.clone().into_os_string();
                    f.push(suffix);
                    let _ = std::fs::remove_file(f);
                }
            }
            Kind::Postgres { admin, name } => {
                let mut conn = admin.connect().await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await?;
                conn.close().await?;
            }
        }
        Ok(())
    }
}

/// `postgres://u@h:5432/old?x=y` with the database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, format!("?{q}")),
        None => (rest, String::new()),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(with_database("postgres://p@127.0.0.1:5432/postgres", "x"), "postgres://p@127.0.0.1:5432/x");
        assert_eq!(with_database("postgres://p@h/db?sslmode=disable", "x"), "postgres://p@h/x?sslmode=disable");
        assert_eq!(with_database("postgresql://h:1", "x"), "postgresql://h:1/x");
    }
}
