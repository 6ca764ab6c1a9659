//! Market data quality: what is checked before a vendor's bar is recorded ([`assess_bar`],
//! [`assess_quote`]), and which value is recorded when several vendors answer for the same
//! symbol and day ([`consensus`]). Every check gives a [`Finding`] with a reason a person can
//! read; nothing here fetches, stores or reads a clock.
//!
//! # Checks on a bar
//!
//! A candidate bar is checked on its own and against the symbol's history (the recorded bars
//! before it; bars on or after its date are ignored, so a revision is checked against the days
//! before it):
//!
//! | Check | Rule | Outcome |
//! |---|---|---|
//! | [`Check::Ohlc`] | [`crate::market::validate`]: prices above 0, low ≤ open, close ≤ high, … | reject |
//! | [`Check::Calendar`] | [`crate::calendar::is_market_closed`]: a weekend, holiday or special closing | reject |
//! | [`Check::PriceJump`] | the day's log return has a modified z-score \|M\| > 3.5 | flag, Poor |
//! | [`Check::IqrFarOut`] | the day's log return is beyond Tukey's outer fences (k = 3) | flag, Poor |
//! | [`Check::IqrFence`] | beyond the inner fences (k = 1.5) but not the outer ones | flag, Good |
//! | [`Check::VolumeSpike`] | volume > 10 × the median volume of the last 20 recorded days | flag, Fair |
//! | [`Check::Stale`] | the close equals each of the previous 5 recorded closes | flag, Fair |
//! | [`Check::MissingVolume`] | volume 0 where the recent history has volume | flag, Good |
//!
//! A rejected bar is not recorded and gets no grade. Otherwise the bar's [`Grade`] is the worst
//! that its flags allow: Excellent with no finding, Good with only minor flags (a missing
//! volume, a return beyond the inner fence only), Fair with a flag that needs a look (a volume
//! spike, a stale run, a wide quote), Poor with a price outlier (a jump by the modified z-score
//! or beyond the outer fence). A jump flags rather than rejects: a split, a merger or news moves
//! prices as much as a bad tick does, and a person decides which it was. Splits show as jumps
//! because the checks use the raw closes, which is wanted: an unadjusted split in a vendor's
//! feed is exactly what should be looked at.
//!
//! ## Returns and the statistics
//!
//! The statistical checks use **log returns** `ln(close_t / close_{t-1})` between consecutive
//! recorded bars (whatever the calendar gap), the candidate's against the last recorded close.
//! Log returns are chosen over simple returns because they are symmetric (a fall to half and
//! a doubling are the same size), which suits the symmetric median/MAD and quartile rules.
//! They apply once the history holds at least [`QualityConfig::min_returns`] (20, about one
//! trading month) returns; with fewer, a median and MAD are too unstable and only the other
//! checks run. They use the most recent [`QualityConfig::lookback`] (252, one trading year)
//! returns.
//!
//! - **Modified z-score** (Iglewicz & Hoaglin, *How to Detect and Handle Outliers*, ASQC Basic
//!   References in Quality Control vol. 16, 1993; NIST/SEMATECH e-Handbook of Statistical
//!   Methods §1.3.5.17): `M = 0.6745 × (x − median) / MAD`, where MAD is the median of the
//!   absolute deviations from the median; an outlier when `|M| > 3.5`.
//!   **MAD = 0** (more than half the returns equal the median, e.g. an illiquid security that
//!   mostly does not move) falls back to the mean absolute deviation, as in IBM's definition of
//!   the modified z-score (IBM Cognos Analytics 11.1, "Modified z score"):
//!   `M = (x − median) / (1.253314 × MeanAD)`, where 1.253314 ≈ √(π/2) makes MeanAD estimate
//!   the standard deviation of a normal distribution. When MeanAD is 0 too (every return the
//!   same), M is undefined ([`modified_z_score`] gives `None`) and any move beyond the
//!   materiality floor below counts as an outlier.
//! - **Tukey's fences** (Tukey, *Exploratory Data Analysis*, 1977; NIST/SEMATECH e-Handbook
//!   §7.1.6): inner fences `Q1 − 1.5 × IQR`, `Q3 + 1.5 × IQR`, outer fences with 3 × IQR, where
//!   `IQR = Q3 − Q1`. Quartiles are by linear interpolation between order statistics, type 7 of
//!   Hyndman & Fan ("Sample Quantiles in Statistical Packages", *The American Statistician*
//!   50(4), 1996), the default of R's `quantile` and NumPy's `percentile` ([`quantile`]).
//! - **Materiality floor**: a return within [`QualityConfig::min_jump`] (0.001 in log return,
//!   about 0.1%, one cent on a $10 stock) of the median return is never an outlier by either
//!   rule. Without it a constant history (MAD = MeanAD = IQR = 0) would flag the rounding in
//!   the last decimal place of a price.
//!
//! # Checks on a quote
//!
//! [`assess_quote`] takes a bid, an ask and a last price: a price at or below 0 or a crossed
//! quote (bid above ask) is rejected; a spread `(ask − bid) / mid` above 5% is flagged (Fair).
//! A locked quote (bid = ask) passes.
//!
//! # Consensus across providers
//!
//! [`consensus`] takes the answers of several providers for one symbol and day, each with a
//! reliability weight in (0, 1]:
//!
//! 1. A single answer is used as is (its `source` set to the provider's name).
//! 2. Answers whose bar fails [`crate::market::validate`] are excluded.
//! 3. Screening: the reference is the plain median of the remaining closes (one provider, one
//!    vote: a weighted mean or a single best source is pulled by the very value being tested,
//!    and a reliable provider can still send a bad tick). The answer deviating most,
//!    `|close − median| / median`, beyond the tolerance (5%) is excluded and the median
//!    recomputed without it, until every remaining close is within the tolerance. Ties
//!    exclude the less reliable provider first, then the name later in alphabetical order.
//! 4. More than half of all answers must remain; otherwise there is no consensus
//!    ([`ConsensusError::NoConsensus`]) rather than a guess (two providers that disagree never
//!    agree).
//! 5. The value recorded, by [`Method`]:
//!    - `Median`: the bar of the provider whose close is the median of the remaining closes;
//!      for an even count the lower-middle one (the "low median", as Python's
//!      `statistics.median_low`), so the recorded bar is one a provider actually sent, never
//!      an average of two; equal closes are ordered by provider name.
//!    - `WeightedMean`: the close is `Σ wᵢ·closeᵢ / Σ wᵢ` over the remaining answers, rounded
//!      half to even to 4 decimal places (the finest US equity tick, Regulation NMS Rule 612's
//!      $0.0001 for prices below $1) or to the finest scale a provider sent if finer; the other
//!      fields (open, high, low, volume, adjusted close, VWAP) are the most reliable remaining
//!      provider's, its high and low widened to take in the averaged close if needed.
//!    - `BestSource`: the bar of the most reliable remaining provider (ties by name).
//!
//! The recorded bar's `source` is `consensus:` and the remaining providers' names in
//! alphabetical order joined by `+` (e.g. `consensus:polygon+stooq`); [`Consensus::provider`]
//! names whose bar the fields came from. The consensus bar is then checked like any other
//! bar with [`assess_bar`].

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::calendar;
use crate::market::{self, Bar};
use crate::DomainError;

/// The thresholds of the checks. [`QualityConfig::default`] gives the values in the module
/// docs, each with its source; house rules say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityConfig {
    /// A return is a price jump when its modified z-score's magnitude is above this: 3.5
    /// (Iglewicz & Hoaglin, 1993).
    pub modified_z_threshold: Decimal,
    /// Tukey's inner fences, × IQR beyond the quartiles: 1.5 (Tukey, 1977).
    pub iqr_inner: Decimal,
    /// Tukey's outer fences ("far out"), × IQR beyond the quartiles: 3 (Tukey, 1977).
    pub iqr_outer: Decimal,
    /// Returns in the history before the statistical checks apply: 20 (about one trading
    /// month; a house rule).
    pub min_returns: usize,
    /// The most recent returns the statistics use: 252 (one trading year, the usual
    /// annualisation convention).
    pub lookback: usize,
    /// A log return within this of the median return is never an outlier: 0.001 (about 0.1%,
    /// one cent on a $10 stock; a house rule that keeps rounding from flagging).
    pub min_jump: Decimal,
    /// A volume above this multiple of the recent median volume is a spike: 10 (a house rule).
    pub volume_multiple: Decimal,
    /// Recorded days whose median volume the spike check compares with: 20 (a house rule,
    /// the common 20-day average volume window).
    pub volume_window: usize,
    /// A close equal to each of this many previous recorded closes is stale: 5 (one trading
    /// week; a house rule).
    pub stale_days: usize,
    /// A quote's spread `(ask − bid) / mid` above this is flagged: 0.05 (5%; a house rule).
    pub max_spread: Decimal,
    /// A provider's close further than this fraction from the median close is excluded from
    /// the consensus: 0.05 (5%; a house rule).
    pub consensus_tolerance: Decimal,
    /// Whether a bar must fall on an NYSE trading day: true for exchange-traded securities,
    /// false for a currency pair (`EUR.USD`), whose rates are quoted on US holidays too
    /// ([`QualityConfig::for_symbol`]).
    #[serde(default = "yes")]
    pub exchange_calendar: bool,
}

