//! The append-only, hash-chained event store.
//!
//! - [`EventStore`] is the one interface; [`SqliteStore`] (embedded default) and [`PgStore`]
//!   implement it, and [`Store`] picks one from a database URL.
//! - Writers hand in [`NewEvent`]s (payloads already MessagePack-encoded by [`codec`]) with an
//!   [`ExpectedVersion`]; the store assigns gap-free global positions, stream versions, the
//!   recorded-at instant and the SHA-256 chain ([`hash`]), and returns an [`AppendResult`].
//! - Readers get [`StoredEvent`]s from `read_stream`, `read_all`, `read_all_until` (as-of
//!   replay) or a [`Subscription`] (catch-up, then live). [`Upcasters`] decode old payloads
//!   into today's types.
//! - `Store::put_data_key` / `data_key` / `destroy_data_key` keep per-subject wrapped data
//!   keys beside the log, for crypto-shredding.
//! - [`relay`] publishes committed events to NATS JetStream; [`bench`] measures throughput;
//!   [`scratch`] makes throw-away databases for benchmarks and tests.
//!
//! This crate and `projections` are the only ones that contain SQL.

mod append;
mod backend;
pub mod backup;
pub mod bench;
mod bulk;
pub mod codec;
mod error;
pub mod hash;
mod keys;
pub mod merkle;
mod model;
mod postgres;
mod read;
pub mod relay;
mod replica;
mod restore;
pub mod scratch;
mod sql;
mod sqlite;
mod store;
mod tree;

pub use append::{StreamWrite, MAX_BATCH};
pub use backend::Store;
pub use codec::{Event, Upcasters};
pub use error::{Result, StoreError};
pub use hash::{ChainBreak, ChainVerifier};
pub use keys::StoredKey;
pub use model::{
    AppendResult, Direction, ExpectedVersion, Head, Metadata, NewEvent, StoredEvent, StreamId, MAX_STREAM_ID_LEN,
};
pub use postgres::{connect_pool, PgStore};
pub use relay::{Relay, RelayConfig, RelayError, RelayStats};
pub use replica::ReplicaInfo;
pub use restore::{KeyRecord, Restorer};
pub use sqlite::{SqliteStore, CACHE_SIZE as SQLITE_CACHE_SIZE, SOFT_HEAP_LIMIT as SQLITE_SOFT_HEAP_LIMIT};
pub use store::{EventStore, StoreMetrics, Subscription, Verification};
pub use tree::{CHUNK as TREE_CHUNK, CHUNK_LEVEL as TREE_CHUNK_LEVEL};
