//! What a valuation history says about a period: values, flows, gain, income, fees and the
//! returns (time-weighted net and gross of fees, money-weighted, Modified Dietz), and how it
//! compares with a benchmark.
//!
//! Conventions (GIPS, "Guidance Statement on Calculation Methodology" and provision 5.A.4 of
//! the 2020 GIPS standards for firms):
//! - A period runs from the end of the day before its first day (the *opening* value) to the
//!   end of its last day. A period that starts before the history starts at the history's
//!   first day, with an opening value of nothing.
//! - Returns of periods of a year or less (up to the day before the first day's anniversary,
//!   366 days when the year holds 29 February) are never annualized; longer periods also give
//!   the annualized time-weighted return, `(1 + r)^(365 / days) - 1`.
//! - The money-weighted return is the XIRR of the opening value (paid in), the external flows
//!   and the closing value (taken out); for a period of a year or less it is the rate over the
//!   period itself (XIRR with the period's days in place of 365), like the others. Money in
//!   counted at the start of its day is dated, for this and for Modified Dietz, at the end of
//!   the day before.
//! - The standard periods are month, quarter and year to date, the last 1, 3 and 5 years (shown
//!   only when the history covers them) and since inception.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::{Decimal, MathematicalOps};

use super::history::{Closes, Valuation};
use super::{modified_dietz, rate, time_weighted, xirr, Day, FlowTiming, PerformanceError};

/// Trading days in a year, for annualizing daily tracking error and active return.
pub const TRADING_DAYS_PER_YEAR: u32 = 252;

/// A period of the history, both ends included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `mtd`, `qtd`, `ytd`, `1y`, `3y`, `5y`, `inception` or `custom`.
    pub name: &'static str,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// Calendar days in the period.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }
}

/// The standard periods ending on `end` of a history that starts on `inception`: month,
/// quarter and year to date (from the later of their first day and the inception), the last
/// 1, 3 and 5 years when the history covers all of them, and since inception.
pub fn standard(inception: NaiveDate, end: NaiveDate) -> Vec<Period> {
    if end < inception {
        return Vec::new();
    }
    let first = |d: Option<NaiveDate>| d.unwrap_or(inception).max(inception);
    let quarter_month = (end.month0() / 3) * 3 + 1;
    let mut periods = vec![
        Period { name: "mtd", start: first(end.with_day(1)), end },
        Period { name: "qtd", start: first(NaiveDate::from_ymd_opt(end.year(), quarter_month, 1)), end },
        Period { name: "ytd", start: first(NaiveDate::from_ymd_opt(end.year(), 1, 1)), end },
    ];
    for (name, years) in [("1y", 1u32), ("3y", 3), ("5y", 5)] {
        // The day after the same date `years` earlier: a year of 365 or 366 days.
        let Some(start) = end.checked_sub_months(Months::new(12 * years)).and_then(|d| d.succ_opt()) else { continue };
        if start >= inception {
            periods.push(Period { name, start, end });
        }
    }
    periods.push(Period { name: "inception", start: inception, end });
    periods
}

/// What happened in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub period: Period,
    pub opening: Decimal,
    pub closing: Decimal,
    /// External flows, net (positive in).
    pub net_flow: Decimal,
    pub inflow: Decimal,
    pub outflow: Decimal,
    /// `closing - opening - net_flow`: what the investments earned, after fees.
    pub gain: Decimal,
    pub qualified_dividends: Decimal,
    pub ordinary_dividends: Decimal,
    pub interest: Decimal,
    pub fees: Decimal,
    /// Time-weighted, net of fees, over the period.
    pub time_weighted: Decimal,
    /// Time-weighted, gross of fees (`fee` rows counted as outflows).
    pub time_weighted_gross: Decimal,
    /// Annualized time-weighted (net), for periods longer than a year.
    pub annualized: Option<Decimal>,
    pub money_weighted: Result<Decimal, PerformanceError>,
    pub modified_dietz: Result<Decimal, PerformanceError>,
    /// The most symbols held without a price on any day of the period.
    pub unpriced: u32,
}

