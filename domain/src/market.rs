//! Market data as events: one stream per symbol (`market-<SYMBOL>`), one daily bar per date.
//! Every valuation can then be traced to the bar it used. A bar that arrives again unchanged
//! records nothing; with other values it records `BarRevised`, keeping the previous values in
//! the history.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::quality::{assess_bar, Checker, Finding, Graded, QualityConfig};
use crate::DomainError;

/// A daily bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    pub date: NaiveDate,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adj_close: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vwap: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The schema version of every market event type this code writes.
pub const SCHEMA_VERSION: u32 = 1;

/// What kind of asset a security is, for allocation by asset class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    Equity,
    FixedIncome,
    /// Cash and money-market funds.
    Cash,
    RealEstate,
    Commodity,
    /// Hedge funds, private equity, crypto and the like.
    Alternative,
    /// Balanced, target-date and other funds holding several classes.
    MultiAsset,
}

impl AssetClass {
    pub const ALL: [AssetClass; 7] = [
        Self::Equity,
        Self::FixedIncome,
        Self::Cash,
        Self::RealEstate,
        Self::Commodity,
        Self::Alternative,
        Self::MultiAsset,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equity => "equity",
            Self::FixedIncome => "fixed_income",
            Self::Cash => "cash",
            Self::RealEstate => "real_estate",
            Self::Commodity => "commodity",
            Self::Alternative => "alternative",
            Self::MultiAsset => "multi_asset",
        }
    }
}

impl std::str::FromStr for AssetClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|c| c.as_str()).collect();
            format!("{s:?} is not an asset class; expected one of {}", names.join(", "))
        })
    }
}

/// What a symbol is (the security master): from a securities file or a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Security {
    pub name: String,
    pub asset_class: AssetClass,
    /// The sector (GICS sector names for equities, e.g. `Information Technology`; a fund
    /// holding many is `Diversified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Where the issuers are (`US`, `International Developed`, `Emerging Markets`, `Global`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Stock, fund, option, bond: the date from which a broker reports its basis
    /// ([`crate::form8949::COVERED_FROM`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::form8949::SecurityKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarketEvent {
    BarRecorded {
        symbol: String,
        bar: Bar,
        /// The grade and flags of a bar that came from a provider through the checks
        /// ([`FetchDecider`]); absent for a bar imported from a file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quality: Option<Graded>,
    },
    BarRevised {
        symbol: String,
        bar: Bar,
        previous: Bar,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quality: Option<Graded>,
    },
    /// A provider's bar the checks refused (a day the exchange was closed, inconsistent
    /// prices, a close the other providers disagree with), kept with the reasons so a person
    /// can see what was left out and why. It changes no price.
    BarRejected {
        symbol: String,
        /// The bar as the provider sent it; `source` names the provider.
        bar: Bar,
        findings: Vec<Finding>,
    },
    /// The symbol's description, first given or changed (the previous one stays in the log).
    SecurityDescribed { symbol: String, security: Security },
}

impl MarketEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::BarRecorded { .. } => "BarRecorded",
            Self::BarRevised { .. } => "BarRevised",
            Self::BarRejected { .. } => "BarRejected",
            Self::SecurityDescribed { .. } => "SecurityDescribed",
        }
    }
}

/// One symbol's bars by date, and its description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Market {
    pub bars: BTreeMap<NaiveDate, Bar>,
    pub security: Option<Security>,
    /// The bars refused, by day and provider (the latest refusal of each), so the same bar
    /// refused again records nothing.
    pub rejected: BTreeMap<(NaiveDate, String), Bar>,
}

pub fn evolve(mut m: Market, e: &MarketEvent) -> Market {
    match e {
        MarketEvent::BarRecorded { bar, .. } | MarketEvent::BarRevised { bar, .. } => {
            m.bars.insert(bar.date, bar.clone());
        }
        MarketEvent::BarRejected { bar, .. } => {
            m.rejected.insert((bar.date, bar.source.clone().unwrap_or_default()), bar.clone());
        }
        MarketEvent::SecurityDescribed { security, .. } => m.security = Some(security.clone()),
    }
    m
}

/// A security's description as a decider: the symbol, the line of the file and the
/// description. The same description again records nothing.
pub struct SecurityDecider;

