//! Risk budgeting by factor, and volatility targeting.
//!
//! - Factor model: asset returns load on factors (equity, rates, credit, inflation, …) with
//!   exposures B (assets × factors), factor covariance F and specific volatilities d, so the
//!   asset covariance is Σ = B·F·Bᵀ + diag(d²). A portfolio w has factor exposures x = Bᵀw;
//!   factor k's share of the variance is xₖ(F·x)ₖ / wᵀΣw, the specific share Σ wᵢ²dᵢ² / wᵀΣw,
//!   and asset i's wᵢ(Σw)ᵢ / wᵀΣw (Roncalli, "Introduction to Risk Parity and Budgeting",
//!   2013, ch. 2 and §3.3 "risk factor budgeting").
//! - Budgets by factor: the factor exposures whose shares of the systematic variance equal
//!   the budgets are the risk-budgeting portfolio of F (the crate's convex risk-parity
//!   problem, solved with Clarabel); the weights are then the smallest (least-squares) ones
//!   with those exposures up to a scale that sum to 1 (Roncalli's minimum-norm choice when
//!   there are more assets than factors), at a positive scale; long-only when asked. Where no
//!   weights reach the budgets the request is refused naming `budgets`.
//!   By asset, the same problem on Σ (`quant optimize`'s `risk_parity` with budgets).
//! - Volatility targeting: each period's leverage is the target over the forecast volatility
//!   (an exponentially weighted moving average of squared returns, RiskMetrics' λ = 0.94 by
//!   default, seeded with the first `warmup` periods' sample variance), at most `leverage_cap`,
//!   decided on the returns before the period (no look-ahead). The scaled returns' realised
//!   volatility is reported beside the unscaled.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use crate::optimize::conic::Program;
use crate::optimize::risk_parity::{risk_contributions, risk_parity};
use crate::optimize::Constraints;
use crate::{invalid, SimError};

/// A factor model and a portfolio or factor budgets.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorRequest {
    pub assets: Vec<String>,
    pub factors: Vec<String>,
    /// Exposures: one row per asset, one value per factor.
    pub exposures: Vec<Vec<f64>>,
    /// Factor covariance (annual), factors × factors.
    pub factor_covariance: Vec<Vec<f64>>,
    /// Each asset's specific (idiosyncratic) annual volatility (0).
    #[serde(default)]
    pub specific_volatility: Vec<f64>,
    /// Weights to decompose (one per asset); else `budgets` to solve for.
    #[serde(default)]
    pub weights: Vec<f64>,
    /// Each factor's share of the systematic variance to aim for (positive; normalised).
    #[serde(default)]
    pub budgets: Vec<f64>,
    /// Weights at or above 0 (false: any sign, summing to 1).
    #[serde(default)]
    pub long_only: bool,
}

/// A portfolio's risk by factor and by asset.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FactorResult {
    pub weights: Vec<f64>,
    pub volatility: f64,
    /// The portfolio's exposure to each factor (Bᵀw).
    pub exposures: Vec<f64>,
    /// Each factor's share of the variance, then the specific share (all sum to 1).
    pub factor_contributions: Vec<f64>,
    pub specific_contribution: f64,
    /// Each asset's share of the variance.
    pub asset_contributions: Vec<f64>,
}

fn matrix(field: &str, rows: &[Vec<f64>], m: usize, n: usize) -> Result<DMatrix<f64>, SimError> {
    if rows.len() != m || rows.iter().any(|r| r.len() != n) {
        return Err(invalid(field, format!("must be {m} rows of {n} values")));
    }
    if rows.iter().flatten().any(|v| v.abs() > 1e6) {
        return Err(invalid(field, "values must be finite and at most 1e6 in size"));
    }
    Ok(DMatrix::from_fn(m, n, |i, j| rows[i][j]))
}

