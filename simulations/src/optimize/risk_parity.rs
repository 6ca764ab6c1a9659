//! Risk budgeting (equal risk contribution by default): the long-only portfolio whose assets'
//! shares of variance, wᵢ(Σw)ᵢ / wᵀΣw, equal the budgets bᵢ. Solved as the convex problem
//! min ½xᵀΣx − Σ bᵢ ln xᵢ (Spinu; Riskfolio-Lib's formulation) with the logarithms as
//! exponential cones, then normalised w = x/1ᵀx. Constraints apply to the normalised weights
//! (each is homogeneous in x); with binding constraints the contributions are no longer equal
//! to the budgets but the problem stays convex.

use nalgebra::{DMatrix, DVector};

use super::conic::Program;
use super::mean_variance::clean;
use super::{check_square, invalid, Constraints, Scale};
use crate::SimError;

/// Risk-budgeting weights; `budgets` default to 1/n each and are normalised to sum to 1.
pub fn risk_parity(cov: &DMatrix<f64>, budgets: Option<&[f64]>, c: &Constraints) -> Result<Vec<f64>, SimError> {
    let n = check_square(cov)?;
    let b: Vec<f64> = match budgets {
        None => vec![1.0 / n as f64; n],
        Some(b) => {
            if b.len() != n {
                return Err(invalid("risk_budgets", format!("has {} values for {n} assets", b.len())));
            }
            if b.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(invalid("risk_budgets", "must be positive numbers"));
            }
            let s: f64 = b.iter().sum();
            b.iter().map(|v| v / s).collect()
        }
    };
    if c.lower.iter().any(|&l| l < 0.0) {
        return Err(invalid("bounds", "risk_parity is long-only: lower bounds must be at least 0"));
    }
    let aux = c.aux_vars(n);
    let t0 = n + aux;
    let mut p = Program::new(t0 + n);
    // Scale Σ so that the unconstrained solution has weights of order one.
    let scale = (0..n).map(|i| cov[(i, i)]).sum::<f64>() / n as f64;
    if scale.is_nan() || scale <= 0.0 {
        return Err(invalid("covariance", "must have positive variances"));
    }
    for j in 0..n {
        for i in 0..=j {
            p.add_p(i, j, cov[(i, j)] / scale * n as f64);
        }
    }
    for (i, &bi) in b.iter().enumerate() {
        p.add_q(t0 + i, -bi);
        // exp(tᵢ) ≤ xᵢ
        p.exp_cone((vec![(t0 + i, 1.0)], 0.0), (vec![], 1.0), (vec![(i, 1.0)], 0.0));
    }
    c.add_to(&mut p, n, &Scale::Sum)?;
    let x = p.solve().map_err(|e| c.explain(e, n, "risk_parity"))?;
    let mut x = x[..n].to_vec();
    if c.groups.is_empty() && c.turnover.is_none() {
        // Polish with Newton's method on the smooth problem; keep it if no bound is violated.
        let a = DMatrix::from_fn(n, n, |i, j| cov[(i, j)] / scale * n as f64);
        if let Some(y) = newton(&a, &b, &x) {
            let total: f64 = y.iter().sum();
            if (0..n).all(|i| y[i] / total >= c.lower[i] - 1e-12 && y[i] / total <= c.upper[i] + 1e-12) {
                x = y;
            }
        }
    }
    let total: f64 = x.iter().sum();
    Ok(clean(x.iter().map(|v| v / total).collect()))
}

/// Newton's method with backtracking for min ½xᵀAx − Σ bᵢ ln xᵢ from a positive start.
fn newton(a: &DMatrix<f64>, b: &[f64], start: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let f = |x: &[f64]| -> f64 {
        let ax = a * DVector::from_column_slice(x);
        0.5 * x.iter().zip(ax.iter()).map(|(p, q)| p * q).sum::<f64>() - (0..n).map(|i| b[i] * x[i].ln()).sum::<f64>()
    };
    let mut x: Vec<f64> = start.iter().map(|v| v.max(1e-12)).collect();
    for _ in 0..100 {
        let xv = DVector::from_column_slice(&x);
        let g = a * &xv - DVector::from_fn(n, |i, _| b[i] / x[i]);
        if g.amax() < 1e-15 {
            break;
        }
        let h = a + DMatrix::from_diagonal(&DVector::from_fn(n, |i, _| b[i] / (x[i] * x[i])));
        let d = h.cholesky()?.solve(&(-&g));
        let dec = -g.dot(&d);
        if dec < 1e-30 {
            break;
        }
        let f0 = f(&x);
        let mut t = 1.0;
        loop {
            let y: Vec<f64> = (0..n).map(|i| x[i] + t * d[i]).collect();
            if y.iter().all(|&v| v > 0.0) && f(&y) <= f0 - 0.25 * t * dec {
                x = y;
                break;
            }
            t *= 0.5;
            if t < 1e-12 {
                return Some(x);
            }
        }
    }
    Some(x)
}

/// Each asset's share of the portfolio variance, wᵢ(Σw)ᵢ / wᵀΣw (they sum to 1; all 0 when
/// the portfolio has no variance).
pub fn risk_contributions(cov: &DMatrix<f64>, w: &[f64]) -> Vec<f64> {
    let n = w.len();
    let sw: Vec<f64> = (0..n).map(|i| (0..n).map(|j| cov[(i, j)] * w[j]).sum()).collect();
    let var: f64 = (0..n).map(|i| w[i] * sw[i]).sum();
    if var <= 0.0 || var.is_nan() {
        // A riskless portfolio: no asset contributes any variance.
        return vec![0.0; n];
    }
    (0..n).map(|i| w[i] * sw[i] / var).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_contributions_without_constraints() {
        let cov = DMatrix::from_row_slice(3, 3, &[0.04, 0.006, 0.002, 0.006, 0.09, 0.009, 0.002, 0.009, 0.01]);
        let w = risk_parity(&cov, None, &Constraints::long_only(3)).unwrap();
        let rc = risk_contributions(&cov, &w);
        for r in rc {
            assert!((r - 1.0 / 3.0).abs() < 1e-12, "{r}");
        }
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn budgets_are_met() {
        let cov = DMatrix::from_row_slice(2, 2, &[0.04, 0.01, 0.01, 0.09]);
        let w = risk_parity(&cov, Some(&[3.0, 1.0]), &Constraints::long_only(2)).unwrap();
        let rc = risk_contributions(&cov, &w);
        assert!((rc[0] - 0.75).abs() < 1e-12, "{rc:?}");
    }
}
