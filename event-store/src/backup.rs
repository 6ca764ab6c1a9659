//! The files of a backup: a folder holding the log's events in segments, the per-subject data
//! keys, and a manifest. Every file is zstd-compressed, then sealed with AES-256-GCM under the
//! backup key (a random 96-bit nonce per file; the file's name and plain size are the associated data,
//! so a file renamed in place of another fails to open). The manifest is JSON, readable without the key,
//! and authenticated by an HMAC-SHA256 under the same key over its text with `mac` empty; it
//! names the format and its version, each file with its SHA-256 and size, each segment's
//! positions, instants and last hash, and the log's head (size, Merkle root, last hash).
//!
//! A backup folder grows: each `create` after the first appends segments holding only the events
//! after the manifest's head (an incremental backup) and rewrites the manifest, which is
//! written to a temporary name and renamed over the old one, so a backup interrupted part-way
//! leaves the previous manifest (and the backup it describes) whole.
//!
//! Reading checks everything: the manifest's MAC, each file's size and SHA-256, the seal, the
//! decoded events' positions against the manifest. A flipped byte anywhere is an error naming
//! the file.

use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::StoredEvent;
use crate::restore::KeyRecord;

/// What the manifest's `format` says.
pub const FORMAT: &str = "cairn-backup";
/// The format's version; a reader refuses others.
pub const VERSION: u32 = 1;
/// The most events in one segment file.
pub const SEGMENT_EVENTS: usize = 50_000;
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";

const MAGIC: &[u8; 8] = b"CAIRNBK1";
const ZSTD_LEVEL: i32 = 3;

/// What can go wrong with a backup's files.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{file}: {problem}")]
    Corrupt { file: String, problem: String },
    #[error("backup key {path}: {problem}")]
    Key { path: String, problem: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

fn corrupt(file: &str, problem: impl Into<String>) -> BackupError {
    BackupError::Corrupt { file: file.to_owned(), problem: problem.into() }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.display().to_string(), source }
}

/// The backup key: 32 random bytes, kept in a file as 64 hex digits, outside the database.
#[derive(Clone)]
pub struct BackupKey([u8; 32]);

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupKey(..)")
    }
}

impl BackupKey {
    /// Reads the key at `path`.
    pub fn load(path: &Path) -> Result<Self, BackupError> {
        let key_error = |problem: String| BackupError::Key { path: path.display().to_string(), problem };
        let text = std::fs::read_to_string(path).map_err(|e| key_error(e.to_string()))?;
        let bytes = hex::decode(text.trim()).map_err(|e| key_error(format!("not hex: {e}")))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| key_error("not 32 bytes (64 hex digits)".into()))?;
        Ok(Self(key))
    }

    /// Reads the key at `path`, making one (readable by its owner only) when there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, BackupError> {
        if path.exists() {
            return Self::load(path);
        }
        let key: [u8; 32] = Aes256Gcm::generate_key(&mut OsRng).into();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io(path))?;
        std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(key)).as_bytes()).map_err(io(path))?;
        Ok(Self(key))
    }

    fn mac(&self, text: &[u8]) -> String {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("any key length"));
        m.update(text);
        hex::encode(m.finalize().into_bytes())
    }

    /// Compresses and seals `plain` as the file `name`.
    pub fn seal(&self, name: &str, plain: &[u8]) -> Result<Vec<u8>, BackupError> {
        let packed = zstd::bulk::compress(plain, ZSTD_LEVEL).map_err(|e| corrupt(name, format!("zstd: {e}")))?;
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated(name, plain.len() as u64);
        let sealed =
            cipher.encrypt(&nonce, Payload { msg: &packed, aad: &aad }).map_err(|_| corrupt(name, "cannot encrypt"))?;
        let mut out = Vec::with_capacity(MAGIC.len() + nonce.len() + 8 + sealed.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&(plain.len() as u64).to_le_bytes());
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a sealed file `name`.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>, BackupError> {
        let head = MAGIC.len() + 12 + 8;
        if sealed.len() < head || &sealed[..MAGIC.len()] != MAGIC {
            return Err(corrupt(name, "not a cairn backup file"));
        }
        let nonce = Nonce::from_slice(&sealed[MAGIC.len()..MAGIC.len() + 12]);
        let size = u64::from_le_bytes(sealed[MAGIC.len() + 12..head].try_into().unwrap_or_default());
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        let aad = associated(name, size);
        let packed = cipher
            .decrypt(nonce, Payload { msg: &sealed[head..], aad: &aad })
            .map_err(|_| corrupt(name, "does not open with the backup key: altered, or another key's"))?;
        let most = usize::try_from(size).map_err(|_| corrupt(name, "size"))?;
        zstd::bulk::decompress(&packed, most).map_err(|e| corrupt(name, format!("zstd: {e}")))
    }
}

