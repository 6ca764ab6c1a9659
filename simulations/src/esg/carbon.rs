//! Carbon metrics of a portfolio: WACI, PCAF financed emissions, carbon footprint, temperature
//! scores and carbon value at risk.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::data::{validate_companies, validate_holdings, Company, Holding};
use super::provider::universe;
use super::temperature::{temperature_scores, TemperatureOptions, TemperatureResult};
use crate::{invalid, SimError};

/// The most years a carbon-price path may have.
pub const MAX_PRICE_YEARS: usize = 200;

/// Which emission scopes the carbon metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum Scopes {
    /// Scope 1 only.
    #[serde(rename = "S1")]
    S1,
    /// Scopes 1 and 2 (TCFD's default).
    #[default]
    #[serde(rename = "S1S2")]
    S1S2,
    /// Scopes 1, 2 and 3.
    #[serde(rename = "S1S2S3")]
    S1S2S3,
}

impl Scopes {
    /// The company's emissions in these scopes, when every scope needed is reported.
    pub fn of(self, c: &Company) -> Option<f64> {
        let e = c.emissions?;
        match self {
            Scopes::S1 => e.scope1,
            Scopes::S1S2 => Some(e.scope1? + e.scope2?),
            Scopes::S1S2S3 => Some(e.scope1? + e.scope2? + e.scope3?),
        }
    }
}

/// A carbon-price path for carbon value at risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CarbonPrice {
    /// Price in $/tCO2e for each year ahead (year 1 first); 1 to 200 years, each 0 to 10,000.
    pub prices: Vec<f64>,
    /// Annual discount rate, −0.5 to 1; 0.05 when absent.
    #[serde(default = "default_discount")]
    pub discount_rate: f64,
    /// Share of the cost passed on to customers, 0 to 1; 0 when absent.
    #[serde(default)]
    pub pass_through: f64,
    /// Whether scope 2 is charged as well as scope 1; true when absent.
    #[serde(default = "yes")]
    pub include_scope2: bool,
    /// Annual growth of emissions, −1 to 1 (−0.042 for a 1.5 °C-aligned cut); 0 when absent.
    #[serde(default)]
    pub emissions_growth: f64,
}

fn default_discount() -> f64 {
    0.05
}
fn yes() -> bool {
    true
}

/// A request for the carbon metrics of a portfolio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CarbonRequest {
    /// The companies (up to 5,000); may be left out when `companies_csv` lists them.
    #[serde(default)]
    pub companies: Vec<Company>,
    /// The companies as a provider CSV file instead of `companies`: a header row of named
    /// columns (`id` required), one row per company, as `cairn quant esg-carbon --help` and
    /// `simulations::esg::provider` describe; none when absent. A refusal names the line and
    /// the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companies_csv: Option<String>,
    /// The portfolio: company ids and market values in dollars.
    pub holdings: Vec<Holding>,
    /// Scopes counted by WACI, financed emissions and footprint; S1S2 when absent.
    #[serde(default)]
    pub scopes: Scopes,
    /// Temperature scores to compute; every method, time frame and scope with the 3.2 °C
    /// default when absent.
    #[serde(default)]
    pub temperature: Option<TemperatureOptions>,
    /// Carbon-price path for carbon value at risk; none computed when absent.
    #[serde(default)]
    pub carbon_price: Option<CarbonPrice>,
}

/// A holding's carbon figures.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct HoldingCarbon {
    /// The company's id.
    pub id: String,
    /// Portfolio weight, 0-1.
    pub weight: f64,
    /// Emissions intensity, tCO2e per $M of revenue; none without emissions or revenue (a
    /// denominator under $1 counts as missing, here and below).
    pub intensity: Option<f64>,
    /// PCAF attribution factor (value / EVIC, or value / (debt + equity) without EVIC); none
    /// without them.
    pub attribution: Option<f64>,
    /// Financed emissions, tCO2e; none without emissions or attribution.
    pub financed_emissions: Option<f64>,
    /// Present value of the carbon cost as a share of market cap, 0-1 (capped at 1); none
    /// without a price path, emissions or market cap.
    pub carbon_var_share: Option<f64>,
}

/// A metric and the share of portfolio value (0-1) it covers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Covered {
    /// The value over the covered holdings (for WACI and the data-quality score, re-weighted
    /// to the covered holdings); none when nothing is covered.
    pub value: Option<f64>,
    /// Share of the portfolio's value with the data the metric needs, 0-1.
    pub coverage: f64,
}

/// Carbon metrics of a portfolio.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CarbonResult {
    /// Total market value in dollars.
    pub portfolio_value: f64,
    /// Weighted average carbon intensity (TCFD), tCO2e per $M revenue.
    pub waci: Covered,
    /// Financed emissions (PCAF), tCO2e, over the covered holdings.
    pub financed_emissions: Covered,
    /// Carbon footprint = PCAF economic emissions intensity: financed emissions per $M
    /// invested, over the covered holdings.
    pub carbon_footprint: Covered,
    /// Carbon intensity (TCFD): financed emissions per $M of financed revenue.
    pub carbon_intensity: Covered,
    /// Value-weighted PCAF data-quality score, 1-5 (lower is better).
    pub data_quality: Covered,
    /// Temperature scores.
    pub temperature: Vec<TemperatureResult>,
    /// Present value of the carbon cost borne by the portfolio in dollars (each holding's share
    /// of market cap times its value); none without a price path.
    pub carbon_var: Option<Covered>,
    /// `carbon_var` as a share of the covered value, 0-1.
    pub carbon_var_share: Option<f64>,
    /// Per holding, in the order given.
    pub holdings: Vec<HoldingCarbon>,
}

