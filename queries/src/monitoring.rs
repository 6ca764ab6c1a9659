//! What the monitoring rules (`domain::monitoring`) read of a household, filled from the read
//! models: its holdings at the latest close with their asset classes and its cash, its daily
//! value history (values, cash, external flows), each portfolio's assets against its target
//! and its risk figures, and its open lots at the latest close.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use domain::goals::Goal;
use domain::ledger::types::AccountType;
use domain::monitoring::{
    CashDay, GoalStatus, Holding, Lot, PortfolioSnapshot, Profile, RiskFigures, Snapshot, Thresholds, ValuationDay,
};
use projections::db::Db;
use projections::holdings::{ACCOUNTS, ALLOCATIONS, GOALS, LOTS, PORTFOLIOS, VALUATIONS};
use projections::prices::SECURITIES;
use projections::query::{records, records_in, Record};
use projections::risk::PORTFOLIO_RISK;
use projections::valuation_history::VALUE_DAYS;
use rust_decimal::Decimal;

use crate::holdings::UNCLASSIFIED;
use crate::reports::cents;

/// The households with a ledger in the read models.
pub async fn households(db: &Db) -> projections::Result<Vec<String>> {
    let names: BTreeSet<String> =
        records(db, &ACCOUNTS, &[]).await?.iter().map(|a| a.str("household").to_owned()).collect();
    Ok(names.into_iter().collect())
}

/// Rows of `table` of some households (by key) or of every one (`None`).
async fn of(
    db: &Db,
    table: &projections::db::Table,
    households: Option<&[String]>,
) -> projections::Result<Vec<Record>> {
    match households {
        None => records(db, table, &[]).await,
        Some(keys) => records_in(db, table, "household", keys).await,
    }
}

