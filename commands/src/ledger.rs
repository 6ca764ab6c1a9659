//! Household ledger commands: load the stream, let the domain decide, append with the
//! expected version, retrying a bounded number of times when another writer got there first.

use domain::ledger::{decide, ImportOptions, ImportWarning, Ledger, LedgerCommand, LedgerEvent, TradeChange};
use domain::streams::Stream;
use domain::Sealed;
use event_store::{EventStore, StreamId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::aggregate;
pub use crate::aggregate::Caller;
use crate::input::ledger::{identify, parse_csv};
use crate::security::vault::Vault;
use crate::CommandError;
use crate::Context;

/// The schema version of every ledger event type this code writes.
pub const LEDGER_SCHEMA_VERSION: u32 = domain::ledger::SCHEMA_VERSION;

/// The household's stream: `ledger-<key>` ([`domain::streams`]).
pub fn ledger_stream(household: &str) -> Result<StreamId, CommandError> {
    crate::stream_id(&Stream::ledger(household)?)
}

/// The household's ledger as recorded, and its stream version (0 when it does not exist).
pub async fn load<S: EventStore>(cx: &Context<S>, household: &str) -> Result<(Ledger, u64), CommandError> {
    aggregate::load::<domain::ledger::LedgerDecider, S>(cx, &ledger_stream(household)?).await
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
    /// The household stream's version after the command (pass it back as the expected version).
    pub stream_version: u64,
}

impl Outcome {
    /// The ids (`T<n>`) of the rows recorded, in order.
    pub fn trade_ids(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                LedgerEvent::TradeRecorded(t) => Some(t.trade_id.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn wash_sales_adjusted(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, LedgerEvent::WashSaleAdjusted(_))).count()
    }

    /// Rows of the command already recorded before (skipped, or recorded again when allowed).
    pub fn duplicates(&self) -> u64 {
        self.imported().map_or(0, |(d, _, _)| d)
    }

    /// The import recorded its duplicates anyway.
    pub fn duplicates_allowed(&self) -> bool {
        self.imported().is_some_and(|(_, allowed, _)| allowed)
    }

    /// What the rows recorded may need a person to check.
    pub fn warnings(&self) -> &[ImportWarning] {
        self.imported().map_or(&[], |(_, _, w)| w)
    }

    fn imported(&self) -> Option<(u64, bool, &[ImportWarning])> {
        self.events.iter().find_map(|e| match e {
            LedgerEvent::LedgerImported { duplicates, duplicates_allowed, warnings, .. } => {
                Some((*duplicates, *duplicates_allowed, warnings.as_slice()))
            }
            _ => None,
        })
    }

    /// The rows recorded.
    pub fn trades_recorded(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, LedgerEvent::TradeRecorded(_))).count()
    }

    pub fn wash_sales_reversed(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, LedgerEvent::WashSaleReversed { .. })).count()
    }
}

/// Decides `command` on the household's ledger and appends the result.
pub async fn execute<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    command: &LedgerCommand,
    command_uuid: Uuid,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    execute_expecting(cx, household, command, None, command_uuid, caller).await
}

/// [`execute`] with the caller's optimistic lock: when `expected` is given and the household's
/// stream is at another version, nothing is recorded ([`CommandError::Conflict`] names the
/// current version).
pub async fn execute_expecting<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    command: &LedgerCommand,
    expected: Option<u64>,
    command_uuid: Uuid,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    execute_with(cx, household, |state| decide(state, command), expected, command_uuid, caller).await
}

/// Imports a ledger CSV file for `household`, all or nothing. Importing the same bytes for the
/// same household again records nothing (the command id is a hash of both); rows of another
/// file that are already recorded (same broker id, or same fields) are skipped as duplicates
/// unless `allow_duplicates`. Rows dated after today (in the household's time zone) are refused.
pub async fn import_csv<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    bytes: &[u8],
    allow_duplicates: bool,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    import_rows(cx, household, bytes, parse_csv(bytes)?, "csv", "", allow_duplicates, caller).await
}

/// Imports a broker's export ([`crate::input::broker`]) as rows of `account`, all or nothing,
/// as [`import_csv`] does. Returns the entries skipped (with `skip_unknown`, those of actions
/// the mapping does not record).
#[allow(clippy::too_many_arguments)]
pub async fn import_broker<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    bytes: &[u8],
    broker: crate::input::broker::Broker,
    account: &str,
    account_type: Option<&str>,
    allow_duplicates: bool,
    skip_unknown: bool,
    caller: &Caller,
) -> Result<(Outcome, Vec<crate::input::broker::Skipped>), CommandError> {
    let converted = broker.parse(bytes, account, account_type, skip_unknown)?;
    let salt = format!("{}\0{account}\0{}\0{skip_unknown}\0", broker.name(), account_type.unwrap_or(""));
    let outcome =
        import_rows(cx, household, bytes, converted.rows, broker.name(), &salt, allow_duplicates, caller).await?;
    Ok((outcome, converted.skipped))
}

