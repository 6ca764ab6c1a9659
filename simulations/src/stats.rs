//! Order statistics shared by the engines: the percentiles every report states, by selection.

/// Percentiles reported everywhere.
pub const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// The `q` quantile of sorted values (linear interpolation between order statistics).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// [`PERCENTILES`] of `values`, interpolated as [`quantile`] does, by selection rather than a
/// full sort: each needs the order statistics at `floor(h)` and just above, and all ten are
/// selected together.
pub fn percentiles(mut values: Vec<f64>) -> [f64; 5] {
    if values.is_empty() {
        return [f64::NAN; 5];
    }
    let n = values.len();
    let at = PERCENTILES.map(|q| (n - 1) as f64 * q);
    let mut ranks: Vec<usize> =
        at.iter().flat_map(|h| [h.floor() as usize, (h.floor() as usize + 1).min(n - 1)]).collect();
    ranks.sort_unstable();
    ranks.dedup();
    select_ranks(&mut values, &ranks);
    at.map(|h| {
        let lo = h.floor() as usize;
        let a = values[lo];
        if h > lo as f64 {
            a + (h - lo as f64) * (values[lo + 1] - a)
        } else {
            a
        }
    })
}

/// Puts the values of the given ranks (ascending) where a full sort would, by selecting the
/// middle rank and recursing on either side, so each further rank searches a smaller range.
fn select_ranks(values: &mut [f64], ranks: &[usize]) {
    let Some(&rank) = ranks.get(ranks.len() / 2) else { return };
    let (left, _, right) = values.select_nth_unstable_by(rank, f64::total_cmp);
    let (below, above) = ranks.split_at(ranks.len() / 2);
    select_ranks(left, below);
    let above: Vec<usize> = above[1..].iter().map(|r| r - rank - 1).collect();
    select_ranks(right, &above);
}
