//! Charles Schwab's transaction history export (Accounts → History → Export → CSV), mapped to
//! ledger rows of one account.
//!
//! The file is the columns `"Date","Action","Symbol","Description","Quantity","Price","Fees &
//! Comm","Amount"`, every value quoted, after an optional title line (`"Transactions for
//! account … as of …"`) and before an optional `"Transactions Total"` line. Dates are
//! `MM/DD/YYYY`, or `MM/DD/YYYY as of MM/DD/YYYY` for an entry posted after the date it took
//! effect: the row takes the effective (`as of`) date. Money is `$1,234.56` or `-$1,234.56`;
//! quantities may carry thousands separators.
//!
//! | Schwab action | ledger row |
//! | --- | --- |
//! | Buy, Reinvest Shares | `buy` of Quantity at Price, Fees & Comm as fees |
//! | Sell | `sell` of Quantity at Price, Fees & Comm as fees |
//! | Qualified Dividend, Special Qual Div, Qual Div Reinvest | a qualified `dividend` of Amount |
//! | Cash Dividend, Non-Qualified Div, Special Dividend, Reinvest Dividend, Pr Yr Cash Div, Pr Yr Div Reinvest, Pr Yr Non-Qual Div | an ordinary `dividend` of Amount (Schwab does not say whether a reinvested dividend qualifies; the 1099-DIV does) |
//! | Bank Interest, Credit Interest, Bond Interest | `interest` of Amount |
//! | MoneyLink Transfer, MoneyLink Deposit, Wire Funds, Wire Funds Received, Funds Received, Journal (no symbol) | `deposit` of a positive Amount, `withdrawal` of a negative one |
//! | Service Fee, ADR Mgmt Fee, Margin Interest, Foreign Tax Paid | `fee` of the Amount paid |
//! | Stock Split, Forward Split (shares delivered) | a `split` of the symbol, its ratio found from the shares held |
//! | Reverse Split (one row taking the old shares, one delivering the new) | a `split` of the shares taken; then a `symbol_change` when the new shares are of another ticker (a CUSIP in the Symbol column is the same security) |
//! | Name Change (one row taking shares of the old symbol, one delivering as many of the new) | a `symbol_change` |
//! | Cash In Lieu | a `sell` of the fraction of a share the account holds, for the Amount |
//! | Journal, Journaled Shares (with a symbol, shares leaving) | a `transfer_out` (no sale) |
//!
//! Schwab reports what a split delivered, never its ratio: recording the row finds it from the
//! shares the account held just before (`domain::ledger::ByHolding`, `Ratio::delivering`), and
//! refuses a reverse split that takes other than what the ledger holds. A fraction the split
//! leaves stays held until the Cash In Lieu row sells it, which may arrive in a later file.
//!
//! A dividend, interest or fee row whose Amount runs the other way (a reversal, a refund) is
//! refused, naming its line, rather than recorded with the wrong sign.
//!
//! Refused, naming the line, unless the caller asks to skip such rows (skipped rows are listed
//! with why): a spin-off (the basis allocation comes from the issuer's Form 8937, not the
//! file), shares journaled in (their basis and dates are not in the file), options, and any
//! action Schwab adds later.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::ledger::types::valid_cusip;
use domain::ledger::ByHolding;
use rust_decimal::Decimal;

use super::broker::{money, number, oldest_first_by, rows, same_way, unknown, unrecordable, Converted, Entry};
use super::csv::bad;
use crate::CommandError;

/// The export's column names, in order.
pub const HEADER: [&str; 8] = ["Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm", "Amount"];

/// Whether `bytes` look like a Schwab export: its header within the first three lines.
pub fn recognizes(bytes: &[u8]) -> bool {
    let mut reader = reader(bytes);
    reader.records().take(3).filter_map(Result::ok).any(|r| is_header(&r))
}

fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(bytes)
}

fn is_header(record: &csv::StringRecord) -> bool {
    record.len() >= HEADER.len() && HEADER.iter().zip(record.iter()).all(|(h, v)| h.eq_ignore_ascii_case(v))
}

