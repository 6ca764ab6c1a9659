//! Engle-Granger cointegration of a pair, as `statsmodels.tsa.stattools.coint(y, x)` with a
//! constant and AIC lag selection: the hedge ratio by OLS of y on x and a constant, the ADF
//! statistic of the residuals (no constant), MacKinnon's p-value and critical values for two
//! series; with the spread's half-life of mean reversion and z-score signals.

use serde::{Deserialize, Serialize};

use super::adf::{adfuller, Autolag, CriticalValues};
use super::mackinnon::{mackinnon_crit, mackinnon_p, Trend};
use super::signals::{check_thresholds, positions, zscores, DEFAULT_ENTRY, DEFAULT_EXIT};
use crate::{invalid, SimError};

/// A cointegration request: the two price (or log-price) series, same length, oldest first,
/// and optional signal settings: the z-score window (absent: the whole sample), the entry
/// and exit thresholds (2.0 and 0.5 when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct CointRequest {
    pub y: Vec<f64>,
    pub x: Vec<f64>,
    #[serde(default)]
    pub window: Option<usize>,
    #[serde(default)]
    pub entry: Option<f64>,
    #[serde(default)]
    pub exit: Option<f64>,
}

/// The test and the pair's trading figures. `stat` is −∞ (`null` in JSON) when y and x are
/// (almost) perfectly collinear, as statsmodels reports; `half_life` is in observations,
/// `None` when the spread does not revert. The spread is y − intercept − hedge_ratio·x;
/// `zscore` is its latest z-score and `position` the one the entry/exit rule leaves (+1 long
/// the spread: buy y, sell hedge_ratio of x; −1 the reverse; 0 flat).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CointResult {
    pub stat: f64,
    pub pvalue: f64,
    pub hedge_ratio: f64,
    pub intercept: f64,
    pub half_life: Option<f64>,
    pub critical_values: CriticalValues,
    pub zscore: Option<f64>,
    pub position: i8,
}

/// Runs the request.
pub fn coint(req: &CointRequest) -> Result<CointResult, SimError> {
    let (y, x) = (&req.y, &req.x);
    if y.len() != x.len() {
        return Err(invalid("x", "must have as many points as y"));
    }
    for (name, s) in [("y", y), ("x", x)] {
        if s.iter().any(|v| !v.is_finite()) {
            return Err(invalid(name, "must hold finite numbers only"));
        }
    }
    if y.len() < 10 {
        return Err(invalid("y", "needs at least 10 points"));
    }
    let n = y.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y.iter()) {
        sxx += (a - mx) * (a - mx);
        sxy += (a - mx) * (b - my);
        syy += (b - my) * (b - my);
    }
    if sxx.is_nan() || sxx <= 0.0 {
        return Err(invalid("x", "is constant"));
    }
    let beta = sxy / sxx;
    let alpha = my - beta * mx;
    let spread: Vec<f64> = x.iter().zip(y.iter()).map(|(a, b)| b - alpha - beta * a).collect();
    let ssr: f64 = spread.iter().map(|e| e * e).sum();
    let rsquared = 1.0 - ssr / syy;
    let stat = if rsquared < 1.0 - 100.0 * f64::EPSILON.sqrt() {
        adfuller(&spread, Trend::None, None, Some(Autolag::Aic))?.stat
    } else {
        f64::NEG_INFINITY
    };
    let crit = mackinnon_crit(Trend::Constant, 2, n - 1.0).expect("N = 2 has critical values with a constant");
    let (entry, exit) = (req.entry.unwrap_or(DEFAULT_ENTRY), req.exit.unwrap_or(DEFAULT_EXIT));
    check_thresholds(entry, exit)?;
    if let Some(w) = req.window {
        if w < 2 || w > spread.len() {
            return Err(invalid("window", "must be from 2 to the number of points"));
        }
    }
    let z = zscores(&spread, req.window);
    let pos = positions(&z, entry, exit);
    Ok(CointResult {
        stat,
        pvalue: mackinnon_p(stat, Trend::Constant, 2),
        hedge_ratio: beta,
        intercept: alpha,
        half_life: half_life(&spread),
        critical_values: crit.into(),
        zscore: z[spread.len() - 1],
        position: pos[spread.len() - 1],
    })
}

/// Half-life of mean reversion, in observations: with b from the OLS of Δsₜ on a constant
/// and sₜ₋₁, −ln 2 / ln(1 + b) when −1 < b < 0; `None` otherwise (no reversion, or an
/// overshooting spread).
pub fn half_life(s: &[f64]) -> Option<f64> {
    if s.len() < 3 {
        return None;
    }
    let lag = &s[..s.len() - 1];
    let n = lag.len() as f64;
    let ml = lag.iter().sum::<f64>() / n;
    let md = (s[s.len() - 1] - s[0]) / n;
    let (mut sll, mut sld) = (0.0, 0.0);
    for t in 1..s.len() {
        let l = s[t - 1] - ml;
        sll += l * l;
        sld += l * ((s[t] - s[t - 1]) - md);
    }
    let b = sld / sll;
    (b > -1.0 && b < 0.0).then(|| -std::f64::consts::LN_2 / b.ln_1p())
}