/// What a file's seal authenticates beside its contents: its name and its plain size.
fn associated(name: &str, size: u64) -> Vec<u8> {
    let mut aad = name.as_bytes().to_vec();
    aad.push(0);
    aad.extend_from_slice(&size.to_le_bytes());
    aad
}

/// A file of the backup, as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A segment: events `first..=last`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    #[serde(flatten)]
    pub entry: FileEntry,
    pub first: u64,
    pub last: u64,
    pub first_recorded_at: DateTime<Utc>,
    pub last_recorded_at: DateTime<Utc>,
    /// The chain hash of event `last`, hex.
    pub last_hash: String,
}

/// The log the backup holds: its length, the RFC 6962 root over its hashes, its last hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHead {
    pub size: u64,
    pub root: String,
    pub last_hash: String,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// The manifest ([module docs](self)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// When this manifest was written (the last `create`).
    pub created_at: DateTime<Utc>,
    /// The backend backed up (`sqlite` or `postgres`).
    pub source: String,
    pub head: BackupHead,
    /// The audit key's signed tree head over the same log, as `cairn audit head` prints it.
    pub signed_head: Option<serde_json::Value>,
    pub segments: Vec<Segment>,
    pub keys: FileEntry,
    pub key_count: u64,
    /// Each read model's digest at the head, when the read models were there when it was taken.
    #[serde(default)]
    pub digests: std::collections::BTreeMap<String, String>,
    /// HMAC-SHA256 under the backup key of this manifest with `mac` empty, hex.
    pub mac: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to `dir/name` (through a temporary file renamed into place) and returns its
/// entry.
fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<FileEntry, BackupError> {
    let path = dir.join(name);
    let temp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, bytes).map_err(io(&temp))?;
    std::fs::File::open(&temp).and_then(|f| f.sync_all()).map_err(io(&temp))?;
    std::fs::rename(&temp, &path).map_err(io(&path))?;
    Ok(FileEntry { file: name.to_owned(), bytes: bytes.len() as u64, sha256: sha256_hex(bytes) })
}

/// Reads a file the manifest names and checks its size and SHA-256.
fn read_file(dir: &Path, entry: &FileEntry) -> Result<Vec<u8>, BackupError> {
    if entry.file.contains(['/', '\\']) || entry.file.starts_with('.') {
        return Err(corrupt(MANIFEST, format!("names a file outside the folder: {:?}", entry.file)));
    }
    let path = dir.join(&entry.file);
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    if bytes.len() as u64 != entry.bytes {
        return Err(corrupt(&entry.file, format!("{} bytes, the manifest says {}", bytes.len(), entry.bytes)));
    }
    if sha256_hex(&bytes) != entry.sha256 {
        return Err(corrupt(&entry.file, "its SHA-256 is not the manifest's: the file was altered"));
    }
    Ok(bytes)
}

/// Writes `events` (consecutive positions) as a segment file.
pub fn write_segment(dir: &Path, key: &BackupKey, events: &[StoredEvent]) -> Result<Segment, BackupError> {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Err(corrupt("segment", "no events"));
    };
    let name = format!("events-{:012}-{:012}.cbk", first.global_position, last.global_position);
    let plain = rmp_serde::to_vec(events).map_err(|e| corrupt(&name, e.to_string()))?;
    let entry = write_file(dir, &name, &key.seal(&name, &plain)?)?;
    Ok(Segment {
        entry,
        first: first.global_position,
        last: last.global_position,
        first_recorded_at: first.recorded_at,
        last_recorded_at: last.recorded_at,
        last_hash: hex::encode(&last.hash),
    })
}

