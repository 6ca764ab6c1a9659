//! The ledger import benchmark behind `cairn bench import`: a generated but realistic file
//! (trades spread over two years, prices on a random walk, sells of part of what is held, so
//! wash sales happen across accounts) imported end to end: parse, load, decide, append.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use chrono::NaiveDate;
use event_store::EventStore;

use crate::input::broker::Broker;
use crate::ledger::{import_broker, import_csv, Caller, Outcome};
use crate::{CommandError, Context};

const ACCOUNT_TYPES: [&str; 10] = [
    "taxable",
    "taxable",
    "taxable",
    "taxable",
    "traditional_ira",
    "roth_ira",
    "traditional_401k",
    "roth_401k",
    "hsa",
    "sep_ira",
];

/// A small deterministic generator (64-bit LCG), so every run imports the same file.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The generated files' days: 500 trading days from 2 January 2024.
fn trading_days() -> Vec<NaiveDate> {
    NaiveDate::from_ymd_opt(2024, 1, 2)
        .expect("valid date")
        .iter_days()
        .filter(|d| !domain::calendar::is_market_closed(*d))
        .take(500)
        .collect()
}

/// A ledger CSV of `trades` rows over `accounts` accounts and `symbols` symbols.
pub fn generate_csv(trades: usize, accounts: usize, symbols: usize) -> String {
    let mut rng = Lcg(0x5eed_cafe);
    let accounts = accounts.max(1);
    let symbols = symbols.max(1);
    let mut price: Vec<i64> = (0..symbols).map(|_| 2_000 + rng.below(30_000) as i64).collect();
    let mut held: HashMap<(usize, usize), u64> = HashMap::new();
    let mut opened = vec![false; accounts];
    let days = trading_days();
    let per_day = (trades / days.len()).max(1);
    let mut out = String::with_capacity(trades * 64);
    out.push_str("trade_date,account,account_type,action,symbol,quantity,price,fees\n");
    for i in 0..trades {
        let date = days[(i / per_day).min(days.len() - 1)];
        let a = rng.below(accounts as u64) as usize;
        let s = rng.below(symbols as u64) as usize;
        // A random walk of about 2% a step, never below $1.
        price[s] = (price[s] + price[s] * (rng.below(41) as i64 - 20) / 1_000).max(100);
        let h = held.entry((a, s)).or_default();
        let (action, quantity) =
            if *h > 0 && rng.below(10) < 4 { ("sell", 1 + rng.below(*h)) } else { ("buy", 1 + rng.below(100)) };
        if action == "sell" {
            *h -= quantity;
        } else {
            *h += quantity;
        }
        let account_type = if opened[a] { "" } else { ACCOUNT_TYPES[a % ACCOUNT_TYPES.len()] };
        opened[a] = true;
        let _ = writeln!(
            out,
            "{date},acct-{a:02},{account_type},{action},S{s:03},{quantity},{}.{:02},0.35",
            price[s] / 100,
            price[s] % 100
        );
    }
    out
}

