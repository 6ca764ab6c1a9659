//! The backend-independent half of an append: version checks, row building, hash chaining and
//! idempotent replays. Each backend supplies the transaction, the lock and the SQL.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::StoreError;
use crate::hash::{event_hash, RowFields, GENESIS};
use crate::model::{AppendResult, ExpectedVersion, Head, NewEvent, StreamId};

/// The most events one append may carry. An append is one transaction, so a whole import
/// (100,000 trades and the adjustments they cause) must fit in one.
pub const MAX_BATCH: usize = 1_000_000;

/// The positions and chain hashes of rows (the Merkle tree's leaves).
pub(crate) fn leaves(rows: &[Row]) -> impl Iterator<Item = (u64, crate::merkle::Hash)> + '_ {
    rows.iter().map(|r| (r.global_position, r.hash.as_slice().try_into().unwrap_or([0; 32])))
}

/// A row ready to insert, its position and hash already decided.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) global_position: u64,
    pub(crate) stream_version: u64,
    pub(crate) event_id: Uuid,
    pub(crate) event_type: String,
    pub(crate) schema_version: u32,
    pub(crate) payload: Vec<u8>,
    pub(crate) metadata: Vec<u8>,
    pub(crate) recorded_at_micros: i64,
    pub(crate) prev_hash: Vec<u8>,
    pub(crate) hash: Vec<u8>,
}

/// Refuses an empty, oversized or self-contradicting batch before any database work.
pub(crate) fn validate_batch(events: &[NewEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(StoreError::InvalidAppend("no events to append".into()));
    }
    if events.len() > MAX_BATCH {
        return Err(StoreError::InvalidAppend(format!(
            "{} events in one append; the most is {MAX_BATCH}",
            events.len()
        )));
    }
    let mut ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(StoreError::InvalidAppend(format!("event id {} appears twice in one append", w[0])));
    }
    if let Some(e) = events.iter().find(|e| e.event_type.is_empty() || e.event_type.len() > 200) {
        return Err(StoreError::InvalidAppend(format!("event {}: event type must be 1 to 200 bytes", e.event_id)));
    }
    Ok(())
}

/// Checks the writer's expectation against the stream's current version (0 = no stream).
pub(crate) fn check_expected(stream: &StreamId, expected: ExpectedVersion, actual: u64) -> Result<(), StoreError> {
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => actual == 0,
        ExpectedVersion::Exact(v) => actual == v,
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict { stream_id: stream.to_string(), expected, actual })
    }
}

