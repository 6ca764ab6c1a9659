//! Dual-objective optimisation: maximise μᵀw − γ·wᵀΣw + ι·sᵀw under the budget, bounds,
//! a WACI limit, an SDG-aligned minimum, sector caps and exclusions; and the frontier between
//! the financial objective and the score by the ε-constraint sᵀw ≥ ε. The risk is a dense
//! covariance Σ or a factor model Σ = B·F·Bᵀ + diag(d²); the variance enters the program as
//! [`VarianceForm`] says.

use std::collections::BTreeMap;

use nalgebra::{Cholesky, DMatrix, SymmetricEigen};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::data::{validate_companies, Company};
use super::provider::universe;
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
    /// The companies (up to 5,000); the assets are looked up here. May be left out when
    /// `companies_csv` lists them.
    #[serde(default)]
    pub companies: Vec<Company>,
    /// The companies as a provider CSV file instead of `companies`: a header row of named
    /// columns (`id` required), one row per company, as `cairn quant esg-carbon --help` and
    /// `simulations::esg::provider` describe; none when absent. A refusal names the line and
    /// the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companies_csv: Option<String>,
    /// Asset ids in the order of `expected_returns` and `covariance`; 1 to 2,000.
    pub assets: Vec<String>,
    /// Expected returns μ, a fraction a year (0.07 = 7%), each within ±10.
    pub expected_returns: Vec<f64>,
    /// Covariance Σ of returns, annual, symmetric positive semidefinite, entries within ±100;
    /// may be left out when `factor_model` gives Σ.
    #[serde(default)]
    pub covariance: Vec<Vec<f64>>,
    /// A factor risk model giving Σ = B·F·Bᵀ + diag(d²) instead of `covariance` (the faster
    /// form for many assets); none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor_model: Option<FactorModel>,
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

/// A factor risk model: exposures B (assets × factors), factor covariance F and specific
/// volatilities d, so that Σ = B·F·Bᵀ + diag(d²) (the form of `cairn quant factor-risk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorModel {
    /// Exposures: one row per asset (in the order of `assets`), one value per factor (1 to
    /// 100 factors), each within ±1,000.
    pub exposures: Vec<Vec<f64>>,
    /// Factor covariance F, annual, factors × factors, symmetric positive semidefinite,
    /// entries within ±100.
    pub factor_covariance: Vec<Vec<f64>>,
    /// Each asset's specific (idiosyncratic) annual volatility, 0 to 10; 0 for every asset
    /// when absent.
    #[serde(default)]
    pub specific_volatility: Vec<f64>,
}

/// The most factors a factor model may have.
pub const MAX_FACTORS: usize = 100;

/// How the variance wᵀΣw enters the conic program. [`optimise`] writes a factor model
/// [`VarianceForm::Factored`] (its KKT system stays sparse: the 500-asset benchmark on one
/// factor solves about 75 times faster than the same risk as a dense matrix) and a dense
/// covariance [`VarianceForm::Dense`]: factoring a dense Σ by Cholesky gains nothing, the
/// factor being as dense as Σ (Clarabel solved the benchmark 1.2 to 1.6 times slower with it,
/// and about 1.75 times slower with the factor in a rotated second-order cone ‖Gᵀw‖² ≤ s, a
/// form since dropped). Both forms are kept to compare (`benches/esg.rs`, `tests/esg.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarianceForm {
    /// ½wᵀ(2γΣ)w with Σ dense in P (n² entries): the form before factoring.
    Dense,
    /// Σ = G·Gᵀ + D (G the factor model's B·chol(F), or the Cholesky factor of a dense Σ; D
    /// the specific variances): auxiliary variables z = Gᵀw and the diagonal objective
    /// γ(wᵀDw + zᵀz), so that P is diagonal and Gᵀ sits in the constraints.
    Factored,
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

/// The risk model as the programs use it.
struct Risk {
    /// Σ row-major (n × n): the request's covariance, or the factor model's written out for
    /// [`VarianceForm::Dense`]; none for a factor model factored.
    dense: Option<Vec<f64>>,
    /// Gᵀ row-major (r × n) with Σ = G·Gᵀ + diag(specific).
    gt: Vec<f64>,
    r: usize,
    /// Specific variances (the diagonal D), one per asset.
    specific: Vec<f64>,
}

