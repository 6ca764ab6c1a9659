//! Mean-variance optimizers as PyPortfolioOpt's `EfficientFrontier` states them: minimum
//! variance, the efficient portfolio for a target return or a target volatility, maximum
//! Sharpe ratio (Cornuejols and Tütüncü's homogenising transformation) and maximum
//! diversification ratio (maximum Sharpe with the volatilities as returns and no risk-free
//! rate). Every optimizer honours the [`Constraints`].

use nalgebra::{Cholesky, DMatrix, SymmetricEigen};

use super::conic::{Form, Program};
use super::{check_square, invalid, Constraints, Scale};
use crate::SimError;

/// Adds ½wᵀΣw for the weights at indices `0..n`.
fn add_variance(p: &mut Program, cov: &DMatrix<f64>) {
    let n = cov.nrows();
    for j in 0..n {
        for i in 0..=j {
            p.add_p(i, j, cov[(i, j)]);
        }
    }
}

/// The minimum-variance portfolio under the constraints.
pub fn min_variance(cov: &DMatrix<f64>, c: &Constraints) -> Result<Vec<f64>, SimError> {
    let n = check_square(cov)?;
    let mut p = Program::new(n + c.aux_vars(n));
    add_variance(&mut p, cov);
    c.add_to(&mut p, n, &Scale::One)?;
    c.solve(&p, n)
}

/// The highest expected return the constraints allow, and a portfolio that reaches it.
pub fn max_return(mu: &[f64], c: &Constraints) -> Result<(f64, Vec<f64>), SimError> {
    let n = mu.len();
    let mut p = Program::new(n + c.aux_vars(n));
    for (i, &m) in mu.iter().enumerate() {
        p.add_q(i, -m);
    }
    c.add_to(&mut p, n, &Scale::One)?;
    let w = c.solve(&p, n)?;
    Ok((dot(mu, &w), w))
}

/// The minimum-variance portfolio whose expected return is at least `target` (PyPortfolioOpt's
/// `efficient_return`). A target above the highest return the constraints allow is an error
/// naming `target_return`.
pub fn efficient_return(cov: &DMatrix<f64>, mu: &[f64], target: f64, c: &Constraints) -> Result<Vec<f64>, SimError> {
    let n = check_square(cov)?;
    check_len(mu, n)?;
    if !target.is_finite() {
        return Err(invalid("target_return", "must be a finite number"));
    }
    let (best, _) = max_return(mu, c)?;
    if target > best + 1e-12 {
        return Err(invalid(
            "target_return",
            format!("{target} is above the highest expected return the constraints allow ({best:.6})"),
        ));
    }
    let mut p = Program::new(n + c.aux_vars(n));
    add_variance(&mut p, cov);
    p.ge((0..n).map(|i| (i, mu[i])).collect(), target.min(best));
    c.add_to(&mut p, n, &Scale::One)?;
    c.solve(&p, n)
}

/// A factor F with FFᵀ = Σ (Cholesky, or the symmetric square root when Σ is singular).
pub(crate) fn factor(cov: &DMatrix<f64>) -> DMatrix<f64> {
    if let Some(ch) = Cholesky::new(cov.clone()) {
        return ch.l();
    }
    let eig = SymmetricEigen::new(cov.clone());
    let d = eig.eigenvalues.map(|v| v.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&d)
}

