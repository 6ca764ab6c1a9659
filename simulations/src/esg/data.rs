//! Provider data: company records, holdings, and their validation.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{invalid, SimError};

/// The most companies one request may carry.
pub const MAX_COMPANIES: usize = 5_000;
/// The most holdings one portfolio may carry.
pub const MAX_HOLDINGS: usize = 5_000;
/// The most SDG entries, themes or temperature scores one company may carry.
pub const MAX_ENTRIES: usize = 64;
/// The largest absolute amount (money or emissions) accepted, so that sums stay finite.
pub const MAX_AMOUNT: f64 = 1e15;

/// A company as an ESG data provider describes it. Every amount is optional except the id;
/// what is missing lowers the coverage of the metrics that need it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Company {
    /// Identifier (ticker, ISIN or the provider's id); unique in the request.
    pub id: String,
    /// Display name; none when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Sector (any classification, compared exactly); none when absent.
    #[serde(default)]
    pub sector: Option<String>,
    /// ESG scores on the provider's 0-100 scale (higher is better); none when absent.
    #[serde(default)]
    pub scores: Option<EsgScores>,
    /// Controversy level, 0 (none) to 5 (most severe); none when absent.
    #[serde(default)]
    pub controversy: Option<u8>,
    /// Whether the company breaches international norms (UN Global Compact, OECD guidelines);
    /// false when absent.
    #[serde(default)]
    pub norms_violation: bool,
    /// Annual revenue in dollars (the same currency as every amount); none when absent.
    #[serde(default)]
    pub revenue: Option<f64>,
    /// Greenhouse-gas emissions in tCO2e a year; none when absent.
    #[serde(default)]
    pub emissions: Option<Emissions>,
    /// Enterprise value including cash (EVIC) in dollars, PCAF's denominator for listed
    /// companies; none when absent.
    #[serde(default)]
    pub evic: Option<f64>,
    /// Total debt in dollars (PCAF's denominator with `total_equity` when EVIC is absent);
    /// none when absent.
    #[serde(default)]
    pub total_debt: Option<f64>,
    /// Total equity in dollars (book value); none when absent.
    #[serde(default)]
    pub total_equity: Option<f64>,
    /// Market capitalisation in dollars (MOTS, carbon VaR); none when absent.
    #[serde(default)]
    pub market_cap: Option<f64>,
    /// Enterprise value in dollars (EOTS, and ECOTS with `cash`); none when absent.
    #[serde(default)]
    pub enterprise_value: Option<f64>,
    /// Cash and equivalents in dollars (ECOTS); none when absent.
    #[serde(default)]
    pub cash: Option<f64>,
    /// Total assets in dollars (AOTS); none when absent.
    #[serde(default)]
    pub total_assets: Option<f64>,
    /// Share of revenue aligned with each UN Sustainable Development Goal; each share 0-1, the
    /// shares summing to at most 1; empty when absent.
    #[serde(default)]
    pub sdg: Vec<SdgShare>,
    /// Themes the company belongs to (e.g. "clean energy"), compared exactly; empty when absent.
    #[serde(default)]
    pub themes: Vec<String>,
    /// Temperature scores (°C) reported or derived from targets, per time frame and scope;
    /// those absent take the default score.
    #[serde(default)]
    pub temperature: Vec<TemperatureEntry>,
    /// PCAF data-quality score, 1 (audited emissions) to 5 (estimated from asset turnover);
    /// none when absent.
    #[serde(default)]
    pub pcaf_quality: Option<u8>,
}

/// ESG scores, each 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EsgScores {
    /// Environmental pillar, 0-100.
    pub environmental: f64,
    /// Social pillar, 0-100.
    pub social: f64,
    /// Governance pillar, 0-100.
    pub governance: f64,
    /// Overall score, 0-100.
    pub total: f64,
}

/// Emissions by scope, tCO2e a year, each 0 or more.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Emissions {
    /// Scope 1 (direct) emissions; none when not reported.
    #[serde(default)]
    pub scope1: Option<f64>,
    /// Scope 2 (purchased energy) emissions; none when not reported.
    #[serde(default)]
    pub scope2: Option<f64>,
    /// Scope 3 (value chain) emissions; none when not reported.
    #[serde(default)]
    pub scope3: Option<f64>,
}

