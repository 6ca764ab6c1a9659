//! Interactive Brokers' Flex Query CSV (Performance & Reports → Flex Queries → an Activity Flex
//! Query with the sections Trades and Cash Transactions, format CSV, "Include column headers"
//! Yes), mapped to ledger rows of one account.
//!
//! Two layouts are read, whichever the query chose for "Include section code and line
//! descriptor":
//!
//! - with section codes, every line starts with a descriptor: `BOF`, `BOA`, `BOS`, `EOS`, `EOA`,
//!   `EOF` frame the file, the account and each section and are not read; `"HEADER","TRNT",…`
//!   names a section's columns and `"DATA","TRNT",…` is one of its lines, the second field being
//!   the section's code (`TRNT` Trades, `CTRN` Cash Transactions);
//! - without them, each section is its header line followed by its lines, and the next header
//!   line (one naming `ClientAccountID`, `Buy/Sell` or `TradePrice`, or both `Type` and
//!   `Amount`) starts the next section: a section is Trades when its header has `Buy/Sell` or
//!   `TradePrice`, Cash Transactions when it has `Type` and `Amount`.
//!
//! Columns are found by name (ignoring case), in any order; the query picks them. Dates are
//! `yyyyMMdd`, `yyyy-MM-dd` or `MM/dd/yyyy`, and a date-time (`20250314;093000`, `2025-03-14,
//! 09:30:00`, `20250314 093000`) is read for its date. Amounts are plain signed decimals.
//!
//! **Trades** need `Symbol`, `CurrencyPrimary`, `FXRateToBase`, `TradeDate`, `Quantity`
//! (negative on sales), `TradePrice` and `Buy/Sell`, and read `IBCommission` (negative when
//! paid), `IBCommissionCurrency`, `SettleDateTarget`, `AssetClass`, `Description`,
//! `LevelOfDetail`, `TransactionID` and `TradeID` where present (`ISIN`, `CUSIP` and the other
//! columns are not read). **Cash Transactions** need `Type`, `Amount` (signed),
//! `CurrencyPrimary`, `FXRateToBase` and a date: `SettleDate`, else `DateTime`, else
//! `ReportDate` (the first the line fills); they read `Symbol`, `Description`, `LevelOfDetail`
//! and `TransactionID` where present.
//!
//! | Flex line | ledger row |
//! | --- | --- |
//! | Trades, AssetClass `STK`, `ETF` or `FUND` (or none), Buy/Sell `BUY` | `buy` of Quantity at TradePrice, the IBCommission paid as fees, SettleDateTarget as the settlement date |
//! | Trades, the same with Buy/Sell `SELL` | `sell` of the Quantity (negative in the file) at TradePrice, the IBCommission paid as fees |
//! | Cash Transactions, Dividends, Payment In Lieu Of Dividends | an ordinary `dividend` of Amount on its Symbol (IBKR does not say whether a dividend qualifies; the 1099-DIV does; a payment in lieu never does) |
//! | Withholding Tax | `fee` of the Amount withheld |
//! | Broker Interest Received, Bond Interest Received | `interest` of Amount |
//! | Broker Interest Paid, Other Fees, Commission Adjustments | `fee` of the Amount paid |
//! | Deposits/Withdrawals (or Deposits & Withdrawals) | `deposit` of a positive Amount, `withdrawal` of a negative one |
//!
//! Each row's `id` is `ibkr:<ClientAccountID>:<TransactionID>` (else the TradeID), so an
//! overlapping query imports each transaction once. A symbol IBKR writes with a space (`BRK B`)
//! takes a dot (`BRK.B`). Rows are recorded oldest first (by date, lines of a day in the file's
//! order).
//!
//! Currencies: cairn keeps US dollars. `FXRateToBase` is IBKR's rate from the line's
//! `CurrencyPrimary` into the account's base currency, so a line in USD at a rate other than 1
//! (or a line in another currency at exactly 1) says the base currency is not USD: the file is
//! refused, naming the line and `FXRateToBase`; the Flex query's account must have USD as its
//! base currency. A line in another currency keeps its price, fees and amount in that currency,
//! with the row's `currency` and its `fx_rate` (US dollars per unit) the line's FXRateToBase,
//! and the ledger translates them into dollars when recording (price × fx_rate). IBKR's
//! FXRateToBase is its rate for the trade's date, while Treas. Reg. §1.988-2(a)(2)(iv) has a
//! cash-basis individual translate the purchase or sale of publicly traded stock at the spot
//! rate on the settlement date: the rate used is the file's, and is recorded on each row
//! (`fx_rate`) for review. Currency conversions (Trades lines of AssetClass `CASH`, such as
//! `EUR.USD`) are always listed under `skipped`, not refused: cairn keeps cash in US dollars, so
//! a foreign purchase or sale moves the dollar cash by its translated amount, and the gain or
//! loss on holding the currency itself (IRC §988) is not computed. An `IBCommissionCurrency`
//! other than the trade's currency, or a positive `IBCommission` (a rebate, not a fee), is
//! refused, naming the line.
//!
//! Where the query has `LevelOfDetail`, trades are read from their `EXECUTION` lines (from
//! `ORDER` lines when the file has no executions) and cash transactions from their `DETAIL`
//! lines; closed lots, wash sales and summaries detail or total those and are listed under
//! `skipped`.
//!
//! Money in (dividends, interest, deposits) whose Amount is negative, or money out (withholding
//! tax, fees) whose Amount is positive (a reversal, a refund), is refused, naming its line,
//! rather than recorded with the wrong sign. A file holding several `ClientAccountID`s is
//! refused, naming them: one account per import.
//!
//! Anything else (options, futures, bonds and other asset classes, cancelled trades such as
//! `BUY (Ca.)`, other cash transaction types, other sections such as Open Positions or Corporate
//! Actions) stops the import, all or nothing, naming the line and the field, unless the caller
//! asks to skip such lines; skipped lines are listed with why. A skipped cancellation leaves the
//! trade it cancels recorded where the file has it: cancel that row with `cairn ledger cancel`.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::broker::{number, one_account, rows, same_way, unknown, Converted, Entry, Skipped};
use super::csv::{bad, Lines};
use crate::CommandError;

