//! Command handlers: load a stream from the event store, let the domain decide, and append the
//! resulting events with the expected version (retrying a bounded number of times on
//! conflict; idempotent by command id).
//!
//! - [`ledger`]: household ledger imports ([`ledger::import_csv`]) and loading a ledger's
//!   state ([`ledger::load`]) for reports.
//! - [`market`]: daily-bar imports onto `market-<SYMBOL>` streams, in one transaction.
//! - [`portfolio`]: portfolios over a household's accounts, with the caller's optimistic lock.
//! - [`user`]: user registration, profile, KYC, roles, MFA, terms, erasure.
//! - [`security`]: the vault (personal data sealed with per-user data keys wrapped by the
//!   master key), password hashing and policy, and TOTP codes.
//! - [`input`]: the input parsers (the ledger CSV and a ledger row of typed fields, the market
//!   data CSV), each parsed whole before anything is recorded.
//! - [`bench`]: the import benchmark (`cairn bench import`).

pub mod aggregate;
pub mod alerts;
pub mod bench;
pub mod input;
pub mod ledger;
pub mod market;
pub mod ops;
pub mod portfolio;
pub mod report;
pub mod security;
pub mod user;

/// What commands run against: an event store and the folded states of its streams
/// ([`aggregate::States`]). The application context builds one per store it opens and hands it
/// to every command; clones share the store and the states.
#[derive(Debug, Clone)]
pub struct Context<S = event_store::Store> {
    store: S,
    states: std::sync::Arc<aggregate::States>,
}

impl<S> Context<S> {
    /// A context over `store`, with no state folded yet.
    pub fn new(store: S) -> Self {
        Self { store, states: std::sync::Arc::default() }
    }

    /// The store the commands append to.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl CommandError {
    /// Bad input in `field` (no line).
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        Self::Invalid { line: None, field: field.to_owned(), problem: problem.into() }
    }

    /// Bad input in `field` of a file's `line`.
    pub fn at_line(line: u64, field: &str, problem: impl Into<String>) -> Self {
        Self::Invalid { line: Some(line), field: field.to_owned(), problem: problem.into() }
    }
}

/// The event store's id of a stream ([`domain::streams::Stream`] builds and parses them).
pub fn stream_id(stream: &domain::streams::Stream) -> Result<event_store::StreamId, CommandError> {
    Ok(event_store::StreamId::new(stream.id())?)
}

/// Why a command did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad input: the field (empty when the input as a whole is wrong), the line of a file
    /// when there is one, and what is wrong. Nothing was recorded. Shown as
    /// `line N: field: problem`.
    #[error("{}{}{problem}", line.map(|l| format!("line {l}: ")).unwrap_or_default(), if field.is_empty() { String::new() } else { format!("{field}: ") })]
    Invalid { line: Option<u64>, field: String, problem: String },
    /// The domain refused the command. Nothing was recorded.
    #[error(transparent)]
    Rejected(#[from] domain::DomainError),
    /// The stream is not at the version the caller expected (its optimistic lock). Nothing was
    /// recorded; reload and try again.
    #[error("conflict: {stream} is at version {actual}, not {expected}; reload and try again")]
    Conflict { stream: String, expected: u64, actual: u64 },
    /// Other writers kept changing the stream; nothing was recorded, and trying again is safe.
    #[error("stream {0} kept changing while the command was decided; try again")]
    Contention(String),
    #[error(transparent)]
    Store(#[from] event_store::StoreError),
}