/// Records parsed rows of a file in `format`: the command id is a hash of the stream, `salt`
/// (what else shaped the rows) and the bytes, so the same import again records nothing.
#[allow(clippy::too_many_arguments)]
async fn import_rows<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    bytes: &[u8],
    mut rows: Vec<domain::ledger::RowInput>,
    format: &'static str,
    salt: &str,
    allow_duplicates: bool,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let stream = ledger_stream(household)?;
    let command_hash = Sha256::new()
        .chain_update(stream.as_str())
        .chain_update(if allow_duplicates { "allow-duplicates\0" } else { "" })
        .chain_update(salt)
        .chain_update(bytes)
        .finalize();
    let command_uuid = uuid::Builder::from_custom_bytes(command_hash[..16].try_into().expect("16 bytes")).into_uuid();
    identify(&mut rows);
    let options = ImportOptions { now: Some(chrono::Utc::now()), allow_duplicates, format: Some(format) };
    record(cx, household, bytes, rows, options, hex::encode(command_hash), None, command_uuid, caller).await
}

/// Records one row given as typed fields ([`crate::input::ledger::parse_row`] builds it) as one
/// command whose id the caller chooses (the HTTP API derives it from the Idempotency-Key, or
/// draws a fresh one, so the same trade entered twice on purpose is recorded twice); `request`
/// is the row as sent (its SHA-256 is kept as a file's would be).
pub async fn record_row<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    row: domain::ledger::RowInput,
    request: &[u8],
    expected: Option<u64>,
    command_uuid: Uuid,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let options = ImportOptions { now: Some(chrono::Utc::now()), allow_duplicates: false, format: None };
    let command_id = command_uuid.to_string();
    record(cx, household, request, vec![row], options, command_id, expected, command_uuid, caller).await
}

/// Records rows made by cairn itself (an accepted rebalance or harvest) in one command: all of
/// them or, when one is refused, none.
pub async fn record_rows<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    rows: Vec<domain::ledger::RowInput>,
    request: &[u8],
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let options = ImportOptions { now: Some(chrono::Utc::now()), allow_duplicates: false, format: None };
    let id = Uuid::now_v7();
    record(cx, household, request, rows, options, id.to_string(), None, id, caller).await
}

#[allow(clippy::too_many_arguments)]
async fn record<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    bytes: &[u8],
    rows: Vec<domain::ledger::RowInput>,
    options: ImportOptions,
    command_id: String,
    expected: Option<u64>,
    command_uuid: Uuid,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::Import {
        household: household.to_owned(),
        command_id,
        file_sha256: hex::encode(Sha256::digest(bytes)),
        rows,
        options,
    };
    execute_expecting(cx, household, &command, expected, command_uuid, caller).await
}

/// Voids a recorded row (and the other half of a paired transfer).
pub async fn cancel<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    trade_id: &str,
    reason: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let id = Uuid::now_v7();
    let command =
        LedgerCommand::Cancel { command_id: id.to_string(), trade_id: trade_id.to_owned(), reason: reason.to_owned() };
    execute(cx, household, &command, id, caller).await
}

/// Replaces fields of a recorded row.
pub async fn correct<S: EventStore>(
    cx: &Context<S>,
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
    execute(cx, household, &command, id, caller).await
}

/// Records or updates a household member (birth date for catch-ups, HSA coverage, and the
/// family details the estate planners read: relationship, citizenship, domicile).
pub async fn set_member<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    name: &str,
    born: Option<chrono::NaiveDate>,
    hsa_coverage: Option<domain::ledger::types::HsaCoverage>,
    family: domain::family::Family,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    if born.is_some_and(|b| b > chrono::Utc::now().date_naive()) {
        return Err(CommandError::invalid("born", "is in the future"));
    }
    let id = Uuid::now_v7();
    let command =
        LedgerCommand::SetMember { household: household.to_owned(), name: name.to_owned(), born, hsa_coverage, family };
    execute(cx, household, &command, id, caller).await
}

/// Records a member's lifetime gift (`domain::gifts::decide_record`); its id is assigned.
pub async fn record_gift<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    gift: domain::gifts::RecordedGift,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::RecordGift { household: household.to_owned(), gift, now: chrono::Utc::now() };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Voids a recorded gift, saying why.
pub async fn remove_gift<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    id: &str,
    reason: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::RemoveGift { id: id.to_owned(), reason: reason.to_owned() };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Sets a trust or business of the household, or replaces the one of that name
/// (`domain::entities::decide_set`).
pub async fn set_entity<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    entity: domain::entities::Entity,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::SetEntity { household: household.to_owned(), entity };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Removes a trust or business (not one another entity names as an owner).
pub async fn remove_entity<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    name: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::RemoveEntity { name: name.to_owned() };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Sets a goal of the household, or replaces the one of that name (see `domain::goals`): its
/// accounts must be open and its date after the household's today.
pub async fn set_goal<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    goal: domain::goals::Goal,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::SetGoal { household: household.to_owned(), goal, now: chrono::Utc::now() };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Removes a goal of the household.
pub async fn remove_goal<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    name: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::RemoveGoal { household: household.to_owned(), name: name.to_owned() };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Sets a standing instruction of one of the household's open accounts (a recurring purchase,
/// dividend reinvestment; see `domain::ledger::recurring`), replacing the one of its account,
/// symbol and kind.
pub async fn set_recurring<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    recurring: domain::ledger::recurring::Recurring,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::SetRecurring { household: household.to_owned(), recurring };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Removes a standing instruction (`kind`: `purchase` or `reinvest`).
pub async fn remove_recurring<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    account: &str,
    symbol: &str,
    kind: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::RemoveRecurring {
        account: account.to_owned(),
        symbol: symbol.to_owned(),
        kind: kind.to_owned(),
    };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Sets the household's filing status.