/// Converts a Schwab export into rows of `account` (`account_type` where the account is new).
/// With `skip_unknown`, rows of an action this mapping does not know are skipped and listed
/// instead of refusing the file.
pub fn parse(
    bytes: &[u8],
    account: &str,
    account_type: Option<&str>,
    skip_unknown: bool,
) -> Result<Converted, CommandError> {
    let mut reader = reader(bytes);
    let mut header = false;
    let mut converted = Converted { rows: Vec::new(), skipped: Vec::new() };
    // Each entry in a group of its own, but a split and the symbol change it brings.
    let mut pending: Vec<(u64, Vec<Entry>)> = Vec::new();
    let mut shares: Vec<Shares> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| bad(e.position().map_or(0, |p| p.line()), "row", e))?;
        let line = record.position().map_or(0, |p| p.line());
        if !header {
            if is_header(&record) {
                header = true;
                continue;
            }
            if record.iter().skip(1).all(str::is_empty) {
                // The title line ("Transactions for account …") or a blank one.
                continue;
            }
            return Err(bad(line, "header", format!("expected Schwab's columns {HEADER:?}")));
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        if record.iter().all(str::is_empty) || field(0).starts_with("Transactions Total") {
            continue;
        }
        if record.len() != HEADER.len() {
            return Err(bad(line, "row", format!("has {} fields; Schwab's export has {}", record.len(), HEADER.len())));
        }
        let action = field(1);
        let Some(mapped) = map(action, field(2)) else {
            unknown(skip_unknown, &mut converted.skipped, line, "Action", "an action the Schwab mapping", action)?;
            continue;
        };
        let date = trade_date(line, field(0))?;
        let amount = money(line, "Amount", field(7))?;
        let symbol = field(2).to_owned();
        let description = format!("{action}: {}", field(3));
        let (ledger_action, quantity, price, fees) = match mapped {
            Mapped::Trade(a) => (
                a,
                number(line, "Quantity", field(4))?.abs(),
                money(line, "Price", field(5))?,
                money(line, "Fees & Comm", field(6))?,
            ),
            Mapped::Income(a, _) | Mapped::Charge(a) => {
                // Money in for income, out for a charge: the other sign (a reversal, a refund)
                // is not this action's row.
                let money_in = !matches!(mapped, Mapped::Charge(_));
                same_way(line, "Amount", field(7), amount, money_in, &format!("a {action} row"))?;
                (a, Decimal::ONE, amount.abs(), Decimal::ZERO)
            }
            Mapped::Transfer => {
                let a = if amount.is_sign_negative() { "withdrawal" } else { "deposit" };
                (a, Decimal::ONE, amount.abs(), Decimal::ZERO)
            }
            Mapped::Split | Mapped::NameChange => {
                let quantity = number(line, "Quantity", field(4))?;
                if quantity.is_zero() {
                    return Err(bad(line, "Quantity", format!("a {action} row needs the shares it took or delivered")));
                }
                shares.push(Shares {
                    line,
                    date,
                    split: matches!(mapped, Mapped::Split),
                    symbol,
                    quantity,
                    description,
                });
                continue;
            }
            Mapped::CashInLieu => {
                same_way(line, "Amount", field(7), amount, true, &format!("a {action} row"))?;
                let entry = Entry {
                    line,
                    date,
                    action: "sell",
                    symbol,
                    price: amount,
                    description,
                    by_holding: Some(ByHolding::CashInLieu),
                    ..Entry::default()
                };
                pending.push((line, vec![entry]));
                continue;
            }
            Mapped::ShareJournal => {
                let quantity = number(line, "Quantity", field(4))?;
                if quantity > Decimal::ZERO {
                    unrecordable(skip_unknown, &mut converted.skipped, line, "Action", action, JOURNALED_IN)?;
                    continue;
                }
                ("transfer_out", quantity.abs(), Decimal::ZERO, Decimal::ZERO)
            }
            Mapped::Unrecordable(why) => {
                unrecordable(skip_unknown, &mut converted.skipped, line, "Action", action, why)?;
                continue;
            }
        };
        let symbol = if matches!(mapped, Mapped::Trade(_) | Mapped::Income("dividend", _) | Mapped::ShareJournal) {
            symbol
        } else {
            String::new()
        };
        // The ledger reads a dividend as qualified when its description says so.
        let description = match mapped {
            Mapped::Income(_, true) if !action.contains("Qualified") => {
                format!("{action} (qualified dividend): {}", field(3))
            }
            _ => description,
        };
        let entry =
            Entry { line, date, action: ledger_action, symbol, quantity, price, fees, description, ..Entry::default() };
        pending.push((line, vec![entry]));
    }
    if !header {
        return Err(bad(1, "header", format!("no Schwab header {HEADER:?} in the file")));
    }
    let cash_in_lieu: Vec<(NaiveDate, &str)> = pending
        .iter()
        .flat_map(|(_, group)| group)
        .filter(|e| e.by_holding == Some(ByHolding::CashInLieu))
        .map(|e| (e.date, e.symbol.as_str()))
        .collect();
    let corporate = corporate_actions(&shares, &cash_in_lieu)?;
    pending.extend(corporate);
    pending.sort_by_key(|(line, _)| *line);
    // Schwab lists the newest entry first.
    let entries: Vec<Entry> =
        oldest_first_by(pending, |(_, group)| group[0].date).into_iter().flat_map(|(_, g)| g).collect();
    converted.rows = rows(&entries, account, account_type)?;
    if converted.rows.is_empty() && converted.skipped.is_empty() {
        return Err(bad(2, "row", "the file has a header but no rows"));
    }
    Ok(converted)
}

