//! The SHA-256 hash chain over the log, in global order.
//!
//! Each event's hash covers the previous event's hash and every stored field of its own row,
//! length-prefixed so that no two different rows encode to the same bytes. The first event's
//! `prev_hash` is [`GENESIS`]. Changing, removing or reordering any committed row breaks the
//! chain at that row, which [`ChainVerifier`] names.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::StoredEvent;

/// The `prev_hash` of the first event: 32 zero bytes.
pub const GENESIS: [u8; 32] = [0; 32];

/// The fields of one row that the hash covers.
pub(crate) struct RowFields<'a> {
    pub(crate) global_position: u64,
    pub(crate) stream_id: &'a str,
    pub(crate) stream_version: u64,
    pub(crate) event_id: Uuid,
    pub(crate) event_type: &'a str,
    pub(crate) schema_version: u32,
    pub(crate) payload: &'a [u8],
    pub(crate) metadata: &'a [u8],
    pub(crate) recorded_at_micros: i64,
}

fn put_bytes(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

pub(crate) fn event_hash(prev_hash: &[u8], row: &RowFields<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"cairn-event-v1");
    put_bytes(&mut h, prev_hash);
    h.update(row.global_position.to_be_bytes());
    put_bytes(&mut h, row.stream_id.as_bytes());
    h.update(row.stream_version.to_be_bytes());
    h.update(row.event_id.as_bytes());
    put_bytes(&mut h, row.event_type.as_bytes());
    h.update(row.schema_version.to_be_bytes());
    put_bytes(&mut h, row.payload);
    put_bytes(&mut h, row.metadata);
    h.update(row.recorded_at_micros.to_be_bytes());
    h.finalize().into()
}

/// The hash an event's fields and its `prev_hash` give: equal to its stored `hash` unless the
/// row was altered. What an auditor recomputes from an event alone.
pub fn computed(event: &StoredEvent) -> [u8; 32] {
    event_hash(
        &event.prev_hash,
        &RowFields {
            global_position: event.global_position,
            stream_id: event.stream_id.as_str(),
            stream_version: event.stream_version,
            event_id: event.event_id,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            payload: &event.payload,
            metadata: &event.metadata,
            recorded_at_micros: event.recorded_at.timestamp_micros(),
        },
    )
}

/// Why the chain broke at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// A position is missing or out of order (expected, found).
    Gap { expected: u64, found: u64 },
    /// The row's `prev_hash` is not the previous row's hash.
    PrevHashMismatch { position: u64 },
    /// Recomputing the row's hash from its fields gives another value: the row was altered.
    HashMismatch { position: u64 },
}

impl ChainBreak {
    pub fn position(&self) -> u64 {
        match self {
            Self::Gap { expected, .. } => *expected,
            Self::PrevHashMismatch { position } | Self::HashMismatch { position } => *position,
        }
    }
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Gap { expected, found } => {
                write!(f, "position {expected}: missing (the next stored position is {found})")
            }
            Self::PrevHashMismatch { position } => {
                write!(f, "position {position}: prev_hash does not match the hash of position {}", position - 1)
            }
            Self::HashMismatch { position } => {
                write!(f, "position {position}: stored hash does not match the event's contents")
            }
        }
    }
}

/// Walks the log in order and checks every link.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_position: u64,
    prev_hash: Vec<u8>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self { next_position: 1, prev_hash: GENESIS.to_vec() }
    }
}

impl ChainVerifier {
    /// A walk that goes on after `head` (from the start when there is none).
    pub fn after(head: Option<&crate::model::Head>) -> Self {
        match head {
            Some(h) => Self { next_position: h.position + 1, prev_hash: h.hash.clone() },
            None => Self::default(),
        }
    }

    /// Checks the next event; the first break found is returned and the walk should stop.
    pub fn check(&mut self, event: &StoredEvent) -> Result<(), ChainBreak> {
        if event.global_position != self.next_position {
            return Err(ChainBreak::Gap { expected: self.next_position, found: event.global_position });
        }
        if event.prev_hash != self.prev_hash {
            return Err(ChainBreak::PrevHashMismatch { position: event.global_position });
        }
        if computed(event)[..] != event.hash[..] {
            return Err(ChainBreak::HashMismatch { position: event.global_position });
        }
        self.prev_hash.clone_from(&event.hash);
        self.next_position += 1;
        Ok(())
    }

    /// How many events have been checked so far.
    pub fn checked(&self) -> u64 {
        self.next_position - 1
    }
}
