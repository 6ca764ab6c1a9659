//! Broker exports: which broker a file comes from ([`Broker::recognize`]) and its entries as
//! ledger rows of one account ([`Broker::parse`]). Each format's own module maps its layout
//! and actions (its documentation has the table); what they share is here: the rows skipped,
//! the mapped entry ([`Entry`]) and how entries become checked ledger rows ([`rows`]), and
//! the amounts brokers write (`$1,234.56`, `(1,234.56)`).
//!
//! Every format parses the whole file before anything is recorded: a line it cannot read, or
//! an action it does not know (unless the caller asks to skip those), refuses the file, naming
//! the line.

use std::str::FromStr;

use chrono::NaiveDate;
use domain::ledger::{ByHolding, RowInput};
use rust_decimal::Decimal;

use super::csv::bad;
use crate::CommandError;

/// A broker whose export cairn reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broker {
    /// Charles Schwab's transaction history CSV ([`super::schwab`]).
    Schwab,
    /// Fidelity's account history CSV ([`super::fidelity`]).
    Fidelity,
    /// Vanguard's brokerage transaction download ([`super::vanguard`]).
    Vanguard,
    /// Interactive Brokers' Flex Query CSV, Trades and Cash Transactions ([`super::ibkr`]).
    Ibkr,
    /// An OFX investment statement, version 1.x (SGML) or 2.x (XML) ([`super::ofx`]).
    Ofx,
}

impl Broker {
    /// Every format, in the order [`Broker::recognize`] tries them.
    pub const ALL: &'static [Broker] = &[Broker::Schwab, Broker::Fidelity, Broker::Vanguard, Broker::Ibkr, Broker::Ofx];

    /// The name `--format` and `?format=` take.
    pub fn name(self) -> &'static str {
        match self {
            Self::Schwab => "schwab",
            Self::Fidelity => "fidelity",
            Self::Vanguard => "vanguard",
            Self::Ibkr => "ibkr",
            Self::Ofx => "ofx",
        }
    }

    /// What the format is, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Self::Schwab => "a Charles Schwab transaction history export",
            Self::Fidelity => "a Fidelity account history download",
            Self::Vanguard => "a Vanguard transaction download",
            Self::Ibkr => "an Interactive Brokers Flex Query (CSV)",
            Self::Ofx => "an OFX investment statement",
        }
    }

    pub fn from_name(name: &str) -> Option<Broker> {
        Self::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// The broker whose layout `bytes` have (by their header or first lines), if any.
    pub fn recognize(bytes: &[u8]) -> Option<Broker> {
        Self::ALL.iter().copied().find(|b| match b {
            Self::Schwab => super::schwab::recognizes(bytes),
            Self::Fidelity => super::fidelity::recognizes(bytes),
            Self::Vanguard => super::vanguard::recognizes(bytes),
            Self::Ibkr => super::ibkr::recognizes(bytes),
            Self::Ofx => super::ofx::recognizes(bytes),
        })
    }

    /// The file's entries as rows of `account` (`account_type` where the account is new).
    /// With `skip_unknown`, entries of an action the mapping does not record are skipped and
    /// listed instead of refusing the file.
    pub fn parse(
        self,
        bytes: &[u8],
        account: &str,
        account_type: Option<&str>,
        skip_unknown: bool,
    ) -> Result<Converted, CommandError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
        match self {
            Self::Schwab => super::schwab::parse(bytes, account, account_type, skip_unknown),
            Self::Fidelity => super::fidelity::parse(bytes, account, account_type, skip_unknown),
            Self::Vanguard => super::vanguard::parse(bytes, account, account_type, skip_unknown),
            Self::Ibkr => super::ibkr::parse(bytes, account, account_type, skip_unknown),
            Self::Ofx => super::ofx::parse(bytes, account, account_type, skip_unknown),
        }
    }
}

/// An entry of the file that was not recorded, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub line: u64,
    pub action: String,
    pub why: String,
}

/// The ledger rows of a broker file, oldest first, and the entries skipped.
#[derive(Debug, Clone)]
pub struct Converted {
    pub rows: Vec<RowInput>,
    pub skipped: Vec<Skipped>,
}

