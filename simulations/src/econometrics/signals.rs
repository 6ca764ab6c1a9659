//! Trading signals: z-scores with entry/exit thresholds (mean reversion of a price or of a
//! pair's spread) and time-series momentum.

use serde::{Deserialize, Serialize};

use crate::{invalid, SimError};

/// Default |z| at which a position is opened.
pub const DEFAULT_ENTRY: f64 = 2.0;
/// Default |z| under which a position is closed.
pub const DEFAULT_EXIT: f64 = 0.5;
/// Default rolling window of the single-series z-score, in observations.
pub const DEFAULT_WINDOW: usize = 20;
/// Default momentum lookback, in observations (a year of trading days).
pub const DEFAULT_LOOKBACK: usize = 252;

/// Z-scores of `x`: with `window`, each point against the mean and sample standard deviation
/// (n − 1) of the `window` points ending at it (`None` before the window fills or when they
/// are all equal); without, every point against the whole sample's.
pub fn zscores(x: &[f64], window: Option<usize>) -> Vec<Option<f64>> {
    // Mean and sample standard deviation; none for one point or equal points (tested exactly:
    // rounding in the mean would leave a standard deviation of about 1e-17).
    let stats = |slice: &[f64]| {
        let (lo, hi) = slice.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        if slice.len() < 2 || lo == hi {
            return None;
        }
        let n = slice.len() as f64;
        let mean = slice.iter().sum::<f64>() / n;
        let sd = (slice.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / (n - 1.0)).sqrt();
        (sd > 0.0).then_some((mean, sd))
    };
    let z = |v: f64, s: Option<(f64, f64)>| s.map(|(mean, sd)| (v - mean) / sd);
    match window {
        None => {
            let whole = stats(x);
            x.iter().map(|&v| z(v, whole)).collect()
        }
        Some(w) => (0..x.len()).map(|t| if t + 1 < w { None } else { z(x[t], stats(&x[t + 1 - w..=t])) }).collect(),
    }
}

/// Positions from z-scores, stepping through time from flat: open short (−1) when z rises
/// above `entry`, long (+1) when it falls below −`entry`; close when |z| falls below `exit`
/// (or the z-score crosses to the other side's entry, which reverses). Missing z-scores keep
/// the position.
pub fn positions(z: &[Option<f64>], entry: f64, exit: f64) -> Vec<i8> {
    let mut pos = 0i8;
    z.iter()
        .map(|zt| {
            if let Some(v) = *zt {
                if v > entry {
                    pos = -1;
                } else if v < -entry {
                    pos = 1;
                } else if v.abs() < exit {
                    pos = 0;
                }
            }
            pos
        })
        .collect()
}

/// Checks entry and exit thresholds: finite, 0 ≤ exit ≤ entry.
pub fn check_thresholds(entry: f64, exit: f64) -> Result<(), SimError> {
    if !(entry.is_finite() && entry > 0.0) {
        return Err(invalid("entry", "must be a positive number"));
    }
    if !(exit.is_finite() && exit >= 0.0 && exit <= entry) {
        return Err(invalid("exit", "must be a number from 0 to entry"));
    }
    Ok(())
}

/// A single-series signal request: prices (positive, oldest first) and optional settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct SignalsRequest {
    pub prices: Vec<f64>,
    #[serde(default)]
    pub window: Option<usize>,
    #[serde(default)]
    pub entry: Option<f64>,
    #[serde(default)]
    pub exit: Option<f64>,
    #[serde(default)]
    pub lookback: Option<usize>,
}

/// Mean reversion: the latest price's z-score against its rolling window and the position it
/// leaves (−1 sell, 0 flat, +1 buy).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanReversion {
    pub zscore: f64,
    pub position: i8,
}

/// Time-series momentum over the lookback: the log return, its sign (+1, 0, −1) and its
/// strength (the log return over its standard error: the sample standard deviation of the
/// daily log returns in the lookback times √lookback).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Momentum {
    pub lookback: usize,
    #[serde(rename = "return")]
    pub log_return: f64,
    pub signal: i8,
    pub strength: f64,
}

