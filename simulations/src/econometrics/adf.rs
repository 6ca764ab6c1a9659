//! The augmented Dickey-Fuller unit-root test, as `statsmodels.tsa.stattools.adfuller`:
//! the regression of Δxₜ on xₜ₋₁, lagged differences and the deterministic terms; the lag
//! chosen by AIC, BIC or the t statistic of the last lag over a common sample, then the
//! regression re-run on every usable row; MacKinnon's p-value and critical values.

#![allow(clippy::needless_range_loop)] // index loops over small matrices read as the formulas

use serde::{Deserialize, Serialize};

use super::linalg::{cholesky_upper, dot, ols_last_t};
use super::mackinnon::{mackinnon_crit, mackinnon_p, Trend};
use crate::{invalid, SimError};

/// How the number of lagged differences is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Autolag {
    /// Smallest Akaike information criterion.
    #[serde(rename = "aic")]
    Aic,
    /// Smallest Bayesian (Schwarz) information criterion.
    #[serde(rename = "bic")]
    Bic,
    /// The longest lag whose last coefficient is significant at 10% two-sided
    /// (|t| ≥ 1.6449), counting down from the maximum.
    #[serde(rename = "t-stat")]
    TStat,
}

/// An ADF request: the series (levels, oldest first), the deterministic terms ("c" when
/// absent), the lag rule ("aic" when absent; `null` uses `maxlag` lags) and the maximum lag
/// (Schwert's 12·(n/100)^¼ when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct AdfRequest {
    pub series: Vec<f64>,
    #[serde(default = "constant")]
    pub regression: Trend,
    #[serde(default = "aic")]
    pub autolag: Option<Autolag>,
    #[serde(default)]
    pub maxlag: Option<usize>,
}

fn constant() -> Trend {
    Trend::Constant
}

fn aic() -> Option<Autolag> {
    Some(Autolag::Aic)
}

/// Critical values of a test statistic at the 1%, 5% and 10% levels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CriticalValues {
    #[serde(rename = "1%")]
    pub one: f64,
    #[serde(rename = "5%")]
    pub five: f64,
    #[serde(rename = "10%")]
    pub ten: f64,
}

impl From<[f64; 3]> for CriticalValues {
    fn from(v: [f64; 3]) -> Self {
        CriticalValues { one: v[0], five: v[1], ten: v[2] }
    }
}

/// The test's outcome: the t statistic of the lagged level, MacKinnon's approximate p-value,
/// the lagged differences used, the observations in the final regression and MacKinnon's
/// (2010) critical values for that many observations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdfResult {
    pub stat: f64,
    pub pvalue: f64,
    pub usedlag: usize,
    pub nobs: usize,
    pub critical_values: CriticalValues,
}

/// Runs the request.
pub fn adf(req: &AdfRequest) -> Result<AdfResult, SimError> {
    adfuller(&req.series, req.regression, req.maxlag, req.autolag)
}

/// The largest `maxlag` accepted: the lag search keeps a (maxlag + 1)^2 cross-product
/// matrix, and no daily series needs more than four years of lags.
pub const MAX_LAG: usize = 1_000;

/// Schwert's default maximum lag for `n` points, capped as statsmodels caps it
/// (n/2 − terms − 1); `None` when the series is too short for the regression.
pub fn schwert_maxlag(n: usize, trend: Trend) -> Option<usize> {
    let schwert = (12.0 * (n as f64 / 100.0).powf(0.25)).ceil() as i64;
    let cap = (n / 2) as i64 - trend.terms() as i64 - 1;
    usize::try_from(schwert.min(cap)).ok()
}

/// The augmented Dickey-Fuller test of `x` (levels, oldest first), exactly as
/// `adfuller(x, maxlag, regression, autolag)`.
pub fn adfuller(
    x: &[f64],
    trend: Trend,
    maxlag: Option<usize>,
    autolag: Option<Autolag>,
) -> Result<AdfResult, SimError> {
    if x.iter().any(|v| !v.is_finite()) {
        return Err(invalid("series", "must hold finite numbers only"));
    }
    if x.len() < 4 {
        return Err(invalid("series", "needs at least 4 points"));
    }
    let (lo, hi) = x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    if lo == hi {
        return Err(invalid("series", "is constant"));
    }
    let n = x.len();
    let nt = trend.terms();
    let maxlag = match maxlag {
        None => schwert_maxlag(n, trend)
            .ok_or_else(|| invalid("series", "is too short for the regression's deterministic terms"))?,
        Some(m) => {
            if m.saturating_add(nt + 1) > n / 2 {
                return Err(invalid("maxlag", "must be less than n/2 - 1 - (number of deterministic terms)"));
            }
            if m > MAX_LAG {
                return Err(invalid("maxlag", format!("must be at most {MAX_LAG}")));
            }
            m
        }
    };
    let d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let usedlag = match autolag {
        None => maxlag,
        Some(rule) => select_lag(x, &d, nt, maxlag, rule)?,
    };
    let (stat, nobs) = final_regression(x, &d, nt, usedlag)?;
    let crit = mackinnon_crit(trend, 1, nobs as f64).expect("N = 1 has critical values for every trend");
    Ok(AdfResult { stat, pvalue: mackinnon_p(stat, trend, 1), usedlag, nobs, critical_values: crit.into() })
}

