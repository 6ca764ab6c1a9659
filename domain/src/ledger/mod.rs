//! The household ledger: one stream per household (`ledger-<household>`) holding its accounts,
//! every trade and cash row, and the wash-sale adjustments the lot engine derived from them.
//!
//! [`decide`] turns a command into events; [`evolve`] folds an event into the state and never
//! fails. After every import the lot engine ([`lots::compute`]) is rerun over the whole
//! history, and only the difference from the adjustments already recorded is emitted:
//! `WashSaleReversed` for those that no longer hold, `WashSaleAdjusted` for new ones. A late
//! row therefore corrects history with new events; nothing recorded is edited.

pub mod balances;
pub mod benefits;
pub mod contributions;
pub mod identical;
pub mod lots;
pub mod recurring;
pub mod types;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::settlement_date;
use crate::family::Relationship;
use crate::goals::Goal;
use crate::{DomainError, Sealed};
use benefits::{MatchFormula, Vesting};
use contributions::{tally, Tally};
use lots::{compute, Book, WashSale};
use types::{AccountInfo, AccountType, Action, FilingStatus, HsaCoverage, LotMethod, Member, Ratio, Trade};

/// The schema version of every ledger event type this code writes.
pub const SCHEMA_VERSION: u32 = 1;

/// The events of a household ledger stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LedgerEvent {
    /// A file was imported: marks the command as done, for idempotency and audits.
    LedgerImported {
        command_id: String,
        file_sha256: String,
        /// Rows recorded.
        rows: u64,
        /// Rows of the file already recorded for the household (skipped, or recorded again
        /// when the import allowed duplicates).
        #[serde(default, skip_serializing_if = "is_zero")]
        duplicates: u64,
        /// The import allowed duplicates: the `duplicates` were recorded again.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicates_allowed: bool,
        /// The file's format (`csv`, `schwab`, …); absent for imports recorded before it was
        /// kept, and for rows entered one at a time. With `file_sha256` and each row's
        /// `source_line` and `row_id`, it traces a row to the line of the file it came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<String>,
        /// What the rows recorded may need a person to look at (weekend trades, overdrafts).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<ImportWarning>,
    },
    /// The household's time zone (an IANA name): its "today" for refusing future-dated rows.
    TimeZoneSet {
        time_zone: String,
    },
    /// The currency the household's valuations and performance are reported in (ISO 4217);
    /// rows, lots and gains stay in US dollars, as US tax requires.
    BaseCurrencySet {
        currency: String,
    },
    HouseholdCreated {
        name: String,
        filing_status: FilingStatus,
    },
    AccountOpened(AccountInfo),
    /// A household member's details (for age-based catch-ups and HSA coverage).
    MemberSet(Member),
    FilingStatusSet {
        filing_status: FilingStatus,
    },
    /// An account's details, replaced whole (numbers and tokens sealed with the household's key).
    AccountDetailsSet {
        account: String,
        details: AccountDetails,
    },
    AccountClosed {
        account: String,
        closed_on: NaiveDate,
    },
    TradeRecorded(Trade),
    /// A recorded row is void from now on (it stays in the history).
    TradeCancelled {
        trade_id: String,
        reason: String,
    },
    /// A recorded row is replaced by `trade` (same id) from now on.
    TradeCorrected {
        trade: Trade,
        reason: String,
    },
    WashSaleAdjusted(WashSale),
    WashSaleReversed {
        id: String,
        reason: String,
    },
    /// What an account held at the end of a day, by someone else's count (see [`balances`]).
    BalanceAsserted(balances::Assertion),
    /// A goal of the household, set or replaced whole (see [`crate::goals`]).
    GoalSet(Goal),
    GoalRemoved {
        name: String,
    },
    /// A standing instruction of an account, set or replaced whole (see [`recurring`]).
    RecurringSet(recurring::Recurring),
    RecurringRemoved {
        account: String,
        symbol: String,
        kind: String,
    },
    /// A lifetime gift by a member (see [`crate::gifts`]).
    GiftRecorded(crate::gifts::RecordedGift),
    /// A recorded gift is void from now on (it stays in the history).
    GiftRemoved {
        id: String,
        reason: String,
    },
    /// A trust or business of the household, set or replaced whole (see [`crate::entities`]).
    EntitySet(crate::entities::Entity),
    EntityRemoved {
        name: String,
    },
}

impl LedgerEvent {
    /// The stored event type.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::LedgerImported { .. } => "LedgerImported",
            Self::TimeZoneSet { .. } => "TimeZoneSet",
            Self::BaseCurrencySet { .. } => "BaseCurrencySet",
            Self::HouseholdCreated { .. } => "HouseholdCreated",
            Self::AccountOpened(_) => "AccountOpened",
            Self::MemberSet(_) => "MemberSet",
            Self::FilingStatusSet { .. } => "FilingStatusSet",
            Self::AccountDetailsSet { .. } => "AccountDetailsSet",
            Self::AccountClosed { .. } => "AccountClosed",
            Self::TradeRecorded(_) => "TradeRecorded",
            Self::TradeCancelled { .. } => "TradeCancelled",
            Self::TradeCorrected { .. } => "TradeCorrected",
            Self::WashSaleAdjusted(_) => "WashSaleAdjusted",
            Self::WashSaleReversed { .. } => "WashSaleReversed",
            Self::BalanceAsserted(_) => "BalanceAsserted",
            Self::GoalSet(_) => "GoalSet",
            Self::GoalRemoved { .. } => "GoalRemoved",
            Self::RecurringSet(_) => "RecurringSet",
            Self::RecurringRemoved { .. } => "RecurringRemoved",
            Self::GiftRecorded(_) => "GiftRecorded",
            Self::GiftRemoved { .. } => "GiftRemoved",
            Self::EntitySet(_) => "EntitySet",
            Self::EntityRemoved { .. } => "EntityRemoved",
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Something about a recorded row that a person may want to check: it was recorded anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportWarning {
    /// The line of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub trade_id: String,
    pub field: String,
    pub message: String,
}

/// The time zone of a household that has not set one: the NYSE's.
pub const DEFAULT_TIME_ZONE: &str = "America/New_York";

/// An account's institution, numbers, aggregator link and employer plan terms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_number: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaid_item_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaid_access_token: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer_match: Option<MatchFormula>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vesting: Option<Vesting>,
    /// Whether the broker files Form 1099-B with basis (`reported` when not said): the Form
    /// 8949 box of the account's sales ([`crate::form8949`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis_reporting: Option<crate::form8949::BasisReporting>,
}