impl Risk {
    /// wᵀΣw from the factor.
    fn variance(&self, w: &[f64]) -> f64 {
        let n = w.len();
        let systematic: f64 = (0..self.r)
            .map(|k| self.gt[k * n..(k + 1) * n].iter().zip(w).map(|(g, x)| g * x).sum::<f64>().powi(2))
            .sum();
        systematic + self.specific.iter().zip(w).map(|(d, x)| d * x * x).sum::<f64>()
    }
}

struct Problem<'a> {
    n: usize,
    mu: &'a [f64],
    risk: Risk,
    s: Vec<f64>,
    intensity: Vec<Option<f64>>,
    sdg: Vec<f64>,
    sectors: Vec<String>,
    excluded: Vec<bool>,
}

fn failure(req: &OptimiseRequest) -> impl Fn(Failure) -> SimError + '_ {
    move |f| match f {
        Failure::Infeasible => invalid("constraints", "no portfolio satisfies them all"),
        Failure::Unbounded => invalid("constraints", "the objective is unbounded"),
        Failure::Numerical if req.factor_model.is_some() => {
            invalid("factor_model", "the solver did not converge (is the factor covariance positive semidefinite?)")
        }
        Failure::Numerical => invalid("covariance", "the solver did not converge (is it positive semidefinite?)"),
    }
}

