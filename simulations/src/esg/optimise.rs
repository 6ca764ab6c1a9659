//! Dual-objective optimisation: maximise μᵀw − γ·wᵀΣw + ι·sᵀw under the budget, bounds,
//! a WACI limit, an SDG-aligned minimum, sector caps and exclusions; and the frontier between
//! the financial objective and the score by the ε-constraint sᵀw ≥ ε.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::data::{validate_companies, Company};
use super::screen::ScoreKind;
use crate::optimize::conic::{Failure, Program};
use crate::{invalid, SimError};

/// The most assets one optimisation may take.
pub const MAX_ASSETS: usize = 2_000;
/// The most frontier points.
pub const MAX_FRONTIER_POINTS: u32 = 100;

/// A cap on the total weight of one sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SectorCap {
    /// The sector, as in `companies[].sector`.
    pub sector: String,
    /// Most total weight, 0 to 1.
    pub max: f64,
}

/// An ESG-tilted optimisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimiseRequest {
    /// The companies (up to 5,000); the assets are looked up here.
    pub companies: Vec<Company>,
    /// Asset ids in the order of `expected_returns` and `covariance`; 1 to 2,000.
    pub assets: Vec<String>,
    /// Expected returns μ, a fraction a year (0.07 = 7%), each within ±10.
    pub expected_returns: Vec<f64>,
    /// Covariance Σ of returns, annual, symmetric positive semidefinite, entries within ±100.
    pub covariance: Vec<Vec<f64>>,
    /// Risk aversion γ, 0 to 1,000 (the objective subtracts γ·wᵀΣw); 1 when absent.
    #[serde(default = "one")]
    pub risk_aversion: f64,
    /// Impact weight ι per score point (scores 0-100), 0 to 1; 0 when absent.
    #[serde(default)]
    pub impact_weight: f64,
    /// The score s rewarded by ι and swept by the frontier; the total ESG score when absent.
    /// Assets without it score 0.
    #[serde(default)]
    pub score: ScoreKind,
    /// Largest weight per asset, (0, 1]; 1 when absent.
    #[serde(default = "one")]
    pub max_weight: f64,
    /// Largest WACI, tCO2e per $M revenue (scope 1+2); none when absent. Every asset then needs
    /// emissions and revenue.
    #[serde(default)]
    pub waci_limit: Option<f64>,
    /// Least SDG-aligned share of revenue, Σ wᵢ·sdgᵢ, 0 to 1; none when absent.
    #[serde(default)]
    pub min_sdg_share: Option<f64>,
    /// Caps on sector weights; none when absent.
    #[serde(default)]
    pub sector_caps: Vec<SectorCap>,
    /// Asset ids held at zero weight; none when absent.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Points on the frontier (2 to 100), from the score of the ι = 0 portfolio to the highest
    /// score the constraints allow; none computed when absent.
    #[serde(default)]
    pub frontier_points: Option<u32>,
}

fn one() -> f64 {
    1.0
}

/// A portfolio and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EsgPortfolio {
    /// Weights in the order of `assets`, summing to 1.
    pub weights: Vec<f64>,
    /// Expected return μᵀw.
    pub expected_return: f64,
    /// Volatility √(wᵀΣw).
    pub volatility: f64,
    /// Financial objective μᵀw − γ·wᵀΣw.
    pub financial_objective: f64,
    /// Weighted score sᵀw, 0-100.
    pub score: f64,
    /// WACI (scope 1+2, tCO2e per $M revenue) over the assets with data.
    pub waci: Option<f64>,
    /// SDG-aligned share Σ wᵢ·sdgᵢ, 0-1.
    pub sdg_share: f64,
    /// Weight per sector (assets without a sector under "").
    pub sectors: BTreeMap<String, f64>,
}

/// The optimum and the frontier.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OptimiseResult {
    /// The portfolio maximising the dual objective.
    pub portfolio: EsgPortfolio,
    /// Frontier points by rising score (each maximises the financial objective with sᵀw ≥ ε);
    /// empty when not requested.
    pub frontier: Vec<EsgPortfolio>,
}

struct Problem<'a> {
    n: usize,
    mu: &'a [f64],
    cov: Vec<f64>,
    s: Vec<f64>,
    intensity: Vec<Option<f64>>,
    sdg: Vec<f64>,
    sectors: Vec<String>,
    excluded: Vec<bool>,
}

fn failure(f: Failure) -> SimError {
    match f {
        Failure::Infeasible => invalid("constraints", "no portfolio satisfies them all"),
        Failure::Unbounded => invalid("constraints", "the objective is unbounded"),
        Failure::Numerical => invalid("covariance", "the solver did not converge (is it positive semidefinite?)"),
    }
}