/// One entry of a broker file mapped to a ledger row, before it is checked as one.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// The line of the file it came from.
    pub line: u64,
    pub date: NaiveDate,
    /// A ledger action (`buy`, `dividend`, …).
    pub action: &'static str,
    pub symbol: String,
    pub quantity: Decimal,
    pub price: Decimal,
    pub fees: Decimal,
    pub description: String,
    /// The broker's own transaction id (OFX `FITID`), the row's identity for duplicates.
    pub id: Option<String>,
    /// `new:old` for a split.
    pub ratio: Option<String>,
    /// The settlement date, where the file gives one.
    pub settlement_date: Option<NaiveDate>,
    /// The currency `price` and `fees` are in (ISO 4217), when not US dollars, and the US
    /// dollars per unit of it they are kept at.
    pub currency: Option<String>,
    pub fx_rate: Option<Decimal>,
    /// For a symbol change: the new symbol.
    pub new_symbol: Option<String>,
    /// A row sized by what the account holds when it is recorded (a split reported by its
    /// shares, cash in lieu of a fraction).
    pub by_holding: Option<ByHolding>,
}

/// A file's entries oldest first, for a broker that lists them newest first: reversed when the
/// first is dated after the last, so that an account opens on its first row and a day's entries
/// (a dividend, then its reinvestment) keep their order.
pub fn oldest_first(entries: Vec<Entry>) -> Vec<Entry> {
    oldest_first_by(entries, |e| e.date)
}

/// [`oldest_first`] for anything dated by `date`: a group of entries that must stay in order
/// (a split, then the symbol change it brought) reverses as one.
pub fn oldest_first_by<T>(mut items: Vec<T>, date: impl Fn(&T) -> NaiveDate) -> Vec<T> {
    if items.first().zip(items.last()).is_some_and(|(first, last)| date(first) > date(last)) {
        items.reverse();
    }
    items
}

/// Checks `entries` (in the order they are to be recorded) as ledger rows of `account`; the
/// first opens the account with `account_type` when given.
pub fn rows(entries: &[Entry], account: &str, account_type: Option<&str>) -> Result<Vec<RowInput>, CommandError> {
    let mut rows = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let (date, quantity, price, fees) =
            (e.date.to_string(), e.quantity.to_string(), e.price.to_string(), e.fees.to_string());
        let settlement = e.settlement_date.map(|d| d.to_string()).unwrap_or_default();
        let fx_rate = e.fx_rate.map(|r| r.to_string()).unwrap_or_default();
        let get = |column: &str| -> &str {
            match column {
                "trade_date" => &date,
                "settlement_date" => &settlement,
                "account" => account,
                "account_type" if i == 0 => account_type.unwrap_or(""),
                "action" => e.action,
                "symbol" => &e.symbol,
                "quantity" => &quantity,
                "price" => &price,
                "fees" => &fees,
                "description" => &e.description,
                "id" => e.id.as_deref().unwrap_or(""),
                "ratio" => e.ratio.as_deref().unwrap_or(""),
                "currency" => e.currency.as_deref().unwrap_or(""),
                "fx_rate" => &fx_rate,
                "new_symbol" => e.new_symbol.as_deref().unwrap_or(""),
                _ => "",
            }
        };
        let mut row = super::ledger::parse_row(e.line, &get)?;
        row.by_holding = e.by_holding;
        rows.push(row);
    }
    Ok(rows)
}

/// An entry of `text`, a kind the mapping does not record (`what`: "an action the Schwab
/// mapping"): listed in `skipped` when the caller asked to skip such entries, else the refusal
/// of the file naming its line and `field`.
pub fn unknown(
    skip: bool,
    skipped: &mut Vec<Skipped>,
    line: u64,
    field: &str,
    what: &str,
    text: &str,
) -> Result<(), CommandError> {
    let problem = format!("{text:?} is not {what} records");
    refuse_or_skip(skip, skipped, line, field, text, problem, format!("{what} does not record"))
}

/// An entry of `text` the mapping knows but cannot record from the file alone, `why` saying
/// what is missing and how to record it: skipped and listed when the caller asked to skip such
/// entries, else the refusal of the file naming its line and `field`.
pub fn unrecordable(
    skip: bool,
    skipped: &mut Vec<Skipped>,
    line: u64,
    field: &str,
    text: &str,
    why: &str,
) -> Result<(), CommandError> {
    refuse_or_skip(skip, skipped, line, field, text, format!("{text:?}: {why}"), why.to_owned())
}

