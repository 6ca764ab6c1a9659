//! Investment performance: the time-weighted return of daily valuations, the money-weighted
//! return (XIRR) of dated cash flows, and the Modified Dietz return of a period without daily
//! values. All in `Decimal`; a return is a fraction (`0.05` is 5 %).
//!
//! - **Time-weighted** ([`time_weighted`]): each day's return is the change in value net of
//!   that day's external flow, and the days are linked geometrically, so the size and timing of
//!   deposits and withdrawals do not move it (the GIPS definition of a true time-weighted
//!   return). With [`FlowTiming::StartOfDay`] a flow takes part in its day: money in counts
//!   from the start of the day, `r = V_t / (V_{t-1} + F_t) - 1`, and money out until its end,
//!   `r = (V_t - F_t) / V_{t-1} - 1` (shares or cash leaving were valued at that day's prices,
//!   so they earned that day's return before they left; counting them out at the start would
//!   divide today's value by a base that lost them at today's prices). With
//!   [`FlowTiming::EndOfDay`] every flow counts at the end, `r = (V_t - F_t) / V_{t-1} - 1`:
//!   money in earns nothing on its first day. A day that begins with less than a cent of
//!   capital has no return.
//! - **Money-weighted** ([`xirr`]): the annual rate at which the flows' present values sum to
//!   zero, on Excel's XIRR convention: `Σ P_i / (1 + r)^((d_i - d_1) / 365) = 0`, flows from the
//!   investor's side (money put in is negative, money taken out and the ending value positive).
//!   Flows that never change sign have no rate, and say so.
//! - **Modified Dietz** ([`modified_dietz`]): `(V_1 - V_0 - F) / (V_0 + Σ W_i F_i)` with
//!   `W_i = (CD - D_i) / CD`, where `CD` is the calendar days of the period and `D_i` the days
//!   from its start to flow `i` (GIPS Guidance Statement on Calculation Methodology).

use chrono::NaiveDate;
use rust_decimal::{Decimal, MathematicalOps};

pub mod history;
pub mod periods;

/// Why a return cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PerformanceError {
    /// The flows never change sign (or are all zero): no rate makes their present values sum to
    /// zero.
    #[error("no rate of return: the cash flows need at least one payment in and one out")]
    NoRoot,
    /// A rate exists (the flows change sign) but the search did not settle on it.
    #[error("the rate of return did not converge")]
    NoConvergence,
    /// The capital the return is measured against is zero or negative.
    #[error("no capital to measure a return against in {0}")]
    NoCapital(String),
    /// The period ends before it starts, or has no days.
    #[error("the period {0} has no days")]
    EmptyPeriod(String),
    /// No day of the period has a close of every benchmark symbol.
    #[error("no day from {0} has a close of every benchmark symbol")]
    NoBenchmarkPrices(String),
}

/// When a day's external flow is counted (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowTiming {
    /// Flows take part in their day: money in from its start, money out until its end.
    StartOfDay,
    /// Flows count at the end of their day.
    EndOfDay,
}

impl FlowTiming {
    /// The day a flow on `date` is dated at for XIRR and Modified Dietz: money coming in at
    /// the start of its day is there from the end of the day before.
    pub fn dated(self, date: NaiveDate, flow: Decimal) -> NaiveDate {
        match self {
            Self::StartOfDay if flow > Decimal::ZERO => date.pred_opt().unwrap_or(date),
            _ => date,
        }
    }
}

/// Less than this at the start of a day is no capital to measure a day's return against.
const LEAST_CAPITAL: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// One day's closing value and its net external flow (deposits in, positive; withdrawals out,
/// negative), from the portfolio's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub value: Decimal,
    pub flow: Decimal,
}

/// The time-weighted return over `days`, starting from `opening` (the value before the first
/// day). Returns the linked return and each day's own.
pub fn time_weighted(opening: Decimal, days: &[Day], timing: FlowTiming) -> (Decimal, Vec<Decimal>) {
    let mut previous = opening;
    let mut growth = Decimal::ONE;
    let mut daily = Vec::with_capacity(days.len());
    for day in days {
        let (base, gain_on) = match timing {
            FlowTiming::StartOfDay if day.flow > Decimal::ZERO => (previous + day.flow, day.value),
            _ => (previous, day.value - day.flow),
        };
        let r = if base >= LEAST_CAPITAL { gain_on / base - Decimal::ONE } else { Decimal::ZERO };
        // Past Decimal's range (absurd values), the day is not counted rather than panicking.
        growth = growth.checked_mul(Decimal::ONE + r).unwrap_or(growth);
        daily.push(r);
        previous = day.value;
    }
    (growth - Decimal::ONE, daily)
}

