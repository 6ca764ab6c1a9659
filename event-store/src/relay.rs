//! The NATS JetStream relay: publishes committed events, in order, to
//! `<prefix>.<category>` (by default `cairn.events.<category>`) on the JetStream stream
//! `CAIRN_EVENTS`, with header `Nats-Msg-Id` = the event id.
//!
//! Delivery is at-least-once from the relay and exactly-once in the stream: the relay stores
//! its checkpoint in the database only after JetStream has acknowledged every message of a
//! batch, so after a crash it republishes at most that batch, and JetStream drops the copies
//! by message id (within the stream's duplicate window, one hour). Consumers that may read
//! across a longer outage can also deduplicate by the `Cairn-Position` header.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::HeaderMap;
use bytes::Bytes;
use thiserror::Error;

use crate::codec::to_wire;
use crate::error::StoreError;
use crate::model::StoredEvent;
use crate::store::EventStore;

/// Where and how the relay publishes.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub nats_url: String,
    /// The JetStream stream (created if missing), `CAIRN_EVENTS` by default.
    pub stream_name: String,
    /// Subjects are `<subject_prefix>.<category>`; the stream captures `<subject_prefix>.>`.
    pub subject_prefix: String,
    /// Events published before waiting for JetStream's acknowledgements and saving the checkpoint.
    pub batch: usize,
}

impl RelayConfig {
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            stream_name: "CAIRN_EVENTS".into(),
            subject_prefix: "cairn.events".into(),
            batch: 256,
        }
    }

    /// The name the relay's checkpoint is stored under.
    pub fn checkpoint_name(&self) -> String {
        format!("relay:{}", self.stream_name)
    }
}

#[derive(Debug, Error)]
pub enum RelayError {
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn nats_err(e: impl std::fmt::Display) -> RelayError {
    RelayError::Nats(e.to_string())
}

/// What a relay run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Messages published (including ones JetStream reported as duplicates).
    pub published: u64,
    /// Messages JetStream had already stored under the same message id.
    pub duplicates: u64,
    /// The checkpoint when the run ended.
    pub checkpoint: u64,
}

/// Publishes the store's events to JetStream from its checkpoint on.
#[derive(Debug)]
pub struct Relay<S: EventStore> {
    store: S,
    js: jetstream::Context,
    config: RelayConfig,
}

impl<S: EventStore> Relay<S> {
    /// Connects to NATS and makes sure the stream exists.
    pub async fn connect(store: S, config: RelayConfig) -> Result<Self, RelayError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(config.nats_url.as_str())
            .await
            .map_err(|e| RelayError::Nats(format!("cannot connect to {}: {e}", config.nats_url)))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(jetstream::stream::Config {
            name: config.stream_name.clone(),
            subjects: vec![format!("{}.>", config.subject_prefix)],
            duplicate_window: Duration::from_secs(3600),
            ..Default::default()
        })
        .await
        .map_err(|e| RelayError::Nats(format!("cannot create stream {}: {e}", config.stream_name)))?;
        Ok(Self { store, js, config })
    }

    /// Runs until `shutdown` completes (or forever), publishing each event as it commits.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<RelayStats, RelayError> {
        self.run_inner(None, shutdown).await
    }

    /// Publishes everything committed when called, then returns.
    pub async fn run_until_caught_up(&self) -> Result<RelayStats, RelayError> {
        let head = self.store.head().await?.map_or(0, |h| h.position);
        self.run_inner(Some(head), std::future::pending()).await
    }

    async fn run_inner(
        &self,
        until: Option<u64>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<RelayStats, RelayError> {
        let name = self.config.checkpoint_name();
        let mut stats = RelayStats { checkpoint: self.store.load_checkpoint(&name).await?, ..Default::default() };
        let mut subscription = self.store.subscribe_named(&name, stats.checkpoint + 1);
        tokio::pin!(shutdown);
        loop {
            if until.is_some_and(|end| stats.checkpoint >= end) {
                return Ok(stats);
            }
            let batch = tokio::select! {
                batch = subscription.next_batch(self.config.batch.max(1)) => batch?,
                () = &mut shutdown => return Ok(stats),
            };
            self.publish(&batch, &mut stats).await?;
            let last = batch.last().map_or(stats.checkpoint, |e| e.global_position);
            self.store.save_checkpoint(&name, last).await?;
            stats.checkpoint = last;
        }
    }

    /// Publishes a batch and waits until JetStream has acknowledged all of it.
    async fn publish(&self, batch: &[StoredEvent], stats: &mut RelayStats) -> Result<(), RelayError> {
        let mut acks = Vec::with_capacity(batch.len());
        for event in batch {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", event.event_id.to_string());
            headers.insert("Cairn-Position", event.global_position.to_string());
            headers.insert("Cairn-Stream-Id", event.stream_id.as_str());
            headers.insert("Cairn-Event-Type", event.event_type.as_str());
            let subject = format!("{}.{}", self.config.subject_prefix, event.stream_id.category());
            let ack =
                self.js.publish_with_headers(subject, headers, Bytes::from(to_wire(event))).await.map_err(nats_err)?;
            acks.push(ack);
        }
        for ack in acks {
            let ack = ack.await.map_err(nats_err)?;
            stats.published += 1;
            if ack.duplicate {
                stats.duplicates += 1;
            }
        }
        Ok(())
    }
}