/// The refusal of the file for `problem` at `line`, or, when the caller asked to skip such
/// entries (`skip`), the entry of `text` listed in `skipped` with `why`.
fn refuse_or_skip(
    skip: bool,
    skipped: &mut Vec<Skipped>,
    line: u64,
    field: &str,
    text: &str,
    problem: String,
    why: String,
) -> Result<(), CommandError> {
    if !skip {
        return Err(bad(line, field, format!("{problem}; --skip-unknown skips such rows")));
    }
    skipped.push(Skipped { line, action: text.to_owned(), why });
    Ok(())
}

/// Refuses a file holding the entries of several accounts, naming them at the line where the
/// second appears: `accounts` is each entry's line and account (empty when it names none),
/// `column` the file's column, and `how` says how to get one account's file ("download one
/// account at a time").
pub fn one_account<'a>(
    accounts: impl IntoIterator<Item = (u64, &'a str)>,
    column: &str,
    how: &str,
) -> Result<(), CommandError> {
    let mut seen: Vec<(&str, u64)> = Vec::new();
    for (line, account) in accounts {
        if !account.is_empty() && !seen.iter().any(|(a, _)| *a == account) {
            seen.push((account, line));
        }
    }
    if let [_, (_, second), ..] = seen.as_slice() {
        let names: Vec<&str> = seen.iter().map(|(a, _)| *a).collect();
        return Err(bad(
            *second,
            column,
            format!(
                "the file holds the entries of several accounts ({}); {how} and import each into its own account",
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Refuses an amount that runs the other way from its entry: income or a deposit is money in
/// (`money_in`), a fee money out, and a reversal or a refund written under that entry is not
/// it. `written` is the amount as the file has it and `entry` names the entry ("a Fee row").
pub fn same_way(
    line: u64,
    field: &str,
    written: &str,
    amount: Decimal,
    money_in: bool,
    entry: &str,
) -> Result<(), CommandError> {
    if amount.is_zero() || amount.is_sign_negative() != money_in {
        return Ok(());
    }
    let (is, should) = if money_in { ("out", "in") } else { ("in", "out") };
    Err(bad(line, field, format!("{written:?} is money {is}; {entry} is money {should}")))
}

/// A number with optional thousands separators; empty is zero.
pub fn number(line: u64, field: &str, text: &str) -> Result<Decimal, CommandError> {
    let plain: String = text.chars().filter(|c| *c != ',').collect();
    if plain.is_empty() {
        return Ok(Decimal::ZERO);
    }
    Decimal::from_str(&plain).map_err(|_| bad(line, field, format!("{text:?} is not a number")))
}

/// `$1,234.56`, `-$1,234.56`, `$-1,234.56`, `(1,234.56)` or `($1,234.56)`; empty is zero.
pub fn money(line: u64, field: &str, text: &str) -> Result<Decimal, CommandError> {
    let (negative, inner) = match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) => (true, inner),
        None => (false, text),
    };
    let (minus, rest) = match inner.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let value = number(line, field, rest.trim_start_matches('$'))
        .map_err(|_| bad(line, field, format!("{text:?} is not an amount ($1,234.56)")))?;
    Ok(if negative ^ minus { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_every_way_brokers_write_them() {
        for (text, want) in [
            ("$1,234.56", "1234.56"),
            ("-$1,234.56", "-1234.56"),
            ("$-5", "-5"),
            ("(12.50)", "-12.50"),
            ("($3)", "-3"),
            ("", "0"),
        ] {
            assert_eq!(money(1, "Amount", text).unwrap().to_string(), want, "{text}");
        }
        assert!(money(4, "Amount", "12 dollars").unwrap_err().to_string().contains("line 4"));
    }

    #[test]
    fn every_format_is_found_by_its_name() {
        for b in Broker::ALL {
            assert_eq!(Broker::from_name(b.name()), Some(*b));
        }
        assert_eq!(Broker::from_name("quicken"), None);
    }
}
