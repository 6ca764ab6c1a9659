//! The lot engine and wash-sale rule, worked through IRS Publication 550's examples and the
//! cases around them. Each test is one rule, named as a sentence.

use chrono::NaiveDate;
use domain::ledger::lots::{Term, WashSale};
use domain::ledger::types::{AccountType, Action, LotMethod, Ratio};
use domain::ledger::{decide, evolve, Ledger, LedgerCommand, LedgerEvent, RowInput};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A row builder: `row("2025-01-02", "brokerage", Action::Buy, "XYZ", dec!(100), dec!(10))`.
fn row(date: &str, account: &str, action: Action, symbol: &str, quantity: Decimal, price: Decimal) -> RowInput {
    let account_type = if account.contains("ira") { AccountType::RothIra } else { AccountType::Taxable };
    RowInput {
        account_type: Some(account_type),
        symbol: (!symbol.is_empty()).then(|| symbol.into()),
        quantity,
        price,
        ..RowInput::new(d(date), account, action)
    }
}

/// Imports `rows` as one file into `state`, returning the new state and the events.
fn import(state: Ledger, mut rows: Vec<RowInput>, id: &str) -> (Ledger, Vec<LedgerEvent>) {
    for (i, r) in rows.iter_mut().enumerate() {
        r.line = i as u64 + 2;
    }
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: id.into(),
        file_sha256: id.into(),
        rows,
        options: Default::default(),
    };
    let events = decide(&state, &cmd).expect("import accepted");
    let state = events.iter().fold(state, evolve);
    (state, events)
}

fn ledger(rows: Vec<RowInput>) -> Ledger {
    import(Ledger::default(), rows, "first").0
}

fn washes(l: &Ledger) -> Vec<WashSale> {
    l.book(None).unwrap().wash_sales
}

#[test]
fn pub_550_example_1_a_loss_replaced_within_30_days_is_added_to_the_new_basis() {
    // Buy 100 X for $1,000; sell them for $750; within 30 days buy 100 X for $800.
    let l = ledger(vec![
        row("2025-03-03", "brokerage", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-06-02", "brokerage", Action::Sell, "X", dec!(100), dec!(7.50)),
        row("2025-06-20", "brokerage", Action::Buy, "X", dec!(100), dec!(8)),
    ]);
    let book = l.book(None).unwrap();
    let sale = &book.sales[0];
    assert_eq!(
        (sale.gain_loss, sale.adjustment_amount, sale.adjustment_code.as_deref()),
        (dec!(0), dec!(250), Some("W"))
    );
    assert_eq!(book.lots.len(), 1);
    assert_eq!(book.lots[0].basis, dec!(1050));
    assert_eq!(book.wash_sales.len(), 1);
    assert_eq!(l.wash_sales.len(), 1, "the adjustment is recorded as an event");
}

#[test]
fn pub_550_example_2_a_partial_replacement_disallows_the_loss_on_that_many_shares() {
    // Buy 100 M for $5,000; sell for $4,000; within 30 days buy 75 M for $3,750.
    let l = ledger(vec![
        row("2025-01-06", "brokerage", Action::Buy, "M", dec!(100), dec!(50)),
        row("2025-05-01", "brokerage", Action::Sell, "M", dec!(100), dec!(40)),
        row("2025-05-15", "brokerage", Action::Buy, "M", dec!(75), dec!(50)),
    ]);
    let book = l.book(None).unwrap();
    assert_eq!(book.sales[0].adjustment_amount, dec!(750));
    assert_eq!(book.sales[0].gain_loss, dec!(-250), "the loss on the other 25 shares stays deductible");
    assert_eq!(book.lots[0].basis, dec!(4500));
    assert_eq!(book.lots[0].quantity, dec!(75));
}

#[test]
fn a_sale_at_a_gain_is_never_a_wash_sale() {
    let l = ledger(vec![
        row("2025-01-06", "brokerage", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-02-03", "brokerage", Action::Sell, "X", dec!(100), dec!(12)),
        row("2025-02-10", "brokerage", Action::Buy, "X", dec!(100), dec!(11)),
    ]);
    assert!(washes(&l).is_empty());
    assert_eq!(l.book(None).unwrap().sales[0].gain_loss, dec!(200));
}

#[test]
fn a_purchase_31_days_after_the_sale_is_outside_the_window() {
    let l = ledger(vec![
        row("2025-01-06", "brokerage", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "brokerage", Action::Sell, "X", dec!(10), dec!(8)),
        row("2025-04-03", "brokerage", Action::Buy, "X", dec!(10), dec!(8)),
    ]);
    assert!(washes(&l).is_empty());
    let l = ledger(vec![
        row("2025-01-06", "brokerage", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "brokerage", Action::Sell, "X", dec!(10), dec!(8)),
        row("2025-04-02", "brokerage", Action::Buy, "X", dec!(10), dec!(8)),
    ]);
    assert_eq!(washes(&l).len(), 1, "day 30 is inside");
}

#[test]
fn shares_bought_within_30_days_before_the_sale_and_still_held_are_replacements() {
    // Buy 100 at $50, buy 100 more at $40 ten days later, sell the first 100 (FIFO) at $30.
    let l = ledger(vec![
        row("2025-01-02", "brokerage", Action::Buy, "X", dec!(100), dec!(50)),
        row("2025-01-13", "brokerage", Action::Buy, "X", dec!(100), dec!(40)),
        row("2025-01-20", "brokerage", Action::Sell, "X", dec!(100), dec!(30)),
    ]);
    let book = l.book(None).unwrap();
    assert_eq!(book.sales[0].lot_id, "T1");
    assert_eq!(book.sales[0].adjustment_amount, dec!(2000));
    assert_eq!(book.lots[0].basis, dec!(6000));
    // The sold shares' holding period is tacked on, but not before they were bought: the
    // replacement, bought while they were still held, counts from 2 January.
    assert_eq!(book.lots[0].acquired, d("2025-01-02"));
}

#[test]
fn the_shares_sold_cannot_replace_themselves() {
    let l = ledger(vec![
        row("2025-01-02", "brokerage", Action::Buy, "X", dec!(100), dec!(50)),
        row("2025-01-20", "brokerage", Action::Sell, "X", dec!(100), dec!(30)),
    ]);
    assert!(washes(&l).is_empty());
    assert_eq!(l.book(None).unwrap().sales[0].gain_loss, dec!(-2000));
}

#[test]
fn a_replacement_bought_in_an_ira_disallows_the_loss_permanently_without_a_basis_adjustment() {
    let l = ledger(vec![
        row("2025-01-02", "brokerage", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-03-03", "brokerage", Action::Sell, "X", dec!(100), dec!(8)),
        row("2025-03-10", "roth ira", Action::Buy, "X", dec!(100), dec!(8)),
    ]);
    let book = l.book(None).unwrap();
    let w = &book.wash_sales[0];
    assert!(w.permanent);
    assert_eq!((w.disallowed_loss, w.basis_adjustment, w.holding_period_days), (dec!(200), dec!(0), 0));
    assert_eq!(book.lots[0].basis, dec!(800), "IRA shares keep their cost");
    assert_eq!(book.sales[0].gain_loss, dec!(0));
}

#[test]
fn a_replacement_in_another_taxable_account_of_the_household_counts() {
    let l = ledger(vec![
        row("2025-01-02", "brokerage", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "brokerage", Action::Sell, "X", dec!(10), dec!(8)),
        row("2025-03-10", "joint", Action::Buy, "X", dec!(10), dec!(8)),
    ]);
    let book = l.book(None).unwrap();
    assert_eq!(book.wash_sales[0].replacement_account, "joint");
    assert_eq!(book.lots[0].basis, dec!(100));
}

#[test]
fn a_replacement_share_absorbs_at_most_one_wash_sale() {
    // Two loss sales, one 10-share replacement: only the first sale is a wash sale.
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-01-02", "b", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(10), dec!(8)),
        row("2025-03-04", "b", Action::Sell, "X", dec!(10), dec!(8)),
        row("2025-03-10", "a", Action::Buy, "X", dec!(10), dec!(8)),
    ]);
    let ws = washes(&l);
    assert_eq!(ws.len(), 1);
    assert_eq!(ws[0].sale_id, "T3");
    let book = l.book(None).unwrap();
    assert_eq!(book.sales[1].gain_loss, dec!(-20));
}

#[test]
fn replacements_are_matched_in_the_order_they_were_bought() {
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(10), dec!(8)),
        row("2025-03-20", "a", Action::Buy, "X", dec!(6), dec!(8)),
        row("2025-03-10", "a", Action::Buy, "X", dec!(6), dec!(8)),
    ]);
    let ws = washes(&l);
    assert_eq!(ws.len(), 2);
    assert_eq!((ws[0].replacement_lot_id.as_str(), ws[0].shares), ("T4.1", dec!(6)));
    assert_eq!((ws[1].replacement_lot_id.as_str(), ws[1].shares), ("T3.1", dec!(4)));
}

