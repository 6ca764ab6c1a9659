//! `cairn portfolio rebalance` and `GET /v1/households/{h}/portfolios/{p}/rebalance`: a
//! portfolio's tax-aware rebalancing proposal (`domain::rebalance::plan`) from the read models:
//! the ledger and the portfolio as the holdings projection holds them, the latest closes, the
//! security master's asset classes, and the marginal rates of the tax year (as `cairn tax
//! estimate` computes them, with the wages given). Nothing is booked.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::ledger::ReportError;
use crate::reports::{money, Report};
use crate::tax::Given;

/// What a rebalance takes beside the household and the portfolio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebalanceRequest {
    pub as_of: chrono::NaiveDate,
    pub cash: Decimal,
    pub cash_account: Option<String>,
    pub short_term: bool,
    /// The income the marginal rates are taken at.
    pub given: Given,
}

/// One trade, as both shells answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OrderAnswer {
    pub account: String,
    /// `sell` or `buy`.
    pub side: String,
    pub symbol: String,
    pub asset: String,
    pub quantity: String,
    pub price: String,
    pub amount: String,
    pub lot_id: Option<String>,
    /// `short` or `long` for a sale.
    pub term: Option<String>,
    pub gain: String,
    pub tax: String,
    pub note: Option<String>,
}

impl OrderAnswer {
    /// The order as both shells answer it: amounts to the cent, quantities exact.
    pub fn of(o: &domain::rebalance::Order) -> Self {
        let exact = |d: Decimal| d.normalize().to_string();
        Self {
            account: o.account.clone(),
            side: o.side.as_str().to_owned(),
            symbol: o.symbol.clone(),
            asset: o.asset.clone(),
            quantity: exact(o.quantity),
            price: exact(o.price),
            amount: money(o.amount),
            lot_id: o.lot_id.clone(),
            term: o.term.map(|t| t.as_str().to_owned()),
            gain: money(o.gain),
            tax: money(o.tax),
            note: o.note.clone(),
        }
    }
}

/// One asset before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AssetAnswer {
    pub asset: String,
    pub target: String,
    pub value_before: String,
    pub weight_before: String,
    pub value_after: String,
    pub weight_after: String,
    pub drift_after: String,
}

/// The proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Rebalance {
    pub household: String,
    pub portfolio: String,
    pub as_of: chrono::NaiveDate,
    pub threshold: String,
    /// The marginal rates a short- and a long-term gain are taxed at.
    pub short_term_rate: String,
    pub long_term_rate: String,
    pub orders: Vec<OrderAnswer>,
    pub assets: Vec<AssetAnswer>,
    /// The tax the sales cost (negative: saved), and the gains realized in taxable accounts.
    pub tax: String,
    pub short_term_gain: String,
    pub long_term_gain: String,
    /// Cash the plan could not invest, by account.
    pub cash_left: BTreeMap<String, String>,
    pub max_drift_before: String,
    pub max_drift_after: String,
    /// Every weight after is within the threshold.
    pub within: bool,
    pub notes: Vec<String>,
    /// When the proposal was accepted: the rows recorded.
    pub recorded: Option<Recorded>,
}

/// Rows an accepted proposal recorded on the household's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Recorded {
    /// The rows' ids (`T<n>`), in the order of the orders.
    pub trade_ids: Vec<String>,
    pub first_position: Option<u64>,
    pub last_position: Option<u64>,
}

