//! The impact report of a portfolio.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::carbon::{carbon, CarbonRequest, Covered, Scopes};
use super::data::{validate_companies, validate_holdings, Company, Holding, TemperatureScope, TimeFrame};
use super::provider::universe;
use super::temperature::{AggregationMethod, TemperatureOptions, TemperatureResult, DEFAULT_SCORE};
use crate::SimError;

/// Metric tons of CO2e emitted by a typical passenger vehicle in a year: the US EPA's figure
/// ("Greenhouse Gas Emissions from a Typical Passenger Vehicle", used by its Greenhouse Gas
/// Equivalencies Calculator: about 4.6 tCO2 a year).
pub const TCO2E_PER_CAR_YEAR: f64 = 4.6;

/// A request for an impact report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactRequest {
    /// The companies (up to 5,000); may be left out when `companies_csv` lists them.
    #[serde(default)]
    pub companies: Vec<Company>,
    /// The companies as a provider CSV file instead of `companies`: a header row of named
    /// columns (`id` required), one row per company, as `cairn quant esg-carbon --help` and
    /// `simulations::esg::provider` describe; none when absent. A refusal names the line and
    /// the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companies_csv: Option<String>,
    /// The portfolio.
    pub holdings: Vec<Holding>,
    /// Scopes for the carbon figures; S1S2 when absent.
    #[serde(default)]
    pub scopes: Scopes,
    /// Aggregation method of the temperature scores; WATS when absent.
    #[serde(default = "wats")]
    pub temperature_method: AggregationMethod,
    /// Default temperature score, °C; 3.2 when absent.
    #[serde(default = "default_score")]
    pub default_temperature: f64,
}

fn wats() -> AggregationMethod {
    AggregationMethod::Wats
}
fn default_score() -> f64 {
    DEFAULT_SCORE
}

/// Value-weighted ESG scores over the holdings that have them.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WeightedScores {
    /// Environmental, 0-100; none when no holding has scores.
    pub environmental: Option<f64>,
    /// Social, 0-100.
    pub social: Option<f64>,
    /// Governance, 0-100.
    pub governance: Option<f64>,
    /// Total, 0-100.
    pub total: Option<f64>,
    /// Share of value with scores, 0-1.
    pub coverage: f64,
}

/// The impact report.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ImpactReport {
    /// Total value in dollars.
    pub portfolio_value: f64,
    /// ESG scores.
    pub scores: WeightedScores,
    /// Financed emissions, tCO2e a year.
    pub financed_emissions: Covered,
    /// Carbon footprint, tCO2e per $M invested.
    pub carbon_footprint: Covered,
    /// WACI, tCO2e per $M revenue.
    pub waci: Covered,
    /// Financed emissions as passenger cars driven for a year (÷ 4.6 t, US EPA).
    pub cars_per_year: Option<f64>,
    /// Temperature scores, mid time frame, S1S2 and S1S2S3, with the chosen method.
    pub temperature: Vec<TemperatureResult>,
    /// Value-weighted share of revenue aligned with each SDG (goal → 0-1); the sum is the
    /// aligned share.
    pub sdg: BTreeMap<u8, f64>,
    /// Total SDG-aligned share of revenue, 0-1.
    pub sdg_aligned: f64,
    /// Share of value in companies with each theme, 0-1.
    pub themes: BTreeMap<String, f64>,
}

/// Builds the impact report.
pub fn impact_report(req: &ImpactRequest) -> Result<ImpactReport, SimError> {
    let companies = universe(&req.companies, req.companies_csv.as_deref())?;
    let index = validate_companies(&companies)?;
    let (held, total) = validate_holdings(&req.holdings, &index)?;
    let c = carbon(&CarbonRequest {
        companies: companies.to_vec(),
        companies_csv: None,
        holdings: req.holdings.clone(),
        scopes: req.scopes,
        temperature: Some(TemperatureOptions {
            methods: vec![req.temperature_method],
            time_frames: vec![TimeFrame::Mid],
            scopes: vec![TemperatureScope::S1S2, TemperatureScope::S1S2S3],
            default_score: req.default_temperature,
        }),
        carbon_price: None,
    })?;
    let (mut e, mut s, mut g, mut t, mut cov) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut sdg = BTreeMap::new();
    let mut themes: BTreeMap<String, f64> = BTreeMap::new();
    for &(i, v) in &held {
        let co = &companies[i];
        if let Some(x) = co.scores {
            e += v * x.environmental;
            s += v * x.social;
            g += v * x.governance;
            t += v * x.total;
            cov += v;
        }
        for x in &co.sdg {
            *sdg.entry(x.goal).or_insert(0.0) += v / total * x.share;
        }
        // A theme listed twice by one company counts once.
        let own: std::collections::BTreeSet<&String> = co.themes.iter().collect();
        for th in own {
            *themes.entry(th.clone()).or_insert(0.0) += v / total;
        }
    }
    let avg = |x: f64| (cov > 0.0).then(|| x / cov);
    Ok(ImpactReport {
        portfolio_value: total,
        scores: WeightedScores {
            environmental: avg(e),
            social: avg(s),
            governance: avg(g),
            total: avg(t),
            coverage: cov / total,
        },
        cars_per_year: c.financed_emissions.value.map(|f| f / TCO2E_PER_CAR_YEAR),
        financed_emissions: c.financed_emissions,
        carbon_footprint: c.carbon_footprint,
        waci: c.waci,
        temperature: c.temperature,
        sdg_aligned: sdg.values().sum::<f64>().min(1.0),
        sdg,
        themes,
    })
}
