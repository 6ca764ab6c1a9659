//! Answers to household queries, kept by the version token of the rows they hold (see
//! `projections::db::Db::scope_version`): the projector rewrites a household's rows and its
//! token in one transaction, so a request that reads the same token in its snapshot may answer
//! with the rows kept for it, without reading or encoding them again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Answers kept at most; past this the cache is emptied and fills again.
const ENTRIES: usize = 2048;

#[derive(Debug, Default)]
pub struct RowsCache {
    map: Mutex<HashMap<String, (String, Arc<str>)>>,
    /// Off: every answer is read and encoded (for measuring that path).
    off: AtomicBool,
}

impl RowsCache {
    pub fn set_enabled(&self, on: bool) {
        self.off.store(!on, Ordering::Relaxed);
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    /// The rows kept under `key`, if they are those of `version`.
    pub fn get(&self, key: &str, version: &str) -> Option<Arc<str>> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        let map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(key).filter(|(v, _)| v == version).map(|(_, rows)| rows.clone())
    }

    pub fn put(&self, key: String, version: String, rows: Arc<str>) {
        if self.off.load(Ordering::Relaxed) {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= ENTRIES {
            map.clear();
        }
        map.insert(key, (version, rows));
    }
}
