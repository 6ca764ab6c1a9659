//! Property tests of the lot engine over random trade sequences in three accounts (two
//! taxable, one Roth IRA) and two symbols.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use domain::ledger::types::{AccountType, Action, LotMethod};
use domain::ledger::{decide, evolve, Ledger, LedgerCommand, RowInput};
use proptest::prelude::*;
use rust_decimal::Decimal;

const ACCOUNTS: [(&str, AccountType); 3] =
    [("a", AccountType::Taxable), ("b", AccountType::Taxable), ("ira", AccountType::RothIra)];
const SYMBOLS: [&str; 2] = ["X", "Y"];

#[derive(Debug, Clone)]
struct Step {
    gap_days: i64,
    account: usize,
    symbol: usize,
    buy: bool,
    /// Shares to buy, or the per-mille of the holding to sell.
    amount: u32,
    cents: i64,
    method: usize,
}

fn step() -> impl Strategy<Value = Step> {
    (0i64..12, 0usize..3, 0usize..2, prop::bool::weighted(0.55), 1u32..1000, 100i64..20_000, 0usize..4).prop_map(
        |(gap_days, account, symbol, buy, amount, cents, method)| Step {
            gap_days,
            account,
            symbol,
            buy,
            amount,
            cents,
            method,
        },
    )
}

/// Turns steps into valid rows: sells never exceed what the account holds.
fn rows(steps: &[Step]) -> Vec<RowInput> {
    let mut date = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let mut held: HashMap<(usize, usize), Decimal> = HashMap::new();
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        date += Duration::days(s.gap_days);
        let h = held.entry((s.account, s.symbol)).or_default();
        let quantity = if s.buy {
            Decimal::from(s.amount % 100 + 1)
        } else {
            (*h * Decimal::from(s.amount) / Decimal::from(1000)).floor()
        };
        if quantity <= Decimal::ZERO {
            continue;
        }
        if s.buy {
            *h += quantity;
        } else {
            *h -= quantity;
        }
        let (label, account_type) = ACCOUNTS[s.account];
        out.push(RowInput {
            line: i as u64 + 2,
            account_type: Some(account_type),
            symbol: Some(SYMBOLS[s.symbol].into()),
            quantity,
            price: Decimal::new(s.cents, 2),
            fees: Decimal::new(s.cents % 7, 1),
            lot_method: Some([LotMethod::Fifo, LotMethod::Lifo, LotMethod::Hifo, LotMethod::Average][s.method]),
            ..RowInput::new(date, label, if s.buy { Action::Buy } else { Action::Sell })
        });
    }
    out
}

fn import(state: Ledger, rows: Vec<RowInput>, id: &str) -> Ledger {
    if rows.is_empty() {
        return state;
    }
    let cmd = LedgerCommand::Import {
        household: "p".into(),
        command_id: id.into(),
        file_sha256: id.into(),
        rows,
        options: Default::default(),
    };
    decide(&state, &cmd).expect("valid rows are accepted").iter().fold(state, evolve)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lots_add_up_to_positions_and_gains_add_up_to_the_economic_result(
        steps in prop::collection::vec(step(), 1..60),
        final_cents in (100i64..20_000, 100i64..20_000),
    ) {
        let rows = rows(&steps);
        let ledger = import(Ledger::default(), rows.clone(), "all");
        let book = ledger.book(None).unwrap();
        let final_price = |s: &str| Decimal::new(if s == "X" { final_cents.0 } else { final_cents.1 }, 2);

        // Lot quantities equal the position of every account and symbol.
        let mut position: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for r in &rows {
            let q = if r.action == Action::Buy { r.quantity } else { -r.quantity };
            *position.entry((r.account.clone(), r.symbol.clone().unwrap())).or_default() += q;
        }
        let mut lots: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for l in &book.lots {
            prop_assert!(l.quantity > Decimal::ZERO);
            *lots.entry((l.account.clone(), l.symbol.clone())).or_default() += l.quantity;
        }
        position.retain(|_, q| !q.is_zero());
        prop_assert_eq!(&lots, &position);

        // Realized + unrealized − permanently disallowed = proceeds + market value − costs.
        let realized: Decimal = book.sales.iter().map(|s| s.gain_loss).sum();
        let unrealized: Decimal = book.lots.iter().map(|l| l.quantity * final_price(&l.symbol) - l.basis).sum();
        let permanent: Decimal = book.wash_sales.iter().filter(|w| w.permanent).map(|w| w.disallowed_loss).sum();
        let mut economic = Decimal::ZERO;
        for r in &rows {
            let amount = r.quantity * r.price;
            economic += if r.action == Action::Buy { -amount - r.fees } else { amount - r.fees };
        }
        economic += book.lots.iter().map(|l| l.quantity * final_price(&l.symbol)).sum::<Decimal>();
        prop_assert_eq!((realized + unrealized - permanent).round_dp(12), economic.round_dp(12));

        // No replacement share is used twice, and no purchase gives more shares than it had.
        let mut used: HashMap<String, Decimal> = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        for w in &book.wash_sales {
            prop_assert!(ids.insert(w.replacement_lot_id.clone()), "portion {} reused", w.replacement_lot_id);
            let base = w.replacement_lot_id.split('.').next().unwrap().to_owned();
            *used.entry(base).or_default() += w.shares;
        }
        for (base, shares) in used {
            let bought = ledger.trades.iter().find(|t| t.trade_id == base).unwrap().quantity;
            prop_assert!(shares <= bought, "{} gave {} of {}", base, shares, bought);
        }

        // The adjustments recorded as events are exactly the ones the engine derives, also when
        // the same rows arrive in two files.
        let recorded: Vec<_> = ledger.wash_sales.values().cloned().collect();
        let mut derived = book.wash_sales.clone();
        derived.sort_by(|a, b| a.id.cmp(&b.id));
        prop_assert_eq!(&recorded, &derived);
        let half = rows.len() / 2;
        let two_files = import(import(Ledger::default(), rows[..half].to_vec(), "one"), rows[half..].to_vec(), "two");
        let recorded_twice: Vec<_> = two_files.wash_sales.values().cloned().collect();
        let mut derived_twice = two_files.book(None).unwrap().wash_sales;
        derived_twice.sort_by(|a, b| a.id.cmp(&b.id));
        prop_assert_eq!(recorded_twice, derived_twice);
    }
}
