//! Vanguard's brokerage transaction download (My Accounts → Transaction history → Download, as
//! a spreadsheet-compatible CSV file), mapped to ledger rows of one account.
//!
//! The file is two sections separated by blank lines: the holdings (`Account Number,Investment
//! Name,Symbol,Shares,Share Price,Total Value`), a balance rather than activity and so not
//! read, then the transactions (`Account Number,Trade Date,Settlement Date,Transaction
//! Type,Transaction Description,Investment Name,Symbol,Shares,Share Price,Principal
//! Amount,Commissions and Fees,Net Amount,Accrued Interest,Account Type`), newest first. Lines
//! end with a comma. Columns are found by name (ignoring case); the mapping needs `Account
//! Number`, `Trade Date`, `Transaction Type`, `Symbol`, `Shares`, `Share Price` and `Net
//! Amount`, and reads `Settlement Date`, `Transaction Description`, `Investment Name` and
//! `Commissions and Fees` where present. Dates are `MM/DD/YYYY` or `YYYY-MM-DD`; amounts are
//! signed (money out is negative), shares negative on sells. A file whose transactions belong
//! to several accounts is refused, naming them: download one account at a time.
//!
//! | Vanguard transaction type | ledger row |
//! | --- | --- |
//! | Buy, Reinvestment, Reinvestment (LT gain), Reinvestment (ST gain) | `buy` of the Shares at Share Price, Commissions and Fees as fees |
//! | Sell | `sell` of the Shares (negative in the file) at Share Price, Commissions and Fees as fees |
//! | Dividend | an ordinary `dividend` of Net Amount (the download does not say whether a dividend qualifies; the 1099-DIV does) |
//! | Capital gain (LT), Capital gain (ST) | an ordinary `dividend` of Net Amount described as a long- or short-term capital gain distribution (the ledger has no row of its own for a fund's capital gain distribution; a long-term one is taxed as a long-term gain, box 2a of the 1099-DIV) |
//! | Interest | `interest` of Net Amount |
//! | Funds Received, Transfer (incoming) of cash | `deposit` of Net Amount |
//! | Transfer (incoming) with Symbol and Shares | `transfer_in` of the Shares at Share Price (the file has no cost basis: the lot's basis is the Share Price Vanguard gives, to be corrected where the old broker's basis differs; a price of 0 is refused) |
//! | Withdrawal, Transfer (outgoing) of cash | `withdrawal` of the Net Amount paid |
//! | Transfer (outgoing) with Symbol and Shares | `transfer_out` of the Shares |
//! | Fee | `fee` of the Net Amount paid |
//!
//! Money in (income, deposits) whose Net Amount is negative, or money out whose Net Amount is
//! positive (a reversal, a refund), is refused, naming its line, rather than recorded with the
//! wrong sign.
//!
//! Not recorded, and always listed under `skipped` with why: Sweep in and Sweep out, and buys,
//! sells and reinvestments of the settlement fund (VMFXX, Vanguard Federal Money Market Fund),
//! which holds the account's cash, so moving money into or out of it changes nothing (its
//! dividends are recorded: they are income).
//!
//! Anything else (conversions and exchanges of shares, splits, corporate actions, an action
//! Vanguard adds later) stops the import, all or nothing, naming the line and the type, unless
//! the caller asks to skip such rows; skipped rows are listed with why.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::broker::{money, number, oldest_first, one_account, rows, same_way, unknown, Converted, Entry, Skipped};
use super::csv::{bad, Lines};
use crate::CommandError;

/// The holdings section's columns.
pub const HOLDINGS: [&str; 6] = ["Account Number", "Investment Name", "Symbol", "Shares", "Share Price", "Total Value"];

/// The transactions section's columns.
pub const TRANSACTIONS: [&str; 14] = [
    "Account Number",
    "Trade Date",
    "Settlement Date",
    "Transaction Type",
    "Transaction Description",
    "Investment Name",
    "Symbol",
    "Shares",
    "Share Price",
    "Principal Amount",
    "Commissions and Fees",
    "Net Amount",
    "Accrued Interest",
    "Account Type",
];

