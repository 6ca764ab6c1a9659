//! What `cairn serve` runs of market data, in one place for the HTTP state and `/metrics`:
//! the providers' selector (their breakers and health), the ingestion worker's figures, the
//! live quote streams and the quote hub they feed (which `/v1/stream/quotes` reads).

use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::{self, Settings};
use super::ingest::IngestMetrics;
use super::quotes::{HubConfig, QuoteHub};
use super::selector::Selector;
use super::stream::QuoteStream;

/// The server's market data: none of it runs without a providers file (`CAIRN_PROVIDERS`),
/// except the hub, which is always there (empty: clients of `/v1/stream/quotes` get nothing).
pub struct Runtime {
    /// The configured providers, when a providers file was given.
    pub selector: Option<Arc<Selector>>,
    pub settings: Settings,
    pub ingest: Arc<IngestMetrics>,
    pub hub: Arc<QuoteHub>,
    /// The live quote streams (`[[stream]]`), each feeding the hub.
    pub streams: Vec<Arc<QuoteStream>>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            selector: None,
            settings: Settings::default(),
            ingest: Arc::default(),
            hub: Arc::new(QuoteHub::new(HubConfig::default())),
            streams: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("providers", &self.selector.as_ref().map(|s| s.sources().len()))
            .field("ingest", &self.settings.ingest)
            .field("streams", &self.streams.len())
            .finish()
    }
}

impl Runtime {
    /// Reads the providers file at `path` (keys from the environment).
    pub fn load(path: &Path) -> Result<Self, config::ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        let text = std::fs::read_to_string(path).map_err(|e| config::ConfigError {
            where_: path.display().to_string(),
            field: "file".into(),
            problem: e.to_string(),
        })?;
        let settings = config::settings(&text, &env)?;
        // A file may hold only streams: the selector needs at least one provider.
        let selector = if text.contains("[[provider]]") { Some(Arc::new(config::parse(&text, &env)?.0)) } else { None };
        let streams = settings.streams.iter().cloned().map(|c| Arc::new(QuoteStream::new(c))).collect();
        Ok(Self { selector, settings, streams, ..Self::default() })
    }

    /// Starts every live stream, feeding the hub, until `stop`; a stream whose key is refused
    /// ends (logged) and the others go on.
    pub fn spawn_streams(&self, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        self.streams
            .iter()
            .map(|s| {
                let (stream, hub, stop) = (s.clone(), self.hub.clone(), stop.clone());
                tokio::spawn(async move {
                    let name = stream.config().name.clone();
                    if let Err(e) = stream.run(hub, stop).await {
                        tracing::error!(stream = %name, error = %e, "live quote stream stopped");
                    }
                })
            })
            .collect()
    }
}
