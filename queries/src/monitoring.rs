//! What the monitoring rules (`domain::monitoring`) read of a household, filled from the read
//! models: its holdings at the latest close with their asset classes and its cash, its daily
//! value history (values, cash, external flows), each portfolio's assets against its target
//! and its risk figures, and its open lots at the latest close.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use domain::ledger::types::AccountType;
use domain::monitoring::{CashDay, Holding, Lot, PortfolioSnapshot, RiskFigures, Snapshot, ValuationDay};
use projections::db::Db;
use projections::holdings::{ACCOUNTS, ALLOCATIONS, LOTS, PORTFOLIOS};
use projections::query::records;
use projections::risk::PORTFOLIO_RISK;
use projections::valuation_history::VALUE_HISTORY;
use rust_decimal::Decimal;

use crate::holdings::holdings;

/// The households with a ledger in the read models.
pub async fn households(db: &Db) -> projections::Result<Vec<String>> {
    let names: BTreeSet<String> =
        records(db, &ACCOUNTS, &[]).await?.iter().map(|a| a.str("household").to_owned()).collect();
    Ok(names.into_iter().collect())
}

/// The household `key`'s snapshot as of `as_of` (its days up to it; holdings and lots at the
/// latest close recorded).
pub async fn snapshot(db: &Db, key: &str, as_of: NaiveDate) -> projections::Result<Snapshot> {
    let mut s = Snapshot::new(key, as_of);
    let scope = [("household", Some(key.to_owned()))];
    let h = holdings(db, key).await?;
    let dec = |t: &str| t.parse::<Decimal>().ok();
    for x in &h.holdings {
        if let Some(value) = x.market_value.as_deref().and_then(dec) {
            s.holdings.push(Holding {
                symbol: x.symbol.clone(),
                value,
                asset_class: x.asset_class.parse().ok(),
                diversified: x.asset_class == "multi_asset",
            });
        }
    }
    if let Some(cash) = dec(&h.cash).filter(|c| !c.is_zero()) {
        s.holdings.push(Holding {
            symbol: "CASH".into(),
            value: cash,
            asset_class: Some(domain::market::AssetClass::Cash),
            diversified: false,
        });
    }
    let mut days = records(db, &VALUE_HISTORY, &scope).await?;
    days.retain(|d| d.date("date").is_some_and(|d| d <= as_of));
    days.sort_by_key(|d| d.date("date"));
    for d in &days {
        let (Some(date), Some(value)) = (d.date("date"), d.dec("value")) else { continue };
        s.history.push(ValuationDay { date, value, flow: d.dec("flow").unwrap_or_default() });
        s.cash.push(CashDay { date, cash: d.dec("cash").unwrap_or_default(), total: value });
    }
    let risks = records(db, &PORTFOLIO_RISK, &scope).await?;
    let allocations = records(db, &ALLOCATIONS, &scope).await?;
    for p in records(db, &PORTFOLIOS, &scope).await? {
        let name = p.str("portfolio");
        let mut snapshot = PortfolioSnapshot {
            name: name.to_owned(),
            holdings: Vec::new(),
            target: BTreeMap::new(),
            history: Vec::new(),
            risk: risks
                .iter()
                .find(|r| r.str("portfolio") == name)
                .map(|r| RiskFigures { var: r.dec("var_95_1d"), cvar: r.dec("cvar_95_1d") }),
        };
        for a in allocations.iter().filter(|a| a.str("portfolio") == name) {
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
    s.lots = lots(db, Some(key), as_of).await?.into_iter().map(|(_, lot)| lot).collect();
    Ok(s)
}

/// Every open lot (of one household, or of all) at its symbol's latest close on or before
/// `as_of`, with its household; a lot whose symbol has no close is left out.
pub async fn lots(db: &Db, household: Option<&str>, as_of: NaiveDate) -> projections::Result<Vec<(String, Lot)>> {
    let scope: Vec<(&str, Option<String>)> = household.map(|h| ("household", Some(h.to_owned()))).into_iter().collect();
    let taxable: BTreeSet<(String, String)> = records(db, &ACCOUNTS, &scope)
        .await?
        .iter()
        .filter(|a| a.text("account_type").and_then(|t| t.parse::<AccountType>().ok()) == Some(AccountType::Taxable))
        .map(|a| (a.str("household").to_owned(), a.str("account").to_owned()))
        .collect();
    let mut closes: BTreeMap<String, Option<Decimal>> = BTreeMap::new();
    let mut out = Vec::new();
    for lot in records(db, &LOTS, &scope).await? {
        let symbol = lot.str("symbol").to_owned();
        if !closes.contains_key(&symbol) {
            let close = match crate::market::bars(db, &symbol, None, Some(as_of)).await {
                Ok(bars) => bars.last().map(|b| b.close),
                Err(_) => None,
            };
            closes.insert(symbol.clone(), close);
        }
        let (Some(Some(close)), Some(quantity), Some(acquired)) =
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
