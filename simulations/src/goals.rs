//! A goal's on-track probability: the share of the Monte Carlo engine's paths on which what is
//! set aside today, grown at the goal's expected return and volatility and topped up by its
//! monthly contributions, reaches the target by the goal's date.
//!
//! The engine steps whole plan years of 12 monthly steps, and a goal is due after any number
//! of days. So the goal's horizon of `T` years (days / 365) is laid over `Y = ⌈T⌉` plan years
//! whose every step stands for `k = T / Y` of a month: each step's expected growth is
//! `(1 + μ)^k` a year's worth and its variance `k σ²`, so that over the `12 Y` steps the log
//! of wealth has exactly the mean `T (ln(1 + μ) − σ²/2)` and variance `T σ²` of the goal's own
//! horizon (a change of the clock, exact for the engine's geometric Brownian motion), and the
//! `n` monthly contributions are spread evenly over the steps, `n c` in all. With no
//! contributions the answer is the lognormal's `N(d)`, `d = (ln(W/K) + T (ln(1 + μ) − σ²/2)) /
//! (σ √T)`, which the tests check.

use crate::monte_carlo::{self, CashFlows, Fees, Model, Plan, VarianceReduction, Withdrawal};
use crate::{invalid, SimError};

/// What a goal's probability is estimated from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoalRun {
    /// Set aside today.
    pub current: f64,
    pub target: f64,
    /// Years to the goal's date (days / 365).
    pub years: f64,
    /// The monthly contributions still to come and their amount.
    pub months: u32,
    pub monthly_contribution: f64,
    /// Expected annual (arithmetic) return and annual volatility.
    pub expected_return: f64,
    pub volatility: f64,
    pub paths: usize,
    pub seed: u64,
}

/// The paths a goal is estimated on by default: a standard error of at most 0.8 points of
/// probability (√(0.25 / 4000)), in a few milliseconds.
pub const PATHS: usize = 4_000;

/// The share of paths on which wealth at the goal's date is at least the target; `None` when
/// the goal is due (no horizon left to simulate).
pub fn on_track(run: &GoalRun) -> Result<Option<f64>, SimError> {
    for (field, v) in
        [("current", run.current), ("target", run.target), ("monthly_contribution", run.monthly_contribution)]
    {
        if !(v.is_finite() && v >= 0.0) {
            return Err(invalid(field, "must be a number of at least 0"));
        }
    }
    if !(run.years.is_finite() && run.years <= 100.0) {
        return Err(invalid("years", "must be at most 100"));
    }
    if run.years <= 0.0 {
        return Ok(None);
    }
    let y = run.years.ceil();
    let k = run.years / y;
    let plan = Plan {
        initial_wealth: Some(run.current),
        years: y as u32,
        age: None,
        model: Model::single("goal", (1.0 + run.expected_return).powf(k) - 1.0, run.volatility * k.sqrt()),
        cash_flows: CashFlows {
            annual_contribution: f64::from(run.months) * run.monthly_contribution / y,
            retire_after_years: y as u32,
            index_contributions: false,
            ..CashFlows::default()
        },
        fees: Fees::default(),
        withdrawal: Withdrawal::Constant,
        variance_reduction: VarianceReduction { antithetic: true, control_variate: false },
        household: None,
        paths: run.paths,
        seed: run.seed,
    };
    // One thread: goals are estimated many at a time, each on its own.
    let out = monte_carlo::run(&plan, 1)?;
    let reached = out.terminal.iter().filter(|w| **w >= run.target).count();
    Ok(Some(reached as f64 / out.terminal.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::norm_cdf;

    fn run(years: f64, current: f64, target: f64) -> GoalRun {
        GoalRun {
            current,
            target,
            years,
            months: 0,
            monthly_contribution: 0.0,
            expected_return: 0.06,
            volatility: 0.12,
            paths: 40_000,
            seed: 11,
        }
    }

    fn lognormal(r: &GoalRun) -> f64 {
        let (mu, s, t) = (r.expected_return, r.volatility, r.years);
        norm_cdf(((r.current / r.target).ln() + t * ((1.0 + mu).ln() - s * s / 2.0)) / (s * t.sqrt()))
    }

    /// Without contributions, wealth at the date is lognormal: the estimate is within four
    /// standard errors of N(d), for whole and fractional horizons alike.
    #[test]
    fn without_contributions_the_probability_is_the_lognormals() {
        for (years, current, target) in
            [(10.0, 60_000.0, 100_000.0), (2.4, 90_000.0, 100_000.0), (0.3, 100_000.0, 99_000.0)]
        {
            let r = run(years, current, target);
            let p = on_track(&r).unwrap().unwrap();
            let exact = lognormal(&r);
            let se = (exact * (1.0 - exact) / r.paths as f64).sqrt();
            assert!((p - exact).abs() < 4.0 * se + 1e-9, "{years} years: {p} vs {exact}");
        }
    }

    /// With no volatility the path is certain: 30,000 growing at 0% with 120 × 500 added makes
    /// 90,000 (to the float's rounding), so a target a cent below is reached and one a cent
    /// above is not.
    #[test]
    fn contributions_add_up_to_what_is_planned() {
        let mut r = run(10.0, 30_000.0, 89_999.99);
        (r.months, r.monthly_contribution, r.expected_return, r.volatility, r.paths) = (120, 500.0, 0.0, 0.0, 16);
        assert_eq!(on_track(&r).unwrap(), Some(1.0));
        r.target = 90_000.01;
        assert_eq!(on_track(&r).unwrap(), Some(0.0));
        // Over 2.5 years (30 months): 30,000 + 30 × 500 = 45,000.
        (r.years, r.months, r.target) = (2.5, 30, 44_999.99);
        assert_eq!(on_track(&r).unwrap(), Some(1.0));
        r.target = 45_000.01;
        assert_eq!(on_track(&r).unwrap(), Some(0.0));
    }

    #[test]
    fn a_due_goal_has_no_probability_and_bad_input_is_named() {
        assert_eq!(on_track(&run(0.0, 1.0, 2.0)).unwrap(), None);
        let bad = GoalRun { current: f64::NAN, ..run(1.0, 1.0, 2.0) };
        assert!(matches!(on_track(&bad), Err(SimError::Invalid { field, .. }) if field == "current"));
        let bad = GoalRun { years: 150.0, ..run(1.0, 1.0, 2.0) };
        assert!(matches!(on_track(&bad), Err(SimError::Invalid { field, .. }) if field == "years"));
    }
}