/// Decides positions, versions, the recorded-at instant and the hash chain for a batch.
///
/// `recorded_at` never goes backwards: it is the later of `now` and the head's, so the events
/// recorded up to any instant are always a prefix of the log (what as-of replay relies on).
pub(crate) fn build_rows(
    head: Option<&Head>,
    stream: &StreamId,
    stream_version: u64,
    events: &[NewEvent],
    now: DateTime<Utc>,
) -> Result<Vec<Row>, StoreError> {
    let (mut position, mut prev_hash, recorded_at) = match head {
        Some(h) => (h.position, h.hash.clone(), now.max(h.recorded_at)),
        None => (0, GENESIS.to_vec(), now),
    };
    let recorded_at_micros = recorded_at.timestamp_micros();
    let mut rows = Vec::with_capacity(events.len());
    // The events of one command share their metadata: encoded once while it stays the same.
    let mut encoded: Option<(&crate::model::Metadata, Vec<u8>)> = None;
    for (version, e) in (stream_version + 1..).zip(events) {
        position += 1;
        let metadata = match &encoded {
            Some((m, bytes)) if **m == e.metadata => bytes.clone(),
            _ => {
                let bytes = crate::codec::to_msgpack(&e.metadata)?;
                encoded = Some((&e.metadata, bytes.clone()));
                bytes
            }
        };
        let hash = event_hash(
            &prev_hash,
            &RowFields {
                global_position: position,
                stream_id: stream.as_str(),
                stream_version: version,
                event_id: e.event_id,
                event_type: &e.event_type,
                schema_version: e.schema_version,
                payload: &e.payload,
                metadata: &metadata,
                recorded_at_micros,
            },
        )
        .to_vec();
        rows.push(Row {
            global_position: position,
            stream_version: version,
            event_id: e.event_id,
            event_type: e.event_type.clone(),
            schema_version: e.schema_version,
            payload: e.payload.clone(),
            metadata,
            recorded_at_micros,
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    Ok(rows)
}

/// One stream's part of a multi-stream append.
#[derive(Debug, Clone, Copy)]
pub struct StreamWrite<'a> {
    pub stream: &'a StreamId,
    pub expected: ExpectedVersion,
    pub events: &'a [NewEvent],
}

/// The database side of a multi-stream append, inside one transaction that holds the append
/// lock.
pub(crate) trait WriteTx {
    /// Whether a failed statement leaves the transaction usable: SQLite undoes only the
    /// statement, PostgreSQL aborts the whole transaction.
    const STATEMENT_ROLLBACK: bool;

    /// Each stream's version, in the order asked.
    async fn stream_versions(&mut self, streams: &[&StreamId]) -> Result<Vec<u64>, StoreError>;
    async fn existing(&mut self, ids: &[Uuid]) -> Result<Vec<ExistingEvent>, StoreError>;
    /// Inserts each stream's rows.
    async fn insert(&mut self, batches: &[(&StreamId, &[Row])]) -> Result<(), StoreError>;
}

/// The ids of `events`.
pub(crate) fn ids(events: &[NewEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

/// Refuses a multi-stream append that names a stream twice or is too large, before any
/// database work.
pub(crate) fn validate_writes(writes: &[StreamWrite<'_>]) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Err(StoreError::InvalidAppend("no streams to append to".into()));
    }
    let total: usize = writes.iter().map(|w| w.events.len()).sum();
    if total > MAX_BATCH {
        return Err(StoreError::InvalidAppend(format!("{total} events in one append; the most is {MAX_BATCH}")));
    }
    let mut streams: Vec<&str> = writes.iter().map(|w| w.stream.as_str()).collect();
    streams.sort_unstable();
    if let Some(w) = streams.windows(2).find(|w| w[0] == w[1]) {
        return Err(StoreError::InvalidAppend(format!("stream {} appears twice in one append", w[0])));
    }
    let mut ids: Vec<Uuid> = writes.iter().flat_map(|w| w.events.iter().map(|e| e.event_id)).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(StoreError::InvalidAppend(format!("event id {} appears twice in one append", w[0])));
    }
    for w in writes {
        validate_batch(w.events)?;
    }
    Ok(())
}

/// Appends every write in order after `head`, in the caller's transaction: each stream's
/// exact replay returns its original result, a wrong version is a conflict (and the caller
/// rolls everything back). Returns the results and the positions and hashes written (the
/// Merkle tree's new leaves), in order.
///
/// Where a failed statement leaves the transaction usable (SQLite, in process), each stream is
/// written in turn and its ids are looked up only when the version or an insert says something
/// is off, as a single append does: a backfill of a million fresh events does not probe the id
/// index a million times first. Elsewhere (PostgreSQL, a round trip per statement) the ids of
/// every stream are looked up first, then every version, then every row is inserted: three
/// statements however many streams, so the append lock is not held across a round trip per
/// stream (an evaluation's alerts for 500 households).
pub(crate) async fn append_writes<T: WriteTx>(
    tx: &mut T,
    head: Option<Head>,
    writes: &[StreamWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(Vec<AppendResult>, Vec<(u64, crate::merkle::Hash)>), StoreError> {
    if T::STATEMENT_ROLLBACK {
        append_each(tx, head, writes, now).await
    } else {
        append_planned(tx, head, writes, now).await
    }
}

/// The rows' result, their leaves added to `written` and the head moved past them.
fn chained(
    rows: &[Row],
    now: DateTime<Utc>,
    head: &mut Option<Head>,
    written: &mut Vec<(u64, crate::merkle::Hash)>,
) -> AppendResult {
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    written.extend(leaves(rows));
    *head = Some(Head {
        position: last.global_position,
        hash: last.hash.clone(),
        recorded_at: DateTime::from_timestamp_micros(last.recorded_at_micros).unwrap_or(now),
    });
    AppendResult {
        first_position: first.global_position,
        last_position: last.global_position,
        stream_version: last.stream_version,
        idempotent_replay: false,
    }
}

/// One stream at a time, replays told apart after the fact (see [`append_writes`]).
async fn append_each<T: WriteTx>(
    tx: &mut T,
    mut head: Option<Head>,
    writes: &[StreamWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(Vec<AppendResult>, Vec<(u64, crate::merkle::Hash)>), StoreError> {
    let mut results = Vec::with_capacity(writes.len());
    let mut written = Vec::new();
    for w in writes {
        let version = tx.stream_versions(&[w.stream]).await?.first().copied().unwrap_or(0);
        if let Err(conflict) = check_expected(w.stream, w.expected, version) {
            let existing = tx.existing(&ids(w.events)).await?;
            if let Some(replay) = resolve_replay(w.stream, w.events, &existing)? {
                results.push(replay);
                continue;
            }
            return Err(conflict);
        }
        let rows = build_rows(head.as_ref(), w.stream, version, w.events, now)?;
        if let Err(e) = tx.insert(&[(w.stream, &rows)]).await {
            // Only the failed statement was undone: a batch whose ids are all stored is the
            // replay of an earlier append (its first row failed, so nothing of it was written);
            // anything else is refused, and the caller rolls the transaction back.
            if e.is_unique_violation() {
                let existing = tx.existing(&ids(w.events)).await?;
                if let Some(replay) = resolve_replay(w.stream, w.events, &existing)? {
                    results.push(replay);
                    continue;
                }
            }
            return Err(e);
        }
        results.push(chained(&rows, now, &mut head, &mut written));
    }
    Ok((results, written))
}

/// Every stream's ids, then versions, then rows, each in one statement (see [`append_writes`]).
async fn append_planned<T: WriteTx>(
    tx: &mut T,
    mut head: Option<Head>,
    writes: &[StreamWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(Vec<AppendResult>, Vec<(u64, crate::merkle::Hash)>), StoreError> {
    let all: Vec<Uuid> = writes.iter().flat_map(|w| ids(w.events)).collect();
    let existing = tx.existing(&all).await?;
    let mut replays = Vec::with_capacity(writes.len());
    for w in writes {
        let replay = if existing.is_empty() {
            None
        } else {
            let mine: std::collections::HashSet<Uuid> = ids(w.events).into_iter().collect();
            let stored: Vec<ExistingEvent> = existing.iter().filter(|e| mine.contains(&e.event_id)).cloned().collect();
            resolve_replay(w.stream, w.events, &stored)?
        };
        replays.push(replay);
    }
    let fresh: Vec<&StreamId> =
        writes.iter().zip(&replays).filter(|(_, r)| r.is_none()).map(|(w, _)| w.stream).collect();
    let versions = tx.stream_versions(&fresh).await?;
    if versions.len() != fresh.len() {
        return Err(StoreError::InvalidAppend(format!("{} versions read for {} streams", versions.len(), fresh.len())));
    }
    let mut versions = versions.into_iter();
    let (mut results, mut written, mut built) = (Vec::with_capacity(writes.len()), Vec::new(), Vec::new());
    for (w, replay) in writes.iter().zip(replays) {
        if let Some(replay) = replay {
            results.push(replay);
            continue;
        }
        let version = versions.next().unwrap_or(0);
        check_expected(w.stream, w.expected, version)?;
        let rows = build_rows(head.as_ref(), w.stream, version, w.events, now)?;
        results.push(chained(&rows, now, &mut head, &mut written));
        built.push((w.stream, rows));
    }
    if !built.is_empty() {
        let batches: Vec<(&StreamId, &[Row])> = built.iter().map(|(s, rows)| (*s, rows.as_slice())).collect();
        tx.insert(&batches).await?;
    }
    Ok((results, written))
}

/// What the store already holds under one of the batch's event ids.
#[derive(Debug, Clone)]
pub(crate) struct ExistingEvent {
    pub(crate) event_id: Uuid,
    pub(crate) stream_id: String,
    pub(crate) global_position: u64,
    pub(crate) stream_version: u64,
    pub(crate) event_type: String,
    pub(crate) schema_version: u32,
    pub(crate) payload: Vec<u8>,
}

/// Given the stored events that share ids with the batch, decides whether the batch is an
/// exact replay of an earlier append (return its result) or a misuse of ids (an error).
/// `None` means none of the ids is stored.
pub(crate) fn resolve_replay(
    stream: &StreamId,
    events: &[NewEvent],
    existing: &[ExistingEvent],
) -> Result<Option<AppendResult>, StoreError> {
    if existing.is_empty() {
        return Ok(None);
    }
    let mismatch = |event_id: Uuid, problem: String| StoreError::IdempotencyMismatch { event_id, problem };
    let mut found: Vec<&ExistingEvent> = Vec::with_capacity(events.len());
    for e in events {
        let Some(x) = existing.iter().find(|x| x.event_id == e.event_id) else {
            return Err(mismatch(
                existing[0].event_id,
                format!("the batch repeats {} stored event id(s) but also holds new ones", existing.len()),
            ));
        };
        if x.stream_id != stream.as_str() {
            return Err(mismatch(e.event_id, format!("it is stored in stream {}", x.stream_id)));
        }
        if x.event_type != e.event_type || x.schema_version != e.schema_version || x.payload != e.payload {
            return Err(mismatch(e.event_id, "type, schema version or payload differ".into()));
        }
        found.push(x);
    }
    let contiguous = found.windows(2).all(|w| w[1].global_position == w[0].global_position + 1);
    if !contiguous {
        return Err(mismatch(
            events[0].event_id,
            "the ids were stored by different appends or in another order".into(),
        ));
    }
    Ok(Some(AppendResult {
        first_position: found[0].global_position,
        last_position: found[found.len() - 1].global_position,
        stream_version: found[found.len() - 1].stream_version,
        idempotent_replay: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::ChainVerifier;
    use crate::model::{Metadata, StoredEvent};

    fn new_event(n: u8) -> NewEvent {
        NewEvent {
            event_id: Uuid::from_bytes([n; 16]),
            event_type: "Thing".into(),
            schema_version: 1,
            payload: vec![n],
            metadata: Metadata::default(),
        }
    }

    fn stored(stream: &StreamId, r: &Row) -> StoredEvent {
        StoredEvent {
            global_position: r.global_position,
            stream_id: stream.clone(),
            stream_version: r.stream_version,
            event_id: r.event_id,
            event_type: r.event_type.clone(),
            schema_version: r.schema_version,
            payload: r.payload.clone(),
            metadata: r.metadata.clone(),
            recorded_at: DateTime::from_timestamp_micros(r.recorded_at_micros).unwrap(),
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
        }
    }

    #[test]
    fn built_rows_form_a_chain_that_the_verifier_accepts() {
        let s = StreamId::new("test-1").unwrap();
        let now = Utc::now();
        let first = build_rows(None, &s, 0, &[new_event(1), new_event(2)], now).unwrap();
        let last = first.last().unwrap();
        let head = Head {
            position: last.global_position,
            hash: last.hash.clone(),
            recorded_at: DateTime::from_timestamp_micros(last.recorded_at_micros).unwrap(),
        };
        let second = build_rows(Some(&head), &s, 2, &[new_event(3)], now).unwrap();
        let mut v = ChainVerifier::default();
        for r in first.iter().chain(&second) {
            v.check(&stored(&s, r)).unwrap();
        }
        assert_eq!(v.checked(), 3);
        assert_eq!(second[0].stream_version, 3);
    }

    #[test]
    fn a_changed_payload_breaks_the_chain_at_its_position() {
        let s = StreamId::new("test-1").unwrap();
        let rows = build_rows(None, &s, 0, &[new_event(1), new_event(2), new_event(3)], Utc::now()).unwrap();
        let mut events: Vec<_> = rows.iter().map(|r| stored(&s, r)).collect();
        events[1].payload = vec![99];
        let mut v = ChainVerifier::default();
        v.check(&events[0]).unwrap();
        assert_eq!(v.check(&events[1]).unwrap_err().position(), 2);
    }

    #[test]
    fn recorded_at_never_goes_backwards() {
        let s = StreamId::new("test-1").unwrap();
        let later = Utc::now();
        let head = Head { position: 7, hash: vec![1; 32], recorded_at: later };
        let rows = build_rows(Some(&head), &s, 0, &[new_event(1)], later - chrono::Duration::seconds(5)).unwrap();
        assert_eq!(rows[0].recorded_at_micros, later.timestamp_micros());
        assert_eq!(rows[0].global_position, 8);
    }

    #[test]
    fn a_wrong_expected_version_is_a_conflict() {
        let s = StreamId::new("test-1").unwrap();
        assert!(check_expected(&s, ExpectedVersion::Exact(2), 3).unwrap_err().is_conflict());
        assert!(check_expected(&s, ExpectedVersion::NoStream, 1).unwrap_err().is_conflict());
        check_expected(&s, ExpectedVersion::Any, 5).unwrap();
        check_expected(&s, ExpectedVersion::Exact(3), 3).unwrap();
        check_expected(&s, ExpectedVersion::NoStream, 0).unwrap();
    }

    #[test]
    fn a_batch_with_a_repeated_id_is_refused() {
        assert!(validate_batch(&[new_event(1), new_event(1)]).is_err());
        assert!(validate_batch(&[]).is_err());
        validate_batch(&[new_event(1), new_event(2)]).unwrap();
    }
}