/// The snapshots as of `as_of` of some households (by key) or of every one with a ledger
/// (`None`), by key (each household's days up to it; holdings and lots at the latest close
/// recorded). Each read model is read once for all of them, so evaluating every household, or
/// the few hundred a price touched, costs a few queries, not a few per household.
pub async fn snapshots(
    db: &Db,
    households: Option<&[String]>,
    as_of: NaiveDate,
) -> projections::Result<BTreeMap<String, Snapshot>> {
    let mut out: BTreeMap<String, Snapshot> = BTreeMap::new();
    let mut cash: BTreeMap<String, Decimal> = BTreeMap::new();
    for a in of(db, &ACCOUNTS, households).await? {
        let key = a.str("household").to_owned();
        *cash.entry(key.clone()).or_default() += a.dec("cash").map(cents).unwrap_or_default();
        out.entry(key.clone()).or_insert_with(|| Snapshot::new(&key, as_of));
    }
    // Holdings: each symbol's positions across the household's accounts at market value, as
    // `cairn holdings` adds them (each account's value to the cent), with its asset class.
    let classes: BTreeMap<String, String> = records(db, &SECURITIES, &[])
        .await?
        .iter()
        .map(|r| (r.str("symbol").to_owned(), r.str("asset_class").to_owned()))
        .collect();
    let mut values: BTreeMap<(String, String), Option<Decimal>> = BTreeMap::new();
    for v in of(db, &VALUATIONS, households).await? {
        if v.dec("quantity").unwrap_or_default().is_zero() {
            continue;
        }
        let sum =
            values.entry((v.str("household").to_owned(), v.str("symbol").to_owned())).or_insert(Some(Decimal::ZERO));
        *sum = sum.zip(v.dec("market_value").map(cents)).map(|(a, b)| a + b);
    }
    for ((key, symbol), value) in values {
        let (Some(s), Some(value)) = (out.get_mut(&key), value) else { continue };
        let class = classes.get(&symbol).map(String::as_str).unwrap_or(UNCLASSIFIED);
        s.holdings.push(Holding {
            asset_class: class.parse().ok(),
            diversified: class == "multi_asset",
            symbol,
            value,
        });
    }
    for (key, s) in &mut out {
        if let Some(cash) = cash.get(key).filter(|c| !c.is_zero()) {
            s.holdings.push(Holding {
                symbol: "CASH".into(),
                value: *cash,
                asset_class: Some(domain::market::AssetClass::Cash),
                diversified: false,
            });
        }
    }
    let mut days = of(db, &VALUE_DAYS, households).await?;
    days.retain(|d| d.date("date").is_some_and(|d| d <= as_of));
    days.sort_by(|a, b| (a.str("household"), a.date("date")).cmp(&(b.str("household"), b.date("date"))));
    for d in &days {
        let (Some(s), Some(date), Some(value)) = (out.get_mut(d.str("household")), d.date("date"), d.dec("value"))
        else {
            continue;
        };
        s.history.push(ValuationDay { date, value, flow: d.dec("flow").unwrap_or_default() });
        s.cash.push(CashDay { date, cash: d.dec("cash").unwrap_or_default(), total: value });
    }
    let risks = of(db, &PORTFOLIO_RISK, households).await?;
    let allocations = of(db, &ALLOCATIONS, households).await?;
    let mut by_portfolio: BTreeMap<(&str, &str), Vec<&projections::query::Record>> = BTreeMap::new();
    for a in &allocations {
        by_portfolio.entry((a.str("household"), a.str("portfolio"))).or_default().push(a);
    }
    let risk: BTreeMap<(&str, &str), &projections::query::Record> =
        risks.iter().map(|r| ((r.str("household"), r.str("portfolio")), r)).collect();
    for p in of(db, &PORTFOLIOS, households).await? {
        let (key, name) = (p.str("household"), p.str("portfolio"));
        let Some(s) = out.get_mut(key) else { continue };
        let mut snapshot = PortfolioSnapshot {
            name: name.to_owned(),
            holdings: Vec::new(),
            target: BTreeMap::new(),
            history: Vec::new(),
            risk: risk.get(&(key, name)).map(|r| RiskFigures { var: r.dec("var_95_1d"), cvar: r.dec("cvar_95_1d") }),
            drift_threshold: p.flag("own_threshold").then(|| p.dec("drift_threshold")).flatten(),
        };
        for a in by_portfolio.get(&(key, name)).into_iter().flatten() {
            let asset = a.str("asset").to_owned();
            if let Some(target) = a.dec("target").filter(|t| !t.is_zero()) {
                snapshot.target.insert(asset.clone(), target);
            }
            if let Some(value) = a.dec("market_value").filter(|v| !v.is_zero()) {
                snapshot.holdings.push(Holding { symbol: asset, value, asset_class: None, diversified: false });
            }
        }
        s.portfolios.push(snapshot);
    }
    for (key, goals) in goals(db, households).await? {
        if let Some(s) = out.get_mut(&key) {
            s.goals = goals;
        }
    }
    for (key, lot) in lots(db, households, as_of).await? {
        if let Some(s) = out.get_mut(&key) {
            s.lots.push(lot);
        }
    }
    Ok(out)
}

/// The goals of some households (by key) or of every one, by household, with what each has set
/// aside today: its accounts' cash and positions at market value, or every account's when it
/// names none. At the moderate profile's assumptions: [`crate::goals::assess`] puts the
/// household's.
pub async fn goals(db: &Db, households: Option<&[String]>) -> projections::Result<BTreeMap<String, Vec<GoalStatus>>> {
    let rows = of(db, &GOALS, households).await?;
    let mut out: BTreeMap<String, Vec<GoalStatus>> = BTreeMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let mut accounts: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for a in of(db, &ACCOUNTS, households).await? {
        let cash = a.dec("cash").map(cents).unwrap_or_default();
        *accounts.entry((a.str("household").to_owned(), a.str("account").to_owned())).or_default() += cash;
    }
    for v in of(db, &VALUATIONS, households).await? {
        if let Some(value) = v.dec("market_value").map(cents) {
            *accounts.entry((v.str("household").to_owned(), v.str("account").to_owned())).or_default() += value;
        }
    }
    let moderate = Thresholds::of(Profile::Moderate);
    for g in rows {
        let (Some(target), Some(date)) = (g.dec("target"), g.date("date")) else { continue };
        let key = g.str("household").to_owned();
        let goal = Goal {
            name: g.str("goal").to_owned(),
            target,
            date,
            accounts: serde_json::from_str(g.str("accounts")).unwrap_or_default(),
            monthly_contribution: g.dec("monthly_contribution").unwrap_or_default(),
            expected_return: g.dec("expected_return"),
            volatility: g.dec("volatility"),
        };
        let current = accounts
            .range((key.clone(), String::new())..)
            .take_while(|((h, _), _)| *h == key)
            .filter(|((_, a), _)| goal.accounts.is_empty() || goal.accounts.contains(a))
            .map(|(_, v)| *v)
            .sum();
        out.entry(key).or_default().push(GoalStatus::new(goal, current, &moderate));
    }
    Ok(out)
}