/// The state a ledger decision needs, rebuilt by folding its events. Serializable, so that a
/// projector can keep it as a snapshot beside its read models.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub household: Option<(String, FilingStatus)>,
    pub accounts: BTreeMap<String, AccountInfo>,
    pub members: BTreeMap<String, Member>,
    pub details: BTreeMap<String, AccountDetails>,
    /// Closed accounts and the day they closed.
    pub closed: BTreeMap<String, NaiveDate>,
    /// The rows in force (cancelled ones removed, corrected ones replaced), in recording order.
    pub trades: Vec<Trade>,
    /// Rows recorded so far, cancelled ones included: the next row is `T<recorded + 1>`.
    pub recorded: u64,
    /// Cancelled rows and why.
    pub cancelled: BTreeMap<String, String>,
    /// Wash-sale adjustments in force, by id.
    pub wash_sales: BTreeMap<String, WashSale>,
    pub commands: HashSet<String>,
    /// The household's IANA time zone, when set (else [`DEFAULT_TIME_ZONE`]).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// How many recorded rows (cancelled ones included) carry each row identity.
    #[serde(default)]
    pub row_ids: BTreeMap<String, u64>,
    /// Balance assertions, in recording order.
    #[serde(default)]
    pub assertions: Vec<balances::Assertion>,
    /// The currency valuations and performance are reported in, when not US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_currency: Option<String>,
    /// The household's goals, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub goals: BTreeMap<String, Goal>,
    /// Standing instructions (recurring purchases, dividend reinvestment), by
    /// [`recurring::key`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub recurring: BTreeMap<String, recurring::Recurring>,
    /// Lifetime gifts in force, by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gifts: BTreeMap<String, crate::gifts::RecordedGift>,
    /// Gifts recorded so far, removed ones included: the next is `G<gifts_recorded + 1>`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gifts_recorded: u64,
    /// Trusts and businesses, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entities: BTreeMap<String, crate::entities::Entity>,
}

#[cfg(test)]
impl Ledger {
    /// A ledger with these accounts (FIFO, no owner) and no rows, for tests.
    pub(crate) fn with_accounts(accounts: &[(&str, AccountType)]) -> Self {
        let mut l = Self::default();
        for (label, account_type) in accounts {
            let info = AccountInfo {
                label: (*label).into(),
                account_type: *account_type,
                lot_method: LotMethod::Fifo,
                owner: None,
            };
            l.accounts.insert((*label).into(), info);
        }
        l
    }
}

impl Ledger {
    /// The currency the household's valuations and performance are reported in (`USD` unless
    /// set).
    pub fn base_currency(&self) -> &str {
        self.base_currency.as_deref().unwrap_or(crate::fx::USD)
    }

    /// The household's time zone.
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.time_zone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::America::New_York)
    }

    /// The household's calendar date at an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.time_zone()).date_naive()
    }

    /// The employer match on a year's `deferral` out of `pay` under `account`'s formula, and
    /// the part vested after `years_of_service` under its vesting schedule (all of it when the
    /// account has none). Pay and deferral are bounded to 0 ..= 10^12 (a deferral above pay is
    /// matched as pay).
    pub fn employer_match(
        &self,
        account: &str,
        pay: Decimal,
        deferral: Decimal,
        years_of_service: u32,
    ) -> Result<benefits::MatchOutcome, DomainError> {
        let ceiling = Decimal::from(1_000_000_000_000u64);
        for (field, amount) in [("pay", pay), ("deferral", deferral)] {
            if amount < Decimal::ZERO || amount > ceiling {
                return Err(rejected(None, field, "must be between 0 and 1,000,000,000,000"));
            }
        }
        let details = self.details.get(account).cloned().unwrap_or_default();
        let formula = details
            .employer_match
            .ok_or_else(|| DomainError::not_found("account", format!("{account} has no employer match formula")))?;
        let matched = formula.employer_match(pay, deferral);
        let vested_fraction = details.vesting.map_or(Decimal::ONE, |v| v.vested_fraction(years_of_service));
        Ok(benefits::MatchOutcome { matched, vested_fraction, vested: matched * vested_fraction })
    }

    /// The book as of a trade date (all of it when `None`).
    pub fn book(&self, as_of: Option<NaiveDate>) -> Result<Book, DomainError> {
        compute(&self.accounts, &self.trades, as_of).map_err(|e| DomainError::Rejected {
            line: e.source_line,
            field: e.field.to_owned(),
            problem: format!("{} ({})", e.problem, e.trade_id),
        })
    }

    /// Contributions against each member's limits, for one tax year or all.
    pub fn contributions(&self, year: Option<i32>) -> Result<Vec<Tally>, DomainError> {
        let all = tally(&self.accounts, &self.members, &self.trades).map_err(|e| DomainError::Rejected {
            line: e.source_line,
            field: e.field.to_owned(),
            problem: format!("{} ({})", e.problem, e.trade_id),
        })?;
        Ok(all.into_iter().filter(|t| year.is_none_or(|y| t.tax_year == y)).collect())
    }
}

/// Folds one event into the state. Never fails: history is applied as it was recorded.
pub fn evolve(state: Ledger, event: &LedgerEvent) -> Ledger {
    apply(state, event.clone())
}

/// [`evolve`] taking the event by value, so that nothing in it is copied (for projectors that
/// decode events only to fold them).
pub fn apply(mut state: Ledger, event: LedgerEvent) -> Ledger {
    match event {
        LedgerEvent::LedgerImported { command_id, .. } => {
            state.commands.insert(command_id);
        }
        LedgerEvent::HouseholdCreated { name, filing_status } => state.household = Some((name, filing_status)),
        LedgerEvent::AccountOpened(a) => {
            state.accounts.insert(a.label.clone(), a);
        }
        LedgerEvent::MemberSet(m) => {
            state.members.insert(m.name.clone(), m);
        }
        LedgerEvent::FilingStatusSet { filing_status } => {
            if let Some((_, status)) = &mut state.household {
                *status = filing_status;
            }
        }
        LedgerEvent::AccountDetailsSet { account, details } => {
            state.details.insert(account, details);
        }
        LedgerEvent::AccountClosed { account, closed_on } => {
            state.closed.insert(account, closed_on);
        }
        LedgerEvent::TimeZoneSet { time_zone } => state.time_zone = Some(time_zone),
        LedgerEvent::BaseCurrencySet { currency } => {
            state.base_currency = (currency != crate::fx::USD).then_some(currency);
        }
        LedgerEvent::TradeRecorded(t) => {
            if let Some(id) = &t.row_id {
                *state.row_ids.entry(id.clone()).or_default() += 1;
            }
            state.trades.push(t);
            state.recorded += 1;
        }
        LedgerEvent::TradeCancelled { trade_id, reason } => {
            state.trades.retain(|t| t.trade_id != trade_id);
            state.cancelled.insert(trade_id, reason);
        }
        LedgerEvent::TradeCorrected { trade, .. } => {
            if let Some(t) = state.trades.iter_mut().find(|t| t.trade_id == trade.trade_id) {
                *t = trade;
            }
        }
        LedgerEvent::WashSaleAdjusted(w) => {
            state.wash_sales.insert(w.id.clone(), w);
        }
        LedgerEvent::WashSaleReversed { id, .. } => {
            state.wash_sales.remove(&id);
        }
        LedgerEvent::BalanceAsserted(a) => state.assertions.push(a),
        LedgerEvent::GoalSet(g) => {
            state.goals.insert(g.name.clone(), g);
        }
        LedgerEvent::GoalRemoved { name } => {
            state.goals.remove(&name);
        }
        LedgerEvent::RecurringSet(r) => {
            state.recurring.insert(r.key(), r);
        }
        LedgerEvent::RecurringRemoved { account, symbol, kind } => {
            state.recurring.remove(&recurring::key(&account, &symbol, &kind));
        }
        LedgerEvent::GiftRecorded(g) => {
            state.gifts_recorded += 1;
            state.gifts.insert(g.id.clone(), g);
        }
        LedgerEvent::GiftRemoved { id, .. } => {
            state.gifts.remove(&id);
        }
        LedgerEvent::EntitySet(e) => {
            state.entities.insert(e.name.clone(), e);
        }
        LedgerEvent::EntityRemoved { name } => {
            state.entities.remove(&name);
        }
    }
    state
}

