//! The projector runner and the read models.
//!
//! - [`db`]: the read-model database (SQLite or PostgreSQL) and tables described once, with
//!   generations behind views, bulk writes and canonical digests.
//! - [`runner`]: runs a projector from its checkpoint, writing rows and checkpoint in one
//!   transaction; rebuilds into a shadow generation and swaps it in when caught up.
//! - [`source`]: where events come from: the store itself (optionally cut at an instant, for
//!   auditors' as-of replay) or NATS JetStream (the relay's subjects).
//! - [`holdings`], [`prices`], [`people`], [`valuation_history`]: the projectors and their tables; [`query`] reads
//!   them back as typed rows.
//! - [`risk`]: the read model `portfolio_risk` (its worker is `workers::risk`),
//!   computed from the `holdings` and `prices` read models.
//!
//! This crate and `event-store` are the only ones that contain SQL.

pub mod db;
pub mod holdings;
pub mod idempotency;
pub mod people;
pub mod prices;
pub mod query;
pub mod risk;
pub mod runner;
pub mod source;
pub mod valuation_history;

pub use db::{Backend, Db, Table};
pub use runner::{Projection, Runner, Status};
pub use source::Source;

/// What can go wrong while projecting or querying.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database's message (kept as text so that error chains print it once).
    #[error("database: {0}")]
    Sql(String),
    #[error(transparent)]
    Store(#[from] event_store::StoreError),
    #[error("{0}")]
    Config(String),
    #[error("event at position {position}: {problem}")]
    Decode { position: u64, problem: String },
    #[error("NATS: {0}")]
    Nats(String),
    #[error("{0}")]
    NotFound(String),
    /// The log is not the one the read models were built from: shorter than their checkpoint,
    /// or another event at it. The projector stops rather than answer from it.
    #[error("{0}")]
    LogMoved(String),
    /// Another runner moved the checkpoint first (handled inside the runner).
    #[error("another runner moved the checkpoint")]
    Conflict,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e.to_string())
    }
}

/// Every projector this build knows, in the order they run.
pub fn all() -> Vec<Projection> {
    vec![
        Projection::Holdings(holdings::Holdings::default()),
        Projection::Prices(prices::Prices::default()),
        Projection::People(people::People::default()),
        Projection::ValuationHistory(valuation_history::ValuationHistory::default()),
    ]
}

/// The projector called `name`, or an error listing the known names.
pub fn by_name(name: &str) -> Result<Projection> {
    all().into_iter().find(|p| p.name() == name).ok_or_else(|| {
        let names: Vec<&str> = all().iter().map(|p| p.name()).collect();
        Error::NotFound(format!("no projector {name:?}; known: {}", names.join(", ")))
    })
}
