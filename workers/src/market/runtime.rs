//! What `cairn serve` runs of market data, in one place for the HTTP state and `/metrics`:
//! the providers' selector (their breakers and health) and the ingestion worker's figures.

use std::path::Path;
use std::sync::Arc;

use super::config::{self, Settings};
use super::ingest::IngestMetrics;
use super::selector::Selector;

/// The server's market data: none of it runs without a providers file (`CAIRN_PROVIDERS`).
#[derive(Default)]
pub struct Runtime {
    /// The configured providers, when a providers file was given.
    pub selector: Option<Arc<Selector>>,
    pub settings: Settings,
    pub ingest: Arc<IngestMetrics>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("providers", &self.selector.as_ref().map(|s| s.sources().len()))
            .field("settings", &self.settings)
            .finish()
    }
}

impl Runtime {
    /// Reads the providers file at `path` (keys from the environment).
    pub fn load(path: &Path) -> Result<Self, config::ConfigError> {
        let (selector, _) = config::load(path, &|k| std::env::var(k).ok())?;
        let text = std::fs::read_to_string(path).map_err(|e| config::ConfigError {
            where_: path.display().to_string(),
            field: "file".into(),
            problem: e.to_string(),
        })?;
        Ok(Self { selector: Some(Arc::new(selector)), settings: config::settings(&text)?, ingest: Arc::default() })
    }
}
