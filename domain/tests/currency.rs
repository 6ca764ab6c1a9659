//! Rows in another currency: given in that currency with the US dollars per unit, kept in
//! dollars. A purchase's basis is its cost at its own rate and a sale's proceeds at the sale's
//! rate, so the gain includes the currency's move, as it does for a US taxpayer (IRC §985,
//! §988(a)(1)(B) and Treas. Reg. §1.988-2(a)(2)(iv): the dollar basis and the dollar amount
//! realized, each translated when paid or received).

use chrono::NaiveDate;
use domain::ledger::types::{AccountType, Action};
use domain::ledger::{decide, evolve, Ledger, LedgerCommand, RowInput};
use domain::DomainError;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn row(date: &str, action: Action, symbol: &str, quantity: Decimal, price: Decimal) -> RowInput {
    RowInput {
        account_type: Some(AccountType::Taxable),
        symbol: (!symbol.is_empty()).then(|| symbol.into()),
        quantity,
        price,
        ..RowInput::new(date.parse::<NaiveDate>().unwrap(), "ibkr", action)
    }
}

fn eur(mut r: RowInput, rate: Decimal) -> RowInput {
    r.currency = Some("EUR".into());
    r.fx_rate = Some(rate);
    r
}

fn import(rows: Vec<RowInput>) -> Result<Ledger, DomainError> {
    let mut rows = rows;
    for (i, r) in rows.iter_mut().enumerate() {
        r.line = i as u64 + 2;
    }
    let command = LedgerCommand::Import {
        household: "h".into(),
        command_id: "c".into(),
        file_sha256: "f".into(),
        rows,
        options: Default::default(),
    };
    Ok(decide(&Ledger::default(), &command)?.iter().fold(Ledger::default(), evolve))
}

#[test]
fn a_foreign_purchase_and_sale_are_kept_in_dollars_at_their_own_rates() {
    let mut buy = eur(row("2025-03-03", Action::Buy, "SAP", dec!(10), dec!(180.50)), dec!(1.0850));
    buy.commission = dec!(3);
    let sell = eur(row("2025-09-02", Action::Sell, "SAP", dec!(4), dec!(200)), dec!(1.1700));
    let l = import(vec![row("2025-03-03", Action::Deposit, "", dec!(1), dec!(5000)), buy, sell]).unwrap();

    let recorded = &l.trades[1];
    assert_eq!((recorded.currency.as_deref(), recorded.fx_rate), (Some("EUR"), Some(dec!(1.0850))));
    assert_eq!((recorded.price, recorded.commission), (dec!(195.84250), dec!(3.2550)));

    let book = l.book(None).unwrap();
    // Basis: (10 × 180.50 + 3) EUR at 1.0850 = 1,961.68 USD; 4 of the 10 shares sold.
    let sale = &book.sales[0];
    assert_eq!(sale.proceeds, dec!(936.0000), "4 × 200 EUR at the sale's 1.17");
    assert_eq!(sale.cost_basis.round_dp(2), dec!(784.67), "4/10 of the dollar basis at the purchase's rate");
    assert_eq!(book.lots[0].basis.round_dp(2), dec!(1177.01));
    // Cash is dollars too: 5,000 − 1,961.68 + 936.
    assert_eq!(book.cash["ibkr"].round_dp(2), dec!(3974.32));
}

#[test]
fn a_currency_needs_its_rate_and_a_rate_its_currency() {
    let mut no_rate = row("2025-03-03", Action::Buy, "SAP", dec!(1), dec!(180));
    no_rate.currency = Some("EUR".into());
    let e = import(vec![no_rate]).unwrap_err().to_string();
    assert!(e.contains("fx_rate") && e.contains("line 2"), "{e}");

    let mut no_currency = row("2025-03-03", Action::Buy, "SAP", dec!(1), dec!(180));
    no_currency.fx_rate = Some(dec!(1.08));
    let e = import(vec![no_currency]).unwrap_err().to_string();
    assert!(e.contains("fx_rate") && e.contains("currency"), "{e}");

    let bad = eur(row("2025-03-03", Action::Buy, "SAP", dec!(1), dec!(180)), dec!(0));
    assert!(import(vec![bad]).unwrap_err().to_string().contains("fx_rate"));
    let mut code = eur(row("2025-03-03", Action::Buy, "SAP", dec!(1), dec!(180)), dec!(1.08));
    code.currency = Some("Euro".into());
    assert!(import(vec![code]).unwrap_err().to_string().contains("currency"));

    // Dollars named as such are plain dollar rows.
    let mut usd = row("2025-03-03", Action::Buy, "VTI", dec!(1), dec!(300));
    usd.currency = Some("USD".into());
    usd.fx_rate = Some(dec!(1));
    let l = import(vec![usd]).unwrap();
    assert_eq!((l.trades[0].currency.as_deref(), l.trades[0].fx_rate, l.trades[0].price), (None, None, dec!(300)));
}

#[test]
fn a_foreign_row_is_corrected_in_its_own_currency_and_a_bad_rate_is_named_before_the_price() {
    let buy = eur(row("2025-03-03", Action::Buy, "SAP", dec!(10), dec!(180.50)), dec!(1.0850));
    let l = import(vec![row("2025-03-03", Action::Deposit, "", dec!(1), dec!(5000)), buy]).unwrap();
    let change = domain::ledger::TradeChange { price: Some(dec!(181)), ..Default::default() };
    let command = LedgerCommand::Correct {
        command_id: "fix".into(),
        trade_id: "T2".into(),
        change,
        reason: "the fill was 181.00".into(),
    };
    let corrected = decide(&l, &command).unwrap().iter().fold(l, evolve);
    let t = corrected.trades.iter().find(|t| t.trade_id == "T2").unwrap();
    assert_eq!((t.price, t.currency.as_deref(), t.fx_rate), (dec!(196.385), Some("EUR"), Some(dec!(1.0850))));

    let negative = eur(row("2025-03-03", Action::Buy, "SAP", dec!(1), dec!(180)), dec!(-1.08));
    let e = import(vec![negative]).unwrap_err().to_string();
    assert!(e.contains("fx_rate") && !e.contains("price"), "{e}");
}