/// One row of an import, already parsed; `line` is its line in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowInput {
    pub line: u64,
    pub trade_date: NaiveDate,
    pub account: String,
    pub account_type: Option<AccountType>,
    pub action: Action,
    pub symbol: Option<String>,
    pub quantity: Decimal,
    pub price: Decimal,
    pub fees: Decimal,
    pub commission: Decimal,
    pub sec_fee: Decimal,
    pub taf_fee: Decimal,
    pub cusip: Option<String>,
    pub isin: Option<String>,
    /// The currency `price`, `fees`, `commission`, `sec_fee`, `taf_fee` and `fmv` are given in
    /// (US dollars when `None` or `USD`) and the US dollars per unit it is translated at (see
    /// [`Trade::currency`]).
    pub currency: Option<String>,
    pub fx_rate: Option<Decimal>,
    pub settlement_date: Option<NaiveDate>,
    pub lot_method: Option<LotMethod>,
    pub lot_ids: Vec<String>,
    pub ratio: Option<Ratio>,
    pub description: Option<String>,
    /// The member who owns the account (read where the account first appears).
    pub owner: Option<String>,
    pub new_symbol: Option<String>,
    pub fmv: Option<Decimal>,
    pub allocation: Option<Decimal>,
    /// The broker's order id: buys of one account, symbol and date with the same order id (or
    /// none) are one purchase.
    pub order_id: Option<String>,
    /// The row's identity for finding it again in a later file: `id:<the broker's transaction
    /// id>` or `sha256:<digest of its fields>` (the parser sets it; rows entered one by one have
    /// none and are never taken for duplicates).
    pub identity: Option<String>,
    /// A row a broker reports by shares it cannot size or price alone: sized when recorded
    /// from what the account held just before it.
    pub by_holding: Option<ByHolding>,
}

/// A row sized by the account's holding when recorded, as a broker's export gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByHolding {
    /// A split given by the shares it took and delivered, not its ratio: the ratio is found
    /// from the shares held before it ([`Ratio::delivering`]). A fraction it leaves stays
    /// held until the cash paid for it ([`ByHolding::CashInLieu`]) sells it.
    Split {
        /// The shares it took (a reverse split removes the old shares); `None` where it only
        /// added shares to those held (a forward split).
        removed: Option<Decimal>,
        /// The shares it delivered: the new total after a removal, else the shares added.
        delivered: Decimal,
        /// Whether the broker paid cash in lieu of a fraction of a share for it.
        fraction_paid: bool,
    },
    /// Cash paid in lieu of the fraction of a share the account holds (left by a split or a
    /// merger): a `sell` of that fraction, whose `price` is the whole amount paid.
    CashInLieu,
}

/// How an import treats its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// When the import runs: rows dated after that day in the household's time zone are
    /// refused (no check when `None`).
    pub now: Option<DateTime<Utc>>,
    /// Record rows whose identity is already recorded for the household, instead of skipping
    /// them.
    pub allow_duplicates: bool,
    /// The file's format (`csv`, a broker's name), kept in `LedgerImported` so that a row can
    /// be traced to the file, the format and the line it came from.
    pub format: Option<&'static str>,
}

/// The fields a correction may change; `None` keeps the recorded value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TradeChange {
    pub trade_date: Option<NaiveDate>,
    pub settlement_date: Option<NaiveDate>,
    pub quantity: Option<Decimal>,
    pub price: Option<Decimal>,
    pub fees: Option<Decimal>,
    pub lot_method: Option<LotMethod>,
    pub lot_ids: Option<Vec<String>>,
    pub description: Option<String>,
}

