//! The ledger import benchmark behind `cairn bench import`: a generated but realistic file
//! (trades spread over two years, prices on a random walk, sells of part of what is held, so
//! wash sales happen across accounts) imported end to end: parse, load, decide, append.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use chrono::NaiveDate;
use event_store::EventStore;

use crate::ledger::{import_csv, Caller, Outcome};
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

/// A ledger CSV of `trades` rows over `accounts` accounts and `symbols` symbols.
pub fn generate_csv(trades: usize, accounts: usize, symbols: usize) -> String {
    let mut rng = Lcg(0x5eed_cafe);
    let accounts = accounts.max(1);
    let symbols = symbols.max(1);
    let mut price: Vec<i64> = (0..symbols).map(|_| 2_000 + rng.below(30_000) as i64).collect();
    let mut held: HashMap<(usize, usize), u64> = HashMap::new();
    let mut opened = vec![false; accounts];
    // Trading days only: 500 of them from 2 January 2024.
    let days: Vec<NaiveDate> = NaiveDate::from_ymd_opt(2024, 1, 2)
        .expect("valid date")
        .iter_days()
        .filter(|d| !domain::calendar::is_market_closed(*d))
        .take(500)
        .collect();
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

/// What `cairn bench import` measured (the CLI turns the time into rates).
#[derive(Debug, Clone)]
pub struct ImportBench {
    pub trades: usize,
    pub elapsed: std::time::Duration,
    pub outcome: Outcome,
}

/// Generates a file and times its import into `store`.
pub async fn import<S: EventStore>(
    cx: &Context<S>,
    trades: usize,
    accounts: usize,
    symbols: usize,
) -> Result<ImportBench, CommandError> {
    let csv = generate_csv(trades, accounts, symbols);
    let start = Instant::now();
    let caller = Caller { actor: "bench".into(), source: "cairn bench import".into() };
    let outcome = import_csv(cx, "bench household", csv.as_bytes(), false, &caller).await?;
    Ok(ImportBench { trades, elapsed: start.elapsed(), outcome })
}

#[cfg(test)]
mod tests {
    use super::*;

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