/// Decomposes a portfolio's risk, or finds the weights meeting factor budgets.
pub fn factors(req: &FactorRequest) -> Result<FactorResult, SimError> {
    let (n, k) = (req.assets.len(), req.factors.len());
    if !(1..=500).contains(&n) {
        return Err(invalid("assets", format!("{n} assets; 1 to 500")));
    }
    if !(1..=50).contains(&k) {
        return Err(invalid("factors", format!("{k} factors; 1 to 50")));
    }
    let b = matrix("exposures", &req.exposures, n, k)?;
    let f = matrix("factor_covariance", &req.factor_covariance, k, k)?;
    if (0..k).any(|i| (0..k).any(|j| (f[(i, j)] - f[(j, i)]).abs() > 1e-12)) || (0..k).any(|i| f[(i, i)] < 0.0) {
        return Err(invalid("factor_covariance", "must be symmetric with variances at or above 0"));
    }
    let scale = (0..k).map(|i| f[(i, i)]).fold(0.0, f64::max).max(1e-300);
    if f.clone().symmetric_eigenvalues().iter().any(|e| *e < -1e-10 * scale) {
        return Err(invalid(
            "factor_covariance",
            "is not positive semi-definite (a portfolio would have negative variance)",
        ));
    }
    let d: Vec<f64> = if req.specific_volatility.is_empty() { vec![0.0; n] } else { req.specific_volatility.clone() };
    if d.len() != n || d.iter().any(|v| !(0.0..=10.0).contains(v)) {
        return Err(invalid("specific_volatility", format!("must be {n} volatilities from 0 to 10")));
    }
    let mut sigma = &b * &f * b.transpose();
    for i in 0..n {
        sigma[(i, i)] += d[i] * d[i];
    }
    let weights = match (req.weights.is_empty(), req.budgets.is_empty()) {
        (false, true) => {
            if req.weights.len() != n || req.weights.iter().any(|w| w.abs() > 1e3) {
                return Err(invalid("weights", format!("must be {n} weights, each at most 1,000 in size")));
            }
            req.weights.clone()
        }
        (true, false) => budgeted(req, &b, &f)?,
        _ => return Err(invalid("weights", "give weights to decompose or factor budgets, one of them")),
    };
    let w = nalgebra::DVector::from_vec(weights.clone());
    let x = b.transpose() * &w;
    let fx = &f * &x;
    let variance = (w.transpose() * &sigma * &w)[(0, 0)];
    let share = |v: f64| if variance > 0.0 { v / variance } else { 0.0 };
    Ok(FactorResult {
        volatility: variance.max(0.0).sqrt(),
        exposures: x.iter().copied().collect(),
        factor_contributions: (0..k).map(|j| share(x[j] * fx[j])).collect(),
        specific_contribution: share((0..n).map(|i| weights[i] * weights[i] * d[i] * d[i]).sum()),
        asset_contributions: risk_contributions(&sigma, &weights),
        weights,
    })
}

/// The weights whose factor exposures meet the budgets (see the module doc).
fn budgeted(req: &FactorRequest, b: &DMatrix<f64>, f: &DMatrix<f64>) -> Result<Vec<f64>, SimError> {
    let (n, k) = (b.nrows(), b.ncols());
    if req.budgets.len() != k {
        return Err(invalid("budgets", format!("must be {k} budgets, one per factor")));
    }
    let y = risk_parity(f, Some(&req.budgets), &Constraints::long_only(k)).map_err(|e| match e {
        SimError::Invalid { field, problem } => {
            invalid(if field.contains("covariance") { "factor_covariance" } else { "budgets" }, problem)
        }
    })?;
    // min ½‖w‖² s.t. Bᵀw − s·y = 0, Σw = 1 (variables w₁…wₙ, s).
    let mut qp = Program::new(n + 1);
    // The exposures' scale is positive: a zero scale would meet the equalities with no factor
    // risk at all.
    qp.ge(vec![(n, 1.0)], 1e-6);
    for i in 0..n {
        qp.add_p(i, i, 1.0);
        if req.long_only {
            qp.ge(vec![(i, 1.0)], 0.0);
        }
    }
    for (j, yj) in y.iter().enumerate() {
        let mut row: Vec<(usize, f64)> = (0..n).map(|i| (i, b[(i, j)])).collect();
        row.push((n, -yj));
        qp.eq(row, 0.0);
    }
    qp.eq((0..n).map(|i| (i, 1.0)).collect(), 1.0);
    let solution = qp.solve().map_err(|_| {
        invalid("budgets", "no weights summing to 1 reach these factor budgets (try without long_only)")
    })?;
    let w = solution[..n].to_vec();
    // The budgets are shares of the systematic variance: check the solution meets them.
    let x = b.transpose() * nalgebra::DVector::from_vec(w.clone());
    let fx = f * &x;
    let systematic: f64 = (0..k).map(|j| x[j] * fx[j]).sum();
    let total: f64 = req.budgets.iter().sum();
    for (j, budget) in req.budgets.iter().enumerate() {
        if systematic <= 0.0 || (x[j] * fx[j] / systematic - budget / total).abs() > 1e-4 {
            return Err(invalid("budgets", "no weights summing to 1 reach these factor budgets with these exposures"));
        }
    }
    Ok(w)
}