/// Where `date` falls in `history` (which has one entry per calendar day).
fn index(history: &[Valuation], date: NaiveDate) -> Option<usize> {
    let first = history.first()?.date;
    usize::try_from((date - first).num_days()).ok().filter(|i| *i < history.len())
}

/// The days of `period` in `history`, and the value at the end of the day before it.
fn slice<'a>(history: &'a [Valuation], period: &Period) -> Option<(Decimal, &'a [Valuation])> {
    let first = history.first()?.date;
    let start = period.start.max(first);
    let (from, to) = (index(history, start)?, index(history, period.end)?);
    if from > to {
        return None;
    }
    let opening = if from == 0 { Decimal::ZERO } else { history[from - 1].value };
    Some((opening, &history[from..=to]))
}

/// `(1 + r)^power - 1`, or `None` past `Decimal`'s range (or for a loss of everything).
fn compound(r: Decimal, power: Decimal) -> Option<Decimal> {
    let base = Decimal::ONE + r;
    if base <= Decimal::ZERO {
        return None;
    }
    Some(base.checked_ln()?.checked_mul(power)?.checked_exp()? - Decimal::ONE)
}

/// The summary of `period` (clipped to the history); `None` when the history has no day in it.
pub fn summarize(history: &[Valuation], period: &Period, timing: FlowTiming) -> Option<Summary> {
    let (opening, days) = slice(history, period)?;
    let (start, end) = (days.first()?.date, days.last()?.date);
    let closing = days.last()?.value;
    let sum = |f: fn(&Valuation) -> Decimal| days.iter().map(f).sum::<Decimal>();
    let net: Vec<Day> = days.iter().map(|d| Day { value: d.value, flow: d.flow }).collect();
    let gross: Vec<Day> = days.iter().map(|d| Day { value: d.value, flow: d.flow - d.fee_flow }).collect();
    let (twr, _) = time_weighted(opening, &net, timing);
    let (twr_gross, _) = time_weighted(opening, &gross, timing);
    let span = Decimal::from((end - start).num_days() + 1);
    let year = Decimal::from(365);
    // Longer than a year: past the anniversary of its first day (a year holding 29 February
    // has 366 days and is still a year).
    let beyond_a_year = start.checked_add_months(Months::new(12)).is_some_and(|anniversary| anniversary <= end);
    let annualized = if beyond_a_year { compound(twr, year / span) } else { None };

    let before = start.pred_opt().unwrap_or(start);
    let mut flows = Vec::with_capacity(days.len() + 2);
    if !opening.is_zero() {
        flows.push((before, -opening));
    }
    // Money in at the start of its day is dated at the end of the day before.
    flows.extend(days.iter().filter(|d| !d.flow.is_zero()).map(|d| (timing.dated(d.date, d.flow), -d.flow)));
    flows.push((end, closing));
    let first = flows.iter().map(|(d, _)| *d).min().unwrap_or(before);
    let money_weighted = if beyond_a_year { xirr(&flows) } else { rate(&flows, (end - first).num_days()) };
    let dated: Vec<(NaiveDate, Decimal)> =
        days.iter().filter(|d| !d.flow.is_zero()).map(|d| (timing.dated(d.date, d.flow), d.flow)).collect();
    let dietz = modified_dietz(before, end, opening, closing, &dated);
    let net_flow = sum(|d| d.flow);
    Some(Summary {
        period: Period { name: period.name, start, end },
        opening,
        closing,
        net_flow,
        inflow: sum(|d| d.inflow),
        outflow: sum(|d| d.outflow),
        gain: closing - opening - net_flow,
        qualified_dividends: sum(|d| d.qualified_dividends),
        ordinary_dividends: sum(|d| d.ordinary_dividends),
        interest: sum(|d| d.interest),
        fees: sum(|d| d.fees),
        time_weighted: twr,
        time_weighted_gross: twr_gross,
        annualized,
        money_weighted,
        modified_dietz: dietz,
        unpriced: days.iter().map(|d| d.unpriced).max().unwrap_or(0),
    })
}

