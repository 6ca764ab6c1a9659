//! `cairn backup create|verify` and `cairn restore`: the log backed up into a folder of sealed
//! segments with a manifest (`event_store::backup`), checked in full, and written back into an
//! empty store of either backend, whole or up to an instant or a position.
//!
//! - `create`: [`workers::backup::create`] (shared with the ops `backup` task).
//! - `verify` checks the manifest's MAC, every file's size, SHA-256 and seal, restores the log
//!   into a scratch SQLite store (every chain link and hash checked on the way), recomputes the
//!   Merkle root against the manifest and the signed head's signature, rebuilds the read models
//!   there and compares their digests with the manifest's.
//! - `restore` writes the events (up to `--to-position` or `--to-time`) into an empty store,
//!   refusing a store that holds anything unless `--force` and the store's log is a prefix of
//!   the backup's (a restore resumed), then the data keys, then rebuilds the read models.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::Subcommand;
use event_store::backup::{self, BackupKey, Manifest};
use event_store::{EventStore as _, Restorer, Store, StoredEvent};
use projections::Db;

use super::outln;

#[derive(Debug, Subcommand)]
pub(crate) enum BackupCmd {
    /// Back the log up into DIR (a new folder, or one holding an earlier backup of this log, which
    /// then gets only the events after it). Safe while `serve` runs. The backup key is
    /// `CAIRN_BACKUP_KEY_FILE` (default `backup.key` beside the master key), made on first use:
    /// keep it apart from the backups.
    Create {
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
    /// Check a backup whole: manifest, every file, every event's chain link, the Merkle root
    /// and the signed head, and the read models rebuilt from it. Exits 1 naming what is wrong.
    /// Needs no database.
    Verify { dir: PathBuf },
}

fn key() -> anyhow::Result<BackupKey> {
    Ok(BackupKey::load(&api::config::backup_key_file())?)
}

/// Where a restore stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cut {
    All,
    Position(u64),
    Time(chrono::DateTime<chrono::Utc>),
}

impl Cut {
    fn keeps(self, e: &StoredEvent) -> bool {
        match self {
            Self::All => true,
            Self::Position(p) => e.global_position <= p,
            Self::Time(t) => e.recorded_at <= t,
        }
    }
}

/// What a restore into `target` did (or, dry, would do).
struct Restored {
    events: u64,
    last: Option<(u64, chrono::DateTime<chrono::Utc>)>,
    /// The Merkle tree of the events restored (their root, in log₂ n hashes of memory).
    tree: event_store::merkle::Frontier,
}

/// Writes the backup's events kept by `cut` after `target`'s head (whose own last event must be
/// the backup's at that position); `dry` checks without writing.
async fn replay(
    dir: &Path,
    key: &BackupKey,
    m: &Manifest,
    target: &Store,
    cut: Cut,
    dry: bool,
) -> anyhow::Result<Restored> {
    let held = target.head().await?;
    let mut restorer = Restorer::new(target).await?;
    let skip = restorer.next_position() - 1;
    let mut chain = event_store::ChainVerifier::default();
    let mut out = Restored { events: 0, last: None, tree: event_store::merkle::Frontier::default() };
    for segment in &m.segments {
        let file = &segment.entry.file;
        let events = backup::read_segment(dir, key, segment)?;
        let mut kept = Vec::with_capacity(events.len());
        let mut done = false;
        for e in events {
            chain.check(&e).map_err(|b| anyhow::anyhow!("{file}: {b}"))?;
            if !cut.keeps(&e) {
                done = true;
                break;
            }
            if held.as_ref().is_some_and(|h| h.position == e.global_position && h.hash != e.hash) {
                bail!(
                    "the store's event {} is not the backup's: its log is not a prefix of the backup's",
                    e.global_position
                );
            }
            let leaf = e
                .hash
                .as_slice()
                .try_into()
                .map_err(|_| anyhow::anyhow!("{file}: a hash of {} bytes", e.hash.len()))?;
            out.tree.push(leaf);
            out.last = Some((e.global_position, e.recorded_at));
            if e.global_position > skip {
                kept.push(e);
            }
        }
        out.events += kept.len() as u64;
        if !dry {
            restorer.push(&kept).await?;
        }
        if done {
            break;
        }
    }
    if out.last.map_or(0, |(p, _)| p) < skip {
        bail!("the store holds {skip} events, more than the backup restores");
    }
    Ok(out)
}

/// The backup's root checked against the leaves restored, and its signed head's signature.
fn check_heads(m: &Manifest, tree: &event_store::merkle::Frontier) -> anyhow::Result<Vec<String>> {
    let root = hex::encode(tree.root());
    if tree.size() != m.head.size || root != m.head.root {
        bail!(
            "manifest.json: the head ({} events, root {}) is not the log restored ({} events, root {root})",
            m.head.size,
            m.head.root,
            tree.size()
        );
    }
    let mut notes = Vec::new();
    match &m.signed_head {
        Some(signed) => {
            let head: super::proofs::SignedHead =
                serde_json::from_value(signed.clone()).context("manifest.json: signed_head")?;
            let trusted = super::proofs::public_key()?;
            let key = trusted.clone().unwrap_or_else(|| head.public_key.clone());
            super::proofs::check_head(&head, &key).context("manifest.json: signed_head")?;
            if head.size != m.head.size || head.root != m.head.root {
                bail!("manifest.json: the signed head ({} events, root {}) is not the backup's", head.size, head.root);
            }
            if trusted.is_none() {
                notes.push("signed head checked with the key it names (no audit key here to trust)".to_owned());
            }
        }
        None => notes.push("no signed head".to_owned()),
    }
    Ok(notes)
}