pub async fn set_filing_status<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    status: domain::ledger::types::FilingStatus,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::SetFilingStatus { household: household.to_owned(), status };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Sets the household's time zone (an IANA name), whose calendar date decides which trade dates
/// are in the future.
pub async fn set_time_zone<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    time_zone: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::SetTimeZone { household: household.to_owned(), time_zone: time_zone.to_owned() };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Sets the currency the household's valuations and performance are reported in (ISO 4217).
pub async fn set_base_currency<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    currency: &str,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::SetBaseCurrency { household: household.to_owned(), currency: currency.to_owned() };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Changes to an account's details; `None` keeps what is recorded. Numbers and tokens are given
/// in the clear and sealed here with the household's data key.
#[derive(Debug, Clone, Default)]
pub struct AccountChange {
    pub institution: Option<String>,
    pub account_number: Option<String>,
    pub routing_number: Option<String>,
    pub plaid_item_id: Option<String>,
    pub plaid_access_token: Option<String>,
    pub employer_match: Option<domain::ledger::benefits::MatchFormula>,
    pub vesting: Option<domain::ledger::benefits::Vesting>,
    pub basis_reporting: Option<domain::form8949::BasisReporting>,
}

/// The vault subject of a household's sealed data.
pub fn household_subject(household: &str) -> Result<String, CommandError> {
    Ok(format!("household:{}", ledger_stream(household)?))
}

async fn seal_optional(
    vault: &Vault,
    subject: &str,
    field: String,
    value: Option<String>,
) -> Result<Option<Sealed>, CommandError> {
    match value {
        Some(v) => Ok(Some(vault.seal(subject, &field, v.as_bytes()).await?)),
        None => Ok(None),
    }
}

/// Records an account's details, merged over what is recorded.
pub async fn set_account_details(
    cx: &Context,
    vault: &Vault,
    household: &str,
    account: &str,
    change: AccountChange,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let subject = household_subject(household)?;
    let account_number =
        seal_optional(vault, &subject, format!("{account}:account_number"), change.account_number).await?;
    let routing_number =
        seal_optional(vault, &subject, format!("{account}:routing_number"), change.routing_number).await?;
    let plaid_access_token =
        seal_optional(vault, &subject, format!("{account}:plaid_access_token"), change.plaid_access_token).await?;
    let command = |state: &Ledger| {
        let mut details = state.details.get(account).cloned().unwrap_or_default();
        details.institution = change.institution.clone().or(details.institution);
        details.account_number = account_number.clone().or(details.account_number);
        details.routing_number = routing_number.clone().or(details.routing_number);
        details.plaid_item_id = change.plaid_item_id.clone().or(details.plaid_item_id);
        details.plaid_access_token = plaid_access_token.clone().or(details.plaid_access_token);
        details.employer_match = change.employer_match.clone().or(details.employer_match);
        details.vesting = change.vesting.or(details.vesting);
        details.basis_reporting = change.basis_reporting.or(details.basis_reporting);
        decide(state, &LedgerCommand::SetAccountDetails { account: account.to_owned(), details })
    };
    execute_with(cx, household, command, None, Uuid::now_v7(), caller).await
}

/// Closes an account that holds no shares.
pub async fn close_account<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    account: &str,
    closed_on: chrono::NaiveDate,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::CloseAccount { account: account.to_owned(), closed_on };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Records balance assertions ([`domain::ledger::balances`]): what accounts held at the end of
/// a day by a statement's count. One already recorded records nothing.
pub async fn assert_balances<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    assertions: Vec<domain::ledger::balances::Assertion>,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let command = LedgerCommand::AssertBalances { assertions };
    execute(cx, household, &command, Uuid::now_v7(), caller).await
}

/// Runs a decision built from the fresh state on the household's ledger.
async fn execute_with<S: EventStore>(
    cx: &Context<S>,
    household: &str,
    decide_on: impl Fn(&Ledger) -> Result<Vec<LedgerEvent>, domain::DomainError>,
    expected: Option<u64>,
    command_uuid: Uuid,
    caller: &Caller,
) -> Result<Outcome, CommandError> {
    let stream = ledger_stream(household)?;
    let done =
        aggregate::execute::<domain::ledger::LedgerDecider, S>(cx, &stream, decide_on, expected, command_uuid, caller)
            .await?;
    Ok(Outcome {
        household: household.to_owned(),
        stream_id: stream.to_string(),
        events: done.events,
        first_position: done.first_position,
        last_position: done.last_position,
        stream_version: done.stream_version,
    })
}