/// A return series to scale to a volatility.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolTargetRequest {
    /// Simple returns per period, oldest first (at least `warmup` + 1).
    pub returns: Vec<f64>,
    /// The annual volatility to aim for (0.10).
    pub target: f64,
    /// The most leverage allowed (1.5; at least 0).
    pub leverage_cap: Option<f64>,
    /// Periods a year (252).
    pub periods_per_year: Option<f64>,
    /// The EWMA's decay λ (0.94) and the periods that seed it (20).
    pub decay: Option<f64>,
    pub warmup: Option<u32>,
}

/// The scaled series.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct VolTargetResult {
    /// The leverage of each period after the warm-up.
    pub leverage: Vec<f64>,
    pub scaled_returns: Vec<f64>,
    /// Annualised realised volatility of the same periods, unscaled and scaled.
    pub realised_volatility: f64,
    pub scaled_volatility: f64,
    pub mean_leverage: f64,
    /// Periods at the cap.
    pub capped_periods: u32,
}

/// Volatility targeting with a leverage cap.
pub fn vol_target(req: &VolTargetRequest) -> Result<VolTargetResult, SimError> {
    let cap = req.leverage_cap.unwrap_or(1.5);
    let per_year = req.periods_per_year.unwrap_or(252.0);
    let decay = req.decay.unwrap_or(0.94);
    let warmup = req.warmup.unwrap_or(20) as usize;
    for (field, v, lo, hi) in [
        ("target", req.target, 0.0, 5.0),
        ("leverage_cap", cap, 0.0, 100.0),
        ("periods_per_year", per_year, 1.0, 100_000.0),
        ("decay", decay, 0.0, 1.0),
    ] {
        if !(lo..=hi).contains(&v) {
            return Err(invalid(field, format!("{v} is not {lo} to {hi}")));
        }
    }
    if warmup < 2 || req.returns.len() <= warmup || req.returns.len() > 1_000_000 {
        return Err(invalid(
            "returns",
            format!("need more than warmup ({warmup}, at least 2) returns, at most 1,000,000"),
        ));
    }
    if let Some(i) = req.returns.iter().position(|r| !(-1.0..=10.0).contains(r)) {
        return Err(invalid(
            format!("returns[{i}]"),
            format!("{} is not a simple return from -1 to 10", req.returns[i]),
        ));
    }
    let seed = &req.returns[..warmup];
    let mean = seed.iter().sum::<f64>() / warmup as f64;
    let mut variance = seed.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (warmup as f64 - 1.0);
    let (mut leverage, mut scaled) = (Vec::new(), Vec::new());
    let mut capped = 0;
    for r in &req.returns[warmup..] {
        let forecast = (variance * per_year).sqrt();
        let l = if forecast > 0.0 { (req.target / forecast).min(cap) } else { cap };
        if l >= cap {
            capped += 1;
        }
        leverage.push(l);
        scaled.push(l * r);
        variance = decay * variance + (1.0 - decay) * r * r;
    }
    let vol = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let n = (v.len() as f64 - 1.0).max(1.0);
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n * per_year).sqrt()
    };
    Ok(VolTargetResult {
        realised_volatility: vol(&req.returns[warmup..]),
        scaled_volatility: vol(&scaled),
        mean_leverage: leverage.iter().sum::<f64>() / leverage.len() as f64,
        capped_periods: capped,
        leverage,
        scaled_returns: scaled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> FactorRequest {
        FactorRequest {
            assets: vec!["stocks".into(), "bonds".into(), "credit".into()],
            factors: vec!["equity".into(), "rates".into()],
            exposures: vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.4, 0.6]],
            factor_covariance: vec![vec![0.0256, 0.0], vec![0.0, 0.0036]],
            specific_volatility: vec![0.0, 0.0, 0.02],
            weights: vec![0.6, 0.4, 0.0],
            budgets: Vec::new(),
            long_only: false,
        }
    }

    #[test]
    fn a_sixty_forty_portfolio_takes_almost_all_its_risk_from_equity() {
        let r = factors(&model()).unwrap();
        // Variance 0.36·0.0256 + 0.16·0.0036 = 0.009792; equity 0.009216 of it.
        assert!((r.volatility - 0.009792_f64.sqrt()).abs() < 1e-12);
        assert!((r.factor_contributions[0] - 0.009216 / 0.009792).abs() < 1e-12);
        let total: f64 = r.factor_contributions.iter().sum::<f64>() + r.specific_contribution;
        assert!((total - 1.0).abs() < 1e-12);
        assert!((r.asset_contributions.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn factor_budgets_are_met() {
        let mut req = model();
        req.weights.clear();
        req.budgets = vec![0.5, 0.5];
        req.specific_volatility = vec![0.0; 3];
        let r = factors(&req).unwrap();
        assert!((r.factor_contributions[0] - 0.5).abs() < 1e-6, "{r:?}");
        assert!((r.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // Equal risk from equity (16% vol) and rates (6%): exposures in the ratio 6:16.
        assert!((r.exposures[0] / r.exposures[1] - 0.06 / 0.16).abs() < 1e-5, "{r:?}");
    }

    #[test]
    fn unreachable_budgets_and_indefinite_covariances_are_refused() {
        // No asset loads on rates: half the risk from rates cannot be had.
        let mut req = model();
        req.exposures = vec![vec![1.0, 0.0], vec![0.8, 0.0], vec![0.5, 0.0]];
        req.weights.clear();
        req.budgets = vec![0.5, 0.5];
        assert!(factors(&req).unwrap_err().to_string().starts_with("budgets"));
        let mut bad = model();
        bad.factor_covariance = vec![vec![0.01, -0.05], vec![-0.05, 0.01]];
        assert!(factors(&bad).unwrap_err().to_string().starts_with("factor_covariance"));
    }

    #[test]
    fn volatility_targeting_scales_a_series_to_its_target() {
        // Alternating ±2%: a daily volatility of 2% (31.7% a year).
        let returns: Vec<f64> = (0..520).map(|i| if i % 2 == 0 { 0.02 } else { -0.02 }).collect();
        let req = VolTargetRequest {
            returns,
            target: 0.10,
            leverage_cap: None,
            periods_per_year: None,
            decay: None,
            warmup: None,
        };
        let r = vol_target(&req).unwrap();
        assert!((r.scaled_volatility - 0.10).abs() < 0.005, "{}", r.scaled_volatility);
        assert_eq!(r.capped_periods, 0);
        // A calm series is held at the cap.
        let calm = VolTargetRequest { returns: vec![0.0001; 100], target: 0.10, leverage_cap: Some(2.0), ..req };
        assert_eq!(vol_target(&calm).unwrap().leverage[0], 2.0);
    }
}
