//! Small dense least squares for the unit-root regressions: an upper Cholesky factor of a
//! cross-product matrix (for many nested regressions on the same rows) and Householder QR
//! (for the one regression whose statistic is reported).

/// Overwrites the row-major `k`×`k` symmetric positive definite `a` with the upper factor `R`
/// of `a = RᵀR` (the strict lower triangle is left as it was). `false` when a pivot is not
/// positive (collinear columns).
pub(crate) fn cholesky_upper(a: &mut [f64], k: usize) -> bool {
    for j in 0..k {
        let mut d = a[j * k + j];
        for i in 0..j {
            d -= a[i * k + j] * a[i * k + j];
        }
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        let r = d.sqrt();
        a[j * k + j] = r;
        for c in j + 1..k {
            let mut s = a[j * k + c];
            for i in 0..j {
                s -= a[i * k + j] * a[i * k + c];
            }
            a[j * k + c] = s / r;
        }
    }
    true
}

/// Least squares of `y` on the `k` columns of `cols` (column-major, `n` rows each) by
/// Householder QR: the t statistic of the last column's coefficient and the residual sum of
/// squares. `None` when the columns are collinear or there are no residual degrees of
/// freedom. `cols` and `y` are overwritten.
pub(crate) fn ols_last_t(cols: &mut [f64], y: &mut [f64], n: usize, k: usize) -> Option<(f64, f64)> {
    if n <= k {
        return None;
    }
    let original: Vec<f64> = (0..k).map(|j| dot(&cols[j * n..(j + 1) * n], &cols[j * n..(j + 1) * n]).sqrt()).collect();
    let mut diag = 0.0;
    for j in 0..k {
        let (done, rest) = cols.split_at_mut((j + 1) * n);
        let v = &mut done[j * n + j..(j + 1) * n];
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 0.0 {
            return None;
        }
        let alpha = if v[0] > 0.0 { -norm } else { norm };
        v[0] -= alpha;
        let vnorm2 = v.iter().map(|a| a * a).sum::<f64>();
        if vnorm2 > 0.0 {
            let reflect = |w: &mut [f64]| {
                let s = 2.0 * dot(v, w) / vnorm2;
                for (wi, vi) in w.iter_mut().zip(v.iter()) {
                    *wi -= s * vi;
                }
            };
            for c in 0..k - j - 1 {
                reflect(&mut rest[c * n + j..(c + 1) * n]);
            }
            reflect(&mut y[j..]);
        }
        // The column becomes (alpha, 0, ..., 0); a tiny |alpha| against the column's own norm
        // means it is (nearly) a combination of the columns before it.
        if norm <= 1e-13 * original[j] {
            return None;
        }
        if j == k - 1 {
            diag = alpha;
        }
    }
    let ssr: f64 = y[k..].iter().map(|a| a * a).sum();
    let s = (ssr / (n - k) as f64).sqrt();
    // A perfect fit leaves no residual to scale the t statistic by.
    if !(s > 0.0 && s.is_finite()) {
        return None;
    }
    Some((y[k - 1] * diag.signum() / s, ssr))
}

/// Dot product with four accumulators (vectorizes; the order of additions is fixed).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0; 4];
    let chunks = n / 4;
    for i in 0..chunks {
        for l in 0..4 {
            acc[l] += a[4 * i + l] * b[4 * i + l];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in 4 * chunks..n {
        s += a[i] * b[i];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_t_statistic_matches_the_normal_equations() {
        // y = 1 + 2 x + e on 6 points; the slope's t statistic by hand.
        let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let e = [0.1, -0.2, 0.05, 0.15, -0.1, 0.0];
        let y: Vec<f64> = x.iter().zip(e).map(|(x, e)| 1.0 + 2.0 * x + e).collect();
        let mut cols: Vec<f64> = [1.0; 6].iter().chain(x.iter()).copied().collect();
        let mut yy = y.clone();
        let (t, ssr) = ols_last_t(&mut cols, &mut yy, 6, 2).unwrap();
        let xm = 2.5;
        let sxx: f64 = x.iter().map(|v| (v - xm) * (v - xm)).sum();
        let ym = y.iter().sum::<f64>() / 6.0;
        let b = x.iter().zip(&y).map(|(a, c)| (a - xm) * (c - ym)).sum::<f64>() / sxx;
        let a = ym - b * xm;
        let want_ssr: f64 = x.iter().zip(&y).map(|(xv, yv)| (yv - a - b * xv).powi(2)).sum();
        let want_t = b / (want_ssr / 4.0 / sxx).sqrt();
        assert!((ssr - want_ssr).abs() < 1e-12 && (t - want_t).abs() < 1e-9 * want_t, "{t} {want_t}");

        let mut g = [4.0, 2.0, 2.0, 3.0];
        assert!(cholesky_upper(&mut g, 2));
        assert!((g[0] - 2.0).abs() < 1e-15 && (g[1] - 1.0).abs() < 1e-15 && (g[3] - 2f64.sqrt()).abs() < 1e-15);
        assert!(!cholesky_upper(&mut [1.0, 1.0, 1.0, 1.0], 2));
    }
}