/// Where the rate search stops: a step smaller than this.
const XIRR_TOLERANCE: Decimal = Decimal::from_parts(1, 0, 0, false, 12);
/// The lowest rate tried: a loss of all but a millionth a year.
const XIRR_FLOOR: Decimal = Decimal::from_parts(999_999, 0, 0, true, 6);

/// The money-weighted annual return of dated flows, on Excel's XIRR convention (see the module
/// documentation). The flows need not be in date order; the earliest date is the start.
pub fn xirr(flows: &[(NaiveDate, Decimal)]) -> Result<Decimal, PerformanceError> {
    rate(flows, 365)
}

/// The rate of dated flows per `days` days: [`xirr`] with `days` in place of 365. Given the
/// days from the first flow to the last, it is the money-weighted return over that span, which
/// is how a period shorter than a year is reported (an annual rate of a few days' gain can be
/// astronomically large).
pub fn rate(flows: &[(NaiveDate, Decimal)], days: i64) -> Result<Decimal, PerformanceError> {
    if days <= 0 {
        return Err(PerformanceError::EmptyPeriod(format!("{days} days")));
    }
    let has_in = flows.iter().any(|(_, a)| *a < Decimal::ZERO);
    let has_out = flows.iter().any(|(_, a)| *a > Decimal::ZERO);
    if !(has_in && has_out) {
        return Err(PerformanceError::NoRoot);
    }
    let start = flows.iter().map(|(d, _)| *d).min().expect("flows are not empty");
    let year = Decimal::from(days);
    let timed: Vec<(Decimal, Decimal)> =
        flows.iter().map(|(d, a)| (Decimal::from((*d - start).num_days()) / year, *a)).collect();
    // The net present value and its derivative at rate r.
    let npv = |r: Decimal| -> Option<(Decimal, Decimal)> {
        let ln = (Decimal::ONE + r).checked_ln()?;
        let mut value = Decimal::ZERO;
        let mut slope = Decimal::ZERO;
        for (t, a) in &timed {
            let discount = (-*t * ln).checked_exp()?;
            value = value.checked_add(a.checked_mul(discount)?)?;
            slope = slope.checked_sub(t.checked_mul(*a)?.checked_mul(discount)?.checked_div(Decimal::ONE + r)?)?;
        }
        Some((value, slope))
    };
    // Newton's method from Excel's default guess of 10 %.
    let mut r = Decimal::new(1, 1);
    for _ in 0..100 {
        let Some((value, slope)) = npv(r) else { break };
        if slope.is_zero() {
            break;
        }
        let next = r - value / slope;
        if next <= XIRR_FLOOR {
            break;
        }
        if (next - r).abs() < XIRR_TOLERANCE {
            return Ok(next.round_dp(10));
        }
        r = next;
    }
    bisect(&npv)
}

/// The rate search when Newton's method leaves the domain: bisection between the floor and a
/// rate found by doubling where the present value changes sign.
fn bisect(npv: &dyn Fn(Decimal) -> Option<(Decimal, Decimal)>) -> Result<Decimal, PerformanceError> {
    let value = |r: Decimal| npv(r).map(|(v, _)| v);
    let mut low = XIRR_FLOOR;
    let low_value = value(low).ok_or(PerformanceError::NoConvergence)?;
    let mut high = Decimal::ONE;
    loop {
        match value(high) {
            Some(v) if v.is_sign_negative() != low_value.is_sign_negative() => break,
            Some(_) if high < Decimal::from(1_000_000) => high *= Decimal::TWO,
            _ => return Err(PerformanceError::NoConvergence),
        }
    }
    for _ in 0..200 {
        let mid = (low + high) / Decimal::TWO;
        let Some(v) = value(mid) else { return Err(PerformanceError::NoConvergence) };
        if v.is_sign_negative() == low_value.is_sign_negative() {
            low = mid;
        } else {
            high = mid;
        }
        if high - low < XIRR_TOLERANCE {
            return Ok(((low + high) / Decimal::TWO).round_dp(10));
        }
    }
    Err(PerformanceError::NoConvergence)
}

