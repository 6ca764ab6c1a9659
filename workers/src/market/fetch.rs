//! `cairn market fetch`: daily bars pulled through the [`Selector`], checked against each
//! symbol's recorded history by `domain::quality` before anything is recorded, and recorded as
//! `BarRecorded` / `BarRevised` events carrying each bar's grade and flags, every symbol of one
//! fetch in one transaction (`domain::market::FetchDecider`; a backfill larger than one append
//! may hold is split between symbols, each symbol whole, see
//! `commands::market::record_fetched`). Repeating a fetch records
//! nothing new: a bar that arrives again unchanged, or is refused again, records nothing.
//!
//! Two modes ([`Mode`]):
//!
//! - **First** (the default): the first provider that answers, in priority order, gives the
//!   bars; one that fails or whose breaker is open is skipped for the next.
//! - **Consensus**: every provider that serves daily bars is asked at once; for each day the
//!   answers are combined by `domain::quality::consensus` (median, reliability-weighted mean
//!   or best source; each provider's `weight` from the configuration). A provider's close
//!   further than the tolerance (5%) from the median is refused and recorded as such; a day
//!   without a majority that agrees records no bar and refuses every answer. A day only one
//!   provider answered for is taken as it is.
//!
//! Then, for each bar:
//!
//! - refused by the checks (a day the NYSE was closed, inconsistent prices) or by the
//!   consensus: not recorded as a price; `BarRejected` keeps it with the reasons, and the
//!   report lists it;
//! - flagged (a price jump, a volume spike, a stale run): recorded with its grade and reasons,
//!   and the report lists it;
//! - a symbol no provider answers for is listed with each provider's reason; the others are
//!   recorded all the same.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use commands::aggregate::Caller;
use commands::{CommandError, Context};
use domain::market::{Bar, Fetched, MarketEvent};
use domain::quality::{consensus, Answer, Check, ConsensusError, Finding, Method, QualityConfig};
use event_store::EventStore;
use futures::StreamExt;

use super::selector::{Answered, Attempt, Exhausted, Selector};

/// How the recorded bars are chosen among the providers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// The first provider that answers.
    #[default]
    First,
    /// The consensus of every provider that answers.
    Consensus(Method),
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "first" => Ok(Self::First),
            "median" => Ok(Self::Consensus(Method::Median)),
            "weighted_mean" | "weighted" => Ok(Self::Consensus(Method::WeightedMean)),
            "best_source" | "best" => Ok(Self::Consensus(Method::BestSource)),
            other => Err(format!("{other:?} is not one of first, median, weighted_mean, best_source")),
        }
    }
}

/// What to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub symbols: Vec<String>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub mode: Mode,
    /// How many symbols' bars are asked for at once ([`CONCURRENT_SYMBOLS`] by default; 0 is
    /// taken as 1). With one at a time, a failing provider's breaker sees the symbols in order.
    pub concurrency: usize,
}

/// A bar not recorded or recorded with a flag, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Noted {
    pub date: NaiveDate,
    /// The provider whose bar it was.
    pub source: Option<String>,
    pub close: rust_decimal::Decimal,
    /// `None` for a refused bar.
    pub grade: Option<&'static str>,
    /// The checks that found something (`price_jump`, `calendar`, `consensus`, …).
    pub checks: Vec<&'static str>,
    pub reasons: Vec<String>,
}

fn noted(bar: &Bar, grade: Option<&'static str>, findings: &[Finding]) -> Noted {
    Noted {
        date: bar.date,
        source: bar.source.clone(),
        close: bar.close,
        grade,
        checks: findings.iter().map(|f| f.check.as_str()).collect(),
        reasons: findings.iter().map(|f| f.reason.clone()).collect(),
    }
}

/// A provider's bar refused before the checks, with why.
type Refused = (Bar, Vec<Finding>);

/// The consensus of each day's answers: the bars to record, and the answers refused with why.
fn agree(
    by_day: BTreeMap<NaiveDate, Vec<Answer>>,
    method: Method,
    config: &QualityConfig,
) -> Result<(Vec<Bar>, Vec<Refused>), CommandError> {
    let mut bars = Vec::with_capacity(by_day.len());
    let mut refused = Vec::new();
    let provider_bar = |answers: &[Answer], provider: &str| -> Option<Bar> {
        answers.iter().find(|a| a.provider == provider).map(|a| {
            let mut bar = a.bar.clone();
            bar.source = Some(a.provider.clone());
            bar
        })
    };
    for (day, answers) in by_day {
        match consensus(&answers, method, config) {
            Ok(c) => {
                for x in &c.excluded {
                    if let Some(bar) = provider_bar(&answers, &x.provider) {
                        refused.push((bar, vec![Finding::new(Check::Consensus, x.reason.clone())]));
                    }
                }
                bars.push(c.bar);
            }
            Err(e @ ConsensusError::NoConsensus { .. }) => {
                for a in &answers {
                    if let Some(bar) = provider_bar(&answers, &a.provider) {
                        refused.push((bar, vec![Finding::new(Check::Consensus, e.to_string())]));
                    }
                }
            }
            Err(e) => return Err(CommandError::invalid("providers", format!("{day}: {e}"))),
        }
    }
    Ok((bars, refused))
}

/// One symbol's part of a fetch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SymbolReport {
    pub symbol: String,
    /// The providers whose bars were used (one, or those of the consensus); empty when none
    /// answered.
    pub providers: Vec<String>,
    /// Bars the providers gave (for the consensus, days answered).
    pub bars: usize,
    pub recorded: usize,
    pub revised: usize,
    pub unchanged: usize,
    /// Refused now (a refusal already recorded is not listed again).
    pub rejected: Vec<Noted>,
    pub flagged: Vec<Noted>,
    /// Providers that did not answer, and why.
    pub attempts: Vec<Attempt>,
    /// What to know about the answers used (a vendor's split-adjusted prices used as sent).
    pub notes: Vec<String>,
}