/// A benchmark: one symbol, or a blend of symbols with weights that sum to 100 %, rebalanced
/// daily.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blend {
    /// Symbols and their weights as fractions.
    pub parts: Vec<(String, Decimal)>,
}

impl std::str::FromStr for Blend {
    type Err = String;

    /// `SPY`, `60% VTI / 40% BND`, `VTI:60,BND:40` or `VTI:0.6,BND:0.4`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the benchmark is empty; give a symbol such as SPY or a blend such as 60% VTI / 40% BND".into());
        }
        let pieces: Vec<&str> = text.split(['/', ',', '+']).map(str::trim).filter(|p| !p.is_empty()).collect();
        let mut parts = Vec::new();
        for piece in &pieces {
            let (weight, symbol) = if let Some((w, s)) = piece.split_once('%') {
                (Some(w.trim()), s.trim())
            } else if let Some((s, w)) = piece.split_once(':') {
                (Some(w.trim().trim_end_matches('%')), s.trim())
            } else if pieces.len() == 1 {
                (None, *piece)
            } else {
                return Err(format!("benchmark part {piece:?} has no weight; write 60% VTI / 40% BND"));
            };
            if symbol.is_empty() || !symbol.chars().all(|c| c.is_ascii_alphanumeric() || ".-^=".contains(c)) {
                return Err(format!("benchmark part {piece:?} does not name a symbol"));
            }
            let weight = match weight {
                None => Decimal::ONE,
                Some(w) => {
                    let w: Decimal = w.parse().map_err(|_| format!("benchmark weight {w:?} is not a number"))?;
                    if w <= Decimal::ZERO {
                        return Err(format!("benchmark weight of {symbol} must be positive"));
                    }
                    // `VTI:0.6` is a fraction; `60%` and `VTI:60` are percentages.
                    if piece.contains('%') || w > Decimal::ONE {
                        w / Decimal::ONE_HUNDRED
                    } else {
                        w
                    }
                }
            };
            parts.push((symbol.to_ascii_uppercase(), weight));
        }
        let total: Decimal = parts.iter().map(|(_, w)| *w).sum();
        if total != Decimal::ONE {
            return Err(format!(
                "benchmark weights add up to {}%, not 100%",
                (total * Decimal::ONE_HUNDRED).normalize()
            ));
        }
        Ok(Self { parts })
    }
}

impl std::fmt::Display for Blend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let [(symbol, _)] = self.parts.as_slice() {
            return f.write_str(symbol);
        }
        let parts: Vec<String> =
            self.parts.iter().map(|(s, w)| format!("{}% {s}", (w * Decimal::ONE_HUNDRED).normalize())).collect();
        f.write_str(&parts.join(" / "))
    }
}

/// A period's return against a benchmark's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub benchmark: String,
    /// The benchmark's return over the period (its closes, rebalanced daily).
    pub benchmark_return: Decimal,
    /// The portfolio's time-weighted return (net) less the benchmark's.
    pub excess: Decimal,
    /// The annualized standard deviation of the daily active returns (sample, × √252).
    pub tracking_error: Option<Decimal>,
    /// The covariance of the daily returns with the benchmark's over the benchmark's variance.
    pub beta: Option<Decimal>,
    /// The annualized mean daily active return over the tracking error.
    pub information_ratio: Option<Decimal>,
    /// The trading days compared (days on which every benchmark symbol has a close).
    pub days: u32,
    /// The benchmark's value of 1 at the start, at the end of each trading day: the chart's line.
    pub growth: Vec<(NaiveDate, Decimal)>,
}