fn yes() -> bool {
    true
}

impl QualityConfig {
    /// How many of the latest recorded bars before a candidate the checks read: the lookback's
    /// returns need one bar more than their count; the volume and stale checks read fewer.
    pub fn history_needed(&self) -> usize {
        (self.lookback + 1).max(self.volume_window).max(self.stale_days)
    }

    /// These thresholds for `symbol`: a currency pair is not held to the NYSE calendar.
    pub fn for_symbol(&self, symbol: &str) -> QualityConfig {
        QualityConfig { exchange_calendar: crate::fx::currency_of_pair(symbol).is_none(), ..self.clone() }
    }
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            modified_z_threshold: Decimal::new(35, 1),
            iqr_inner: Decimal::new(15, 1),
            iqr_outer: Decimal::from(3),
            min_returns: 20,
            lookback: 252,
            min_jump: Decimal::new(1, 3),
            volume_multiple: Decimal::from(10),
            volume_window: 20,
            stale_days: 5,
            max_spread: Decimal::new(5, 2),
            consensus_tolerance: Decimal::new(5, 2),
            exchange_calendar: true,
        }
    }
}

/// How much a recorded bar can be trusted. Ordered from best to worst, so a bar's grade is the
/// largest of its findings' [`Check::grade`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// No finding.
    Excellent,
    /// Only minor flags: a missing volume, a return beyond Tukey's inner fence only.
    Good,
    /// A flag that needs a look: a volume spike, a stale run, a wide quote.
    Fair,
    /// A price outlier: a jump by the modified z-score or beyond Tukey's outer fence.
    Poor,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Excellent => "excellent",
            Self::Good => "good",
            Self::Fair => "fair",
            Self::Poor => "poor",
        }
    }
}

/// A recorded bar's grade and the flags behind it, kept on its `BarRecorded` / `BarRevised`
/// event when it came from a provider through the checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graded {
    pub grade: Grade,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

/// What a finding means for the bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The bar (or quote) is not recorded.
    Reject,
    /// The bar is recorded with a lower grade.
    Flag,
}

/// The check a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The bar's own prices and volume ([`crate::market::validate`]).
    Ohlc,
    /// A bar on a day the NYSE is closed.
    Calendar,
    /// The day's log return is an outlier by the modified z-score.
    PriceJump,
    /// The day's log return is beyond Tukey's outer fences.
    IqrFarOut,
    /// The day's log return is beyond Tukey's inner fences only.
    IqrFence,
    /// The volume is far above the recent median.
    VolumeSpike,
    /// The close has not changed for several recorded days.
    Stale,
    /// A volume of 0 where the security normally has one.
    MissingVolume,
    /// A quote price at or below 0.
    QuotePrice,
    /// A bid above the ask.
    QuoteCrossed,
    /// A quote's spread is wide.
    WideSpread,
    /// A provider's close left out of the consensus of several providers (or no consensus).
    Consensus,
}

impl Check {
    /// The check's name as the read models and reports show it (`price_jump`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ohlc => "ohlc",
            Self::Calendar => "calendar",
            Self::PriceJump => "price_jump",
            Self::IqrFarOut => "iqr_far_out",
            Self::IqrFence => "iqr_fence",
            Self::VolumeSpike => "volume_spike",
            Self::Stale => "stale",
            Self::MissingVolume => "missing_volume",
            Self::QuotePrice => "quote_price",
            Self::QuoteCrossed => "quote_crossed",
            Self::WideSpread => "wide_spread",
            Self::Consensus => "consensus",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::Ohlc | Self::Calendar | Self::QuotePrice | Self::QuoteCrossed | Self::Consensus => Severity::Reject,
            _ => Severity::Flag,
        }
    }

    /// The best grade a bar with this finding can have; `None` for a rejection, which is not
    /// graded.
    pub fn grade(self) -> Option<Grade> {
        match self {
            Self::Ohlc | Self::Calendar | Self::QuotePrice | Self::QuoteCrossed | Self::Consensus => None,
            Self::MissingVolume | Self::IqrFence => Some(Grade::Good),
            Self::VolumeSpike | Self::Stale | Self::WideSpread => Some(Grade::Fair),
            Self::PriceJump | Self::IqrFarOut => Some(Grade::Poor),
        }
    }
}

/// One problem found, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    pub reason: String,
}

impl Finding {
    pub fn new(check: Check, reason: impl Into<String>) -> Self {
        Self { check, severity: check.severity(), reason: reason.into() }
    }
}

/// The numbers the statistical checks used, to explain a flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnStats {
    /// The candidate's log return against the last recorded close.
    pub log_return: Decimal,
    /// How many history returns the statistics use.
    pub returns: usize,
    pub median: Decimal,
    /// The median absolute deviation (unscaled).
    pub mad: Decimal,
    /// The candidate's modified z-score; `None` when every history return is the same.
    pub modified_z: Option<Decimal>,
    pub q1: Decimal,
    pub q3: Decimal,
}

/// What the checks found: the grade (`None` when rejected), the findings in the order of the
/// checks, and the statistics when the history was long enough for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub grade: Option<Grade>,
    pub findings: Vec<Finding>,
    pub stats: Option<ReturnStats>,
}

impl Assessment {
    fn new(findings: Vec<Finding>, stats: Option<ReturnStats>) -> Self {
        let grade = if findings.iter().any(|f| f.severity == Severity::Reject) {
            None
        } else {
            Some(findings.iter().filter_map(|f| f.check.grade()).max().unwrap_or(Grade::Excellent))
        };
        Self { grade, findings, stats }
    }

    /// True when the bar or quote must not be recorded.
    pub fn is_rejected(&self) -> bool {
        self.grade.is_none()
    }

    /// True when a check found something.
    pub fn has(&self, check: Check) -> bool {
        self.findings.iter().any(|f| f.check == check)
    }
}

/// Checks a candidate bar before it is recorded, against the symbol's recorded `history`
/// (oldest first; bars dated on or after the candidate are ignored).
pub fn assess_bar(bar: &Bar, history: &[Bar], config: &QualityConfig) -> Assessment {
    let mut past: Vec<&Bar> = history.iter().filter(|b| b.date < bar.date).collect();
    past.sort_by_key(|b| b.date);
    let mut returns: Vec<Decimal> = past.windows(2).filter_map(|w| log_return(w[0].close, w[1].close)).collect();
    if returns.len() > config.lookback {
        returns.drain(..returns.len() - config.lookback);
    }
    returns.sort();
    let volumes = sorted(&past.iter().rev().take(config.volume_window).map(|b| b.volume).collect::<Vec<_>>());
    assess_against(bar, &past, &returns, &volumes, config)
}

/// [`assess_bar`] against the bars before the candidate (`past`, oldest first), the log
/// returns between them (the last [`QualityConfig::lookback`], sorted) and the volumes of the
/// last [`QualityConfig::volume_window`] of them (sorted).
fn assess_against(
    bar: &Bar,
    past: &[&Bar],
    sorted_returns: &[Decimal],
    sorted_volumes: &[Decimal],
    config: &QualityConfig,
) -> Assessment {
    let mut findings = Vec::new();
    let valid = match market::validate(0, bar) {
        Ok(()) => true,
        Err(e) => {
            findings.push(Finding::new(Check::Ohlc, validation_reason(&e)));
            false
        }
    };
    if let Some(why) = calendar::why_closed(bar.date).filter(|_| config.exchange_calendar) {
        findings.push(Finding::new(Check::Calendar, why));
    }
    if !valid {
        return Assessment::new(findings, None);
    }
    let stats = past.last().and_then(|last| price_jump(bar, last.close, sorted_returns, config, &mut findings));
    volume(bar, sorted_volumes, config, &mut findings);
    stale(bar, past, config, &mut findings);
    Assessment::new(findings, stats)
}

/// [`assess_bar`] for bars that arrive in date order after a symbol's history: each log return
/// is computed once (a `Decimal` logarithm is the costly part of the checks; the candidate's,
/// computed by [`Checker::assess`], is kept for [`Checker::accept`]) and the last
/// [`QualityConfig::lookback`] of them are kept sorted as bars are accepted, as are the last
/// [`QualityConfig::volume_window`] volumes, so a candidate's statistics need no sort. It gives
/// exactly what [`assess_bar`] gives over the same history.
#[derive(Debug, Clone)]
pub struct Checker<'a> {
    config: &'a QualityConfig,
    /// The last bars (as many as the checks read), oldest first.
    past: std::collections::VecDeque<Bar>,
    /// The last `lookback` log returns in date order, and the same sorted.
    returns: std::collections::VecDeque<Decimal>,
    sorted: Vec<Decimal>,
    /// The volumes of the last `volume_window` bars, sorted.
    volumes: Vec<Decimal>,
    /// The last candidate's date, close and log return against the last bar.
    assessed: std::cell::Cell<Option<(NaiveDate, Decimal, Decimal)>>,
}