fn check_price(p: &CarbonPrice) -> Result<(), SimError> {
    if p.prices.is_empty() || p.prices.len() > MAX_PRICE_YEARS {
        return Err(invalid("carbon_price.prices", format!("1 to {MAX_PRICE_YEARS} years")));
    }
    for (t, &v) in p.prices.iter().enumerate() {
        if !(0.0..=10_000.0).contains(&v) {
            return Err(invalid(format!("carbon_price.prices[{t}]"), format!("must be 0 to 10,000 $/t, got {v}")));
        }
    }
    if !(-0.5..=1.0).contains(&p.discount_rate) {
        return Err(invalid("carbon_price.discount_rate", format!("must be -0.5 to 1, got {}", p.discount_rate)));
    }
    if !(0.0..=1.0).contains(&p.pass_through) {
        return Err(invalid("carbon_price.pass_through", format!("must be 0 to 1, got {}", p.pass_through)));
    }
    if !(-1.0..=1.0).contains(&p.emissions_growth) {
        return Err(invalid("carbon_price.emissions_growth", format!("must be -1 to 1, got {}", p.emissions_growth)));
    }
    Ok(())
}

/// Present value of a company's carbon cost in dollars: Σₜ pₜ·E·(1+g)^(t−1)·(1−pass-through)
/// / (1+r)^t, t = 1..T.
pub fn carbon_cost(c: &Company, p: &CarbonPrice) -> Option<f64> {
    let e = c.emissions?;
    let base = e.scope1? + if p.include_scope2 { e.scope2? } else { 0.0 };
    let mut pv = 0.0;
    let (mut grow, mut disc) = (1.0, 1.0);
    for &price in &p.prices {
        disc /= 1.0 + p.discount_rate;
        pv += price * base * grow * (1.0 - p.pass_through) * disc;
        grow *= 1.0 + p.emissions_growth;
    }
    Some(pv)
}

fn covered(num: f64, cov: f64, total: f64) -> Covered {
    Covered { value: (cov > 0.0).then_some(num), coverage: cov / total }
}

/// Carbon metrics of the portfolio.
pub fn carbon(req: &CarbonRequest) -> Result<CarbonResult, SimError> {
    let cs = universe(&req.companies, req.companies_csv.as_deref())?;
    let cs = &cs[..];
    let index = validate_companies(cs)?;
    let (held, total) = validate_holdings(&req.holdings, &index)?;
    if let Some(p) = &req.carbon_price {
        check_price(p)?;
    }
    let (mut waci, mut waci_cov) = (0.0, 0.0);
    let (mut fin, mut fin_cov, mut fin_rev, mut fin_int, mut int_cov) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut dq, mut dq_cov) = (0.0, 0.0);
    let (mut var, mut var_cov) = (0.0, 0.0);
    let mut rows = Vec::with_capacity(held.len());
    for &(i, value) in &held {
        let c = &cs[i];
        let e = req.scopes.of(c);
        let intensity = match (e, c.revenue) {
            (Some(e), Some(r)) if r >= 1.0 => Some(e / (r / 1e6)),
            _ => None,
        };
        if let Some(x) = intensity {
            waci += value * x;
            waci_cov += value;
        }
        let denom = c.evic.or(match (c.total_debt, c.total_equity) {
            (Some(d), Some(q)) => Some(d + q),
            _ => None,
        });
        let attribution = denom.filter(|&d| d >= 1.0).map(|d| value / d);
        let financed = attribution.zip(e).map(|(a, e)| a * e);
        if let Some(f) = financed {
            fin += f;
            fin_cov += value;
            if let (Some(a), Some(r)) = (attribution, c.revenue) {
                fin_rev += a * r;
                fin_int += f;
                int_cov += value;
            }
        }
        if let Some(q) = c.pcaf_quality {
            dq += value * f64::from(q);
            dq_cov += value;
        }
        let var_share = req.carbon_price.as_ref().and_then(|p| {
            let cost = carbon_cost(c, p)?;
            let cap = c.market_cap.filter(|&m| m >= 1.0)?;
            Some((cost / cap).min(1.0))
        });
        if let Some(s) = var_share {
            var += s * value;
            var_cov += value;
        }
        rows.push(HoldingCarbon {
            id: c.id.clone(),
            weight: value / total,
            intensity,
            attribution,
            financed_emissions: financed,
            carbon_var_share: var_share,
        });
    }
    let opts = req.temperature.clone().unwrap_or_default();
    let temperature = temperature_scores(cs, &held, &opts)?;
    let per = |num: f64, den: f64| if den > 0.0 { num / den } else { 0.0 };
    Ok(CarbonResult {
        portfolio_value: total,
        waci: covered(per(waci, waci_cov), waci_cov, total),
        financed_emissions: covered(fin, fin_cov, total),
        carbon_footprint: covered(per(fin, fin_cov / 1e6), fin_cov, total),
        carbon_intensity: Covered {
            value: (int_cov > 0.0 && fin_rev >= 1.0).then(|| fin_int / (fin_rev / 1e6)),
            coverage: int_cov / total,
        },
        data_quality: covered(per(dq, dq_cov), dq_cov, total),
        temperature,
        carbon_var: req.carbon_price.as_ref().map(|_| covered(var, var_cov, total)),
        carbon_var_share: req.carbon_price.as_ref().and_then(|_| (var_cov > 0.0).then(|| var / var_cov)),
        holdings: rows,
    })
}