/// The regression with `lag` lagged differences on every usable row: the lagged level's t
/// statistic and the number of rows.
fn final_regression(x: &[f64], d: &[f64], nt: usize, lag: usize) -> Result<(f64, usize), SimError> {
    let m = d.len();
    let nobs = m - lag;
    let k = nt + lag + 1;
    let mut cols = Vec::with_capacity(nobs * k);
    if nt >= 1 {
        cols.extend(std::iter::repeat_n(1.0, nobs));
    }
    if nt >= 2 {
        cols.extend((1..=nobs).map(|t| t as f64));
    }
    for j in 1..=lag {
        cols.extend_from_slice(&d[lag - j..m - j]);
    }
    cols.extend_from_slice(&x[lag..m]);
    let mut y = d[lag..].to_vec();
    let (t, _) = ols_last_t(&mut cols, &mut y, nobs, k)
        .ok_or_else(|| invalid("series", "the regression's columns are collinear or too few points"))?;
    Ok((t, nobs))
}

/// The lag chosen by `rule` among 0..=maxlag, all regressions on the rows usable with
/// `maxlag` lags. One cross-product matrix of [terms, level, Δx lags 1..maxlag, Δx] and its
/// Cholesky factor give every nested regression's residual sum of squares and the t
/// statistic of its last column.
fn select_lag(x: &[f64], d: &[f64], nt: usize, p: usize, rule: Autolag) -> Result<usize, SimError> {
    let m = d.len();
    let nobs = m - p;
    let k = nt + 1 + p; // regressors of the largest model
    let ka = k + 1; // and the dependent variable, last
    let mut g = vec![0.0; ka * ka];
    let level = &x[p..m];
    let lagged = |j: usize| &d[p - j..m - j];
    let lvl = nt;
    let col_of_lag = |j: usize| if j == 0 { k } else { nt + j };
    // Lagged differences against each other: the first row by dot products, then along
    // each diagonal by dropping the last row's product and adding the one before the first.
    let mut s = vec![0.0; (p + 1) * (p + 1)];
    for j in 0..=p {
        s[j] = dot(lagged(0), lagged(j));
    }
    for i in 0..p {
        for j in i..p {
            s[(i + 1) * (p + 1) + j + 1] =
                s[i * (p + 1) + j] + d[p - 1 - i] * d[p - 1 - j] - d[m - 1 - i] * d[m - 1 - j];
        }
    }
    for i in 0..=p {
        for j in i..=p {
            set(&mut g, ka, col_of_lag(i), col_of_lag(j), s[i * (p + 1) + j]);
        }
        set(&mut g, ka, lvl, col_of_lag(i), dot(level, lagged(i)));
    }
    set(&mut g, ka, lvl, lvl, dot(level, level));
    if nt >= 1 {
        let nf = nobs as f64;
        set(&mut g, ka, 0, 0, nf);
        set(&mut g, ka, 0, lvl, level.iter().sum());
        for j in 0..=p {
            set(&mut g, ka, 0, col_of_lag(j), lagged(j).iter().sum());
        }
        if nt >= 2 {
            let trend: Vec<f64> = (1..=nobs).map(|t| t as f64).collect();
            set(&mut g, ka, 0, 1, nf * (nf + 1.0) / 2.0);
            set(&mut g, ka, 1, 1, nf * (nf + 1.0) * (2.0 * nf + 1.0) / 6.0);
            set(&mut g, ka, 1, lvl, dot(&trend, level));
            for j in 0..=p {
                set(&mut g, ka, 1, col_of_lag(j), dot(&trend, lagged(j)));
            }
        }
    }
    if !cholesky_upper(&mut g, ka) {
        return Err(invalid("series", "the lag-selection regressions' columns are collinear"));
    }
    let nf = nobs as f64;
    let startlag = nt + 1;
    // ssr[c]: residual sum of squares with the first c regressors.
    let mut ssr = vec![0.0; ka];
    let mut acc = 0.0;
    for c in (startlag..=k).rev() {
        acc += g[c * ka + k] * g[c * ka + k];
        ssr[c] = acc;
    }
    let llf = |c: usize| -nf / 2.0 * ((2.0 * std::f64::consts::PI).ln() + (ssr[c] / nf).ln() + 1.0);
    let best = match rule {
        Autolag::Aic | Autolag::Bic => {
            let penalty = if rule == Autolag::Aic { 2.0 } else { nf.ln() };
            let mut best = (f64::INFINITY, startlag);
            for c in startlag..=k {
                let ic = -2.0 * llf(c) + penalty * c as f64;
                if ic < best.0 {
                    best = (ic, c);
                }
            }
            best.1
        }
        Autolag::TStat => {
            // statsmodels' stats.norm.ppf(0.95).
            const STOP: f64 = 1.644_853_626_951_472_2;
            let mut best = startlag;
            for c in (startlag..=k).rev() {
                best = c;
                let t = g[(c - 1) * ka + k] / (ssr[c] / (nf - c as f64)).sqrt();
                if t.abs() >= STOP {
                    break;
                }
            }
            best
        }
    };
    Ok(best - startlag)
}

fn set(g: &mut [f64], k: usize, i: usize, j: usize, v: f64) {
    let (i, j) = if i <= j { (i, j) } else { (j, i) };
    g[i * k + j] = v;
}
