//! The SQLite log's read path for ranges of the log (`read_all`, replays, projector catch-up).
//!
//! sqlx's SQLite driver runs each statement on a worker thread and sends every row, each value
//! copied into its own allocation, over a channel; then the row is copied again into a
//! [`StoredEvent`]. Here the rows are read on a blocking thread straight from the statement
//! into the event (rusqlite over the same `libsqlite3-sys` sqlx links), about 1.5 times as many
//! events per second on `cairn bench read`. Connections are opened on the same file, made
//! `query_only`, and kept for the next range; each statement reads one WAL snapshot, so a
//! range sees exactly the appends committed before it started.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError};
use crate::model::{Direction, StoredEvent, StreamId};
use crate::sql;
use crate::sqlite::{micros_to_time, uuid_from};

/// Connections kept open between ranges (more are opened when more ranges run at once).
const KEPT: usize = 4;

#[derive(Debug)]
pub(crate) struct BulkReader {
    path: PathBuf,
    cache_size: &'static str,
    idle: Mutex<Vec<Connection>>,
}

impl BulkReader {
    pub(crate) fn new(path: PathBuf, cache_size: &'static str) -> Self {
        Self { path, cache_size, idle: Mutex::new(Vec::new()) }
    }

    fn connection(&self) -> Result<Connection> {
        if let Some(c) = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop() {
            return Ok(c);
        }
        // Read-write flags with `query_only`: a read-only open of a WAL file fails when its
        // `-shm` companion is absent (after the last writer closed), this one never writes.
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(Duration::from_secs(30))?;
        c.pragma_update(None, "query_only", "ON")?;
        c.pragma_update(None, "cache_size", self.cache_size)?;
        Ok(c)
    }

    fn give_back(&self, c: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < KEPT {
            idle.push(c);
        }
    }

    /// Every event of each stream from its version on (`(stream, from_version)`), in the order
    /// asked, all read in one transaction: one snapshot of the log.
    pub(crate) fn streams(&self, from: &[(String, i64)]) -> Result<Vec<Vec<StoredEvent>>> {
        let conn = self.connection()?;
        let read = read_streams(&conn, from);
        if read.is_ok() {
            self.give_back(conn);
        }
        read
    }

    /// Up to `limit` events with positions in `from..=up_to`, in order (the statement is
    /// [`sql::SELECT_RANGE`], the one the sqlx path runs).
    pub(crate) fn range(&self, from: i64, up_to: i64, limit: i64) -> Result<Vec<StoredEvent>> {
        let conn = self.connection()?;
        let read = read_range(&conn, from, up_to, limit);
        // A connection whose statement failed is dropped, not kept.
        if read.is_ok() {
            self.give_back(conn);
        }
        read
    }
}

fn read_range(conn: &Connection, from: i64, up_to: i64, limit: i64) -> Result<Vec<StoredEvent>> {
    let mut statement = conn.prepare_cached(sql::SELECT_RANGE)?;
    let mut rows = statement.query((from, up_to, limit))?;
    let mut events = Vec::with_capacity(usize::try_from(limit).unwrap_or(0).min(4_096));
    while let Some(r) = rows.next()? {
        events.push(event(r)?);
    }
    Ok(events)
}

fn read_streams(conn: &Connection, from: &[(String, i64)]) -> Result<Vec<Vec<StoredEvent>>> {
    conn.execute_batch("BEGIN")?;
    let read = (|| -> Result<Vec<Vec<StoredEvent>>> {
        let mut statement = conn.prepare_cached(sql::select_stream(Direction::Forwards))?;
        let mut out = Vec::with_capacity(from.len());
        for (stream, version) in from {
            let mut rows = statement.query((stream, version, i64::MAX))?;
            let mut events = Vec::new();
            while let Some(r) = rows.next()? {
                events.push(event(r)?);
            }
            out.push(events);
        }
        Ok(out)
    })();
    conn.execute_batch(if read.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    read
}

/// A row of the events table's columns ([`sql::columns`]) as an event.
fn event(r: &rusqlite::Row<'_>) -> Result<StoredEvent> {
    let position: i64 = r.get(0)?;
    let bad = |problem: &str| StoreError::Decode { position: position as u64, problem: problem.to_owned() };
    Ok(StoredEvent {
        global_position: position as u64,
        stream_id: StreamId::from_stored(r.get(1)?),
        stream_version: r.get::<_, i64>(2)? as u64,
        event_id: uuid_from(r.get_ref(3)?.as_blob().map_err(|_| bad("event_id is not a blob"))?),
        event_type: r.get(4)?,
        schema_version: r.get::<_, i64>(5)? as u32,
        payload: r.get(6)?,
        metadata: r.get(7)?,
        recorded_at: micros_to_time(r.get(8)?),
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}
