//! Correlation matrices: checking one, repairing one that is not positive definite to the
//! nearest correlation matrix (Higham 2002, alternating projections with Dykstra's
//! correction), and its Cholesky factor for drawing correlated shocks.

use nalgebra::{DMatrix, SymmetricEigen};

use crate::SimError;

/// Smallest eigenvalue kept when repairing, so the result has a Cholesky factor.
const FLOOR: f64 = 1e-10;

/// Checks that `rows` is a correlation matrix (square, symmetric, unit diagonal, entries in
/// [-1, 1]); `field` names it in errors.
pub fn check(rows: &[Vec<f64>], n: usize, field: &str) -> Result<DMatrix<f64>, SimError> {
    let bad = |problem: String| SimError::Invalid { field: field.to_owned(), problem };
    if rows.len() != n || rows.iter().any(|r| r.len() != n) {
        return Err(bad(format!("must be {n} rows of {n} numbers (one per asset)")));
    }
    let m = DMatrix::from_fn(n, n, |i, j| rows[i][j]);
    for i in 0..n {
        if (m[(i, i)] - 1.0).abs() > 1e-9 {
            return Err(bad(format!("diagonal entry {} is {}, not 1: not a correlation matrix", i + 1, m[(i, i)])));
        }
        for j in 0..n {
            let v = m[(i, j)];
            if !v.is_finite() || !(-1.0..=1.0).contains(&v) {
                return Err(bad(format!("entry ({}, {}) is {v}, outside [-1, 1]", i + 1, j + 1)));
            }
            if (v - m[(j, i)]).abs() > 1e-9 {
                return Err(bad(format!(
                    "entry ({}, {}) differs from ({}, {}): not symmetric",
                    i + 1,
                    j + 1,
                    j + 1,
                    i + 1
                )));
            }
        }
    }
    Ok(m)
}

/// The lower Cholesky factor of `m`, repairing `m` first when it is not positive definite.
/// Returns the factor and, after a repair, the largest change made to an entry.
pub fn factor(m: &DMatrix<f64>) -> (DMatrix<f64>, Option<f64>) {
    if let Some(c) = m.clone().cholesky() {
        return (c.l(), None);
    }
    let repaired = nearest(m);
    let change = (&repaired - m).abs().max();
    let l = repaired.clone().cholesky().expect("the repaired matrix is positive definite").l();
    (l, Some(change))
}

/// The nearest correlation matrix to `a` in the Frobenius norm (Higham 2002), with its
/// eigenvalues kept at or above a small floor so that it is positive definite.
pub fn nearest(a: &DMatrix<f64>) -> DMatrix<f64> {
    let n = a.nrows();
    let mut y = a.clone();
    let mut correction = DMatrix::<f64>::zeros(n, n);
    for _ in 0..1000 {
        let r = &y - &correction;
        let x = psd(&r, 0.0);
        correction = &x - &r;
        let mut next = x.clone();
        for i in 0..n {
            next[(i, i)] = 1.0;
        }
        let moved = (&next - &y).norm();
        y = next;
        if moved < 1e-12 * (1.0 + y.norm()) {
            break;
        }
    }
    // Lift the smallest eigenvalues to the floor and put the unit diagonal back.
    let lifted = psd(&y, FLOOR);
    let d: Vec<f64> = (0..n).map(|i| lifted[(i, i)].sqrt()).collect();
    DMatrix::from_fn(n, n, |i, j| if i == j { 1.0 } else { lifted[(i, j)] / (d[i] * d[j]) })
}

/// Projection onto the symmetric matrices with eigenvalues of at least `floor`.
fn psd(m: &DMatrix<f64>, floor: f64) -> DMatrix<f64> {
    let sym = (m + m.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let values = eig.eigenvalues.map(|v| v.max(floor));
    &eig.eigenvectors * DMatrix::from_diagonal(&values) * eig.eigenvectors.transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(m: &[[f64; 3]; 3]) -> Vec<Vec<f64>> {
        m.iter().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn a_positive_definite_matrix_is_factored_unchanged() {
        let m = check(&rows(&[[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]]), 3, "c").unwrap();
        let (l, repaired) = factor(&m);
        assert!(repaired.is_none());
        assert!((&l * l.transpose() - &m).norm() < 1e-12);
    }

    /// Higham's (2002) example: this matrix is not positive semidefinite; its nearest
    /// correlation matrix has off-diagonal entries 0.7607 and 0.1573 (paper, section 5).
    #[test]
    fn an_indefinite_matrix_is_repaired_to_highams_nearest_correlation_matrix() {
        let m = check(&rows(&[[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]), 3, "c").unwrap();
        let (l, repaired) = factor(&m);
        assert!(repaired.is_some());
        let r = &l * l.transpose();
        assert!((r[(0, 1)] - 0.7607).abs() < 1e-4, "{r}");
        assert!((r[(0, 2)] - 0.1573).abs() < 1e-4, "{r}");
        assert!((r[(1, 2)] - 0.7607).abs() < 1e-4, "{r}");
        for i in 0..3 {
            assert!((r[(i, i)] - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn what_is_not_a_correlation_matrix_is_refused_with_the_field() {
        let err = check(&rows(&[[1.0, 0.5, 0.2], [0.4, 1.0, 0.3], [0.2, 0.3, 1.0]]), 3, "model.correlation");
        assert_eq!(err.unwrap_err().to_string(), "model.correlation: entry (1, 2) differs from (2, 1): not symmetric");
        assert!(check(&rows(&[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), 3, "c").is_err());
        assert!(check(&[vec![1.0]], 3, "c").is_err());
    }
}