/// Reads a segment and checks its events are the manifest's.
pub fn read_segment(dir: &Path, key: &BackupKey, segment: &Segment) -> Result<Vec<StoredEvent>, BackupError> {
    let name = &segment.entry.file;
    let plain = key.open(name, &read_file(dir, &segment.entry)?)?;
    let events: Vec<StoredEvent> = rmp_serde::from_slice(&plain).map_err(|e| corrupt(name, e.to_string()))?;
    let positions: Vec<u64> = events.iter().map(|e| e.global_position).collect();
    let expected: Vec<u64> = (segment.first..=segment.last).collect();
    if positions != expected {
        return Err(corrupt(name, format!("holds other positions than {}..={}", segment.first, segment.last)));
    }
    if events.last().map(|e| hex::encode(&e.hash)) != Some(segment.last_hash.clone()) {
        return Err(corrupt(name, "its last event's hash is not the manifest's"));
    }
    Ok(events)
}

/// Writes the data keys' file.
pub fn write_keys(dir: &Path, key: &BackupKey, keys: &[KeyRecord], size: u64) -> Result<FileEntry, BackupError> {
    // A name of its own each time, so the file the manifest names is never replaced in place.
    let name = format!("keys-{size:012}-{}.cbk", Utc::now().timestamp_micros());
    let plain = rmp_serde::to_vec(keys).map_err(|e| corrupt(&name, e.to_string()))?;
    write_file(dir, &name, &key.seal(&name, &plain)?)
}

/// Reads the data keys' file.
pub fn read_keys(dir: &Path, key: &BackupKey, entry: &FileEntry) -> Result<Vec<KeyRecord>, BackupError> {
    let plain = key.open(&entry.file, &read_file(dir, entry)?)?;
    rmp_serde::from_slice(&plain).map_err(|e| corrupt(&entry.file, e.to_string()))
}

impl Manifest {
    fn text(&self) -> Result<String, BackupError> {
        serde_json::to_string_pretty(self).map_err(|e| corrupt(MANIFEST, e.to_string()))
    }

    /// Signs and writes the manifest (through a temporary file renamed into place).
    pub fn write(mut self, dir: &Path, key: &BackupKey) -> Result<Self, BackupError> {
        self.mac = String::new();
        self.mac = key.mac(self.text()?.as_bytes());
        write_file(dir, MANIFEST, format!("{}\n", self.text()?).as_bytes())?;
        Ok(self)
    }

    /// The folder's manifest, checked against the key; `None` when the folder has none.
    pub fn read(dir: &Path, key: &BackupKey) -> Result<Option<Self>, BackupError> {
        let path = dir.join(MANIFEST);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| corrupt(MANIFEST, e.to_string()))?;
        if m.format != FORMAT || m.version != VERSION {
            return Err(corrupt(
                MANIFEST,
                format!("format {} version {}, not {FORMAT} {VERSION}", m.format, m.version),
            ));
        }
        let mut unsigned = m.clone();
        unsigned.mac = String::new();
        if key.mac(unsigned.text()?.as_bytes()) != m.mac {
            return Err(corrupt(MANIFEST, "its MAC does not check under the backup key: altered, or another key's"));
        }
        let mut next = 1;
        for s in &m.segments {
            if s.first != next || s.last < s.first {
                return Err(corrupt(MANIFEST, format!("segment {} does not start at position {next}", s.entry.file)));
            }
            next = s.last + 1;
        }
        if next - 1 != m.head.size {
            return Err(corrupt(MANIFEST, format!("segments end at {}, the head is {}", next - 1, m.head.size)));
        }
        Ok(Some(m))
    }

    /// Every file the manifest names.
    pub fn files(&self) -> Vec<&FileEntry> {
        self.segments.iter().map(|s| &s.entry).chain(std::iter::once(&self.keys)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_opens_only_unaltered_under_its_name_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = BackupKey::load_or_create(&dir.path().join("k")).unwrap();
        assert_eq!(BackupKey::load(&dir.path().join("k")).unwrap().0, key.0, "made once, then read");
        let plain = b"the log, the log, the log".repeat(100);
        let sealed = key.seal("a.cbk", &plain).unwrap();
        assert!(sealed.len() < plain.len(), "compressed");
        assert_eq!(key.open("a.cbk", &sealed).unwrap(), plain);
        assert!(key.open("b.cbk", &sealed).is_err(), "bound to its name");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(key.open("a.cbk", &bad).is_err(), "a flipped bit at byte {i} is caught");
        }
        let other = BackupKey([7; 32]);
        assert!(other.open("a.cbk", &sealed).is_err());
    }
}