#[test]
fn a_late_row_reverses_and_replaces_the_recorded_adjustments() {
    let (l, _) = import(
        Ledger::default(),
        vec![
            row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
            row("2025-03-03", "a", Action::Sell, "X", dec!(10), dec!(8)),
            row("2025-03-20", "a", Action::Buy, "X", dec!(10), dec!(8)),
        ],
        "first",
    );
    assert_eq!(l.wash_sales.keys().collect::<Vec<_>>(), ["T2:T1:T3.1"]);
    // A purchase on 10 March, entered late, is now the first replacement.
    let (l, events) = import(l, vec![row("2025-03-10", "a", Action::Buy, "X", dec!(10), dec!(8))], "late");
    let reversed: Vec<_> = events
        .iter()
        .filter_map(|e| if let LedgerEvent::WashSaleReversed { id, .. } = e { Some(id) } else { None })
        .collect();
    assert_eq!(reversed, ["T2:T1:T3.1"]);
    assert_eq!(l.wash_sales.keys().collect::<Vec<_>>(), ["T2:T1:T4.1"]);
    assert_eq!(l.wash_sales, l.book(None).unwrap().wash_sales.into_iter().map(|w| (w.id.clone(), w)).collect());
}

#[test]
fn reimporting_the_same_file_records_nothing() {
    let rows = vec![row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10))];
    let (l, _) = import(Ledger::default(), rows.clone(), "same");
    let (l2, events) = import(l.clone(), rows, "same");
    assert!(events.is_empty());
    assert_eq!(l, l2);
}

#[test]
fn selling_after_the_one_year_anniversary_is_long_term_and_on_it_short_term() {
    let l = ledger(vec![
        row("2024-03-01", "a", Action::Buy, "X", dec!(20), dec!(10)),
        row("2025-03-01", "a", Action::Sell, "X", dec!(10), dec!(12)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(10), dec!(12)),
    ]);
    let sales = l.book(None).unwrap().sales;
    assert_eq!((sales[0].term, sales[1].term), (Term::Short, Term::Long));
}

#[test]
fn lot_methods_pick_first_last_highest_named_or_average() {
    let base = |method: LotMethod, ids: Vec<String>| {
        let mut sell = row("2025-06-02", "a", Action::Sell, "X", dec!(10), dec!(30));
        sell.lot_method = Some(method);
        sell.lot_ids = ids;
        let l = ledger(vec![
            row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
            row("2025-02-03", "a", Action::Buy, "X", dec!(10), dec!(40)),
            row("2025-03-03", "a", Action::Buy, "X", dec!(10), dec!(20)),
            sell,
        ]);
        l.book(None).unwrap().sales
    };
    assert_eq!(base(LotMethod::Fifo, vec![])[0].lot_id, "T1");
    assert_eq!(base(LotMethod::Lifo, vec![])[0].lot_id, "T3");
    assert_eq!(base(LotMethod::Hifo, vec![])[0].lot_id, "T2");
    assert_eq!(base(LotMethod::Specific, vec!["T3".into()])[0].lot_id, "T3");
    let avg = base(LotMethod::Average, vec![]);
    assert_eq!((avg[0].lot_id.as_str(), avg[0].cost_basis.round_dp(2)), ("T1", dec!(233.33)));
}