/// What a fetch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `first`, or the consensus method.
    pub mode: String,
    pub recorded: usize,
    pub revised: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub flagged: usize,
    /// Symbols no provider answered for.
    pub failed: usize,
    pub symbols: Vec<SymbolReport>,
}

/// How many symbols' bars are asked for at once unless the request says otherwise: enough to
/// hide a vendor's latency (500 symbols at 200 ms a call take 100 s one at a time), few enough
/// for the rate limits.
pub const CONCURRENT_SYMBOLS: usize = 8;

/// A symbol's answer: the first provider's, or every provider's for the consensus.
enum Asked {
    First(Result<Answered<Vec<Bar>>, Exhausted>),
    All(Method, (Vec<Answered<Vec<Bar>>>, Vec<Attempt>)),
}

/// `symbol`'s answer to `request`.
async fn ask(selector: &Selector, request: &Request, symbol: String) -> (String, Asked) {
    let answer = match request.mode {
        Mode::First => Asked::First(selector.daily_bars(&symbol, request.from, request.to).await),
        Mode::Consensus(method) => {
            Asked::All(method, selector.daily_bars_from_all(&symbol, request.from, request.to).await)
        }
    };
    (symbol, answer)
}

/// Fetches `request`'s bars through `selector` and records them (see the module documentation).
pub async fn fetch<S: EventStore>(
    cx: &Context<S>,
    selector: &Selector,
    request: &Request,
    quality: &QualityConfig,
    caller: &Caller,
) -> Result<Report, CommandError> {
    let mode = match request.mode {
        Mode::First => "first".to_owned(),
        Mode::Consensus(m) => {
            serde_json::to_value(m).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        }
    };
    let mut report = Report { from: Some(request.from), to: Some(request.to), mode, ..Report::default() };
    // The providers are asked for several symbols at once (each provider's rate limit and
    // breaker still hold); the answers are taken in the request's order.
    let symbols: Vec<String> = request.symbols.iter().map(|s| s.trim().to_ascii_uppercase()).collect();
    let asked: Vec<(String, Asked)> = futures::stream::iter(symbols)
        .map(|symbol| ask(selector, request, symbol))
        .buffered(request.concurrency.max(1))
        .collect()
        .await;
    let mut fetched = Vec::new();
    for (symbol, answer) in asked {
        let config = quality.for_symbol(&symbol);
        let mut part = SymbolReport {
            symbol: symbol.clone(),
            providers: Vec::new(),
            bars: 0,
            recorded: 0,
            revised: 0,
            unchanged: 0,
            rejected: Vec::new(),
            flagged: Vec::new(),
            attempts: Vec::new(),
            notes: Vec::new(),
        };
        let (bars, refused) = match answer {
            Asked::First(Err(exhausted)) => {
                part.attempts = exhausted.attempts;
                (Vec::new(), Vec::new())
            }
            Asked::First(Ok(answer)) => {
                part.providers = vec![answer.provider];
                part.notes = answer.notes;
                part.attempts = answer.attempts;
                (answer.value, Vec::new())
            }
            Asked::All(method, (answers, attempts)) => {
                part.attempts = attempts;
                part.providers = answers.iter().map(|a| a.provider.clone()).collect();
                part.notes = answers.iter().flat_map(|a| a.notes.iter().cloned()).collect();
                let mut by_day: BTreeMap<NaiveDate, Vec<Answer>> = BTreeMap::new();
                for a in answers {
                    let weight = selector.weight(&a.provider);
                    for bar in a.value {
                        by_day.entry(bar.date).or_default().push(Answer::new(a.provider.clone(), weight, bar));
                    }
                }
                agree(by_day, method, &config)?
            }
        };
        if part.providers.is_empty() {
            report.failed += 1;
        } else {
            part.bars = bars.len();
            fetched.push(Fetched { symbol: symbol.clone(), bars, refused, quality: config });
        }
        report.symbols.push(part);
    }
    if fetched.is_empty() {
        return Ok(report);
    }
    let done = commands::market::record_fetched(cx, fetched, caller).await?;
    for (symbol, events) in done.events {
        let Some(part) = report.symbols.iter_mut().find(|p| p.symbol == symbol) else { continue };
        for event in events {
            match event {
                MarketEvent::BarRecorded { bar, quality, .. } | MarketEvent::BarRevised { bar, quality, .. } => {
                    let q = quality.as_ref();
                    if q.is_some_and(|q| !q.findings.is_empty()) {
                        part.flagged.push(noted(&bar, q.map(|q| q.grade.as_str()), q.map_or(&[][..], |q| &q.findings)));
                    }
                }
                MarketEvent::BarRejected { bar, findings, .. } => part.rejected.push(noted(&bar, None, &findings)),
                MarketEvent::SecurityDescribed { .. } => {}
            }
        }
    }
    for (symbol, recorded, revised, _) in done.per_symbol {
        if let Some(part) = report.symbols.iter_mut().find(|p| p.symbol == symbol) {
            (part.recorded, part.revised) = (recorded, revised);
            // Bars given that recorded nothing new: already recorded as they are, or refused
            // before (a consensus refusal is not one of the bars given).
            let refused_now = part.rejected.iter().filter(|n| !n.checks.contains(&Check::Consensus.as_str())).count();
            part.unchanged = part.bars.saturating_sub(recorded + revised + refused_now);
        }
    }
    for part in &report.symbols {
        report.recorded += part.recorded;
        report.revised += part.revised;
        report.unchanged += part.unchanged;
        report.rejected += part.rejected.len();
        report.flagged += part.flagged.len();
    }
    Ok(report)
}