impl crate::decider::Decider for SecurityDecider {
    type State = Market;
    type Command = (String, u64, Security);
    type Event = MarketEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(m: &Market, (symbol, line, security): &Self::Command) -> Result<Vec<MarketEvent>, DomainError> {
        let text = |field: &str, v: &str| -> Result<(), DomainError> {
            if v.trim().is_empty() || v.len() > 200 || v.chars().any(char::is_control) {
                return Err(reject(*line, field, "must be 1 to 200 characters of text"));
            }
            Ok(())
        };
        text("name", &security.name)?;
        for (field, v) in [("sector", &security.sector), ("region", &security.region)] {
            if let Some(v) = v {
                text(field, v)?;
            }
        }
        if m.security.as_ref() == Some(security) {
            return Ok(Vec::new());
        }
        Ok(vec![MarketEvent::SecurityDescribed { symbol: symbol.clone(), security: security.clone() }])
    }

    fn evolve(state: Market, event: &MarketEvent) -> Market {
        evolve(state, event)
    }

    fn event_type(event: &MarketEvent) -> &'static str {
        event.event_type()
    }
}

fn reject(line: u64, field: &str, problem: impl Into<String>) -> DomainError {
    DomainError::Rejected { line: Some(line), field: field.to_owned(), problem: problem.into() }
}

/// The rules a bar must meet.
pub fn validate(line: u64, b: &Bar) -> Result<(), DomainError> {
    let max = Decimal::from(10_000_000_000u64);
    for (field, v) in [("open", b.open), ("high", b.high), ("low", b.low), ("close", b.close)] {
        if v <= Decimal::ZERO || v > max {
            return Err(reject(line, field, "must be above 0 and at most 10,000,000,000"));
        }
    }
    if b.low > b.high {
        return Err(reject(line, "low", "is above high"));
    }
    for (field, v) in [("open", b.open), ("close", b.close)] {
        if v < b.low || v > b.high {
            return Err(reject(line, field, "is outside the day's low and high"));
        }
    }
    if b.volume < Decimal::ZERO || b.volume > Decimal::from(1_000_000_000_000_000u64) {
        return Err(reject(line, "volume", "must be between 0 and 10^18"));
    }
    if b.vwap.is_some_and(|v| v < b.low || v > b.high) {
        return Err(reject(line, "vwap", "is outside the day's low and high"));
    }
    if b.adj_close.is_some_and(|v| v <= Decimal::ZERO || v > max) {
        return Err(reject(line, "adj_close", "must be above 0 and at most 10,000,000,000"));
    }
    Ok(())
}

/// A symbol's bars as a decider; a command is the symbol and a file's `(line, bar)` pairs for
/// it, already validated.
pub struct MarketDecider;

impl crate::decider::Decider for MarketDecider {
    type State = Market;
    type Command = (String, Vec<(u64, Bar)>);
    type Event = MarketEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(m: &Market, (symbol, bars): &Self::Command) -> Result<Vec<MarketEvent>, DomainError> {
        decide(m, symbol, bars)
    }

    fn evolve(state: Market, event: &MarketEvent) -> Market {
        evolve(state, event)
    }

    fn event_type(event: &MarketEvent) -> &'static str {
        event.event_type()
    }
}

/// Decides what a file's bars for one symbol record: `(line, bar)` pairs, already validated.
pub fn decide(m: &Market, symbol: &str, bars: &[(u64, Bar)]) -> Result<Vec<MarketEvent>, DomainError> {
    let mut seen: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    let mut events = Vec::new();
    for (line, bar) in bars {
        validate(*line, bar)?;
        if let Some(first) = seen.insert(bar.date, *line) {
            return Err(reject(*line, "date", format!("{symbol} {} appears twice (also line {first})", bar.date)));
        }
        match m.bars.get(&bar.date) {
            Some(previous) if previous == bar => {}
            Some(previous) => events.push(MarketEvent::BarRevised {
                symbol: symbol.to_owned(),
                bar: bar.clone(),
                previous: previous.clone(),
                quality: None,
            }),
            None => {
                events.push(MarketEvent::BarRecorded { symbol: symbol.to_owned(), bar: bar.clone(), quality: None })
            }
        }
    }
    Ok(events)
}