#[test]
fn selling_more_than_the_account_holds_is_refused_with_the_line() {
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: "c".into(),
        file_sha256: "c".into(),
        rows: vec![
            RowInput { line: 2, ..row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)) },
            RowInput { line: 3, ..row("2025-01-03", "a", Action::Sell, "X", dec!(11), dec!(10)) },
        ],
        options: Default::default(),
    };
    let err = decide(&Ledger::default(), &cmd).unwrap_err();
    assert_eq!(err.to_string(), "line 3: quantity: 11 X to remove, but account a holds 10");
}

#[test]
fn a_forward_split_multiplies_shares_and_keeps_basis_and_dates() {
    let mut split = row("2025-06-02", "a", Action::Split, "X", dec!(0), dec!(0));
    split.ratio = Some(Ratio { new: dec!(2), old: dec!(1) });
    let l = ledger(vec![row("2025-01-02", "a", Action::Buy, "X", dec!(15), dec!(10)), split]);
    let lot = &l.book(None).unwrap().lots[0];
    assert_eq!((lot.quantity, lot.basis, lot.acquired), (dec!(30), dec!(150), d("2025-01-02")));
}

#[test]
fn a_reverse_split_pays_cash_in_lieu_of_the_fraction_as_a_sale() {
    // 25 shares, 1:10 → 2.5 shares; the 0.5 is paid at $120.
    let mut split = row("2025-06-02", "a", Action::Split, "X", dec!(0), dec!(120));
    split.ratio = Some(Ratio { new: dec!(1), old: dec!(10) });
    let l = ledger(vec![row("2025-01-02", "a", Action::Buy, "X", dec!(25), dec!(10)), split]);
    let book = l.book(None).unwrap();
    assert_eq!(book.lots[0].quantity, dec!(2));
    assert_eq!(book.lots[0].basis, dec!(200));
    assert_eq!(
        (book.sales[0].quantity, book.sales[0].proceeds, book.sales[0].cost_basis),
        (dec!(0.5), dec!(60), dec!(50))
    );
}

#[test]
fn a_paired_transfer_moves_lots_with_their_basis_and_acquisition_date() {
    let l = ledger(vec![
        row("2024-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-01-02", "a", Action::TransferOut, "X", dec!(4), dec!(0)),
        row("2025-01-02", "b", Action::TransferIn, "X", dec!(4), dec!(0)),
    ]);
    let lots = l.book(None).unwrap().lots;
    let moved = lots.iter().find(|l| l.account == "b").unwrap();
    assert_eq!((moved.quantity, moved.basis, moved.acquired), (dec!(4), dec!(40), d("2024-01-02")));
    assert_eq!(lots.iter().find(|l| l.account == "a").unwrap().quantity, dec!(6));
}

#[test]
fn settlement_dates_are_computed_from_the_trade_date_when_missing() {
    let l = ledger(vec![row("2024-05-24", "a", Action::Buy, "X", dec!(1), dec!(1))]);
    assert_eq!(l.trades[0].settlement_date, d("2024-05-29"));
}

fn command(state: Ledger, cmd: LedgerCommand) -> Result<(Ledger, Vec<LedgerEvent>), domain::DomainError> {
    let events = decide(&state, &cmd)?;
    Ok((events.iter().fold(state, evolve), events))
}

#[test]
fn cancelling_the_replacement_purchase_reverses_the_wash_sale() {
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(10), dec!(8)),
        row("2025-03-20", "a", Action::Buy, "X", dec!(10), dec!(8)),
    ]);
    let cancel =
        LedgerCommand::Cancel { command_id: "c".into(), trade_id: "T3".into(), reason: "entered twice".into() };
    let (l, events) = command(l, cancel.clone()).unwrap();
    assert!(matches!(&events[0], LedgerEvent::TradeCancelled { trade_id, .. } if trade_id == "T3"));
    assert!(matches!(&events[1], LedgerEvent::WashSaleReversed { .. }));
    assert!(l.wash_sales.is_empty());
    assert_eq!(l.book(None).unwrap().sales[0].gain_loss, dec!(-20));
    let err = command(l.clone(), cancel).unwrap_err().to_string();
    assert_eq!(err, "trade: T3 was cancelled (entered twice)");
    // The next row is still numbered after every recorded one.
    let (l, _) = import(l, vec![row("2025-04-01", "a", Action::Buy, "X", dec!(1), dec!(8))], "more");
    assert_eq!(l.trades.last().unwrap().trade_id, "T4");
}

#[test]
fn correcting_a_price_recomputes_the_adjustment() {
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(10), dec!(8)),
        row("2025-03-20", "a", Action::Buy, "X", dec!(10), dec!(8)),
    ]);
    let change = domain::ledger::TradeChange { price: Some(dec!(7)), ..Default::default() };
    let cmd = LedgerCommand::Correct { command_id: "c".into(), trade_id: "T2".into(), change, reason: "typo".into() };
    let (l, events) = command(l, cmd).unwrap();
    assert_eq!(events.len(), 3, "corrected, reversed, adjusted: {events:?}");
    let book = l.book(None).unwrap();
    assert_eq!(book.sales[0].adjustment_amount, dec!(30));
    assert_eq!(book.lots[0].basis, dec!(110));
}

#[test]
fn a_correction_that_would_oversell_is_refused_and_names_the_row_it_breaks() {
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(10), dec!(8)),
    ]);
    let change = domain::ledger::TradeChange { quantity: Some(dec!(5)), ..Default::default() };
    let cmd = LedgerCommand::Correct { command_id: "c".into(), trade_id: "T1".into(), change, reason: "r".into() };
    let err = command(l, cmd).unwrap_err().to_string();
    assert_eq!(err, "quantity: 10 X to remove, but account a holds 5 (recorded row T2, made invalid by this change)");
}

