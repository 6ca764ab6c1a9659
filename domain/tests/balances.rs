//! Balance assertions: recorded once, checked against the rows at the end of their day, within
//! half a unit of their last decimal place.

use chrono::NaiveDate;
use domain::ledger::balances::{check, Assertion};
use domain::ledger::types::{AccountType, Action};
use domain::ledger::{decide, evolve, Ledger, LedgerCommand, RowInput};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn row(date: &str, action: Action, symbol: &str, quantity: Decimal, price: Decimal) -> RowInput {
    RowInput {
        account_type: Some(AccountType::Taxable),
        symbol: (!symbol.is_empty()).then(|| symbol.into()),
        quantity,
        price,
        ..RowInput::new(d(date), "brokerage", action)
    }
}

fn run(state: Ledger, command: LedgerCommand) -> Ledger {
    decide(&state, &command).expect("accepted").iter().fold(state, evolve)
}

fn import(state: Ledger, rows: Vec<RowInput>, id: &str) -> Ledger {
    let mut rows = rows;
    for (i, r) in rows.iter_mut().enumerate() {
        r.line = i as u64 + 2;
    }
    run(
        state,
        LedgerCommand::Import {
            household: "h".into(),
            command_id: id.into(),
            file_sha256: id.into(),
            rows,
            options: Default::default(),
        },
    )
}

fn assertion(date: &str, symbol: Option<&str>, quantity: Decimal) -> Assertion {
    Assertion { account: "brokerage".into(), date: d(date), symbol: symbol.map(Into::into), quantity, source: None }
}

#[test]
fn an_assertion_holds_when_the_rows_agree_at_the_end_of_its_day_and_says_by_how_much_when_not() {
    let l = import(
        Ledger::default(),
        vec![
            row("2026-01-05", Action::Deposit, "", dec!(1), dec!(5000)),
            row("2026-01-05", Action::Buy, "VTI", dec!(10), dec!(200)),
            row("2026-01-09", Action::Buy, "VTI", dec!(5), dec!(210)),
        ],
        "a",
    );
    let assertions = vec![
        assertion("2026-01-05", Some("VTI"), dec!(10)),
        assertion("2026-01-08", None, dec!(3000.00)),
        assertion("2026-01-09", Some("VTI"), dec!(16)),
        assertion("2026-01-04", Some("VTI"), dec!(0)),
    ];
    let l = run(l, LedgerCommand::AssertBalances { assertions: assertions.clone() });
    assert_eq!(l.assertions.len(), 4);
    let again = decide(&l, &LedgerCommand::AssertBalances { assertions }).unwrap();
    assert!(again.is_empty(), "an assertion already recorded is not recorded again");

    let checked = check(&l).unwrap();
    let seen: Vec<(NaiveDate, Decimal, Decimal, bool)> =
        checked.iter().map(|c| (c.assertion.date, c.actual, c.difference, c.holds)).collect();
    assert_eq!(
        seen,
        vec![
            (d("2026-01-04"), dec!(0), dec!(0), true),
            (d("2026-01-05"), dec!(10), dec!(0), true),
            (d("2026-01-08"), dec!(3000), dec!(0), true),
            (d("2026-01-09"), dec!(15), dec!(-1), false),
        ]
    );

    // The missing share arrives in a later file, dated the 9th: the assertion now holds.
    let l = import(l, vec![row("2026-01-09", Action::Buy, "VTI", dec!(1), dec!(210))], "b");
    assert!(check(&l).unwrap().iter().all(|c| c.holds));
}

#[test]
fn an_assertion_about_an_unknown_account_or_negative_shares_is_refused() {
    let l = import(Ledger::default(), vec![row("2026-01-05", Action::Deposit, "", dec!(1), dec!(10))], "a");
    let mut other = assertion("2026-01-05", None, dec!(10));
    other.account = "nowhere".into();
    assert!(decide(&l, &LedgerCommand::AssertBalances { assertions: vec![other] }).is_err());
    let negative = assertion("2026-01-05", Some("VTI"), dec!(-1));
    assert!(decide(&l, &LedgerCommand::AssertBalances { assertions: vec![negative] }).is_err());
}
