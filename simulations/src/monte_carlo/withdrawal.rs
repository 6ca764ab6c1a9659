//! Withdrawal strategies: how much a retired path takes out each year, decided at the start
//! of the year from its wealth then (and, for Guyton-Klinger, its history).

use serde::{Deserialize, Serialize};

use super::invalid;
use crate::SimError;

/// The strategy, chosen per plan (`[withdrawal] kind = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Withdrawal {
    /// `cash_flows.annual_withdrawal` every year, grown with inflation (unless
    /// `cash_flows.index_withdrawals = false`).
    #[default]
    Constant,
    /// `rate` of the wealth at the start of each year.
    FixedPercentage { rate: f64 },
    /// Guyton and Klinger's (2006) decision rules, starting from
    /// `cash_flows.annual_withdrawal`: no inflation raise after a losing year when the
    /// current rate is above the initial one; cut by `adjustment` when the rate rises more than
    /// `guardrail` above the initial rate (except in the last `protect_final_years` years);
    /// raise by `adjustment` when it falls more than `guardrail` below.
    GuytonKlinger {
        #[serde(default = "guardrail")]
        guardrail: f64,
        #[serde(default = "guardrail_adjustment")]
        adjustment: f64,
        #[serde(default = "protect")]
        protect_final_years: u32,
    },
    /// Variable percentage withdrawal (Bogleheads' VPW): the payment that would empty the
    /// portfolio exactly at the plan's end if it earned `real_return` a year,
    /// `r / (1 - (1 + r)^-n)` of wealth with `n` years left.
    Vpw { real_return: f64 },
    /// Wealth divided by the IRS Uniform Lifetime Table's distribution period for the age
    /// (needs the plan's `age`); below the table's first age, that period plus the years
    /// still to go to it.
    Rmd,
}

fn guardrail() -> f64 {
    0.2
}

fn guardrail_adjustment() -> f64 {
    0.1
}

fn protect() -> u32 {
    15
}

impl Withdrawal {
    pub(crate) fn check(&self, age: Option<u32>) -> Result<(), SimError> {
        match *self {
            Self::Constant => Ok(()),
            Self::FixedPercentage { rate } if !(rate > 0.0 && rate < 1.0) => {
                Err(invalid("withdrawal.rate", "must be between 0 and 1"))
            }
            Self::GuytonKlinger { guardrail, adjustment, .. }
                if !(guardrail > 0.0 && guardrail < 1.0 && adjustment > 0.0 && adjustment < 1.0) =>
            {
                Err(invalid("withdrawal", "guardrail and adjustment must be between 0 and 1"))
            }
            Self::Vpw { real_return } if !(real_return.is_finite() && real_return > -0.5 && real_return < 1.0) => {
                Err(invalid("withdrawal.real_return", "must be between -0.5 and 1"))
            }
            Self::Rmd if age.is_none() => Err(invalid("age", "the rmd strategy needs the investor's age")),
            _ => Ok(()),
        }
    }
}

/// One path's spending state.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Spending {
    /// Last year's withdrawal (nominal); 0 before the first.
    pub last: f64,
    pub initial_rate: f64,
    /// Last year's portfolio return and inflation.
    pub last_return: f64,
    pub last_inflation: f64,
}

/// What a year asks of the strategy.
pub(crate) struct Year {
    /// Years left including this one.
    pub remaining: u32,
    pub age: Option<u32>,
    /// The constant withdrawal in this year's currency.
    pub base: f64,
    pub wealth: f64,
}

/// The Uniform Lifetime Table's first age.
fn first_rmd_age() -> u32 {
    domain::rmd::UNIFORM_LIFETIME[0].0
}

/// The distribution period for RMD withdrawals at `age`.
fn rmd_period(age: u32) -> f64 {
    let first = first_rmd_age();
    let period = |a: u32| domain::rmd::distribution_period(a).map_or(1.0, |d| d.try_into().unwrap_or(1.0));
    if age < first {
        period(first) + f64::from(first - age)
    } else {
        period(age)
    }
}