impl RowInput {
    /// A row with only its date, account and action; every other field empty or zero.
    pub fn new(trade_date: NaiveDate, account: &str, action: Action) -> Self {
        Self {
            line: 0,
            trade_date,
            account: account.to_owned(),
            account_type: None,
            action,
            symbol: None,
            quantity: Decimal::ZERO,
            price: Decimal::ZERO,
            fees: Decimal::ZERO,
            commission: Decimal::ZERO,
            sec_fee: Decimal::ZERO,
            taf_fee: Decimal::ZERO,
            cusip: None,
            isin: None,
            currency: None,
            fx_rate: None,
            settlement_date: None,
            lot_method: None,
            lot_ids: Vec::new(),
            ratio: None,
            description: None,
            owner: None,
            new_symbol: None,
            fmv: None,
            allocation: None,
            order_id: None,
            identity: None,
            by_holding: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerCommand {
    /// Record a file of rows, all or nothing. The household is created if missing; an account
    /// is opened the first time its label appears (with that row's `account_type`).
    /// Rows already recorded for the household (same identity) are skipped, unless the file
    /// holds more copies than were recorded (two identical buys in one file are two trades).
    Import { household: String, command_id: String, file_sha256: String, rows: Vec<RowInput>, options: ImportOptions },
    /// Set the household's time zone (an IANA name such as `America/Chicago`).
    SetTimeZone { household: String, time_zone: String },
    /// Set the currency valuations and performance are reported in (ISO 4217; `USD` is the
    /// default).
    SetBaseCurrency { household: String, currency: String },
    /// Void a recorded row (both halves of a paired transfer).
    Cancel { command_id: String, trade_id: String, reason: String },
    /// Replace fields of a recorded row.
    Correct { command_id: String, trade_id: String, change: TradeChange, reason: String },
    /// Set the filing status (the household is created if missing).
    SetFilingStatus { household: String, status: FilingStatus },
    /// Replace an account's details (the shell seals numbers and tokens first).
    SetAccountDetails { account: String, details: AccountDetails },
    /// Open an account before its first row (the household is created if missing).
    OpenAccount { household: String, account: AccountInfo },
    /// Close an account that holds no shares; later rows for it are refused.
    CloseAccount { account: String, closed_on: NaiveDate },
    /// Record or update a household member (created with the household if missing).
    SetMember {
        household: String,
        name: String,
        born: Option<NaiveDate>,
        hsa_coverage: Option<HsaCoverage>,
        family: crate::family::Family,
    },
    /// Record balance assertions (what accounts held at the end of a day, by a statement's
    /// count); one already recorded is not recorded again.
    AssertBalances { assertions: Vec<balances::Assertion> },
    /// Set a goal, or replace the one of that name (the household is created if missing); its
    /// accounts must be open and its date after the household's today at `now`.
    SetGoal { household: String, goal: Goal, now: DateTime<Utc> },
    /// Remove a goal.
    RemoveGoal { household: String, name: String },
    /// Set a standing instruction of an open account, or replace the one of its account,
    /// symbol and kind (the household is created if missing).
    SetRecurring { household: String, recurring: recurring::Recurring },
    /// Remove a standing instruction (`kind`: `purchase` or `reinvest`).
    RemoveRecurring { account: String, symbol: String, kind: String },
    /// Record a member's lifetime gift, on or before the household's today at `now` (its `id`
    /// is assigned; see [`gifts::decide_record`]).
    RecordGift { household: String, gift: crate::gifts::RecordedGift, now: DateTime<Utc> },
    /// Void a recorded gift.
    RemoveGift { id: String, reason: String },
    /// Set a trust or business, or replace the one of that name (the household is created if
    /// missing; see [`crate::entities::decide_set`]).
    SetEntity { household: String, entity: crate::entities::Entity },
    /// Remove one, unless another entity names it as an owner.
    RemoveEntity { name: String },
}

fn reject(line: u64, field: &str, problem: impl Into<String>) -> DomainError {
    rejected(Some(line), field, problem)
}

/// The household ledger as a decider.
pub struct LedgerDecider;

impl crate::decider::Decider for LedgerDecider {
    type State = Ledger;
    type Command = LedgerCommand;
    type Event = LedgerEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(state: &Ledger, command: &LedgerCommand) -> Result<Vec<LedgerEvent>, DomainError> {
        decide(state, command)
    }

    fn evolve(state: Ledger, event: &LedgerEvent) -> Ledger {
        evolve(state, event)
    }

    fn event_type(event: &LedgerEvent) -> &'static str {
        event.event_type()
    }
}

/// Decides what a command records, or why it is refused (naming the line and field).
pub fn decide(state: &Ledger, command: &LedgerCommand) -> Result<Vec<LedgerEvent>, DomainError> {
    match command {
        LedgerCommand::Import { household, command_id, file_sha256, rows, options } => {
            decide_import(state, household, command_id, file_sha256, rows, options)
        }
        LedgerCommand::SetTimeZone { household, time_zone } => {
            let zone: chrono_tz::Tz = time_zone.parse().map_err(|_| {
                rejected(None, "time_zone", format!("{time_zone:?} is not an IANA time zone (e.g. America/New_York)"))
            })?;
            let name = zone.name().to_owned();
            if state.time_zone.as_deref() == Some(name.as_str()) {
                return Ok(Vec::new());
            }
            Ok(creating(state, household, vec![LedgerEvent::TimeZoneSet { time_zone: name }]))
        }
        LedgerCommand::SetBaseCurrency { household, currency } => {
            let currency = currency.trim().to_ascii_uppercase();
            if !types::valid_currency(&currency) {
                return Err(rejected(
                    None,
                    "base_currency",
                    format!("{currency:?} is not a currency code (three letters, ISO 4217: EUR, GBP)"),
                ));
            }
            if state.base_currency() == currency {
                return Ok(Vec::new());
            }
            Ok(creating(state, household, vec![LedgerEvent::BaseCurrencySet { currency }]))
        }
        LedgerCommand::SetFilingStatus { household, status } => {
            if state.household.as_ref().is_some_and(|(_, s)| s == status) {
                return Ok(Vec::new());
            }
            let mut events = Vec::new();
            if state.household.is_none() {
                events.push(LedgerEvent::HouseholdCreated { name: household.clone(), filing_status: *status });
            } else {
                events.push(LedgerEvent::FilingStatusSet { filing_status: *status });
            }
            Ok(events)
        }
        LedgerCommand::SetAccountDetails { account, details } => {
            open_account(state, account)?;
            if state.details.get(account) == Some(details) {
                return Ok(Vec::new());
            }
            Ok(vec![LedgerEvent::AccountDetailsSet { account: account.clone(), details: details.clone() }])
        }
        LedgerCommand::OpenAccount { household, account } => {
            if account.label.trim().is_empty() {
                return Err(rejected(None, "account", "must not be empty"));
            }
            if let Some(day) = state.closed.get(&account.label) {
                return Err(rejected(None, "account", format!("{} was closed on {day}", account.label)));
            }
            match state.accounts.get(&account.label) {
                Some(existing) if existing == account => Ok(Vec::new()),
                Some(existing) => Err(rejected(
                    None,
                    "account",
                    format!("{} is already open as a {} account", account.label, existing.account_type),
                )),
                None => Ok(creating(state, household, vec![LedgerEvent::AccountOpened(account.clone())])),
            }
        }
        LedgerCommand::AssertBalances { assertions } => {
            let mut events = Vec::new();
            for a in assertions {
                if !state.accounts.contains_key(&a.account) {
                    return Err(rejected(None, "account", format!("the household has no account {:?}", a.account)));
                }
                if let Some(symbol) = a.symbol.as_deref().filter(|s| !types::is_ticker(s)) {
                    return Err(rejected(
                        None,
                        "symbol",
                        format!("{symbol:?} is not a ticker (letters, digits, . - /)"),
                    ));
                }
                if a.source.as_deref().is_some_and(|s| s.len() > 200 || s.chars().any(char::is_control)) {
                    return Err(rejected(None, "source", "must be at most 200 characters of text"));
                }
                if a.symbol.is_some() && a.quantity < Decimal::ZERO {
                    return Err(rejected(None, "quantity", "shares held cannot be negative"));
                }
                if a.quantity.abs() > Decimal::from(1_000_000_000_000u64) {
                    return Err(rejected(None, "quantity", "must be at most 10^12"));
                }
                // The same figure for the same holding and day is the same fact, whichever
                // statement it came from.
                // As printed: 100 and 100.00 are not the same figure (their tolerances differ).
                let same = |x: &balances::Assertion| {
                    (&x.account, x.date, &x.symbol, x.quantity, x.quantity.scale())
                        == (&a.account, a.date, &a.symbol, a.quantity, a.quantity.scale())
                };
                let known = state.assertions.iter().any(same)
                    || events.iter().any(|e| matches!(e, LedgerEvent::BalanceAsserted(x) if same(x)));
                if !known {
                    events.push(LedgerEvent::BalanceAsserted(a.clone()));
                }
            }
            Ok(events)
        }
        LedgerCommand::SetGoal { household, goal, now } => {
            goal.validate()?;
            for account in &goal.accounts {
                open_account(state, account).map_err(|e| match e {
                    DomainError::Rejected { problem, .. } => rejected(None, "accounts", problem),
                    other => other,
                })?;
            }
            let today = state.local_date(*now);
            if goal.date <= today {
                return Err(rejected(
                    None,
                    "date",
                    format!("{} is not after today ({today} in {})", goal.date, state.time_zone()),
                ));
            }
            if state.goals.get(&goal.name) == Some(goal) {
                return Ok(Vec::new());
            }
            Ok(creating(state, household, vec![LedgerEvent::GoalSet(goal.clone())]))
        }
        LedgerCommand::RecordGift { household, gift, now } => {
            let recorded = crate::gifts::decide_record(state, gift, *now)?;
            Ok(creating(state, household, vec![LedgerEvent::GiftRecorded(recorded)]))
        }
        LedgerCommand::RemoveGift { id, reason } => {
            if !state.gifts.contains_key(id) {
                return Err(DomainError::not_found("id", format!("the household has no gift {id:?} in force")));
            }
            if reason.trim().is_empty() {
                return Err(rejected(None, "reason", "must say why the gift is removed"));
            }
            Ok(vec![LedgerEvent::GiftRemoved { id: id.clone(), reason: reason.trim().to_owned() }])
        }
        LedgerCommand::SetEntity { household, entity } => match crate::entities::decide_set(state, entity)? {
            Some(e) => Ok(creating(state, household, vec![LedgerEvent::EntitySet(e)])),
            None => Ok(Vec::new()),
        },
        LedgerCommand::RemoveEntity { name } => {
            if !state.entities.contains_key(name) {
                return Err(DomainError::not_found("name", format!("the household has no entity {name:?}")));
            }
            if let Some(owned) = state.entities.values().find(|e| e.owners.iter().any(|o| &o.owner == name)) {
                return Err(rejected(None, "name", format!("{name} owns part of {}: change that first", owned.name)));
            }
            Ok(vec![LedgerEvent::EntityRemoved { name: name.clone() }])
        }
        LedgerCommand::RemoveGoal { name, .. } => {
            if !state.goals.contains_key(name) {
                return Err(DomainError::not_found("name", format!("the household has no goal {name:?}")));
            }
            Ok(vec![LedgerEvent::GoalRemoved { name: name.clone() }])
        }
        LedgerCommand::SetRecurring { household, recurring } => {
            recurring.validate()?;
            open_account(state, &recurring.account)?;
            if state.recurring.get(&recurring.key()) == Some(recurring) {
                return Ok(Vec::new());
            }
            Ok(creating(state, household, vec![LedgerEvent::RecurringSet(recurring.clone())]))
        }
        LedgerCommand::RemoveRecurring { account, symbol, kind } => {
            if !recurring::KINDS.contains(&kind.as_str()) {
                return Err(rejected(None, "kind", format!("{kind:?} is not purchase or reinvest")));
            }
            if !state.recurring.contains_key(&recurring::key(account, symbol, kind)) {
                return Err(DomainError::not_found("symbol", format!("{account} has no recurring {kind} of {symbol}")));
            }
            Ok(vec![LedgerEvent::RecurringRemoved {
                account: account.clone(),
                symbol: symbol.clone(),
                kind: kind.clone(),
            }])
        }
        LedgerCommand::CloseAccount { account, closed_on } => {
            if !state.accounts.contains_key(account) {
                return Err(DomainError::not_found("account", format!("the household has no account {account:?}")));
            }
            open_account(state, account)?;
            let book = state.book(None)?;
            let held = book.lots.iter().filter(|l| l.account == *account).count();
            if held > 0 {
                return Err(rejected(
                    None,
                    "account",
                    format!("{account} still holds {held} lot(s); move or sell them first"),
                ));
            }
            if let Some(last) = state.trades.iter().filter(|t| t.account == *account).map(|t| t.trade_date).max() {
                if last > *closed_on {
                    return Err(rejected(
                        None,
                        "closed_on",
                        format!("{account} has a row dated {last}, after {closed_on}"),
                    ));
                }
            }
            Ok(vec![LedgerEvent::AccountClosed { account: account.clone(), closed_on: *closed_on }])
        }
        LedgerCommand::SetMember { household, name, born, hsa_coverage, family } => {
            let name = name.trim();
            if name.is_empty() {
                return Err(rejected(None, "name", "must not be empty"));
            }
            if born.is_some_and(|b| b.year() < 1900) {
                return Err(rejected(None, "born", "must be 1900 or later"));
            }
            let mut member = state
                .members
                .get(name)
                .cloned()
                .unwrap_or_else(|| Member { name: name.to_owned(), ..Default::default() });
            member.born = born.or(member.born);
            member.hsa_coverage = hsa_coverage.unwrap_or(member.hsa_coverage);
            if let Some(r) = family.relationship {
                // One principal and one spouse: the planners read them by relationship.
                let taken = state.members.values().find(|m| m.name != name && m.relationship == Some(r));
                if let (Some(other), true) = (taken, matches!(r, Relationship::Principal | Relationship::Spouse)) {
                    return Err(rejected(
                        None,
                        "relationship",
                        format!("{} is already the {}", other.name, r.as_str()),
                    ));
                }
                member.relationship = Some(r);
            }
            member.citizen = family.citizen.or(member.citizen);
            if let Some(code) = &family.domicile {
                member.domicile = Some(crate::family::state(code).map_err(|p| rejected(None, "domicile", p))?);
            }
            if let Some(to) = family.lives_to {
                if !(1..=crate::family::LIVES_TO_MAX).contains(&to) {
                    return Err(rejected(
                        None,
                        "lives_to",
                        format!("{to} is not an age from 1 to {}", crate::family::LIVES_TO_MAX),
                    ));
                }
                member.lives_to = Some(to);
            }
            if let Some(died) = family.parent_died {
                if died.year() < 1900 {
                    return Err(rejected(None, "parent_died", "must be 1900 or later"));
                }
                member.parent_died = Some(died);
            }
            let mut members = state.members.clone();
            members.insert(member.name.clone(), member.clone());
            derive(&state.accounts, &members, &state.closed, &state.trades, &[])?;
            let changed = state.members.get(name) != Some(&member);
            let set = changed.then_some(LedgerEvent::MemberSet(member));
            Ok(creating(state, household, set.into_iter().collect()))
        }
        LedgerCommand::Cancel { command_id, trade_id, reason } => {
            let trade = in_force(state, trade_id)?;
            let mut voided = vec![trade.trade_id.clone()];
            voided.extend(trade.counterpart.clone());
            let trades: Vec<Trade> = state.trades.iter().filter(|t| !voided.contains(&t.trade_id)).cloned().collect();
            let book = derive(&state.accounts, &state.members, &state.closed, &trades, &[])?;
            let mut events: Vec<LedgerEvent> = voided
                .into_iter()
                .map(|trade_id| LedgerEvent::TradeCancelled { trade_id, reason: reason.clone() })
                .collect();
            events.extend(reconcile_wash_sales(&state.wash_sales, &book.wash_sales, command_id));
            Ok(events)
        }
        LedgerCommand::Correct { command_id, trade_id, change, reason } => {
            let recorded = in_force(state, trade_id)?;
            let mut trade = recorded.clone();
            let date_moved = change.trade_date.is_some_and(|d| d != trade.trade_date);
            trade.trade_date = change.trade_date.unwrap_or(trade.trade_date);
            trade.settlement_date = match change.settlement_date {
                Some(d) => d,
                None if date_moved => default_settlement(trade.action, trade.trade_date),
                None => trade.settlement_date,
            };
            trade.quantity = change.quantity.unwrap_or(trade.quantity);
            // A row made in another currency is corrected in that currency, kept in dollars at
            // its rate, as it was recorded.
            let rate = trade.fx_rate.filter(|_| trade.currency.is_some()).unwrap_or(Decimal::ONE);
            trade.price = change.price.map_or(trade.price, |p| p * rate);
            trade.fees = change.fees.map_or(trade.fees, |f| f * rate);
            trade.lot_method = change.lot_method.or(trade.lot_method);
            trade.lot_ids = change.lot_ids.clone().unwrap_or(trade.lot_ids);
            trade.description = change.description.clone().or(trade.description);
            if trade == *recorded {
                return Err(rejected(None, "change", "nothing to correct: every field is as recorded"));
            }
            validate(&trade)?;
            let trades: Vec<Trade> = state
                .trades
                .iter()
                .map(|t| if t.trade_id == trade.trade_id { trade.clone() } else { t.clone() })
                .collect();
            let book = derive(&state.accounts, &state.members, &state.closed, &trades, &[])?;
            let mut events = vec![LedgerEvent::TradeCorrected { trade, reason: reason.clone() }];
            events.extend(reconcile_wash_sales(&state.wash_sales, &book.wash_sales, command_id));
            Ok(events)
        }
    }
}

/// `events`, after the household's creation (with the default filing status) when the ledger
/// has none yet.
fn creating(state: &Ledger, household: &str, events: Vec<LedgerEvent>) -> Vec<LedgerEvent> {
    let created = state
        .household
        .is_none()
        .then(|| LedgerEvent::HouseholdCreated { name: household.to_owned(), filing_status: FilingStatus::default() });
    created.into_iter().chain(events).collect()
}

fn rejected(line: Option<u64>, field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line, field: field.to_owned(), problem: problem.into() }
}

/// The account, if it exists and is open.
fn open_account<'a>(state: &'a Ledger, account: &str) -> Result<&'a AccountInfo, DomainError> {
    if let Some(day) = state.closed.get(account) {
        return Err(rejected(None, "account", format!("{account} was closed on {day}")));
    }
    state
        .accounts
        .get(account)
        .ok_or_else(|| rejected(None, "account", format!("the household has no account {account:?}")))
}