impl Problem<'_> {
    /// The base program: ½wᵀ(2γΣ)w + q, budget, bounds, limits.
    fn program(&self, req: &OptimiseRequest, linear: &[f64], quad: f64) -> Program {
        let n = self.n;
        let mut p = Program::new(n);
        if quad > 0.0 {
            for j in 0..n {
                for i in 0..=j {
                    let v = self.cov[i * n + j];
                    if v != 0.0 {
                        p.add_p(i, j, 2.0 * quad * v);
                    }
                }
            }
        }
        for (i, &q) in linear.iter().enumerate() {
            p.add_q(i, q);
        }
        p.eq((0..n).map(|i| (i, 1.0)).collect(), 1.0);
        for i in 0..n {
            p.ge(vec![(i, 1.0)], 0.0);
            p.le(vec![(i, 1.0)], if self.excluded[i] { 0.0 } else { req.max_weight });
        }
        if let Some(l) = req.waci_limit {
            p.le((0..n).map(|i| (i, self.intensity[i].unwrap_or(0.0))).collect(), l);
        }
        if let Some(m) = req.min_sdg_share {
            p.ge((0..n).map(|i| (i, self.sdg[i])).collect(), m);
        }
        for cap in &req.sector_caps {
            let form: Vec<(usize, f64)> = (0..n).filter(|&i| self.sectors[i] == cap.sector).map(|i| (i, 1.0)).collect();
            if !form.is_empty() {
                p.le(form, cap.max);
            }
        }
        p
    }

    fn portfolio(&self, req: &OptimiseRequest, mut w: Vec<f64>) -> EsgPortfolio {
        let n = self.n;
        for (i, x) in w.iter_mut().enumerate() {
            let hi = if self.excluded[i] { 0.0 } else { req.max_weight };
            *x = x.clamp(0.0, hi);
        }
        let mut var = 0.0;
        for i in 0..n {
            let row = &self.cov[i * n..(i + 1) * n];
            var += w[i] * row.iter().zip(&w).map(|(c, x)| c * x).sum::<f64>();
        }
        let var = var.max(0.0);
        let ret: f64 = self.mu.iter().zip(&w).map(|(m, x)| m * x).sum();
        let (mut wi, mut wc) = (0.0, 0.0);
        let mut sectors = BTreeMap::new();
        for ((&x, intensity), sector) in w.iter().zip(&self.intensity).zip(&self.sectors) {
            if let Some(e) = intensity {
                wi += x * e;
                wc += x;
            }
            *sectors.entry(sector.clone()).or_insert(0.0) += x;
        }
        EsgPortfolio {
            expected_return: ret,
            volatility: var.sqrt(),
            financial_objective: ret - req.risk_aversion * var,
            score: self.s.iter().zip(&w).map(|(s, x)| s * x).sum(),
            waci: (wc > 0.0).then(|| wi / wc),
            sdg_share: self.sdg.iter().zip(&w).map(|(s, x)| s * x).sum(),
            sectors,
            weights: w,
        }
    }
}

