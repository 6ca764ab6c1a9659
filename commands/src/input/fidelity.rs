//! Fidelity's account history download (Accounts → Activity & Orders → History → Download, a
//! CSV), mapped to ledger rows of one account.
//!
//! The file is a few preamble lines (blank, or fields all empty), the header, the entries newest
//! first, then blank lines and Fidelity's notes ("The data and information in this spreadsheet
//! is provided to you solely for your use…", "Brokerage services are provided by Fidelity
//! Brokerage Services LLC…", "Date downloaded …"), which are not entries: the first line after
//! the header with a single value that is not a date starts them, and nothing after it is read
//! (an entry after the notes refuses the file). Columns are found by name, not position:
//! `Run Date`, `Action`, `Symbol`, `Quantity`, `Price ($)`, `Amount ($)`, and where present
//! `Description` (older downloads: `Security Description`), `Type` (`Security Type`),
//! `Commission ($)`, `Fees ($)`, `Settlement Date`; a name may lack its ` ($)`, and other
//! columns (`Cash Balance ($)`, `Accrued Interest ($)`, the exchange columns) are not read.
//! Values may carry leading spaces. Dates are `MM/DD/YYYY`; amounts are signed (`-29000.00` is
//! money out), plain or `$`-written; quantities are negative on sells. A download of several
//! accounts (with `Account` or `Account Number` columns) is refused, naming them: its rows
//! would all go to the one account `--account` names.
//!
//! Actions are free text beginning with what happened (`YOU BOUGHT VANGUARD INDEX FDS TOTAL STK
//! MKT ETF (VTI) (Cash)`); the row's description is the action's text.
//!
//! | Fidelity action begins with | ledger row |
//! | --- | --- |
//! | YOU BOUGHT, REINVESTMENT | `buy` of the Quantity at Price, Commission + Fees as fees |
//! | YOU SOLD | `sell` of the Quantity (negative in the file) at Price, Commission + Fees as fees |
//! | DIVIDEND RECEIVED | an ordinary `dividend` of Amount (the history does not say whether a dividend qualifies; the 1099-DIV does) |
//! | LONG-TERM CAP GAIN, SHORT-TERM CAP GAIN | an ordinary `dividend` of Amount described as a long- or short-term capital gain distribution (the ledger has no row of its own for a fund's capital gain distribution; a long-term one is taxed as a long-term gain, box 2a of the 1099-DIV) |
//! | INTEREST EARNED | `interest` of Amount |
//! | Electronic Funds Transfer Received, DIRECT DEPOSIT, TRANSFERRED FROM (no symbol) | `deposit` of Amount |
//! | Electronic Funds Transfer Paid, DIRECT DEBIT, TRANSFERRED TO (no symbol) | `withdrawal` of the Amount paid |
//! | CONTRIBUTION, CASH CONTRIBUTION (CURRENT YEAR) | `contribution` of Amount (into an IRA: it counts against the owner's limit) |
//! | CASH CONTRIBUTION PRIOR YEAR | `contribution` of Amount for the year before the Run Date's (`tax year` in its description) |
//! | FOREIGN TAX PAID, FEE CHARGED | `fee` of the Amount paid |
//!
//! Money in (income, deposits, contributions) whose Amount is negative, or money out whose
//! Amount is positive (a reversal, a refund), is refused, naming its line, rather than recorded
//! with the wrong sign.
//!
//! Not recorded, and always listed under `skipped` with why: buys, sells and reinvestments of
//! the core money-market position (SPAXX, FDRXX, FZFXX, SPRXX, FCASH, or a description naming
//! the Fidelity government or treasury money market or the core account; also PURCHASE INTO CORE
//! ACCOUNT and REDEMPTION FROM CORE ACCOUNT), because the core position is the account's cash
//! (its dividends are recorded: they are income); and pending entries, whose Run Date or
//! Settlement Date says `Processing` (a later download has them settled).
//!
//! Anything else (share transfers, exchanges, splits, mergers, redemptions, options, checks, an
//! action Fidelity adds later) stops the import, all or nothing, naming the line and the action,
//! unless the caller asks to skip such rows; skipped rows are listed with why.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::broker::{money, number, oldest_first, one_account, rows, same_way, unknown, Converted, Entry, Skipped};
use super::csv::{bad, Lines};
use crate::CommandError;

