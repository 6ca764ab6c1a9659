//! Markov chains of regimes, shared by the Monte Carlo engine and the economic scenario
//! generator: checking a transition matrix, its stationary distribution, and drawing the next
//! state from a row's cumulative distribution.

use crate::{invalid, SimError};

/// A `k` x `k` transition matrix: rows of probabilities summing to 1.
pub fn check_transition(matrix: &[Vec<f64>], k: usize, field: &str) -> Result<(), SimError> {
    if matrix.len() != k || matrix.iter().any(|row| row.len() != k) {
        return Err(invalid(field, format!("must be {k} rows of {k} probabilities (one per regime)")));
    }
    for (i, row) in matrix.iter().enumerate() {
        if row.iter().any(|p| !(0.0..=1.0).contains(p)) || (row.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return Err(invalid(format!("{field}[{i}]"), "must be probabilities summing to 1"));
        }
    }
    Ok(())
}

/// Running sums of a row: the cumulative distribution a uniform is picked against.
pub fn cumulative(row: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    row.iter()
        .map(|p| {
            acc += p;
            acc
        })
        .collect()
}
/// The stationary distribution of a transition matrix (power iteration from uniform).
pub fn stationary_distribution(p: &[Vec<f64>]) -> Vec<f64> {
    let k = p.len();
    let mut pi = vec![1.0 / k as f64; k];
    for _ in 0..100_000 {
        let next: Vec<f64> = (0..k).map(|j| (0..k).map(|i| pi[i] * p[i][j]).sum()).collect();
        let moved: f64 = next.iter().zip(&pi).map(|(a, b)| (a - b).abs()).sum();
        pi = next;
        if moved < 1e-15 {
            break;
        }
    }
    pi
}

/// The index of the first cumulative probability above `u`.
pub fn pick(cumulative: &[f64], u: f64) -> usize {
    cumulative.iter().position(|c| u < *c).unwrap_or(cumulative.len() - 1)
}