impl<'a> Checker<'a> {
    /// A checker after `history` (oldest first; only its last
    /// [`QualityConfig::history_needed`] bars are read).
    pub fn new<'h>(history: impl DoubleEndedIterator<Item = &'h Bar>, config: &'a QualityConfig) -> Self {
        let needed = config.history_needed();
        let mut tail: Vec<&Bar> = history.rev().take(needed).collect();
        tail.reverse();
        let mut checker = Self {
            config,
            past: std::collections::VecDeque::with_capacity(needed + 1),
            returns: std::collections::VecDeque::with_capacity(config.lookback + 1),
            sorted: Vec::with_capacity(config.lookback + 1),
            volumes: Vec::with_capacity(config.volume_window + 1),
            assessed: std::cell::Cell::new(None),
        };
        for bar in tail {
            checker.accept(bar);
        }
        checker
    }

    /// The date of the last bar accepted.
    pub fn last_date(&self) -> Option<NaiveDate> {
        self.past.back().map(|b| b.date)
    }

    /// Checks `bar`, which must be dated after every bar accepted so far.
    pub fn assess(&self, bar: &Bar) -> Assessment {
        debug_assert!(self.last_date().is_none_or(|d| d < bar.date));
        let past: Vec<&Bar> = self.past.iter().collect();
        let assessment = assess_against(bar, &past, &self.sorted, &self.volumes, self.config);
        self.assessed.set(assessment.stats.as_ref().map(|s| (bar.date, bar.close, s.log_return)));
        assessment
    }

    /// Adds `bar` (dated after the last) to the history the next candidates are checked against.
    pub fn accept(&mut self, bar: &Bar) {
        let r = match self.assessed.take() {
            Some((date, close, r)) if date == bar.date && close == bar.close => Some(r),
            _ => self.past.back().and_then(|last| log_return(last.close, bar.close)),
        };
        if let Some(r) = r {
            self.returns.push_back(r);
            let at = self.sorted.partition_point(|v| *v < r);
            self.sorted.insert(at, r);
            if self.returns.len() > self.config.lookback {
                if let Some(old) = self.returns.pop_front() {
                    if let Ok(at) = self.sorted.binary_search(&old) {
                        self.sorted.remove(at);
                    }
                }
            }
        }
        let window = self.config.volume_window;
        if window > 0 {
            let at = self.volumes.partition_point(|v| *v < bar.volume);
            self.volumes.insert(at, bar.volume);
            // The bar leaving the window, still in `past` (which holds at least `window` bars).
            if self.past.len() >= window {
                let old = self.past[self.past.len() - window].volume;
                if let Ok(at) = self.volumes.binary_search(&old) {
                    self.volumes.remove(at);
                }
            }
        }
        self.past.push_back(bar.clone());
        if self.past.len() > self.config.history_needed() {
            self.past.pop_front();
        }
    }
}

fn validation_reason(e: &DomainError) -> String {
    match e {
        DomainError::Rejected { field, problem, .. } => format!("{field} {problem}"),
        other => other.to_string(),
    }
}

/// `ln(to / from)` to [`RETURN_PLACES`] decimal places, or `None` when a price is not above 0.
///
/// A day's move is small, and there `ln(to / from) = 2 artanh(y) = 2 (y + y³/3 + y⁵/5 + …)`
/// with `y = (to − from) / (to + from)` converges in a few terms (for a 1% move `y²` is about
/// 2.5 × 10⁻⁵, so each term adds four or five digits). The series is summed in integers of
/// 10⁻¹⁸ until its terms vanish, a handful of integer products where `Decimal`'s general
/// logarithm costs dozens of wide ones, which matters when a backfill checks millions of bars.
/// A move beyond the series' fast range (`|y| > 0.2`, a close below two thirds or above one and
/// a half times the last) takes the general logarithm. Either way the result is rounded to
/// [`RETURN_PLACES`] places: far finer than any threshold of the checks, and one scale for
/// every return, so the statistics compare and subtract them without rescaling.
fn log_return(from: Decimal, to: Decimal) -> Option<Decimal> {
    if from <= Decimal::ZERO || to <= Decimal::ZERO {
        return None;
    }
    let y = (to - from).checked_div(to.checked_add(from)?)?;
    let ln = if y.abs() > Decimal::new(2, 1) {
        to.checked_div(from)?.checked_ln()?
    } else {
        const ONE: i128 = 1_000_000_000_000_000_000;
        let mut y = y.round_dp(18);
        y.rescale(18);
        let y = y.mantissa();
        let y2 = y * y / ONE;
        let (mut power, mut sum, mut k) = (y, y, 3i128);
        while power != 0 {
            power = power * y2 / ONE;
            sum += power / k;
            k += 2;
        }
        Decimal::from_i128_with_scale(2 * sum, 18)
    };
    Some(ln.round_dp(RETURN_PLACES))
}

/// The decimal places of a log return ([`log_return`]).
const RETURN_PLACES: u32 = 12;

/// `a / b`, or the largest magnitude of `a`'s sign when it overflows (`b` above 0).
fn saturating_div(a: Decimal, b: Decimal) -> Decimal {
    a.checked_div(b).unwrap_or(if a.is_sign_negative() { Decimal::MIN } else { Decimal::MAX })
}

/// Four decimal places, for reasons.
fn show(d: Decimal) -> Decimal {
    d.round_dp(4).normalize()
}

fn pct(fraction: Decimal) -> String {
    format!("{}%", (fraction * Decimal::ONE_HUNDRED).round_dp(2).normalize())
}

/// The price-jump checks of `bar` against the last recorded close `previous` and the history's
/// log returns, `returns` (sorted).
fn price_jump(
    bar: &Bar,
    previous: Decimal,
    returns: &[Decimal],
    config: &QualityConfig,
    findings: &mut Vec<Finding>,
) -> Option<ReturnStats> {
    if returns.is_empty() || returns.len() < config.min_returns {
        return None;
    }
    let x = log_return(previous, bar.close)?;
    let median = median_of_sorted(returns)?;
    let mad = mad_of_sorted(returns, median)?;
    let modified_z = modified_z_of_sorted(x, returns, median, mad);
    let q1 = quantile_of_sorted(returns, Decimal::new(25, 2))?;
    let q3 = quantile_of_sorted(returns, Decimal::new(75, 2))?;
    let iqr = q3 - q1;
    let material = (x - median).abs() > config.min_jump;
    let n = returns.len();
    let what = format!("log return {} from the last recorded close {previous} to {}", show(x), bar.close);
    if material && modified_z.is_none_or(|z| z.abs() > config.modified_z_threshold) {
        let reason = match modified_z {
            Some(z) => format!(
                "{what} is an outlier: modified z-score {} beyond ±{} (median {}, MAD {} of {n} returns)",
                z.round_dp(2),
                config.modified_z_threshold,
                show(median),
                show(mad)
            ),
            None => format!(
                "{what} is an outlier: each of the {n} previous returns was {}, and it moves more than {}",
                show(median),
                config.min_jump
            ),
        };
        findings.push(Finding::new(Check::PriceJump, reason));
    }
    if material {
        let fences = |k: Decimal| (q1 - k * iqr, q3 + k * iqr);
        let (outer_low, outer_high) = fences(config.iqr_outer);
        let (inner_low, inner_high) = fences(config.iqr_inner);
        let quartiles = format!("Q1 {}, Q3 {} of {n} returns", show(q1), show(q3));
        if x < outer_low || x > outer_high {
            findings.push(Finding::new(
                Check::IqrFarOut,
                format!(
                    "{what} is beyond Tukey's outer fences {} to {} ({} × IQR; {quartiles})",
                    show(outer_low),
                    show(outer_high),
                    config.iqr_outer
                ),
            ));
        } else if x < inner_low || x > inner_high {
            findings.push(Finding::new(
                Check::IqrFence,
                format!(
                    "{what} is beyond Tukey's inner fences {} to {} ({} × IQR; {quartiles})",
                    show(inner_low),
                    show(inner_high),
                    config.iqr_inner
                ),
            ));
        }
    }
    Some(ReturnStats { log_return: x, returns: n, median, mad, modified_z, q1, q3 })
}

