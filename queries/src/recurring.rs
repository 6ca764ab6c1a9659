//! A household's standing instructions (`cairn recurring list`, `GET
//! /v1/households/{h}/recurring`): recurring purchases and dividend reinvestment, each with the
//! next day it buys as the harvesting scan sees it (`domain::ledger::recurring`).

use chrono::{Duration, NaiveDate};
use domain::ledger::recurring::{Instruction, Recurring};
use domain::ledger::Ledger;
use schemars::JsonSchema;
use serde::Serialize;

use crate::reports::Report;

/// How far ahead the next purchase is looked for.
const LOOK_AHEAD_DAYS: i64 = 400;

/// A standing instruction and when it buys next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Upcoming {
    pub account: String,
    pub symbol: String,
    /// `purchase` or `reinvest`.
    pub kind: String,
    /// A purchase's dollars each time.
    pub amount: Option<String>,
    /// A purchase's interval: `week`, `two_weeks`, `month` or `quarter`.
    pub every: Option<String>,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
    /// The next day it buys on or after the day asked (`None`: none in the next 400 days, or a
    /// reinvestment whose next dividend the ledger cannot tell).
    pub next: Option<NaiveDate>,
    /// Why that day.
    pub basis: Option<String>,
    /// The next purchase is within 30 days: a sale of these shares (or another share class of
    /// their fund) at a loss now would be a wash sale.
    pub blocks_harvesting: bool,
}

/// The ledger's standing instructions, by account, symbol and kind, as of `day`.
pub fn upcoming(ledger: &Ledger, day: NaiveDate) -> Vec<Upcoming> {
    let window = day + Duration::days(domain::ledger::lots::WASH_SALE_WINDOW_DAYS);
    ledger
        .recurring
        .values()
        .map(|r: &Recurring| {
            let due = r.next_after(ledger, day - Duration::days(1), day + Duration::days(LOOK_AHEAD_DAYS));
            let (amount, every, first, last) = match &r.instruction {
                Instruction::Purchase { amount, every, first, last } => {
                    (Some(amount.to_string()), Some(every.as_str().to_owned()), Some(*first), *last)
                }
                Instruction::Reinvest => (None, None, None, None),
            };
            let next = due.as_ref().and_then(|d| d.date);
            Upcoming {
                account: r.account.clone(),
                symbol: r.symbol.clone(),
                kind: r.instruction.kind().to_owned(),
                amount,
                every,
                first,
                last,
                next,
                blocks_harvesting: due.as_ref().is_some_and(|d| d.date.is_none_or(|n| n <= window)),
                basis: due.map(|d| d.basis),
            }
        })
        .collect()
}

/// The instructions as a report (table, CSV or JSON).
pub fn report(household: &str, day: NaiveDate, list: &[Upcoming]) -> Report {
    let text = |d: &Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    Report {
        name: "recurring",
        columns: vec![
            "account",
            "symbol",
            "kind",
            "amount",
            "every",
            "first",
            "last",
            "next",
            "blocks_harvesting",
            "basis",
        ],
        rows: list
            .iter()
            .map(|u| {
                vec![
                    u.account.clone(),
                    u.symbol.clone(),
                    u.kind.clone(),
                    u.amount.clone().unwrap_or_default(),
                    u.every.clone().unwrap_or_default(),
                    text(&u.first),
                    text(&u.last),
                    text(&u.next),
                    u.blocks_harvesting.to_string(),
                    u.basis.clone().unwrap_or_default(),
                ]
            })
            .collect(),
        totals: Vec::new(),
        summary: vec![("household", serde_json::json!(household)), ("as_of", serde_json::json!(day.to_string()))],
    }
}