/// The transaction columns the mapping needs, lower case.
const REQUIRED: [&str; 7] =
    ["account number", "trade date", "transaction type", "symbol", "shares", "share price", "net amount"];

/// The settlement fund, which holds a brokerage account's cash.
const SETTLEMENT_FUND: &str = "VMFXX";

/// Each column's position, by lower-case name.
type Columns = HashMap<String, usize>;

fn names(record: &csv::StringRecord) -> Vec<String> {
    record.iter().map(str::to_ascii_lowercase).filter(|n| !n.is_empty()).collect()
}

fn is_holdings_header(record: &csv::StringRecord) -> bool {
    let names = names(record);
    names.len() == HOLDINGS.len() && HOLDINGS.iter().zip(&names).all(|(h, n)| h.eq_ignore_ascii_case(n))
}

/// The columns of `record` if it is the transactions section's header.
fn transactions_header(record: &csv::StringRecord) -> Option<Columns> {
    let mut columns = Columns::new();
    for (i, h) in record.iter().enumerate() {
        columns.entry(h.to_ascii_lowercase()).or_insert(i);
    }
    REQUIRED.iter().all(|c| columns.contains_key(*c)).then_some(columns)
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(bytes)
}

/// Whether `bytes` look like a Vanguard download: its first line is the holdings header or the
/// transactions header.
pub fn recognizes(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    let first = reader(bytes).records().filter_map(Result::ok).find(|r| r.iter().any(|v| !v.is_empty()));
    first.is_some_and(|r| is_holdings_header(&r) || transactions_header(&r).is_some())
}

/// `MM/DD/YYYY` or `YYYY-MM-DD`.
fn date(line: u64, field: &str, text: &str) -> Result<NaiveDate, CommandError> {
    NaiveDate::parse_from_str(text, "%m/%d/%Y")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .map_err(|_| bad(line, field, format!("{text:?} is not a date (MM/DD/YYYY or YYYY-MM-DD)")))
}

/// A transaction line: its line number, the section's columns and its values.
struct Line<'c> {
    line: u64,
    columns: &'c Columns,
    record: csv::StringRecord,
}

impl Line<'_> {
    fn get(&self, column: &str) -> &str {
        self.columns.get(column).and_then(|&i| self.record.get(i)).unwrap_or("")
    }
}

