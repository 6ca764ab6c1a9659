//! Portfolio construction: covariance and expected-return estimators, mean-variance optimizers
//! (minimum variance, efficient return, efficient risk, maximum Sharpe, maximum
//! diversification), risk parity, hierarchical risk parity, Black-Litterman and minimum CVaR,
//! under long-only or bounded weights, group (sector) bounds and a turnover limit. The conic
//! and quadratic programs are solved by Clarabel; results agree with PyPortfolioOpt and
//! Riskfolio-Lib (see `simulations/reference/portfolio.py`).
//!
//! - [`covariance`]: sample, Ledoit-Wolf and EWMA covariance; mean historical return.
//! - [`mean_variance`], [`risk_parity`], [`hrp`], [`black_litterman`], [`cvar`]: the methods.
//! - [`Constraints`]: what every optimizer honours: weights sum to 1, per-asset bounds, group
//!   bounds and Σ|w − w_current| ≤ τ.
//! - [`Request`] / [`optimize`]: one JSON request of `cairn quant optimize` and its answer.

pub mod black_litterman;
pub(crate) mod conic;
pub mod covariance;
pub mod cvar;
pub mod hrp;
pub mod mean_variance;
mod request;
pub mod risk_parity;

use nalgebra::DMatrix;

pub use request::{
    optimize, Bounds, CovarianceEstimator, GroupRequest, Method, Request, Response, ViewRequest, Weights,
};

use conic::{Failure, Form, Program};

use crate::{invalid, SimError};

/// Checks that a covariance matrix is square, finite and symmetric; returns its size.
pub(crate) fn check_square(cov: &DMatrix<f64>) -> Result<usize, SimError> {
    let (r, c) = cov.shape();
    if r != c || r == 0 {
        return Err(invalid("covariance", format!("must be a non-empty square matrix, got {r}×{c}")));
    }
    if cov.iter().any(|v| !v.is_finite()) {
        return Err(invalid("covariance", "must contain finite numbers"));
    }
    for i in 0..r {
        for j in 0..i {
            let scale = cov[(i, i)].abs().max(cov[(j, j)].abs()).max(1e-300);
            if (cov[(i, j)] - cov[(j, i)]).abs() > 1e-9 * scale {
                return Err(invalid("covariance", "must be symmetric"));
            }
        }
    }
    Ok(r)
}

/// Bounds on the total weight of a group of assets (a sector).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Indices of the member assets.
    pub members: Vec<usize>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A limit on Σ|wᵢ − currentᵢ|.
#[derive(Debug, Clone, PartialEq)]
pub struct Turnover {
    pub current: Vec<f64>,
    pub max: f64,
}

/// The constraints every optimizer honours besides full investment (Σw = 1): per-asset bounds
/// (±∞ for none), group bounds and a turnover limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraints {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub groups: Vec<Group>,
    pub turnover: Option<Turnover>,
}

/// How the constants of the constraints scale: not at all (weights sum to 1), with a variable
/// (the maximum-Sharpe transformation, y = k·w), or with the sum of the weights (risk parity,
/// normalised afterwards).
pub(crate) enum Scale {
    One,
    Var(usize),
    Sum,
}

impl Constraints {
    /// Long-only weights in [0, 1] for `n` assets, nothing else.
    pub fn long_only(n: usize) -> Self {
        Self { lower: vec![0.0; n], upper: vec![1.0; n], groups: Vec::new(), turnover: None }
    }

    /// Checks sizes and values against `n` assets.
    pub fn validate(&self, n: usize) -> Result<(), SimError> {
        if self.lower.len() != n || self.upper.len() != n {
            return Err(invalid("bounds", format!("need one pair per asset ({n})")));
        }
        for i in 0..n {
            let (l, u) = (self.lower[i], self.upper[i]);
            if l.is_nan() || u.is_nan() || l > u || l == f64::INFINITY || u == f64::NEG_INFINITY {
                return Err(invalid("bounds", format!("asset {}: lower bound {l} above upper bound {u}", i + 1)));
            }
        }
        for (g, group) in self.groups.iter().enumerate() {
            if group.members.is_empty() || group.members.iter().any(|&i| i >= n) {
                return Err(invalid("groups", format!("group {} needs assets from the list", g + 1)));
            }
            let bad = |v: Option<f64>| v.is_some_and(|x| !x.is_finite());
            if bad(group.min) || bad(group.max) {
                return Err(invalid("groups", format!("group {}: min and max must be finite numbers", g + 1)));
            }
            if let (Some(lo), Some(hi)) = (group.min, group.max) {
                if lo > hi {
                    return Err(invalid("groups", format!("group {}: min {lo} above max {hi}", g + 1)));
                }
            }
        }
        if let Some(t) = &self.turnover {
            if t.current.len() != n || t.current.iter().any(|v| !v.is_finite()) {
                return Err(invalid("current_weights", format!("need one finite weight per asset ({n})")));
            }
            if !(t.max.is_finite() && t.max >= 0.0) {
                return Err(invalid("max_turnover", "must be a number at least 0"));
            }
        }
        Ok(())
    }

