//! Answers to household queries, kept by the version token of the rows they hold (see
//! `projections::db::Db::scope_version`): the projector rewrites a household's rows and its
//! token in one transaction, so a request that reads the same token in its snapshot may answer
//! with the rows kept for it, without reading or encoding them again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Answers kept at most, and their bytes at most; past either the cache is emptied and fills
/// again.
const ENTRIES: usize = 2048;
const BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
struct Kept {
    answers: HashMap<String, (String, Arc<str>)>,
    bytes: usize,
}

#[derive(Debug, Default)]
pub struct RowsCache {
    map: Mutex<Kept>,
    /// Off: every answer is read and encoded (for measuring that path).
    off: AtomicBool,
}

impl RowsCache {
    pub fn set_enabled(&self, on: bool) {
        self.off.store(!on, Ordering::Relaxed);
        *self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Kept::default();
    }

    /// The rows kept under `key`, if they are those of `version`.
    pub fn get(&self, key: &str, version: &str) -> Option<Arc<str>> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        let map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.answers.get(key).filter(|(v, _)| v == version).map(|(_, rows)| rows.clone())
    }

    pub fn put(&self, key: String, version: String, rows: Arc<str>) {
        if self.off.load(Ordering::Relaxed) {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key_len = key.len();
        let size = key_len + version.len() + rows.len();
        if size > BYTES {
            return;
        }
        if map.answers.len() >= ENTRIES || map.bytes + size > BYTES {
            *map = Kept::default();
        }
        map.bytes += size;
        if let Some((v, old)) = map.answers.insert(key, (version, rows)) {
            map.bytes -= key_len + v.len() + old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_answers_stay_within_their_bytes() {
        let cache = RowsCache::default();
        let rows: Arc<str> = "x".repeat(1024 * 1024).into();
        for i in 0..100 {
            cache.put(format!("k{}", i % 40), "v1".into(), rows.clone());
            let kept = cache.map.lock().unwrap();
            assert!(kept.bytes <= BYTES, "{} bytes kept", kept.bytes);
            let counted: usize = kept.answers.iter().map(|(k, (v, r))| k.len() + v.len() + r.len()).sum();
            assert_eq!(kept.bytes, counted);
        }
        assert_eq!(cache.get("k99", "v1"), None);
        assert!(cache.get("k19", "v1").is_some(), "the last answer put is kept");
    }
}