/// The descriptors of lines that frame a file with section codes and hold no columns.
const FRAMES: [&str; 6] = ["BOF", "BOA", "BOS", "EOS", "EOA", "EOF"];

/// The Trades section's code and the columns its lines need.
const TRADES: &str = "TRNT";
const TRADE_COLUMNS: [&str; 7] =
    ["Symbol", "CurrencyPrimary", "FXRateToBase", "TradeDate", "Quantity", "TradePrice", "Buy/Sell"];

/// The Cash Transactions section's code, the columns its lines need, and the dates it may give
/// (the first a line fills is its date).
const CASH: &str = "CTRN";
const CASH_COLUMNS: [&str; 4] = ["Type", "Amount", "CurrencyPrimary", "FXRateToBase"];
const CASH_DATES: [&str; 3] = ["SettleDate", "DateTime", "ReportDate"];

/// Which section a header starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Trades,
    Cash,
    /// A section the mapping does not read (Open Positions, Corporate Actions, …).
    Other,
}

/// A section: what it is, its name for messages, and each column's index in its lines.
struct Section {
    kind: Kind,
    /// Its code (`TRNT`), or in a file without codes its first column names.
    name: String,
    /// Each column's index in a line, by lower-case name.
    columns: HashMap<String, usize>,
    /// How many fields its header has.
    width: usize,
    line: u64,
}

impl Section {
    /// The section `record` (a header line) starts: `codes` when it begins `HEADER,<code>`.
    fn of(record: &csv::StringRecord, line: u64, codes: bool) -> Result<Section, CommandError> {
        let offset = if codes { 2 } else { 0 };
        let mut columns = HashMap::new();
        for (i, h) in record.iter().enumerate().skip(offset) {
            if h.is_empty() {
                continue;
            }
            if columns.insert(h.to_ascii_lowercase(), i).is_some() {
                return Err(bad(line, "header", format!("column {h:?} appears twice")));
            }
        }
        let has = |c: &str| columns.contains_key(&c.to_ascii_lowercase());
        let (kind, name) = if codes {
            let code = record.get(1).unwrap_or("").to_ascii_uppercase();
            let kind = match code.as_str() {
                TRADES => Kind::Trades,
                CASH => Kind::Cash,
                _ => Kind::Other,
            };
            (kind, code)
        } else {
            let kind = if has("Buy/Sell") || has("TradePrice") {
                Kind::Trades
            } else if has("Type") && has("Amount") {
                Kind::Cash
            } else {
                Kind::Other
            };
            let first: Vec<&str> = record.iter().filter(|h| !h.is_empty()).take(3).collect();
            (kind, format!("columns {}", first.join(",")))
        };
        let (required, title): (&[&str], &str) = match kind {
            Kind::Trades => (&TRADE_COLUMNS, "Trades"),
            Kind::Cash => (&CASH_COLUMNS, "Cash Transactions"),
            Kind::Other => (&[], ""),
        };
        if let Some(missing) = required.iter().find(|c| !has(c)) {
            return Err(bad(line, "header", format!("the {title} section has no column {missing:?}")));
        }
        if kind == Kind::Cash && !CASH_DATES.iter().any(|c| has(c)) {
            return Err(bad(
                line,
                "header",
                format!("the Cash Transactions section has none of the dates {CASH_DATES:?}"),
            ));
        }
        Ok(Section { kind, name, columns, width: record.len(), line })
    }
}

/// A line of a section: its line number, its section and its values.
struct Line<'s> {
    line: u64,
    section: &'s Section,
    record: csv::StringRecord,
}