/// Why shares journaled into the account are not recorded from the file.
const JOURNALED_IN: &str = "shares journaled in need their cost basis and acquisition date, which the export does not \
     give: record them as a transfer_in row with their basis per share as price (or, from another account of the \
     household, as a transfer_out and transfer_in pair in one file)";

/// A row of shares taken (negative) or delivered (positive) by a split or a name change.
#[derive(Debug)]
struct Shares {
    line: u64,
    date: NaiveDate,
    /// A split (Stock Split, Reverse Split), else a name change.
    split: bool,
    symbol: String,
    quantity: Decimal,
    description: String,
}

/// How many days after a split Schwab may pay cash in lieu of its fraction.
const CASH_IN_LIEU_WITHIN_DAYS: i64 = 31;

/// The splits and name changes of a file, from its rows of shares, each a group in the order
/// it is recorded under the line it starts at:
/// - a day's split rows that only deliver shares are forward splits, each sized when recorded
///   by what the account held ([`ByHolding::Split`]);
/// - one row taking shares and one delivering them on a day is a split of the shares taken:
///   a reverse split, followed by a symbol change when the shares delivered are of another
///   ticker (a new CUSIP in the Symbol column is the same security);
/// - a name change is one row taking shares of the old symbol and one delivering as many of
///   the new symbol on one day.
///
/// A split counts a fraction as paid for when cash in lieu of its symbol follows it within
/// [`CASH_IN_LIEU_WITHIN_DAYS`] in the file (`cash_in_lieu`: each such row's date and symbol).
fn corporate_actions(
    shares: &[Shares],
    cash_in_lieu: &[(NaiveDate, &str)],
) -> Result<Vec<(u64, Vec<Entry>)>, CommandError> {
    let mut days: BTreeMap<(NaiveDate, bool), Vec<&Shares>> = BTreeMap::new();
    for s in shares {
        days.entry((s.date, s.split)).or_default().push(s);
    }
    let paid = |date: NaiveDate, symbol: &str| {
        cash_in_lieu
            .iter()
            .any(|(d, s)| *s == symbol && *d >= date && (*d - date).num_days() <= CASH_IN_LIEU_WITHIN_DAYS)
    };
    let mut groups = Vec::new();
    for ((date, split), rows) in days {
        let (taken, delivered): (Vec<&Shares>, Vec<&Shares>) = rows.iter().partition(|s| s.quantity < Decimal::ZERO);
        let entry = |s: &Shares, action: &'static str| Entry {
            line: s.line,
            date,
            action,
            symbol: s.symbol.clone(),
            quantity: s.quantity.abs(),
            description: s.description.clone(),
            ..Entry::default()
        };
        match (split, taken.as_slice(), delivered.as_slice()) {
            (true, [], forward) => {
                for s in forward {
                    let by_holding =
                        ByHolding::Split { removed: None, delivered: s.quantity, fraction_paid: paid(date, &s.symbol) };
                    groups.push((s.line, vec![Entry { by_holding: Some(by_holding), ..entry(s, "split") }]));
                }
            }
            (true, [old], [new]) => {
                let fraction_paid = paid(date, &old.symbol) || paid(date, &new.symbol);
                let by_holding =
                    ByHolding::Split { removed: Some(-old.quantity), delivered: new.quantity, fraction_paid };
                let mut group = vec![Entry { by_holding: Some(by_holding), ..entry(old, "split") }];
                if new.symbol != old.symbol && !valid_cusip(&new.symbol) {
                    group.push(Entry { new_symbol: Some(new.symbol.clone()), ..entry(old, "symbol_change") });
                }
                groups.push((old.line.min(new.line), group));
            }
            (false, [old], [new]) if -old.quantity == new.quantity => {
                let change = Entry { new_symbol: Some(new.symbol.clone()), ..entry(old, "symbol_change") };
                groups.push((old.line.min(new.line), vec![change]));
            }
            (false, [old, ..], _) | (false, _, [old, ..]) => {
                return Err(bad(
                    old.line,
                    "Quantity",
                    format!(
                        "a name change is one row taking shares of the old symbol and one delivering as many of the \
                         new; on {date} the file has {} taking and {} delivering",
                        taken.len(),
                        delivered.len()
                    ),
                ))
            }
            (true, [s, ..], _) => {
                return Err(bad(
                    s.line,
                    "Quantity",
                    format!(
                        "a split is rows delivering shares, or one row taking the old shares and one delivering the \
                         new; on {date} the file has {} taking and {} delivering",
                        taken.len(),
                        delivered.len()
                    ),
                ))
            }
            (false, [], []) => {}
        }
    }
    Ok(groups)
}

