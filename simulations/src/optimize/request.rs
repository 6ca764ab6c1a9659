//! One request of `cairn quant optimize` and its answer.

use std::collections::BTreeMap;

use nalgebra::DMatrix;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::black_litterman::{implied_returns, posterior, View};
use super::covariance::{
    correlation, cov_to_corr, ewma_cov, ledoit_wolf, mean_historical_return, returns_from_prices, sample_cov,
    sample_cov_raw,
};
use super::mean_variance::{
    diversification_ratio, dot, efficient_return, efficient_risk, max_diversification, max_sharpe, min_variance, quad,
};
use super::risk_parity::{risk_contributions, risk_parity};
use super::{cvar, hrp, invalid, Constraints, Group, Turnover};
use crate::SimError;

/// The optimizer to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    MaxSharpe,
    MinVariance,
    EfficientReturn,
    EfficientRisk,
    RiskParity,
    MaxDiversification,
    Hrp,
    BlackLitterman,
    MinCvar,
}

/// How the covariance is estimated from returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CovarianceEstimator {
    #[default]
    Sample,
    LedoitWolf,
    Ewma,
}

/// Weight bounds: one `[lower, upper]` pair for every asset, or a pair per asset name (assets
/// not named get `[0, 1]`); `null` is no bound.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Bounds {
    All([Option<f64>; 2]),
    PerAsset(BTreeMap<String, [Option<f64>; 2]>),
}

/// An array is the pair for every asset, an object the pairs by name; anything else is an
/// error saying what a bound is (an untagged enum could only say that no variant matched), and
/// an error inside a pair names the pair.
impl<'de> Deserialize<'de> for Bounds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Bounds;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("[lower, upper] or {\"asset\": [lower, upper]}")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Bounds, A::Error> {
                Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Bounds::All)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Bounds, A::Error> {
                Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Bounds::PerAsset)
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// Bounds on a group's total weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a group object {\"assets\", \"name\"?, \"min\"?, \"max\"?}")]
pub struct GroupRequest {
    #[serde(default)]
    pub name: Option<String>,
    pub assets: Vec<String>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

/// A Black-Litterman view: the portfolio `weights` (asset name → coefficient) returns `return`
/// a year, with `confidence` in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a view object {\"weights\", \"return\", \"confidence\"?}")]
pub struct ViewRequest {
    pub weights: BTreeMap<String, f64>,
    #[serde(rename = "return")]
    pub expected: f64,
    #[serde(default)]
    pub confidence: Option<f64>,
}

/// A request of `cairn quant optimize` (every field is documented on the command).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct Request {
    pub method: Method,
    pub assets: Vec<String>,
    #[serde(default)]
    pub prices: Option<Vec<Vec<f64>>>,
    #[serde(default)]
    pub returns: Option<Vec<Vec<f64>>>,
    #[serde(default)]
    pub covariance: Option<Vec<Vec<f64>>>,
    #[serde(default)]
    pub expected_returns: Option<Vec<f64>>,
    #[serde(default)]
    pub covariance_estimator: CovarianceEstimator,
    #[serde(default)]
    pub span: Option<f64>,
    #[serde(default)]
    pub frequency: Option<f64>,
    #[serde(default)]
    pub risk_free_rate: Option<f64>,
    #[serde(default)]
    pub target_return: Option<f64>,
    #[serde(default)]
    pub target_risk: Option<f64>,
    #[serde(default)]
    pub bounds: Option<Bounds>,
    #[serde(default)]
    pub groups: Vec<GroupRequest>,
    #[serde(default)]
    pub current_weights: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub max_turnover: Option<f64>,
    #[serde(default)]
    pub risk_budgets: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub market_caps: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    pub risk_aversion: Option<f64>,
    #[serde(default)]
    pub tau: Option<f64>,
    #[serde(default)]
    pub views: Vec<ViewRequest>,
    #[serde(default)]
    pub optimizer: Option<Method>,
    #[serde(default)]
    pub beta: Option<f64>,
}