fn corporate(
    date: &str,
    action: Action,
    symbol: &str,
    new_symbol: &str,
    ratio: Option<(Decimal, Decimal)>,
) -> RowInput {
    RowInput {
        new_symbol: Some(new_symbol.into()),
        ratio: ratio.map(|(new, old)| Ratio { new, old }),
        ..row(date, "a", action, symbol, dec!(0), dec!(0))
    }
}

#[test]
fn a_symbol_change_keeps_lots_basis_and_dates_under_the_new_symbol() {
    let l = ledger(vec![
        row("2024-01-02", "a", Action::Buy, "FB", dec!(10), dec!(100)),
        corporate("2025-06-09", Action::SymbolChange, "FB", "META", None),
    ]);
    let lot = &l.book(None).unwrap().lots[0];
    assert_eq!(
        (lot.symbol.as_str(), lot.quantity, lot.basis, lot.acquired),
        ("META", dec!(10), dec!(1000), d("2024-01-02"))
    );
}

#[test]
fn a_stock_merger_converts_shares_at_the_ratio_and_carries_basis_over() {
    let l = ledger(vec![
        row("2024-01-02", "a", Action::Buy, "OLD", dec!(100), dec!(10)),
        corporate("2025-06-09", Action::Merger, "OLD", "NEW", Some((dec!(0.5), dec!(1)))),
    ]);
    let book = l.book(None).unwrap();
    assert_eq!(
        (book.lots[0].symbol.as_str(), book.lots[0].quantity, book.lots[0].basis),
        ("NEW", dec!(50), dec!(1000))
    );
    assert!(book.sales.is_empty());
}

#[test]
fn a_merger_with_boot_recognizes_gain_up_to_the_cash() {
    // 100 OLD with basis $1,000 become 50 NEW worth $30 each plus $5 a share in cash:
    // realized $1,500 + $500 − $1,000 = $1,000; recognized = the $500 boot.
    let mut merger = corporate("2025-06-09", Action::Merger, "OLD", "NEW", Some((dec!(0.5), dec!(1))));
    merger.price = dec!(5);
    merger.fmv = Some(dec!(30));
    let l = ledger(vec![row("2024-01-02", "a", Action::Buy, "OLD", dec!(100), dec!(10)), merger]);
    let book = l.book(None).unwrap();
    assert_eq!(
        (book.sales[0].proceeds, book.sales[0].gain_loss, book.sales[0].term),
        (dec!(500), dec!(500), Term::Long)
    );
    assert_eq!(book.lots[0].basis, dec!(1000), "basis − boot + recognized gain");
}

#[test]
fn a_cash_merger_is_a_sale_of_every_share() {
    let mut merger = corporate("2025-06-09", Action::Merger, "OLD", "CASH", Some((dec!(0), dec!(1))));
    merger.price = dec!(12);
    let l = ledger(vec![row("2025-01-02", "a", Action::Buy, "OLD", dec!(100), dec!(10)), merger]);
    let book = l.book(None).unwrap();
    assert!(book.lots.is_empty());
    assert_eq!((book.sales[0].proceeds, book.sales[0].gain_loss), (dec!(1200), dec!(200)));
}

#[test]
fn a_spinoff_allocates_basis_by_percentage_and_carries_acquisition_dates() {
    let mut spin = corporate("2025-06-09", Action::Spinoff, "PAR", "KID", Some((dec!(1), dec!(4))));
    spin.allocation = Some(dec!(20));
    let l = ledger(vec![row("2024-03-01", "a", Action::Buy, "PAR", dec!(100), dec!(10)), spin]);
    let lots = l.book(None).unwrap().lots;
    let parent = lots.iter().find(|l| l.symbol == "PAR").unwrap();
    let child = lots.iter().find(|l| l.symbol == "KID").unwrap();
    assert_eq!((parent.basis, child.basis, child.quantity), (dec!(800), dec!(200), dec!(25)));
    assert_eq!((child.acquired, child.lot_id.as_str()), (d("2024-03-01"), "T1-KID"));
}

#[test]
fn a_spinoff_without_an_allocation_is_refused() {
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: "x".into(),
        file_sha256: "x".into(),
        rows: vec![
            RowInput { line: 2, ..row("2024-03-01", "a", Action::Buy, "PAR", dec!(100), dec!(10)) },
            RowInput { line: 3, ..corporate("2025-06-09", Action::Spinoff, "PAR", "KID", Some((dec!(1), dec!(4)))) },
        ],
        options: Default::default(),
    };
    let err = decide(&Ledger::default(), &cmd).unwrap_err().to_string();
    assert!(err.starts_with("line 3: allocation:"), "{err}");
}

#[test]
fn commission_and_regulatory_fees_add_to_basis_and_come_off_proceeds() {
    let mut buy = row("2025-01-02", "a", Action::Buy, "AAPL", dec!(10), dec!(100));
    buy.commission = dec!(4.95);
    buy.cusip = Some("037833100".into());
    let mut sell = row("2025-02-03", "a", Action::Sell, "AAPL", dec!(10), dec!(110));
    sell.sec_fee = dec!(0.03);
    sell.taf_fee = dec!(0.01);
    sell.fees = dec!(1);
    let book = ledger(vec![buy, sell]).book(None).unwrap();
    assert_eq!((book.sales[0].cost_basis, book.sales[0].proceeds), (dec!(1004.95), dec!(1098.96)));
}

#[test]
fn a_cusip_with_a_wrong_check_digit_is_refused_with_its_line() {
    let mut buy = row("2025-01-02", "a", Action::Buy, "AAPL", dec!(10), dec!(100));
    buy.cusip = Some("037833101".into());
    buy.line = 7;
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: "x".into(),
        file_sha256: "x".into(),
        rows: vec![buy],
        options: Default::default(),
    };
    let err = decide(&Ledger::default(), &cmd).unwrap_err().to_string();
    assert_eq!(err, "line 7: cusip: is not a valid CUSIP (9 characters with a correct check digit)");
}

