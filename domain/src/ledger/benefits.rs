//! Employer plan terms on an account: the matching formula and the vesting schedule.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One tier: the employer adds `rate` of each dollar the employee defers, on the next
/// `of_pay` of pay (fractions: 1.00 and 0.03 for "100% of the first 3%").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchTier {
    pub rate: Decimal,
    pub of_pay: Decimal,
}

/// A matching formula, e.g. 100% of the first 3% of pay plus 50% of the next 2%.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchFormula {
    pub tiers: Vec<MatchTier>,
}

impl MatchFormula {
    /// The employer's match on `deferral` out of `pay`.
    pub fn employer_match(&self, pay: Decimal, deferral: Decimal) -> Decimal {
        if pay <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        let mut left = (deferral / pay).max(Decimal::ZERO);
        let mut total = Decimal::ZERO;
        for tier in &self.tiers {
            let covered = left.min(tier.of_pay);
            total += covered * tier.rate * pay;
            left -= covered;
        }
        total
    }
}

impl FromStr for MatchFormula {
    type Err = String;
    /// `100:3,50:2`: rate percent : percent of pay, tier after tier.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hundred = Decimal::ONE_HUNDRED;
        let tiers = s
            .split(',')
            .map(|t| {
                let (rate, of_pay) =
                    t.trim().split_once(':').ok_or_else(|| format!("{t:?} is not RATE%:PAY% (e.g. 100:3)"))?;
                let parse = |x: &str| {
                    x.trim().trim_end_matches('%').parse::<Decimal>().map_err(|_| format!("{x:?} is not a number"))
                };
                let (rate, of_pay) = (parse(rate)? / hundred, parse(of_pay)? / hundred);
                if rate <= Decimal::ZERO
                    || rate > Decimal::new(2, 0)
                    || of_pay <= Decimal::ZERO
                    || of_pay > Decimal::ONE
                {
                    return Err(format!(
                        "{t:?}: the rate must be above 0 and at most 200%, the pay share above 0 and at most 100%"
                    ));
                }
                Ok(MatchTier { rate, of_pay })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { tiers })
    }
}

/// How employer money vests with years of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vesting {
    Immediate,
    /// Nothing until `years` of service, then everything.
    Cliff {
        years: u32,
    },
    /// `percent_per_year` at `start` years of service and each year after, up to 100%.
    Graded {
        start: u32,
        percent_per_year: Decimal,
    },
}

/// The slowest schedules the law allows for employer contributions to a defined-contribution
/// plan (IRC 411(a)(2)(B), as amended by the Pension Protection Act of 2006): a 3-year cliff, or
/// 20% after 2 years rising 20 points a year to 100% after 6.
pub const SLOWEST_CLIFF_YEARS: u32 = 3;
pub const SLOWEST_GRADED: [(u32, u32); 5] = [(2, 20), (3, 40), (4, 60), (5, 80), (6, 100)];

impl Vesting {
    /// The vested share (0 to 1) after `years` of service.
    pub fn vested_fraction(&self, years: u32) -> Decimal {
        match *self {
            Self::Immediate => Decimal::ONE,
            Self::Cliff { years: cliff } => {
                if years >= cliff {
                    Decimal::ONE
                } else {
                    Decimal::ZERO
                }
            }
            Self::Graded { start, percent_per_year } => {
                if years < start {
                    return Decimal::ZERO;
                }
                (Decimal::from(years - start + 1) * percent_per_year / Decimal::ONE_HUNDRED).min(Decimal::ONE)
            }
        }
    }
}

impl FromStr for Vesting {
    type Err = String;
    /// `immediate`, `cliff:3` or `graded:2:20`; refused when slower than the law allows.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let num = |x: &str| x.parse::<u32>().map_err(|_| format!("{x:?} is not a whole number"));
        let v = match parts.as_slice() {
            ["immediate"] => Self::Immediate,
            ["cliff", y] => Self::Cliff { years: num(y)? },
            ["graded", start, pct] => Self::Graded {
                start: num(start)?,
                percent_per_year: pct.parse().map_err(|_| format!("{pct:?} is not a number"))?,
            },
            _ => return Err(format!("{s:?}: expected immediate, cliff:YEARS or graded:START:PERCENT")),
        };
        let sane = match v {
            Self::Immediate => true,
            Self::Cliff { years } => years <= 50,
            Self::Graded { start, percent_per_year } => {
                start <= 50 && percent_per_year > Decimal::ZERO && percent_per_year <= Decimal::ONE_HUNDRED
            }
        };
        if !sane {
            return Err(format!("{s:?}: years must be at most 50 and the yearly percentage above 0 and at most 100"));
        }
        let too_slow = match v {
            Self::Cliff { years } => years > SLOWEST_CLIFF_YEARS,
            _ => {
                SLOWEST_GRADED.iter().any(|&(y, pct)| v.vested_fraction(y) * Decimal::ONE_HUNDRED < Decimal::from(pct))
            }
        };
        if too_slow {
            return Err(format!(
                "{s:?} vests more slowly than IRC 411(a)(2)(B) allows (a 3-year cliff, or 20% a year from year 2)"
            ));
        }
        Ok(v)
    }
}

/// What [`crate::ledger::Ledger::employer_match`] finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchOutcome {
    /// The employer's match on the deferral.
    pub matched: Decimal,
    /// The fraction of employer money vested.
    pub vested_fraction: Decimal,
    /// `matched * vested_fraction`.
    pub vested: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_safe_harbor_match_gives_4_percent_of_pay_for_a_5_percent_deferral() {
        let f: MatchFormula = "100:3,50:2".parse().unwrap();
        let pay = Decimal::new(100_000, 0);
        assert_eq!(f.employer_match(pay, Decimal::new(5_000, 0)), Decimal::new(4_000, 0));
        assert_eq!(f.employer_match(pay, Decimal::new(2_000, 0)), Decimal::new(2_000, 0));
        assert_eq!(f.employer_match(pay, Decimal::new(20_000, 0)), Decimal::new(4_000, 0));
    }

    #[test]
    fn graded_vesting_rises_each_year_and_schedules_slower_than_the_law_are_refused() {
        let v: Vesting = "graded:2:20".parse().unwrap();
        assert_eq!(v.vested_fraction(1), Decimal::ZERO);
        assert_eq!(v.vested_fraction(3), Decimal::new(4, 1));
        assert_eq!(v.vested_fraction(9), Decimal::ONE);
        assert!("cliff:4".parse::<Vesting>().is_err());
        assert!("graded:3:20".parse::<Vesting>().is_err());
        assert_eq!("cliff:3".parse::<Vesting>().unwrap().vested_fraction(3), Decimal::ONE);
    }
}