impl Problem<'_> {
    /// The base program: minimise quad·wᵀΣw + qᵀw (Σ entering as `form` says) under the
    /// budget, bounds and limits. The weights are the first n variables.
    fn program(&self, req: &OptimiseRequest, linear: &[f64], quad: f64, form: VarianceForm) -> Program {
        let n = self.n;
        let risk = &self.risk;
        let r = risk.r;
        let mut p = match form {
            _ if quad == 0.0 => Program::new(n),
            VarianceForm::Dense => {
                let cov = risk.dense.as_ref().expect("the dense covariance is built for the dense form");
                let mut p = Program::new(n);
                for j in 0..n {
                    for i in 0..=j {
                        let v = cov[i * n + j];
                        if v != 0.0 {
                            p.add_p(i, j, 2.0 * quad * v);
                        }
                    }
                }
                p
            }
            VarianceForm::Factored => {
                // Variables w (n), z (r): z − Gᵀw = 0, objective quad·(Σ dᵢwᵢ² + Σ zₖ²).
                let mut p = Program::new(n + r);
                for (i, &d) in risk.specific.iter().enumerate() {
                    if d != 0.0 {
                        p.add_p(i, i, 2.0 * quad * d);
                    }
                }
                for k in 0..r {
                    p.add_p(n + k, n + k, 2.0 * quad);
                    let mut form: Vec<(usize, f64)> = vec![(n + k, 1.0)];
                    form.extend(
                        risk.gt[k * n..(k + 1) * n]
                            .iter()
                            .enumerate()
                            .filter(|(_, g)| **g != 0.0)
                            .map(|(i, g)| (i, -g)),
                    );
                    p.eq(form, 0.0);
                }
                p
            }
        };
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
        w.truncate(n);
        for (i, x) in w.iter_mut().enumerate() {
            let hi = if self.excluded[i] { 0.0 } else { req.max_weight };
            *x = x.clamp(0.0, hi);
        }
        let var = match &self.risk.dense {
            Some(cov) => {
                (0..n).map(|i| w[i] * cov[i * n..(i + 1) * n].iter().zip(&w).map(|(c, x)| c * x).sum::<f64>()).sum()
            }
            None => self.risk.variance(&w),
        };
        let var = f64::max(var, 0.0);
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

/// A symmetric matrix's rows checked (`field[i][j]` named in a refusal) and copied row-major.
fn symmetric(field: &str, rows: &[Vec<f64>], n: usize, what: &str) -> Result<Vec<f64>, SimError> {
    if rows.len() != n {
        return Err(invalid(field, format!("{} rows for {n} {what}", rows.len())));
    }
    let mut out = Vec::with_capacity(n * n);
    for (i, row) in rows.iter().enumerate() {
        if row.len() != n {
            return Err(invalid(format!("{field}[{i}]"), format!("{} entries for {n} {what}", row.len())));
        }
        for (j, &v) in row.iter().enumerate() {
            if !(-100.0..=100.0).contains(&v) {
                return Err(invalid(format!("{field}[{i}][{j}]"), format!("must be within ±100, got {v}")));
            }
            if j < i && (v - rows[j][i]).abs() > 1e-9 * (1.0 + v.abs()) {
                return Err(invalid(format!("{field}[{i}][{j}]"), "the matrix must be symmetric"));
            }
        }
        if row[i] < 0.0 {
            return Err(invalid(format!("{field}[{i}][{i}]"), "a variance must not be negative"));
        }
        out.extend_from_slice(row);
    }
    Ok(out)
}

/// A factor C with C·Cᵀ = S (S symmetric, n × n, row-major): the Cholesky factor, or
/// V·√Λ when S is singular; refused, naming `field`, when S has a negative eigenvalue beyond
/// rounding.
fn square_root(field: &str, s: &[f64], n: usize) -> Result<DMatrix<f64>, SimError> {
    let m = DMatrix::from_row_slice(n, n, s);
    if let Some(ch) = Cholesky::new(m.clone()) {
        return Ok(ch.l());
    }
    let eig = SymmetricEigen::new(m);
    let top = eig.eigenvalues.iter().fold(0.0_f64, |a, &v| a.max(v.abs()));
    let low = eig.eigenvalues.iter().fold(f64::INFINITY, |a, &v| a.min(v));
    if low < -1e-10 * top.max(1e-300) {
        return Err(invalid(field, format!("must be positive semidefinite (it has the eigenvalue {low:e})")));
    }
    let d = eig.eigenvalues.map(|v| v.max(0.0).sqrt());
    Ok(&eig.eigenvectors * DMatrix::from_diagonal(&d))
}

/// The risk model of the request, checked: Σ dense, or a factor model; factored as the form
/// needs.
fn risk(req: &OptimiseRequest, n: usize, form: VarianceForm) -> Result<Risk, SimError> {
    let factored = form != VarianceForm::Dense;
    match &req.factor_model {
        Some(_) if !req.covariance.is_empty() => {
            Err(invalid("factor_model", "give the covariance or the factor model, not both"))
        }
        None if req.covariance.is_empty() => {
            Err(invalid("covariance", "missing: give the covariance or a factor_model"))
        }
        None => {
            let cov = symmetric("covariance", &req.covariance, n, "assets")?;
            // Σ = L·Lᵀ, G = L; nalgebra stores L by columns, which is Gᵀ by rows.
            let (gt, r) =
                if factored { (square_root("covariance", &cov, n)?.as_slice().to_vec(), n) } else { (Vec::new(), 0) };
            Ok(Risk { dense: Some(cov), gt, r, specific: vec![0.0; n] })
        }
        Some(fm) => {
            let k = fm.factor_covariance.len();
            if k == 0 || k > MAX_FACTORS {
                return Err(invalid("factor_model.factor_covariance", format!("1 to {MAX_FACTORS} factors, got {k}")));
            }
            let f = symmetric("factor_model.factor_covariance", &fm.factor_covariance, k, "factors")?;
            if fm.exposures.len() != n {
                return Err(invalid("factor_model.exposures", format!("{} rows for {n} assets", fm.exposures.len())));
            }
            let mut b = Vec::with_capacity(n * k);
            for (i, row) in fm.exposures.iter().enumerate() {
                if row.len() != k {
                    return Err(invalid(
                        format!("factor_model.exposures[{i}]"),
                        format!("{} values for {k} factors", row.len()),
                    ));
                }
                for (j, &v) in row.iter().enumerate() {
                    if !(-1000.0..=1000.0).contains(&v) {
                        return Err(invalid(
                            format!("factor_model.exposures[{i}][{j}]"),
                            format!("must be within ±1,000, got {v}"),
                        ));
                    }
                }
                b.extend_from_slice(row);
            }
            let specific = match fm.specific_volatility.len() {
                0 => vec![0.0; n],
                len if len == n => {
                    let mut out = Vec::with_capacity(n);
                    for (i, &v) in fm.specific_volatility.iter().enumerate() {
                        if !(0.0..=10.0).contains(&v) {
                            return Err(invalid(
                                format!("factor_model.specific_volatility[{i}]"),
                                format!("must be 0 to 10, got {v}"),
                            ));
                        }
                        out.push(v * v);
                    }
                    out
                }
                len => return Err(invalid("factor_model.specific_volatility", format!("{len} values for {n} assets"))),
            };
            let c = square_root("factor_model.factor_covariance", &f, k)?;
            // G = B·C (n × k); Gᵀ row-major is k rows of n.
            let b = DMatrix::from_row_slice(n, k, &b);
            let g = b * c;
            let gt = g.as_slice().to_vec();
            let dense = (!factored).then(|| {
                let mut cov = vec![0.0; n * n];
                for i in 0..n {
                    for j in 0..n {
                        cov[i * n + j] = (0..k).map(|t| g[(i, t)] * g[(j, t)]).sum::<f64>();
                    }
                    cov[i * n + i] += specific[i];
                }
                cov
            });
            Ok(Risk { dense, gt, r: k, specific })
        }
    }
}

fn check(req: &OptimiseRequest, form: VarianceForm) -> Result<Problem<'_>, SimError> {
    let companies = universe(&req.companies, req.companies_csv.as_deref())?;
    let index = validate_companies(&companies)?;
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
    let risk = risk(req, n, form)?;
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
    let cs: Vec<&Company> = idx.iter().map(|&i| &companies[i]).collect();
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
        risk,
        s: cs.iter().map(|c| req.score.of(c).unwrap_or(0.0)).collect(),
        intensity,
        sdg: cs.iter().map(|c| c.sdg_total()).collect(),
        sectors: cs.iter().map(|c| c.sector.clone().unwrap_or_default()).collect(),
        excluded,
    })
}