/// Both single-series signals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SignalsResult {
    pub mean_reversion: MeanReversion,
    pub momentum: Momentum,
}

/// Mean-reversion and momentum signals of one price series.
pub fn signals(req: &SignalsRequest) -> Result<SignalsResult, SimError> {
    let p = &req.prices;
    if p.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(invalid("prices", "must be positive numbers"));
    }
    if p.len() < 3 {
        return Err(invalid("prices", "needs at least 3 prices"));
    }
    let window = req.window.unwrap_or(DEFAULT_WINDOW.min(p.len()));
    if window < 2 || window > p.len() {
        return Err(invalid("window", "must be from 2 to the number of prices"));
    }
    let (entry, exit) = (req.entry.unwrap_or(DEFAULT_ENTRY), req.exit.unwrap_or(DEFAULT_EXIT));
    check_thresholds(entry, exit)?;
    let lookback = req.lookback.unwrap_or(DEFAULT_LOOKBACK.min(p.len() - 1));
    if lookback < 2 || lookback >= p.len() {
        return Err(invalid("lookback", "must be from 2 to the number of prices minus 1"));
    }
    let z = zscores(p, Some(window));
    let pos = positions(&z, entry, exit);
    let zscore = z[p.len() - 1].ok_or_else(|| invalid("prices", "are constant over the window"))?;
    let n = p.len();
    let logs: Vec<f64> = p[n - 1 - lookback..].windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let log_return = (p[n - 1] / p[n - 1 - lookback]).ln();
    let mean = logs.iter().sum::<f64>() / lookback as f64;
    let sd = (logs.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (lookback as f64 - 1.0)).sqrt();
    let strength = if sd > 0.0 { log_return / (sd * (lookback as f64).sqrt()) } else { 0.0 };
    let signal = if log_return > 0.0 {
        1
    } else if log_return < 0.0 {
        -1
    } else {
        0
    };
    Ok(SignalsResult {
        mean_reversion: MeanReversion { zscore, position: pos[n - 1] },
        momentum: Momentum { lookback, log_return, signal, strength },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zscores_match_hand_computation_and_positions_follow_the_thresholds() {
        let x = [1.0, 2.0, 3.0, 4.0, 10.0];
        let z = zscores(&x, Some(3));
        assert_eq!(z[..2], [None, None]);
        assert!((z[2].unwrap() - 1.0).abs() < 1e-15); // (3 - 2) / 1
        let mean = 17.0 / 3.0; // the window 3, 4, 10
        let sd = ((64.0 + 25.0 + 169.0) / 9.0 / 2.0f64).sqrt();
        assert!((z[4].unwrap() - (10.0 - mean) / sd).abs() < 1e-12);
        let path = [Some(0.0), Some(2.5), Some(1.0), Some(0.3), Some(-2.1), None, Some(-0.4)];
        assert_eq!(positions(&path, 2.0, 0.5), vec![0, -1, -1, 0, 1, 1, 0]);
    }

    #[test]
    fn a_rising_series_has_positive_momentum_and_a_rich_last_price() {
        let mut prices: Vec<f64> =
            (0..300).map(|i| 100.0 * (0.001 * i as f64 + 0.01 * (i as f64).sin()).exp()).collect();
        prices.push(prices[299] * 1.08);
        let s = signals(&SignalsRequest { prices, window: None, entry: None, exit: None, lookback: None }).unwrap();
        assert_eq!(s.momentum.signal, 1);
        assert_eq!(s.momentum.lookback, 252);
        assert!(s.momentum.strength > 1.0);
        assert!(s.mean_reversion.zscore > 2.0);
        assert_eq!(s.mean_reversion.position, -1);
        let bad =
            SignalsRequest { prices: vec![1.0, -1.0, 2.0], window: None, entry: None, exit: None, lookback: None };
        assert_eq!(signals(&bad).unwrap_err().to_string(), "prices: must be positive numbers");
    }
}
