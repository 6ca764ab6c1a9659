//! Portfolio temperature scores: the aggregation methods of the SBTi finance tool
//! (`SBTi/portfolio_aggregation.py` and `temperature_score.py` of
//! github.com/ScienceBasedTargets/SBTi-finance-tool).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::data::{Company, TemperatureScope, TimeFrame};
use crate::{invalid, SimError};

/// The SBTi default ("fallback") score for a company without a target, °C.
pub const DEFAULT_SCORE: f64 = 3.2;

/// How company scores are weighted into a portfolio score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AggregationMethod {
    /// Weighted average: weights are the holdings' values.
    #[serde(rename = "WATS")]
    Wats,
    /// Total emissions: weights are the companies' emissions in the scope.
    #[serde(rename = "TETS")]
    Tets,
    /// Market owned emissions: value / market cap × emissions.
    #[serde(rename = "MOTS")]
    Mots,
    /// Enterprise owned emissions: value / enterprise value × emissions.
    #[serde(rename = "EOTS")]
    Eots,
    /// EV plus cash owned emissions: value / (enterprise value + cash) × emissions.
    #[serde(rename = "ECOTS")]
    Ecots,
    /// Total assets owned emissions: value / total assets × emissions.
    #[serde(rename = "AOTS")]
    Aots,
    /// Revenue owned emissions: value / revenue × emissions.
    #[serde(rename = "ROTS")]
    Rots,
}

impl AggregationMethod {
    /// Every method.
    pub const ALL: [AggregationMethod; 7] =
        [Self::Wats, Self::Tets, Self::Mots, Self::Eots, Self::Ecots, Self::Aots, Self::Rots];

    fn denominator(self, c: &Company) -> Result<Option<f64>, &'static str> {
        let need = |v: Option<f64>, name| v.ok_or(name).map(Some);
        match self {
            Self::Wats | Self::Tets => Ok(None),
            Self::Mots => need(c.market_cap, "market_cap"),
            Self::Eots => need(c.enterprise_value, "enterprise_value"),
            Self::Ecots => match (c.enterprise_value, c.cash) {
                (Some(ev), Some(cash)) => Ok(Some(ev + cash)),
                (None, _) => Err("enterprise_value"),
                _ => Err("cash"),
            },
            Self::Aots => need(c.total_assets, "total_assets"),
            Self::Rots => need(c.revenue, "revenue"),
        }
    }
}

/// What temperature scores to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemperatureOptions {
    /// Aggregation methods; all seven when absent.
    #[serde(default = "all_methods")]
    pub methods: Vec<AggregationMethod>,
    /// Time frames; short, mid and long when absent.
    #[serde(default = "all_time_frames")]
    pub time_frames: Vec<TimeFrame>,
    /// Scopes; S1S2, S3 and S1S2S3 when absent.
    #[serde(default = "all_scopes")]
    pub scopes: Vec<TemperatureScope>,
    /// Score in °C for a company with no score for a time frame and scope; 3.2 (SBTi) when
    /// absent; 0 to 10.
    #[serde(default = "default_score")]
    pub default_score: f64,
}

impl Default for TemperatureOptions {
    fn default() -> Self {
        Self {
            methods: all_methods(),
            time_frames: all_time_frames(),
            scopes: all_scopes(),
            default_score: DEFAULT_SCORE,
        }
    }
}

fn all_methods() -> Vec<AggregationMethod> {
    AggregationMethod::ALL.to_vec()
}
fn all_time_frames() -> Vec<TimeFrame> {
    vec![TimeFrame::Short, TimeFrame::Mid, TimeFrame::Long]
}
fn all_scopes() -> Vec<TemperatureScope> {
    vec![TemperatureScope::S1S2, TemperatureScope::S3, TemperatureScope::S1S2S3]
}
fn default_score() -> f64 {
    DEFAULT_SCORE
}

/// One portfolio temperature score.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TemperatureResult {
    /// The method.
    pub method: AggregationMethod,
    /// The time frame.
    pub time_frame: TimeFrame,
    /// The scopes.
    pub scope: TemperatureScope,
    /// The portfolio score in °C; none when the method lacks data (see `problem`).
    pub score: Option<f64>,
    /// Share (0-1) of the score that comes from default scores (the tool's "influence
    /// percentage" / 100); none with the score.
    pub default_share: Option<f64>,
    /// Why the score could not be computed; none when it was.
    pub problem: Option<String>,
}