/// A scratch SQLite store and read-model database in a temporary folder.
async fn scratch() -> anyhow::Result<(tempfile::TempDir, Store, String)> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("restore.db").display());
    let store = Store::open(&url).await?;
    Ok((dir, store, url))
}

/// Rebuilds every read model of `store` (whose read models live at `url`) and returns their
/// digests.
async fn rebuild(store: &Store, url: &str) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    workers::backup::digests(store, &Db::open(url, true).await?, None).await
}

pub(crate) async fn verify(dir: &Path, key: &BackupKey) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let m = Manifest::read(dir, key)?.ok_or_else(|| anyhow::anyhow!("{}: no manifest.json", dir.display()))?;
    let (_scratch, store, url) = scratch().await?;
    let restored = replay(dir, key, &m, &store, Cut::All, false).await?;
    let notes = check_heads(&m, &restored.tree)?;
    let keys = backup::read_keys(dir, key, &m.keys)?;
    if keys.len() as u64 != m.key_count {
        bail!("{}: {} keys, the manifest says {}", m.keys.file, keys.len(), m.key_count);
    }
    let digests = rebuild(&store, &url).await?;
    for (name, expected) in &m.digests {
        if digests.get(name) != Some(expected) {
            bail!("the read model {name} rebuilt from the backup does not match the digest taken with it");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "ok": true,
        "events": restored.events,
        "segments": m.segments.len(),
        "files": m.files().len() + 1,
        "root": m.head.root,
        "keys": keys.len(),
        "digests_compared": m.digests.len(),
        "notes": notes,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    }))
}

pub(crate) async fn backup(store: Store, url: &str, cmd: BackupCmd) -> anyhow::Result<()> {
    match cmd {
        BackupCmd::Create { to } => {
            let key = BackupKey::load_or_create(&api::config::backup_key_file())?;
            let db = Db::open(url, true).await?;
            let audit = api::audit::signer()?;
            let sign = |h: &event_store::merkle::TreeHead| audit(h);
            outln!("{}", workers::backup::create(&store, Some(&db), &to, &key, Some(&sign)).await?)?
        }
        BackupCmd::Verify { dir } => verify_cmd(&dir).await?,
    }
    Ok(())
}

/// `cairn backup verify DIR`: no database, only the folder and the backup key.
pub(crate) async fn verify_cmd(dir: &Path) -> anyhow::Result<()> {
    outln!("{}", verify(dir, &key()?).await?)?;
    Ok(())
}

/// `cairn restore DIR --to URL`.
pub(crate) async fn restore(dir: &Path, to: &str, cut: Cut, dry_run: bool, force: bool) -> anyhow::Result<()> {
    outln!("{}", restore_with(dir, &key()?, to, cut, dry_run, force).await?)?;
    Ok(())
}

/// Restores the backup in `dir` (sealed with `key`) into `to`; what it did, as JSON.
pub(crate) async fn restore_with(
    dir: &Path,
    key: &BackupKey,
    to: &str,
    cut: Cut,
    dry_run: bool,
    force: bool,
) -> anyhow::Result<serde_json::Value> {
    let started = Instant::now();
    let m = Manifest::read(dir, key)?.ok_or_else(|| anyhow::anyhow!("{}: no manifest.json", dir.display()))?;
    // A dry run reads and checks the whole backup and touches no store.
    let target = if dry_run {
        Store::open("sqlite::memory:").await?
    } else {
        Store::open(to).await.with_context(|| format!("--to {to}"))?
    };
    let held = target.head().await?;
    if let Some(h) = &held {
        if !force {
            bail!("--to {to} already holds {} events: restore into an empty store, or --force to go on from a log that is a prefix of the backup's", h.position);
        }
    }
    let restored = replay(dir, key, &m, &target, cut, dry_run).await?;
    if let Cut::All = cut {
        check_heads(&m, &restored.tree)?;
    }
    let mut digests = std::collections::BTreeMap::new();
    if !dry_run {
        target.restore_data_keys(&backup::read_keys(dir, key, &m.keys)?).await?;
        digests = rebuild(&target, to).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "dry_run": dry_run,
        "events": restored.events,
        "to_position": restored.last.map(|(p, _)| p),
        "last_recorded_at": restored.last.map(|(_, t)| t),
        "root": hex::encode(restored.tree.root()),
        "digests": digests,
        "seconds": (seconds * 1000.0).round() / 1000.0,
    }))
}
