//! On-demand risk: a portfolio's `portfolio_risk` row computed from the read models (its
//! VaR and CVaR, volatility and Monte Carlo probability of success), used by the CLI, by HTTP
//! reads that cannot wait for the worker, and by the worker itself (`workers::risk`). The
//! numbers come from [`simulations::portfolio_risk`] on the blocking pool.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike as _, NaiveDate, Utc};
use domain::ledger::types::Action;
use domain::ledger::Ledger;
use projections::db::{Db, Row};
use projections::holdings::{ledger_of, PORTFOLIOS, VALUATIONS};
use projections::prices::PRICES;
use projections::query::{records, Record};
use projections::risk::inputs_position;
use projections::{row, Error, Result};
use rust_decimal::prelude::FromPrimitive as _;
use rust_decimal::Decimal;
use simulations::portfolio_risk::{self, Bar, Holding, Settings, Split};

/// Price history used: the last three years before the latest bar.
const HISTORY_DAYS: i64 = 3 * 366;
/// Places kept for ratios.
const RATIO_DP: u32 = 8;
/// What the row's figures are computed from (its `basis` column).
pub const BASIS: &str =
    "daily returns of split-adjusted closes (adjusted closes where both days have one, else closes \
    with the ledger's splits); historical VaR/CVaR from those returns; normal VaR/CVaR on their log returns \
    (21 days: mean x 21, sd x sqrt 21), transformed to simple losses (1 - e^q); all fractions of the value";

fn ratio(x: Option<f64>) -> Option<Decimal> {
    x.filter(|v| v.is_finite()).and_then(Decimal::from_f64).map(|d| d.round_dp(RATIO_DP).normalize())
}

fn to_f64(d: Decimal) -> f64 {
    rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(f64::NAN)
}

/// The splits of `symbol` among the ledger's rows in force (every account: a split is the
/// security's): each row's trade date and ratio, new shares per old.
pub fn splits_of(ledger: &Ledger, symbol: &str) -> Vec<Split> {
    ledger
        .trades
        .iter()
        .filter(|t| t.action == Action::Split && t.symbol.as_deref() == Some(symbol))
        .filter_map(|t| {
            let r = t.ratio?;
            (!r.old.is_zero()).then(|| Split { day: day_number(t.trade_date), ratio: to_f64(r.new / r.old) })
        })
        .collect()
}

fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

fn day_of(n: i64) -> Option<NaiveDate> {
    i32::try_from(n).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Computes the risk row of one portfolio from the read models behind `db` (pin it, so that the
/// portfolio, its valuations, the prices and the position stated all come from one snapshot).
/// `None` when the household has no such portfolio. The numbers are computed on the blocking
/// pool.
pub async fn assess(db: &Db, household: &str, portfolio: &str) -> Result<Option<Row>> {
    let position = inputs_position(db).await?;
    let filters = [("household", Some(household.to_owned())), ("portfolio", Some(portfolio.to_owned()))];
    let Some(p) = records(db, &PORTFOLIOS, &filters).await?.into_iter().next() else { return Ok(None) };
    let accounts = accounts_of(&p);
    // Market value per symbol over the portfolio's accounts, at the latest close.
    let mut values: BTreeMap<String, (Decimal, Option<NaiveDate>)> = BTreeMap::new();
    let mut unpriced = BTreeSet::new();
    for v in records(db, &VALUATIONS, &[("household", Some(household.to_owned()))]).await? {
        if !accounts.contains(v.str("account")) || v.dec("quantity").is_none_or(|q| q.is_zero()) {
            continue;
        }
        match v.dec("market_value") {
            Some(mv) => {
                let entry = values.entry(v.str("symbol").to_owned()).or_insert((Decimal::ZERO, None));
                entry.0 += mv;
                entry.1 = entry.1.max(v.date("price_date"));
            }
            None => {
                unpriced.insert(v.str("symbol").to_owned());
            }
        }
    }
    let total: Decimal = values.values().map(|(v, _)| *v).sum();
    // The splits the household's ledger knows of, for the price histories.
    let ledger = ledger_of(db, household).await?.unwrap_or_default();
    let mut holdings = Vec::new();
    for (symbol, (value, latest)) in &values {
        let mut filters = vec![("symbol", Some(symbol.clone()))];
        if let Some(latest) = latest {
            filters.push(("day >=", Some((*latest - chrono::Duration::days(HISTORY_DAYS)).to_string())));
        }
        let bars = records(db, &PRICES, &filters).await?;
        // Each return from adjusted closes where both bars have one, else from closes with the
        // ledger's splits applied (portfolio_risk::adjusted_closes).
        let bars = bars
            .iter()
            .filter_map(|b| {
                Some(Bar {
                    day: day_number(b.date("day")?),
                    close: to_f64(b.dec("close")?),
                    adj_close: b.dec("adj_close").map(to_f64),
                })
            })
            .collect();
        holdings.push(Holding {
            symbol: symbol.clone(),
            value: to_f64(*value),
            bars,
            splits: splits_of(&ledger, symbol),
        });
    }
    let settings = Settings::default();
    let s = settings.clone();
    let assessment = tokio::task::spawn_blocking(move || portfolio_risk::assess(&holdings, &s))
        .await
        .map_err(|e| Error::Config(format!("risk computation failed: {e}")))?;
    let weights: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .filter(|_| !total.is_zero())
        .map(|(s, (v, _))| {
            let w = domain::portfolio::weight(*v, total);
            (s.clone(), serde_json::Value::String(w.normalize().to_string()))
        })
        .collect();
    let mut notes: Vec<String> = unpriced.iter().map(|s| format!("{s}: no price, not valued")).collect();
    notes.extend(assessment.notes.iter().cloned());
    let tail = |c: f64| assessment.tail.iter().find(|t| t.confidence == c);
    let (t95, t99) = (tail(0.95), tail(0.99));
    let amount = |x: Option<f64>| ratio(x).map(|r| (r * total).round_dp(2));
    let withdrawal = (total * Decimal::from_f64(settings.withdrawal_rate).unwrap_or_default()).round_dp(2);
    Ok(Some(row![
        household,
        portfolio,
        p.str("name"),
        total,
        serde_json::Value::Object(weights).to_string(),
        ratio(Some(assessment.coverage)),
        (!notes.is_empty()).then(|| notes.join("; ")),
        BASIS,
        assessment.observations,
        assessment.first_day.and_then(day_of),
        assessment.last_day.and_then(day_of),
        ratio(assessment.volatility),
        ratio(t95.map(|t| t.historical_var)),
        ratio(t95.map(|t| t.historical_cvar)),
        ratio(t99.map(|t| t.historical_var)),
        ratio(t99.map(|t| t.historical_cvar)),
        ratio(t95.map(|t| t.parametric_var)),
        ratio(t95.map(|t| t.parametric_cvar)),
        ratio(t99.map(|t| t.parametric_var)),
        ratio(t99.map(|t| t.parametric_cvar)),
        ratio(t95.map(|t| t.horizon_var)),
        ratio(t95.map(|t| t.horizon_cvar)),
        ratio(t99.map(|t| t.horizon_var)),
        ratio(t99.map(|t| t.horizon_cvar)),
        amount(t95.map(|t| t.historical_var)),
        amount(t99.map(|t| t.historical_var)),
        ratio(assessment.success_probability),
        settings.years,
        settings.paths,
        withdrawal,
        position,
        Utc::now(),
    ]))
}
/// The accounts a portfolio spans (its `accounts` column, comma-separated).
pub fn accounts_of(portfolio: &Record) -> BTreeSet<String> {
    portfolio.str("accounts").split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect()
}