/// Every open lot (of some households by key, or of all) at its symbol's latest close on or
/// before `as_of`, with its household; a lot whose symbol has no close is left out.
pub async fn lots(db: &Db, households: Option<&[String]>, as_of: NaiveDate) -> projections::Result<Vec<(String, Lot)>> {
    let taxable: BTreeSet<(String, String)> = of(db, &ACCOUNTS, households)
        .await?
        .iter()
        .filter(|a| a.text("account_type").and_then(|t| t.parse::<AccountType>().ok()) == Some(AccountType::Taxable))
        .map(|a| (a.str("household").to_owned(), a.str("account").to_owned()))
        .collect();
    let lots = of(db, &LOTS, households).await?;
    let symbols: BTreeSet<String> = lots.iter().map(|l| l.str("symbol").to_owned()).collect();
    let closes = projections::prices::latest_closes(db, &symbols.into_iter().collect::<Vec<_>>(), as_of).await?;
    let mut out = Vec::new();
    for lot in lots {
        let symbol = lot.str("symbol").to_owned();
        let (Some(close), Some(quantity), Some(acquired)) =
            (closes.get(&symbol), lot.dec("quantity"), lot.date("acquired"))
        else {
            continue;
        };
        let (household, account) = (lot.str("household").to_owned(), lot.str("account").to_owned());
        let taxable = taxable.contains(&(household.clone(), account.clone()));
        out.push((
            household,
            Lot {
                id: lot.str("lot_id").to_owned(),
                account,
                symbol,
                acquired,
                cost: lot.dec("basis").unwrap_or_default() + lot.dec("wash_adjustment").unwrap_or_default(),
                value: *close * quantity,
                taxable,
            },
        ));
    }
    Ok(out)
}

/// The market regimes of `benchmark` (a symbol with daily bars in the read models) up to
/// `as_of`, for the regime rule: its closes classified by `simulations::regime` (trend against
/// the 200-day average, 21-day realised volatility against 20%), the last days kept. `None`
/// when it has too few closes to classify (the 200-day average and a month of returns).
pub async fn regime(
    db: &Db,
    benchmark: &str,
    as_of: NaiveDate,
) -> Result<Option<domain::monitoring::RegimeSeries>, crate::ledger::ReportError> {
    use rust_decimal::prelude::ToPrimitive;
    let bars = crate::market::bars(db, benchmark, None, Some(as_of)).await?;
    // Prices to `f64` only for the numeric engine, as every simulation does.
    let closes: Vec<f64> = bars.iter().filter_map(|b| b.close.to_f64()).collect();
    if closes.len() != bars.len() {
        return Err(anyhow::anyhow!("{benchmark}: a close is out of range for the regime classifier").into());
    }
    let config = simulations::regime::ClassifierConfig::default();
    let classified = match simulations::regime::classify(&closes, &config) {
        Ok((days, _)) => days,
        Err(e) => return Err(anyhow::anyhow!("{benchmark}: {e}").into()),
    };
    // The rule compares the last day with the one before; a week is kept for the message.
    let days: Vec<domain::monitoring::RegimeDay> = classified
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(|c| domain::monitoring::RegimeDay { date: bars[c.index].date, regime: c.regime, high_volatility: None })
        .collect();
    Ok((!days.is_empty())
        .then(|| domain::monitoring::RegimeSeries { benchmark: benchmark.trim().to_ascii_uppercase(), days }))
}