impl Line<'_> {
    /// The value of `column` (IBKR's name), empty when the section lacks it.
    fn get(&self, column: &str) -> &str {
        self.section.columns.get(&column.to_ascii_lowercase()).and_then(|&i| self.record.get(i)).unwrap_or("")
    }

    fn has(&self, column: &str) -> bool {
        self.section.columns.contains_key(&column.to_ascii_lowercase())
    }
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(bytes)
}

fn has(record: &csv::StringRecord, name: &str) -> bool {
    record.iter().any(|v| v.eq_ignore_ascii_case(name))
}

/// Whether `record` is a section's header in a file without section codes.
fn is_plain_header(record: &csv::StringRecord) -> bool {
    has(record, "ClientAccountID")
        || has(record, "Buy/Sell")
        || has(record, "TradePrice")
        || (has(record, "Type") && has(record, "Amount"))
}

/// Whether `bytes` look like a Flex Query CSV: within the first five lines, a `BOF` or `HEADER`
/// line, or a header naming `ClientAccountID` with `Buy/Sell` or `TradePrice`, or naming `Type`,
/// `Amount` and `FXRateToBase`.
pub fn recognizes(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    reader(bytes).records().take(5).filter_map(Result::ok).any(|r| {
        let first = r.get(0).unwrap_or("");
        first.eq_ignore_ascii_case("BOF")
            || (first.eq_ignore_ascii_case("HEADER") && r.len() >= 3)
            || (has(&r, "ClientAccountID") && (has(&r, "Buy/Sell") || has(&r, "TradePrice")))
            || (has(&r, "Type") && has(&r, "Amount") && has(&r, "FXRateToBase"))
    })
}

/// `yyyyMMdd`, `yyyy-MM-dd` or `MM/dd/yyyy`, the date part of a date-time
/// (`20250314;093000`, `2025-03-14, 09:30:00`, `20250314 093000`).
fn date(line: u64, field: &str, text: &str) -> Result<NaiveDate, CommandError> {
    let day = text.split([';', ',', ' ']).next().unwrap_or("").trim();
    let compact = || {
        let digits = day.len() == 8 && day.bytes().all(|b| b.is_ascii_digit());
        let part = |r: std::ops::Range<usize>| day[r].parse::<u32>().ok();
        digits.then(|| NaiveDate::from_ymd_opt(i32::try_from(part(0..4)?).ok()?, part(4..6)?, part(6..8)?)).flatten()
    };
    compact()
        .or_else(|| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .or_else(|| NaiveDate::parse_from_str(day, "%m/%d/%Y").ok())
        .ok_or_else(|| {
            bad(
                line,
                field,
                format!("{text:?} is not a date (yyyyMMdd, yyyy-MM-dd or MM/dd/yyyy, with or without a time)"),
            )
        })
}

/// A symbol as the ledger takes it: upper case, IBKR's space (`BRK B`) a dot.
fn symbol(text: &str) -> String {
    text.trim().to_ascii_uppercase().replace(' ', ".")
}

/// A currency pair written as a symbol (`EUR.USD`): a conversion when a file lacks AssetClass.
fn is_pair(symbol: &str) -> bool {
    let b = symbol.as_bytes();
    b.len() == 7 && b[3] == b'.' && b[..3].iter().chain(&b[4..]).all(u8::is_ascii_uppercase)
}

/// The line's currency and rate: `(None, None)` in US dollars, else the currency and its
/// FXRateToBase (US dollars per unit), which must be a positive number.
fn currency(e: &Line) -> Result<(Option<String>, Option<Decimal>), CommandError> {
    let written = e.get("CurrencyPrimary");
    let code = written.to_ascii_uppercase();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad(e.line, "CurrencyPrimary", format!("{written:?} is not a currency code (USD, EUR, …)")));
    }
    let text = e.get("FXRateToBase");
    let rate = number(e.line, "FXRateToBase", text)?;
    if rate <= Decimal::ZERO {
        return Err(bad(e.line, "FXRateToBase", format!("{text:?} is not a positive number")));
    }
    Ok(if code == "USD" { (None, None) } else { (Some(code), Some(rate)) })
}

/// Refuses a file whose account's base currency is not US dollars: a line in USD whose
/// FXRateToBase is not 1, or a line in another currency whose FXRateToBase is exactly 1.
fn base_is_usd(entries: &[Line]) -> Result<(), CommandError> {
    for e in entries.iter().filter(|e| e.section.kind != Kind::Other) {
        let code = e.get("CurrencyPrimary").to_ascii_uppercase();
        let text = e.get("FXRateToBase");
        let Ok(rate) = number(e.line, "FXRateToBase", text) else { continue };
        let usd = code == "USD";
        let other = code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) && !usd;
        if (usd && rate != Decimal::ONE && !text.is_empty()) || (other && rate == Decimal::ONE) {
            let base = if usd { "is not US dollars".to_owned() } else { format!("is {code}") };
            return Err(bad(
                e.line,
                "FXRateToBase",
                format!(
                    "{text:?} for a line in {code}: the account's base currency {base}; cairn keeps US dollars, so the \
                     Flex query's account must have USD as its base currency"
                ),
            ));
        }
    }
    Ok(())
}

