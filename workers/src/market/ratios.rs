//! `cairn market ratios` and `GET /v1/prices/{symbol}/ratios`: a company's fundamentals from
//! the first provider that serves them (`Capability::Fundamentals`), priced at the latest
//! recorded close (or a price the caller gives), and the ratios of `domain::fundamentals`.

use chrono::NaiveDate;
use domain::fundamentals::{ratios, Fundamentals, Ratio};
use projections::db::Db;
use queries::ledger::ReportError;
use queries::reports::Report;
use rust_decimal::Decimal;

use super::selector::{AskError, Selector};

/// One ratio as answered: its value (six decimals), formula, and why it has none.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RatioRow {
    pub ratio: &'static str,
    pub value: Option<String>,
    pub formula: &'static str,
    pub reason: Option<String>,
}

/// The ratios of one company, with the figures they came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Answer {
    pub symbol: String,
    /// The provider that gave the figures.
    pub provider: String,
    pub price: Option<String>,
    /// The day of the close used as the price (absent for a price given by the caller).
    pub price_date: Option<NaiveDate>,
    pub fundamentals: Fundamentals,
    pub ratios: Vec<RatioRow>,
}

/// Fetches `symbol`'s fundamentals through `selector` and computes the ratios at `price`, or at
/// the latest close recorded in `db` when `price` is `None` (no close: the price ratios say the
/// price is missing).
pub async fn company(selector: &Selector, db: &Db, symbol: &str, price: Option<Decimal>) -> Result<Answer, AskError> {
    let symbol = symbol.trim().to_ascii_uppercase();
    let answered = selector.fundamentals(&symbol).await?;
    let mut f = answered.value;
    match price {
        Some(p) => (f.price, f.price_date) = (Some(p), None),
        None => {
            let last = match queries::market::bars(db, &symbol, None, None).await {
                Ok(mut bars) => bars.pop(),
                // No recorded bar: the price ratios will say the price is missing.
                Err(ReportError::Invalid { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            if let Some(bar) = last {
                (f.price, f.price_date) = (Some(bar.close), Some(bar.date));
            }
        }
    }
    let computed = ratios(&f);
    let rows = computed
        .named()
        .into_iter()
        .map(|(name, r): (&'static str, &Ratio)| RatioRow {
            ratio: name,
            value: r.rounded(6).map(|v| v.normalize().to_string()),
            formula: r.formula,
            reason: r.reason.clone(),
        })
        .collect();
    Ok(Answer {
        symbol,
        provider: answered.provider,
        price: f.price.map(|p| p.normalize().to_string()),
        price_date: f.price_date,
        fundamentals: f,
        ratios: rows,
    })
}

impl Answer {
    /// The ratios as a report: ratio, value, formula, reason.
    pub fn report(&self) -> Report {
        let rows = self
            .ratios
            .iter()
            .map(|r| {
                vec![
                    r.ratio.to_owned(),
                    r.value.clone().unwrap_or_default(),
                    r.formula.to_owned(),
                    r.reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        Report {
            name: "ratios",
            columns: vec!["ratio", "value", "formula", "reason"],
            rows,
            totals: Vec::new(),
            summary: vec![
                ("symbol", serde_json::json!(self.symbol)),
                ("provider", serde_json::json!(self.provider)),
                ("price", serde_json::json!(self.price)),
                ("price_date", serde_json::json!(self.price_date)),
                ("period_end", serde_json::json!(self.fundamentals.period_end)),
                ("currency", serde_json::json!(self.fundamentals.currency)),
            ],
        }
    }
}