fn in_force<'a>(state: &'a Ledger, trade_id: &str) -> Result<&'a Trade, DomainError> {
    if let Some(reason) = state.cancelled.get(trade_id) {
        return Err(rejected(None, "trade", format!("{trade_id} was cancelled ({reason})")));
    }
    state
        .trades
        .iter()
        .find(|t| t.trade_id == trade_id)
        .ok_or_else(|| DomainError::not_found("trade", format!("no row {trade_id}")))
}

fn default_settlement(action: Action, trade_date: NaiveDate) -> NaiveDate {
    match action {
        Action::Buy | Action::Sell => settlement_date(trade_date),
        _ => trade_date,
    }
}

/// Runs the lot engine over `trades`; an error on one of `new` names its line, an error on an
/// earlier row says the change made it invalid.
/// Contributions over a limit are refused the same way.
/// A closed account must stay empty: a backdated row that would leave it holding shares is
/// refused too.
fn derive(
    accounts: &BTreeMap<String, AccountInfo>,
    members: &BTreeMap<String, Member>,
    closed: &BTreeMap<String, NaiveDate>,
    trades: &[Trade],
    new: &[String],
) -> Result<Book, DomainError> {
    let explain = |e: lots::EngineError| {
        if new.contains(&e.trade_id) {
            rejected(e.source_line, e.field, e.problem)
        } else {
            rejected(None, e.field, format!("{} (recorded row {}, made invalid by this change)", e.problem, e.trade_id))
        }
    };
    let book = compute(accounts, trades, None).map_err(explain)?;
    tally(accounts, members, trades).map_err(explain)?;
    if let Some(lot) = book.lots.iter().find(|l| closed.contains_key(&l.account)) {
        return Err(rejected(
            None,
            "account",
            format!(
                "{} was closed on {} and would hold {} {} after this change",
                lot.account, closed[&lot.account], lot.quantity, lot.symbol
            ),
        ));
    }
    Ok(book)
}

