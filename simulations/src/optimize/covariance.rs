//! Estimators of annualised expected returns and covariance from per-period returns, as
//! PyPortfolioOpt computes them: simple returns from prices, the sample covariance, Ledoit-Wolf
//! shrinkage towards a constant variance (scikit-learn's formula), the exponentially weighted
//! covariance, and the compounded mean historical return.
//!
//! Returns are a matrix with one row per period and one column per asset. `frequency` is the
//! number of periods in a year (252 for daily data); results are annual.

use nalgebra::{Cholesky, DMatrix, SymmetricEigen};

/// Simple per-period returns `p[t]/p[t−1] − 1` from prices (one row per period).
pub fn returns_from_prices(prices: &DMatrix<f64>) -> DMatrix<f64> {
    let (t, n) = prices.shape();
    DMatrix::from_fn(t.saturating_sub(1), n, |i, j| prices[(i + 1, j)] / prices[(i, j)] - 1.0)
}

/// Column means.
fn means(returns: &DMatrix<f64>) -> Vec<f64> {
    let t = returns.nrows() as f64;
    (0..returns.ncols()).map(|j| returns.column(j).sum() / t).collect()
}

/// Centred returns (each column minus its mean).
fn centred(returns: &DMatrix<f64>) -> DMatrix<f64> {
    let m = means(returns);
    DMatrix::from_fn(returns.nrows(), returns.ncols(), |i, j| returns[(i, j)] - m[j])
}

/// The per-period sample covariance (divisor T − 1).
pub fn sample_cov_raw(returns: &DMatrix<f64>) -> DMatrix<f64> {
    let x = centred(returns);
    let denom = (returns.nrows() as f64 - 1.0).max(1.0);
    symmetrise(x.transpose() * &x / denom)
}

/// Annualised sample covariance: the sample covariance times `frequency`, repaired to be
/// positive semidefinite if it is not (PyPortfolioOpt's `sample_cov`).
pub fn sample_cov(returns: &DMatrix<f64>, frequency: f64) -> DMatrix<f64> {
    fix_psd(sample_cov_raw(returns) * frequency)
}

/// Ledoit-Wolf shrinkage towards `μI` (μ the mean variance), with the optimal intensity of
/// Ledoit and Wolf (2004) as scikit-learn's `ledoit_wolf` computes it (maximum-likelihood
/// covariance, divisor T), annualised. Returns the matrix and the shrinkage intensity.
pub fn ledoit_wolf(returns: &DMatrix<f64>, frequency: f64) -> (DMatrix<f64>, f64) {
    let x = centred(returns);
    let (t, p) = x.shape();
    let (tf, pf) = (t as f64, p as f64);
    let x2 = x.map(|v| v * v);
    let emp = symmetrise(x.transpose() * &x / tf);
    let trace_terms: Vec<f64> = (0..p).map(|j| x2.column(j).sum() / tf).collect();
    let trace: f64 = trace_terms.iter().sum();
    let mu = trace / pf;
    let beta_sum = (x2.transpose() * &x2).sum();
    let xtx = x.transpose() * &x;
    let delta_sum = xtx.iter().map(|v| v * v).sum::<f64>() / (tf * tf);
    let beta = 1.0 / (pf * tf) * (beta_sum / tf - delta_sum);
    let delta = (delta_sum - 2.0 * mu * trace + pf * mu * mu) / pf;
    let beta = beta.min(delta);
    let shrinkage = if beta == 0.0 { 0.0 } else { beta / delta };
    let mut shrunk = emp * (1.0 - shrinkage);
    for i in 0..p {
        shrunk[(i, i)] += shrinkage * mu;
    }
    (fix_psd(shrunk * frequency), shrinkage)
}

/// Exponentially weighted covariance with the given span (α = 2/(span+1)), as PyPortfolioOpt's
/// `exp_cov`: the deviations from the full-sample means are multiplied pairwise and averaged
/// with weights (1−α)^age, the latest period weighing 1; annualised.
pub fn ewma_cov(returns: &DMatrix<f64>, span: f64, frequency: f64) -> DMatrix<f64> {
    let x = centred(returns);
    let (t, n) = x.shape();
    let decay = 1.0 - 2.0 / (span + 1.0);
    let weights: Vec<f64> = (0..t).map(|i| decay.powi((t - 1 - i) as i32)).collect();
    let total: f64 = weights.iter().sum();
    let mut s = DMatrix::zeros(n, n);
    for a in 0..n {
        for b in 0..=a {
            let v: f64 = (0..t).map(|i| weights[i] * x[(i, a)] * x[(i, b)]).sum::<f64>() / total;
            s[(a, b)] = v * frequency;
            s[(b, a)] = v * frequency;
        }
    }
    fix_psd(s)
}