/// Compares the history's `period` with `blend` (an error when no day of it has a close of
/// every symbol of the blend). The benchmark starts from each symbol's
/// latest close on or before the day before the period (or its first close in the period) and
/// is compared on the days every symbol has a close; the portfolio's daily returns between two
/// such days are linked.
pub fn compare(
    history: &[Valuation],
    period: &Period,
    closes: &Closes,
    blend: &Blend,
    timing: FlowTiming,
) -> Result<Comparison, PerformanceError> {
    let label = || format!("{} to {}", period.start, period.end);
    let (opening, days) = slice(history, period).ok_or_else(|| PerformanceError::EmptyPeriod(label()))?;
    let net: Vec<Day> = days.iter().map(|d| Day { value: d.value, flow: d.flow }).collect();
    let (twr, daily) = time_weighted(opening, &net, timing);
    let start = days[0].date;
    let before = start.pred_opt().unwrap_or(start);
    let close_on = |symbol: &str, day: NaiveDate| closes.on_or_before(symbol, day);
    // The trading days: every symbol has a close dated that day.
    let (first_symbol, _) = &blend.parts[0];
    let trading: Vec<NaiveDate> = closes
        .days(first_symbol)
        .map(|(d, _)| d)
        .filter(|d| *d >= start && *d <= days[days.len() - 1].date)
        .filter(|d| blend.parts.iter().all(|(s, _)| closes.on(s, *d).is_some()))
        .collect();
    let mut base_day = if blend.parts.iter().all(|(s, _)| close_on(s, before).is_some()) { Some(before) } else { None };
    let mut growth = Decimal::ONE;
    let mut line = Vec::with_capacity(trading.len());
    let (mut portfolio, mut bench) = (Vec::new(), Vec::new());
    for day in trading {
        let Some(base) = base_day else {
            base_day = Some(day);
            line.push((day, growth));
            continue;
        };
        let mut rb = Decimal::ZERO;
        for (symbol, weight) in &blend.parts {
            let (from, to) = (close_on(symbol, base), close_on(symbol, day));
            if let (Some(from), Some(to)) = (from, to) {
                if from > Decimal::ZERO {
                    rb += *weight * (to / from - Decimal::ONE);
                }
            }
        }
        // The portfolio's days after `base` up to `day`, linked.
        let (a, b) = (index(days, base.max(start)).unwrap_or(0), index(days, day).unwrap_or(0));
        let a = if base < start { 0 } else { a + 1 };
        let rp = daily[a..=b].iter().fold(Decimal::ONE, |g, r| g * (Decimal::ONE + r)) - Decimal::ONE;
        growth *= Decimal::ONE + rb;
        line.push((day, growth));
        portfolio.push(rp);
        bench.push(rb);
        base_day = Some(day);
    }
    if line.is_empty() {
        return Err(PerformanceError::NoBenchmarkPrices(label()));
    }
    let benchmark_return = growth - Decimal::ONE;
    let n = portfolio.len();
    let (mut tracking_error, mut beta, mut information_ratio) = (None, None, None);
    if n >= 2 {
        let count = Decimal::from(n as u64);
        let active: Vec<Decimal> = portfolio.iter().zip(&bench).map(|(p, b)| p - b).collect();
        let mean = |xs: &[Decimal]| xs.iter().sum::<Decimal>() / count;
        let (ma, mp, mb) = (mean(&active), mean(&portfolio), mean(&bench));
        let var_a = active.iter().map(|a| (a - ma) * (a - ma)).sum::<Decimal>() / (count - Decimal::ONE);
        let var_b = bench.iter().map(|b| (b - mb) * (b - mb)).sum::<Decimal>() / (count - Decimal::ONE);
        let cov =
            portfolio.iter().zip(&bench).map(|(p, b)| (p - mp) * (b - mb)).sum::<Decimal>() / (count - Decimal::ONE);
        let year = Decimal::from(TRADING_DAYS_PER_YEAR);
        tracking_error = var_a.sqrt().and_then(|s| year.sqrt().map(|y| s * y));
        if !var_b.is_zero() {
            beta = Some(cov / var_b);
        }
        information_ratio = tracking_error.filter(|te| !te.is_zero()).map(|te| ma * year / te);
    }
    Ok(Comparison {
        benchmark: blend.to_string(),
        benchmark_return,
        excess: twr - benchmark_return,
        tracking_error,
        beta,
        information_ratio,
        days: u32::try_from(n).unwrap_or(u32::MAX),
        growth: line,
    })
}