/// Values per asset, written as a JSON object in the assets' order.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights(pub Vec<(String, f64)>);

impl Serialize for Weights {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub weights: Weights,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_return: Option<f64>,
    pub volatility: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharpe: Option<f64>,
    pub risk_contributions: Weights,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diversification_ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvar: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub var: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_returns: Option<Weights>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posterior_returns: Option<Weights>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shrinkage: Option<f64>,
}

fn matrix(rows: &[Vec<f64>], n: usize, field: &str) -> Result<DMatrix<f64>, SimError> {
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(invalid(field, format!("row {} has {} values for {n} assets", i + 1, r.len())));
    }
    if rows.iter().flatten().any(|v| !v.is_finite()) {
        return Err(invalid(field, "must contain finite numbers"));
    }
    Ok(DMatrix::from_fn(rows.len(), n, |i, j| rows[i][j]))
}

fn index_of(assets: &[String], name: &str, field: &str) -> Result<usize, SimError> {
    assets.iter().position(|a| a == name).ok_or_else(|| invalid(field, format!("unknown asset {name:?}")))
}

fn per_asset(assets: &[String], map: &BTreeMap<String, f64>, field: &str, default: f64) -> Result<Vec<f64>, SimError> {
    let mut v = vec![default; assets.len()];
    for (name, &x) in map {
        if !x.is_finite() {
            return Err(invalid(field, format!("{name}: must be a finite number")));
        }
        v[index_of(assets, name, field)?] = x;
    }
    Ok(v)
}

/// The estimates a request's data gives.
struct Inputs {
    returns: Option<DMatrix<f64>>,
    cov: DMatrix<f64>,
    mu: Option<Vec<f64>>,
    shrinkage: Option<f64>,
}

fn inputs(r: &Request, n: usize, frequency: f64) -> Result<Inputs, SimError> {
    let sources = [r.prices.is_some(), r.returns.is_some(), r.covariance.is_some()];
    if sources.iter().filter(|&&s| s).count() != 1 {
        return Err(invalid("prices", "give exactly one of prices, returns or covariance"));
    }
    let returns = match (&r.prices, &r.returns) {
        (Some(p), _) => {
            let p = matrix(p, n, "prices")?;
            if p.iter().any(|&v| v <= 0.0) {
                return Err(invalid("prices", "must be positive"));
            }
            Some(returns_from_prices(&p))
        }
        (_, Some(x)) => {
            let x = matrix(x, n, "returns")?;
            if x.iter().any(|&v| v <= -1.0) {
                return Err(invalid("returns", "must be above -1 (a loss of more than everything)"));
            }
            Some(x)
        }
        _ => None,
    };
    let mu_given = match &r.expected_returns {
        Some(m) if m.len() != n => {
            return Err(invalid("expected_returns", format!("has {} values for {n} assets", m.len())))
        }
        Some(m) if m.iter().any(|v| !v.is_finite()) => {
            return Err(invalid("expected_returns", "must be finite numbers"))
        }
        other => other.clone(),
    };
    if let Some(x) = &returns {
        let field = if r.prices.is_some() { "prices" } else { "returns" };
        if x.nrows() < 2 {
            return Err(invalid(field, "needs at least two periods of returns"));
        }
        let mut shrinkage = None;
        let cov = match r.covariance_estimator {
            CovarianceEstimator::Sample => sample_cov(x, frequency),
            CovarianceEstimator::LedoitWolf => {
                let (c, s) = ledoit_wolf(x, frequency);
                shrinkage = Some(s);
                c
            }
            CovarianceEstimator::Ewma => {
                let span = r.span.unwrap_or(180.0);
                if !(span.is_finite() && span >= 1.0) {
                    return Err(invalid("span", "must be at least 1"));
                }
                ewma_cov(x, span, frequency)
            }
        };
        let mu = mu_given.or_else(|| Some(mean_historical_return(x, frequency)));
        return Ok(Inputs { returns, cov, mu, shrinkage });
    }
    let cov = matrix(r.covariance.as_deref().unwrap_or_default(), n, "covariance")?;
    if cov.nrows() != n {
        return Err(invalid("covariance", format!("has {} rows for {n} assets", cov.nrows())));
    }
    Ok(Inputs { returns: None, cov, mu: mu_given, shrinkage: None })
}