#[test]
fn shares_transferred_back_get_their_own_lot_id_and_replace_only_what_they_hold() {
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-01-03", "a", Action::TransferOut, "X", dec!(30), dec!(0)),
        row("2025-01-03", "b", Action::TransferIn, "X", dec!(30), dec!(0)),
        row("2025-01-04", "b", Action::TransferOut, "X", dec!(20), dec!(0)),
        row("2025-01-04", "a", Action::TransferIn, "X", dec!(20), dec!(0)),
        row("2025-01-05", "c", Action::Buy, "X", dec!(100), dec!(12)),
        row("2025-01-10", "c", Action::Sell, "X", dec!(100), dec!(9)),
    ]);
    let book = l.book(None).unwrap();
    let in_a: Vec<_> = book.lots.iter().filter(|l| l.account == "a").map(|l| (l.lot_id.clone(), l.quantity)).collect();
    assert_eq!(in_a.len(), 2);
    assert_ne!(in_a[0].0, in_a[1].0, "{in_a:?}");
    let replaced: Decimal = book.wash_sales.iter().map(|w| w.shares).sum();
    let held: Decimal = book.lots.iter().filter(|l| l.account != "c").map(|l| l.quantity).sum();
    assert_eq!(held, dec!(100));
    assert_eq!(replaced, dec!(100), "every replaced share exists");
    assert_eq!(book.lots.iter().filter(|l| l.replacement_used).map(|l| l.quantity).sum::<Decimal>(), dec!(100));
}

#[test]
fn absurd_quantities_are_refused_instead_of_overflowing() {
    let mut buy = row("2025-01-02", "a", Action::Buy, "X", dec!(10000000000000000), dec!(10000000000000));
    buy.line = 4;
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: "o".into(),
        file_sha256: "o".into(),
        rows: vec![buy],
        options: Default::default(),
    };
    let err = decide(&Ledger::default(), &cmd).unwrap_err().to_string();
    assert!(err.starts_with("line 4: quantity: is larger than any real quantity"), "{err}");
}

#[test]
fn household_names_in_any_script_get_distinct_keys() {
    use domain::ledger::household_key;
    assert_eq!(household_key("Müller Family"), "müller_family");
    assert_ne!(household_key("Müller"), household_key("Möller"));
    assert_eq!(household_key("  Smith & Sons "), "smith_sons");
}

#[test]
fn naming_lots_on_a_sell_without_a_method_means_specific_identification() {
    let mut sell = row("2025-03-03", "a", Action::Sell, "X", dec!(5), dec!(12));
    sell.lot_ids = vec!["T2".into()];
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(5), dec!(10)),
        row("2025-02-03", "a", Action::Buy, "X", dec!(5), dec!(11)),
        sell,
    ]);
    assert_eq!(l.book(None).unwrap().sales[0].lot_id, "T2");
}

#[test]
fn an_unpaired_transfer_in_without_a_basis_is_refused() {
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: "t".into(),
        file_sha256: "t".into(),
        rows: vec![
            RowInput { line: 2, ..row("2025-01-02", "a", Action::Buy, "X", dec!(5), dec!(10)) },
            RowInput { line: 3, ..row("2025-01-03", "a", Action::TransferOut, "X", dec!(4), dec!(0)) },
            RowInput { line: 4, ..row("2025-01-03", "b", Action::TransferIn, "X", dec!(5), dec!(0)) },
        ],
        options: Default::default(),
    };
    let err = decide(&Ledger::default(), &cmd).unwrap_err().to_string();
    assert!(err.starts_with("line 4: price: no transfer_out of the same symbol"), "{err}");
}

#[test]
fn an_all_cash_merger_needs_no_new_symbol() {
    let mut merger = row("2025-06-09", "a", Action::Merger, "OLD", dec!(0), dec!(12));
    merger.ratio = Some(Ratio { new: dec!(0), old: dec!(1) });
    let l = ledger(vec![row("2025-01-02", "a", Action::Buy, "OLD", dec!(10), dec!(10)), merger]);
    assert_eq!(l.book(None).unwrap().sales[0].proceeds, dec!(120));
}

#[test]
fn a_backdated_row_cannot_leave_shares_in_a_closed_account() {
    let l = ledger(vec![row("2025-01-02", "a", Action::Deposit, "", dec!(1), dec!(100))]);
    let close = LedgerCommand::CloseAccount { account: "a".into(), closed_on: d("2025-06-01") };
    let l = decide(&l, &close).unwrap().iter().fold(l, evolve);
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: "late".into(),
        file_sha256: "late".into(),
        rows: vec![RowInput { line: 2, ..row("2025-05-20", "a", Action::Buy, "X", dec!(1), dec!(50)) }],
        options: Default::default(),
    };
    let err = decide(&l, &cmd).unwrap_err().to_string();
    assert_eq!(err, "account: a was closed on 2025-06-01 and would hold 1 X after this change");
}

/// A buy row filling broker order `order`.
fn order(date: &str, account: &str, quantity: Decimal, price: Decimal, order: Option<&str>) -> RowInput {
    RowInput { order_id: order.map(Into::into), ..row(date, account, Action::Buy, "X", quantity, price) }
}

#[test]
fn rev_rul_56_602_shares_kept_from_the_purchase_a_partial_sale_came_from_do_not_replace_it() {
    // Rev. Rul. 56-602: 100 shares bought in one lot, 50 of them sold at a loss within 30 days
    // and the other 50 kept, no other purchase: not a wash sale.
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-01-20", "a", Action::Sell, "X", dec!(50), dec!(8)),
    ]);
    let book = l.book(None).unwrap();
    assert!(book.wash_sales.is_empty(), "{:?}", book.wash_sales);
    let sale = &book.sales[0];
    assert_eq!((sale.gain_loss, sale.adjustment_amount, sale.adjustment_code.as_deref()), (dec!(-100), dec!(0), None));
    let kept = &book.lots[0];
    assert_eq!(
        (kept.lot_id.as_str(), kept.quantity, kept.basis, kept.acquired, kept.wash_adjustment, kept.replacement_used),
        ("T1", dec!(50), dec!(500), d("2025-01-02"), dec!(0), false)
    );
}

