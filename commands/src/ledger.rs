//! Household ledger commands: load the stream, let the domain decide, append with the
//! expected version, retrying a bounded number of times when another writer got there first.

use domain::ledger::{decide, evolve, household_key, Ledger, LedgerCommand, LedgerEvent};
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

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    pub household: String,
    pub stream_id: String,
    pub rows: usize,
    /// Events appended (0 when the same file was imported before).
    pub events: usize,
    pub already_imported: bool,
    pub wash_sales_adjusted: usize,
    pub wash_sales_reversed: usize,
    pub first_position: Option<u64>,
    pub last_position: Option<u64>,
}

/// Imports a ledger CSV file for `household`, all or nothing. Importing the same bytes for the
/// same household again records nothing.
pub async fn import_csv<S: EventStore>(
    store: &S,
    household: &str,
    bytes: &[u8],
    actor: &str,
) -> Result<ImportOutcome, CommandError> {
    let stream = ledger_stream(household)?;
    let rows = parse_csv(bytes)?;
    let file_sha256 = hex::encode(Sha256::digest(bytes));
    let command_hash = Sha256::new().chain_update(stream.as_str()).chain_update(bytes).finalize();
    let command_id = hex::encode(command_hash);
    let command_uuid = uuid::Builder::from_custom_bytes(command_hash[..16].try_into().expect("16 bytes")).into_uuid();
    let row_count = rows.len();
    let command = LedgerCommand::Import { household: household.to_owned(), command_id, file_sha256, rows };
    for attempt in 1..=MAX_ATTEMPTS {
        let (state, version) = load_stream(store, &stream, None).await?;
        let events = decide(&state, &command)?;
        let mut outcome = ImportOutcome {
            household: household.to_owned(),
            stream_id: stream.to_string(),
            rows: row_count,
            events: events.len(),
            already_imported: events.is_empty(),
            wash_sales_adjusted: events.iter().filter(|e| matches!(e, LedgerEvent::WashSaleAdjusted(_))).count(),
            wash_sales_reversed: events.iter().filter(|e| matches!(e, LedgerEvent::WashSaleReversed { .. })).count(),
            first_position: None,
            last_position: None,
        };
        if events.is_empty() {
            return Ok(outcome);
        }
        let metadata = Metadata {
            correlation_id: Some(command_uuid),
            command_id: Some(command_uuid),
            actor: Some(actor.to_owned()),
            source: Some("cairn ledger import".into()),
            ..Default::default()
        };
        let new_events = events
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
                tracing::info!(attempt, stream = %stream, "ledger changed while importing; deciding again");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(CommandError::Contention(stream.to_string()))
}
