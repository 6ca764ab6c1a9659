//! The household ledger: one stream per household (`ledger-<household>`) holding its accounts,
//! every trade and cash row, and the wash-sale adjustments the lot engine derived from them.
//!
//! [`decide`] turns a command into events; [`evolve`] folds an event into the state and never
//! fails. After every import the lot engine ([`lots::compute`]) is rerun over the whole
//! history, and only the difference from the adjustments already recorded is emitted:
//! `WashSaleReversed` for those that no longer hold, `WashSaleAdjusted` for new ones. A late
//! row therefore corrects history with new events; nothing recorded is edited.

pub mod lots;
pub mod types;

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calendar::settlement_date;
use crate::DomainError;
use lots::{compute, Book, WashSale};
use types::{AccountInfo, AccountType, Action, FilingStatus, LotMethod, Ratio, Trade};

/// The events of a household ledger stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LedgerEvent {
    /// A file was imported: marks the command as done, for idempotency and audits.
    LedgerImported {
        command_id: String,
        file_sha256: String,
        rows: u64,
    },
    HouseholdCreated {
        name: String,
        filing_status: FilingStatus,
    },
    AccountOpened(AccountInfo),
    TradeRecorded(Trade),
    WashSaleAdjusted(WashSale),
    WashSaleReversed {
        id: String,
        reason: String,
    },
}

impl LedgerEvent {
    /// The stored event type.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::LedgerImported { .. } => "LedgerImported",
            Self::HouseholdCreated { .. } => "HouseholdCreated",
            Self::AccountOpened(_) => "AccountOpened",
            Self::TradeRecorded(_) => "TradeRecorded",
            Self::WashSaleAdjusted(_) => "WashSaleAdjusted",
            Self::WashSaleReversed { .. } => "WashSaleReversed",
        }
    }
}

/// The state a ledger decision needs, rebuilt by folding its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    pub household: Option<(String, FilingStatus)>,
    pub accounts: BTreeMap<String, AccountInfo>,
    pub trades: Vec<Trade>,
    /// Wash-sale adjustments in force, by id.
    pub wash_sales: BTreeMap<String, WashSale>,
    pub commands: HashSet<String>,
}

impl Ledger {
    /// The book as of a trade date (all of it when `None`).
    pub fn book(&self, as_of: Option<NaiveDate>) -> Result<Book, DomainError> {
        compute(&self.accounts, &self.trades, as_of).map_err(|e| DomainError::Rejected {
            line: e.source_line,
            field: e.field.to_owned(),
            problem: format!("{} ({})", e.problem, e.trade_id),
        })
    }
}

