//! Minimum conditional value at risk over scenarios (Rockafellar and Uryasev): the linear
//! program min α + 1/(T(1−β)) Σ uₜ subject to uₜ ≥ 0, uₜ ≥ −rₜᵀw − α and the constraints, as
//! PyPortfolioOpt's `EfficientCVaR.min_cvar`. Losses are positive; α at the optimum is a
//! value at risk at confidence β.

use nalgebra::DMatrix;

use super::conic::Program;
use super::mean_variance::clean;
use super::{invalid, Constraints, Scale};
use crate::SimError;

/// A minimum-CVaR portfolio with its CVaR and VaR (per scenario period, losses positive).
#[derive(Debug, Clone, PartialEq)]
pub struct MinCvar {
    pub weights: Vec<f64>,
    pub cvar: f64,
    pub var: f64,
}

/// Minimises the CVaR at confidence `beta` of the scenario returns (one row per scenario).
pub fn min_cvar(scenarios: &DMatrix<f64>, beta: f64, c: &Constraints) -> Result<MinCvar, SimError> {
    let (t, n) = scenarios.shape();
    if t == 0 {
        return Err(invalid("returns", "needs at least one scenario"));
    }
    if !(beta > 0.0 && beta < 1.0) {
        return Err(invalid("beta", "must be strictly between 0 and 1"));
    }
    let alpha = n + c.aux_vars(n);
    let u0 = alpha + 1;
    let mut p = Program::new(u0 + t);
    p.add_q(alpha, 1.0);
    let k = 1.0 / (t as f64 * (1.0 - beta));
    for s in 0..t {
        p.add_q(u0 + s, k);
        p.ge(vec![(u0 + s, 1.0)], 0.0);
        let mut row: Vec<(usize, f64)> = (0..n).map(|i| (i, scenarios[(s, i)])).collect();
        row.push((alpha, 1.0));
        row.push((u0 + s, 1.0));
        p.ge(row, 0.0);
    }
    c.add_to(&mut p, n, &Scale::One)?;
    let x = p.solve().map_err(|e| c.explain(e, n, "min_cvar"))?;
    let weights = clean(x[..n].to_vec());
    Ok(MinCvar { cvar: cvar_of(scenarios, &weights, beta), var: x[alpha], weights })
}

/// The CVaR of a portfolio's scenario losses at confidence `beta`: min over α of
/// α + E[(loss − α)⁺]/(1 − β), attained at a scenario loss.
pub fn cvar_of(scenarios: &DMatrix<f64>, w: &[f64], beta: f64) -> f64 {
    let t = scenarios.nrows();
    let losses: Vec<f64> = (0..t).map(|s| -(0..w.len()).map(|i| scenarios[(s, i)] * w[i]).sum::<f64>()).collect();
    let k = 1.0 / (t as f64 * (1.0 - beta));
    losses.iter().map(|&a| a + k * losses.iter().map(|&l| (l - a).max(0.0)).sum::<f64>()).fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvar_of_equal_losses_is_the_average_tail() {
        // 20 scenarios of a single asset: returns −0.19, −0.18, …, 0.0; at β = 0.9 the tail is the
        // worst two: CVaR = (0.19 + 0.18)/2.
        let s = DMatrix::from_fn(20, 1, |i, _| -(i as f64) / 100.0);
        assert!((cvar_of(&s, &[1.0], 0.9) - 0.185).abs() < 1e-12);
        let m = min_cvar(&s, 0.9, &Constraints::long_only(1)).unwrap();
        assert!((m.cvar - 0.185).abs() < 1e-8 && (m.weights[0] - 1.0).abs() < 1e-9);
    }
}