/// Solves the dual-objective problem and, when asked, the frontier.
pub fn optimise(req: &OptimiseRequest) -> Result<OptimiseResult, SimError> {
    let form = if req.factor_model.is_some() { VarianceForm::Factored } else { VarianceForm::Dense };
    optimise_with(req, form)
}

/// [`optimise`] with the variance written in the given form: the same problem, so the same
/// answer to the solver's tolerance (for comparing the forms' speed and answers).
pub fn optimise_with(req: &OptimiseRequest, form: VarianceForm) -> Result<OptimiseResult, SimError> {
    let pb = check(req, form)?;
    let n = pb.n;
    let q: Vec<f64> = (0..n).map(|i| -pb.mu[i] - req.impact_weight * pb.s[i]).collect();
    let w = pb.program(req, &q, req.risk_aversion, form).solve().map_err(failure(req))?;
    let portfolio = pb.portfolio(req, w);
    let mut frontier = Vec::new();
    if let Some(points) = req.frontier_points {
        let q0: Vec<f64> = pb.mu.iter().map(|m| -m).collect();
        let start =
            pb.portfolio(req, pb.program(req, &q0, req.risk_aversion, form).solve().map_err(failure(req))?).score;
        let qs: Vec<f64> = pb.s.iter().map(|s| -s).collect();
        let top = pb.portfolio(req, pb.program(req, &qs, 0.0, form).solve().map_err(failure(req))?).score;
        let top = top.max(start);
        for k in 0..points {
            let eps = start + (top - start) * f64::from(k) / f64::from(points - 1);
            // Back off a hair from the highest score so the last point stays feasible.
            let eps = eps - 1e-9 * (1.0 + eps.abs());
            let mut p = pb.program(req, &q0, req.risk_aversion, form);
            p.ge((0..n).map(|i| (i, pb.s[i])).collect(), eps);
            frontier.push(pb.portfolio(req, p.solve().map_err(failure(req))?));
        }
    }
    Ok(OptimiseResult { portfolio, frontier })
}