/// Folds one event into the state. Never fails: history is applied as it was recorded.
pub fn evolve(mut state: Ledger, event: &LedgerEvent) -> Ledger {
    match event {
        LedgerEvent::LedgerImported { command_id, .. } => {
            state.commands.insert(command_id.clone());
        }
        LedgerEvent::HouseholdCreated { name, filing_status } => state.household = Some((name.clone(), *filing_status)),
        LedgerEvent::AccountOpened(a) => {
            state.accounts.insert(a.label.clone(), a.clone());
        }
        LedgerEvent::TradeRecorded(t) => state.trades.push(t.clone()),
        LedgerEvent::WashSaleAdjusted(w) => {
            state.wash_sales.insert(w.id.clone(), w.clone());
        }
        LedgerEvent::WashSaleReversed { id, .. } => {
            state.wash_sales.remove(id);
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
    pub settlement_date: Option<NaiveDate>,
    pub lot_method: Option<LotMethod>,
    pub lot_ids: Vec<String>,
    pub ratio: Option<Ratio>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerCommand {
    /// Record a file of rows, all or nothing. The household is created if missing; an account
    /// is opened the first time its label appears (with that row's `account_type`).
    Import { household: String, command_id: String, file_sha256: String, rows: Vec<RowInput> },
}

fn reject(line: u64, field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: Some(line), field: field.to_owned(), problem: problem.into() }
}

/// Decides what an import records, or why it is refused (naming the line and field).
pub fn decide(state: &Ledger, command: &LedgerCommand) -> Result<Vec<LedgerEvent>, DomainError> {
    let LedgerCommand::Import { household, command_id, file_sha256, rows } = command;
    if state.commands.contains(command_id) {
        return Ok(Vec::new());
    }
    if rows.is_empty() {
        return Err(DomainError::Rejected { line: None, field: "file".into(), problem: "no rows to import".into() });
    }
    let mut events = vec![LedgerEvent::LedgerImported {
        command_id: command_id.clone(),
        file_sha256: file_sha256.clone(),
        rows: rows.len() as u64,
    }];
    if state.household.is_none() {
        events.push(LedgerEvent::HouseholdCreated { name: household.clone(), filing_status: FilingStatus::default() });
    }
    let mut accounts = state.accounts.clone();
    let mut trades = state.trades.clone();
    let first_new = trades.len();
    for row in rows {
        validate(row)?;
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
                };
                accounts.insert(row.account.clone(), info.clone());
                events.push(LedgerEvent::AccountOpened(info));
            }
        }
        let settles = match (row.settlement_date, row.action) {
            (Some(d), _) => d,
            (None, Action::Buy | Action::Sell) => settlement_date(row.trade_date),
            (None, _) => row.trade_date,
        };
        trades.push(Trade {
            trade_id: format!("T{}", trades.len() + 1),
            account: row.account.clone(),
            action: row.action,
            symbol: row.symbol.clone(),
            quantity: row.quantity,
            price: row.price,
            fees: row.fees,
            trade_date: row.trade_date,
            settlement_date: settles,
            lot_method: row.lot_method,
            lot_ids: row.lot_ids.clone(),
            ratio: row.ratio,
            counterpart: None,
            description: row.description.clone(),
            source_line: Some(row.line),
        });
    }
    pair_transfers(&mut trades[first_new..]);
    let book = compute(&accounts, &trades, None).map_err(|e| match e.source_line {
        Some(line) if trades[first_new..].iter().any(|t| t.trade_id == e.trade_id) => reject(line, e.field, e.problem),
        _ => DomainError::Rejected {
            line: None,
            field: e.field.to_owned(),
            problem: format!("{} (recorded row {}, made invalid by this import)", e.problem, e.trade_id),
        },
    })?;
    events.extend(trades.drain(first_new..).map(LedgerEvent::TradeRecorded));
    events.extend(reconcile_wash_sales(&state.wash_sales, &book.wash_sales, command_id));
    Ok(events)
}

fn validate(row: &RowInput) -> Result<(), DomainError> {
    let line = row.line;
    if row.account.trim().is_empty() {
        return Err(reject(line, "account", "must not be empty"));
    }
    if row.quantity < Decimal::ZERO {
        return Err(reject(line, "quantity", "must not be negative"));
    }
    if row.price < Decimal::ZERO {
        return Err(reject(line, "price", "must not be negative"));
    }
    if row.fees < Decimal::ZERO {
        return Err(reject(line, "fees", "must not be negative"));
    }
    if row.action.moves_shares() && row.symbol.is_none() {
        return Err(reject(line, "symbol", format!("required for {}", row.action.as_str())));
    }
    if row.action.moves_shares() && row.action != Action::Split && row.quantity == Decimal::ZERO {
        return Err(reject(line, "quantity", "must be positive"));
    }
    if row.action == Action::Split && row.ratio.is_none() {
        return Err(reject(line, "ratio", "required for split, e.g. 2:1"));
    }
    if row.settlement_date.is_some_and(|s| s < row.trade_date) {
        return Err(reject(line, "settlement_date", "is before the trade date"));
    }
    if row.lot_method == Some(LotMethod::Specific) && row.action == Action::Sell && row.lot_ids.is_empty() {
        return Err(reject(line, "lot_ids", "required with lot_method specific"));
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
            reason: format!("recomputed after import {command_id}"),
        })
        .collect();
    events.extend(
        computed.iter().filter(|w| recorded.get(&w.id) != Some(*w)).cloned().map(LedgerEvent::WashSaleAdjusted),
    );
    events
}

/// The ledger stream's id part for a household name: lowercase, with runs of anything but
/// letters and digits turned into one `_`.
pub fn household_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_owned()
}