/// The row's id: `ibkr:<ClientAccountID>:<id>` from the first of `columns` the line fills.
fn id(e: &Line, columns: &[&str]) -> Option<String> {
    let found = columns.iter().map(|c| e.get(c)).find(|v| !v.is_empty())?;
    Some(format!("ibkr:{}:{found}", e.get("ClientAccountID")))
}

/// Converts a Flex Query CSV into rows of `account` (`account_type` where the account is new).
/// With `skip_unknown`, lines this mapping does not know are skipped and listed instead of
/// refusing the file.
pub fn parse(
    bytes: &[u8],
    account: &str,
    account_type: Option<&str>,
    skip_unknown: bool,
) -> Result<Converted, CommandError> {
    let lines = Lines::of(bytes);
    let mut sections: Vec<Section> = Vec::new();
    // Each data line: its section, line number and values.
    let mut found: Vec<(usize, u64, csv::StringRecord)> = Vec::new();
    // The section of a file without codes that the next lines belong to.
    let mut current: Option<usize> = None;
    for record in reader(bytes).records() {
        let record = record.map_err(|e| lines.error(e))?;
        let line = lines.of_record(&record);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let descriptor = record.get(0).unwrap_or("").to_ascii_uppercase();
        if FRAMES.contains(&descriptor.as_str()) {
            current = None;
            continue;
        }
        if descriptor == "HEADER" {
            sections.push(Section::of(&record, line, true)?);
            current = None;
        } else if descriptor == "DATA" {
            let code = record.get(1).unwrap_or("").to_ascii_uppercase();
            let Some(i) = sections.iter().rposition(|s| s.name == code) else {
                return Err(bad(
                    line,
                    "header",
                    format!(
                        "a DATA line of section {code:?} before its HEADER line: the query must include column headers"
                    ),
                ));
            };
            found.push((i, line, record));
        } else if is_plain_header(&record) {
            sections.push(Section::of(&record, line, false)?);
            current = Some(sections.len() - 1);
        } else if let Some(i) = current {
            found.push((i, line, record));
        } else {
            return Err(bad(
                line,
                "header",
                "expected a Flex Query line: a section code (BOF, HEADER, DATA, …) or a header of column names \
                 (ClientAccountID, Buy/Sell, Type, Amount, …)",
            ));
        }
    }
    let Some(first) = sections.iter().find(|s| s.kind != Kind::Other) else {
        return Err(bad(
            1,
            "header",
            "no Flex Query Trades or Cash Transactions header in the file (the query must include column headers)",
        ));
    };
    let first_header = first.line;
    let mut entries: Vec<Line> = Vec::with_capacity(found.len());
    for (i, line, record) in found {
        let section = &sections[i];
        if record.len() < section.width {
            return Err(bad(line, "row", format!("has {} fields; the header has {}", record.len(), section.width)));
        }
        entries.push(Line { line, section, record });
    }
    one_account(
        entries.iter().map(|e| (e.line, e.get("ClientAccountID"))),
        "ClientAccountID",
        "run the Flex query for one account at a time",
    )?;
    base_is_usd(&entries)?;

    let executions = entries
        .iter()
        .any(|e| e.section.kind == Kind::Trades && e.get("LevelOfDetail").eq_ignore_ascii_case("EXECUTION"));
    let mut converted = Converted { rows: Vec::new(), skipped: Vec::new() };
    let mut pending: Vec<Entry> = Vec::new();
    for e in &entries {
        let entry = match e.section.kind {
            Kind::Trades => trade(e, executions, skip_unknown, &mut converted.skipped)?,
            Kind::Cash => cash(e, skip_unknown, &mut converted.skipped)?,
            Kind::Other => {
                let what = "a Flex Query section the IBKR mapping (Trades, Cash Transactions)";
                unknown(skip_unknown, &mut converted.skipped, e.line, "section", what, &e.section.name)?;
                None
            }
        };
        pending.extend(entry);
    }
    // Oldest first; a day's lines in the file's order.
    pending.sort_by_key(|e| e.date);
    converted.rows = rows(&pending, account, account_type)?;
    if converted.rows.is_empty() && converted.skipped.is_empty() {
        return Err(bad(first_header + 1, "row", "the file has Flex Query headers but no trades or cash transactions"));
    }
    Ok(converted)
}

