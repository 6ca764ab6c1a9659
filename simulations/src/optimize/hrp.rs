//! Hierarchical risk parity exactly as PyPortfolioOpt's `HRPOpt.optimize`: single-linkage
//! clustering (scipy's minimum-spanning-tree algorithm and labelling) on the distance
//! √((1 − ρ)/2), the leaves in the dendrogram's pre-order, then recursive bisection of that
//! ordered list, splitting weight between the halves in inverse proportion to their
//! inverse-variance-portfolio variances.

use nalgebra::DMatrix;

use super::{check_square, invalid};
use crate::SimError;

/// HRP weights (in the assets' order) from a covariance matrix and the correlation matrix to
/// cluster on.
pub fn hrp(cov: &DMatrix<f64>, corr: &DMatrix<f64>) -> Result<Vec<f64>, SimError> {
    let n = check_square(cov)?;
    if corr.shape() != (n, n) || corr.iter().any(|v| !v.is_finite()) {
        return Err(invalid("returns", "the correlation matrix is not defined (a constant series?)"));
    }
    if (0..n).any(|i| cov[(i, i)].is_nan() || cov[(i, i)] <= 0.0) {
        return Err(invalid("covariance", "every asset needs a positive variance"));
    }
    if n == 1 {
        return Ok(vec![1.0]);
    }
    let dist = DMatrix::from_fn(n, n, |i, j| ((1.0 - corr[(i, j)]) / 2.0).clamp(0.0, 1.0).sqrt());
    let order = quasi_diagonal(&single_linkage(&dist), n);
    Ok(bisect(cov, &order))
}

/// Single-linkage merges as scipy's `linkage(method="single")` returns them: rows
/// (left, right, height), left the smaller cluster id, sorted by height (stable).
pub fn single_linkage(dist: &DMatrix<f64>) -> Vec<(usize, usize, f64)> {
    let n = dist.nrows();
    // Prim's algorithm in scipy's order (`mst_single_linkage`).
    let mut merged = vec![false; n];
    let mut d = vec![f64::INFINITY; n];
    let mut z: Vec<(usize, usize, f64)> = Vec::with_capacity(n - 1);
    let mut x = 0usize;
    for _ in 0..n - 1 {
        let mut current = f64::INFINITY;
        let mut y = usize::MAX;
        merged[x] = true;
        for i in 0..n {
            if merged[i] {
                continue;
            }
            let dd = dist[(x, i)];
            if d[i] > dd {
                d[i] = dd;
            }
            if d[i] < current {
                y = i;
                current = d[i];
            }
        }
        if y == usize::MAX {
            // Only NaN distances remain; take the first unmerged point.
            y = (0..n).find(|&i| !merged[i]).expect("an unmerged point remains");
        }
        z.push((x, y, current));
        x = y;
    }
    // Stable sort by height (numpy's mergesort), then relabel with a union-find.
    z.sort_by(|a, b| a.2.total_cmp(&b.2));
    let mut parent: Vec<usize> = (0..2 * n - 1).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        let mut root = x;
        while parent[root] != root {
            root = parent[root];
        }
        while parent[x] != root {
            let next = parent[x];
            parent[x] = root;
            x = next;
        }
        root
    }
    for (i, row) in z.iter_mut().enumerate() {
        let (rx, ry) = (find(&mut parent, row.0), find(&mut parent, row.1));
        let (l, r) = if rx < ry { (rx, ry) } else { (ry, rx) };
        row.0 = l;
        row.1 = r;
        parent[l] = n + i;
        parent[r] = n + i;
    }
    z
}

/// The leaves of the dendrogram in pre-order (left subtree first), scipy's
/// `to_tree(Z).pre_order()`.
pub fn quasi_diagonal(z: &[(usize, usize, f64)], n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    let mut stack = vec![n + z.len() - 1];
    while let Some(node) = stack.pop() {
        if node < n {
            out.push(node);
        } else {
            let (l, r, _) = z[node - n];
            stack.push(r);
            stack.push(l);
        }
    }
    out
}

/// Variance of the inverse-variance portfolio of a cluster.
fn cluster_var(cov: &DMatrix<f64>, items: &[usize]) -> f64 {
    let inv: Vec<f64> = items.iter().map(|&i| 1.0 / cov[(i, i)]).collect();
    let s: f64 = inv.iter().sum();
    let w: Vec<f64> = inv.iter().map(|v| v / s).collect();
    let mut tmp = vec![0.0; items.len()];
    for (b, &j) in items.iter().enumerate() {
        tmp[b] = items.iter().enumerate().map(|(a, &i)| w[a] * cov[(i, j)]).sum();
    }
    tmp.iter().zip(&w).map(|(t, w)| t * w).sum()
}

/// Recursive bisection of the ordered list (PyPortfolioOpt's `_raw_hrp_allocation`).
fn bisect(cov: &DMatrix<f64>, order: &[usize]) -> Vec<f64> {
    let mut w = vec![1.0; cov.nrows()];
    let mut clusters: Vec<&[usize]> = vec![order];
    while !clusters.is_empty() {
        clusters = clusters
            .iter()
            .filter(|c| c.len() > 1)
            .flat_map(|c| {
                let h = c.len() / 2;
                [&c[..h], &c[h..]]
            })
            .collect();
        for pair in clusters.chunks(2) {
            let v1 = cluster_var(cov, pair[0]);
            let v2 = cluster_var(cov, pair[1]);
            let alpha = 1.0 - v1 / (v1 + v2);
            for &i in pair[0] {
                w[i] *= alpha;
            }
            for &i in pair[1] {
                w[i] *= 1.0 - alpha;
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_uncorrelated_assets_get_inverse_variance_weights() {
        let cov = DMatrix::from_row_slice(2, 2, &[0.04, 0.0, 0.0, 0.01]);
        let corr = DMatrix::identity(2, 2);
        let w = hrp(&cov, &corr).unwrap();
        assert!((w[0] - 0.2).abs() < 1e-15 && (w[1] - 0.8).abs() < 1e-15, "{w:?}");
    }

    #[test]
    fn linkage_merges_the_closest_pair_first() {
        let d = DMatrix::from_row_slice(3, 3, &[0.0, 0.5, 0.1, 0.5, 0.0, 0.4, 0.1, 0.4, 0.0]);
        let z = single_linkage(&d);
        assert_eq!((z[0].0, z[0].1), (0, 2));
        assert_eq!((z[1].0, z[1].1), (1, 3));
        assert_eq!(quasi_diagonal(&z, 3), vec![1, 0, 2]);
    }
}