/// Income by month: `(year, month, qualified dividends, ordinary dividends, interest)`, for
/// months with any.
pub fn income_by_month(history: &[Valuation]) -> Vec<(i32, u32, Decimal, Decimal, Decimal)> {
    let mut months: Vec<(i32, u32, Decimal, Decimal, Decimal)> = Vec::new();
    for d in history.iter().filter(|d| !d.income().is_zero()) {
        let key = (d.date.year(), d.date.month());
        match months.last_mut() {
            Some(m) if (m.0, m.1) == key => {
                m.2 += d.qualified_dividends;
                m.3 += d.ordinary_dividends;
                m.4 += d.interest;
            }
            _ => months.push((key.0, key.1, d.qualified_dividends, d.ordinary_dividends, d.interest)),
        }
    }
    months
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn series(start: NaiveDate, values: &[(Decimal, Decimal)]) -> Vec<Valuation> {
        values
            .iter()
            .enumerate()
            .map(|(i, (value, flow))| Valuation {
                date: start + chrono::Duration::days(i as i64),
                value: *value,
                flow: *flow,
                inflow: (*flow).max(Decimal::ZERO),
                outflow: (-*flow).max(Decimal::ZERO),
                ..Valuation::default()
            })
            .collect()
    }

    #[test]
    fn the_standard_periods_start_where_they_should_and_long_ones_need_the_history() {
        let p = standard(day(2023, 6, 15), day(2026, 8, 20));
        let names: Vec<_> = p.iter().map(|p| (p.name, p.start)).collect();
        assert_eq!(
            names,
            vec![
                ("mtd", day(2026, 8, 1)),
                ("qtd", day(2026, 7, 1)),
                ("ytd", day(2026, 1, 1)),
                ("1y", day(2025, 8, 21)),
                ("3y", day(2023, 8, 21)),
                ("inception", day(2023, 6, 15)),
            ]
        );
        let young = standard(day(2026, 8, 10), day(2026, 8, 20));
        assert_eq!(young[0].start, day(2026, 8, 10), "a month to date cannot start before the history");
        assert_eq!(young.len(), 4);
    }

    #[test]
    fn a_summary_gives_the_gain_net_of_flows_and_returns_that_agree_without_flows() {
        // 1,000 in on day one, grows to 1,100 by the last day, no other flow.
        let h = series(day(2026, 1, 1), &[(dec!(1000), dec!(1000)), (dec!(1050), dec!(0)), (dec!(1100), dec!(0))]);
        let s = summarize(
            &h,
            &Period { name: "custom", start: day(2026, 1, 2), end: day(2026, 1, 3) },
            FlowTiming::StartOfDay,
        )
        .unwrap();
        assert_eq!((s.opening, s.closing, s.net_flow, s.gain), (dec!(1000), dec!(1100), dec!(0), dec!(100)));
        assert_eq!(s.time_weighted, dec!(0.1));
        assert_eq!(s.modified_dietz, Ok(dec!(0.1)));
        assert_eq!(s.money_weighted.unwrap().round_dp(8), dec!(0.1));
        assert_eq!(s.annualized, None);
    }

    #[test]
    fn money_weighted_and_time_weighted_part_when_money_arrives_before_a_fall() {
        // 100 grows to 200 (+100 %), then 800 more arrives and the 1,000 halves.
        let h = series(day(2026, 1, 1), &[(dec!(100), dec!(100)), (dec!(200), dec!(0)), (dec!(500), dec!(800))]);
        let s = summarize(
            &h,
            &Period { name: "inception", start: day(2026, 1, 1), end: day(2026, 1, 3) },
            FlowTiming::StartOfDay,
        )
        .unwrap();
        assert_eq!(s.time_weighted, dec!(0), "+100 % then -50 %");
        assert_eq!(s.gain, dec!(-400));
        assert!(s.money_weighted.unwrap() < dec!(-0.3), "most of the money lost half");
    }

    #[test]
    fn a_year_holding_29_february_is_not_annualized() {
        let values: Vec<(Decimal, Decimal)> =
            (0..400).map(|i| (dec!(1000) + Decimal::from(i), if i == 0 { dec!(1000) } else { dec!(0) })).collect();
        let h = series(day(2023, 6, 1), &values);
        let one_year = standard(day(2023, 6, 1), day(2024, 6, 30)).into_iter().find(|p| p.name == "1y").unwrap();
        assert_eq!(one_year.days(), 366);
        let s = summarize(&h, &one_year, FlowTiming::StartOfDay).unwrap();
        assert_eq!(s.annualized, None);
        let longer = Period { name: "custom", start: day(2023, 6, 1), end: day(2024, 6, 1) };
        assert!(summarize(&h, &longer, FlowTiming::StartOfDay).unwrap().annualized.is_some());
    }

    #[test]
    fn blends_read_in_any_of_their_spellings() {
        let b: Blend = "60% VTI / 40% BND".parse().unwrap();
        assert_eq!(b.parts, vec![("VTI".into(), dec!(0.6)), ("BND".into(), dec!(0.4))]);
        assert_eq!("vti:60,bnd:40".parse::<Blend>().unwrap(), b);
        assert_eq!("VTI:0.6, BND:0.4".parse::<Blend>().unwrap(), b);
        assert_eq!(b.to_string(), "60% VTI / 40% BND");
        assert_eq!("SPY".parse::<Blend>().unwrap().parts, vec![("SPY".into(), Decimal::ONE)]);
        assert!("60% VTI / 30% BND".parse::<Blend>().unwrap_err().contains("90%"));
        assert!("VTI / BND".parse::<Blend>().unwrap_err().contains("no weight"));
    }

    #[test]
    fn a_portfolio_that_is_its_benchmark_has_no_excess_no_tracking_error_and_a_beta_of_one() {
        let closes = Closes::new(
            [
                (day(2026, 1, 1), dec!(100)),
                (day(2026, 1, 2), dec!(102)),
                (day(2026, 1, 3), dec!(99)),
                (day(2026, 1, 4), dec!(103)),
            ]
            .map(|(d, c)| ("SPY".to_owned(), d, c)),
        );
        let h = series(
            day(2026, 1, 1),
            &[(dec!(1000), dec!(1000)), (dec!(1020), dec!(0)), (dec!(990), dec!(0)), (dec!(1030), dec!(0))],
        );
        let period = Period { name: "custom", start: day(2026, 1, 2), end: day(2026, 1, 4) };
        let c = compare(&h, &period, &closes, &"SPY".parse().unwrap(), FlowTiming::StartOfDay).unwrap();
        assert_eq!(c.benchmark_return, dec!(0.03));
        assert_eq!(c.excess, dec!(0));
        assert_eq!(c.days, 3);
        assert_eq!(c.tracking_error, Some(dec!(0)));
        assert_eq!(c.beta.unwrap().round_dp(12), dec!(1));
        assert_eq!(c.information_ratio, None);
    }

    #[test]
    fn income_adds_up_by_month() {
        let mut h = series(day(2026, 1, 30), &[(dec!(1), dec!(0)); 4]);
        h[0].qualified_dividends = dec!(10);
        h[1].interest = dec!(1);
        h[3].ordinary_dividends = dec!(5);
        assert_eq!(
            income_by_month(&h),
            vec![(2026, 1, dec!(10), dec!(0), dec!(1)), (2026, 2, dec!(0), dec!(5), dec!(0))]
        );
    }
}