/// A company's score for a time frame and scope and whether it is the default (1) or not (0);
/// S1S2S3 without a reported score combines S1S2 and S3 as the tool does: the S1S2 score when
/// scope 3 is under 40% of the total, otherwise the emissions-weighted mean.
pub fn company_score(c: &Company, tf: TimeFrame, scope: TemperatureScope, default: f64) -> (f64, f64) {
    if let Some(s) = c.temperature(tf, scope) {
        return (s, 0.0);
    }
    if scope != TemperatureScope::S1S2S3 {
        return (default, 1.0);
    }
    let s12 = company_score(c, tf, TemperatureScope::S1S2, default);
    let s3 = company_score(c, tf, TemperatureScope::S3, default);
    match (c.scope12(), c.scope3()) {
        (Some(e12), Some(e3)) if e12 + e3 > 0.0 => {
            if e3 / (e12 + e3) < 0.4 {
                s12
            } else {
                let t = e12 + e3;
                ((s12.0 * e12 + s3.0 * e3) / t, (s12.1 * e12 + s3.1 * e3) / t)
            }
        }
        _ => (default, 1.0),
    }
}

fn scope_emissions(c: &Company, scope: TemperatureScope) -> Option<f64> {
    match scope {
        TemperatureScope::S1S2 => c.scope12(),
        TemperatureScope::S3 => c.scope3(),
        TemperatureScope::S1S2S3 => Some(c.scope12()? + c.scope3()?),
    }
}

/// One portfolio score: the weighted mean of the company scores with the method's weights.
pub fn aggregate(
    companies: &[Company],
    holdings: &[(usize, f64)],
    method: AggregationMethod,
    tf: TimeFrame,
    scope: TemperatureScope,
    default: f64,
) -> Result<(f64, f64), String> {
    let mut weights = Vec::with_capacity(holdings.len());
    for &(i, value) in holdings {
        let c = &companies[i];
        let w = match method {
            AggregationMethod::Wats => value,
            _ => {
                let e = scope_emissions(c, scope)
                    .ok_or_else(|| format!("{} has no emissions for {scope:?}, which {method:?} needs", c.id))?;
                match method.denominator(c).map_err(|f| format!("{} has no {f}, which {method:?} needs", c.id))? {
                    None => e,
                    Some(d) if d >= 1.0 => value / d * e,
                    Some(_) => return Err(format!("{} has a denominator under $1, which {method:?} divides by", c.id)),
                }
            }
        };
        weights.push(w);
    }
    let total: f64 = weights.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return Err(format!("the total weight for {method:?} is zero"));
    }
    let (mut score, mut def) = (0.0, 0.0);
    for (&(i, _), w) in holdings.iter().zip(&weights) {
        let (s, d) = company_score(&companies[i], tf, scope, default);
        score += w / total * s;
        def += w / total * d;
    }
    Ok((score, def))
}

/// Every requested method × time frame × scope.
pub fn temperature_scores(
    companies: &[Company],
    holdings: &[(usize, f64)],
    opts: &TemperatureOptions,
) -> Result<Vec<TemperatureResult>, SimError> {
    if !(0.0..=10.0).contains(&opts.default_score) {
        return Err(invalid("temperature.default_score", format!("must be 0 to 10 °C, got {}", opts.default_score)));
    }
    for (name, len) in
        [("methods", opts.methods.len()), ("time_frames", opts.time_frames.len()), ("scopes", opts.scopes.len())]
    {
        if len > 16 {
            return Err(invalid(format!("temperature.{name}"), "at most 16 entries"));
        }
    }
    let mut out = Vec::new();
    for &method in &opts.methods {
        for &tf in &opts.time_frames {
            for &scope in &opts.scopes {
                let r = aggregate(companies, holdings, method, tf, scope, opts.default_score);
                let (score, default_share, problem) = match r {
                    Ok((s, d)) => (Some(s), Some(d), None),
                    Err(p) => (None, None, Some(p)),
                };
                out.push(TemperatureResult { method, time_frame: tf, scope, score, default_share, problem });
            }
        }
    }
    Ok(out)
}