/// The JetStream key-value bucket the data keys are shipped to, beside the relay's stream.
pub fn keys_bucket(config: &RelayConfig) -> String {
    format!("{}_KEYS", config.stream_name)
}

/// A bucket key for a data key's subject (the subject's bytes in hex: bucket keys allow only
/// letters, digits and `-/_=.`).
pub fn key_name(subject: &str) -> String {
    hex::encode(subject.as_bytes())
}

/// Ships the per-subject data keys (wrapped, as the key table holds them, as JSON
/// [`crate::KeyRecord`]s) to the bucket [`keys_bucket`], one entry per subject with no history,
/// so a follower (`cairn replicate`) holds the keys it needs once promoted. A destroyed key is
/// shipped as a record without its key, which replaces the earlier value: the bucket keeps one
/// revision per subject, so crypto-shredding reaches the bucket too (JetStream deletes the
/// replaced message; how soon its bytes leave the disk is the NATS server's).
#[derive(Debug)]
pub struct KeyShipper {
    kv: jetstream::kv::Store,
    /// What this shipper has put, by subject: the wrapped key, or `None` once destroyed.
    shipped: std::collections::HashMap<String, Option<Vec<u8>>>,
}

impl KeyShipper {
    /// Connects and makes sure the bucket exists.
    pub async fn connect(config: &RelayConfig) -> Result<Self, RelayError> {
        let client = async_nats::connect(config.nats_url.as_str())
            .await
            .map_err(|e| RelayError::Nats(format!("cannot connect to {}: {e}", config.nats_url)))?;
        let js = jetstream::new(client);
        let bucket = keys_bucket(config);
        // The bucket's stream as NATS's key-value convention (ADR-8) lays it out, made directly:
        // the client's `create_key_value` first asks for account details that servers before
        // 2.10 answer in a form it cannot read.
        js.get_or_create_stream(jetstream::stream::Config {
            name: format!("KV_{bucket}"),
            description: Some("cairn's wrapped per-subject data keys, for followers".into()),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| RelayError::Nats(format!("cannot create key-value bucket {bucket}: {e}")))?;
        let kv = js
            .get_key_value(&bucket)
            .await
            .map_err(|e| RelayError::Nats(format!("cannot open key-value bucket {bucket}: {e}")))?;
        Ok(Self { kv, shipped: Default::default() })
    }

    /// Puts every key that changed since the last call (all of them on the first); returns how
    /// many were put.
    pub async fn ship(&mut self, store: &crate::Store) -> Result<usize, RelayError> {
        let mut put = 0;
        for record in store.data_keys().await? {
            if self.shipped.get(&record.subject) == Some(&record.wrapped_key) {
                continue;
            }
            let value = serde_json::to_vec(&record).map_err(nats_err)?;
            self.kv.put(key_name(&record.subject), Bytes::from(value)).await.map_err(nats_err)?;
            self.shipped.insert(record.subject, record.wrapped_key);
            put += 1;
        }
        Ok(put)
    }

    /// Ships once a second until `shutdown` completes.
    pub async fn run(&mut self, store: &crate::Store, shutdown: impl Future<Output = ()>) -> Result<(), RelayError> {
        tokio::pin!(shutdown);
        loop {
            self.ship(store).await?;
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = &mut shutdown => return Ok(()),
            }
        }
    }
}