#[test]
fn a_later_purchase_replaces_only_its_own_shares_of_a_partial_sale() {
    // As above, then 10 shares bought on 3 February (14 days after the sale): 10 of the 50 sold
    // are replaced, so 10/50 of the $100 loss is disallowed and moves to the 10 new shares.
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-01-20", "a", Action::Sell, "X", dec!(50), dec!(8)),
        row("2025-02-03", "a", Action::Buy, "X", dec!(10), dec!(8)),
    ]);
    let book = l.book(None).unwrap();
    assert_eq!(book.wash_sales.len(), 1);
    let w = &book.wash_sales[0];
    assert_eq!(
        (w.replacement_lot_id.as_str(), w.shares, w.disallowed_loss, w.basis_adjustment, w.holding_period_days),
        ("T3.1", dec!(10), dec!(20), dec!(20), 18)
    );
    assert_eq!((book.sales[0].adjustment_amount, book.sales[0].gain_loss), (dec!(20), dec!(-80)));
    let lots: Vec<_> = book.lots.iter().map(|l| (l.lot_id.as_str(), l.quantity, l.basis, l.acquired)).collect();
    assert_eq!(
        lots,
        [
            ("T1", dec!(50), dec!(500), d("2025-01-02")),
            // $80 cost + $20 disallowed; bought 3 February less the 18 days the sold shares were held.
            ("T3.1", dec!(10), dec!(100), d("2025-01-16")),
        ]
    );
}

#[test]
fn one_order_filled_in_several_rows_on_one_day_is_one_purchase() {
    // One order (no order id) filled as 40, 30 and 30 shares; 50 sold at a loss 18 days later
    // (FIFO: the 40 of T1 and 10 of T2). The 50 kept came from the same purchase: no wash sale.
    let l = ledger(vec![
        order("2025-01-02", "a", dec!(40), dec!(10), None),
        order("2025-01-02", "a", dec!(30), dec!(10.50), None),
        order("2025-01-02", "a", dec!(30), dec!(11), None),
        row("2025-01-20", "a", Action::Sell, "X", dec!(50), dec!(8)),
    ]);
    let book = l.book(None).unwrap();
    assert!(book.wash_sales.is_empty(), "{:?}", book.wash_sales);
    let sales: Vec<_> = book.sales.iter().map(|s| (s.lot_id.as_str(), s.quantity, s.gain_loss)).collect();
    assert_eq!(sales, [("T1", dec!(40), dec!(-80)), ("T2", dec!(10), dec!(-25))]);
    let lots: Vec<_> = book.lots.iter().map(|l| (l.lot_id.as_str(), l.purchase.as_str(), l.quantity)).collect();
    assert_eq!(lots, [("T2", "T1", dec!(20)), ("T3", "T1", dec!(30))], "the purchase is named by its first row");

    // The same with the broker's order id on every row.
    let l = ledger(vec![
        order("2025-01-02", "a", dec!(40), dec!(10), Some("7001")),
        order("2025-01-02", "a", dec!(30), dec!(10.50), Some("7001")),
        order("2025-01-02", "a", dec!(30), dec!(11), Some("7001")),
        row("2025-01-20", "a", Action::Sell, "X", dec!(50), dec!(8)),
    ]);
    assert!(washes(&l).is_empty());
}

#[test]
fn rows_of_different_orders_on_one_day_replace_each_other() {
    // Two orders of 50 the same day; the first order's 50 sold at a loss of $100: the second
    // order's 50 replace them (bought while the sold shares were held: no days tacked on).
    let l = ledger(vec![
        order("2025-01-02", "a", dec!(50), dec!(10), Some("A")),
        order("2025-01-02", "a", dec!(50), dec!(10), Some("B")),
        row("2025-01-20", "a", Action::Sell, "X", dec!(50), dec!(8)),
    ]);
    let book = l.book(None).unwrap();
    let w = &book.wash_sales[0];
    assert_eq!(
        (w.sold_lot_id.as_str(), w.replacement_lot_id.as_str(), w.shares, w.disallowed_loss, w.holding_period_days),
        ("T1", "T2.1", dec!(50), dec!(100), 0)
    );
    assert_eq!(book.sales[0].gain_loss, dec!(0));
    let lots: Vec<_> = book.lots.iter().map(|l| (l.lot_id.as_str(), l.quantity, l.basis, l.acquired)).collect();
    assert_eq!(lots, [("T2.1", dec!(50), dec!(600), d("2025-01-02"))]);

    // An order id against none is another order too, and so is the same order id in another
    // account.
    for (first, second) in [(("a", Some("A")), ("a", None)), (("a", Some("A")), ("b", Some("A")))] {
        let l = ledger(vec![
            order("2025-01-02", first.0, dec!(50), dec!(10), first.1),
            order("2025-01-02", second.0, dec!(50), dec!(10), second.1),
            row("2025-01-20", "a", Action::Sell, "X", dec!(50), dec!(8)),
        ]);
        assert_eq!(washes(&l).iter().map(|w| w.shares).sum::<Decimal>(), dec!(50), "{first:?} {second:?}");
    }
}

#[test]
fn the_purchase_identity_survives_transfers_splits_and_symbol_changes() {
    // 100 X bought in a, 50 moved to b, a 2:1 split and a change of symbol to Y in both; then
    // b's 100 Y are sold at a loss. a's 100 Y come from the same purchase: no wash sale.
    let split = |account: &str| RowInput {
        ratio: Some(Ratio { new: dec!(2), old: dec!(1) }),
        ..row("2025-01-10", account, Action::Split, "X", dec!(0), dec!(0))
    };
    let rename = |account: &str| RowInput {
        new_symbol: Some("Y".into()),
        ..row("2025-01-13", account, Action::SymbolChange, "X", dec!(0), dec!(0))
    };
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-01-03", "a", Action::TransferOut, "X", dec!(50), dec!(0)),
        row("2025-01-03", "b", Action::TransferIn, "X", dec!(50), dec!(0)),
        split("a"),
        split("b"),
        rename("a"),
        rename("b"),
        row("2025-01-14", "b", Action::Sell, "Y", dec!(100), dec!(4)),
    ]);
    let book = l.book(None).unwrap();
    assert!(book.wash_sales.is_empty(), "{:?}", book.wash_sales);
    assert_eq!(book.sales[0].gain_loss, dec!(-100));
    let lot = &book.lots[0];
    assert_eq!(
        (lot.account.as_str(), lot.symbol.as_str(), lot.quantity, lot.purchase.as_str()),
        ("a", "Y", dec!(100), "T1")
    );
}