/// The portfolio's proposal and the ledger rows that would book it (on its day, by specific
/// lots), or `None` when the household has no such portfolio.
pub async fn rebalance(
    db: &projections::db::Db,
    household: &str,
    portfolio: &str,
    r: &RebalanceRequest,
) -> Result<Option<(Rebalance, Vec<domain::ledger::RowInput>)>, ReportError> {
    let Some((ledger, p)) = projections::holdings::portfolio_of(db, household, portfolio).await? else {
        return Ok(None);
    };
    let ledger = std::sync::Arc::new(ledger);
    let rates = crate::tax::marginal_rates(ledger.clone(), r.as_of, &r.given).await?;
    let closes = crate::tax::closes(db, &ledger, r.as_of).await;
    let described = projections::query::records(db, &projections::prices::SECURITIES, &[]).await?;
    let classes: BTreeMap<String, domain::market::AssetClass> = described
        .iter()
        .filter_map(|s| Some((s.str("symbol").to_owned(), s.str("asset_class").parse().ok()?)))
        .collect();
    let request = r.clone();
    let plan = tokio::task::spawn_blocking(move || {
        let domain_request = domain::rebalance::Request {
            as_of: request.as_of,
            closes: &closes,
            classes: &classes,
            cash: request.cash,
            cash_account: request.cash_account.as_deref(),
            rates,
            short_term: request.short_term,
        };
        domain::rebalance::plan(&ledger, &p, &domain_request)
    })
    .await
    .map_err(|e| anyhow::anyhow!("the rebalance failed: {e}"))?
    .map_err(|e| match e {
        domain::DomainError::Rejected { field, problem, .. } => ReportError::Invalid {
            field: match field.as_str() {
                "cash" => "cash",
                "cash_account" => "cash_account",
                "target" => "target",
                _ => "portfolio",
            },
            problem,
        },
        other => ReportError::Other(other.into()),
    })?;
    let exact = |d: Decimal| d.normalize().to_string();
    let rows = plan.orders.iter().enumerate().map(|(i, o)| o.row(r.as_of, i as u64 + 1, "rebalance")).collect();
    let answer = Rebalance {
        household: household.to_owned(),
        portfolio: portfolio.to_owned(),
        as_of: r.as_of,
        threshold: exact(plan.threshold),
        short_term_rate: exact(rates.0),
        long_term_rate: exact(rates.1),
        orders: plan.orders.iter().map(OrderAnswer::of).collect(),
        assets: plan
            .assets
            .iter()
            .map(|a| AssetAnswer {
                asset: a.asset.clone(),
                target: exact(a.target),
                value_before: money(a.value_before),
                weight_before: exact(a.weight_before),
                value_after: money(a.value_after),
                weight_after: exact(a.weight_after),
                drift_after: exact(a.drift_after),
            })
            .collect(),
        tax: money(plan.tax),
        short_term_gain: money(plan.short_term_gain),
        long_term_gain: money(plan.long_term_gain),
        cash_left: plan.cash_left.iter().map(|(a, c)| (a.clone(), money(*c))).collect(),
        max_drift_before: exact(plan.max_drift_before),
        max_drift_after: exact(plan.max_drift_after),
        within: plan.within,
        notes: plan.notes,
        recorded: None,
    };
    Ok(Some((answer, rows)))
}

/// The proposal as a report: a row per trade; the totals, drifts and notes in the summary.
pub fn report(r: &Rebalance) -> Report {
    let columns = vec![
        "side", "account", "symbol", "asset", "quantity", "price", "amount", "lot_id", "term", "gain", "tax", "note",
    ];
    let rows = r
        .orders
        .iter()
        .map(|o| {
            vec![
                o.side.clone(),
                o.account.clone(),
                o.symbol.clone(),
                o.asset.clone(),
                o.quantity.clone(),
                o.price.clone(),
                o.amount.clone(),
                o.lot_id.clone().unwrap_or_default(),
                o.term.clone().unwrap_or_default(),
                o.gain.clone(),
                o.tax.clone(),
                o.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Report {
        name: "rebalance",
        columns,
        rows,
        totals: Vec::new(),
        summary: vec![
            ("household", serde_json::json!(r.household)),
            ("portfolio", serde_json::json!(r.portfolio)),
            ("tax", serde_json::json!(r.tax)),
            ("max_drift_before", serde_json::json!(r.max_drift_before)),
            ("max_drift_after", serde_json::json!(r.max_drift_after)),
            ("within", serde_json::json!(r.within)),
            ("cash_left", serde_json::json!(r.cash_left)),
            ("notes", serde_json::json!(r.notes)),
            ("recorded", serde_json::json!(r.recorded)),
        ],
    }
}
