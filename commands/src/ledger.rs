//! Household ledger commands: load the stream, let the domain decide, append with the
//! expected version, retrying a bounded number of times when another writer got there first.

use domain::ledger::{decide, evolve, household_key, Ledger, LedgerCommand, LedgerEvent, TradeChange};
use event_store::{Direction, EventStore, ExpectedVersion, Metadata, NewEvent, StoreError, StreamId, Upcasters};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::import::parse_csv;
use crate::CommandError;

/// The schema version of every ledger event type this code writes.
pub const LEDGER_SCHEMA_VERSION: u32 = 1;

/// How many times an import is re-decided after a version conflict.
const MAX_ATTEMPTS: usize = 5;

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
    let upcasters = Upcasters::new();
    let mut state = Ledger::default();
    let mut version = 0;
    loop {
        let page = store.read_stream(stream, version + 1, Direction::Forwards, 10_000).await?;
        let Some(last) = page.last() else { break };
        version = last.stream_version;
        for stored in &page {
            if as_of_position.is_some_and(|p| stored.global_position > p) {
                return Ok((state, version));
            }
            let event: LedgerEvent = upcasters.decode_versioned(stored, LEDGER_SCHEMA_VERSION)?;
            state = evolve(state, &event);
        }
    }
    Ok((state, version))
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

/// Who runs a command, and through what (stored in every event's metadata).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: String,
    pub source: String,
}

/// Loads the household's stream, decides, and appends with the expected version; decides again
/// (from the fresh state) when another writer appended first.
pub async fn execute<S: EventStore>(
    store: &S,
    household: &str,
    command: &LedgerCommand,
    command_uuid: Uuid,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let stream = ledger_stream(household)?;
    for attempt in 1..=MAX_ATTEMPTS {
        let (state, version) = load_stream(store, &stream, None).await?;
        let events = decide(&state, command)?;
        let mut outcome = Outcome {
            household: household.to_owned(),
            stream_id: stream.to_string(),
            events,
            first_position: None,
            last_position: None,
        };
        if outcome.events.is_empty() {
            return Ok(outcome);
        }
        let metadata = Metadata {
            correlation_id: Some(command_uuid),
            command_id: Some(command_uuid),
            actor: Some(caller.actor.clone()),
            source: Some(caller.source.clone()),
            ..Default::default()
        };
        let new_events = outcome
            .events
            .iter()
            .map(|e| {
                Ok(NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: e.event_type().to_owned(),
                    schema_version: LEDGER_SCHEMA_VERSION,
                    payload: event_store::codec::to_msgpack(e)?,
                    metadata: metadata.clone(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let expected = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
        match store.append(&stream, expected, &new_events).await {
            Ok(r) => {
                outcome.first_position = Some(r.first_position);
                outcome.last_position = Some(r.last_position);
                return Ok(outcome);
            }
            Err(e) if e.is_conflict() => {
                tracing::info!(attempt, stream = %stream, "ledger changed while deciding; deciding again");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CommandError::Contention(stream.to_string()))
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