#[test]
fn replacement_shares_bought_after_a_split_count_in_pre_split_shares() {
    // 100 X sold at a loss of $200 on 3 March; 30 bought on 10 March; a 2:1 split on 17 March;
    // 100 bought on 24 March. The 100 post-split shares stand for 50 of the shares sold, so
    // 30 + 50 = 80 of the 100 are replaced: $60 and $100 of the loss are disallowed.
    let split = |account: &str| RowInput {
        ratio: Some(Ratio { new: dec!(2), old: dec!(1) }),
        ..row("2025-03-17", account, Action::Split, "X", dec!(0), dec!(0))
    };
    let check = |l: &Ledger, second: &str, bought: &str| {
        let portion = format!("{bought}.1");
        let book = l.book(None).unwrap();
        let ws: Vec<_> = book
            .wash_sales
            .iter()
            .map(|w| {
                (w.replacement_lot_id.as_str(), w.shares, w.disallowed_loss, w.basis_adjustment, w.holding_period_days)
            })
            .collect();
        // The sold shares were held 60 days (2 January to 3 March), tacked onto both.
        assert_eq!(
            ws,
            [("T3.1", dec!(30), dec!(60), dec!(60), 60), (portion.as_str(), dec!(50), dec!(100), dec!(100), 60)]
        );
        let sale = &book.sales[0];
        assert_eq!((sale.adjustment_amount, sale.gain_loss), (dec!(160), dec!(-40)), "the loss on 20 shares stays");
        let lots: Vec<_> = book
            .lots
            .iter()
            .map(|l| (l.lot_id.as_str(), l.account.as_str(), l.quantity, l.basis, l.wash_adjustment, l.acquired))
            .collect();
        assert_eq!(
            lots,
            [
                // 30 shares at $8 plus $60, doubled by the split: 60 shares with the same basis.
                ("T3.1", "a", dec!(60), dec!(300), dec!(60), d("2025-01-09")),
                // All 100 post-split shares at $4 plus $100, from 24 March less 60 days.
                (portion.as_str(), second, dec!(100), dec!(500), dec!(100), d("2025-01-23")),
            ]
        );
    };
    let rows = |second: &str, splits: Vec<RowInput>| {
        let mut rows = vec![
            row("2025-01-02", "a", Action::Buy, "X", dec!(100), dec!(10)),
            row("2025-03-03", "a", Action::Sell, "X", dec!(100), dec!(8)),
            row("2025-03-10", "a", Action::Buy, "X", dec!(30), dec!(8)),
        ];
        rows.extend(splits);
        rows.push(row("2025-03-24", second, Action::Buy, "X", dec!(100), dec!(4)));
        rows
    };
    check(&ledger(rows("a", vec![split("a")])), "a", "T5");
    // Bought in an account that had no shares at the split: the symbol's split still counts.
    check(&ledger(rows("b", vec![split("a")])), "b", "T5");
    // The split recorded in both accounts is one split (a factor of 2, not 4).
    check(&ledger(rows("b", vec![split("a"), split("b")])), "b", "T6");
}

#[test]
fn a_portion_carved_from_a_post_split_purchase_is_in_its_own_shares() {
    let split = |ratio: (Decimal, Decimal)| RowInput {
        ratio: Some(Ratio { new: ratio.0, old: ratio.1 }),
        ..row("2025-03-17", "a", Action::Split, "X", dec!(0), dec!(0))
    };
    // 20 sold at a loss of $40, then a 2:1 split, then 100 bought: 40 of the new shares stand
    // for the 20 sold; the other 60 stay an ordinary lot.
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(20), dec!(8)),
        split((dec!(2), dec!(1))),
        row("2025-03-24", "a", Action::Buy, "X", dec!(100), dec!(4)),
    ]);
    let book = l.book(None).unwrap();
    let w = &book.wash_sales[0];
    assert_eq!((w.replacement_lot_id.as_str(), w.shares, w.disallowed_loss), ("T4.1", dec!(20), dec!(40)));
    let lots: Vec<_> = book.lots.iter().map(|l| (l.lot_id.as_str(), l.quantity, l.basis, l.acquired)).collect();
    assert_eq!(
        lots,
        [
            ("T1", dec!(160), dec!(800), d("2025-01-02")),
            ("T4", dec!(60), dec!(240), d("2025-03-24")),
            ("T4.1", dec!(40), dec!(200), d("2025-01-23")),
        ]
    );

    // A 1:2 reverse split: each new share stands for two sold, so 30 bought replace 60 of 100.
    let l = ledger(vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(100), dec!(10)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(100), dec!(8)),
        split((dec!(1), dec!(2))),
        row("2025-03-24", "a", Action::Buy, "X", dec!(30), dec!(16)),
    ]);
    let book = l.book(None).unwrap();
    let w = &book.wash_sales[0];
    assert_eq!((w.shares, w.disallowed_loss), (dec!(60), dec!(120)));
    assert_eq!((book.lots[0].quantity, book.lots[0].basis), (dec!(30), dec!(600)));
    assert_eq!(book.sales[0].gain_loss, dec!(-80));
}

#[test]
fn splits_too_large_to_count_replacements_across_refuse_the_import_instead_of_overflowing() {
    let reverse = |date: &str| RowInput {
        ratio: Some(Ratio { new: dec!(1), old: dec!(1000000) }),
        ..row(date, "a", Action::Split, "X", dec!(0), dec!(0))
    };
    let mut rows = vec![
        row("2025-01-02", "a", Action::Buy, "X", dec!(10), dec!(10)),
        row("2025-03-03", "a", Action::Sell, "X", dec!(10), dec!(8)),
        reverse("2025-03-04"),
        reverse("2025-03-05"),
        reverse("2025-03-06"),
        row("2025-03-10", "a", Action::Buy, "X", dec!(1000000000000), dec!(0.01)),
    ];
    for (i, r) in rows.iter_mut().enumerate() {
        r.line = i as u64 + 2;
    }
    let cmd = LedgerCommand::Import {
        household: "h".into(),
        command_id: "s".into(),
        file_sha256: "s".into(),
        rows,
        options: Default::default(),
    };
    let err = decide(&Ledger::default(), &cmd).unwrap_err().to_string();
    assert_eq!(err, "line 3: ratio: the splits of X between this sale and T6 are too large to count");
}

