//! `cairn audit head|prove|consistency|check-proof`: signed tree heads over the log and the
//! proofs an auditor checks alone (`event_store::merkle`). A head is signed with the audit key
//! (Ed25519, `CAIRN_AUDIT_KEY_FILE`, kept outside the database); `check-proof` needs only the
//! proof file and the public key, never the database.
//!
//! Heads and proofs come from the tree's nodes the store keeps beside the log
//! (`Store::sync_tree`): a proof reads about log₂ n nodes and a few dozen leaf hashes.
//! `verify --heads` alone reads every leaf, since it checks the log itself.

use ed25519_dalek::{Verifier, VerifyingKey};
use event_store::merkle::{self, Hash, TreeHead};
use event_store::{EventStore as _, Store, StoredEvent};
use serde::{Deserialize, Serialize};

pub(crate) use api::audit::SignedHead;

/// An inclusion proof as `cairn audit prove` writes it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InclusionFile {
    pub head: SignedHead,
    /// The event, every stored field (its payload and metadata bytes as stored).
    pub event: StoredEvent,
    pub proof: Vec<String>,
}

/// A consistency proof as `cairn audit consistency` writes it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ConsistencyFile {
    pub from_size: u64,
    pub from_root: String,
    pub head: SignedHead,
    pub proof: Vec<String>,
}

fn unhex(field: &str, s: &str) -> anyhow::Result<Hash> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("{field}: {s:?} is not 32 bytes of hex"))
}

/// The signed head of the log's first `size` events (all of them when `None`).
pub(crate) async fn head(store: &Store, size: Option<u64>) -> anyhow::Result<SignedHead> {
    let length = store.head().await?.map_or(0, |h| h.position);
    let size = size.unwrap_or(length);
    if size > length {
        anyhow::bail!("size: the log holds {length} events, not {size}");
    }
    let head = TreeHead { size, root: store.tree_root(size).await?, timestamp: chrono::Utc::now() };
    Ok(api::audit::sign(&api::audit::key()?, &head))
}

/// The audit key's public half (hex), when this machine has the audit key (never made here).
pub(crate) fn public_key() -> anyhow::Result<Option<String>> {
    if !api::config::audit_key_file().exists() {
        return Ok(None);
    }
    Ok(Some(hex::encode(api::audit::key()?.verifying_key().as_bytes())))
}

/// Checks a head's signature with `public_key` (hex), the key the auditor trusts.
pub(crate) fn check_head(h: &SignedHead, public_key: &str) -> anyhow::Result<TreeHead> {
    let key_bytes: [u8; 32] = unhex("public_key", public_key)?;
    if !h.public_key.eq_ignore_ascii_case(public_key) {
        anyhow::bail!("head: signed by {}, not by the key given", h.public_key);
    }
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|e| anyhow::anyhow!("public_key: {e}"))?;
    let head = TreeHead { size: h.size, root: unhex("head.root", &h.root)?, timestamp: h.timestamp };
    let signature: [u8; 64] = hex::decode(&h.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("head.signature: not 64 bytes of hex"))?;
    key.verify(&head.message(), &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| anyhow::anyhow!("head: the signature does not match its size, root and time"))?;
    Ok(head)
}

/// `cairn audit prove`: the event at `position` and its inclusion proof against a signed head.
pub(crate) async fn prove(store: &Store, position: u64, size: Option<u64>) -> anyhow::Result<InclusionFile> {
    let head = head(store, size).await?;
    if position == 0 || position > head.size {
        anyhow::bail!("position: {position} is not in a log of {} events", head.size);
    }
    let event = store
        .read_all(position, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("position: {position} not found"))?;
    let proof = store.tree_inclusion_proof(position, head.size).await?;
    Ok(InclusionFile { head, event, proof: proof.iter().map(hex::encode).collect() })
}

/// `cairn audit consistency`: the proof that the log's first `to` events extend its first `from`.
pub(crate) async fn consistency(store: &Store, from: u64, to: Option<u64>) -> anyhow::Result<ConsistencyFile> {
    let head = head(store, to).await?;
    if from == 0 || from > head.size {
        anyhow::bail!("from_size: between 1 and {}", head.size);
    }
    let proof = store.tree_consistency_proof(from, head.size).await?;
    Ok(ConsistencyFile {
        from_size: from,
        from_root: hex::encode(store.tree_root(from).await?),
        head,
        proof: proof.iter().map(hex::encode).collect(),
    })
}