/// The columns of a current download, in order (older ones say `Security Description` and
/// `Security Type`, some add `Cash Balance ($)`; the mapping reads them by name).
pub const HEADER: [&str; 12] = [
    "Run Date",
    "Action",
    "Symbol",
    "Description",
    "Type",
    "Quantity",
    "Price ($)",
    "Commission ($)",
    "Fees ($)",
    "Accrued Interest ($)",
    "Amount ($)",
    "Settlement Date",
];

/// The columns a file must have, by their names as [`column_name`] gives them.
const REQUIRED: [&str; 6] = ["run date", "action", "symbol", "quantity", "price", "amount"];

/// The core position's symbols: Fidelity's money-market funds and cash that hold an account's
/// cash.
const CORE_SYMBOLS: [&str; 6] = ["SPAXX", "FDRXX", "FZFXX", "SPRXX", "FCASH", "CORE"];

/// Descriptions of the core position.
const CORE_NAMES: [&str; 4] = [
    "FIDELITY GOVERNMENT MONEY MARKET",
    "FIDELITY GOVERNMENT CASH RESERVES",
    "FIDELITY TREASURY MONEY MARKET",
    "CORE ACCOUNT",
];

/// Each column's position, by name.
type Columns = HashMap<String, usize>;

/// A header name as the mapping knows it: lower case, without ` ($)`, the older names read as
/// the current ones.
fn column_name(header: &str) -> String {
    let name = header.trim().to_ascii_lowercase();
    let name = name.strip_suffix("($)").map_or(name.as_str(), str::trim_end);
    match name {
        "security description" => "description",
        "security type" => "type",
        other => other,
    }
    .to_owned()
}

/// The columns of `record` if it is Fidelity's header.
fn header(record: &csv::StringRecord) -> Option<Columns> {
    let mut columns = Columns::new();
    for (i, h) in record.iter().enumerate() {
        columns.entry(column_name(h)).or_insert(i);
    }
    REQUIRED.iter().all(|c| columns.contains_key(*c)).then_some(columns)
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(bytes)
}

/// Whether `bytes` look like a Fidelity history: its header within the first twelve lines.
pub fn recognizes(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    reader(bytes).records().take(12).filter_map(Result::ok).any(|r| header(&r).is_some())
}

/// `MM/DD/YYYY`.
fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%m/%d/%Y").ok()
}

fn is_pending(text: &str) -> bool {
    text.eq_ignore_ascii_case("processing") || text.eq_ignore_ascii_case("pending")
}