/// A provider's bars for one symbol, to be checked against the symbol's recorded history
/// before they are recorded ([`FetchDecider`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub symbol: String,
    /// The bars to record (at most one per day), each with its `source`.
    pub bars: Vec<Bar>,
    /// Bars already refused before the history checks (a close the other providers disagree
    /// with), each with why.
    pub refused: Vec<(Bar, Vec<Finding>)>,
    /// The thresholds, already for this symbol ([`QualityConfig::for_symbol`]).
    pub quality: QualityConfig,
}

/// Bars from providers as a decider: each bar, in date order, is checked by
/// [`crate::quality::assess_bar`] against the symbol's recorded bars before its day (and the
/// command's bars already accepted), then:
///
/// - refused (a day the exchange was closed, inconsistent prices): `BarRejected` with the
///   findings, unless the same bar from the same provider was refused already;
/// - otherwise recorded as [`decide`] does (`BarRecorded`, `BarRevised`, or nothing when
///   unchanged), the event carrying the bar's grade and flags.
///
/// The checks read the symbol's history from the state, inside the decision, so two fetches
/// racing for one symbol are checked against what the other recorded (the executor decides
/// again after a conflict).
pub struct FetchDecider;

impl crate::decider::Decider for FetchDecider {
    type State = Market;
    type Command = Fetched;
    type Event = MarketEvent;
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn decide(m: &Market, f: &Fetched) -> Result<Vec<MarketEvent>, DomainError> {
        decide_fetched(m, f)
    }

    fn evolve(state: Market, event: &MarketEvent) -> Market {
        evolve(state, event)
    }

    fn event_type(event: &MarketEvent) -> &'static str {
        event.event_type()
    }
}

fn decide_fetched(m: &Market, f: &Fetched) -> Result<Vec<MarketEvent>, DomainError> {
    let symbol = &f.symbol;
    let mut events = Vec::with_capacity(f.bars.len() + f.refused.len());
    let reject = |bar: &Bar, findings: Vec<Finding>, events: &mut Vec<MarketEvent>| {
        let key = (bar.date, bar.source.clone().unwrap_or_default());
        if m.rejected.get(&key) != Some(bar) {
            events.push(MarketEvent::BarRejected { symbol: symbol.clone(), bar: bar.clone(), findings });
        }
    };
    for (bar, findings) in &f.refused {
        reject(bar, findings.clone(), &mut events);
    }
    let mut bars: Vec<&Bar> = f.bars.iter().collect();
    bars.sort_by_key(|b| b.date);
    if let Some(w) = bars.windows(2).find(|w| w[0].date == w[1].date) {
        return Err(DomainError::Rejected {
            line: None,
            field: "date".into(),
            problem: format!("{symbol} {} was given twice", w[1].date),
        });
    }
    // Bars that all come after the recorded ones (a daily fetch, a first load): each checked
    // against the ones before it with every log return computed once.
    let last_recorded = m.bars.keys().next_back().copied();
    if bars.first().is_none_or(|b| last_recorded.is_none_or(|l| b.date > l)) {
        let mut checker = Checker::new(m.bars.values(), &f.quality);
        for bar in bars {
            let assessment = checker.assess(bar);
            let Some(grade) = assessment.grade else {
                reject(bar, assessment.findings, &mut events);
                continue;
            };
            checker.accept(bar);
            let quality = Some(Graded { grade, findings: assessment.findings });
            events.push(MarketEvent::BarRecorded { symbol: symbol.clone(), bar: bar.clone(), quality });
        }
        return Ok(events);
    }
    let needed = f.quality.history_needed();
    // The bars accepted so far in this decision, which later candidates are checked against.
    let mut accepted: BTreeMap<NaiveDate, &Bar> = BTreeMap::new();
    let mut window: Vec<Bar> = Vec::with_capacity(needed);
    for bar in bars {
        window.clear();
        let mut recorded = m.bars.range(..bar.date).rev().peekable();
        let mut ours = accepted.range(..bar.date).rev().peekable();
        while window.len() < needed {
            let next = match (recorded.peek(), ours.peek()) {
                (Some((d1, _)), Some((d2, _))) if d2 >= d1 => {
                    if d1 == d2 {
                        recorded.next();
                    }
                    ours.next().map(|(_, b)| *b)
                }
                (Some(_), _) => recorded.next().map(|(_, b)| b),
                (None, Some(_)) => ours.next().map(|(_, b)| *b),
                (None, None) => None,
            };
            match next {
                Some(b) => window.push(b.clone()),
                None => break,
            }
        }
        window.reverse();
        let assessment = assess_bar(bar, &window, &f.quality);
        let Some(grade) = assessment.grade else {
            reject(bar, assessment.findings, &mut events);
            continue;
        };
        accepted.insert(bar.date, bar);
        let quality = Some(Graded { grade, findings: assessment.findings });
        match m.bars.get(&bar.date) {
            Some(previous) if previous == bar => {}
            Some(previous) => events.push(MarketEvent::BarRevised {
                symbol: symbol.clone(),
                bar: bar.clone(),
                previous: previous.clone(),
                quality,
            }),
            None => events.push(MarketEvent::BarRecorded { symbol: symbol.clone(), bar: bar.clone(), quality }),
        }
    }
    Ok(events)
}