fn decide_import(
    state: &Ledger,
    household: &str,
    command_id: &str,
    file_sha256: &str,
    rows: &[RowInput],
    options: &ImportOptions,
) -> Result<Vec<LedgerEvent>, DomainError> {
    if state.commands.contains(command_id) {
        return Ok(Vec::new());
    }
    if rows.is_empty() {
        return Err(rejected(None, "file", "no rows to import"));
    }
    if let Some(now) = options.now {
        let today = state.local_date(now);
        if let Some(row) = rows.iter().find(|r| r.trade_date > today) {
            return Err(reject(
                row.line,
                "trade_date",
                format!(
                    "{} is in the future (today is {today} in {}); record a trade once it is made",
                    row.trade_date,
                    state.time_zone().name()
                ),
            ));
        }
    }
    // A row whose identity the household already holds as often as the file has it so far is a
    // duplicate: the file repeating a row itself means two rows.
    let mut copies: BTreeMap<&str, u64> = BTreeMap::new();
    let mut duplicates = 0u64;
    let rows: Vec<&RowInput> = rows
        .iter()
        .filter(|row| {
            let Some(id) = row.identity.as_deref() else { return true };
            let seen = copies.entry(id).or_default();
            *seen += 1;
            let duplicate = *seen <= state.row_ids.get(id).copied().unwrap_or(0);
            duplicates += u64::from(duplicate);
            !duplicate || options.allow_duplicates
        })
        .collect();
    let mut events = vec![LedgerEvent::LedgerImported {
        command_id: command_id.to_owned(),
        file_sha256: file_sha256.to_owned(),
        rows: rows.len() as u64,
        duplicates,
        duplicates_allowed: options.allow_duplicates && duplicates > 0,
        format: options.format.map(str::to_owned),
        warnings: Vec::new(),
    }];
    if rows.is_empty() {
        return Ok(events);
    }
    if state.household.is_none() {
        events
            .push(LedgerEvent::HouseholdCreated { name: household.to_owned(), filing_status: FilingStatus::default() });
    }
    let mut accounts = state.accounts.clone();
    let mut new = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(day) = state.closed.get(&row.account).filter(|d| row.trade_date > **d) {
            return Err(reject(row.line, "account", format!("{} was closed on {day}", row.account)));
        }
        if let (Some(existing), Some(owner)) = (accounts.get(&row.account), &row.owner) {
            if existing.owner.as_ref() != Some(owner) {
                return Err(reject(
                    row.line,
                    "owner",
                    format!(
                        "account {} belongs to {}",
                        row.account,
                        existing.owner.as_deref().unwrap_or(contributions::PRIMARY)
                    ),
                ));
            }
        }
        match (accounts.get(&row.account), row.account_type) {
            (Some(existing), Some(t)) if existing.account_type != t => {
                return Err(reject(
                    row.line,
                    "account_type",
                    format!("account {} is {}, not {t}", row.account, existing.account_type),
                ));
            }
            (Some(_), _) => {}
            (None, None) => {
                return Err(reject(
                    row.line,
                    "account_type",
                    format!("required where account {} first appears", row.account),
                ))
            }
            (None, Some(t)) => {
                let info = AccountInfo {
                    label: row.account.clone(),
                    account_type: t,
                    lot_method: row.lot_method.unwrap_or_default(),
                    owner: row.owner.clone(),
                };
                accounts.insert(row.account.clone(), info.clone());
                events.push(LedgerEvent::AccountOpened(info));
            }
        }
        // Amounts in another currency are kept in dollars at the row's rate (a missing rate is
        // refused by `validate`).
        let foreign = row.currency.as_deref().is_some_and(|c| c != "USD");
        let rate = row.fx_rate.filter(|_| foreign).unwrap_or(Decimal::ONE);
        let usd = |amount: Decimal| if foreign { amount * rate } else { amount };
        let trade = Trade {
            trade_id: format!("T{}", state.recorded + new.len() as u64 + 1),
            account: row.account.clone(),
            action: row.action,
            symbol: row.symbol.clone(),
            quantity: row.quantity,
            price: usd(row.price),
            fees: usd(row.fees),
            commission: usd(row.commission),
            sec_fee: usd(row.sec_fee),
            taf_fee: usd(row.taf_fee),
            cusip: row.cusip.clone(),
            isin: row.isin.clone(),
            currency: row.currency.clone().filter(|_| foreign),
            fx_rate: row.fx_rate.filter(|_| foreign || row.currency.is_none()),
            trade_date: row.trade_date,
            settlement_date: row.settlement_date.unwrap_or_else(|| default_settlement(row.action, row.trade_date)),
            lot_method: row.lot_method,
            lot_ids: row.lot_ids.clone(),
            ratio: row.ratio,
            new_symbol: row.new_symbol.clone(),
            fmv: row.fmv.map(usd),
            allocation: row.allocation,
            counterpart: None,
            description: row.description.clone(),
            source_line: Some(row.line),
            order_id: row.order_id.clone(),
            row_id: row.identity.clone(),
        };
        new.push(trade);
    }
    pair_transfers(&mut new);
    let mut sized: Vec<(usize, ByHolding)> =
        rows.iter().enumerate().filter_map(|(i, r)| Some((i, r.by_holding?))).collect();
    sized.sort_by_key(|(i, _)| (new[*i].trade_date, new[*i].seq()));
    for (i, how) in sized {
        size_by_holding(&accounts, &state.trades, &mut new, i, how)?;
    }
    for trade in &new {
        validate(trade)?;
    }
    let new_ids: Vec<String> = new.iter().map(|t| t.trade_id.clone()).collect();
    let mut trades = state.trades.clone();
    trades.extend(new.iter().cloned());
    let book = derive(&accounts, &state.members, &state.closed, &trades, &new_ids)?;
    if let Some(LedgerEvent::LedgerImported { warnings, .. }) = events.first_mut() {
        *warnings = import_warnings(&new, &book);
    }
    events.extend(new.into_iter().map(LedgerEvent::TradeRecorded));
    events.extend(reconcile_wash_sales(&state.wash_sales, &book.wash_sales, command_id));
    Ok(events)
}