/// The same kind of history as [`generate_csv`], as Charles Schwab's transaction export of one
/// account (newest first, `$` amounts, a title and a total line): a MoneyLink deposit that pays
/// for it all, buys and sells of `symbols` symbols, and a qualified dividend every 50 rows.
pub fn generate_schwab(trades: usize, symbols: usize) -> String {
    let mut rng = Lcg(0x5eed_cafe);
    let symbols = symbols.max(1);
    let mut price: Vec<i64> = (0..symbols).map(|_| 2_000 + rng.below(30_000) as i64).collect();
    let mut held: HashMap<usize, u64> = HashMap::new();
    let days = trading_days();
    let per_day = (trades / days.len()).max(1);
    let cents = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    let mut lines: Vec<String> = Vec::with_capacity(trades + 1);
    let first = days[0].format("%m/%d/%Y");
    lines.push(format!("\"{first}\",\"MoneyLink Transfer\",\"\",\"Tfr BANK\",\"\",\"\",\"\",\"$1000000000.00\""));
    for i in 1..trades.max(1) {
        let date = days[(i / per_day).min(days.len() - 1)].format("%m/%d/%Y");
        let s = rng.below(symbols as u64) as usize;
        price[s] = (price[s] + price[s] * (rng.below(41) as i64 - 20) / 1_000).max(100);
        let h = held.entry(s).or_default();
        if i % 50 == 0 && *h > 0 {
            lines.push(format!(
                "\"{date}\",\"Qualified Dividend\",\"S{s:03}\",\"FUND {s}\",\"\",\"\",\"\",\"${}\"",
                cents(*h as i64 * 7)
            ));
            continue;
        }
        let (action, quantity) =
            if *h > 0 && rng.below(10) < 4 { ("Sell", 1 + rng.below(*h)) } else { ("Buy", 1 + rng.below(100)) };
        let gross = price[s] * quantity as i64;
        let amount = if action == "Sell" {
            *h -= quantity;
            format!("${}", cents(gross - 35))
        } else {
            *h += quantity;
            format!("-${}", cents(gross + 35))
        };
        lines.push(format!(
            "\"{date}\",\"{action}\",\"S{s:03}\",\"FUND {s}\",\"{quantity}\",\"${}\",\"$0.35\",\"{amount}\"",
            cents(price[s])
        ));
    }
    let mut out = String::with_capacity(trades * 96);
    out.push_str(
        "\"Transactions  for account Brokerage ...000 as of 12/31/2025\",\"\",\"\",\"\",\"\",\"\",\"\",\"\"\n",
    );
    out.push_str("\"Date\",\"Action\",\"Symbol\",\"Description\",\"Quantity\",\"Price\",\"Fees & Comm\",\"Amount\"\n");
    for line in lines.iter().rev() {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("\"Transactions Total\",\"\",\"\",\"\",\"\",\"\",\"\",\"$0.00\"\n");
    out
}

/// What `cairn bench import` measured (the CLI turns the time into rates).
#[derive(Debug, Clone)]
pub struct ImportBench {
    pub trades: usize,
    pub elapsed: std::time::Duration,
    pub outcome: Outcome,
}

/// The file `cairn bench import` generates: the ledger CSV over `accounts` accounts, or (with
/// `broker`) that broker's export of one account.
pub fn generate(broker: Option<Broker>, trades: usize, accounts: usize, symbols: usize) -> String {
    match broker {
        None => generate_csv(trades, accounts, symbols),
        Some(Broker::Schwab) => generate_schwab(trades, symbols),
        Some(other) => unreachable!("no generator for {}", other.name()),
    }
}

/// Generates a file and times its import into `store`, end to end (parse, map, load, decide,
/// append).
pub async fn import<S: EventStore>(
    cx: &Context<S>,
    broker: Option<Broker>,
    trades: usize,
    accounts: usize,
    symbols: usize,
) -> Result<ImportBench, CommandError> {
    let file = generate(broker, trades, accounts, symbols);
    let start = Instant::now();
    let caller = Caller { actor: "bench".into(), source: "cairn bench import".into() };
    let outcome = match broker {
        None => import_csv(cx, "bench household", file.as_bytes(), false, &caller).await?,
        Some(b) => {
            let account_type = Some("taxable");
            import_broker(cx, "bench household", file.as_bytes(), b, "Brokerage", account_type, false, false, &caller)
                .await?
                .0
        }
    };
    Ok(ImportBench { trades, elapsed: start.elapsed(), outcome })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_schwab_export_reads_as_one_accounts_rows_that_sell_only_what_is_held() {
        let file = generate_schwab(2_000, 50);
        assert_eq!(Broker::recognize(file.as_bytes()), Some(Broker::Schwab));
        let c = Broker::Schwab.parse(file.as_bytes(), "Brokerage", Some("taxable"), false).unwrap();
        assert_eq!((c.rows.len(), c.skipped.len()), (2_000, 0));
        assert_eq!(c.rows[0].action, domain::ledger::types::Action::Deposit, "oldest first");
        let mut held: HashMap<String, rust_decimal::Decimal> = HashMap::new();
        for r in c.rows.iter().filter(|r| r.action.moves_shares()) {
            let h = held.entry(r.symbol.clone().unwrap()).or_default();
            if r.action == domain::ledger::types::Action::Buy {
                *h += r.quantity;
            } else {
                *h -= r.quantity;
                assert!(*h >= rust_decimal::Decimal::ZERO);
            }
        }
    }

    #[test]
    fn the_generated_file_parses_and_sells_only_what_is_held() {
        let csv = generate_csv(2_000, 10, 50);
        let rows = crate::input::ledger::parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2_000);
        let mut held: HashMap<(String, String), rust_decimal::Decimal> = HashMap::new();
        for r in rows {
            let h = held.entry((r.account.clone(), r.symbol.clone().unwrap())).or_default();
            match r.action {
                domain::ledger::types::Action::Buy => *h += r.quantity,
                _ => {
                    *h -= r.quantity;
                    assert!(*h >= rust_decimal::Decimal::ZERO);
                }
            }
        }
    }
}
