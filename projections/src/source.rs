//! Where a projector's events come from.

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use event_store::{EventStore, Store, StoredEvent};
use futures::StreamExt as _;

use crate::{Error, Result};

/// A feed of committed events in global order.
pub enum Source {
    /// The store itself; `until` cuts the log at a position (an auditor's as-of replay).
    Store { store: Store, until: Option<u64> },
    /// The relay's JetStream stream.
    Nats(Box<NatsFeed>),
}

impl Source {
    pub fn store(store: Store) -> Self {
        Self::Store { store, until: None }
    }

    /// Up to `limit` events from `from` on; empty when there are none now.
    pub async fn read(&mut self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        match self {
            Self::Store { store, until } => Ok(store.read_range(from, until.unwrap_or(u64::MAX), limit).await?),
            Self::Nats(feed) => feed.read(from, limit).await,
        }
    }

    /// The last position this source will offer now, where it knows (for progress and lag).
    pub async fn head(&mut self) -> Result<Option<u64>> {
        match self {
            Self::Store { store, until } => {
                let head = store.head().await?.map_or(0, |h| h.position);
                Ok(Some(until.map_or(head, |u| u.min(head))))
            }
            Self::Nats(feed) => Ok(feed.head()),
        }
    }

    /// The log itself, whatever `until` cuts (store sources only).
    pub(crate) fn log(&self) -> Option<&Store> {
        match self {
            Self::Store { store, .. } => Some(store),
            Self::Nats(_) => None,
        }
    }

    /// A clone of the store, for reading ahead while the projector works (store sources only).
    pub(crate) fn prefetcher(&self) -> Option<(Store, u64)> {
        match self {
            Self::Store { store, until } => Some((store.clone(), until.unwrap_or(u64::MAX))),
            Self::Nats(_) => None,
        }
    }
}

/// An ordered JetStream consumer over the relay's stream. Each message carries a whole stored
/// event (see `event_store::codec::to_wire`); positions already applied are skipped, and a gap
/// (a message missing from the stream) is an error rather than a silent skip.
pub struct NatsFeed {
    messages: consumer::pull::Ordered,
    /// The position of the last event read, and how many messages the stream held after it
    /// then (JetStream's pending count): the stream's head as last seen.
    seen: Option<(u64, u64)>,
    /// How long `read` waits for the first message before reporting that there is none.
    pub idle: Duration,
}

impl NatsFeed {
    /// Connects to `url` and follows the JetStream stream `stream_name` from its start.
    pub async fn connect(url: &str, stream_name: &str, subject_prefix: &str) -> Result<Self> {
        let nats = |e: &dyn std::fmt::Display| Error::Nats(e.to_string());
        let client = async_nats::connect(url).await.map_err(|e| nats(&e))?;
        let js = jetstream::new(client);
        let stream = js.get_stream(stream_name).await.map_err(|e| nats(&e))?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: format!("{subject_prefix}.>"),
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .map_err(|e| nats(&e))?;
        let messages = consumer.messages().await.map_err(|e| nats(&e))?;
        Ok(Self { messages, seen: None, idle: Duration::from_millis(300) })
    }

    /// The last position the stream held when a message was last read (that message's position
    /// plus the messages pending after it); `None` before the first.
    pub fn head(&self) -> Option<u64> {
        self.seen.map(|(position, pending)| position + pending)
    }

    async fn read(&mut self, from: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let mut out = Vec::new();
        let mut wait = self.idle;
        while out.len() < limit {
            let next = match tokio::time::timeout(wait, self.messages.next()).await {
                Err(_) | Ok(None) => break,
                Ok(Some(m)) => m.map_err(|e| Error::Nats(e.to_string()))?,
            };
            let event = event_store::codec::from_wire(&next.payload)
                .map_err(|problem| Error::Decode { position: 0, problem: format!("NATS message: {problem}") })?;
            if let Ok(info) = next.info() {
                self.seen = Some((event.global_position, info.pending));
            }
            let expected = from + out.len() as u64;
            if event.global_position < expected {
                continue; // already applied (or a copy republished by the relay)
            }
            if event.global_position > expected {
                return Err(Error::Nats(format!(
                    "the stream skips from position {} to {}: it no longer holds every event (trimmed?); \
                     project from the store instead",
                    expected - 1,
                    event.global_position
                )));
            }
            out.push(event);
            // Once events flow, take what is already there without waiting long.
            wait = Duration::from_millis(20);
        }
        Ok(out)
    }
}