/// The volume checks against `recent`, the last [`QualityConfig::volume_window`] volumes sorted.
fn volume(bar: &Bar, recent: &[Decimal], config: &QualityConfig, findings: &mut Vec<Finding>) {
    if bar.volume.is_zero() {
        if recent.last().is_none_or(|largest| !largest.is_zero()) {
            findings.push(Finding::new(Check::MissingVolume, "volume is 0: the provider may have left it out"));
        }
        return;
    }
    if config.volume_window == 0 || recent.len() < config.volume_window {
        return;
    }
    let Some(typical) = median_of_sorted(recent) else { return };
    if typical > Decimal::ZERO && bar.volume > config.volume_multiple * typical {
        findings.push(Finding::new(
            Check::VolumeSpike,
            format!(
                "volume {} is above {} × the median volume {} of the last {} recorded days",
                bar.volume,
                config.volume_multiple,
                typical.normalize(),
                recent.len()
            ),
        ));
    }
}

fn stale(bar: &Bar, past: &[&Bar], config: &QualityConfig, findings: &mut Vec<Finding>) {
    let n = config.stale_days;
    if n == 0 || past.len() < n {
        return;
    }
    let last = &past[past.len() - n..];
    if last.iter().all(|b| b.close == bar.close) {
        findings.push(Finding::new(
            Check::Stale,
            format!(
                "close {} is the same as on each of the previous {n} recorded days ({} to {})",
                bar.close,
                last[0].date,
                last[n - 1].date
            ),
        ));
    }
}

/// A live quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub bid: Decimal,
    pub ask: Decimal,
    pub last: Decimal,
}

/// Checks a live quote: a price at or below 0 or a bid above the ask rejects it; a spread
/// `(ask − bid) / mid` above [`QualityConfig::max_spread`] flags it (Fair).
pub fn assess_quote(q: &Quote, config: &QualityConfig) -> Assessment {
    let mut findings = Vec::new();
    for (field, v) in [("bid", q.bid), ("ask", q.ask), ("last", q.last)] {
        if v <= Decimal::ZERO {
            findings.push(Finding::new(Check::QuotePrice, format!("{field} {v} is not above 0")));
        }
    }
    if q.bid > q.ask {
        findings
            .push(Finding::new(Check::QuoteCrossed, format!("bid {} is above ask {} (a crossed quote)", q.bid, q.ask)));
    }
    if findings.is_empty() {
        let mid = (q.bid + q.ask) / Decimal::TWO;
        let spread = (q.ask - q.bid) / mid;
        if spread > config.max_spread {
            findings.push(Finding::new(
                Check::WideSpread,
                format!(
                    "spread {} of bid {} and ask {} is above {}",
                    pct(spread),
                    q.bid,
                    q.ask,
                    pct(config.max_spread)
                ),
            ));
        }
    }
    Assessment::new(findings, None)
}

/// The median: the middle value, or the mean of the two middle values for an even count;
/// `None` when empty.
pub fn median(values: &[Decimal]) -> Option<Decimal> {
    median_of_sorted(&sorted(values))
}

fn sorted(values: &[Decimal]) -> Vec<Decimal> {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted
}

/// [`median`] of values already sorted.
fn median_of_sorted(sorted: &[Decimal]) -> Option<Decimal> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / Decimal::TWO),
    }
}

/// The median absolute deviation from the median, unscaled (Iglewicz & Hoaglin's MAD); `None`
/// when empty.
pub fn median_absolute_deviation(values: &[Decimal]) -> Option<Decimal> {
    let sorted = sorted(values);
    mad_of_sorted(&sorted, median_of_sorted(&sorted)?)
}

/// The MAD of values already sorted, around their median `m`. The deviations below the median
/// grow walking down from it (`a`) and those above walking up (`b`): two sorted sequences, so
/// the middle deviations are found by a binary search over how many of them come from each
/// ([`kth_of_two`]), without computing, let alone sorting, the others.
fn mad_of_sorted(sorted: &[Decimal], m: Decimal) -> Option<Decimal> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let split = sorted.partition_point(|v| *v <= m);
    let a = |i: usize| m - sorted[split - 1 - i];
    let b = |j: usize| sorted[split + j] - m;
    let (la, lb) = (split, n - split);
    let upper = kth_of_two(&a, la, &b, lb, n / 2);
    Some(if n % 2 == 1 { upper } else { (kth_of_two(&a, la, &b, lb, n / 2 - 1) + upper) / Decimal::TWO })
}

/// The `k`-th smallest (from 0) of two ascending sequences of lengths `la` and `lb` (with
/// `k < la + lb`), read through `a` and `b`: the `k + 1` smallest are the first `i` of `a` and
/// the first `k + 1 − i` of `b` for the `i` at which neither side's last taken exceeds the
/// other side's first left, found by bisection.
fn kth_of_two(a: &impl Fn(usize) -> Decimal, la: usize, b: &impl Fn(usize) -> Decimal, lb: usize, k: usize) -> Decimal {
    let (mut lo, mut hi) = ((k + 1).saturating_sub(lb), (k + 1).min(la));
    loop {
        let i = lo + (hi - lo) / 2;
        let j = k + 1 - i;
        if i < la && j > 0 && b(j - 1) > a(i) {
            lo = i + 1;
        } else if i > 0 && j < lb && a(i - 1) > b(j) {
            hi = i - 1;
        } else {
            return match (i > 0, j > 0) {
                (true, true) => a(i - 1).max(b(j - 1)),
                (true, false) => a(i - 1),
                _ => b(j - 1),
            };
        }
    }
}

/// The modified z-score of `x` against `values`: `0.6745 × (x − median) / MAD`, or with MAD = 0
/// `(x − median) / (1.253314 × MeanAD)`; `None` when `values` is empty or all equal (MAD and
/// MeanAD both 0). A quotient too large for a `Decimal` saturates.
pub fn modified_z_score(x: Decimal, values: &[Decimal]) -> Option<Decimal> {
    let sorted = sorted(values);
    let m = median_of_sorted(&sorted)?;
    modified_z_of_sorted(x, &sorted, m, mad_of_sorted(&sorted, m)?)
}

/// [`modified_z_score`] with the values' median `m` and MAD already known.
fn modified_z_of_sorted(x: Decimal, values: &[Decimal], m: Decimal, mad: Decimal) -> Option<Decimal> {
    let deviation = x - m;
    if !mad.is_zero() {
        return Some(saturating_div(Decimal::new(6745, 4) * deviation, mad));
    }
    let mean_ad = values.iter().map(|v| (v - m).abs()).sum::<Decimal>() / Decimal::from(values.len());
    if mean_ad.is_zero() {
        return None;
    }
    Some(saturating_div(deviation, Decimal::new(1_253_314, 6) * mean_ad))
}

/// The `p` quantile (0 ≤ p ≤ 1) by linear interpolation, Hyndman & Fan's type 7 (R's and
/// NumPy's default): with the values sorted `x₀ ≤ … ≤ xₙ₋₁`, `h = (n − 1)·p` and
/// `Q = x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋₊₁ − x⌊h⌋)`. `None` when empty or `p` is outside [0, 1].
pub fn quantile(values: &[Decimal], p: Decimal) -> Option<Decimal> {
    quantile_of_sorted(&sorted(values), p)
}

/// [`quantile`] of values already sorted.
fn quantile_of_sorted(sorted: &[Decimal], p: Decimal) -> Option<Decimal> {
    if sorted.is_empty() || p < Decimal::ZERO || p > Decimal::ONE {
        return None;
    }
    let h = Decimal::from(sorted.len() - 1) * p;
    let low = h.floor();
    let i = low.to_usize()?;
    let Some(next) = sorted.get(i + 1) else { return Some(sorted[i]) };
    Some(sorted[i] + (h - low) * (next - sorted[i]))
}

/// One provider's answer for a symbol and day, with the provider's reliability weight in (0, 1].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub provider: String,
    pub weight: Decimal,
    pub bar: Bar,
}

impl Answer {
    pub fn new(provider: impl Into<String>, weight: Decimal, bar: Bar) -> Self {
        Self { provider: provider.into(), weight, bar }
    }
}

/// How the recorded value is chosen among the answers that agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The bar of the provider with the median close (the lower-middle one for an even count).
    Median,
    /// The reliability-weighted mean of the closes, the other fields from the most reliable.
    WeightedMean,
    /// The most reliable provider's bar.
    BestSource,
}

/// An answer left out of the consensus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    pub provider: String,
    pub close: Decimal,
    /// `(close − reference) / reference`, the reference being the median close it was compared
    /// with when it was excluded.
    pub deviation: Decimal,
    pub reason: String,
}

/// The value recorded for a symbol and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consensus {
    /// The bar to record, its `source` naming the agreeing providers.
    pub bar: Bar,
    pub method: Method,
    /// The provider whose bar the fields came from (for `WeightedMean`, all but the close).
    pub provider: String,
    /// The providers whose closes agreed, in alphabetical order.
    pub agreeing: Vec<String>,
    /// The answers left out, in the order they were excluded.
    pub excluded: Vec<Excluded>,
}

