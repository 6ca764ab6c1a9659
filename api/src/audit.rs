//! Signed tree heads: the audit key (Ed25519, `CAIRN_AUDIT_KEY_FILE`, outside the database),
//! heads signed with it, and the publisher `serve` runs: after commits (at most one head a
//! second), a head over the whole log, kept by witnesses outside the database: appended to the
//! heads file (`CAIRN_AUDIT_HEADS_FILE`, one JSON per line, what `cairn verify --heads` reads),
//! published on the NATS subject `cairn.audit.heads` when the relay's server is set, and kept in
//! memory for `GET /v1/audit/heads`. The store keeps the tree's nodes beside the log
//! (`Store::sync_tree`), so a head costs the new events' hashes, not the log's, even just after
//! a restart.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer as _, SigningKey};
use event_store::merkle::{self, Hash, TreeHead};
use event_store::{EventStore as _, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The NATS subject heads are published on.
pub const SUBJECT: &str = "cairn.audit.heads";

/// The most heads kept in memory for `GET /v1/audit/heads`.
pub const KEPT: usize = 100;

/// The shortest time between two heads the publisher issues.
pub const EVERY: Duration = Duration::from_secs(1);

/// A tree head as published: hashes and the signature in hex, the time in RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignedHead {
    pub size: u64,
    pub root: String,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    /// The audit key's public half (Ed25519, 32 bytes).
    pub public_key: String,
    /// Ed25519 over `event_store::merkle::TreeHead::message`.
    pub signature: String,
}

/// The audit key (`CAIRN_AUDIT_KEY_FILE`), made (mode 0600) when its file is missing.
pub fn key() -> anyhow::Result<SigningKey> {
    key_at(&crate::config::audit_key_file())
}

/// The audit key in `path`, made (mode 0600) when the file is missing.
pub fn key_at(path: &std::path::Path) -> anyhow::Result<SigningKey> {
    let pem = crate::http::auth::token::signing_key_file(path)?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| anyhow::anyhow!("{}: not an Ed25519 PKCS#8 key: {e}", path.display()))
}

/// `head` signed with `key`.
pub fn sign(key: &SigningKey, head: &TreeHead) -> SignedHead {
    SignedHead {
        size: head.size,
        root: hex::encode(head.root),
        timestamp: head.timestamp,
        public_key: hex::encode(key.verifying_key().as_bytes()),
        signature: hex::encode(key.sign(&head.message()).to_bytes()),
    }
}

/// Signs tree heads with the audit key, as `cairn audit head` prints them.
pub fn signer() -> anyhow::Result<impl Fn(&TreeHead) -> serde_json::Value + Sync> {
    let key = key()?;
    Ok(move |head: &TreeHead| serde_json::to_value(sign(&key, head)).unwrap_or_default())
}

/// The heads issued since the server started, the newest last ([`KEPT`] at most).
#[derive(Debug, Default)]
pub struct Heads(Mutex<VecDeque<SignedHead>>);

impl Heads {
    pub fn recent(&self) -> Vec<SignedHead> {
        self.0.lock().map(|h| h.iter().cloned().collect()).unwrap_or_default()
    }

    fn push(&self, head: SignedHead) {
        if let Ok(mut h) = self.0.lock() {
            if h.len() == KEPT {
                h.pop_front();
            }
            h.push_back(head);
        }
    }
}

/// Where the publisher sends each head.
pub struct Witnesses {
    /// Appended a line each (created if missing).
    pub file: Option<PathBuf>,
    pub nats: Option<async_nats::Client>,
    pub heads: Arc<Heads>,
}

/// Issues a head after commits, at most every [`EVERY`], until `stopping`.
pub async fn publish(store: Store, key: SigningKey, witnesses: Witnesses, mut stopping: watch::Receiver<bool>) {
    // After a restart, the last head this key signed into the file is the one to extend.
    let mut issued = witnesses.file.as_deref().and_then(|f| last_signed(f, &key));
    let mut commits = store.commits();
    loop {
        match issue(&store, &key, &mut issued, &witnesses).await {
            Ok(()) => {}
            Err(e) => tracing::error!(error = %e, "signed tree head not issued"),
        }
        tokio::select! {
            _ = stopping.changed() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        // Then wait for the next commit (or the store's fallback tick).
        let tick = store.fallback_tick().unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = stopping.changed() => return,
            _ = commits.changed() => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

/// The size and root of the last head in the heads file `path`, when `key` signed it.
fn last_signed(path: &std::path::Path, key: &SigningKey) -> Option<(u64, Hash)> {
    let text = std::fs::read_to_string(path).ok()?;
    let head: SignedHead = serde_json::from_str(text.lines().rev().find(|l| !l.trim().is_empty())?).ok()?;
    if head.public_key != hex::encode(key.verifying_key().as_bytes()) {
        return None;
    }
    Some((head.size, hex::decode(&head.root).ok()?.try_into().ok()?))
}

/// Brings the stored tree to the log's head and, when it grew, signs and hands out a head. It
/// never signs a log that does not extend the last head it issued (one shorter, or whose
/// consistency proof from that head fails): that log was truncated or rewritten under it.
async fn issue(store: &Store, key: &SigningKey, issued: &mut Option<(u64, Hash)>, w: &Witnesses) -> anyhow::Result<()> {
    let size = store.head().await?.map_or(0, |h| h.position);
    if issued.is_some_and(|(last, _)| last == size) {
        return Ok(());
    }
    let root = store.tree_root(size).await?;
    if let Some((last, last_root)) = *issued {
        let extends = last < size
            && (last == 0
                || merkle::verify_consistency(
                    last,
                    size,
                    &last_root,
                    &root,
                    &store.tree_consistency_proof(last, size).await?,
                )
                .is_ok());
        if !extends {
            let file = w.file.as_ref().map_or(String::new(), |f| format!(" (the last line of {})", f.display()));
            anyhow::bail!(
                "the log of {size} events does not extend the head of {last} events signed before{file}: it was \
                 truncated or rewritten, so no head is signed. If this store is meant to be a new log (a new \
                 database, or a restore to an earlier instant), keep that heads file and start a new one"
            );
        }
    }
    *issued = Some((size, root));
    let signed = sign(key, &TreeHead { size, root, timestamp: chrono::Utc::now() });
    let line = serde_json::to_string(&signed)?;
    if let Some(path) = &w.file {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        f.write_all(format!("{line}\n").as_bytes())?;
    }
    if let Some(nats) = &w.nats {
        nats.publish(SUBJECT, line.clone().into()).await?;
    }
    w.heads.push(signed);
    Ok(())
}