/// A Trades line as a buy or sell, or `None` when it is skipped (listed) or not a trade of its
/// own (a closed lot, a summary).
fn trade(
    e: &Line,
    executions: bool,
    skip_unknown: bool,
    skipped: &mut Vec<Skipped>,
) -> Result<Option<Entry>, CommandError> {
    let line = e.line;
    let detail = e.get("LevelOfDetail").to_ascii_uppercase();
    let read = match detail.as_str() {
        "" | "EXECUTION" => true,
        "ORDER" => !executions,
        _ => false,
    };
    if !read {
        let why = if detail == "ORDER" {
            "an ORDER line totals EXECUTION lines, which are read".to_owned()
        } else {
            format!("a {detail} line details or totals trades read from their own lines")
        };
        skipped.push(Skipped { line, action: detail, why });
        return Ok(None);
    }
    let written = e.get("Symbol");
    let symbol = symbol(written);
    let buy_sell = e.get("Buy/Sell").to_ascii_uppercase();
    let class = e.get("AssetClass").to_ascii_uppercase();
    if class == "CASH" || (!e.has("AssetClass") && is_pair(&symbol)) {
        skipped.push(Skipped {
            line,
            action: format!("{buy_sell} {written}"),
            why: "a currency conversion: cairn keeps cash in US dollars".to_owned(),
        });
        return Ok(None);
    }
    if !matches!(class.as_str(), "" | "STK" | "ETF" | "FUND") {
        let what = "an asset class the IBKR mapping";
        unknown(skip_unknown, skipped, line, "AssetClass", what, e.get("AssetClass"))?;
        return Ok(None);
    }
    let action = match buy_sell.as_str() {
        "BUY" => "buy",
        "SELL" => "sell",
        _ => {
            unknown(skip_unknown, skipped, line, "Buy/Sell", "a trade the IBKR mapping", e.get("Buy/Sell"))?;
            return Ok(None);
        }
    };
    if symbol.is_empty() {
        return Err(bad(line, "Symbol", "is empty; a trade needs the security's symbol"));
    }
    let (currency, fx_rate) = currency(e)?;
    let written_quantity = e.get("Quantity");
    let quantity = number(line, "Quantity", written_quantity)?;
    if quantity.is_sign_negative() == (action == "buy") && !quantity.is_zero() {
        let (sign, should) = if action == "buy" { ("negative", "positive") } else { ("positive", "negative") };
        return Err(bad(
            line,
            "Quantity",
            format!("{written_quantity:?} is {sign} on a {buy_sell} line; IBKR writes it {should}"),
        ));
    }
    let price = number(line, "TradePrice", e.get("TradePrice"))?;
    let commission_currency = e.get("IBCommissionCurrency");
    if !commission_currency.is_empty() && !commission_currency.eq_ignore_ascii_case(e.get("CurrencyPrimary")) {
        return Err(bad(
            line,
            "IBCommissionCurrency",
            format!(
                "{commission_currency:?} is not the trade's currency {:?}; the mapping takes a commission in the \
                 trade's currency",
                e.get("CurrencyPrimary")
            ),
        ));
    }
    // IBKR writes a commission paid as a negative amount; a positive one (a rebate) is not a
    // fee, and not this row's to guess at.
    let commission = number(line, "IBCommission", e.get("IBCommission"))?;
    if commission > Decimal::ZERO {
        return Err(bad(
            line,
            "IBCommission",
            format!(
                "{:?} is a rebate (IBKR writes a commission paid as negative); record it apart",
                e.get("IBCommission")
            ),
        ));
    }
    let fees = -commission;
    let trade_date = date(line, "TradeDate", e.get("TradeDate"))?;
    let settlement_date = match e.get("SettleDateTarget") {
        "" => None,
        text => Some(date(line, "SettleDateTarget", text)?),
    };
    let title = if action == "buy" { "Buy" } else { "Sell" };
    let description = match e.get("Description") {
        "" => title.to_owned(),
        d => format!("{title}: {d}"),
    };
    Ok(Some(Entry {
        line,
        date: trade_date,
        action,
        symbol,
        quantity: quantity.abs(),
        price,
        fees,
        description,
        id: id(e, &["TransactionID", "TradeID"]),
        settlement_date,
        currency,
        fx_rate,
        ..Entry::default()
    }))
}