/// Why no value can be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    #[error("no provider answered")]
    NoAnswers,
    #[error("{provider}: reliability weight {weight} is outside (0, 1]")]
    InvalidWeight { provider: String, weight: Decimal },
    #[error("{provider} answered more than once")]
    DuplicateProvider { provider: String },
    #[error("{provider} answered for {date}, the first answer for {expected}")]
    DifferentDates { provider: String, date: NaiveDate, expected: NaiveDate },
    /// Not more than half of the answers agree within the tolerance.
    #[error(
        "no consensus for {date}: {agreeing} of {} answers agree within {} (more than half must); closes: {}",
        .closes.len(),
        pct(*.tolerance),
        closes_text(.closes)
    )]
    NoConsensus {
        date: NaiveDate,
        tolerance: Decimal,
        /// How many answers were left after screening.
        agreeing: usize,
        /// Every answer's provider and close, in the order given.
        closes: Vec<(String, Decimal)>,
        excluded: Vec<Excluded>,
    },
}

fn closes_text(closes: &[(String, Decimal)]) -> String {
    closes.iter().map(|(p, c)| format!("{p} {c}")).collect::<Vec<_>>().join(", ")
}

/// Chooses the value recorded for one symbol and day from several providers' answers (the
/// rules are in the module docs).
pub fn consensus(answers: &[Answer], method: Method, config: &QualityConfig) -> Result<Consensus, ConsensusError> {
    let first = answers.first().ok_or(ConsensusError::NoAnswers)?;
    for (i, a) in answers.iter().enumerate() {
        if a.weight <= Decimal::ZERO || a.weight > Decimal::ONE {
            return Err(ConsensusError::InvalidWeight { provider: a.provider.clone(), weight: a.weight });
        }
        if answers[..i].iter().any(|b| b.provider == a.provider) {
            return Err(ConsensusError::DuplicateProvider { provider: a.provider.clone() });
        }
        if a.bar.date != first.bar.date {
            return Err(ConsensusError::DifferentDates {
                provider: a.provider.clone(),
                date: a.bar.date,
                expected: first.bar.date,
            });
        }
    }
    if answers.len() == 1 {
        let mut bar = first.bar.clone();
        bar.source = Some(first.provider.clone());
        return Ok(Consensus {
            bar,
            method,
            provider: first.provider.clone(),
            agreeing: vec![first.provider.clone()],
            excluded: Vec::new(),
        });
    }

    let mut excluded = Vec::new();
    let mut remaining: Vec<&Answer> = Vec::new();
    let mut invalid = Vec::new();
    for a in answers {
        match market::validate(0, &a.bar) {
            Ok(()) => remaining.push(a),
            Err(e) => invalid.push((a, validation_reason(&e))),
        }
    }
    let closes_of = |list: &[&Answer]| list.iter().map(|a| a.bar.close).collect::<Vec<_>>();
    let first_reference = median(&closes_of(&remaining));
    for (a, why) in invalid {
        let deviation = first_reference.map_or(Decimal::ZERO, |r| saturating_div(a.bar.close - r, r));
        excluded.push(Excluded {
            provider: a.provider.clone(),
            close: a.bar.close,
            deviation,
            reason: format!("the bar fails the bar checks: {why}"),
        });
    }

    while remaining.len() > 1 {
        let reference = median(&closes_of(&remaining)).expect("more than one answer remains");
        let worst = remaining
            .iter()
            .enumerate()
            .map(|(i, a)| (i, (a.bar.close - reference) / reference))
            .filter(|(_, d)| d.abs() > config.consensus_tolerance)
            .max_by(|(i, d), (j, e)| {
                let (a, b) = (remaining[*i], remaining[*j]);
                d.abs().cmp(&e.abs()).then(b.weight.cmp(&a.weight)).then(a.provider.cmp(&b.provider))
            });
        let Some((i, deviation)) = worst else { break };
        let a = remaining.remove(i);
        let side = if deviation.is_sign_negative() { "below" } else { "above" };
        excluded.push(Excluded {
            provider: a.provider.clone(),
            close: a.bar.close,
            deviation,
            reason: format!(
                "close {} is {} {side} the median close {} of the {} answers compared (tolerance {})",
                a.bar.close,
                pct(deviation.abs()),
                reference.normalize(),
                remaining.len() + 1,
                pct(config.consensus_tolerance)
            ),
        });
    }

    if remaining.len() * 2 <= answers.len() {
        return Err(ConsensusError::NoConsensus {
            date: first.bar.date,
            tolerance: config.consensus_tolerance,
            agreeing: remaining.len(),
            closes: answers.iter().map(|a| (a.provider.clone(), a.bar.close)).collect(),
            excluded,
        });
    }

    let most_reliable = *remaining
        .iter()
        .max_by(|a, b| a.weight.cmp(&b.weight).then(b.provider.cmp(&a.provider)))
        .expect("a majority remains");
    let (provider, mut bar) = match method {
        Method::Median => {
            let mut sorted = remaining.clone();
            sorted.sort_by(|a, b| a.bar.close.cmp(&b.bar.close).then(a.provider.cmp(&b.provider)));
            let chosen = sorted[(sorted.len() - 1) / 2];
            (chosen.provider.clone(), chosen.bar.clone())
        }
        Method::WeightedMean => {
            let total: Decimal = remaining.iter().map(|a| a.weight).sum();
            let weighted: Decimal = remaining.iter().map(|a| a.weight * a.bar.close).sum();
            let scale = remaining.iter().map(|a| a.bar.close.scale()).max().unwrap_or(0).max(4);
            let close = (weighted / total).round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven);
            let mut bar = most_reliable.bar.clone();
            bar.close = close;
            bar.high = bar.high.max(close);
            bar.low = bar.low.min(close);
            (most_reliable.provider.clone(), bar)
        }
        Method::BestSource => (most_reliable.provider.clone(), most_reliable.bar.clone()),
    };
    let mut agreeing: Vec<String> = remaining.iter().map(|a| a.provider.clone()).collect();
    agreeing.sort();
    bar.source = Some(format!("consensus:{}", agreeing.join("+")));
    Ok(Consensus { bar, method, provider, agreeing, excluded })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn bar_on(date: NaiveDate, close: Decimal, volume: Decimal) -> Bar {
        Bar { date, open: close, high: close, low: close, close, volume, adj_close: None, vwap: None, source: None }
    }

    /// `n` trading days from `from` on (inclusive when it is one).
    fn trading_days(from: NaiveDate, n: usize) -> Vec<NaiveDate> {
        from.iter_days().filter(|d| !calendar::is_market_closed(*d)).take(n).collect()
    }

    /// 33 bars (32 returns) from 2 January 2025, the simple returns cycling through
    /// +1%, −0.5%, +0.4%, −1.2%, +0.7%, −0.2%, +0.9%, −0.6%, volume 1,000,000 ± 10%.
    fn history() -> Vec<Bar> {
        let cycle =
            [dec!(0.01), dec!(-0.005), dec!(0.004), dec!(-0.012), dec!(0.007), dec!(-0.002), dec!(0.009), dec!(-0.006)];
        let mut close = dec!(100);
        trading_days(d("2025-01-02"), 33)
            .into_iter()
            .enumerate()
            .map(|(i, date)| {
                if i > 0 {
                    close = (close * (Decimal::ONE + cycle[(i - 1) % 8])).round_dp(4);
                }
                bar_on(date, close, Decimal::from(900_000 + (i as i64 % 3) * 100_000))
            })
            .collect()
    }

    /// The next trading day after the history, its close `move_by` (a simple return) from the
    /// last close, volume 1,000,000.
    fn next(history: &[Bar], move_by: Decimal) -> Bar {
        let last = history.last().unwrap();
        let date = trading_days(last.date + chrono::Duration::days(1), 1)[0];
        bar_on(date, (last.close * (Decimal::ONE + move_by)).round_dp(4), dec!(1000000))
    }

    fn checks(a: &Assessment) -> Vec<Check> {
        a.findings.iter().map(|f| f.check).collect()
    }

    #[test]
    fn mad_and_the_modified_z_score_on_a_worked_example() {
        let values = [dec!(2.1), dec!(2.3), dec!(2.2), dec!(2.4), dec!(2.0), dec!(2.2), dec!(9.0)];
        // Sorted: 2.0 2.1 2.2 2.2 2.3 2.4 9.0, so the median is the 4th value, 2.2.
        assert_eq!(median(&values), Some(dec!(2.2)));
        // |x − 2.2|: 0.1 0.1 0.0 0.2 0.2 0.0 6.8; sorted 0 0 0.1 0.1 0.2 0.2 6.8: MAD = 0.1.
        assert_eq!(median_absolute_deviation(&values), Some(dec!(0.1)));
        // M(9.0) = 0.6745 × (9.0 − 2.2) / 0.1 = 0.6745 × 68 = 45.866: an outlier (> 3.5).
        assert_eq!(modified_z_score(dec!(9.0), &values), Some(dec!(45.866)));
        // M(2.4) = 0.6745 × 0.2 / 0.1 = 1.349; M(2.0) = −1.349: not outliers.
        assert_eq!(modified_z_score(dec!(2.4), &values), Some(dec!(1.349)));
        assert_eq!(modified_z_score(dec!(2.0), &values), Some(dec!(-1.349)));
        // Even count: the median is the mean of the two middle values.
        assert_eq!(median(&[dec!(4), dec!(1), dec!(3), dec!(2)]), Some(dec!(2.5)));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn with_mad_zero_the_score_falls_back_to_the_mean_absolute_deviation() {
        let values = [dec!(0), dec!(0), dec!(0), dec!(0), dec!(0.02), dec!(-0.02)];
        // Median 0; |x − 0|: 0 0 0 0 0.02 0.02, whose median is 0: MAD = 0.
        assert_eq!(median_absolute_deviation(&values), Some(Decimal::ZERO));
        // MeanAD = 0.04 / 6 = 0.00666…; 1.253314 × MeanAD = 0.0083554…;
        // M(0.05) = 0.05 / 0.0083554… = 5.984 (3 places): an outlier.
        assert_eq!(modified_z_score(dec!(0.05), &values).unwrap().round_dp(3), dec!(5.984));
        // M(0.02) = 2.394: not one.
        assert_eq!(modified_z_score(dec!(0.02), &values).unwrap().round_dp(3), dec!(2.394));
        // Every value the same: MAD and MeanAD are 0 and the score is undefined.
        assert_eq!(modified_z_score(dec!(0.05), &[dec!(0.01); 5]), None);
    }

    #[test]
    fn quartiles_are_type_7_linear_interpolation() {
        let values = [
            dec!(6),
            dec!(7),
            dec!(15),
            dec!(36),
            dec!(39),
            dec!(40),
            dec!(41),
            dec!(42),
            dec!(43),
            dec!(47),
            dec!(49),
        ];
        // n = 11. Q1: h = 10 × 0.25 = 2.5, x₂ + 0.5 × (x₃ − x₂) = 15 + 0.5 × 21 = 25.5.
        assert_eq!(quantile(&values, dec!(0.25)), Some(dec!(25.5)));
        // Q3: h = 10 × 0.75 = 7.5, x₇ + 0.5 × (x₈ − x₇) = 42 + 0.5 × 1 = 42.5 (as numpy.percentile).
        assert_eq!(quantile(&values, dec!(0.75)), Some(dec!(42.5)));
        // Median: h = 5, x₅ = 40; the ends are the extremes.
        assert_eq!(quantile(&values, dec!(0.5)), Some(dec!(40)));
        assert_eq!(quantile(&values, Decimal::ZERO), Some(dec!(6)));
        assert_eq!(quantile(&values, Decimal::ONE), Some(dec!(49)));
        // n = 10 (1 to 10): Q1 h = 2.25, 3 + 0.25 = 3.25; Q3 h = 6.75, 7 + 0.75 = 7.75.
        let ten: Vec<Decimal> = (1..=10).map(Decimal::from).collect();
        assert_eq!(quantile(&ten, dec!(0.25)), Some(dec!(3.25)));
        assert_eq!(quantile(&ten, dec!(0.75)), Some(dec!(7.75)));
        assert_eq!(quantile(&[], dec!(0.5)), None);
        assert_eq!(quantile(&ten, dec!(1.5)), None);
    }

    #[test]
    fn an_ordinary_day_is_excellent_and_shows_its_statistics() {
        let h = history();
        let a = assess_bar(&next(&h, dec!(0.004)), &h, &QualityConfig::default());
        assert_eq!(a.findings, []);
        assert_eq!(a.grade, Some(Grade::Excellent));
        let stats = a.stats.unwrap();
        assert_eq!(stats.returns, 32);
        // About the simple-return figures: median 0.001, MAD 0.0065, Q1 −0.00525, Q3 0.0075.
        assert!((stats.median - dec!(0.001)).abs() < dec!(0.0002), "{stats:?}");
        assert!((stats.mad - dec!(0.0065)).abs() < dec!(0.0002), "{stats:?}");
        assert!((stats.q1 - dec!(-0.00525)).abs() < dec!(0.0002), "{stats:?}");
        assert!((stats.q3 - dec!(0.0075)).abs() < dec!(0.0002), "{stats:?}");
    }

    #[test]
    fn a_twenty_percent_jump_is_a_poor_outlier_by_both_rules() {
        let h = history();
        let a = assess_bar(&next(&h, dec!(0.2)), &h, &QualityConfig::default());
        assert_eq!(checks(&a), [Check::PriceJump, Check::IqrFarOut]);
        assert_eq!(a.grade, Some(Grade::Poor));
        assert!(a.findings[0].reason.contains("modified z-score"), "{}", a.findings[0].reason);
        assert!(!a.is_rejected());
    }

    #[test]
    fn a_return_beyond_the_inner_fence_only_is_good() {
        let h = history();
        // 3%: log return 0.0296, above the inner fence (≈ 0.0075 + 1.5 × 0.01275 = 0.0266), below
        // the outer one (≈ 0.0458); M ≈ 0.6745 × 0.0286 / 0.0065 ≈ 3.0, under 3.5.
        let a = assess_bar(&next(&h, dec!(0.03)), &h, &QualityConfig::default());
        assert_eq!(checks(&a), [Check::IqrFence]);
        assert_eq!(a.grade, Some(Grade::Good));
        // 4%: log return 0.0392, M ≈ 0.6745 × 0.0382 / 0.0065 ≈ 4.0, a jump, though inside the outer
        // fence.
        let a = assess_bar(&next(&h, dec!(0.04)), &h, &QualityConfig::default());
        assert_eq!(checks(&a), [Check::PriceJump, Check::IqrFence]);
        assert_eq!(a.grade, Some(Grade::Poor));
    }

    #[test]
    fn the_statistics_wait_for_twenty_returns() {
        let h = history();
        let short = &h[..20]; // 19 returns
        let a = assess_bar(&next(short, dec!(0.2)), short, &QualityConfig::default());
        assert_eq!(a.stats, None);
        assert_eq!(a.grade, Some(Grade::Excellent));
        let enough = &h[..21]; // 20 returns
        let a = assess_bar(&next(enough, dec!(0.2)), enough, &QualityConfig::default());
        assert!(a.has(Check::PriceJump));
    }

    #[test]
    fn a_constant_history_flags_only_moves_beyond_the_materiality_floor() {
        // 25 returns of exactly +10% (1.1ⁿ is exact in a Decimal up to n = 26): MAD = MeanAD = IQR = 0.
        let days = trading_days(d("2025-02-03"), 27);
        let mut close = Decimal::ONE;
        let mut h = Vec::new();
        for date in &days[..26] {
            h.push(bar_on(*date, close, dec!(1000)));
            close *= dec!(1.1);
        }
        let config = QualityConfig::default();
        let same = bar_on(days[26], close, dec!(1000));
        let a = assess_bar(&same, &h, &config);
        assert_eq!(a.findings, []);
        assert_eq!(a.stats.as_ref().unwrap().mad, Decimal::ZERO);
        assert_eq!(a.stats.unwrap().modified_z, None);
        // 1.1 × 1.0005: ln 1.0005 ≈ 0.0005 off the median log return, under the 0.001 floor: nothing.
        let near = bar_on(days[26], h[25].close * dec!(1.1) * dec!(1.0005), dec!(1000));
        assert_eq!(assess_bar(&near, &h, &config).grade, Some(Grade::Excellent));
        // 1.1 × 1.01: ln 1.01 ≈ 0.0099 off: an outlier by both rules.
        let off = bar_on(days[26], h[25].close * dec!(1.1) * dec!(1.01), dec!(1000));
        let a = assess_bar(&off, &h, &config);
        assert_eq!(checks(&a), [Check::PriceJump, Check::IqrFarOut]);
        assert_eq!(a.grade, Some(Grade::Poor));
    }

    #[test]
    fn bars_on_a_weekend_or_a_holiday_are_rejected_with_the_reason() {
        let config = QualityConfig::default();
        let saturday = assess_bar(&bar_on(d("2025-12-27"), dec!(10), dec!(5)), &[], &config);
        assert!(saturday.is_rejected());
        assert_eq!(checks(&saturday), [Check::Calendar]);
        // A currency pair's rate on a US holiday is a rate all the same.
        let thanksgiving = bar_on(d("2025-11-27"), dec!(10), dec!(5));
        let fx = QualityConfig::default().for_symbol("EUR.USD");
        assert!(assess_bar(&thanksgiving, &[], &fx).findings.iter().all(|f| f.check != Check::Calendar));
        assert!(assess_bar(&thanksgiving, &[], &config).findings.iter().any(|f| f.check == Check::Calendar));
        assert!(QualityConfig::default().for_symbol("VTI").exchange_calendar);
        assert_eq!(saturday.findings[0].reason, "2025-12-27 is a Saturday: the NYSE does not trade on weekends");
        let christmas = assess_bar(&bar_on(d("2025-12-25"), dec!(10), dec!(5)), &[], &config);
        assert!(christmas.is_rejected());
        assert_eq!(christmas.findings[0].reason, "2025-12-25 is Christmas Day, an NYSE holiday (NYSE Rule 7.2)");
        let observed = assess_bar(&bar_on(d("2026-07-03"), dec!(10), dec!(5)), &[], &config);
        assert_eq!(
            observed.findings[0].reason,
            "2026-07-03 is Independence Day (observed), an NYSE holiday (NYSE Rule 7.2)"
        );
        let carter = assess_bar(&bar_on(d("2025-01-09"), dec!(10), dec!(5)), &[], &config);
        assert_eq!(
            carter.findings[0].reason,
            "2025-01-09: the NYSE was closed (National Day of Mourning, President Carter)"
        );
    }

    #[test]
    fn a_bar_failing_the_ohlc_rules_is_rejected() {
        let mut bad = bar_on(d("2025-12-26"), dec!(10), dec!(5));
        bad.close = dec!(11);
        let a = assess_bar(&bad, &history(), &QualityConfig::default());
        assert!(a.is_rejected());
        assert_eq!(a.findings, [Finding::new(Check::Ohlc, "close is outside the day's low and high")]);
        assert_eq!(a.findings[0].severity, Severity::Reject);
        assert_eq!(a.stats, None);
    }

    #[test]
    fn a_stale_run_is_fair() {
        let mut h = history();
        let flat = h[27].close;
        for b in &mut h[28..] {
            *b = bar_on(b.date, flat, b.volume);
        }
        let a = assess_bar(&next(&h, Decimal::ZERO), &h, &QualityConfig::default());
        assert_eq!(checks(&a), [Check::Stale]);
        assert_eq!(a.grade, Some(Grade::Fair));
        assert!(a.findings[0].reason.contains("previous 5 recorded days"), "{}", a.findings[0].reason);
        // Four equal closes before it are not yet a stale run.
        let a = assess_bar(&next(&h[..31], Decimal::ZERO), &h[..31], &QualityConfig::default());
        assert!(!a.has(Check::Stale));
    }

    #[test]
    fn a_volume_spike_is_fair_and_a_missing_volume_good() {
        let h = history();
        let mut spike = next(&h, dec!(0.004));
        // The median of the last 20 volumes (900,000, 1,000,000, 1,100,000 in turn) is 1,000,000.
        spike.volume = dec!(10000001);
        let a = assess_bar(&spike, &h, &QualityConfig::default());
        assert_eq!(checks(&a), [Check::VolumeSpike]);
        assert_eq!(a.grade, Some(Grade::Fair));
        spike.volume = dec!(10000000);
        assert_eq!(assess_bar(&spike, &h, &QualityConfig::default()).grade, Some(Grade::Excellent));
        spike.volume = Decimal::ZERO;
        let a = assess_bar(&spike, &h, &QualityConfig::default());
        assert_eq!(checks(&a), [Check::MissingVolume]);
        assert_eq!(a.grade, Some(Grade::Good));
        // A security that never has volume (an index) is not flagged for it.
        let no_volume: Vec<Bar> = h.iter().map(|b| bar_on(b.date, b.close, Decimal::ZERO)).collect();
        assert_eq!(assess_bar(&spike, &no_volume, &QualityConfig::default()).grade, Some(Grade::Excellent));
    }

    #[test]
    fn the_worst_finding_sets_the_grade() {
        let h = history();
        let mut b = next(&h, dec!(0.2));
        b.volume = dec!(50000000);
        let a = assess_bar(&b, &h, &QualityConfig::default());
        assert_eq!(checks(&a), [Check::PriceJump, Check::IqrFarOut, Check::VolumeSpike]);
        assert_eq!(a.grade, Some(Grade::Poor));
    }

    #[test]
    fn quotes_crossed_or_not_positive_are_rejected_and_wide_ones_flagged() {
        let config = QualityConfig::default();
        let q = |bid, ask, last| assess_quote(&Quote { bid, ask, last }, &config);
        let crossed = q(dec!(10.10), dec!(10.00), dec!(10.05));
        assert!(crossed.is_rejected());
        assert_eq!(checks(&crossed), [Check::QuoteCrossed]);
        assert_eq!(crossed.findings[0].reason, "bid 10.10 is above ask 10.00 (a crossed quote)");
        let zero = q(Decimal::ZERO, dec!(1), dec!(1));
        assert!(zero.is_rejected());
        assert_eq!(checks(&zero), [Check::QuotePrice]);
        // (10.5 − 9.5) / 10 = 10% > 5%.
        let wide = q(dec!(9.5), dec!(10.5), dec!(10));
        assert_eq!(checks(&wide), [Check::WideSpread]);
        assert_eq!(wide.grade, Some(Grade::Fair));
        assert_eq!(wide.findings[0].reason, "spread 10% of bid 9.5 and ask 10.5 is above 5%");
        assert_eq!(q(dec!(9.99), dec!(10.01), dec!(10)).grade, Some(Grade::Excellent));
        assert_eq!(q(dec!(10), dec!(10), dec!(10)).grade, Some(Grade::Excellent));
        // locked
    }

    fn answer(provider: &str, weight: Decimal, close: Decimal) -> Answer {
        let mut bar = bar_on(d("2025-03-03"), close, dec!(1000));
        bar.high = close + Decimal::ONE;
        bar.low = close - Decimal::ONE;
        Answer::new(provider, weight, bar)
    }

    #[test]
    fn a_provider_twenty_percent_off_is_excluded_by_every_method() {
        // The bad provider is the most reliable, so neither its weight nor its rank saves it.
        let answers = [
            answer("polygon", dec!(0.8), dec!(100.0)),
            answer("stooq", dec!(0.6), dec!(100.2)),
            answer("zbad", dec!(1), dec!(120.0)),
        ];
        for method in [Method::Median, Method::WeightedMean, Method::BestSource] {
            let c = consensus(&answers, method, &QualityConfig::default()).unwrap();
            assert_eq!(c.agreeing, ["polygon", "stooq"], "{method:?}");
            assert_eq!(c.bar.source.as_deref(), Some("consensus:polygon+stooq"));
            assert_eq!(c.excluded.len(), 1);
            let x = &c.excluded[0];
            assert_eq!((x.provider.as_str(), x.close), ("zbad", dec!(120.0)));
            // Median of 100.0, 100.2, 120.0 is 100.2: (120 − 100.2) / 100.2 = 0.1976…
            assert_eq!(x.deviation.round_dp(4), dec!(0.1976));
            assert_eq!(
                x.reason,
                "close 120.0 is 19.76% above the median close 100.2 of the 3 answers compared (tolerance 5%)"
            );
            assert!(c.bar.close < dec!(101));
        }
    }

    #[test]
    fn the_median_of_three_and_of_four() {
        let config = QualityConfig::default();
        let three =
            [answer("a", dec!(1), dec!(101)), answer("b", dec!(1), dec!(99)), answer("c", dec!(0.5), dec!(100))];
        let c = consensus(&three, Method::Median, &config).unwrap();
        assert_eq!((c.provider.as_str(), c.bar.close), ("c", dec!(100)));
        assert_eq!(c.bar.source.as_deref(), Some("consensus:a+b+c"));
        // Four: 99, 100, 101, 102; the lower-middle close is 100 (d's).
        let four = [
            answer("a", dec!(1), dec!(102)),
            answer("b", dec!(1), dec!(99)),
            answer("c", dec!(1), dec!(101)),
            answer("d", dec!(1), dec!(100)),
        ];
        let c = consensus(&four, Method::Median, &config).unwrap();
        assert_eq!((c.provider.as_str(), c.bar.close), ("d", dec!(100)));
        assert_eq!(c.bar.high, dec!(101)); // d's bar, whole
        assert!(c.excluded.is_empty());
    }

    #[test]
    fn the_weighted_mean_worked_by_hand() {
        let answers = [
            answer("polygon", dec!(0.9), dec!(100.00)),
            answer("stooq", dec!(0.6), dec!(100.30)),
            answer("tiingo", dec!(0.5), dec!(99.80)),
        ];
        // Σw = 0.9 + 0.6 + 0.5 = 2.0; Σw·c = 90.000 + 60.180 + 49.900 = 200.080; 200.08 / 2 = 100.04.
        let c = consensus(&answers, Method::WeightedMean, &QualityConfig::default()).unwrap();
        assert_eq!(c.bar.close, dec!(100.04));
        // The other fields are polygon's, the most reliable.
        assert_eq!(c.provider, "polygon");
        assert_eq!((c.bar.high, c.bar.low), (dec!(101.00), dec!(99.00)));
        assert_eq!(c.bar.source.as_deref(), Some("consensus:polygon+stooq+tiingo"));
        // Equal weights: (0.5 × 100 + 0.5 × 101 + 0.5 × 101) / 1.5 = 151 / 1.5 = 100.6666…, rounded
        // to 4 places: 100.6667.
        let thirds =
            [answer("a", dec!(0.5), dec!(100)), answer("b", dec!(0.5), dec!(101)), answer("c", dec!(0.5), dec!(101))];
        assert_eq!(
            consensus(&thirds, Method::WeightedMean, &QualityConfig::default()).unwrap().bar.close,
            dec!(100.6667)
        );
        // BestSource: polygon's bar; ties in weight go to the name first in alphabetical order.
        let c = consensus(&answers, Method::BestSource, &QualityConfig::default()).unwrap();
        assert_eq!((c.provider.as_str(), c.bar.close), ("polygon", dec!(100.00)));
        assert_eq!(consensus(&thirds, Method::BestSource, &QualityConfig::default()).unwrap().provider, "a");
    }

    #[test]
    fn the_weighted_close_widens_the_high_and_low_when_needed() {
        let mut narrow = answer("a", dec!(1), dec!(100));
        narrow.bar.high = dec!(100);
        narrow.bar.low = dec!(100);
        let answers = [narrow, answer("b", dec!(1), dec!(104))];
        let c = consensus(&answers, Method::WeightedMean, &QualityConfig::default()).unwrap();
        assert_eq!((c.bar.close, c.bar.high, c.bar.low), (dec!(102), dec!(102), dec!(100)));
        assert!(market::validate(0, &c.bar).is_ok());
    }

    #[test]
    fn a_single_answer_is_used_as_is() {
        let only = answer("stooq", dec!(0.3), dec!(42));
        let c = consensus(std::slice::from_ref(&only), Method::Median, &QualityConfig::default()).unwrap();
        assert_eq!(c.bar, Bar { source: Some("stooq".into()), ..only.bar });
        assert!(c.excluded.is_empty());
    }

    #[test]
    fn disagreement_without_a_majority_is_no_consensus() {
        let config = QualityConfig::default();
        let two = [answer("polygon", dec!(1), dec!(100)), answer("stooq", dec!(0.5), dec!(120))];
        let err = consensus(&two, Method::BestSource, &config).unwrap_err();
        assert!(matches!(&err, ConsensusError::NoConsensus { agreeing: 1, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "no consensus for 2025-03-03: 1 of 2 answers agree within 5% (more than half must); \
             closes: polygon 100, stooq 120"
        );
        let spread =
            [answer("a", dec!(1), dec!(100)), answer("b", dec!(1), dec!(120)), answer("c", dec!(1), dec!(140))];
        assert!(matches!(consensus(&spread, Method::Median, &config), Err(ConsensusError::NoConsensus { .. })));
        // Two against two: no majority either.
        let split = [
            answer("a", dec!(1), dec!(100)),
            answer("b", dec!(1), dec!(100)),
            answer("c", dec!(1), dec!(120)),
            answer("d", dec!(1), dec!(120)),
        ];
        assert!(matches!(consensus(&split, Method::WeightedMean, &config), Err(ConsensusError::NoConsensus { .. })));
        // Two that agree are a consensus.
        let pair = [answer("a", dec!(1), dec!(100)), answer("b", dec!(1), dec!(101))];
        assert_eq!(consensus(&pair, Method::Median, &config).unwrap().bar.close, dec!(100));
    }

    #[test]
    fn an_invalid_bar_is_excluded_and_bad_inputs_refused() {
        let config = QualityConfig::default();
        let mut broken = answer("c", dec!(1), dec!(100));
        broken.bar.low = dec!(105);
        let answers = [answer("a", dec!(1), dec!(100)), answer("b", dec!(1), dec!(100.5)), broken];
        let c = consensus(&answers, Method::Median, &config).unwrap();
        assert_eq!(c.agreeing, ["a", "b"]);
        assert_eq!(c.excluded[0].reason, "the bar fails the bar checks: low is above high");
        assert_eq!(consensus(&[], Method::Median, &config), Err(ConsensusError::NoAnswers));
        let heavy = [answer("a", dec!(1.5), dec!(100))];
        assert!(matches!(consensus(&heavy, Method::Median, &config), Err(ConsensusError::InvalidWeight { .. })));
        let zero = [answer("a", Decimal::ZERO, dec!(100))];
        assert!(matches!(consensus(&zero, Method::Median, &config), Err(ConsensusError::InvalidWeight { .. })));
        let twice = [answer("a", dec!(1), dec!(100)), answer("a", dec!(1), dec!(100))];
        assert!(matches!(consensus(&twice, Method::Median, &config), Err(ConsensusError::DuplicateProvider { .. })));
        let mut other_day = answer("b", dec!(1), dec!(100));
        other_day.bar.date = d("2025-03-04");
        let dates = [answer("a", dec!(1), dec!(100)), other_day];
        assert!(matches!(consensus(&dates, Method::Median, &config), Err(ConsensusError::DifferentDates { .. })));
    }

    proptest! {
        #[test]
        fn a_constant_return_history_never_flags_a_bar_with_the_same_return(
            start_cents in 100i64..100_000,
            return_bp in prop_oneof![-500i64..=-1, 1i64..=500],
            bars in 0usize..60,
        ) {
            let growth = Decimal::ONE + Decimal::new(return_bp, 4);
            let days = trading_days(d("2024-01-02"), bars + 1);
            let mut close = Decimal::new(start_cents, 2);
            let mut h = Vec::new();
            for date in &days[..bars] {
                h.push(bar_on(*date, close, dec!(1000)));
                close *= growth;
            }
            let candidate = bar_on(days[bars], close, dec!(1000));
            let a = assess_bar(&candidate, &h, &QualityConfig::default());
            prop_assert_eq!(a.findings, vec![]);
            prop_assert_eq!(a.grade, Some(Grade::Excellent));
        }
    }

    #[test]
    fn the_checker_gives_what_assess_bar_gives_over_the_same_history() {
        // A year and a half of made-up closes: a walk with jumps, a stale run, a volume spike
        // and a day without volume, checked one by one both ways.
        let config = QualityConfig::default();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut close = Decimal::from(100);
        let mut history: Vec<Bar> = Vec::new();
        let mut checker = Checker::new(history.iter(), &config);
        let mut flagged = 0;
        let days = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap().iter_days().filter(|d| !calendar::is_market_closed(*d));
        for (i, date) in days.take(380).enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let step = Decimal::new((x % 401) as i64 - 200, 4);
            close = match i {
                150 => close * Decimal::new(13, 1),
                151..=158 => close,
                _ => (close * (Decimal::ONE + step)).round_dp(2),
            };
            let volume = match i {
                200 => Decimal::from(5_000_000),
                201 => Decimal::ZERO,
                _ => Decimal::from(100_000 + (x % 1000)),
            };
            let bar = Bar {
                date,
                open: close,
                high: close + Decimal::ONE,
                low: close - Decimal::ONE,
                close,
                volume,
                adj_close: None,
                vwap: None,
                source: None,
            };
            let slow = assess_bar(&bar, &history, &config);
            let fast = checker.assess(&bar);
            assert_eq!(fast, slow, "day {i} ({date})");
            flagged += usize::from(!slow.findings.is_empty());
            if slow.grade.is_some() {
                checker.accept(&bar);
                history.push(bar);
            }
        }
        assert!(flagged >= 3, "the series has something to flag: {flagged}");
    }

    /// The MAD by the definition: every absolute deviation from the median, sorted.
    fn naive_mad(values: &[Decimal]) -> Option<Decimal> {
        let m = median(values)?;
        median(&values.iter().map(|v| (v - m).abs()).collect::<Vec<_>>())
    }

    #[test]
    fn the_mad_by_bisection_is_the_mad_by_definition() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for n in 1..=60usize {
            for _ in 0..20 {
                let values: Vec<Decimal> = (0..n)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Few distinct values among small n, so ties and lopsided splits occur.
                        Decimal::new((x % (n as u64 * 3 + 1)) as i64 - n as i64, 2)
                    })
                    .collect();
                assert_eq!(median_absolute_deviation(&values), naive_mad(&values), "{values:?}");
            }
        }
    }

    #[test]
    fn a_log_return_by_the_series_is_the_logarithm_to_12_places() {
        // Rounded to 12 places: within half a unit of the 12th place, and a little for the
        // series' own last digits at 10⁻¹⁸.
        let tolerance = Decimal::new(500_001, 18);
        for (from, to) in [
            ("100", "101"),
            ("100", "99"),
            ("187.23", "187.24"),
            ("0.0123", "0.0124"),
            ("100", "149.99"),
            ("100", "66.67"),
            ("100", "100"),
            ("50", "100"),
            ("100", "1"),
        ] {
            let (from, to): (Decimal, Decimal) = (from.parse().unwrap(), to.parse().unwrap());
            let exact = (to / from).ln();
            let r = log_return(from, to).unwrap();
            assert!((r - exact).abs() < tolerance, "ln({to}/{from}): {r} against {exact}");
            assert!(r.scale() <= RETURN_PLACES);
        }
        assert_eq!(log_return(Decimal::ZERO, Decimal::ONE), None);
    }
}
