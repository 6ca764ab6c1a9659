//! Household ledger commands: load the stream, let the domain decide, append with the
//! expected version, retrying a bounded number of times when another writer got there first.

use domain::ledger::{decide, evolve, household_key, Ledger, LedgerCommand, LedgerEvent, TradeChange};
use event_store::{EventStore, StreamId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use crate::aggregate::Caller;
use crate::aggregate::{self, Aggregate};
use crate::import::parse_csv;
use crate::CommandError;

/// The schema version of every ledger event type this code writes.
pub const LEDGER_SCHEMA_VERSION: u32 = 1;

/// The household's stream: `ledger-<key>`, the key being the name lowercased with runs of
/// other characters turned into `_`.
pub fn ledger_stream(household: &str) -> Result<StreamId, CommandError> {
    let key = household_key(household);
    if key.is_empty() {
        return Err(CommandError::Invalid(format!("household: {household:?} has no letters or digits")));
    }
    Ok(StreamId::new(format!("ledger-{key}"))?)
}

/// The household's ledger as recorded, and its stream version (0 when it does not exist).
pub async fn load<S: EventStore>(store: &S, household: &str) -> Result<(Ledger, u64), CommandError> {
    load_stream(store, &ledger_stream(household)?, None).await
}

/// Like [`load`], with only the events recorded at or before `as_of_position` (as-of replay).
pub async fn load_stream<S: EventStore>(
    store: &S,
    stream: &StreamId,
    as_of_position: Option<u64>,
) -> Result<(Ledger, u64), CommandError> {
    aggregate::load::<LedgerAggregate, S>(store, stream, as_of_position).await
}

/// The household ledger as the command loop sees it.
pub struct LedgerAggregate;

impl Aggregate for LedgerAggregate {
    type State = Ledger;
    type Event = LedgerEvent;
    const SCHEMA_VERSION: u32 = LEDGER_SCHEMA_VERSION;
    fn evolve(state: Ledger, event: &LedgerEvent) -> Ledger {
        evolve(state, event)
    }
    fn event_type(event: &LedgerEvent) -> &'static str {
        event.event_type()
    }
}

/// What a ledger command recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub household: String,
    pub stream_id: String,
    /// The events appended (none when the command had already been carried out).
    pub events: Vec<LedgerEvent>,
    pub first_position: Option<u64>,
    pub last_position: Option<u64>,
}

impl Outcome {
    pub fn wash_sales_adjusted(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, LedgerEvent::WashSaleAdjusted(_))).count()
    }

    pub fn wash_sales_reversed(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, LedgerEvent::WashSaleReversed { .. })).count()
    }
}

/// Decides `command` on the household's ledger and appends the result.
pub async fn execute<S: EventStore>(
    store: &S,
    household: &str,
    command: &LedgerCommand,
    command_uuid: Uuid,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let stream = ledger_stream(household)?;
    let done = aggregate::execute::<LedgerAggregate, S>(
        store,
        &stream,
        |state| decide(state, command),
        None,
        command_uuid,
        caller,
    )
    .await?;
    Ok(Outcome {
        household: household.to_owned(),
        stream_id: stream.to_string(),
        events: done.events,
        first_position: done.first_position,
        last_position: done.last_position,
    })
}

/// Imports a ledger CSV file for `household`, all or nothing. Importing the same bytes for the
/// same household again records nothing (the command id is a hash of both).
pub async fn import_csv<S: EventStore>(
    store: &S,
    household: &str,
    bytes: &[u8],
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let stream = ledger_stream(household)?;
    let rows = parse_csv(bytes)?;
    let command_hash = Sha256::new().chain_update(stream.as_str()).chain_update(bytes).finalize();
    let command_uuid = uuid::Builder::from_custom_bytes(command_hash[..16].try_into().expect("16 bytes")).into_uuid();
    let command = LedgerCommand::Import {
        household: household.to_owned(),
        command_id: hex::encode(command_hash),
        file_sha256: hex::encode(Sha256::digest(bytes)),
        rows,
    };
    execute(store, household, &command, command_uuid, caller).await
}

/// Voids a recorded row (and the other half of a paired transfer).
pub async fn cancel<S: EventStore>(
    store: &S,
    household: &str,
    trade_id: &str,
    reason: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let id = Uuid::now_v7();
    let command =
        LedgerCommand::Cancel { command_id: id.to_string(), trade_id: trade_id.to_owned(), reason: reason.to_owned() };
    execute(store, household, &command, id, caller).await
}

/// Replaces fields of a recorded row.
pub async fn correct<S: EventStore>(
    store: &S,
    household: &str,
    trade_id: &str,
    change: TradeChange,
    reason: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let id = Uuid::now_v7();
    let command = LedgerCommand::Correct {
        command_id: id.to_string(),
        trade_id: trade_id.to_owned(),
        change,
        reason: reason.to_owned(),
    };
    execute(store, household, &command, id, caller).await
}

/// Records or updates a household member (birth date for catch-ups, HSA coverage).
pub async fn set_member<S: EventStore>(
    store: &S,
    household: &str,
    name: &str,
    born: Option<chrono::NaiveDate>,
    hsa_coverage: Option<domain::ledger::types::HsaCoverage>,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let id = Uuid::now_v7();
    let command =
        LedgerCommand::SetMember { household: household.to_owned(), name: name.to_owned(), born, hsa_coverage };
    execute(store, household, &command, id, caller).await
}