/// `cairn audit check-proof`: checks a proof file offline with the audit public key; with an
/// auditor's own earlier head (`kept`), a consistency proof must start from exactly it.
pub(crate) fn check(file: &str, public_key: &str, kept: Option<&str>) -> anyhow::Result<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_str(file).map_err(|e| anyhow::anyhow!("proof: not JSON: {e}"))?;
    let proof_of = |v: &[String]| v.iter().map(|p| unhex("proof", p)).collect::<anyhow::Result<Vec<Hash>>>();
    if value.get("event").is_some() {
        let f: InclusionFile = serde_json::from_value(value).map_err(|e| anyhow::anyhow!("proof: {e}"))?;
        let head = check_head(&f.head, public_key)?;
        let computed = event_store::hash::computed(&f.event);
        if computed[..] != f.event.hash[..] {
            anyhow::bail!("event: its fields do not give its hash: the event was altered");
        }
        let position = f.event.global_position;
        if position == 0 {
            anyhow::bail!("event: position 0 is not an event");
        }
        merkle::verify_inclusion(position - 1, head.size, &computed, &proof_of(&f.proof)?, &head.root)
            .map_err(|e| anyhow::anyhow!("proof: event {position} is not in the head's log: {e}"))?;
        return Ok(serde_json::json!({
            "ok": true, "kind": "inclusion", "position": position, "event_type": f.event.event_type,
            "stream": f.event.stream_id.as_str(), "head_size": head.size, "head_root": f.head.root,
        }));
    }
    let f: ConsistencyFile = serde_json::from_value(value).map_err(|e| anyhow::anyhow!("proof: {e}"))?;
    let head = check_head(&f.head, public_key)?;
    if let Some(kept) = kept {
        let old: SignedHead = serde_json::from_str(kept).map_err(|e| anyhow::anyhow!("head: not a tree head: {e}"))?;
        check_head(&old, public_key)?;
        if (old.size, old.root.to_ascii_lowercase()) != (f.from_size, f.from_root.to_ascii_lowercase()) {
            anyhow::bail!(
                "head: the proof starts from {} events with root {}, not from your head's {} with root {}",
                f.from_size,
                f.from_root,
                old.size,
                old.root
            );
        }
    }
    merkle::verify_consistency(
        f.from_size,
        head.size,
        &unhex("from_root", &f.from_root)?,
        &head.root,
        &proof_of(&f.proof)?,
    )
    .map_err(|e| anyhow::anyhow!("proof: the log of {} does not extend the log of {}: {e}", head.size, f.from_size))?;
    Ok(serde_json::json!({
        "ok": true, "kind": "consistency", "from_size": f.from_size, "from_root": f.from_root,
        "head_size": head.size, "head_root": f.head.root, "kept_head_checked": kept.is_some(),
    }))
}

/// `cairn verify --heads FILE`: every signed head in the file (one JSON per line) against the
/// log. `Ok(Ok(summary))` when each holds; `Ok(Err(why))` naming the first that does not: the
/// positions missing from a log shorter than it, or the range a change is in (after the largest
/// head that still holds). Heads are checked with the audit key's public half when its file is
/// here, else with the key each head names (said in the summary).
pub(crate) async fn verify_heads(store: &Store, path: &std::path::Path) -> anyhow::Result<Result<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut heads: Vec<SignedHead> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| anyhow::anyhow!("{}: line {}: not a tree head: {e}", path.display(), i + 1))
        })
        .collect::<anyhow::Result<_>>()?;
    if heads.is_empty() {
        anyhow::bail!("{}: no tree heads", path.display());
    }
    let key_file = api::config::audit_key_file();
    let own_key =
        if key_file.exists() { Some(hex::encode(api::audit::key()?.verifying_key().as_bytes())) } else { None };
    for h in &heads {
        let key = own_key.clone().unwrap_or_else(|| h.public_key.clone());
        check_head(h, &key).map_err(|e| anyhow::anyhow!("{}: the head of {} events: {e}", path.display(), h.size))?;
    }
    heads.sort_by_key(|h| h.size);
    let length = store.head().await?.map_or(0, |h| h.position);
    let largest = heads.last().map_or(0, |h| h.size);
    let leaves = merkle::leaves(store, largest.min(length)).await?;
    let mut held = 0u64;
    for h in &heads {
        if h.size > length {
            return Ok(Err(format!(
                "the log holds {length} events, but a head signed at {} holds {}: positions {} to {} are missing",
                h.timestamp,
                h.size,
                length + 1,
                h.size
            )));
        }
        let root = hex::encode(merkle::root(&leaves[..h.size as usize]));
        if !root.eq_ignore_ascii_case(&h.root) {
            return Ok(Err(format!(
                "the log's first {} events no longer give the root signed at {}: an event from position {} to {} was changed",
                h.size,
                h.timestamp,
                held + 1,
                h.size
            )));
        }
        held = h.size;
    }
    let by = if own_key.is_some() { "the audit key" } else { "the keys they name (no audit key file here)" };
    Ok(Ok(format!("{} signed head(s) hold, the largest of {largest} events, checked with {by}", heads.len())))
}