/// How a Schwab action becomes a ledger row.
#[derive(Debug, Clone, Copy)]
enum Mapped {
    /// Shares bought or sold: Quantity at Price, with Fees & Comm.
    Trade(&'static str),
    /// Money in of the Amount: a dividend (qualified or not) or interest.
    Income(&'static str, bool),
    /// Money out of the Amount: a fee.
    Charge(&'static str),
    /// Cash in or out by the Amount's sign.
    Transfer,
    /// Shares taken or delivered by a split.
    Split,
    /// Shares taken or delivered by a change of symbol.
    NameChange,
    /// Cash for the fraction of a share a split or merger left.
    CashInLieu,
    /// Shares moved to (negative) or from another account.
    ShareJournal,
    /// Known, but not recordable from the file alone: why.
    Unrecordable(&'static str),
}

fn map(action: &str, symbol: &str) -> Option<Mapped> {
    Some(match action {
        "Buy" | "Reinvest Shares" => Mapped::Trade("buy"),
        "Sell" => Mapped::Trade("sell"),
        "Qualified Dividend" | "Special Qual Div" | "Qual Div Reinvest" => Mapped::Income("dividend", true),
        "Cash Dividend" | "Non-Qualified Div" | "Special Dividend" | "Reinvest Dividend" | "Pr Yr Cash Div"
        | "Pr Yr Div Reinvest" | "Pr Yr Non-Qual Div" => Mapped::Income("dividend", false),
        "Bank Interest" | "Credit Interest" | "Bond Interest" => Mapped::Income("interest", false),
        "MoneyLink Transfer" | "MoneyLink Deposit" | "Wire Funds" | "Wire Funds Received" | "Funds Received" => {
            Mapped::Transfer
        }
        "Journal" if symbol.is_empty() => Mapped::Transfer,
        "Journal" | "Journaled Shares" => Mapped::ShareJournal,
        "Service Fee" | "ADR Mgmt Fee" | "Margin Interest" | "Foreign Tax Paid" => Mapped::Charge("fee"),
        "Stock Split" | "Forward Split" | "Reverse Split" => Mapped::Split,
        "Name Change" => Mapped::NameChange,
        "Cash In Lieu" => Mapped::CashInLieu,
        "Spin-off" | "Spin-Off" | "Spinoff" => Mapped::Unrecordable(
            "a spin-off needs its parent symbol and the share of basis the new shares take (the issuer's Form 8937), \
             which the export does not give: record it as a spinoff row (symbol, new_symbol, ratio, allocation)",
        ),
        _ => return None,
    })
}

/// `MM/DD/YYYY`, or the effective date of `MM/DD/YYYY as of MM/DD/YYYY`.
fn trade_date(line: u64, text: &str) -> Result<NaiveDate, CommandError> {
    let effective = text.rsplit(" as of ").next().unwrap_or(text).trim();
    NaiveDate::parse_from_str(effective, "%m/%d/%Y")
        .map_err(|_| bad(line, "Date", format!("{text:?} is not a date (MM/DD/YYYY, or MM/DD/YYYY as of MM/DD/YYYY)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up export in Schwab's layout: title line, header, entries newest first, total.
    pub(crate) const SAMPLE: &str = "\"Transactions  for account Individual ...123 as of 01/20/2025 10:15:32 ET\",\"\",\"\",\"\",\"\",\"\",\"\",\"\"\n\
\"Date\",\"Action\",\"Symbol\",\"Description\",\"Quantity\",\"Price\",\"Fees & Comm\",\"Amount\"\n\
\"01/17/2025\",\"Sell\",\"VTI\",\"VANGUARD TOTAL STOCK MARKET ETF\",\"5\",\"$295.10\",\"$0.02\",\"$1,475.48\"\n\
\"01/15/2025 as of 01/13/2025\",\"Qualified Dividend\",\"VTI\",\"VANGUARD TOTAL STOCK MARKET ETF\",\"\",\"\",\"\",\"$12.34\"\n\
\"01/10/2025\",\"Reinvest Shares\",\"SCHD\",\"SCHWAB US DIVIDEND EQUITY ETF\",\"0.4521\",\"$27.30\",\"\",\"-$12.34\"\n\
\"01/10/2025\",\"Reinvest Dividend\",\"SCHD\",\"SCHWAB US DIVIDEND EQUITY ETF\",\"\",\"\",\"\",\"$12.34\"\n\
\"01/06/2025\",\"Buy\",\"VTI\",\"VANGUARD TOTAL STOCK MARKET ETF\",\"1,000\",\"$290.00\",\"\",\"-$290,000.00\"\n\
\"01/03/2025\",\"Bank Interest\",\"\",\"BANK INT 120124-123124 SCHWAB BANK\",\"\",\"\",\"\",\"$0.41\"\n\
\"01/02/2025\",\"Service Fee\",\"\",\"WIRE FEE\",\"\",\"\",\"\",\"-$15.00\"\n\
\"01/02/2025\",\"MoneyLink Transfer\",\"\",\"Tfr BANK OF EXAMPLE, JANE DOE\",\"\",\"\",\"\",\"$300,000.00\"\n\
\"Transactions Total\",\"\",\"\",\"\",\"\",\"\",\"\",\"$10,461.23\"\n";

    #[test]
    fn the_sample_maps_to_ledger_rows() {
        assert!(recognizes(SAMPLE.as_bytes()));
        let c = parse(SAMPLE.as_bytes(), "Schwab", Some("taxable"), false).unwrap();
        let rows = &c.rows;
        let seen: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.action.as_str())).collect();
        assert_eq!(
            seen,
            [
                (10, "deposit"),
                (9, "fee"),
                (8, "interest"),
                (7, "buy"),
                (6, "dividend"),
                (5, "buy"),
                (4, "dividend"),
                (3, "sell")
            ],
            "oldest first, each row naming its line of the file"
        );
        assert_eq!(rows[0].account_type.map(|t| t.as_str()), Some("taxable"), "the first row opens the account");
        assert!(rows[1..].iter().all(|r| r.account_type.is_none()));
        assert!(rows.iter().all(|r| r.account == "Schwab"));
        assert_eq!(
            (rows[0].price, rows[1].price, rows[2].price.to_string()),
            (Decimal::from(300_000), Decimal::from(15), "0.41".into())
        );
        assert_eq!((rows[3].symbol.as_deref(), rows[3].quantity), (Some("VTI"), Decimal::from(1000)));
        assert_eq!((rows[5].symbol.as_deref(), rows[5].quantity.to_string()), (Some("SCHD"), "0.4521".into()));
        assert!(!rows[4].description.as_deref().unwrap().to_lowercase().contains("qualified"), "reinvested: ordinary");
        let dividend = &rows[6];
        assert_eq!(dividend.trade_date, NaiveDate::from_ymd_opt(2025, 1, 13).unwrap(), "the as-of date");
        assert_eq!(dividend.quantity * dividend.price, Decimal::new(1234, 2));
        assert!(dividend.description.as_deref().unwrap().to_lowercase().contains("qualified"));
        let sell = &rows[7];
        assert_eq!(
            (sell.quantity.to_string(), sell.price.to_string(), sell.fees.to_string()),
            ("5".into(), "295.10".into(), "0.02".into())
        );
    }

    #[test]
    fn splits_name_changes_cash_in_lieu_and_journals_map_to_rows_sized_when_recorded() {
        let file = include_str!("../../../examples/brokers/schwab-corporate-actions.csv");
        let c = parse(file.as_bytes(), "Schwab", Some("taxable"), false).unwrap();
        let rows: Vec<(u64, &str, &str, String, Option<&str>)> = c
            .rows
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.action.as_str(),
                    r.symbol.as_deref().unwrap_or(""),
                    r.quantity.to_string(),
                    r.new_symbol.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            rows[4..],
            [
                (9, "split", "ABC", "50".into(), None),
                (8, "sell", "ABC", "0".into(), None),
                (7, "split", "XYZ", "250".into(), None),
                (5, "symbol_change", "OLDCO", "40".into(), Some("NEWCO")),
                (3, "transfer_out", "ABC", "10".into(), None),
            ]
        );
        let by_holding: Vec<Option<ByHolding>> = c.rows.iter().map(|r| r.by_holding).collect();
        assert_eq!(
            by_holding[4..7],
            [
                Some(ByHolding::Split { removed: None, delivered: Decimal::from(50), fraction_paid: true }),
                Some(ByHolding::CashInLieu),
                // The new CUSIP in the Symbol column is XYZ's: no symbol change.
                Some(ByHolding::Split {
                    removed: Some(Decimal::from(250)),
                    delivered: Decimal::from(25),
                    fraction_paid: false
                }),
            ]
        );
        assert_eq!(c.rows[5].price, Decimal::new(3750, 2), "cash in lieu carries the whole amount until sized");

        // A reverse split into another ticker is the split and then the symbol change.
        let renamed = file.replace("\"98765X106\"", "\"XYZN\"");
        let c = parse(renamed.as_bytes(), "Schwab", Some("taxable"), false).unwrap();
        let actions: Vec<(&str, Option<&str>)> =
            c.rows[6..8].iter().map(|r| (r.action.as_str(), r.new_symbol.as_deref())).collect();
        assert_eq!(actions, [("split", None), ("symbol_change", Some("XYZN"))]);

        // What the file cannot say is refused, naming the line, or skipped and listed.
        let unmatched = file
            .replace("\"NEWCO\",\"NEWCO INTERNATIONAL INC\",\"40\"", "\"NEWCO\",\"NEWCO INTERNATIONAL INC\",\"20\"");
        assert!(parse(unmatched.as_bytes(), "Schwab", None, false)
            .unwrap_err()
            .to_string()
            .starts_with("line 5: Quantity: a name change is one row"),);
        let journaled_in = file.replace("\"-10\"", "\"10\"");
        let e = parse(journaled_in.as_bytes(), "Schwab", Some("taxable"), false).unwrap_err().to_string();
        assert!(e.starts_with("line 3: Action: \"Journal\": shares journaled in need their cost basis"), "{e}");
        let spun = file.replace("\"Journal\",\"ABC\"", "\"Spin-off\",\"ABCS\"");
        let e = parse(spun.as_bytes(), "Schwab", Some("taxable"), false).unwrap_err().to_string();
        assert!(e.contains("Form 8937"), "{e}");
        let c = parse(spun.as_bytes(), "Schwab", Some("taxable"), true).unwrap();
        assert_eq!((c.skipped[0].line, c.skipped[0].action.as_str()), (3, "Spin-off"));
    }

    #[test]
    fn abbreviated_qualified_dividends_are_qualified() {
        for action in ["Special Qual Div", "Qual Div Reinvest"] {
            let file = SAMPLE.replace("\"Qualified Dividend\"", &format!("\"{action}\""));
            let rows = parse(file.as_bytes(), "Schwab", None, false).unwrap().rows;
            let text = rows[6].description.as_deref().unwrap().to_lowercase();
            assert!(text.contains("qualified") && !text.contains("non-qualified"), "{text}");
        }
    }

    #[test]
    fn an_unknown_action_stops_the_file_or_is_skipped_and_listed() {
        let file = SAMPLE.replace(
            "\"01/06/2025\",\"Buy\"",
            "\"01/07/2025\",\"Exchange or Exercise\",\"VTI 01/17/2025 300.00 C\",\"CALL VANGUARD\",\"1\",\"\",\"\",\"\"\n\"01/06/2025\",\"Buy\"",
        );
        let e = parse(file.as_bytes(), "Schwab", Some("taxable"), false).unwrap_err().to_string();
        assert_eq!(
            e,
            "line 7: Action: \"Exchange or Exercise\" is not an action the Schwab mapping records; --skip-unknown skips such rows"
        );
        let c = parse(file.as_bytes(), "Schwab", Some("taxable"), true).unwrap();
        assert_eq!(c.rows.len(), 8);
        assert_eq!((c.skipped[0].line, c.skipped[0].action.as_str()), (7, "Exchange or Exercise"));
        assert_eq!((c.rows[3].line, c.rows[3].action.as_str()), (8, "buy"), "the buy moved down a line");
    }

    #[test]
    fn bad_values_name_their_line_and_column() {
        let file = SAMPLE.replace("\"$295.10\"", "\"$29x.10\"");
        assert_eq!(
            parse(file.as_bytes(), "Schwab", None, false).unwrap_err().to_string(),
            "line 3: Price: \"$29x.10\" is not an amount ($1,234.56)"
        );
        let file = SAMPLE.replace("\"01/17/2025\"", "\"2025-01-17\"");
        assert!(parse(file.as_bytes(), "Schwab", None, false).unwrap_err().to_string().starts_with("line 3: Date:"));
        assert!(!recognizes(b"trade_date,account,account_type,action,symbol,quantity,price,fees\n"));
        let refund =
            SAMPLE.replace("\"WIRE FEE\",\"\",\"\",\"\",\"-$15.00\"", "\"WIRE FEE\",\"\",\"\",\"\",\"$15.00\"");
        assert_eq!(
            parse(refund.as_bytes(), "Schwab", None, false).unwrap_err().to_string(),
            "line 9: Amount: \"$15.00\" is money in; a Service Fee row is money out"
        );
        assert_eq!(money(1, "Amount", "($1,234.56)").unwrap(), Decimal::new(-123456, 2));
        assert_eq!(money(1, "Amount", "$-5.00").unwrap(), Decimal::new(-500, 2));
    }
}