/// The highest-return portfolio whose volatility is at most `target` (PyPortfolioOpt's
/// `efficient_risk`). A target below the lowest volatility the constraints allow is an error
/// naming `target_risk`.
pub fn efficient_risk(cov: &DMatrix<f64>, mu: &[f64], target: f64, c: &Constraints) -> Result<Vec<f64>, SimError> {
    let n = check_square(cov)?;
    check_len(mu, n)?;
    if !(target.is_finite() && target > 0.0) {
        return Err(invalid("target_risk", "must be a positive volatility"));
    }
    let floor = min_variance(cov, c).map(|w| quad(cov, &w).max(0.0).sqrt())?;
    if target < floor - 1e-9 {
        return Err(invalid(
            "target_risk",
            format!("{target} is below the lowest volatility the constraints allow ({floor:.6})"),
        ));
    }
    let f = factor(cov);
    let mut p = Program::new(n + c.aux_vars(n));
    for (i, &m) in mu.iter().enumerate() {
        p.add_q(i, -m);
    }
    let tail = (0..f.ncols()).map(|k| ((0..n).map(|i| (i, f[(i, k)])).collect::<Form>(), 0.0)).collect();
    p.soc((vec![], target.max(floor)), tail);
    c.add_to(&mut p, n, &Scale::One)?;
    c.solve(&p, n)
}

/// The maximum-Sharpe-ratio (tangency) portfolio: with y = k·w, minimise yᵀΣy subject to
/// (μ − r_f)ᵀy = 1, 1ᵀy = k ≥ 0 and the constraints scaled by k; then w = y/k.
pub fn max_sharpe(cov: &DMatrix<f64>, mu: &[f64], risk_free_rate: f64, c: &Constraints) -> Result<Vec<f64>, SimError> {
    let n = check_square(cov)?;
    check_len(mu, n)?;
    if !risk_free_rate.is_finite() {
        return Err(invalid("risk_free_rate", "must be a finite number"));
    }
    if mu.iter().all(|&m| m <= risk_free_rate) {
        return Err(invalid("expected_returns", "at least one must exceed risk_free_rate"));
    }
    let k = n + c.aux_vars(n);
    let mut p = Program::new(k + 1);
    add_variance(&mut p, cov);
    p.eq((0..n).map(|i| (i, mu[i] - risk_free_rate)).collect(), 1.0);
    p.ge(vec![(k, 1.0)], 0.0);
    c.add_to(&mut p, n, &Scale::Var(k))?;
    let x = p.solve().map_err(|e| c.explain(e, n, "max_sharpe"))?;
    let scale = x[k];
    if scale.is_nan() || scale <= 0.0 {
        return Err(invalid("expected_returns", "no portfolio under the constraints beats risk_free_rate"));
    }
    Ok(clean(x[..n].iter().map(|y| y / scale).collect()))
}

/// The maximum-diversification portfolio: maximises (wᵀσ)/√(wᵀΣw), σ the volatilities, as a
/// maximum-Sharpe problem with returns σ and no risk-free rate.
pub fn max_diversification(cov: &DMatrix<f64>, c: &Constraints) -> Result<Vec<f64>, SimError> {
    let n = check_square(cov)?;
    let sd: Vec<f64> = (0..n).map(|i| cov[(i, i)].max(0.0).sqrt()).collect();
    max_sharpe(cov, &sd, 0.0, c)
}

/// The diversification ratio (wᵀσ)/√(wᵀΣw).
pub fn diversification_ratio(cov: &DMatrix<f64>, w: &[f64]) -> f64 {
    let sd: f64 = (0..w.len()).map(|i| w[i] * cov[(i, i)].max(0.0).sqrt()).sum();
    sd / quad(cov, w).sqrt()
}

/// wᵀΣw.
pub fn quad(cov: &DMatrix<f64>, w: &[f64]) -> f64 {
    let n = w.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            s += w[i] * cov[(i, j)] * w[j];
        }
    }
    s
}

/// a·b.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn check_len(mu: &[f64], n: usize) -> Result<(), SimError> {
    if mu.len() != n {
        return Err(invalid("expected_returns", format!("has {} values for {n} assets", mu.len())));
    }
    if mu.iter().any(|m| !m.is_finite()) {
        return Err(invalid("expected_returns", "must be finite numbers"));
    }
    Ok(())
}

/// Rounds solver noise: values within 1e-9 of zero become zero.
pub(crate) fn clean(w: Vec<f64>) -> Vec<f64> {
    w.into_iter().map(|v| if v.abs() < 1e-9 { 0.0 } else { v }).collect()
}