/// How bars are grouped when resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    /// ISO weeks (Monday to Sunday), labelled by their first trading day.
    Week,
    Month,
}

/// Resamples daily bars (in date order): open of the first day, high and low of the period,
/// close (and adjusted close) of the last day, summed volume, and the volume-weighted VWAP when
/// every day has one.
pub fn resample<'a>(bars: impl IntoIterator<Item = &'a Bar>, interval: Interval) -> Vec<Bar> {
    let key = |d: NaiveDate| match interval {
        Interval::Day => (d.year(), d.ordinal()),
        Interval::Week => {
            let w = d.iso_week();
            (w.year(), w.week())
        }
        Interval::Month => (d.year(), d.month()),
    };
    let mut out: Vec<(Bar, Option<Decimal>)> = Vec::new();
    let mut last_key = None;
    for b in bars {
        let k = key(b.date);
        let weighted = b.vwap.map(|v| v * b.volume);
        match out.last_mut() {
            Some((agg, vw)) if last_key == Some(k) => {
                agg.high = agg.high.max(b.high);
                agg.low = agg.low.min(b.low);
                agg.close = b.close;
                agg.adj_close = b.adj_close;
                agg.volume += b.volume;
                *vw = vw.zip(weighted).map(|(a, w)| a + w);
                if b.source != agg.source {
                    agg.source = None;
                }
            }
            _ => out.push((b.clone(), weighted)),
        }
        last_key = Some(k);
    }
    out.into_iter()
        .map(|(mut bar, weighted)| {
            bar.vwap = match weighted {
                Some(w) if !bar.volume.is_zero() => Some(w / bar.volume),
                _ => None,
            };
            bar
        })
        .collect()
}

/// How a vendor's open, high, low and close relate to the prices traded that day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// The traded prices (Polygon with `adjusted=false`, Alpaca with `adjustment=raw`, Alpha
    /// Vantage's `open`…`close`): what cairn records.
    #[default]
    Raw,
    /// Every day before a split divided by the split's ratio, as of the day the vendor was
    /// asked (Yahoo's chart, Stooq): the history reads as if the shares had always been split.
    Splits,
}

impl Adjustment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Splits => "splits",
        }
    }
}

impl std::str::FromStr for Adjustment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "raw" => Ok(Self::Raw),
            "splits" | "split_adjusted" => Ok(Self::Splits),
            other => Err(format!("{other:?} is not one of raw, splits")),
        }
    }
}

/// A split: `new` shares for every `old`, the first day trading at the new count on `date`
/// (the ex-date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub date: NaiveDate,
    pub new: Decimal,
    pub old: Decimal,
}

