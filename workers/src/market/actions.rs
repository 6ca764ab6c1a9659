//! `cairn market actions` and `GET /v1/prices/{symbol}/actions`: splits and dividends the
//! providers report, as suggestions for the ledgers of the households that hold the symbol.
//! Nothing is booked: a household's ledger is its owner's record, and a person records a split
//! (`POST /v1/households/{h}/corporate-actions`) or a dividend (`cairn ledger record`) after
//! checking it against the broker's statement.
//!
//! Each action is listed once per household holding the symbol now (the `positions` read
//! model; a household that sold before the date is listed too, and one that bought after it:
//! the suggestion says what was held now, not on the date), with what it would record: for a
//! split, the shares held becoming `new/old` times as many; for a dividend, the cash per share
//! times the shares held now. An action with no holder is listed with no household.

use chrono::NaiveDate;
use projections::db::Db;
use projections::holdings::POSITIONS;
use projections::query::records;
use queries::ledger::ReportError;
use queries::reports::Report;
use rust_decimal::Decimal;

use super::provider::CorporateAction;
use super::selector::{AskError, Selector};

/// One suggestion: an action and a household that holds the symbol.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Suggestion {
    pub symbol: String,
    /// `split` or `dividend`.
    pub kind: &'static str,
    /// The split's effective date, or the dividend's ex-date.
    pub date: NaiveDate,
    /// `2:1` for a split (new for old), the cash per share for a dividend.
    pub detail: String,
    /// The provider that reported it.
    pub source: String,
    /// A household holding the symbol now; absent when none does.
    pub household: Option<String>,
    pub account: Option<String>,
    /// Shares held now in that account.
    pub held: Option<String>,
    /// What recording it would do: the shares after the split, or the cash of the dividend.
    pub suggestion: String,
}

/// The actions of `symbol` between `from` and `to` from the first provider serving them, each
/// with the households holding the symbol (see the module documentation).
pub async fn suggestions(
    selector: &Selector,
    db: &Db,
    symbol: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Suggestion>, AskError> {
    let symbol = symbol.trim().to_ascii_uppercase();
    let actions = selector.corporate_actions(&symbol, from, to).await?.value;
    let holders: Vec<(String, String, Decimal)> = records(db, &POSITIONS, &[("symbol", Some(symbol.clone()))])
        .await
        .map_err(ReportError::from)?
        .iter()
        .filter_map(|r| {
            let quantity = r.dec("quantity")?;
            (!quantity.is_zero()).then(|| {
                (
                    r.text("household").unwrap_or_default().to_owned(),
                    r.text("account").unwrap_or_default().to_owned(),
                    quantity,
                )
            })
        })
        .collect();
    let mut out = Vec::new();
    for action in &actions {
        let (kind, date, detail, source) = match action {
            CorporateAction::Split { date, new, old, source, .. } => {
                ("split", *date, format!("{}:{}", new.normalize(), old.normalize()), source.clone())
            }
            CorporateAction::Dividend { ex_date, amount, source, .. } => {
                ("dividend", *ex_date, amount.normalize().to_string(), source.clone())
            }
        };
        let suggest = |held: Decimal| match action {
            CorporateAction::Split { new, old, .. } if !old.is_zero() => {
                format!(
                    "record a {detail} split on {date}: {} shares become {}",
                    held.normalize(),
                    (held * new / old).normalize()
                )
            }
            CorporateAction::Split { .. } => format!("a {detail} split on {date} that cannot be applied"),
            CorporateAction::Dividend { amount, .. } => format!(
                "record a dividend of {:.2} ({} × {} shares) paid after the ex-date {date}",
                (held * amount).round_dp(2),
                amount.normalize(),
                held.normalize()
            ),
        };
        let base = Suggestion {
            symbol: symbol.clone(),
            kind,
            date,
            detail: detail.clone(),
            source,
            household: None,
            account: None,
            held: None,
            suggestion: "no household holds it".into(),
        };
        if holders.is_empty() {
            out.push(base);
            continue;
        }
        for (household, account, held) in &holders {
            out.push(Suggestion {
                household: Some(household.clone()),
                account: Some(account.clone()),
                held: Some(held.normalize().to_string()),
                suggestion: suggest(*held),
                ..base.clone()
            });
        }
    }
    Ok(out)
}

/// Suggestions as a report.
pub fn report(symbol: &str, rows: &[Suggestion]) -> Report {
    Report {
        name: "actions",
        columns: vec!["symbol", "kind", "date", "detail", "source", "household", "account", "held", "suggestion"],
        rows: rows
            .iter()
            .map(|s| {
                vec![
                    s.symbol.clone(),
                    s.kind.to_owned(),
                    s.date.to_string(),
                    s.detail.clone(),
                    s.source.clone(),
                    s.household.clone().unwrap_or_default(),
                    s.account.clone().unwrap_or_default(),
                    s.held.clone().unwrap_or_default(),
                    s.suggestion.clone(),
                ]
            })
            .collect(),
        totals: Vec::new(),
        summary: vec![("symbol", serde_json::json!(symbol.trim().to_ascii_uppercase()))],
    }
}