    /// Auxiliary variables the constraints need after the `n` weights.
    pub(crate) fn aux_vars(&self, n: usize) -> usize {
        if self.turnover.is_some() {
            n
        } else {
            0
        }
    }

    /// Adds `a·x ≤ b·scale`.
    fn le(p: &mut Program, scale: &Scale, n: usize, mut a: Form, b: f64) {
        match scale {
            Scale::One => p.le(a, b),
            Scale::Var(k) => {
                a.push((*k, -b));
                p.le(a, 0.0);
            }
            Scale::Sum => {
                a.extend((0..n).map(|i| (i, -b)));
                p.le(a, 0.0);
            }
        }
    }

    /// Adds the budget, bounds, groups and turnover for weights at indices `0..n` (turnover's
    /// auxiliary variables at `n..2n`).
    pub(crate) fn add_to(&self, p: &mut Program, n: usize, scale: &Scale) -> Result<(), SimError> {
        self.validate(n)?;
        match scale {
            Scale::One => p.eq((0..n).map(|i| (i, 1.0)).collect(), 1.0),
            Scale::Var(k) => {
                let mut a: Form = (0..n).map(|i| (i, 1.0)).collect();
                a.push((*k, -1.0));
                p.eq(a, 0.0);
            }
            Scale::Sum => {}
        }
        for i in 0..n {
            if self.lower[i].is_finite() {
                Self::le(p, scale, n, vec![(i, -1.0)], -self.lower[i]);
            }
            if self.upper[i].is_finite() {
                Self::le(p, scale, n, vec![(i, 1.0)], self.upper[i]);
            }
        }
        for g in &self.groups {
            if let Some(hi) = g.max {
                Self::le(p, scale, n, g.members.iter().map(|&i| (i, 1.0)).collect(), hi);
            }
            if let Some(lo) = g.min {
                Self::le(p, scale, n, g.members.iter().map(|&i| (i, -1.0)).collect(), -lo);
            }
        }
        if let Some(t) = &self.turnover {
            debug_assert!(p.nvar() >= 2 * n);
            for i in 0..n {
                // wᵢ − c·s ≤ tᵢ and c·s − wᵢ ≤ tᵢ
                Self::le(p, scale, n, vec![(i, 1.0), (n + i, -1.0)], t.current[i]);
                Self::le(p, scale, n, vec![(i, -1.0), (n + i, -1.0)], -t.current[i]);
            }
            Self::le(p, scale, n, (0..n).map(|i| (n + i, 1.0)).collect(), t.max);
        }
        Ok(())
    }

    /// Solves and returns the weights, with solver failures explained.
    pub(crate) fn solve(&self, p: &Program, n: usize) -> Result<Vec<f64>, SimError> {
        let x = p.solve().map_err(|e| self.explain(e, n, "method"))?;
        Ok(mean_variance::clean(x[..n].to_vec()))
    }

    /// Names the field responsible for a failed solve: bounds that cannot sum to one, groups
    /// infeasible with the bounds, a turnover limit infeasible with both, else the method.
    pub(crate) fn explain(&self, failure: Failure, n: usize, method: &str) -> SimError {
        match failure {
            Failure::Unbounded => invalid("bounds", "the problem is unbounded: give finite bounds"),
            Failure::Numerical => invalid("method", format!("{method}: the solver did not converge")),
            Failure::Infeasible => {
                let lo: f64 = self.lower.iter().sum();
                let hi: f64 = self.upper.iter().sum();
                if lo > 1.0 + 1e-12 || hi < 1.0 - 1e-12 {
                    return invalid("bounds", "infeasible: the weights cannot sum to 1 within them");
                }
                let feasible = |c: &Constraints| {
                    let mut p = Program::new(n + c.aux_vars(n));
                    c.add_to(&mut p, n, &Scale::One).is_ok() && p.solve().is_ok()
                };
                let without_turnover = Constraints { turnover: None, ..self.clone() };
                if !self.groups.is_empty() && !feasible(&without_turnover) {
                    return invalid("groups", "infeasible with bounds");
                }
                if self.turnover.is_some() && !feasible(self) {
                    return invalid("max_turnover", "infeasible with bounds and groups");
                }
                invalid("method", format!("{method}: no portfolio satisfies the constraints"))
            }
        }
    }
}
