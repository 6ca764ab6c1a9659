//! Black-Litterman posterior returns and covariance as PyPortfolioOpt's
//! `BlackLittermanModel`: the market-implied prior π = δΣw_mkt + r_f, views Pw = Q with
//! uncertainty Ω from confidences by Idzorek's method (Ω_kk = τ·(1−c)/c·p_kΣp_kᵀ; a view
//! without a confidence gets He and Litterman's τ·p_kΣp_kᵀ), and
//! μ = π + τΣPᵀ(PτΣPᵀ + Ω)⁻¹(Q − Pπ), Σ_post = Σ + τΣ − τΣPᵀ(PτΣPᵀ + Ω)⁻¹PτΣ.

use nalgebra::{DMatrix, DVector};

use super::invalid;
use crate::SimError;

/// One view: the portfolio `weights` (one per asset; one 1 for an absolute view, +1/−1 for a
/// relative one) is expected to return `expected` a year, held with `confidence` in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub weights: Vec<f64>,
    pub expected: f64,
    pub confidence: Option<f64>,
}

/// Prior and posterior expected returns and the posterior covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    pub prior: Vec<f64>,
    pub returns: Vec<f64>,
    pub covariance: DMatrix<f64>,
}

/// The market-implied prior returns δΣw + r_f with w the market-cap weights.
pub fn implied_returns(cov: &DMatrix<f64>, market_caps: &[f64], risk_aversion: f64, risk_free_rate: f64) -> Vec<f64> {
    let total: f64 = market_caps.iter().sum();
    let w = DVector::from_iterator(market_caps.len(), market_caps.iter().map(|c| c / total));
    (cov * w).iter().map(|v| risk_aversion * v + risk_free_rate).collect()
}

/// The Black-Litterman posterior.
pub fn posterior(cov: &DMatrix<f64>, prior: &[f64], tau: f64, views: &[View]) -> Result<Posterior, SimError> {
    let n = cov.nrows();
    if !(tau > 0.0 && tau <= 1.0) {
        return Err(invalid("tau", "must be in (0, 1]"));
    }
    let k = views.len();
    if k == 0 {
        return Ok(Posterior { prior: prior.to_vec(), returns: prior.to_vec(), covariance: cov * (1.0 + tau) });
    }
    let mut p = DMatrix::zeros(k, n);
    let mut q = DVector::zeros(k);
    let mut omega = DMatrix::zeros(k, k);
    for (r, v) in views.iter().enumerate() {
        if v.weights.len() != n {
            return Err(invalid("views", format!("view {} has {} weights for {n} assets", r + 1, v.weights.len())));
        }
        if !v.expected.is_finite() || v.weights.iter().any(|x| !x.is_finite()) {
            return Err(invalid("views", format!("view {} has a value that is not a finite number", r + 1)));
        }
        for (j, &x) in v.weights.iter().enumerate() {
            p[(r, j)] = x;
        }
        q[r] = v.expected;
        let row = p.row(r).clone_owned();
        let var = (&row * cov * row.transpose())[(0, 0)];
        omega[(r, r)] = match v.confidence {
            None => tau * var,
            Some(c) if !(0.0..=1.0).contains(&c) => {
                return Err(invalid("views", format!("view {}: confidence must be between 0 and 1", r + 1)))
            }
            Some(0.0) => 1e6,
            Some(c) => tau * (1.0 - c) / c * var,
        };
    }
    let pi = DVector::from_column_slice(prior);
    let tsp = cov * p.transpose() * tau; // n × k
    let a = &p * &tsp + omega;
    let lu = a.clone().lu();
    let solve = |b: &DMatrix<f64>| -> DMatrix<f64> {
        lu.solve(b).unwrap_or_else(|| {
            a.clone().pseudo_inverse(1e-15).expect("the pseudo-inverse of a finite matrix exists") * b
        })
    };
    let b = DMatrix::from_column_slice(k, 1, (&q - &p * &pi).as_slice());
    let post = &pi + (&tsp * solve(&b)).column(0);
    let m = cov * tau - &tsp * solve(&tsp.transpose());
    let covariance = cov + m;
    let covariance = (&covariance + covariance.transpose()) * 0.5;
    Ok(Posterior { prior: prior.to_vec(), returns: post.iter().copied().collect(), covariance })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certain_absolute_view_pins_the_asset() {
        let cov = DMatrix::from_row_slice(2, 2, &[0.04, 0.01, 0.01, 0.09]);
        let prior = implied_returns(&cov, &[1.0, 1.0], 2.0, 0.0);
        assert!((prior[0] - 2.0 * 0.025).abs() < 1e-15);
        let view = View { weights: vec![1.0, 0.0], expected: 0.10, confidence: Some(1.0) };
        let post = posterior(&cov, &prior, 0.05, &[view]).unwrap();
        assert!((post.returns[0] - 0.10).abs() < 1e-12, "{:?}", post.returns);
        assert!(post.returns[1] > prior[1]);
    }
}