/// A share of revenue aligned with one Sustainable Development Goal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SdgShare {
    /// The goal, 1 to 17.
    pub goal: u8,
    /// Share of revenue, 0 to 1.
    pub share: f64,
}

/// The time frames of the SBTi temperature scoring methodology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeFrame {
    /// Targets ending within 5 years.
    Short,
    /// Targets ending in 5 to 15 years.
    Mid,
    /// Targets ending in 15 to 30 years.
    Long,
}

/// The emission scopes a temperature score covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum TemperatureScope {
    /// Scopes 1 and 2.
    #[serde(rename = "S1S2")]
    S1S2,
    /// Scope 3.
    #[serde(rename = "S3")]
    S3,
    /// Scopes 1, 2 and 3.
    #[serde(rename = "S1S2S3")]
    S1S2S3,
}

/// One temperature score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemperatureEntry {
    /// The time frame.
    pub time_frame: TimeFrame,
    /// The scopes covered.
    pub scope: TemperatureScope,
    /// The score in °C, 0 to 10.
    pub score: f64,
}

/// A holding: a company and its market value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Holding {
    /// The company's id, one of `companies[].id`.
    pub id: String,
    /// Market value (the outstanding amount, for PCAF) in dollars, 0 or more.
    pub value: f64,
}

impl Company {
    /// Scope 1 + 2 emissions when both are reported (scope 2 alone missing counts as missing).
    pub fn scope12(&self) -> Option<f64> {
        let e = self.emissions?;
        Some(e.scope1? + e.scope2?)
    }

    /// Scope 3 emissions when reported.
    pub fn scope3(&self) -> Option<f64> {
        self.emissions?.scope3
    }

    /// Total SDG-aligned share of revenue (0 to 1; 0 when none reported).
    pub fn sdg_total(&self) -> f64 {
        self.sdg.iter().map(|s| s.share).sum::<f64>().min(1.0)
    }

    /// The reported temperature score for a time frame and scope.
    pub fn temperature(&self, tf: TimeFrame, scope: TemperatureScope) -> Option<f64> {
        self.temperature.iter().find(|t| t.time_frame == tf && t.scope == scope).map(|t| t.score)
    }
}

fn amount(field: &str, v: Option<f64>) -> Result<(), SimError> {
    if let Some(v) = v {
        if !v.is_finite() || !(0.0..=MAX_AMOUNT).contains(&v) {
            return Err(invalid(field, format!("must be between 0 and {MAX_AMOUNT:e}, got {v}")));
        }
    }
    Ok(())
}

/// Checks a universe of companies and returns the index of each id.
pub fn validate_companies(companies: &[Company]) -> Result<HashMap<&str, usize>, SimError> {
    if companies.len() > MAX_COMPANIES {
        return Err(invalid("companies", format!("at most {MAX_COMPANIES} companies, got {}", companies.len())));
    }
    let mut index = HashMap::with_capacity(companies.len());
    for (i, c) in companies.iter().enumerate() {
        if !c.id.is_empty() && index.insert(c.id.as_str(), i).is_some() {
            return Err(invalid(format!("companies[{i}].id"), format!("duplicate id {:?}", c.id)));
        }
        validate_company(c).map_err(|(field, problem)| invalid(format!("companies[{i}].{field}"), problem))?;
    }
    Ok(index)
}

