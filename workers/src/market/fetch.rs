//! `cairn market fetch`: daily bars pulled through the [`Selector`] (the first provider that
//! answers, in priority order), checked against each symbol's recorded history by
//! `domain::quality` before anything is recorded, and recorded as `BarRecorded` / `BarRevised`
//! events, every symbol of one fetch in one transaction. Repeating a fetch records nothing new:
//! a bar that arrives again unchanged records nothing.
//!
//! - A bar the checks reject (a day the NYSE was closed, inconsistent prices) is not recorded;
//!   the report lists it with the reason.
//! - A bar the checks flag (a price jump, a volume spike, a stale run) is recorded, and the
//!   report lists it with its grade and reasons.
//! - A symbol no provider answers for is listed with each provider's reason; the others are
//!   recorded all the same.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use commands::aggregate::Caller;
use commands::{CommandError, Context};
use domain::market::Bar;
use domain::quality::{assess_bar, Grade, QualityConfig};
use event_store::EventStore;

use super::selector::{Attempt, Selector};

/// What to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub symbols: Vec<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A bar not recorded or recorded with a flag, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Noted {
    pub date: NaiveDate,
    /// `None` for a rejected bar.
    pub grade: Option<&'static str>,
    pub reasons: Vec<String>,
}

/// One symbol's part of a fetch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SymbolReport {
    pub symbol: String,
    /// The provider whose bars were used; `None` when none answered.
    pub provider: Option<String>,
    /// Bars the provider gave.
    pub bars: usize,
    pub recorded: usize,
    pub revised: usize,
    pub unchanged: usize,
    pub rejected: Vec<Noted>,
    pub flagged: Vec<Noted>,
    /// Providers tried before the one used (or all of them), and why each did not answer.
    pub attempts: Vec<AttemptReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttemptReport {
    pub provider: String,
    pub problem: String,
    pub called: bool,
}

impl From<Attempt> for AttemptReport {
    fn from(a: Attempt) -> Self {
        Self { provider: a.provider, problem: a.problem, called: a.called }
    }
}

/// What a fetch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub recorded: usize,
    pub revised: usize,
    pub unchanged: usize,
    pub rejected: usize,
    /// Symbols no provider answered for.
    pub failed: usize,
    pub symbols: Vec<SymbolReport>,
}

fn grade_name(g: Grade) -> &'static str {
    match g {
        Grade::Excellent => "excellent",
        Grade::Good => "good",
        Grade::Fair => "fair",
        Grade::Poor => "poor",
    }
}

/// Fetches `request`'s bars through `selector` and records them (see the module documentation).
pub async fn fetch<S: EventStore>(
    cx: &Context<S>,
    selector: &Selector,
    request: &Request,
    quality: &QualityConfig,
    caller: &Caller,
) -> Result<Report, CommandError> {
    let mut report = Report { from: Some(request.from), to: Some(request.to), ..Report::default() };
    let mut to_record: BTreeMap<String, Vec<(u64, Bar)>> = BTreeMap::new();
    for symbol in &request.symbols {
        let symbol = symbol.trim().to_ascii_uppercase();
        // The symbol's own history, for the checks; each accepted bar joins it in date order.
        let mut history = commands::market::recorded_bars(cx, &symbol).await?;
        let mut part = SymbolReport {
            symbol: symbol.clone(),
            provider: None,
            bars: 0,
            recorded: 0,
            revised: 0,
            unchanged: 0,
            rejected: Vec::new(),
            flagged: Vec::new(),
            attempts: Vec::new(),
        };
        match selector.daily_bars(&symbol, request.from, request.to).await {
            Err(exhausted) => {
                part.attempts = exhausted.attempts.into_iter().map(Into::into).collect();
                report.failed += 1;
            }
            Ok(answer) => {
                part.provider = Some(answer.provider);
                part.attempts = answer.attempts.into_iter().map(Into::into).collect();
                part.bars = answer.value.len();
                let mut accepted = Vec::with_capacity(answer.value.len());
                for bar in answer.value {
                    let before: Vec<Bar> = history.iter().filter(|b| b.date < bar.date).cloned().collect();
                    let assessment = assess_bar(&bar, &before, &quality.for_symbol(&symbol));
                    let reasons: Vec<String> = assessment.findings.iter().map(|f| f.reason.clone()).collect();
                    match assessment.grade {
                        None => {
                            part.rejected.push(Noted { date: bar.date, grade: None, reasons });
                            continue;
                        }
                        Some(g) if !reasons.is_empty() => {
                            part.flagged.push(Noted { date: bar.date, grade: Some(grade_name(g)), reasons })
                        }
                        Some(_) => {}
                    }
                    match history.binary_search_by_key(&bar.date, |b| b.date) {
                        Ok(i) => history[i] = bar.clone(),
                        Err(i) => history.insert(i, bar.clone()),
                    }
                    accepted.push((accepted.len() as u64 + 1, bar));
                }
                report.rejected += part.rejected.len();
                if !accepted.is_empty() {
                    to_record.insert(symbol.clone(), accepted);
                }
            }
        }
        report.symbols.push(part);
    }
    if to_record.is_empty() {
        return Ok(report);
    }
    let done = commands::market::record_bars(cx, to_record, caller).await?;
    report.recorded = done.recorded;
    report.revised = done.revised;
    report.unchanged = done.unchanged;
    for (symbol, counts) in done.per_symbol {
        if let Some(part) = report.symbols.iter_mut().find(|p| p.symbol == symbol) {
            (part.recorded, part.revised, part.unchanged) = counts;
        }
    }
    Ok(report)
}