/// Converts a Vanguard download into rows of `account` (`account_type` where the account is
/// new). With `skip_unknown`, rows of a transaction type this mapping does not know are skipped
/// and listed instead of refusing the file.
pub fn parse(
    bytes: &[u8],
    account: &str,
    account_type: Option<&str>,
    skip_unknown: bool,
) -> Result<Converted, CommandError> {
    let lines = Lines::of(bytes);
    // Each transactions section's columns (a download may repeat the sections), then its lines.
    let mut sections: Vec<(Columns, usize, u64)> = Vec::new();
    let mut in_transactions = false;
    let mut seen_header = false;
    let mut found: Vec<(usize, u64, csv::StringRecord)> = Vec::new();
    for record in reader(bytes).records() {
        let record = record.map_err(|e| lines.error(e))?;
        let line = lines.of_record(&record);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if is_holdings_header(&record) {
            (in_transactions, seen_header) = (false, true);
            continue;
        }
        if let Some(columns) = transactions_header(&record) {
            let width = (0..record.len()).rev().find(|&i| !record[i].is_empty()).map_or(0, |i| i + 1);
            sections.push((columns, width, line));
            (in_transactions, seen_header) = (true, true);
            continue;
        }
        if !seen_header {
            return Err(bad(
                line,
                "header",
                format!("expected Vanguard's holdings {HOLDINGS:?} or transactions {TRANSACTIONS:?} columns"),
            ));
        }
        if in_transactions {
            found.push((sections.len() - 1, line, record));
        }
    }
    let Some((_, _, header_line)) = sections.first() else {
        return Err(bad(1, "header", format!("no Vanguard transactions header {TRANSACTIONS:?} in the file")));
    };
    let header_line = *header_line;
    let mut entries: Vec<Line> = Vec::with_capacity(found.len());
    for (section, line, record) in found {
        let (columns, width, _) = &sections[section];
        if record.len() < *width {
            return Err(bad(line, "row", format!("has {} fields; Vanguard's header has {width}", record.len())));
        }
        entries.push(Line { line, columns, record });
    }
    one_account(
        entries.iter().map(|e| (e.line, e.get("account number"))),
        "Account Number",
        "download one account at a time",
    )?;

    let mut converted = Converted { rows: Vec::new(), skipped: Vec::new() };
    let mut pending: Vec<Entry> = Vec::new();
    for e in &entries {
        let line = e.line;
        let kind = e.get("transaction type");
        let symbol = e.get("symbol").to_ascii_uppercase();
        let settlement_fund =
            symbol == SETTLEMENT_FUND || e.get("investment name").to_ascii_uppercase().contains("FEDERAL MONEY MARKET");
        let Some(mapped) = map(kind) else {
            let what = "a transaction type the Vanguard mapping";
            unknown(skip_unknown, &mut converted.skipped, line, "Transaction Type", what, kind)?;
            continue;
        };
        if mapped == Mapped::Sweep || (settlement_fund && matches!(mapped, Mapped::Trade(_))) {
            converted.skipped.push(Skipped {
                line,
                action: kind.to_owned(),
                why: format!(
                    "the settlement fund ({SETTLEMENT_FUND}) is cash: moving money into or out of it records nothing"
                ),
            });
            continue;
        }
        let trade_date = date(line, "Trade Date", e.get("trade date"))?;
        let settlement_date = match e.get("settlement date") {
            "" => None,
            text => Some(date(line, "Settlement Date", text)?),
        };
        let shares = number(line, "Shares", e.get("shares"))?;
        let share_price = money(line, "Share Price", e.get("share price"))?;
        let fees = money(line, "Commissions and Fees", e.get("commissions and fees"))?.abs();
        let written = e.get("net amount");
        let mut amount = money(line, "Net Amount", written)?;
        let name = e.get("investment name");
        let said = match e.get("transaction description") {
            d if d.is_empty() || d.eq_ignore_ascii_case(kind) => kind.to_owned(),
            d => format!("{kind} ({d})"),
        };
        let described =
            |text: &str| if name.is_empty() || name == "CASH" { text.to_owned() } else { format!("{text}: {name}") };
        let mapped = match mapped {
            // Shares that arrive or leave, unless they are the settlement fund's (cash).
            Mapped::Transfer { money_in } if !shares.is_zero() && !symbol.is_empty() && !settlement_fund => {
                Mapped::Trade(if money_in { "transfer_in" } else { "transfer_out" })
            }
            Mapped::Transfer { money_in } => {
                if amount.is_zero() {
                    amount = shares * share_price; // the settlement fund's shares, at $1
                }
                Mapped::Cash { action: if money_in { "deposit" } else { "withdrawal" }, money_in, note: None }
            }
            other => other,
        };
        let (ledger_action, symbol, quantity, price, fees, description) = match mapped {
            Mapped::Trade(a) => {
                if share_price.is_zero() {
                    let why = if a == "transfer_in" {
                        format!(
                            "is {:?}; a {kind} of shares needs their cost basis per share as its price",
                            e.get("share price")
                        )
                    } else {
                        format!("is {:?}; a {kind} row needs the price per share", e.get("share price"))
                    };
                    return Err(bad(line, "Share Price", why));
                }
                (a, symbol, shares.abs(), share_price, fees, described(&said))
            }
            Mapped::Cash { action: a, money_in, note } => {
                same_way(line, "Net Amount", written, amount, money_in, &format!("a {kind} row"))?;
                let symbol = if a == "dividend" { symbol } else { String::new() };
                let description = match note {
                    Some(term) => format!("{term} capital gain distribution: {}", described(&said)),
                    None => described(&said),
                };
                (a, symbol, Decimal::ONE, amount.abs(), Decimal::ZERO, description)
            }
            Mapped::Transfer { .. } | Mapped::Sweep => unreachable!("mapped above"),
        };
        pending.push(Entry {
            line,
            date: trade_date,
            action: ledger_action,
            symbol,
            quantity,
            price,
            fees,
            description,
            settlement_date,
            ..Entry::default()
        });
    }
    // Vanguard lists the newest entry first.
    converted.rows = rows(&oldest_first(pending), account, account_type)?;
    if converted.rows.is_empty() && converted.skipped.is_empty() {
        return Err(bad(header_line + 1, "row", "the file has a transactions header but no transactions"));
    }
    Ok(converted)
}

