//! A GRAT's remainder over paths of annual returns: the trust grows by each year's return and
//! pays that year's annuity (`domain::grat` values the payments); what is left after the last
//! payment passes to the remaindermen, and a payment the trust cannot make empties it. Each
//! year's gross return is lognormal with the expected (arithmetic) return `μ` and volatility
//! `σ`: `ln(1 + R) ~ N(ln(1 + μ) − σ²/2, σ²)`, as the goal paths step. Paths are seeded as
//! every engine's ([`crate::rng`]), so an answer repeats.

use rand_distr::{Distribution, StandardNormal};

use crate::{invalid, SimError};

/// What a GRAT's paths are run from.
#[derive(Debug, Clone, PartialEq)]
pub struct GratRun {
    pub funding: f64,
    /// Each year's payment.
    pub payments: Vec<f64>,
    pub expected_return: f64,
    pub volatility: f64,
    pub paths: usize,
    pub seed: u64,
}

/// The remainder's distribution.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct GratOutcome {
    /// The 5th, 25th, 50th, 75th and 95th percentiles of what passes.
    pub percentiles: [f64; 5],
    pub mean: f64,
    /// The share of paths on which anything passes.
    pub probability_of_remainder: f64,
}

pub fn remainders(run: &GratRun) -> Result<GratOutcome, SimError> {
    if !(run.funding.is_finite() && run.funding >= 0.0) {
        return Err(invalid("funding", "must be a number of at least 0"));
    }
    if run.payments.iter().any(|p| !(p.is_finite() && *p >= 0.0)) {
        return Err(invalid("payments", "must be numbers of at least 0"));
    }
    if !(run.expected_return.is_finite() && run.expected_return > -1.0) {
        return Err(invalid("expected_return", "must be above -1"));
    }
    if !(run.volatility.is_finite() && (0.0..=2.0).contains(&run.volatility)) {
        return Err(invalid("volatility", "must be 0 to 2"));
    }
    if !(1..=1_000_000).contains(&run.paths) {
        return Err(invalid("paths", "must be 1 to 1,000,000"));
    }
    let drift = (1.0 + run.expected_return).ln() - run.volatility * run.volatility / 2.0;
    let left: Vec<f64> = (0..run.paths as u64)
        .map(|path| {
            let mut rng = crate::rng::path_rng(run.seed, path);
            run.payments.iter().fold(run.funding, |trust, p| {
                let z: f64 = StandardNormal.sample(&mut rng);
                (trust * (drift + run.volatility * z).exp() - p).max(0.0)
            })
        })
        .collect();
    let mean = left.iter().sum::<f64>() / left.len() as f64;
    let probability_of_remainder = left.iter().filter(|v| **v > 0.0).count() as f64 / left.len() as f64;
    Ok(GratOutcome { percentiles: crate::stats::percentiles(left), mean, probability_of_remainder })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(volatility: f64) -> GratRun {
        GratRun {
            funding: 10_000_000.0,
            payments: vec![5_423_813.23; 2],
            expected_return: 0.10,
            volatility,
            paths: 20_000,
            seed: 7,
        }
    }

    #[test]
    fn without_volatility_every_path_is_the_deterministic_remainder() {
        // At 10% a year exactly: 709,992.22 (domain::grat's deterministic figure).
        let out = remainders(&run(0.0)).unwrap();
        assert!((out.percentiles[2] - 709_992.22).abs() < 0.01, "{out:?}");
        assert_eq!(out.probability_of_remainder, 1.0);
    }

    #[test]
    fn with_volatility_some_paths_leave_nothing_and_the_mean_exceeds_the_median() {
        // An empty trust is a floor at 0 (the grantor bears the shortfall), so the remainder
        // is an option on the trust's growth: its mean is above the deterministic figure.
        let out = remainders(&run(0.2)).unwrap();
        assert!(out.probability_of_remainder > 0.4 && out.probability_of_remainder < 0.9, "{out:?}");
        assert!(out.mean > 709_992.22, "{out:?}");
        assert_eq!(out.percentiles[0], 0.0);
        assert_eq!(remainders(&run(0.2)).unwrap(), out, "seeded");
        assert!(remainders(&GratRun { paths: 0, ..run(0.2) }).is_err());
    }
}