/// Sizes `new[i]`, a row a broker reports by shares ([`ByHolding`]), from what its account
/// held of the symbol just before it (every recorded row and the file's rows before it by
/// date). Such rows are sized in date order, so an earlier one is complete when a later one is
/// counted.
fn size_by_holding(
    accounts: &BTreeMap<String, AccountInfo>,
    recorded: &[Trade],
    new: &mut [Trade],
    i: usize,
    how: ByHolding,
) -> Result<(), DomainError> {
    let t = &new[i];
    let fail = |field: &str, problem: String| rejected(t.source_line, field, problem);
    let Some(symbol) = t.symbol.as_deref() else {
        return Err(fail("symbol", format!("required for {}", t.action.as_str())));
    };
    let at = (t.trade_date, t.seq());
    let before: Vec<Trade> =
        recorded.iter().chain(new.iter()).filter(|r| (r.trade_date, r.seq()) < at).cloned().collect();
    let book = compute(accounts, &before, None).map_err(|e| rejected(e.source_line, e.field, e.problem))?;
    let held: Decimal =
        book.lots.iter().filter(|l| l.account == t.account && l.symbol == symbol).map(|l| l.quantity).sum();
    let (account, date) = (&t.account, t.trade_date);
    let none_held =
        || fail("symbol", format!("{account} held no {symbol} on {date}: record the rows that bought it first"));
    match how {
        ByHolding::Split { removed, delivered, fraction_paid } => {
            if held.is_zero() {
                return Err(none_held());
            }
            if delivered < Decimal::ZERO || removed.is_some_and(|r| r <= Decimal::ZERO) {
                return Err(fail("quantity", "a split's shares taken and delivered must be positive".into()));
            }
            let after = match removed {
                Some(removed) if removed != held => {
                    return Err(fail(
                        "quantity",
                        format!(
                        "the split took {removed} {symbol}, but {account} held {held}: record the missing rows first"
                    ),
                    ))
                }
                Some(_) => delivered,
                None => held + delivered,
            };
            let ratio = Ratio::delivering(held, after, fraction_paid)
                .ok_or_else(|| fail("quantity", format!("no split ratio turns {held} {symbol} into {after} shares")))?;
            let t = &mut new[i];
            (t.action, t.ratio, t.price) = (Action::Split, Some(ratio), Decimal::ZERO);
        }
        ByHolding::CashInLieu => {
            let fraction = held.fract();
            if fraction.is_zero() {
                return Err(fail(
                    "quantity",
                    format!(
                        "cash in lieu pays for a fraction of a share, but {account} held {held} {symbol} on {date}, a whole number"
                    ),
                ));
            }
            let t = &mut new[i];
            (t.action, t.quantity, t.price) = (Action::Sell, fraction, t.price / fraction);
        }
    }
    Ok(())
}

/// Why the NYSE did not trade on a day, if it did not.
fn market_closed_because(d: NaiveDate) -> Option<String> {
    use crate::calendar::{is_market_closed, SPECIAL_CLOSINGS};
    match d.weekday() {
        chrono::Weekday::Sat => Some("a Saturday".into()),
        chrono::Weekday::Sun => Some("a Sunday".into()),
        _ => match SPECIAL_CLOSINGS.iter().find(|(c, _)| *c == d) {
            Some((_, why)) => Some(format!("closed: {why}")),
            None => is_market_closed(d).then(|| "an NYSE holiday".to_owned()),
        },
    }
}

/// What the new rows may need a person to check: buys and sells dated on a day the NYSE was
/// closed, and buys, withdrawals and fees that took an account's cash below zero.
fn import_warnings(new: &[Trade], book: &Book) -> Vec<ImportWarning> {
    let mut warnings = Vec::new();
    for t in new {
        if matches!(t.action, Action::Buy | Action::Sell) {
            if let Some(why) = market_closed_because(t.trade_date) {
                warnings.push(ImportWarning {
                    line: t.source_line,
                    trade_id: t.trade_id.clone(),
                    field: "trade_date".into(),
                    message: format!("{} is not an NYSE trading day ({why}); recorded as given", t.trade_date),
                });
            }
        }
    }
    let lines: BTreeMap<&str, Option<u64>> = new.iter().map(|t| (t.trade_id.as_str(), t.source_line)).collect();
    for o in &book.overdrafts {
        if let Some(line) = lines.get(o.trade_id.as_str()) {
            warnings.push(ImportWarning {
                line: *line,
                trade_id: o.trade_id.clone(),
                field: "account".into(),
                message: format!(
                    "takes account {}'s cash to {:.2} (below zero: margin, or a deposit not recorded)",
                    o.account, o.balance
                ),
            });
        }
    }
    warnings.sort_by_key(|w| w.line);
    warnings
}