/// Converts a Fidelity history into rows of `account` (`account_type` where the account is
/// new). With `skip_unknown`, rows of an action this mapping does not know are skipped and
/// listed instead of refusing the file.
pub fn parse(
    bytes: &[u8],
    account: &str,
    account_type: Option<&str>,
    skip_unknown: bool,
) -> Result<Converted, CommandError> {
    let lines = Lines::of(bytes);
    let mut header_at: Option<(Columns, usize, u64)> = None;
    let mut notes: Option<u64> = None;
    let mut entries: Vec<(u64, csv::StringRecord)> = Vec::new();
    for record in reader(bytes).records() {
        let record = record.map_err(|e| lines.error(e))?;
        let line = lines.of_record(&record);
        let Some((columns, _, _)) = &header_at else {
            // The preamble: blank lines, or the account's name.
            header_at = header(&record).map(|c| (c, record.len(), line));
            continue;
        };
        let filled = record.iter().filter(|v| !v.is_empty()).count();
        let run_date = columns.get("run date").and_then(|&i| record.get(i)).unwrap_or("");
        if let Some(from) = notes {
            if date(run_date).is_some() && filled > 1 {
                return Err(bad(
                    line,
                    "row",
                    format!("an entry after the notes that end Fidelity's history (from line {from}); one download at a time"),
                ));
            }
            continue;
        }
        if filled == 0 {
            continue;
        }
        if filled == 1 && date(run_date).is_none() && !is_pending(run_date) {
            notes = Some(line);
            continue;
        }
        entries.push((line, record));
    }
    let Some((columns, width, header_line)) = header_at else {
        return Err(bad(1, "header", format!("no Fidelity header {HEADER:?} in the file")));
    };
    let field = |record: &csv::StringRecord, name: &str| -> String {
        columns.get(name).and_then(|&i| record.get(i)).unwrap_or("").to_owned()
    };
    // A download of several accounts (its `Account Number` or `Account` column holding more
    // than one) is refused, naming them.
    if let Some((name, &i)) = ["account number", "account"].iter().find_map(|c| columns.get_key_value(*c)) {
        one_account(
            entries.iter().map(|(line, record)| (*line, record.get(i).unwrap_or(""))),
            if name == "account" { "Account" } else { "Account Number" },
            "download one account's history at a time",
        )?;
    }

    let mut converted = Converted { rows: Vec::new(), skipped: Vec::new() };
    let mut pending: Vec<Entry> = Vec::new();
    for (line, record) in &entries {
        let (line, get) = (*line, |name: &str| field(record, name));
        // Some downloads end each row with a comma the header does not have: empty fields
        // past the header's width are that, anything else is a row out of shape.
        let extra = record.iter().skip(width).any(|f| !f.trim().is_empty());
        if record.len() < width || extra {
            return Err(bad(line, "row", format!("has {} fields; Fidelity's header has {width}", record.len())));
        }
        let action = get("action");
        if is_pending(&get("run date")) || is_pending(&get("settlement date")) {
            converted.skipped.push(Skipped {
                line,
                action,
                why: "pending: Fidelity has not settled it (Processing); a later download has it".into(),
            });
            continue;
        }
        let symbol = get("symbol");
        let Some((verb, mapped)) = map(&action, &symbol, &get("description")) else {
            unknown(skip_unknown, &mut converted.skipped, line, "Action", "an action the Fidelity mapping", &action)?;
            continue;
        };
        if let Mapped::Core = mapped {
            let core = if symbol.is_empty() { String::new() } else { format!(" ({symbol})") };
            converted.skipped.push(Skipped {
                line,
                action,
                why: format!(
                    "the core money-market position{core} is cash: moving money into or out of it records nothing"
                ),
            });
            continue;
        }
        let run_date = get("run date");
        let trade_date =
            date(&run_date).ok_or_else(|| bad(line, "Run Date", format!("{run_date:?} is not a date (MM/DD/YYYY)")))?;
        let settles = get("settlement date");
        let settlement_date = match settles.as_str() {
            "" => None,
            text => Some(date(text).ok_or_else(|| {
                bad(line, "Settlement Date", format!("{text:?} is not a date (MM/DD/YYYY) or Processing"))
            })?),
        };
        let text = action.split_whitespace().collect::<Vec<_>>().join(" ");
        let (ledger_action, symbol, quantity, price, fees, description) = match mapped {
            Mapped::Trade(a) => {
                let price = money(line, "Price ($)", &get("price"))?;
                if price.is_zero() {
                    return Err(bad(line, "Price ($)", format!("is empty; a {verb} row needs the price per share")));
                }
                let fees = money(line, "Commission ($)", &get("commission"))?.abs()
                    + money(line, "Fees ($)", &get("fees"))?.abs();
                (a, symbol, number(line, "Quantity", &get("quantity"))?.abs(), price, fees, text)
            }
            Mapped::Cash { action: a, money_in, note } => {
                let written = get("amount");
                let amount = money(line, "Amount ($)", &written)?;
                same_way(line, "Amount ($)", &written, amount, money_in, &format!("a {verb} row"))?;
                let symbol = if a == "dividend" { symbol } else { String::new() };
                let description = match note {
                    Note::None => text,
                    Note::Distribution(term) => format!("{term} capital gain distribution: {text}"),
                    Note::PriorYear => format!("{text} (tax year {})", trade_date.year() - 1),
                };
                (a, symbol, Decimal::ONE, amount.abs(), Decimal::ZERO, description)
            }
            Mapped::Core => unreachable!("skipped above"),
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
    // Fidelity lists the newest entry first.
    converted.rows = rows(&oldest_first(pending), account, account_type)?;
    if converted.rows.is_empty() && converted.skipped.is_empty() {
        return Err(bad(header_line + 1, "row", "the file has a header but no rows"));
    }
    Ok(converted)
}

/// How a Fidelity action becomes a ledger row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mapped {
    /// Shares bought or sold: Quantity at Price, with Commission and Fees.
    Trade(&'static str),
    /// Money in or out of the Amount, which must run that way.
    Cash { action: &'static str, money_in: bool, note: Note },
    /// A move into or out of the core money-market position: not recorded.
    Core,
}

/// What a cash row's description adds to the action's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    None,
    /// A capital gain distribution, long- or short-term.
    Distribution(&'static str),
    /// A contribution for the previous tax year.
    PriorYear,
}

const fn cash(action: &'static str, money_in: bool) -> Mapped {
    Mapped::Cash { action, money_in, note: Note::None }
}

/// Each action's opening words (upper case), most specific first, and its row.
const ACTIONS: [(&str, Mapped); 22] = [
    ("YOU BOUGHT", Mapped::Trade("buy")),
    ("REINVESTMENT", Mapped::Trade("buy")),
    ("YOU SOLD", Mapped::Trade("sell")),
    ("PURCHASE INTO CORE ACCOUNT", Mapped::Core),
    ("REDEMPTION FROM CORE ACCOUNT", Mapped::Core),
    ("DIVIDEND RECEIVED", cash("dividend", true)),
    ("LONG-TERM CAP GAIN", Mapped::Cash { action: "dividend", money_in: true, note: Note::Distribution("long-term") }),
    (
        "SHORT-TERM CAP GAIN",
        Mapped::Cash { action: "dividend", money_in: true, note: Note::Distribution("short-term") },
    ),
    ("INTEREST EARNED", cash("interest", true)),
    ("ELECTRONIC FUNDS TRANSFER RECEIVED", cash("deposit", true)),
    ("ELECTRONIC FUNDS TRANSFER PAID", cash("withdrawal", false)),
    ("DIRECT DEPOSIT", cash("deposit", true)),
    ("DIRECT DEBIT", cash("withdrawal", false)),
    ("TRANSFERRED FROM", cash("deposit", true)),
    ("TRANSFERRED TO", cash("withdrawal", false)),
    ("CASH CONTRIBUTION PRIOR YEAR", Mapped::Cash { action: "contribution", money_in: true, note: Note::PriorYear }),
    ("CASH CONTRIBUTION CURRENT YEAR", cash("contribution", true)),
    ("CASH CONTRIBUTION", cash("contribution", true)),
    ("CONTRIBUTION", cash("contribution", true)),
    ("FOREIGN TAX PAID", cash("fee", false)),
    ("FEE CHARGED", cash("fee", false)),
    ("FEES CHARGED", cash("fee", false)),
];

/// The action's opening words and how it is recorded, or `None` for an action the mapping does
/// not record.
fn map(action: &str, symbol: &str, description: &str) -> Option<(&'static str, Mapped)> {
    let words = action.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_uppercase();
    let (verb, mapped) = ACTIONS.iter().copied().find(|(verb, _)| {
        words.strip_prefix(verb).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '(']))
    })?;
    let moves_shares = matches!(verb, "TRANSFERRED FROM" | "TRANSFERRED TO");
    if moves_shares && !symbol.is_empty() {
        return None; // shares moving between brokers: their basis is not in the file
    }
    if let Mapped::Trade(_) = mapped {
        let core_symbol = CORE_SYMBOLS.contains(&symbol.trim_end_matches('*').to_ascii_uppercase().as_str());
        let named =
            [description, words.as_str()].iter().any(|t| CORE_NAMES.iter().any(|n| t.to_ascii_uppercase().contains(n)));
        if core_symbol || named {
            return Some((verb, Mapped::Core));
        }
    }
    Some((verb, mapped))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in `examples/brokers/`: two blank lines, the header, entries newest first,
    /// a pending buy and a core reinvestment, then the notes.
    const SAMPLE: &str = include_str!("../../../examples/brokers/fidelity-history.csv");

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn the_sample_maps_to_ledger_rows() {
        assert!(recognizes(SAMPLE.as_bytes()));
        let c = parse(SAMPLE.as_bytes(), "Fidelity", Some("taxable"), false).unwrap();
        let rows = &c.rows;
        let seen: Vec<(u64, &str, Option<&str>)> =
            rows.iter().map(|r| (r.line, r.action.as_str(), r.symbol.as_deref())).collect();
        assert_eq!(
            seen,
            [
                (21, "deposit", None),
                (20, "buy", Some("VTI")),
                (19, "buy", Some("VXUS")),
                (18, "buy", Some("FCNTX")),
                (17, "dividend", Some("FCNTX")),
                (16, "dividend", Some("FCNTX")),
                (15, "dividend", Some("VTI")),
                (14, "buy", Some("VTI")),
                (13, "dividend", Some("VXUS")),
                (12, "fee", None),
                (11, "dividend", Some("SPAXX")),
                (9, "fee", None),
                (8, "interest", None),
                (7, "withdrawal", None),
                (6, "sell", Some("VXUS")),
                (5, "deposit", None),
            ],
            "oldest first, each row naming its line of the file; the preamble and notes are no rows"
        );
        assert_eq!(rows[0].account_type.map(|t| t.as_str()), Some("taxable"), "the first row opens the account");
        assert!(rows[1..].iter().all(|r| r.account_type.is_none() && r.account == "Fidelity"));
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!((rows[0].trade_date, rows[0].quantity * rows[0].price), (date(2024, 12, 2), dec("50000.00")));
        let vti = &rows[1];
        assert_eq!((vti.quantity, vti.price, vti.fees), (dec("100"), dec("290.00"), Decimal::ZERO));
        assert_eq!((vti.trade_date, vti.settlement_date), (date(2024, 12, 3), Some(date(2024, 12, 4))));
        let long = rows[4].description.as_deref().unwrap();
        assert!(long.starts_with("long-term capital gain distribution: LONG-TERM CAP GAIN"), "{long}");
        assert!(rows[5].description.as_deref().unwrap().starts_with("short-term capital gain distribution"));
        assert_eq!(rows[4].quantity * rows[4].price, dec("25.00"));
        let ordinary =
            |r: &domain::ledger::RowInput| !r.description.as_deref().unwrap().to_lowercase().contains("qualified");
        assert!(rows.iter().filter(|r| r.action.as_str() == "dividend").all(ordinary), "dividends are ordinary");
        let reinvest = &rows[7];
        assert_eq!((reinvest.quantity, reinvest.price), (dec("0.32"), dec("300.00")));
        assert_eq!((rows[9].price, rows[10].price), (dec("4.10"), dec("30.12")), "foreign tax paid; core dividend");
        assert_eq!((rows[11].price, rows[12].price, rows[13].price), (dec("10.00"), dec("1.27"), dec("2000.00")));
        let sell = &rows[14];
        assert_eq!((sell.quantity, sell.price, sell.fees), (dec("50"), dec("60.20"), dec("0.03")), "quantity unsigned");
        assert_eq!((sell.trade_date, sell.settlement_date), (date(2025, 1, 17), Some(date(2025, 1, 21))));
        assert_eq!(rows[15].description.as_deref(), Some("TRANSFERRED FROM VS Z99-999999-9 (Cash)"));

        let skipped: Vec<(u64, &str)> = c.skipped.iter().map(|s| (s.line, s.why.as_str())).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(skipped[0].0, 4);
        assert!(skipped[0].1.starts_with("pending"), "{}", skipped[0].1);
        assert_eq!(skipped[1].0, 10);
        assert!(skipped[1].1.starts_with("the core money-market position (SPAXX) is cash"), "{}", skipped[1].1);
    }

    #[test]
    fn older_downloads_name_columns_otherwise_and_pad_values() {
        let file = "\n\
 Run Date,Action,Symbol,Security Description,Security Type,Quantity,Price ($),Commission ($),Fees ($),Accrued Interest ($),Amount ($),Cash Balance ($),Settlement Date\n\
 01/15/2021, YOU BOUGHT VANGUARD INDEX FDS TOTAL STK MKT ETF (VTI) (Cash), VTI, VANGUARD INDEX FDS TOTAL STK MKT ETF, Cash,10,199.5,0.5,0.01,,-1995.51,4.49,01/19/2021\n\
 01/14/2021, YOU BOUGHT FIDELITY GOVERNMENT MONEY MARKET (SPAXX) (Cash), SPAXX, FIDELITY GOVERNMENT MONEY MARKET, Cash,2000,1,,,,-2000,2000,\n\
 01/14/2021, Electronic Funds Transfer Received (Cash),  , No Description, Cash,,,,,,2000,2000,\n\
\n\
\"Date downloaded 01/20/2021 10:28 am\",,,,,,,,,,,,\n";
        assert!(recognizes(file.as_bytes()));
        let c = parse(file.as_bytes(), "Fidelity", Some("taxable"), false).unwrap();
        let seen: Vec<(u64, &str)> = c.rows.iter().map(|r| (r.line, r.action.as_str())).collect();
        assert_eq!(seen, [(5, "deposit"), (3, "buy")]);
        assert_eq!((c.rows[1].fees, c.rows[1].symbol.as_deref()), (dec("0.51"), Some("VTI")), "commission + fees");
        assert_eq!((c.skipped.len(), c.skipped[0].line), (1, 4), "a buy of the core position is cash");

        // A current download with the columns in another order and no ($).
        let file = "Run Date,Account,Account Number,Action,Symbol,Description,Type,Price,Quantity,Commission,Fees,Amount,Settlement Date\n\
12/03/2025,\"Brokerage\",\"X00000001\",\"YOU SOLD ZOETIS INC (ZTS) (Margin)\",ZTS,\"ZOETIS INC\",Margin,120.5,-10,,0.02,1204.98,12/04/2025\n\
12/02/2025,\"Brokerage\",\"X00000001\",\"YOU BOUGHT ZOETIS INC (ZTS) (Margin)\",ZTS,\"ZOETIS INC\",Margin,120,10,,,-1200,12/03/2025\n";
        let rows = parse(file.as_bytes(), "Fidelity", Some("taxable"), false).unwrap().rows;
        assert_eq!((rows[0].action.as_str(), rows[0].price, rows[0].quantity), ("buy", dec("120"), dec("10")));
        assert_eq!((rows[1].action.as_str(), rows[1].price, rows[1].quantity), ("sell", dec("120.5"), dec("10")));
        let two = file.replacen("\"X00000001\"", "\"X00000002\"", 1);
        assert_eq!(
            parse(two.as_bytes(), "Fidelity", None, false).unwrap_err().to_string(),
            "line 3: Account Number: the file holds the entries of several accounts (X00000002, X00000001); download one \
             account's history at a time and import each into its own account"
        );
    }

    #[test]
    fn ira_contributions_are_contributions() {
        let file = "Run Date,Action,Symbol,Description,Type,Quantity,Price ($),Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date\n\
02/03/2025,\"CASH CONTRIBUTION PRIOR YEAR (Cash)\",,\"No Description\",Cash,0.000,,,,,3000,\n\
01/06/2025,\"CASH CONTRIBUTION CURRENT YEAR (Cash)\",,\"No Description\",Cash,0.000,,,,,500,\n";
        let rows = parse(file.as_bytes(), "Roth", Some("roth_ira"), false).unwrap().rows;
        assert!(rows.iter().all(|r| r.action.as_str() == "contribution"));
        assert_eq!(rows[0].description.as_deref(), Some("CASH CONTRIBUTION CURRENT YEAR (Cash)"));
        assert_eq!(rows[1].description.as_deref(), Some("CASH CONTRIBUTION PRIOR YEAR (Cash) (tax year 2024)"));
    }

    #[test]
    fn an_unknown_action_stops_the_file_or_is_skipped_and_listed() {
        let split = "01/07/2025,\"DISTRIBUTION VANGUARD INDEX FDS TOTAL STK MKT ETF (VTI) (Cash)\",VTI,\"VANGUARD INDEX FDS TOTAL STK MKT ETF\",Cash,100,,,,,,\n";
        let at = SAMPLE.find("01/06/2025").unwrap();
        let file = format!("{}{split}{}", &SAMPLE[..at], &SAMPLE[at..]);
        let e = parse(file.as_bytes(), "Fidelity", Some("taxable"), false).unwrap_err().to_string();
        assert_eq!(
            e,
            "line 8: Action: \"DISTRIBUTION VANGUARD INDEX FDS TOTAL STK MKT ETF (VTI) (Cash)\" is not an action \
             the Fidelity mapping records; --skip-unknown skips such rows"
        );
        let c = parse(file.as_bytes(), "Fidelity", Some("taxable"), true).unwrap();
        assert_eq!(c.rows.len(), 16);
        let listed: Vec<(u64, &str)> = c.skipped.iter().map(|s| (s.line, s.why.as_str())).collect();
        assert_eq!(listed[1], (8, "an action the Fidelity mapping does not record"));
        assert_eq!(listed.len(), 3, "the pending entry and the core reinvestment are listed too");

        // Shares transferred in from another broker: their basis is not in the file.
        let acat = SAMPLE.replace(
            "\"TRANSFERRED FROM VS Z99-999999-9 (Cash)\",,\"No Description\"",
            "\"TRANSFERRED FROM VS Z99-999999-9 (Cash)\",VTI,\"VANGUARD INDEX FDS TOTAL STK MKT ETF\"",
        );
        assert!(parse(acat.as_bytes(), "Fidelity", None, false)
            .unwrap_err()
            .to_string()
            .starts_with("line 5: Action:"));
    }

    #[test]
    fn rows_ending_in_a_comma_the_header_lacks_read_the_same_and_extra_values_are_refused() {
        let header = "Run Date,Action,Symbol,Description,Type,Quantity,Price ($),Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date\n";
        let row = "01/06/2025,\"CASH CONTRIBUTION CURRENT YEAR (Cash)\",,\"No Description\",Cash,0.000,,,,,500,";
        let trailing = format!("{header}{row},\n");
        let rows = parse(trailing.as_bytes(), "Roth", Some("roth_ira"), false).unwrap().rows;
        assert_eq!((rows.len(), rows[0].price.to_string()), (1, "500".into()));
        let extra = format!("{header}{row},surprise\n");
        let e = parse(extra.as_bytes(), "Roth", Some("roth_ira"), false).unwrap_err().to_string();
        assert!(e.starts_with("line 2: row: has 13 fields"), "{e}");
    }

    #[test]
    fn bad_values_name_their_line_and_column() {
        let file = SAMPLE.replace(",60.20,", ",6O.20,");
        assert_eq!(
            parse(file.as_bytes(), "Fidelity", None, false).unwrap_err().to_string(),
            "line 6: Price ($): \"6O.20\" is not an amount ($1,234.56)"
        );
        let file = SAMPLE.replace("01/17/2025,", "2025-01-17,");
        assert_eq!(
            parse(file.as_bytes(), "Fidelity", None, false).unwrap_err().to_string(),
            "line 6: Run Date: \"2025-01-17\" is not a date (MM/DD/YYYY)"
        );
        let refund = SAMPLE.replace(",-10.00,", ",10.00,");
        assert_eq!(
            parse(refund.as_bytes(), "Fidelity", None, false).unwrap_err().to_string(),
            "line 9: Amount ($): \"10.00\" is money in; a FEE CHARGED row is money out"
        );
        let after = format!("{SAMPLE}01/02/2025,\"YOU BOUGHT ZOETIS INC (ZTS) (Cash)\",ZTS,\"ZOETIS INC\",Cash,1,120,,,,-120,01/03/2025\n");
        let e = parse(after.as_bytes(), "Fidelity", None, false).unwrap_err().to_string();
        assert!(
            e.starts_with("line 29: row: an entry after the notes that end Fidelity's history (from line 24)"),
            "{e}"
        );
        assert_eq!(
            parse(b"\n\nBrokerage\n", "Fidelity", None, false).unwrap_err().to_string(),
            format!("line 1: header: no Fidelity header {HEADER:?} in the file")
        );
    }

    #[test]
    fn only_fidelity_histories_are_recognized() {
        use super::super::broker::Broker;
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), SAMPLE.as_bytes()].concat();
        assert_eq!(Broker::recognize(&with_bom), Some(Broker::Fidelity), "no other format claims it");
        assert!(!Broker::Fidelity.parse(&with_bom, "A", None, false).unwrap().rows.is_empty());
        assert!(!recognizes(include_bytes!("../../../examples/brokers/schwab-transactions.csv")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/vanguard-transactions.csv")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/ofx-investment-v1.ofx")));
        assert!(!recognizes(include_bytes!("../../../examples/brokers/ofx-investment-v2.ofx")));
        assert!(!recognizes(b"trade_date,account,account_type,action,symbol,quantity,price,fees\n"));
    }
}
