//! Market data imports: a CSV of daily bars ([`crate::input::market`]), recorded on one
//! `market-<SYMBOL>` stream per symbol in a single transaction (all or nothing).

use domain::market::{MarketDecider, MarketEvent};
use event_store::{EventStore, StreamId};
use uuid::Uuid;

use crate::aggregate::{self, Caller};
use crate::input::market::parse_csv;
use crate::{CommandError, Context};

pub const MARKET_SCHEMA_VERSION: u32 = domain::market::SCHEMA_VERSION;

/// `market-<SYMBOL>`, the symbol upper-cased ([`domain::streams`]).
pub fn market_stream(symbol: &str) -> Result<StreamId, CommandError> {
    crate::stream_id(&domain::streams::Stream::market(symbol)?)
}

/// What an import recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketImport {
    pub symbols: usize,
    pub bars: usize,
    pub recorded: usize,
    pub revised: usize,
    pub unchanged: usize,
    /// Per symbol: recorded, revised and unchanged bars.
    pub per_symbol: Vec<(String, (usize, usize, usize))>,
}

/// Imports a file of daily bars; every symbol's stream is written in one transaction
/// ([`aggregate::execute_many`]).
pub async fn import_csv<S: EventStore>(
    cx: &Context<S>,
    bytes: &[u8],
    caller: &Caller,
) -> Result<MarketImport, CommandError> {
    record_bars(cx, parse_csv(bytes)?, caller).await
}

/// Records an exchange rates file (`date,currency,usd_per_unit`) as the daily bars of each
/// currency's pair against the dollar (`EUR.USD`), all or nothing, as [`import_csv`] does.
pub async fn import_rates<S: EventStore>(
    cx: &Context<S>,
    bytes: &[u8],
    caller: &Caller,
) -> Result<MarketImport, CommandError> {
    record_bars(cx, crate::input::market::parse_rates(bytes)?, caller).await
}

/// Records bars per symbol (`(line, bar)` pairs; the line names a bar in a refusal), every
/// symbol's stream in one transaction: a file's, or a fetch's from the providers.
pub async fn record_bars<S: EventStore>(
    cx: &Context<S>,
    by_symbol: std::collections::BTreeMap<String, Vec<(u64, domain::market::Bar)>>,
    caller: &Caller,
) -> Result<MarketImport, CommandError> {
    let mut decisions = Vec::with_capacity(by_symbol.len());
    for (symbol, bars) in by_symbol {
        decisions.push((market_stream(&symbol)?, (symbol, bars)));
    }
    let done = aggregate::execute_many::<MarketDecider, S>(cx, &decisions, Uuid::now_v7(), caller).await?;
    let mut summary = MarketImport { symbols: decisions.len(), ..Default::default() };
    for ((_, (symbol, bars)), executed) in decisions.iter().zip(&done) {
        let events = &executed.events;
        summary.bars += bars.len();
        summary.unchanged += bars.len() - events.len();
        let revised = events.iter().filter(|e| matches!(e, MarketEvent::BarRevised { .. })).count();
        let recorded = events.iter().filter(|e| matches!(e, MarketEvent::BarRecorded { .. })).count();
        summary.revised += revised;
        summary.recorded += recorded;
        summary.per_symbol.push((symbol.clone(), (recorded, revised, bars.len() - events.len())));
    }
    Ok(summary)
}

/// What recording providers' bars did, per symbol: `(symbol, recorded, revised, refused)`
/// (refusals recorded now; one refused before and again records nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchRecorded {
    pub per_symbol: Vec<(String, usize, usize, usize)>,
    /// Each event recorded, per symbol, in the order recorded.
    pub events: Vec<(String, Vec<MarketEvent>)>,
}

/// Records providers' bars ([`domain::market::FetchDecider`]: checked against each symbol's
/// history inside the decision), every symbol's stream in one transaction. A fetch larger than
/// one append may hold ([`event_store::MAX_BATCH`] events: a backfill of years of bars for
/// hundreds of symbols) is recorded in as few transactions as fit, each symbol whole in one of
/// them, in order; if one fails, the symbols before it are recorded and a repeated fetch
/// records only the rest.
pub async fn record_fetched<S: EventStore>(
    cx: &Context<S>,
    fetched: Vec<domain::market::Fetched>,
    caller: &Caller,
) -> Result<FetchRecorded, CommandError> {
    let mut groups: Vec<Vec<(StreamId, domain::market::Fetched)>> = vec![Vec::new()];
    let mut size = 0;
    for f in fetched {
        // Each bar (and each refusal) records at most one event.
        let events = f.bars.len() + f.refused.len();
        if size + events > event_store::MAX_BATCH && !groups.last().is_some_and(Vec::is_empty) {
            groups.push(Vec::new());
            size = 0;
        }
        size += events;
        let stream = market_stream(&f.symbol)?;
        if let Some(group) = groups.last_mut() {
            group.push((stream, f));
        }
    }
    let mut out = FetchRecorded::default();
    for decisions in groups.iter().filter(|g| !g.is_empty()) {
        let done =
            aggregate::execute_many::<domain::market::FetchDecider, S>(cx, decisions, Uuid::now_v7(), caller).await?;
        tally(&mut out, decisions, done);
    }
    Ok(out)
}

fn tally(
    out: &mut FetchRecorded,
    decisions: &[(StreamId, domain::market::Fetched)],
    done: Vec<aggregate::Executed<MarketEvent>>,
) {
    for ((_, f), executed) in decisions.iter().zip(done) {
        let count = |pick: fn(&MarketEvent) -> bool| executed.events.iter().filter(|e| pick(e)).count();
        out.per_symbol.push((
            f.symbol.clone(),
            count(|e| matches!(e, MarketEvent::BarRecorded { .. })),
            count(|e| matches!(e, MarketEvent::BarRevised { .. })),
            count(|e| matches!(e, MarketEvent::BarRejected { .. })),
        ));
        out.events.push((f.symbol.clone(), executed.events));
    }
}

/// A symbol's recorded bars, oldest first.
pub async fn recorded_bars<S: EventStore>(
    cx: &Context<S>,
    symbol: &str,
) -> Result<Vec<domain::market::Bar>, CommandError> {
    let (market, _) = aggregate::load::<MarketDecider, S>(cx, &market_stream(symbol)?).await?;
    Ok(market.bars.into_values().collect())
}

/// What a securities import recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecuritiesImport {
    pub symbols: usize,
    /// Descriptions first given or changed.
    pub described: usize,
    pub unchanged: usize,
}

/// Imports a securities file (the security master: name, asset class, sector, region per
/// symbol; [`crate::input::market::parse_securities`]), every symbol's stream in one
/// transaction; a description given again unchanged records nothing.
pub async fn import_securities<S: EventStore>(
    cx: &Context<S>,
    bytes: &[u8],
    caller: &Caller,
) -> Result<SecuritiesImport, CommandError> {
    let parsed = crate::input::market::parse_securities(bytes)?;
    let mut decisions = Vec::with_capacity(parsed.len());
    for (symbol, (line, security)) in parsed {
        decisions.push((market_stream(&symbol)?, (symbol, line, security)));
    }
    let done =
        aggregate::execute_many::<domain::market::SecurityDecider, S>(cx, &decisions, Uuid::now_v7(), caller).await?;
    let described = done.iter().map(|d| d.events.len()).sum::<usize>();
    Ok(SecuritiesImport { symbols: decisions.len(), described, unchanged: decisions.len() - described })
}