/// Bounds that keep every product of quantity and price far inside `Decimal`'s range.
const MAX_AMOUNT: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0); // 1e12
const MAX_PRICE: Decimal = Decimal::from_parts(1_410_065_408, 2, 0, false, 0); // 1e10

/// The rules every row must meet, whatever its history.
fn validate(t: &Trade) -> Result<(), DomainError> {
    let fail = |field: &str, problem: &str| rejected(t.source_line, field, problem);
    if t.account.trim().is_empty() {
        return Err(fail("account", "must not be empty"));
    }
    // The rate first: a bad one would otherwise show as a bad price.
    match (&t.currency, t.fx_rate) {
        (Some(c), _) if !types::valid_currency(c) => {
            return Err(fail("currency", "is not a currency code (three capital letters, ISO 4217: EUR, CAD)"))
        }
        (Some(_), None) => {
            return Err(fail("fx_rate", "is required with a currency other than USD (US dollars per unit)"))
        }
        (_, Some(r)) if r <= Decimal::ZERO || r > MAX_PRICE => {
            return Err(fail("fx_rate", "must be a positive number of US dollars per unit of the currency"))
        }
        (None, Some(_)) => return Err(fail("fx_rate", "needs the currency it translates (the currency column)")),
        _ => {}
    }
    if t.quantity < Decimal::ZERO {
        return Err(fail("quantity", "must not be negative"));
    }
    if t.price < Decimal::ZERO {
        return Err(fail("price", "must not be negative"));
    }
    for (field, fee) in [("fees", t.fees), ("commission", t.commission), ("sec_fee", t.sec_fee), ("taf_fee", t.taf_fee)]
    {
        if fee < Decimal::ZERO {
            return Err(fail(field, "must not be negative"));
        }
        if fee > MAX_AMOUNT {
            return Err(fail(field, "is larger than any real fee (at most 1,000,000,000,000)"));
        }
    }
    if t.quantity > MAX_AMOUNT {
        return Err(fail("quantity", "is larger than any real quantity (at most 1,000,000,000,000)"));
    }
    if t.price > MAX_PRICE || t.fmv.is_some_and(|f| f > MAX_PRICE || f < Decimal::ZERO) {
        return Err(fail("price", "must be between 0 and 10,000,000,000"));
    }
    if t.cusip.as_deref().is_some_and(|c| !types::valid_cusip(c)) {
        return Err(fail("cusip", "is not a valid CUSIP (9 characters with a correct check digit)"));
    }
    if t.isin.as_deref().is_some_and(|i| !types::valid_isin(i)) {
        return Err(fail("isin", "is not a valid ISIN (12 characters with a correct check digit)"));
    }
    if t.action.moves_shares() && t.symbol.is_none() {
        return Err(rejected(t.source_line, "symbol", format!("required for {}", t.action.as_str())));
    }
    if t.action.moves_shares() && !t.action.is_corporate_action() && t.quantity == Decimal::ZERO {
        return Err(fail("quantity", "must be positive"));
    }
    if matches!(t.action, Action::Split | Action::Merger | Action::Spinoff) && t.ratio.is_none() {
        return Err(rejected(t.source_line, "ratio", format!("required for {}, e.g. 2:1", t.action.as_str())));
    }
    if matches!(t.action, Action::Split | Action::Spinoff) && t.ratio.is_some_and(|r| r.new.is_zero()) {
        return Err(fail("ratio", "the new side must be positive"));
    }
    let all_cash = t.action == Action::Merger && t.ratio.is_some_and(|r| r.new.is_zero());
    if matches!(t.action, Action::SymbolChange | Action::Merger | Action::Spinoff) && !all_cash {
        match &t.new_symbol {
            None => return Err(rejected(t.source_line, "new_symbol", format!("required for {}", t.action.as_str()))),
            Some(n) if Some(n) == t.symbol.as_ref() => return Err(fail("new_symbol", "is the same as symbol")),
            Some(_) => {}
        }
    }
    if t.action == Action::Spinoff && !t.allocation.is_some_and(|a| a > Decimal::ZERO && a < Decimal::ONE_HUNDRED) {
        return Err(fail(
            "allocation",
            "a spin-off needs the percentage of basis allocated to the new shares, between 0 and 100",
        ));
    }
    if t.action == Action::Merger
        && t.price > Decimal::ZERO
        && t.ratio.is_some_and(|r| r.new > Decimal::ZERO)
        && t.fmv.is_none()
    {
        return Err(fail("fmv", "a merger paying cash and shares needs the fair market value of a new share"));
    }
    if t.settlement_date < t.trade_date {
        return Err(fail("settlement_date", "is before the trade date"));
    }
    if t.lot_method == Some(LotMethod::Specific) && t.action == Action::Sell && t.lot_ids.is_empty() {
        return Err(fail("lot_ids", "required with lot_method specific"));
    }
    if !t.lot_ids.is_empty() && t.lot_method.is_some_and(|m| m != LotMethod::Specific) {
        return Err(fail("lot_ids", "name lots only with lot_method specific (or leave lot_method empty)"));
    }
    if t.action == Action::TransferIn && t.counterpart.is_none() && t.price.is_zero() {
        return Err(fail(
            "price",
            "no transfer_out of the same symbol, quantity and date was found, so this transfer_in brings \
             shares from outside: give their cost basis per share as price",
        ));
    }
    Ok(())
}

/// Links each `transfer_out` to the first unpaired `transfer_in` of the same date, symbol and
/// quantity in another account.
fn pair_transfers(trades: &mut [Trade]) {
    for i in 0..trades.len() {
        if trades[i].action != Action::TransferOut || trades[i].counterpart.is_some() {
            continue;
        }
        let found = (0..trades.len()).find(|&j| {
            let (o, t) = (&trades[i], &trades[j]);
            t.action == Action::TransferIn
                && t.counterpart.is_none()
                && t.trade_date == o.trade_date
                && t.symbol == o.symbol
                && t.quantity == o.quantity
                && t.account != o.account
        });
        if let Some(j) = found {
            trades[j].counterpart = Some(trades[i].trade_id.clone());
            trades[i].counterpart = Some(trades[j].trade_id.clone());
        }
    }
}

/// The events that turn the recorded adjustments into the recomputed ones.
fn reconcile_wash_sales(
    recorded: &BTreeMap<String, WashSale>,
    computed: &[WashSale],
    command_id: &str,
) -> Vec<LedgerEvent> {
    let computed_by_id: BTreeMap<&str, &WashSale> = computed.iter().map(|w| (w.id.as_str(), w)).collect();
    let mut events: Vec<LedgerEvent> = recorded
        .iter()
        .filter(|(id, w)| computed_by_id.get(id.as_str()) != Some(w))
        .map(|(id, _)| LedgerEvent::WashSaleReversed {
            id: id.clone(),
            reason: format!("recomputed after command {command_id}"),
        })
        .collect();
    events.extend(
        computed.iter().filter(|w| recorded.get(&w.id) != Some(*w)).cloned().map(LedgerEvent::WashSaleAdjusted),
    );
    events
}

pub use crate::streams::household_key;
