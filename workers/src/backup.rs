//! Taking a backup of the log (`cairn backup create`, and the ops `backup` task): the log up to
//! its head as it stands when the backup starts (append-only, so that prefix is a consistent
//! snapshot while writers go on), in segments of [`backup::SEGMENT_EVENTS`], sealed into a folder
//! ([`event_store::backup`]). A folder that already holds a backup gets only the events after its
//! head (an incremental backup), once the log is shown still to hold the backed-up head's event
//! unchanged, and refuses a log shorter than it (cut). The data keys are copied whole each time.
//! The manifest carries the Merkle root, a signed head when a signer is given, and the read
//! models' digests when they can be brought exactly to the backup's head.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use event_store::backup::{self, BackupHead, BackupKey, Manifest};
use event_store::merkle::TreeHead;
use event_store::{EventStore as _, Store, StoredEvent};
use projections::runner::Runner;
use projections::source::Source;
use projections::Db;

/// Signs a tree head with the audit key, as `cairn audit head` prints it.
pub type Signer<'a> = &'a (dyn Fn(&TreeHead) -> serde_json::Value + Sync);

/// The events `from..=to` of `store`.
async fn read_range(store: &Store, from: u64, to: u64) -> anyhow::Result<Vec<StoredEvent>> {
    let events = store.read_all(from, usize::try_from(to + 1 - from).unwrap_or(usize::MAX)).await?;
    let events: Vec<StoredEvent> = events.into_iter().take_while(|e| e.global_position <= to).collect();
    if events.len() as u64 != to + 1 - from {
        bail!("the log lost events between {from} and {to} while they were read");
    }
    Ok(events)
}

/// Each read model in `db` caught up from `store` (up to `until` when given) and its digest;
/// none when one already stands beyond `until`.
pub async fn digests(store: &Store, db: &Db, until: Option<u64>) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for p in projections::all() {
        let mut runner = Runner::open(db.clone(), p).await?;
        runner.catch_up(&mut Source::Store { store: store.clone(), until }, &mut |_| {}).await?;
        if let Some(size) = until {
            if runner.status(None).await?.checkpoint != size {
                return Ok(BTreeMap::new());
            }
        }
        out.insert(runner.name().to_owned(), runner.digest().await?.1);
    }
    Ok(out)
}

/// Backs `store` up into `dir` ([module docs](self)); `db` holds the read models whose digests
/// the manifest records. Answers what was written, as JSON.
pub async fn create(
    store: &Store,
    db: Option<&Db>,
    dir: &Path,
    key: &BackupKey,
    sign: Option<Signer<'_>>,
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let earlier = Manifest::read(dir, key)?;
    let size = store.head().await?.map_or(0, |h| h.position);
    let mut segments = Vec::new();
    if let Some(m) = &earlier {
        if size < m.head.size {
            bail!(
                "the log holds {size} events, fewer than the {} backed up in {}: it was cut",
                m.head.size,
                dir.display()
            );
        }
        if m.head.size > 0 {
            let held = read_range(store, m.head.size, m.head.size).await?;
            if held.first().map(|e| hex::encode(&e.hash)).as_deref() != Some(m.head.last_hash.as_str()) {
                bail!(
                    "the log's event {} is not the one backed up in {}: the log was rewritten",
                    m.head.size,
                    dir.display()
                );
            }
        }
        segments.clone_from(&m.segments);
    }
    let from = earlier.as_ref().map_or(1, |m| m.head.size + 1);
    let (mut written, mut bytes, mut at) = (0u64, 0u64, from);
    let mut last: Option<StoredEvent> = None;
    // Each segment is sealed on the blocking pool while the next one is read.
    let mut sealing: Option<tokio::task::JoinHandle<Result<backup::Segment, backup::BackupError>>> = None;
    while at <= size {
        let end = (at + backup::SEGMENT_EVENTS as u64 - 1).min(size);
        let events = read_range(store, at, end).await?;
        written += events.len() as u64;
        last = events.last().cloned();
        if let Some(previous) = sealing.take() {
            let segment = previous.await??;
            bytes += segment.entry.bytes;
            segments.push(segment);
        }
        let (dir, key) = (dir.to_path_buf(), key.clone());
        sealing = Some(tokio::task::spawn_blocking(move || backup::write_segment(&dir, &key, &events)));
        at = end + 1;
    }
    if let Some(previous) = sealing.take() {
        let segment = previous.await??;
        bytes += segment.entry.bytes;
        segments.push(segment);
    }
    let data_keys = store.data_keys().await?;
    let keys = backup::write_keys(dir, key, &data_keys, size)?;
    // The root from the tree the store keeps beside the log: no second pass over old events.
    let head = TreeHead { size, root: store.tree_root(size).await?, timestamp: chrono::Utc::now() };
    if last.is_none() && size > 0 {
        last = read_range(store, size, size).await?.pop();
    }
    let manifest = Manifest {
        format: backup::FORMAT.to_owned(),
        version: backup::VERSION,
        created_at: chrono::Utc::now(),
        source: store.backend().to_owned(),
        head: BackupHead {
            size,
            root: hex::encode(head.root),
            last_hash: last.as_ref().map(|e| hex::encode(&e.hash)).unwrap_or_default(),
            recorded_at: last.map(|e| e.recorded_at),
        },
        signed_head: sign.map(|s| s(&head)),
        segments,
        keys,
        key_count: data_keys.len() as u64,
        digests: match db {
            Some(db) => digests(store, db, Some(size)).await?,
            None => BTreeMap::new(),
        },
        mac: String::new(),
    }
    .write(dir, key)?;
    // The earlier keys' file, now that the manifest names the new one.
    if let Some(old) = earlier.filter(|m| m.keys.file != manifest.keys.file) {
        let _ = std::fs::remove_file(dir.join(&old.keys.file));
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "dir": dir.display().to_string(),
        "from": from,
        "to": size,
        "events": written,
        "segments": manifest.segments.len(),
        "bytes_written": bytes,
        "root": manifest.head.root,
        "digests": manifest.digests.len(),
        "incremental": from > 1,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    }))
}