/// The Modified Dietz return of the period from `start` (valued at `opening`) to `end`
/// (valued at `closing`), with external flows into the portfolio (positive) or out of it
/// (negative) on their dates.
pub fn modified_dietz(
    start: NaiveDate,
    end: NaiveDate,
    opening: Decimal,
    closing: Decimal,
    flows: &[(NaiveDate, Decimal)],
) -> Result<Decimal, PerformanceError> {
    let period = || format!("{start} to {end}");
    let days = (end - start).num_days();
    if days <= 0 {
        return Err(PerformanceError::EmptyPeriod(period()));
    }
    let calendar = Decimal::from(days);
    let mut net = Decimal::ZERO;
    let mut weighted = Decimal::ZERO;
    for (date, amount) in flows {
        let into = (*date - start).num_days().clamp(0, days);
        net += amount;
        weighted += amount * (calendar - Decimal::from(into)) / calendar;
    }
    let capital = opening + weighted;
    if capital <= Decimal::ZERO {
        return Err(PerformanceError::NoCapital(period()));
    }
    Ok((closing - opening - net) / capital)
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Microsoft's XIRR documentation: five flows from 1 January 2008 give 0.373362535
    /// (37.34 %). Excel stops its iteration within 0.000001 %; the root itself is
    /// 0.3733625335, so the two agree to within 2 × 10⁻⁹.
    #[test]
    fn xirr_gives_excels_documented_example() {
        let flows = [
            (day(2008, 1, 1), dec!(-10000)),
            (day(2008, 3, 1), dec!(2750)),
            (day(2008, 10, 30), dec!(4250)),
            (day(2009, 2, 15), dec!(3250)),
            (day(2009, 4, 1), dec!(2750)),
        ];
        let r = xirr(&flows).unwrap();
        assert!((r - dec!(0.373362535)).abs() < dec!(0.000000002), "{r}");
        assert_eq!((r * dec!(100)).round_dp(2), dec!(37.34));
        assert_eq!(r, dec!(0.3733625335));
    }

    #[test]
    fn xirr_of_one_year_is_the_simple_return_and_losses_work() {
        let gain = [(day(2023, 1, 1), dec!(-1000)), (day(2024, 1, 1), dec!(1100))];
        assert_eq!(xirr(&gain).unwrap().round_dp(8), dec!(0.10));
        let loss = [(day(2023, 1, 1), dec!(-1000)), (day(2024, 1, 1), dec!(50))];
        assert_eq!(xirr(&loss).unwrap().round_dp(8), dec!(-0.95));
    }

    #[test]
    fn xirr_without_a_sign_change_says_there_is_no_rate() {
        let flows = [(day(2023, 1, 1), dec!(-1000)), (day(2024, 1, 1), dec!(-10))];
        assert_eq!(xirr(&flows), Err(PerformanceError::NoRoot));
        assert_eq!(xirr(&[]), Err(PerformanceError::NoRoot));
    }

    /// Hand-worked: 100,000 on 31 December, 10,000 in on 16 January (15 of 31 days left),
    /// 112,000 on 31 January: 2,000 / (100,000 + 10,000 × 15/31) = 62,000 / 3,250,000.
    #[test]
    fn modified_dietz_weights_a_flow_by_the_days_it_was_invested() {
        let r = modified_dietz(
            day(2025, 12, 31),
            day(2026, 1, 31),
            dec!(100000),
            dec!(112000),
            &[(day(2026, 1, 16), dec!(10000))],
        )
        .unwrap();
        assert_eq!(r, dec!(62000) / dec!(3250000));
        assert_eq!(r.round_dp(6), dec!(0.019077));
        let none = modified_dietz(day(2026, 1, 31), day(2026, 1, 31), dec!(1), dec!(1), &[]);
        assert!(matches!(none, Err(PerformanceError::EmptyPeriod(_))));
    }

    /// The CFA Institute curriculum's GIPS worked example of a Modified Dietz month: an
    /// October opening at 585.60 and closing at 602.34, with flows of -15.05 on the 5th,
    /// +19.82 on the 9th, +16.42 on the 15th and -18.96 on the 24th; weights (31 - D_i) / 31
    /// give a denominator of about 591.237 and a return of about 2.45 %.
    #[test]
    fn modified_dietz_gives_the_gips_worked_example() {
        let flows = [
            (day(2025, 10, 5), dec!(-15.05)),
            (day(2025, 10, 9), dec!(19.82)),
            (day(2025, 10, 15), dec!(16.42)),
            (day(2025, 10, 24), dec!(-18.96)),
        ];
        let r = modified_dietz(day(2025, 9, 30), day(2025, 10, 31), dec!(585.60), dec!(602.34), &flows).unwrap();
        let denominator = dec!(585.60)
            + flows
                .iter()
                .map(|(d, f)| f * Decimal::from(31 - (*d - day(2025, 9, 30)).num_days()) / dec!(31))
                .sum::<Decimal>();
        assert_eq!(denominator.round_dp(3), dec!(591.237));
        assert_eq!(r, dec!(14.51) / denominator);
        assert_eq!((r * dec!(100)).round_dp(2), dec!(2.45));
    }

    /// Shares worth 10,000 fall 10 % and 90 % of them leave at the day's close: the day's
    /// return is -10 % (counted out at the start, the 8,100 leaving at today's prices would
    /// leave a base of 1,900 against 900 of value: -52.6 %).
    #[test]
    fn money_going_out_is_counted_at_the_end_of_its_day() {
        let days = [Day { value: dec!(900), flow: dec!(-8100) }];
        for timing in [FlowTiming::StartOfDay, FlowTiming::EndOfDay] {
            assert_eq!(time_weighted(dec!(10000), &days, timing).0, dec!(-0.1));
        }
        // Everything leaves on a rising day: +10 %, not a loss of everything.
        let all_out = [Day { value: dec!(0), flow: dec!(-11000) }];
        assert_eq!(time_weighted(dec!(10000), &all_out, FlowTiming::StartOfDay).0, dec!(0.1));
        assert_eq!(FlowTiming::StartOfDay.dated(day(2026, 1, 5), dec!(-1)), day(2026, 1, 5));
        assert_eq!(FlowTiming::StartOfDay.dated(day(2026, 1, 5), dec!(1)), day(2026, 1, 4));
        // A few cents left over are no base for the next day's return.
        let crumbs = [Day { value: dec!(5000.02), flow: dec!(5000) }];
        assert_eq!(time_weighted(dec!(0.003), &crumbs, FlowTiming::EndOfDay).0, dec!(0));
    }

    #[test]
    fn time_weighted_without_flows_is_the_change_in_value() {
        let days = [
            Day { value: dec!(105), flow: dec!(0) },
            Day { value: dec!(99.75), flow: dec!(0) },
            Day { value: dec!(120), flow: dec!(0) },
        ];
        for timing in [FlowTiming::StartOfDay, FlowTiming::EndOfDay] {
            let (r, daily) = time_weighted(dec!(100), &days, timing);
            assert_eq!(r.round_dp(20), dec!(0.2));
            assert_eq!(daily[0], dec!(0.05));
        }
    }

    #[test]
    fn time_weighted_of_cash_alone_is_zero_and_flows_do_not_move_it() {
        // A portfolio holding only cash: its value is its deposits and withdrawals.
        let cash = [
            Day { value: dec!(1000), flow: dec!(1000) },
            Day { value: dec!(1500), flow: dec!(500) },
            Day { value: dec!(1200), flow: dec!(-300) },
        ];
        for timing in [FlowTiming::StartOfDay, FlowTiming::EndOfDay] {
            assert_eq!(time_weighted(Decimal::ZERO, &cash, timing).0, Decimal::ZERO);
        }
        // 10 % on day one, a deposit that doubles the capital, then 10 % again: 21 % whatever
        // the deposit's size.
        let days = [Day { value: dec!(110), flow: dec!(0) }, Day { value: dec!(341), flow: dec!(200) }];
        assert_eq!(time_weighted(dec!(100), &days, FlowTiming::StartOfDay).0, dec!(0.21));
        // Counted at the end of its day, the deposit earns nothing that day.
        let days = [Day { value: dec!(110), flow: dec!(0) }, Day { value: dec!(321), flow: dec!(200) }];
        assert_eq!(time_weighted(dec!(100), &days, FlowTiming::EndOfDay).0, dec!(0.21));
    }
}