/// How a Vanguard transaction type becomes a ledger row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mapped {
    /// Shares bought or sold: Shares at Share Price, with Commissions and Fees.
    Trade(&'static str),
    /// Money in or out of the Net Amount, which must run that way; a capital gain distribution
    /// says which term.
    Cash { action: &'static str, money_in: bool, note: Option<&'static str> },
    /// Shares in or out when the row names them, else cash.
    Transfer { money_in: bool },
    /// A move into or out of the settlement fund: not recorded.
    Sweep,
}

fn map(kind: &str) -> Option<Mapped> {
    let cash = |action, money_in| Mapped::Cash { action, money_in, note: None };
    Some(match kind.to_ascii_lowercase().as_str() {
        "buy" | "reinvestment" | "reinvestment (lt gain)" | "reinvestment (st gain)" => Mapped::Trade("buy"),
        "sell" => Mapped::Trade("sell"),
        "dividend" => cash("dividend", true),
        "capital gain (lt)" => Mapped::Cash { action: "dividend", money_in: true, note: Some("long-term") },
        "capital gain (st)" => Mapped::Cash { action: "dividend", money_in: true, note: Some("short-term") },
        "interest" => cash("interest", true),
        "funds received" => cash("deposit", true),
        "withdrawal" => cash("withdrawal", false),
        "transfer (incoming)" => Mapped::Transfer { money_in: true },
        "transfer (outgoing)" => Mapped::Transfer { money_in: false },
        "fee" => cash("fee", false),
        "sweep in" | "sweep out" => Mapped::Sweep,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in `examples/brokers/`: holdings, blank lines, transactions newest first.
    const SAMPLE: &str = include_str!("../../../examples/brokers/vanguard-transactions.csv");

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn the_sample_maps_to_ledger_rows() {
        assert!(recognizes(SAMPLE.as_bytes()));
        let c = parse(SAMPLE.as_bytes(), "Vanguard", Some("taxable"), false).unwrap();
        let rows = &c.rows;
        let seen: Vec<(u64, &str, Option<&str>)> =
            rows.iter().map(|r| (r.line, r.action.as_str(), r.symbol.as_deref())).collect();
        assert_eq!(
            seen,
            [
                (26, "deposit", None),
                (24, "buy", Some("VTI")),
                (23, "buy", Some("BND")),
                (21, "dividend", Some("VTI")),
                (20, "buy", Some("VTI")),
                (19, "dividend", Some("BND")),
                (18, "dividend", Some("BND")),
                (17, "dividend", Some("BND")),
                (16, "dividend", Some("VMFXX")),
                (14, "interest", None),
                (13, "fee", None),
                (12, "transfer_in", Some("VTI")),
                (11, "sell", Some("BND")),
                (10, "withdrawal", None),
            ],
            "oldest first, each row naming its line of the file; the holdings are no rows"
        );
        assert_eq!(rows[0].account_type.map(|t| t.as_str()), Some("taxable"), "the first row opens the account");
        assert!(rows[1..].iter().all(|r| r.account_type.is_none() && r.account == "Vanguard"));
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!((rows[0].trade_date, rows[0].quantity * rows[0].price), (date(2024, 12, 2), dec("25000.00")));
        let vti = &rows[1];
        assert_eq!((vti.quantity, vti.price, vti.fees), (dec("50"), dec("290.00"), Decimal::ZERO));
        assert_eq!((vti.trade_date, vti.settlement_date), (date(2024, 12, 3), Some(date(2024, 12, 4))));
        assert_eq!(vti.description.as_deref(), Some("Buy: VANGUARD TOTAL STOCK MARKET ETF"));
        assert_eq!((rows[3].price, rows[4].quantity, rows[4].price), (dec("45.00"), dec("0.15"), dec("300.00")));
        let long = rows[6].description.as_deref().unwrap();
        assert_eq!(
            long,
            "long-term capital gain distribution: Capital gain (LT) (Long-Term Capital Gains Distribution): \
             VANGUARD TOTAL BOND MARKET ETF"
        );
        assert!(rows[7].description.as_deref().unwrap().starts_with("short-term capital gain distribution"));
        assert_eq!((rows[6].price, rows[7].price, rows[8].price), (dec("3.20"), dec("2.10"), dec("12.34")));
        let ordinary =
            |r: &domain::ledger::RowInput| !r.description.as_deref().unwrap().to_lowercase().contains("qualified");
        assert!(rows.iter().filter(|r| r.action.as_str() == "dividend").all(ordinary), "dividends are ordinary");
        assert_eq!((rows[9].price, rows[10].price), (dec("4.56"), dec("25.00")), "interest; the fee paid");
        assert_eq!((rows[11].quantity, rows[11].price), (dec("10"), dec("295.00")), "shares transferred in");
        let sell = &rows[12];
        assert_eq!((sell.quantity, sell.price, sell.fees), (dec("20"), dec("72.80"), dec("0.01")), "shares unsigned");
        assert_eq!((sell.trade_date, sell.settlement_date), (date(2025, 1, 17), Some(date(2025, 1, 21))));
        assert_eq!(rows[13].price, dec("1000.00"));

        let skipped: Vec<(u64, &str)> = c.skipped.iter().map(|s| (s.line, s.action.as_str())).collect();
        assert_eq!(skipped, [(9, "Sweep in"), (15, "Reinvestment"), (22, "Sweep out"), (25, "Sweep in")]);
        assert!(c.skipped.iter().all(|s| s.why.starts_with("the settlement fund (VMFXX) is cash")));
    }

    #[test]
    fn iso_dates_and_transactions_alone_are_read() {
        let at = SAMPLE.find("Account Number,Trade Date").unwrap();
        let file = SAMPLE[at..].replace("01/17/2025,01/21/2025", "2025-01-17,2025-01-21");
        assert!(recognizes(file.as_bytes()));
        let rows = parse(file.as_bytes(), "Vanguard", Some("taxable"), false).unwrap().rows;
        let sell = rows.iter().find(|r| r.action.as_str() == "sell").unwrap();
        assert_eq!((sell.line, sell.trade_date), (4, NaiveDate::from_ymd_opt(2025, 1, 17).unwrap()));
    }

    #[test]
    fn transactions_of_several_accounts_are_refused() {
        let file = SAMPLE.replacen("87654321,01/10/2025", "87650000,01/10/2025", 1);
        assert_eq!(
            parse(file.as_bytes(), "Vanguard", None, false).unwrap_err().to_string(),
            "line 13: Account Number: the file holds the entries of several accounts (87654321, 87650000); \
             download one account at a time and import each into its own account"
        );
        // Holdings of several accounts are only a balance.
        let file = SAMPLE.replacen("87654321,VANGUARD TOTAL BOND", "87650000,VANGUARD TOTAL BOND", 1);
        assert!(parse(file.as_bytes(), "Vanguard", None, false).is_ok());
    }

    #[test]
    fn an_unknown_type_stops_the_file_or_is_skipped_and_listed() {
        let conversion = "87654321,01/06/2025,01/06/2025,Conversion (incoming),Conversion (incoming),VANGUARD TOTAL STOCK MARKET ETF,VTI,5.0000,0.0,0.00,0.0,0.00,0.0,CASH,\n";
        let at = SAMPLE.find("87654321,01/02/2025").unwrap();
        let file = format!("{}{conversion}{}", &SAMPLE[..at], &SAMPLE[at..]);
        let e = parse(file.as_bytes(), "Vanguard", Some("taxable"), false).unwrap_err().to_string();
        assert_eq!(
            e,
            "line 14: Transaction Type: \"Conversion (incoming)\" is not a transaction type the Vanguard mapping \
             records; --skip-unknown skips such rows"
        );
        let c = parse(file.as_bytes(), "Vanguard", Some("taxable"), true).unwrap();
        assert_eq!(c.rows.len(), 14);
        let listed: Vec<(u64, &str)> = c.skipped.iter().map(|s| (s.line, s.why.as_str())).collect();
        assert_eq!(listed.len(), 5, "the sweeps are listed too: {listed:?}");
        assert_eq!(listed[1], (14, "a transaction type the Vanguard mapping does not record"));
    }

    #[test]
    fn bad_values_name_their_line_and_column() {
        let file = SAMPLE.replace(",72.80,", ",72.8O,");
        assert_eq!(
            parse(file.as_bytes(), "Vanguard", None, false).unwrap_err().to_string(),
            "line 11: Share Price: \"72.8O\" is not an amount ($1,234.56)"
        );
        let file = SAMPLE.replace("87654321,01/17/2025", "87654321,17.01.2025");
        assert_eq!(
            parse(file.as_bytes(), "Vanguard", None, false).unwrap_err().to_string(),
            "line 11: Trade Date: \"17.01.2025\" is not a date (MM/DD/YYYY or YYYY-MM-DD)"
        );
        let refund = SAMPLE.replace("1.0,-25.00,0.0,-25.00,", "1.0,25.00,0.0,25.00,");
        assert_eq!(
            parse(refund.as_bytes(), "Vanguard", None, false).unwrap_err().to_string(),
            "line 13: Net Amount: \"25.00\" is money in; a Fee row is money out"
        );
        let basis = SAMPLE.replace("VTI,10.0000,295.00,", "VTI,10.0000,0.0,");
        assert_eq!(
            parse(basis.as_bytes(), "Vanguard", None, false).unwrap_err().to_string(),
            "line 12: Share Price: is \"0.0\"; a Transfer (incoming) of shares needs their cost basis per share as its price"
        );
        let cut = SAMPLE.replace("Interest,Interest,CASH,,0.0000,1.0,4.56,0.0,4.56,0.0,CASH,", "Interest,Interest");
        assert_eq!(
            parse(cut.as_bytes(), "Vanguard", None, false).unwrap_err().to_string(),
            "line 14: row: has 5 fields; Vanguard's header has 14"
        );
        assert!(parse(b"Date,Amount\n01/02/2025,5\n", "Vanguard", None, false)
            .unwrap_err()
            .to_string()
            .starts_with("line 1: header:"));
    }

    #[test]
    fn only_vanguard_downloads_are_recognized() {
        use super::super::broker::Broker;
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), SAMPLE.as_bytes()].concat();
        assert_eq!(Broker::recognize(&with_bom), Some(Broker::Vanguard), "no other format claims it");
        assert!(!Broker::Vanguard.parse(&with_bom, "A", None, false).unwrap().rows.is_empty());
        assert!(!recognizes(include_bytes!("../../../examples/brokers/schwab-transactions.csv")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/fidelity-history.csv")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/ofx-investment-v1.ofx")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/ofx-investment-v2.ofx")));
        assert!(!recognizes(b"trade_date,account,account_type,action,symbol,quantity,price,fees\n"));
    }
}