#[test]
fn computed_settlement_dates_skip_federal_reserve_holidays() {
    // Friday 10 October 2025, T+1 over Columbus Day (Monday 13 October): Tuesday 14 October.
    let l = ledger(vec![row("2025-10-10", "a", Action::Buy, "X", dec!(1), dec!(1))]);
    assert_eq!(l.trades[0].settlement_date, d("2025-10-14"));
}

#[test]
fn another_share_class_of_the_fund_replaces_sold_shares_by_value() {
    // Sell 100 VTI (bought at $250) at $200: a $5,000 loss. Ten days later buy 100 VTSAX at
    // $120, worth $12,000: the value of 60 VTI at the sale's price. The loss on 60 shares is
    // disallowed and added to the VTSAX shares' basis; the other 40 shares' loss stands.
    let l = ledger(vec![
        row("2025-01-06", "brokerage", Action::Buy, "VTI", dec!(100), dec!(250)),
        row("2025-06-02", "brokerage", Action::Sell, "VTI", dec!(100), dec!(200)),
        row("2025-06-12", "brokerage", Action::Buy, "VTSAX", dec!(100), dec!(120)),
    ]);
    let book = l.book(None).unwrap();
    let sale = &book.sales[0];
    assert_eq!((sale.adjustment_amount, sale.gain_loss), (dec!(3000), dec!(-2000)));
    let w = &book.wash_sales[0];
    assert_eq!(w.replacement_symbol.as_deref(), Some("VTSAX"));
    assert_eq!((w.shares, w.disallowed_loss, w.permanent), (dec!(60), dec!(3000), false));
    let vtsax = book.lots.iter().find(|l| l.symbol == "VTSAX").unwrap();
    assert_eq!((vtsax.quantity, vtsax.basis, vtsax.wash_adjustment), (dec!(100), dec!(15000), dec!(3000)));
    assert_eq!(
        vtsax.acquired,
        d("2025-01-06") + chrono::Duration::days(10),
        "the sold shares' holding period is tacked on"
    );
}

#[test]
fn a_larger_purchase_of_another_class_replaces_every_sold_share_and_only_a_portion_is_adjusted() {
    // 200 VTSAX at $120 ($24,000) is worth 120 VTI at $200: all 100 sold shares are replaced, by
    // 166.66666667 VTSAX (100 × 200 ÷ 120); the rest of the purchase keeps its cost.
    let l = ledger(vec![
        row("2025-01-06", "brokerage", Action::Buy, "VTI", dec!(100), dec!(250)),
        row("2025-06-02", "brokerage", Action::Sell, "VTI", dec!(100), dec!(200)),
        row("2025-06-12", "brokerage", Action::Buy, "VTSAX", dec!(200), dec!(120)),
    ]);
    let book = l.book(None).unwrap();
    assert_eq!((book.sales[0].adjustment_amount, book.sales[0].gain_loss), (dec!(5000), dec!(0)));
    let mut vtsax: Vec<_> = book.lots.iter().filter(|l| l.symbol == "VTSAX").collect();
    vtsax.sort_by_key(|l| l.wash_adjustment);
    assert_eq!(vtsax.len(), 2);
    assert_eq!((vtsax[1].quantity, vtsax[1].wash_adjustment), (dec!(166.66666667), dec!(5000)));
    assert_eq!(vtsax[0].quantity, dec!(33.33333333));
    assert_eq!(vtsax[0].wash_adjustment, dec!(0));
    let basis: Decimal = vtsax.iter().map(|l| l.basis).sum();
    assert_eq!(basis, dec!(29000), "the purchase's cost plus the disallowed loss");
}

#[test]
fn another_class_bought_before_the_sale_or_in_an_ira_washes_the_loss_too() {
    // VFIAX bought 20 days before VOO is sold at a loss and still held: a wash sale. Admiral
    // shares bought in a Roth IRA after it: the loss is gone for good (Rev. Rul. 2008-5).
    let l = ledger(vec![
        row("2025-01-06", "brokerage", Action::Buy, "VOO", dec!(10), dec!(500)),
        row("2025-05-12", "brokerage", Action::Buy, "VFIAX", dec!(5), dec!(400)),
        row("2025-06-02", "brokerage", Action::Sell, "VOO", dec!(10), dec!(450)),
        row("2025-06-10", "roth-ira", Action::Buy, "VFIAX", dec!(10), dec!(405)),
    ]);
    let book = l.book(None).unwrap();
    let w = &book.wash_sales;
    assert_eq!(w.len(), 2);
    // 5 VFIAX at $400 = $2,000 = 4.44444444 VOO at $450; the IRA's $4,050 covers the rest.
    assert_eq!((w[0].shares, w[0].permanent), (dec!(4.44444444), false));
    assert_eq!((w[1].shares, w[1].permanent, w[1].basis_adjustment), (dec!(5.55555556), true, dec!(0)));
    assert_eq!(book.sales[0].adjustment_amount, dec!(500), "the whole $500 loss is disallowed");
}

#[test]
fn a_fund_tracking_another_index_is_not_substantially_identical() {
    let l = ledger(vec![
        row("2025-01-06", "brokerage", Action::Buy, "VTI", dec!(100), dec!(250)),
        row("2025-06-02", "brokerage", Action::Sell, "VTI", dec!(100), dec!(200)),
        row("2025-06-03", "brokerage", Action::Buy, "ITOT", dec!(150), dec!(130)),
    ]);
    let book = l.book(None).unwrap();
    assert!(book.wash_sales.is_empty());
    assert_eq!(book.sales[0].gain_loss, dec!(-5000));
}