/// Compounded annual mean return: `(∏(1+r))^(frequency/T) − 1` per asset (PyPortfolioOpt's
/// `mean_historical_return` with `compounding=True`).
pub fn mean_historical_return(returns: &DMatrix<f64>, frequency: f64) -> Vec<f64> {
    let t = returns.nrows() as f64;
    (0..returns.ncols())
        .map(|j| returns.column(j).iter().map(|r| 1.0 + r).product::<f64>().powf(frequency / t) - 1.0)
        .collect()
}

/// Arithmetic annual mean return: the mean per-period return times `frequency`.
pub fn mean_arithmetic_return(returns: &DMatrix<f64>, frequency: f64) -> Vec<f64> {
    means(returns).into_iter().map(|m| m * frequency).collect()
}

/// Pearson correlation of each pair of columns, with the Welford updates that pandas'
/// `DataFrame.corr` uses (so that clustering on it sees the same digits).
pub fn correlation(returns: &DMatrix<f64>) -> DMatrix<f64> {
    let (t, n) = returns.shape();
    let mut c = DMatrix::zeros(n, n);
    for xi in 0..n {
        for yi in 0..=xi {
            let (mut mx, mut my, mut sx, mut sy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for i in 0..t {
                let (vx, vy) = (returns[(i, xi)], returns[(i, yi)]);
                let k = (i + 1) as f64;
                let dx = vx - mx;
                let dy = vy - my;
                mx += 1.0 / k * dx;
                my += 1.0 / k * dy;
                sx += (vx - mx) * dx;
                sy += (vy - my) * dy;
                sxy += (vx - mx) * dy;
            }
            let d = (sx * sy).sqrt();
            let v = if d != 0.0 { sxy / d } else { f64::NAN };
            c[(xi, yi)] = v;
            c[(yi, xi)] = v;
        }
    }
    c
}

/// The correlation matrix of a covariance matrix.
pub fn cov_to_corr(cov: &DMatrix<f64>) -> DMatrix<f64> {
    let n = cov.nrows();
    let sd: Vec<f64> = (0..n).map(|i| cov[(i, i)].sqrt()).collect();
    DMatrix::from_fn(n, n, |i, j| cov[(i, j)] / (sd[i] * sd[j]))
}

fn symmetrise(m: DMatrix<f64>) -> DMatrix<f64> {
    let t = m.transpose();
    (m + t) * 0.5
}

/// Leaves a positive semidefinite matrix alone; otherwise sets its negative eigenvalues to zero
/// (PyPortfolioOpt's "spectral" fix).
pub fn fix_psd(m: DMatrix<f64>) -> DMatrix<f64> {
    let n = m.nrows();
    let jittered = &m + DMatrix::identity(n, n) * 1e-16;
    if Cholesky::new(jittered).is_some() {
        return m;
    }
    let eig = SymmetricEigen::new(m);
    let values = eig.eigenvalues.map(|v| v.max(0.0));
    symmetrise(&eig.eigenvectors * DMatrix::from_diagonal(&values) * eig.eigenvectors.transpose())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DMatrix<f64> {
        DMatrix::from_row_slice(5, 2, &[0.01, 0.02, -0.01, 0.0, 0.03, 0.01, 0.0, -0.02, 0.02, 0.01])
    }

    #[test]
    fn sample_covariance_uses_t_minus_one_and_annualises() {
        let cov = sample_cov(&sample(), 252.0);
        // var of [0.01, −0.01, 0.03, 0, 0.02] = 0.001/4 (n − 1 divisor)
        assert!((cov[(0, 0)] - 0.00025 * 252.0).abs() < 1e-12);
        assert!((cov[(0, 1)] - cov[(1, 0)]).abs() < 1e-18);
    }

    #[test]
    fn ledoit_wolf_lies_between_sample_and_target() {
        let (lw, s) = ledoit_wolf(&sample(), 1.0);
        assert!((0.0..=1.0).contains(&s));
        let emp = sample_cov_raw(&sample()) * (4.0 / 5.0);
        let mu = emp.trace() / 2.0;
        assert!((lw[(0, 1)] - (1.0 - s) * emp[(0, 1)]).abs() < 1e-15);
        assert!((lw[(0, 0)] - ((1.0 - s) * emp[(0, 0)] + s * mu)).abs() < 1e-15);
    }

    #[test]
    fn compounded_mean_return() {
        let r = DMatrix::from_row_slice(2, 1, &[0.1, -0.05]);
        let m = mean_historical_return(&r, 2.0);
        assert!((m[0] - (1.1 * 0.95 - 1.0)).abs() < 1e-15);
    }

    #[test]
    fn spectral_fix_removes_negative_eigenvalues() {
        let m = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
        let f = fix_psd(m);
        let e = SymmetricEigen::new(f).eigenvalues;
        assert!(e.iter().all(|&v| v > -1e-12));
    }
}