/// Split-adjusted bars back to the prices traded: each bar before a split's date has its
/// open, high, low, close and VWAP multiplied by `new / old` of every split after it, and its
/// volume divided by the same factor; `adj_close` (the vendor's adjusted close) is left as it
/// is. `splits` must hold every split from the first bar's day to the day the vendor adjusted
/// the history (today, for a vendor asked today); a split with a zero or negative side is
/// ignored.
///
/// Prices are rounded to 6 decimal places (the vendor rounded its adjusted prices, so places
/// beyond would be noise; a reverse split's factor does not terminate) and volumes to the
/// vendor's own scale (whole shares stay whole). A 4:1 split's adjusted 125.02 becomes the
/// traded 500.08 exactly.
pub fn unadjust_splits(bars: &mut [Bar], splits: &[Split]) {
    let splits: Vec<Split> =
        splits.iter().copied().filter(|s| s.new > Decimal::ZERO && s.old > Decimal::ZERO).collect();
    if splits.is_empty() {
        return;
    }
    for bar in bars.iter_mut() {
        let (mut new, mut old) = (Decimal::ONE, Decimal::ONE);
        for s in splits.iter().filter(|s| s.date > bar.date) {
            new *= s.new;
            old *= s.old;
        }
        if new == old {
            continue;
        }
        let price = |p: Decimal| (p * new / old).round_dp(6).normalize();
        bar.open = price(bar.open);
        bar.high = price(bar.high);
        bar.low = price(bar.low);
        bar.close = price(bar.close);
        bar.vwap = bar.vwap.map(price);
        bar.volume = (bar.volume * old / new).round_dp(bar.volume.scale()).normalize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(date: &str, o: i64, h: i64, l: i64, c: i64, v: i64) -> Bar {
        Bar {
            date: date.parse().unwrap(),
            open: o.into(),
            high: h.into(),
            low: l.into(),
            close: c.into(),
            volume: v.into(),
            adj_close: None,
            vwap: Some(c.into()),
            source: None,
        }
    }

    #[test]
    fn the_same_bar_again_records_nothing_and_a_different_one_is_a_revision() {
        let m = Market::default();
        let events = decide(&m, "X", &[(2, bar("2025-01-02", 10, 12, 9, 11, 100))]).unwrap();
        let m = events.iter().fold(m, evolve);
        assert!(decide(&m, "X", &[(2, bar("2025-01-02", 10, 12, 9, 11, 100))]).unwrap().is_empty());
        let revised = decide(&m, "X", &[(2, bar("2025-01-02", 10, 12, 9, 11, 200))]).unwrap();
        assert!(
            matches!(&revised[0], MarketEvent::BarRevised { previous, .. } if previous.volume == Decimal::from(100))
        );
    }

    fn fetched(bars: Vec<Bar>) -> Fetched {
        Fetched { symbol: "X".into(), bars, refused: Vec::new(), quality: QualityConfig::default() }
    }

    fn trading_days(from: &str, n: usize) -> Vec<NaiveDate> {
        let first: NaiveDate = from.parse().unwrap();
        first.iter_days().filter(|d| !crate::calendar::is_market_closed(*d)).take(n).collect()
    }

    #[test]
    fn fetched_bars_are_checked_against_the_history_and_the_bars_before_them() {
        use crate::quality::{Check, Grade};
        // 30 recorded days alternating 100 and 101, then one fetch of three more days: an
        // ordinary day, a jump to 150 (checked against the recorded days and the ordinary day
        // just accepted), and a Saturday.
        let days = trading_days("2025-01-02", 32);
        let mut m = Market::default();
        for (i, d) in days[..30].iter().enumerate() {
            let c = 100 + (i as i64 % 2);
            let mut b = bar(&d.to_string(), c, c + 1, c - 1, c, 1000);
            b.date = *d;
            m = evolve(m, &MarketEvent::BarRecorded { symbol: "X".into(), bar: b, quality: None });
        }
        let ordinary = bar(&days[30].to_string(), 100, 101, 99, 100, 1000);
        let jump = bar(&days[31].to_string(), 150, 151, 149, 150, 1000);
        let saturday = bar("2025-02-15", 150, 151, 149, 150, 1000);
        let events = decide_fetched(&m, &fetched(vec![jump.clone(), saturday.clone(), ordinary.clone()])).unwrap();
        assert_eq!(events.len(), 3, "{events:?}");
        let graded = |e: &MarketEvent| match e {
            MarketEvent::BarRecorded { bar, quality: Some(q), .. } => (bar.date, q.grade, q.findings.len()),
            other => panic!("not a graded bar: {other:?}"),
        };
        assert_eq!(graded(&events[1]), (days[30], Grade::Excellent, 0));
        let (date, grade, _) = graded(&events[2]);
        assert_eq!((date, grade), (days[31], Grade::Poor));
        let MarketEvent::BarRejected { bar: refused, findings, .. } = &events[0] else { panic!("{:?}", events[0]) };
        assert_eq!((refused.date, findings[0].check), (saturday.date, Check::Calendar));
        // The same bars again: the refusal is not recorded twice, the bars are unchanged.
        let m = events.iter().fold(m, evolve);
        assert!(decide_fetched(&m, &fetched(vec![jump, saturday, ordinary])).unwrap().is_empty());
        // Two bars for one day are a provider's mistake.
        let twice = vec![bar("2025-03-03", 1, 1, 1, 1, 1), bar("2025-03-03", 2, 2, 2, 2, 1)];
        assert!(decide_fetched(&Market::default(), &fetched(twice)).unwrap_err().to_string().contains("given twice"));
    }

    #[test]
    fn a_close_above_the_high_is_refused_with_its_line() {
        let err = decide(&Market::default(), "X", &[(7, bar("2025-01-02", 10, 12, 9, 13, 1))]).unwrap_err();
        assert_eq!(err.to_string(), "line 7: close: is outside the day's low and high");
    }

    #[test]
    fn weekly_bars_take_the_first_open_the_extremes_the_last_close_and_the_volume_weighted_vwap() {
        let days = [
            bar("2025-01-06", 10, 12, 9, 11, 100),
            bar("2025-01-07", 11, 15, 10, 14, 300),
            bar("2025-01-13", 14, 14, 13, 13, 50),
        ];
        let weeks = resample(&days, Interval::Week);
        assert_eq!(weeks.len(), 2);
        let w = &weeks[0];
        assert_eq!((w.open, w.high, w.low, w.close, w.volume), (10.into(), 15.into(), 9.into(), 14.into(), 400.into()));
        assert_eq!(w.vwap, Some(Decimal::new(1325, 2)));
    }

    fn split_bar(date: &str, ohlc: [&str; 4], volume: &str) -> Bar {
        let n = |v: &str| v.parse::<Decimal>().unwrap();
        Bar {
            date: date.parse().unwrap(),
            open: n(ohlc[0]),
            high: n(ohlc[1]),
            low: n(ohlc[2]),
            close: n(ohlc[3]),
            volume: n(volume),
            adj_close: Some(n(ohlc[3])),
            vwap: None,
            source: Some("yahoo".into()),
        }
    }

    #[test]
    fn split_adjusted_bars_come_back_to_the_prices_traded() {
        // Apple's 4-for-1 split of 2020-08-31: Friday 2020-08-28 traded at 499.23, which a
        // split-adjusted history shows as 124.8075 (the volume four times as large).
        let split = Split { date: "2020-08-31".parse().unwrap(), new: Decimal::from(4), old: Decimal::ONE };
        let mut bars = vec![
            split_bar("2020-08-28", ["126.0125", "126.4425", "124.5775", "124.8075"], "187629916"),
            split_bar("2020-08-31", ["127.58", "131.00", "126.00", "129.04"], "225702700"),
        ];
        unadjust_splits(&mut bars, &[split]);
        let n = |v: &str| v.parse::<Decimal>().unwrap();
        assert_eq!(
            (bars[0].open, bars[0].high, bars[0].low, bars[0].close, bars[0].volume),
            (n("504.05"), n("505.77"), n("498.31"), n("499.23"), n("46907479"))
        );
        // The adjusted close stays the vendor's; the split day and after are as traded.
        assert_eq!(bars[0].adj_close, Some(n("124.8075")));
        assert_eq!(bars[1].close, n("129.04"));
        assert_eq!(bars[1].volume, n("225702700"));
    }

    #[test]
    fn several_splits_compound_and_a_reverse_split_divides() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let splits = [
            Split { date: day("2024-06-10"), new: Decimal::from(2), old: Decimal::ONE },
            Split { date: day("2024-09-03"), new: Decimal::ONE, old: Decimal::from(3) },
            Split { date: day("2024-10-01"), new: Decimal::ZERO, old: Decimal::ONE },
        ];
        let mut bars = vec![
            split_bar("2024-06-07", ["30", "33", "30", "31.5"], "6000"),
            split_bar("2024-07-01", ["30", "33", "30", "31.5"], "6000"),
            split_bar("2024-09-03", ["30", "33", "30", "31.5"], "6000"),
        ];
        unadjust_splits(&mut bars, &splits);
        let closes: Vec<String> = bars.iter().map(|b| b.close.to_string()).collect();
        assert_eq!(closes, ["21", "10.5", "31.5"]);
        let volumes: Vec<String> = bars.iter().map(|b| b.volume.to_string()).collect();
        assert_eq!(volumes, ["9000", "18000", "6000"]);
    }
}