fn constraints(r: &Request, n: usize) -> Result<Constraints, SimError> {
    let mut c = Constraints::long_only(n);
    let pair = |p: &[Option<f64>; 2]| (p[0].unwrap_or(f64::NEG_INFINITY), p[1].unwrap_or(f64::INFINITY));
    match &r.bounds {
        None => {}
        Some(Bounds::All(p)) => {
            let (lo, hi) = pair(p);
            c.lower = vec![lo; n];
            c.upper = vec![hi; n];
        }
        Some(Bounds::PerAsset(m)) => {
            for (name, p) in m {
                let i = index_of(&r.assets, name, "bounds")?;
                (c.lower[i], c.upper[i]) = pair(p);
            }
        }
    }
    for g in &r.groups {
        let members = g.assets.iter().map(|a| index_of(&r.assets, a, "groups")).collect::<Result<Vec<_>, _>>()?;
        c.groups.push(Group { members, min: g.min, max: g.max });
    }
    match (r.max_turnover, &r.current_weights) {
        (Some(max), Some(cur)) => {
            c.turnover = Some(Turnover { current: per_asset(&r.assets, cur, "current_weights", 0.0)?, max })
        }
        (Some(_), None) => return Err(invalid("current_weights", "max_turnover needs the current weights")),
        (None, _) => {}
    }
    c.validate(n)?;
    Ok(c)
}

fn need(mu: &Option<Vec<f64>>, method: &str) -> Result<Vec<f64>, SimError> {
    mu.clone()
        .ok_or_else(|| invalid("expected_returns", format!("{method} needs expected returns (or prices/returns)")))
}

