//! The shapes that go into and come out of the store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::StoreError;

/// The longest stream id the store accepts.
pub const MAX_STREAM_ID_LEN: usize = 200;

/// A stream id of the form `<category>-<id>`, e.g. `ledger-0190c6f2…`.
///
/// The category is lowercase ASCII letters, digits and `_`; it names the NATS subject
/// (`cairn.events.<category>`) the relay publishes to, so it must be a valid subject token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamId(String);

impl StreamId {
    pub fn new(id: impl Into<String>) -> Result<Self, StoreError> {
        let id = id.into();
        let problem = if id.len() > MAX_STREAM_ID_LEN {
            Some(format!("longer than {MAX_STREAM_ID_LEN} bytes"))
        } else {
            match id.split_once('-') {
                None => Some("must look like <category>-<id>".to_owned()),
                Some((category, rest)) => {
                    if category.is_empty()
                        || !category.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    {
                        Some("category must be lowercase letters, digits or _".to_owned())
                    } else if rest.is_empty() {
                        Some("id after the category is empty".to_owned())
                    } else if rest.chars().any(|c| c.is_control() || c.is_whitespace()) {
                        Some("id contains whitespace or control characters".to_owned())
                    } else {
                        None
                    }
                }
            }
        };
        match problem {
            Some(problem) => Err(StoreError::InvalidStreamId { stream_id: id, problem }),
            None => Ok(Self(id)),
        }
    }

    /// A stream id read back from the log, where it was validated when appended.
    pub(crate) fn from_stored(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first `-`.
    pub fn category(&self) -> &str {
        self.0.split_once('-').map_or(self.0.as_str(), |(c, _)| c)
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for StreamId {
    type Error = StoreError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<StreamId> for String {
    fn from(value: StreamId) -> Self {
        value.0
    }
}

/// What the writer believes the stream's current version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the stream holds.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have exactly this version (1-based).
    Exact(u64),
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(v) => write!(f, "version {v}"),
        }
    }
}

/// Who and what caused an event. Stored next to the payload, MessagePack-encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An event about to be appended: the payload is already encoded (see [`crate::codec`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Vec<u8>,
    pub metadata: Metadata,
}

/// One committed row of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub global_position: u64,
    pub stream_id: StreamId,
    pub stream_version: u64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// The MessagePack-encoded [`Metadata`], exactly as stored (and hashed).
    #[serde(with = "serde_bytes")]
    pub metadata: Vec<u8>,
    pub recorded_at: DateTime<Utc>,
    #[serde(with = "serde_bytes")]
    pub prev_hash: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub hash: Vec<u8>,
}

impl StoredEvent {
    /// Decodes the stored metadata.
    pub fn metadata(&self) -> Result<Metadata, StoreError> {
        rmp_serde::from_slice(&self.metadata)
            .map_err(|e| StoreError::Decode { position: self.global_position, problem: format!("metadata: {e}") })
    }
}

/// What an append did (or, for an idempotent retry, what the original append did).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResult {
    /// Global position of the first appended event.
    pub first_position: u64,
    /// Global position of the last appended event.
    pub last_position: u64,
    /// The stream's version after the append (its last event's version).
    pub stream_version: u64,
    /// True when every event id was already stored with the same content, so nothing was written.
    pub idempotent_replay: bool,
}

/// Which way `read_stream` walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forwards,
    Backwards,
}

/// The last committed event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub position: u64,
    pub hash: Vec<u8>,
    pub recorded_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_must_have_a_category_and_an_id() {
        assert_eq!(StreamId::new("ledger-abc").unwrap().category(), "ledger");
        assert!(StreamId::new("ledger").is_err());
        assert!(StreamId::new("-abc").is_err());
        assert!(StreamId::new("Ledger-abc").is_err());
        assert!(StreamId::new("ledger-").is_err());
        assert!(StreamId::new("led.ger-abc").is_err());
        assert!(StreamId::new("ledger-a b").is_err());
        assert!(StreamId::new(format!("x-{}", "a".repeat(300))).is_err());
        assert_eq!(StreamId::new("market-BRK-B").unwrap().category(), "market");
    }
}