fn check(req: &OptimiseRequest) -> Result<Problem<'_>, SimError> {
    let index = validate_companies(&req.companies)?;
    let n = req.assets.len();
    if n == 0 || n > MAX_ASSETS {
        return Err(invalid("assets", format!("1 to {MAX_ASSETS} assets, got {n}")));
    }
    if req.expected_returns.len() != n {
        return Err(invalid("expected_returns", format!("{} values for {n} assets", req.expected_returns.len())));
    }
    for (i, &m) in req.expected_returns.iter().enumerate() {
        if !(-10.0..=10.0).contains(&m) {
            return Err(invalid(format!("expected_returns[{i}]"), format!("must be within ±10, got {m}")));
        }
    }
    if req.covariance.len() != n {
        return Err(invalid("covariance", format!("{} rows for {n} assets", req.covariance.len())));
    }
    let mut cov = Vec::with_capacity(n * n);
    for (i, row) in req.covariance.iter().enumerate() {
        if row.len() != n {
            return Err(invalid(format!("covariance[{i}]"), format!("{} entries for {n} assets", row.len())));
        }
        for (j, &v) in row.iter().enumerate() {
            if !(-100.0..=100.0).contains(&v) {
                return Err(invalid(format!("covariance[{i}][{j}]"), format!("must be within ±100, got {v}")));
            }
            if j < i && (v - req.covariance[j][i]).abs() > 1e-9 * (1.0 + v.abs()) {
                return Err(invalid(format!("covariance[{i}][{j}]"), "the matrix must be symmetric"));
            }
        }
        if row[i] < 0.0 {
            return Err(invalid(format!("covariance[{i}][{i}]"), "a variance must not be negative"));
        }
        cov.extend_from_slice(row);
    }
    if !(0.0..=1000.0).contains(&req.risk_aversion) {
        return Err(invalid("risk_aversion", format!("must be 0 to 1,000, got {}", req.risk_aversion)));
    }
    if !(0.0..=1.0).contains(&req.impact_weight) {
        return Err(invalid("impact_weight", format!("must be 0 to 1, got {}", req.impact_weight)));
    }
    if !(req.max_weight > 0.0 && req.max_weight <= 1.0) {
        return Err(invalid("max_weight", format!("must be above 0 and at most 1, got {}", req.max_weight)));
    }
    if let Some(l) = req.waci_limit {
        if !(0.0..=1e12).contains(&l) {
            return Err(invalid("waci_limit", format!("must be 0 to 1e12, got {l}")));
        }
    }
    if let Some(m) = req.min_sdg_share {
        if !(0.0..=1.0).contains(&m) {
            return Err(invalid("min_sdg_share", format!("must be 0 to 1, got {m}")));
        }
    }
    if req.sector_caps.len() > 1_000 || req.exclude.len() > MAX_ASSETS {
        return Err(invalid("sector_caps", "at most 1,000 caps and 2,000 exclusions"));
    }
    for (k, c) in req.sector_caps.iter().enumerate() {
        if !(0.0..=1.0).contains(&c.max) {
            return Err(invalid(format!("sector_caps[{k}].max"), format!("must be 0 to 1, got {}", c.max)));
        }
    }
    if let Some(p) = req.frontier_points {
        if !(2..=MAX_FRONTIER_POINTS).contains(&p) {
            return Err(invalid("frontier_points", format!("must be 2 to {MAX_FRONTIER_POINTS}, got {p}")));
        }
    }
    let mut idx = Vec::with_capacity(n);
    for (k, id) in req.assets.iter().enumerate() {
        let Some(&i) = index.get(id.as_str()) else {
            return Err(invalid(format!("assets[{k}]"), format!("{id:?} is not among the companies")));
        };
        if idx.contains(&i) {
            return Err(invalid(format!("assets[{k}]"), format!("{id:?} appears twice")));
        }
        idx.push(i);
    }
    let mut excluded = vec![false; n];
    for (k, id) in req.exclude.iter().enumerate() {
        match req.assets.iter().position(|a| a == id) {
            Some(i) => excluded[i] = true,
            None => return Err(invalid(format!("exclude[{k}]"), format!("{id:?} is not among the assets"))),
        }
    }
    let cs: Vec<&Company> = idx.iter().map(|&i| &req.companies[i]).collect();
    let mut intensity = Vec::with_capacity(n);
    for (k, c) in cs.iter().enumerate() {
        let x = match (c.scope12(), c.revenue) {
            (Some(e), Some(r)) if r >= 1.0 => Some(e / (r / 1e6)),
            _ => None,
        };
        if x.is_none() && req.waci_limit.is_some() {
            return Err(invalid(
                format!("companies[{}]", idx[k]),
                "the WACI limit needs scope 1 and 2 emissions and revenue of at least $1",
            ));
        }
        intensity.push(x);
    }
    Ok(Problem {
        n,
        mu: &req.expected_returns,
        cov,
        s: cs.iter().map(|c| req.score.of(c).unwrap_or(0.0)).collect(),
        intensity,
        sdg: cs.iter().map(|c| c.sdg_total()).collect(),
        sectors: cs.iter().map(|c| c.sector.clone().unwrap_or_default()).collect(),
        excluded,
    })
}

/// Solves the dual-objective problem and, when asked, the frontier.
pub fn optimise(req: &OptimiseRequest) -> Result<OptimiseResult, SimError> {
    let pb = check(req)?;
    let n = pb.n;
    let q: Vec<f64> = (0..n).map(|i| -pb.mu[i] - req.impact_weight * pb.s[i]).collect();
    let w = pb.program(req, &q, req.risk_aversion).solve().map_err(failure)?;
    let portfolio = pb.portfolio(req, w);
    let mut frontier = Vec::new();
    if let Some(points) = req.frontier_points {
        let q0: Vec<f64> = pb.mu.iter().map(|m| -m).collect();
        let start = pb.portfolio(req, pb.program(req, &q0, req.risk_aversion).solve().map_err(failure)?).score;
        let qs: Vec<f64> = pb.s.iter().map(|s| -s).collect();
        let top = pb.portfolio(req, pb.program(req, &qs, 0.0).solve().map_err(failure)?).score;
        let top = top.max(start);
        for k in 0..points {
            let eps = start + (top - start) * f64::from(k) / f64::from(points - 1);
            // Back off a hair from the highest score so the last point stays feasible.
            let eps = eps - 1e-9 * (1.0 + eps.abs());
            let mut p = pb.program(req, &q0, req.risk_aversion);
            p.ge((0..n).map(|i| (i, pb.s[i])).collect(), eps);
            frontier.push(pb.portfolio(req, p.solve().map_err(failure)?));
        }
    }
    Ok(OptimiseResult { portfolio, frontier })
}
