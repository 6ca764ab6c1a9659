//! Yearly returns drawn for planners that project year by year in exact arithmetic (the Roth
//! conversion planner): each path's years are independent draws of the engine's geometric
//! Brownian motion over one year, `ln(1 + r) ~ N(ln(1 + μ) − σ²/2, σ²)`, so `E[1 + r] = 1 + μ`
//! exactly and the log-return's volatility is `σ`. Every path has its own stream
//! ([`crate::rng::path_rng`]): the same seed gives the same paths on any machine and thread.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::{invalid, SimError};

/// `paths` sequences of `years` yearly returns (0.05 for 5%) with expected return `mean` and
/// volatility `volatility`.
pub fn yearly(mean: f64, volatility: f64, years: usize, paths: usize, seed: u64) -> Result<Vec<Vec<f64>>, SimError> {
    if !(mean.is_finite() && mean > -1.0) {
        return Err(invalid("growth", "an expected return above -1"));
    }
    if !(volatility.is_finite() && (0.0..=2.0).contains(&volatility)) {
        return Err(invalid("volatility", "between 0 and 2 (0.12 for 12%)"));
    }
    if paths == 0 || paths > 100_000 {
        return Err(invalid("paths", "between 1 and 100,000"));
    }
    let drift = (1.0 + mean).ln() - volatility * volatility / 2.0;
    Ok((0..paths as u64)
        .map(|p| {
            let mut rng = crate::rng::path_rng(seed, p);
            (0..years)
                .map(|_| {
                    let z: f64 = rng.sample(StandardNormal);
                    (drift + volatility * z).exp() - 1.0
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draws_have_the_asked_mean_and_log_volatility_and_repeat_with_the_seed() {
        let paths = yearly(0.06, 0.15, 40, 5_000, 7).unwrap();
        let all: Vec<f64> = paths.iter().flatten().copied().collect();
        let n = all.len() as f64;
        let mean = all.iter().sum::<f64>() / n;
        assert!((mean - 0.06).abs() < 0.003, "{mean}");
        let logs: Vec<f64> = all.iter().map(|r| (1.0 + r).ln()).collect();
        let m = logs.iter().sum::<f64>() / n;
        let sd = (logs.iter().map(|l| (l - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        assert!((sd - 0.15).abs() < 0.002, "{sd}");
        assert_eq!(paths, yearly(0.06, 0.15, 40, 5_000, 7).unwrap());
        assert_ne!(paths[0], yearly(0.06, 0.15, 40, 5_000, 8).unwrap()[0]);
        // No volatility: every year returns the mean.
        assert!(yearly(0.05, 0.0, 3, 2, 1).unwrap().iter().flatten().all(|r| (r - 0.05).abs() < 1e-12));
        assert!(yearly(0.05, -0.1, 3, 2, 1).is_err());
    }
}