/// Checks one company's values (not the uniqueness of its id); a refusal names the field
/// within the company (`emissions.scope1`, `sdg[2].share`) and the problem.
pub fn validate_company(c: &Company) -> Result<(), (String, String)> {
    let fail = |field: &str, problem: String| Err((field.to_owned(), problem));
    if c.id.is_empty() {
        return fail("id", "must not be empty".into());
    }
    if let Some(s) = c.scores {
        for (name, v) in [
            ("scores.environmental", s.environmental),
            ("scores.social", s.social),
            ("scores.governance", s.governance),
            ("scores.total", s.total),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return fail(name, format!("must be between 0 and 100, got {v}"));
            }
        }
    }
    if let Some(level) = c.controversy {
        if level > 5 {
            return fail("controversy", format!("must be 0 to 5, got {level}"));
        }
    }
    let e = c.emissions.unwrap_or_default();
    for (name, v) in [
        ("revenue", c.revenue),
        ("emissions.scope1", e.scope1),
        ("emissions.scope2", e.scope2),
        ("emissions.scope3", e.scope3),
        ("evic", c.evic),
        ("total_debt", c.total_debt),
        ("total_equity", c.total_equity),
        ("market_cap", c.market_cap),
        ("enterprise_value", c.enterprise_value),
        ("cash", c.cash),
        ("total_assets", c.total_assets),
    ] {
        if let Some(v) = v {
            if !v.is_finite() || !(0.0..=MAX_AMOUNT).contains(&v) {
                return fail(name, format!("must be between 0 and {MAX_AMOUNT:e}, got {v}"));
            }
        }
    }
    for (name, len) in [("sdg", c.sdg.len()), ("themes", c.themes.len()), ("temperature", c.temperature.len())] {
        if len > MAX_ENTRIES {
            return fail(name, format!("at most {MAX_ENTRIES} entries, got {len}"));
        }
    }
    let mut total = 0.0;
    for (k, s) in c.sdg.iter().enumerate() {
        if !(1..=17).contains(&s.goal) {
            return fail(&format!("sdg[{k}].goal"), format!("must be 1 to 17, got {}", s.goal));
        }
        if !(0.0..=1.0).contains(&s.share) {
            return fail(&format!("sdg[{k}].share"), format!("must be between 0 and 1, got {}", s.share));
        }
        if c.sdg[..k].iter().any(|o| o.goal == s.goal) {
            return fail(&format!("sdg[{k}].goal"), format!("goal {} appears twice", s.goal));
        }
        total += s.share;
    }
    if total > 1.0 + 1e-9 {
        return fail("sdg", format!("shares sum to {total}, above 1"));
    }
    for (k, t) in c.temperature.iter().enumerate() {
        if !(0.0..=10.0).contains(&t.score) {
            return fail(&format!("temperature[{k}].score"), format!("must be between 0 and 10 °C, got {}", t.score));
        }
        if c.temperature[..k].iter().any(|o| o.time_frame == t.time_frame && o.scope == t.scope) {
            return fail(&format!("temperature[{k}]"), "time frame and scope appear twice".into());
        }
    }
    if let Some(q) = c.pcaf_quality {
        if !(1..=5).contains(&q) {
            return fail("pcaf_quality", format!("must be 1 to 5, got {q}"));
        }
    }
    Ok(())
}

/// Checks holdings against the universe; returns (company index, value) pairs and the total
/// value, which must be positive.
pub fn validate_holdings(
    holdings: &[Holding],
    index: &HashMap<&str, usize>,
) -> Result<(Vec<(usize, f64)>, f64), SimError> {
    if holdings.is_empty() {
        return Err(invalid("holdings", "must not be empty"));
    }
    if holdings.len() > MAX_HOLDINGS {
        return Err(invalid("holdings", format!("at most {MAX_HOLDINGS} holdings, got {}", holdings.len())));
    }
    let mut out = Vec::with_capacity(holdings.len());
    let mut seen = vec![false; index.len()];
    let mut total = 0.0;
    for (i, h) in holdings.iter().enumerate() {
        let Some(&c) = index.get(h.id.as_str()) else {
            return Err(invalid(format!("holdings[{i}].id"), format!("{:?} is not among the companies", h.id)));
        };
        if std::mem::replace(&mut seen[c], true) {
            return Err(invalid(format!("holdings[{i}].id"), format!("{:?} is held twice", h.id)));
        }
        amount(&format!("holdings[{i}].value"), Some(h.value))?;
        total += h.value;
        out.push((c, h.value));
    }
    if total <= 0.0 {
        return Err(invalid("holdings", "the total value must be positive"));
    }
    Ok((out, total))
}