/// How a cash transaction type becomes a ledger row.
#[derive(Debug, Clone, Copy)]
enum Mapped {
    /// Money in of the Amount: a dividend or interest.
    Income(&'static str),
    /// Money out of the Amount: a fee.
    Charge,
    /// Cash in or out by the Amount's sign.
    Transfer,
}

fn map(kind: &str) -> Option<Mapped> {
    Some(match kind.to_ascii_lowercase().as_str() {
        "dividends" | "payment in lieu of dividends" => Mapped::Income("dividend"),
        "broker interest received" | "bond interest received" => Mapped::Income("interest"),
        "withholding tax" | "broker interest paid" | "other fees" | "commission adjustments" => Mapped::Charge,
        "deposits/withdrawals" | "deposits & withdrawals" => Mapped::Transfer,
        _ => return None,
    })
}

/// A Cash Transactions line as a dividend, interest, fee, deposit or withdrawal, or `None`
/// when it is skipped (listed).
fn cash(e: &Line, skip_unknown: bool, skipped: &mut Vec<Skipped>) -> Result<Option<Entry>, CommandError> {
    let line = e.line;
    let detail = e.get("LevelOfDetail").to_ascii_uppercase();
    if !matches!(detail.as_str(), "" | "DETAIL") {
        let why = format!("a {detail} line totals cash transactions read from their DETAIL lines");
        skipped.push(Skipped { line, action: detail, why });
        return Ok(None);
    }
    let kind = e.get("Type");
    let Some(mapped) = map(kind) else {
        unknown(skip_unknown, skipped, line, "Type", "a cash transaction type the IBKR mapping", kind)?;
        return Ok(None);
    };
    let (currency, fx_rate) = currency(e)?;
    let written = e.get("Amount");
    let amount = number(line, "Amount", written)?;
    // Money in for income, out for a charge: the other sign (a reversal, a refund) is not this
    // type's row.
    let money_in = match mapped {
        Mapped::Income(_) => Some(true),
        Mapped::Charge => Some(false),
        Mapped::Transfer => None,
    };
    if let Some(money_in) = money_in {
        same_way(line, "Amount", written, amount, money_in, &format!("a {kind} row"))?;
    }
    let action = match mapped {
        Mapped::Income(a) => a,
        Mapped::Charge => "fee",
        Mapped::Transfer if amount.is_sign_negative() => "withdrawal",
        Mapped::Transfer => "deposit",
    };
    let (field, when) =
        CASH_DATES.iter().map(|c| (*c, e.get(c))).find(|(_, v)| !v.is_empty()).unwrap_or((CASH_DATES[0], ""));
    let when = date(line, field, when)?;
    let symbol = if action == "dividend" { symbol(e.get("Symbol")) } else { String::new() };
    let description = match e.get("Description") {
        "" => kind.to_owned(),
        d => format!("{kind}: {d}"),
    };
    Ok(Some(Entry {
        line,
        date: when,
        action,
        symbol,
        quantity: Decimal::ONE,
        price: amount.abs(),
        fees: Decimal::ZERO,
        description,
        id: id(e, &["TransactionID"]),
        currency,
        fx_rate,
        ..Entry::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample in `examples/brokers`, a made-up Flex Query with section codes: a dollar buy,
    /// a euro buy and a partial sale at their own rates, a conversion, a deposit, a euro
    /// dividend and its withholding tax.
    const SAMPLE: &str = include_str!("../../../examples/brokers/ibkr-flex.csv");

    /// The same account's query without section codes: a header line per section.
    const PLAIN: &str = "ClientAccountID,CurrencyPrimary,FXRateToBase,AssetClass,Symbol,TradeDate,Quantity,TradePrice,IBCommission,Buy/Sell,TransactionID\n\
U7654321,EUR,1.085,STK,SAP,2025-03-14,30,180.50,-3.00,BUY,28100003\n\
U7654321,USD,1,STK,BRK B,03/12/2025,2,480.00,-1.00,BUY,28100005\n\
ClientAccountID,CurrencyPrimary,FXRateToBase,Symbol,Description,DateTime,Amount,Type,TransactionID\n\
U7654321,USD,1,,INTEREST FOR FEB-2025,\"2025-03-05, 20:20:00\",1.23,Broker Interest Received,28000004\n\
U7654321,USD,1,,WIRE OUT,20250306 120000,-500,Deposits & Withdrawals,28000005\n";

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_sample_maps_to_ledger_rows_in_their_currencies() {
        assert!(recognizes(SAMPLE.as_bytes()));
        let c = parse(SAMPLE.as_bytes(), "IBKR", Some("taxable"), false).unwrap();
        let seen: Vec<(u64, &str, Option<&str>)> =
            c.rows.iter().map(|r| (r.line, r.action.as_str(), r.symbol.as_deref())).collect();
        assert_eq!(
            seen,
            [
                (13, "deposit", None),
                (5, "buy", Some("AAPL")),
                (7, "buy", Some("SAP")),
                (14, "dividend", Some("SAP")),
                (15, "fee", None),
                (8, "sell", Some("SAP")),
            ],
            "oldest first, each row naming its line"
        );
        assert_eq!(c.rows[0].account_type.map(|t| t.as_str()), Some("taxable"));
        let aapl = &c.rows[1];
        assert_eq!((aapl.quantity, aapl.price, aapl.fees), (dec("10"), dec("220.00"), dec("1.00")));
        assert_eq!((aapl.currency.as_deref(), aapl.fx_rate), (None, None), "dollars carry no currency");
        assert_eq!(aapl.identity.as_deref(), Some("id:ibkr:U7654321:28100001"));
        let sap = &c.rows[2];
        assert_eq!((sap.quantity, sap.price, sap.fees), (dec("30"), dec("180.50"), dec("3.00")));
        assert_eq!((sap.currency.as_deref(), sap.fx_rate), (Some("EUR"), Some(dec("1.085"))));
        assert_eq!((sap.trade_date, sap.settlement_date), (day(2025, 3, 14), Some(day(2025, 3, 18))));
        assert_eq!(sap.description.as_deref(), Some("Buy: SAP SE"));
        let dividend = &c.rows[3];
        assert_eq!(
            (dividend.price, dividend.fx_rate, dividend.trade_date),
            (dec("66.00"), Some(dec("1.09")), day(2025, 5, 16))
        );
        assert!(!dividend.description.as_deref().unwrap().to_lowercase().contains("qualified"), "ordinary");
        assert_eq!((c.rows[4].price, c.rows[4].currency.as_deref()), (dec("17.41"), Some("EUR")), "the tax withheld");
        let sell = &c.rows[5];
        assert_eq!(
            (sell.quantity, sell.price, sell.fees, sell.fx_rate),
            (dec("10"), dec("190.00"), dec("3.00"), Some(dec("1.092")))
        );
        let skipped: Vec<(u64, &str, &str)> =
            c.skipped.iter().map(|s| (s.line, s.action.as_str(), s.why.as_str())).collect();
        assert_eq!(
            skipped,
            [
                (6, "SELL EUR.USD", "a currency conversion: cairn keeps cash in US dollars"),
                (9, "CLOSED_LOT", "a CLOSED_LOT line details or totals trades read from their own lines"),
            ]
        );
    }

    #[test]
    fn the_layout_without_section_codes_is_read_by_its_headers() {
        assert!(recognizes(PLAIN.as_bytes()));
        let c = parse(PLAIN.as_bytes(), "IBKR", Some("taxable"), false).unwrap();
        let seen: Vec<(u64, &str, Option<&str>, NaiveDate)> =
            c.rows.iter().map(|r| (r.line, r.action.as_str(), r.symbol.as_deref(), r.trade_date)).collect();
        assert_eq!(
            seen,
            [
                (5, "interest", None, day(2025, 3, 5)),
                (6, "withdrawal", None, day(2025, 3, 6)),
                (3, "buy", Some("BRK.B"), day(2025, 3, 12)),
                (2, "buy", Some("SAP"), day(2025, 3, 14)),
            ]
        );
        assert_eq!((c.rows[0].price, c.rows[1].price), (dec("1.23"), dec("500")));
        assert_eq!(c.rows[3].fx_rate, Some(dec("1.085")));
        assert!(c.skipped.is_empty());
    }

    #[test]
    fn an_account_whose_base_currency_is_not_usd_is_refused() {
        let file = SAMPLE
            .replace("\"U7654321\",\"USD\",\"1\",\"STK\",\"AAPL\"", "\"U7654321\",\"USD\",\"0.92\",\"STK\",\"AAPL\"");
        let e = parse(file.as_bytes(), "IBKR", None, false).unwrap_err().to_string();
        assert!(e.starts_with("line 5: FXRateToBase: \"0.92\" for a line in USD"), "{e}");
        assert!(e.contains("must have USD as its base currency"), "{e}");
        let file = SAMPLE.replace("\"EUR\",\"1.085\"", "\"EUR\",\"1\"");
        let e = parse(file.as_bytes(), "IBKR", None, false).unwrap_err().to_string();
        assert!(
            e.starts_with("line 7: FXRateToBase: \"1\" for a line in EUR: the account's base currency is EUR"),
            "{e}"
        );
        let file = SAMPLE.replace("\"EUR\",\"1.085\"", "\"EUR\",\"-1.085\"");
        assert_eq!(
            parse(file.as_bytes(), "IBKR", None, false).unwrap_err().to_string(),
            "line 7: FXRateToBase: \"-1.085\" is not a positive number"
        );
    }

    #[test]
    fn unknown_lines_stop_the_file_or_are_skipped_and_listed() {
        let option = "\"DATA\",\"TRNT\",\"U7654321\",\"USD\",\"1\",\"OPT\",\"AAPL  250620C00250000\",\"AAPL 20JUN25 250 C\",\"\",\"CBOE\",\"701005\",\"28100006\",\"20250311\",\"20250312\",\"1\",\"2.50\",\"-0.65\",\"USD\",\"BUY\",\"EXECUTION\"\n";
        let at = SAMPLE.find("\"DATA\",\"TRNT\",\"U7654321\",\"USD\",\"1\",\"CASH\"").unwrap();
        let file = format!("{}{option}{}", &SAMPLE[..at], &SAMPLE[at..]);
        assert_eq!(
            parse(file.as_bytes(), "IBKR", None, false).unwrap_err().to_string(),
            "line 6: AssetClass: \"OPT\" is not an asset class the IBKR mapping records; --skip-unknown skips such rows"
        );
        let c = parse(file.as_bytes(), "IBKR", None, true).unwrap();
        assert_eq!((c.rows.len(), c.skipped[0].line, c.skipped[0].action.as_str()), (6, 6, "OPT"));

        let cancelled = SAMPLE.replace("\"-1.00\",\"USD\",\"BUY\"", "\"-1.00\",\"USD\",\"BUY (Ca.)\"");
        assert_eq!(
            parse(cancelled.as_bytes(), "IBKR", None, false).unwrap_err().to_string(),
            "line 5: Buy/Sell: \"BUY (Ca.)\" is not a trade the IBKR mapping records; --skip-unknown skips such rows"
        );
        let other = SAMPLE.replace("\"Withholding Tax\"", "\"Price Adjustments\"");
        assert!(parse(other.as_bytes(), "IBKR", None, false).unwrap_err().to_string().starts_with("line 15: Type:"));
        let positions = format!(
            "{SAMPLE}\"HEADER\",\"POST\",\"ClientAccountID\",\"Symbol\",\"Position\"\n\"DATA\",\"POST\",\"U7654321\",\"SAP\",\"20\"\n"
        );
        assert_eq!(
            parse(positions.as_bytes(), "IBKR", None, false).unwrap_err().to_string(),
            "line 20: section: \"POST\" is not a Flex Query section the IBKR mapping (Trades, Cash Transactions) \
             records; --skip-unknown skips such rows"
        );
    }

    #[test]
    fn bad_values_name_their_line_and_column() {
        let refund = SAMPLE.replace("\"-17.41\"", "\"17.41\"");
        assert_eq!(
            parse(refund.as_bytes(), "IBKR", None, false).unwrap_err().to_string(),
            "line 15: Amount: \"17.41\" is money in; a Withholding Tax row is money out"
        );
        let reversal = SAMPLE.replace("\"66.00\"", "\"-66.00\"");
        assert_eq!(
            parse(reversal.as_bytes(), "IBKR", None, false).unwrap_err().to_string(),
            "line 14: Amount: \"-66.00\" is money out; a Dividends row is money in"
        );
        let commission = SAMPLE.replace("\"-3.00\",\"EUR\",\"BUY\"", "\"-3.25\",\"USD\",\"BUY\"");
        assert!(parse(commission.as_bytes(), "IBKR", None, false)
            .unwrap_err()
            .to_string()
            .starts_with("line 7: IBCommissionCurrency: \"USD\" is not the trade's currency \"EUR\""));
        let when = SAMPLE.replace("\"20250314\",\"20250318\",\"30\"", "\"14.03.2025\",\"20250318\",\"30\"");
        assert!(parse(when.as_bytes(), "IBKR", None, false)
            .unwrap_err()
            .to_string()
            .starts_with("line 7: TradeDate: \"14.03.2025\" is not a date"));
        let two = SAMPLE.replace("\"DATA\",\"CTRN\",\"U7654321\",\"EUR\",\"1.09\",\"SAP\",\"SAP(DE0007164600) CASH DIVIDEND EUR 2.20 PER SHARE - DE", "\"DATA\",\"CTRN\",\"U7650000\",\"EUR\",\"1.09\",\"SAP\",\"SAP(DE0007164600) CASH DIVIDEND EUR 2.20 PER SHARE - DE");
        assert!(parse(two.as_bytes(), "IBKR", None, false).unwrap_err().to_string().starts_with(
            "line 15: ClientAccountID: the file holds the entries of several accounts (U7654321, U7650000)"
        ));
        let missing = SAMPLE.replace(",\"TradePrice\",", ",\"Price\",");
        assert_eq!(
            parse(missing.as_bytes(), "IBKR", None, false).unwrap_err().to_string(),
            "line 4: header: the Trades section has no column \"TradePrice\""
        );
        let sign = SAMPLE.replace("\"-10\",\"190.00\"", "\"10\",\"190.00\"");
        assert!(parse(sign.as_bytes(), "IBKR", None, false).unwrap_err().to_string().starts_with("line 8: Quantity:"));
        let headless: String =
            SAMPLE.lines().filter(|l| !l.starts_with("\"HEADER\"")).map(|l| format!("{l}\n")).collect();
        assert!(parse(headless.as_bytes(), "IBKR", None, false)
            .unwrap_err()
            .to_string()
            .starts_with("line 4: header:"));
        assert!(parse(b"Date,Amount\n01/02/2025,5\n", "IBKR", None, false)
            .unwrap_err()
            .to_string()
            .starts_with("line 1: header:"));
    }

    #[test]
    fn only_flex_queries_are_recognized() {
        use super::super::broker::Broker;
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), SAMPLE.as_bytes()].concat();
        assert_eq!(Broker::recognize(&with_bom), Some(Broker::Ibkr), "no other format claims it");
        assert_eq!(Broker::recognize(PLAIN.as_bytes()), Some(Broker::Ibkr));
        assert!(!Broker::Ibkr.parse(&with_bom, "A", None, false).unwrap().rows.is_empty());
        assert!(!recognizes(include_bytes!("../../../examples/brokers/schwab-transactions.csv")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/fidelity-history.csv")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/vanguard-transactions.csv")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/ofx-investment-v1.ofx")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/ofx-investment-v2.ofx")));
        assert!(!recognizes(b"trade_date,account,account_type,action,symbol,quantity,price,fees\n"));
    }
}