/// Runs one request: estimates, optimizes and reports the portfolio.
pub fn optimize(r: &Request) -> Result<Response, SimError> {
    let n = r.assets.len();
    if n == 0 {
        return Err(invalid("assets", "must name at least one asset"));
    }
    for (i, a) in r.assets.iter().enumerate() {
        if r.assets[..i].contains(a) {
            return Err(invalid("assets", format!("{a:?} appears twice")));
        }
    }
    let frequency = r.frequency.unwrap_or(252.0);
    if !(frequency.is_finite() && frequency > 0.0) {
        return Err(invalid("frequency", "must be a positive number of periods a year"));
    }
    let rf = r.risk_free_rate.unwrap_or(0.0);
    if !rf.is_finite() {
        return Err(invalid("risk_free_rate", "must be a finite number"));
    }
    let inp = inputs(r, n, frequency)?;
    let c = constraints(r, n)?;
    let mut cov = inp.cov.clone();
    let mut mu = inp.mu.clone();
    let mut extra = Extra::default();
    let method = if r.method == Method::BlackLitterman {
        let caps = r.market_caps.as_ref().ok_or_else(|| invalid("market_caps", "black_litterman needs market caps"))?;
        let caps = per_asset(&r.assets, caps, "market_caps", 0.0)?;
        if caps.iter().any(|&v| v < 0.0) || caps.iter().sum::<f64>() <= 0.0 {
            return Err(invalid("market_caps", "must be at least 0 with a positive total"));
        }
        let delta = r.risk_aversion.unwrap_or(1.0);
        if !(delta.is_finite() && delta > 0.0) {
            return Err(invalid("risk_aversion", "must be a positive number"));
        }
        let prior = implied_returns(&cov, &caps, delta, rf);
        let views = r
            .views
            .iter()
            .map(|v| {
                Ok(View {
                    weights: per_asset(&r.assets, &v.weights, "views", 0.0)?,
                    expected: v.expected,
                    confidence: v.confidence,
                })
            })
            .collect::<Result<Vec<_>, SimError>>()?;
        let post = posterior(&cov, &prior, r.tau.unwrap_or(0.05), &views)?;
        extra.prior = Some(prior);
        extra.posterior = Some(post.returns.clone());
        cov = post.covariance;
        mu = Some(post.returns);
        match r.optimizer.unwrap_or(Method::MaxSharpe) {
            Method::BlackLitterman | Method::Hrp | Method::MinCvar => {
                return Err(invalid("optimizer", "must be a mean-variance, risk-parity or diversification method"))
            }
            m => m,
        }
    } else {
        r.method
    };
    let weights = match method {
        Method::MinVariance => min_variance(&cov, &c)?,
        Method::MaxSharpe => max_sharpe(&cov, &need(&mu, "max_sharpe")?, rf, &c)?,
        Method::EfficientReturn => {
            let t = r.target_return.ok_or_else(|| invalid("target_return", "efficient_return needs it"))?;
            efficient_return(&cov, &need(&mu, "efficient_return")?, t, &c)?
        }
        Method::EfficientRisk => {
            let t = r.target_risk.ok_or_else(|| invalid("target_risk", "efficient_risk needs it"))?;
            efficient_risk(&cov, &need(&mu, "efficient_risk")?, t, &c)?
        }
        Method::MaxDiversification => max_diversification(&cov, &c)?,
        Method::RiskParity => {
            let b = r.risk_budgets.as_ref().map(|m| per_asset(&r.assets, m, "risk_budgets", 0.0)).transpose()?;
            risk_parity(&cov, b.as_deref(), &c)?
        }
        Method::Hrp => {
            if c != Constraints::long_only(n) {
                return Err(invalid("bounds", "hrp takes no bounds, groups or turnover limit"));
            }
            match (&inp.returns, r.covariance_estimator) {
                (Some(x), CovarianceEstimator::Sample) => hrp::hrp(&sample_cov_raw(x), &correlation(x))?,
                _ => hrp::hrp(&cov, &cov_to_corr(&cov).map(|v| (v * 1e6).round_ties_even() / 1e6))?,
            }
        }
        Method::MinCvar => {
            let x = inp.returns.as_ref().ok_or_else(|| invalid("returns", "min_cvar needs prices or returns"))?;
            let m = cvar::min_cvar(x, r.beta.unwrap_or(0.95), &c)?;
            extra.cvar = Some((m.cvar, m.var));
            m.weights
        }
        Method::BlackLitterman => unreachable!("replaced by its optimizer above"),
    };
    let named = |v: &[f64]| Weights(r.assets.iter().cloned().zip(v.iter().copied()).collect());
    let volatility = quad(&cov, &weights).max(0.0).sqrt();
    let expected_return = mu.as_ref().map(|m| dot(m, &weights));
    Ok(Response {
        weights: named(&weights),
        expected_return,
        volatility,
        sharpe: expected_return.filter(|_| volatility > 0.0).map(|e| (e - rf) / volatility),
        risk_contributions: named(&risk_contributions(&cov, &weights)),
        diversification_ratio: (method == Method::MaxDiversification).then(|| diversification_ratio(&cov, &weights)),
        cvar: extra.cvar.map(|c| c.0),
        var: extra.cvar.map(|c| c.1),
        prior_returns: extra.prior.as_deref().map(named),
        posterior_returns: extra.posterior.as_deref().map(named),
        shrinkage: inp.shrinkage,
    })
}

#[derive(Default)]
struct Extra {
    cvar: Option<(f64, f64)>,
    prior: Option<Vec<f64>>,
    posterior: Option<Vec<f64>>,
}