impl Withdrawal {
    /// This year's withdrawal (nominal), updating the path's state.
    pub(crate) fn amount(&self, s: &mut Spending, y: &Year) -> f64 {
        let amount = match *self {
            Self::Constant => y.base,
            Self::FixedPercentage { rate } => rate * y.wealth,
            Self::GuytonKlinger { guardrail, adjustment, protect_final_years } => {
                if s.last == 0.0 {
                    s.initial_rate = if y.wealth > 0.0 { y.base / y.wealth } else { 0.0 };
                    y.base
                } else {
                    let mut w = s.last;
                    let rate = w / y.wealth;
                    if !(s.last_return < 0.0 && rate > s.initial_rate) {
                        w *= 1.0 + s.last_inflation;
                    }
                    let rate = w / y.wealth;
                    if rate > s.initial_rate * (1.0 + guardrail) && y.remaining > protect_final_years {
                        w *= 1.0 - adjustment;
                    } else if rate < s.initial_rate * (1.0 - guardrail) {
                        w *= 1.0 + adjustment;
                    }
                    w
                }
            }
            Self::Vpw { real_return: r } => {
                let n = f64::from(y.remaining.max(1));
                let rate = if r.abs() < 1e-12 { 1.0 / n } else { r / (1.0 - (1.0 + r).powf(-n)) };
                rate.min(1.0) * y.wealth
            }
            Self::Rmd => y.wealth / rmd_period(y.age.unwrap_or_else(first_rmd_age)),
        };
        s.last = amount;
        amount
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(remaining: u32, base: f64, wealth: f64) -> Year {
        Year { remaining, age: Some(75), base, wealth }
    }

    /// Guyton-Klinger from 40,000 of 1,000,000 (4%): inflation raises the withdrawal; after
    /// a loss with the rate above 4% it is frozen; past 4.8% it is cut 10%; below 3.2% it is
    /// raised 10%; and in the last 15 years no cut.
    #[test]
    fn guyton_klinger_follows_its_rules() {
        let gk = Withdrawal::GuytonKlinger { guardrail: 0.2, adjustment: 0.1, protect_final_years: 15 };
        let mut s = Spending::default();
        assert_eq!(gk.amount(&mut s, &year(30, 40_000.0, 1_000_000.0)), 40_000.0);
        s.last_inflation = 0.03;
        s.last_return = 0.05;
        assert!((gk.amount(&mut s, &year(29, 0.0, 1_000_000.0)) - 41_200.0).abs() < 1e-9);
        s.last_return = -0.1;
        assert_eq!(gk.amount(&mut s, &year(28, 0.0, 950_000.0)), 41_200.0, "frozen after a loss above 4%");
        // 41,200 * 1.03 / 800,000 = 5.3% > 4.8%: cut.
        s.last_return = 0.01;
        assert!((gk.amount(&mut s, &year(27, 0.0, 800_000.0)) - 41_200.0 * 1.03 * 0.9).abs() < 1e-9);
        let cut = s.last;
        assert!((gk.amount(&mut s, &year(10, 0.0, 700_000.0)) - cut * 1.03).abs() < 1e-9, "no cut near the end");
        let before = s.last;
        assert!((gk.amount(&mut s, &year(9, 0.0, 3_000_000.0)) - before * 1.03 * 1.1).abs() < 1e-6, "prosperity raise");
    }

    #[test]
    fn variable_percentage_and_rmd_withdrawals() {
        let vpw = Withdrawal::Vpw { real_return: 0.0 };
        assert_eq!(vpw.amount(&mut Spending::default(), &year(20, 0.0, 100_000.0)), 5_000.0);
        let vpw = Withdrawal::Vpw { real_return: 0.05 };
        let pmt = 0.05 / (1.0 - 1.05f64.powi(-10));
        assert!((vpw.amount(&mut Spending::default(), &year(10, 0.0, 100_000.0)) - pmt * 100_000.0).abs() < 1e-9);
        assert_eq!(
            vpw.amount(&mut Spending::default(), &year(1, 0.0, 100_000.0)),
            100_000.0,
            "the last year takes all"
        );
        // At 75 the Uniform Lifetime Table's period is 24.6.
        let rmd = Withdrawal::Rmd.amount(&mut Spending::default(), &year(10, 0.0, 246_000.0));
        assert!((rmd - 10_000.0).abs() < 1e-9, "{rmd}");
        assert!(Withdrawal::Rmd.check(None).unwrap_err().to_string().starts_with("age:"));
        assert!(rmd_period(65) > rmd_period(first_rmd_age()));
    }
}
