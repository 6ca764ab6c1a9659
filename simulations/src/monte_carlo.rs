//! The Monte Carlo engine: correlated asset returns (normal or Student-t shocks, Markov regime
//! switching, Merton jumps), a constant-mix portfolio rebalanced every step, contributions and
//! inflation-adjusted withdrawals, and the distribution of wealth that results.
//!
//! Each path draws from its own random stream (xoshiro256++ seeded through SplitMix64 from the
//! plan's seed and the path number), and results are gathered in path order, so the same seed
//! gives bit-identical results whatever the number of threads.

use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::correlation;
use crate::SimError;

/// One asset: expected arithmetic annual return and annual volatility.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub name: String,
    /// Expected annual return (0.07 for 7%).
    pub expected_return: f64,
    /// Annual volatility (0.16 for 16%).
    pub volatility: f64,
    /// Portfolio weight (fractions summing to 1; rebalanced every step).
    pub weight: f64,
}

/// The distribution of the standardized shocks.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Shocks {
    Normal,
    /// Multivariate Student-t with `degrees_of_freedom` (> 2), scaled to unit variance.
    StudentT {
        degrees_of_freedom: f64,
    },
}

/// One regime: each asset's expected return and volatility while the market is in it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    pub name: String,
    pub expected_returns: Vec<f64>,
    pub volatilities: Vec<f64>,
}

/// Markov regime switching: the regimes and the transition matrix per step (row: from).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Regimes {
    pub states: Vec<Regime>,
    pub transition: Vec<Vec<f64>>,
}

/// Merton jumps, common to every asset: a Poisson number of jumps per year, each a normal
/// log-return. The drift is compensated so the expected return stays as given.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Jumps {
    pub intensity: f64,
    pub mean: f64,
    pub volatility: f64,
}

/// The market model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub assets: Vec<Asset>,
    /// Correlation matrix, one row per asset (identity when omitted).
    #[serde(default)]
    pub correlation: Option<Vec<Vec<f64>>>,
    #[serde(default = "normal")]
    pub shocks: Shocks,
    #[serde(default)]
    pub regimes: Option<Regimes>,
    #[serde(default)]
    pub jumps: Option<Jumps>,
    /// 12 (monthly) or 252 (daily).
    #[serde(default = "monthly")]
    pub steps_per_year: u32,
}

fn normal() -> Shocks {
    Shocks::Normal
}

fn monthly() -> u32 {
    12
}

/// Money in and out, in today's currency.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CashFlows {
    /// Added each year (spread over its steps) until `retire_after_years`.
    #[serde(default)]
    pub annual_contribution: f64,
    /// Taken each year (spread over its steps) from `retire_after_years` on.
    #[serde(default)]
    pub annual_withdrawal: f64,
    #[serde(default)]
    pub retire_after_years: u32,
    /// Yearly inflation applied to contributions and withdrawals (0.025 for 2.5%).
    #[serde(default)]
    pub inflation: f64,
}

/// A simulation: the model, the starting wealth, the horizon, the cash flows, and the run.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub initial_wealth: f64,
    pub years: u32,
    pub model: Model,
    #[serde(default)]
    pub cash_flows: CashFlows,
    #[serde(default = "paths")]
    pub paths: usize,
    #[serde(default)]
    pub seed: u64,
}

fn paths() -> usize {
    10_000
}

/// The most path-years one run keeps (two numbers each).
pub const MAX_PATH_YEARS: u64 = 20_000_000;

/// Percentiles reported everywhere.
pub const PERCENTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// Wealth percentiles at the end of one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub year: u32,
    /// 5th, 25th, 50th, 75th, 95th percentiles.
    pub wealth: [f64; 5],
}

/// What a run gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub paths: usize,
    pub years: u32,
    pub steps_per_year: u32,
    /// Share of paths whose wealth never ran out.
    pub success_probability: f64,
    pub bands: Vec<Band>,
    pub terminal_mean: f64,
    pub terminal_percentiles: [f64; 5],
    pub max_drawdown_percentiles: [f64; 5],
    /// Every path's portfolio return of each year (pooled), for risk metrics.
    #[serde(skip)]
    pub annual_returns: Vec<f64>,
    #[serde(skip)]
    pub terminal: Vec<f64>,
    /// Repairs and other things the caller should know.
    pub warnings: Vec<String>,
}

/// A model checked and prepared for drawing.
#[derive(Debug, Clone)]
pub struct Prepared {
    n: usize,
    dt: f64,
    /// The Cholesky factor's lower triangle, row by row (row i holds i + 1 entries).
    chol: Vec<f64>,
    weights: Vec<f64>,
    /// Per regime (one when there are no regimes): per-step drift and volatility per asset.
    drift: Vec<Vec<f64>>,
    vol: Vec<Vec<f64>>,
    /// Cumulative transition rows and the stationary distribution.
    transition: Vec<Vec<f64>>,
    stationary: Vec<f64>,
    shocks: Shocks,
    jumps: Option<Jumps>,
    pub warnings: Vec<String>,
}

pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> SimError {
    SimError::Invalid { field: field.to_owned(), problem: problem.into() }
}

impl Prepared {
    pub fn new(m: &Model) -> Result<Self, SimError> {
        let n = m.assets.len();
        if n == 0 {
            return Err(invalid("model.assets", "at least one asset is needed"));
        }
        if !matches!(m.steps_per_year, 12 | 52 | 252) {
            return Err(invalid("model.steps_per_year", "must be 12 (monthly), 52 (weekly) or 252 (daily)"));
        }
        let dt = 1.0 / f64::from(m.steps_per_year);
        for (i, a) in m.assets.iter().enumerate() {
            let field = format!("model.assets[{i}]");
            if !(a.volatility.is_finite() && a.volatility >= 0.0) {
                return Err(invalid(&format!("{field}.volatility"), "must be a number of at least 0"));
            }
            if !(a.expected_return.is_finite() && a.expected_return > -1.0) {
                return Err(invalid(&format!("{field}.expected_return"), "must be a number above -1"));
            }
        }
        let weights: Vec<f64> = m.assets.iter().map(|a| a.weight).collect();
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) || (weights.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return Err(invalid("model.assets.weight", "weights must be at least 0 and sum to 1"));
        }
        let corr = match &m.correlation {
            Some(rows) => correlation::check(rows, n, "model.correlation")?,
            None => DMatrix::identity(n, n),
        };
        let (chol, repaired) = correlation::factor(&corr);
        let mut warnings = Vec::new();
        if let Some(change) = repaired {
            warnings.push(format!(
                "model.correlation is not positive definite; repaired to the nearest correlation matrix \
                 (Higham 2002; largest change {change:.6})"
            ));
        }
        if let Shocks::StudentT { degrees_of_freedom } = m.shocks {
            if degrees_of_freedom.is_nan() || degrees_of_freedom <= 2.0 {
                return Err(invalid("model.shocks.degrees_of_freedom", "must be above 2 (finite variance)"));
            }
        }
        let kappa = m.jumps.map_or(0.0, |j| j.intensity * ((j.mean + 0.5 * j.volatility * j.volatility).exp() - 1.0));
        if let Some(j) = m.jumps {
            if !(j.intensity >= 0.0 && j.volatility >= 0.0 && j.mean.is_finite()) {
                return Err(invalid("model.jumps", "intensity and volatility must be at least 0"));
            }
        }
        // Per step: log drift (ln(1 + mu) - sigma^2/2 - jump compensation) dt, so that a year's
        // expected gross return is 1 + mu, and volatility sigma sqrt(dt).
        let per_step = |mu: &[f64], sigma: &[f64]| -> (Vec<f64>, Vec<f64>) {
            let drift = mu.iter().zip(sigma).map(|(mu, s)| ((1.0 + mu).ln() - 0.5 * s * s - kappa) * dt).collect();
            (drift, sigma.iter().map(|s| s * dt.sqrt()).collect())
        };
        let (mut drift, mut vol, mut transition, mut stationary) = (Vec::new(), Vec::new(), Vec::new(), vec![1.0]);
        match &m.regimes {
            None => {
                let mu: Vec<f64> = m.assets.iter().map(|a| a.expected_return).collect();
                let sigma: Vec<f64> = m.assets.iter().map(|a| a.volatility).collect();
                let (d, v) = per_step(&mu, &sigma);
                drift.push(d);
                vol.push(v);
                transition.push(vec![1.0]);
            }
            Some(r) => {
                let k = r.states.len();
                if k == 0 {
                    return Err(invalid("model.regimes.states", "at least one regime is needed"));
                }
                if r.transition.len() != k || r.transition.iter().any(|row| row.len() != k) {
                    return Err(invalid("model.regimes.transition", format!("must be {k} rows of {k} probabilities")));
                }
                for (i, row) in r.transition.iter().enumerate() {
                    if row.iter().any(|p| !(0.0..=1.0).contains(p)) || (row.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
                        return Err(invalid(
                            "model.regimes.transition",
                            format!("row {} must be probabilities summing to 1", i + 1),
                        ));
                    }
                    let mut acc = 0.0;
                    transition.push(
                        row.iter()
                            .map(|p| {
                                acc += p;
                                acc
                            })
                            .collect(),
                    );
                }
                for (i, s) in r.states.iter().enumerate() {
                    if s.expected_returns.len() != n || s.volatilities.len() != n {
                        return Err(invalid(
                            &format!("model.regimes.states[{i}]"),
                            format!("needs {n} expected_returns and {n} volatilities (one per asset)"),
                        ));
                    }
                    if s.volatilities.iter().any(|v| !(v.is_finite() && *v >= 0.0))
                        || s.expected_returns.iter().any(|m| !(m.is_finite() && *m > -1.0))
                    {
                        return Err(invalid(
                            &format!("model.regimes.states[{i}]"),
                            "returns above -1, volatilities at least 0",
                        ));
                    }
                    let (d, v) = per_step(&s.expected_returns, &s.volatilities);
                    drift.push(d);
                    vol.push(v);
                }
                stationary = stationary_distribution(&r.transition);
            }
        }
        let chol = (0..n).flat_map(|i| (0..=i).map(move |j| (i, j))).map(|(i, j)| chol[(i, j)]).collect();
        Ok(Self {
            n,
            dt,
            chol,
            weights,
            drift,
            vol,
            transition,
            stationary,
            shocks: m.shocks,
            jumps: m.jumps,
            warnings,
        })
    }
}

/// The stationary distribution of a transition matrix (power iteration from uniform).
pub fn stationary_distribution(p: &[Vec<f64>]) -> Vec<f64> {
    let k = p.len();
    let mut pi = vec![1.0 / k as f64; k];
    for _ in 0..100_000 {
        let next: Vec<f64> = (0..k).map(|j| (0..k).map(|i| pi[i] * p[i][j]).sum()).collect();
        let moved: f64 = next.iter().zip(&pi).map(|(a, b)| (a - b).abs()).sum();
        pi = next;
        if moved < 1e-15 {
            break;
        }
    }
    pi
}

/// Running sums of a probability row, for [`pick`].
pub(crate) fn cumulative(row: &[f64]) -> Vec<f64> {
    row.iter()
        .scan(0.0, |acc, p| {
            *acc += p;
            Some(*acc)
        })
        .collect()
}

/// The index whose cumulative probability first exceeds the uniform `u`.
pub(crate) fn pick(cumulative: &[f64], u: f64) -> usize {
    cumulative.iter().position(|c| u < *c).unwrap_or(cumulative.len() - 1)
}

/// One path's draws: each step's log-returns per asset.
pub struct PathDraws<'a> {
    prep: &'a Prepared,
    rng: Xoshiro256PlusPlus,
    regime: usize,
    z: Vec<f64>,
    chi: Option<ChiSquared<f64>>,
    /// P(no jump in a step), and the Poisson mean per step.
    no_jump: f64,
    jump_rate: f64,
}

/// A path's generator: the seed and the path number mixed by SplitMix64 (inside
/// `seed_from_u64`) into xoshiro256++'s state.
pub(crate) fn path_rng(seed: u64, path: u64) -> Xoshiro256PlusPlus {
    let mut mix = Xoshiro256PlusPlus::seed_from_u64(seed);
    let base: u64 = mix.gen();
    Xoshiro256PlusPlus::seed_from_u64(base ^ path.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

impl<'a> PathDraws<'a> {
    pub fn new(prep: &'a Prepared, seed: u64, path: u64) -> Self {
        let mut rng = path_rng(seed, path);
        let u: f64 = rng.gen();
        let mut acc = 0.0;
        let cumulative: Vec<f64> = prep
            .stationary
            .iter()
            .map(|p| {
                acc += p;
                acc
            })
            .collect();
        let regime = pick(&cumulative, u);
        let chi = match prep.shocks {
            Shocks::StudentT { degrees_of_freedom } => ChiSquared::new(degrees_of_freedom).ok(),
            Shocks::Normal => None,
        };
        let jump_rate = prep.jumps.map_or(0.0, |j| j.intensity * prep.dt);
        Self { prep, rng, regime, z: vec![0.0; prep.n], chi, no_jump: (-jump_rate).exp(), jump_rate }
    }

    /// The regime of the current step.
    pub fn regime(&self) -> usize {
        self.regime
    }

    /// The next step's log-returns into `out`; then moves the regime chain.
    pub fn step(&mut self, out: &mut [f64]) {
        let p = self.prep;
        for z in &mut self.z {
            *z = self.rng.sample(StandardNormal);
        }
        let scale = match (self.chi, p.shocks) {
            (Some(chi), Shocks::StudentT { degrees_of_freedom: nu }) => {
                let w: f64 = chi.sample(&mut self.rng);
                ((nu - 2.0) / w).sqrt()
            }
            _ => 1.0,
        };
        let jump = match p.jumps {
            Some(j) if self.jump_rate > 0.0 => {
                // Poisson by inversion: most steps have no jump and cost one uniform.
                let u: f64 = self.rng.gen();
                let (mut count, mut term, mut cumulative) = (0u32, self.no_jump, self.no_jump);
                while u > cumulative && count < 1000 {
                    count += 1;
                    term *= self.jump_rate / f64::from(count);
                    cumulative += term;
                }
                (0..count).map(|_| j.mean + j.volatility * self.rng.sample::<f64, _>(StandardNormal)).sum()
            }
            _ => 0.0,
        };
        let (drift, vol) = (&p.drift[self.regime], &p.vol[self.regime]);
        let mut row = 0;
        for (i, ((o, d), v)) in out.iter_mut().zip(drift).zip(vol).enumerate() {
            let e: f64 = p.chol[row..=row + i].iter().zip(&self.z).map(|(c, z)| c * z).sum();
            row += i + 1;
            *o = d + v * e * scale + jump;
        }
        if p.transition.len() > 1 {
            let u: f64 = self.rng.gen();
            self.regime = pick(&p.transition[self.regime], u);
        }
    }
}

/// One path's result.
struct PathResult {
    year_end: Vec<f64>,
    annual_returns: Vec<f64>,
    max_drawdown: f64,
    survived: bool,
}

fn simulate_path(prep: &Prepared, plan: &Plan, path: u64) -> PathResult {
    let per_year = (1.0 / prep.dt).round() as u32;
    let mut draws = PathDraws::new(prep, plan.seed, path);
    let mut r = vec![0.0; prep.n];
    let cf = &plan.cash_flows;
    let mut wealth = plan.initial_wealth;
    let (mut peak, mut max_dd) = (wealth, 0.0f64);
    let mut survived = true;
    let mut year_end = Vec::with_capacity(plan.years as usize);
    let mut annual_returns = Vec::with_capacity(plan.years as usize);
    for year in 0..plan.years {
        let price_level = (1.0 + cf.inflation).powi(year as i32);
        let flow = if year < cf.retire_after_years {
            cf.annual_contribution * price_level
        } else {
            -cf.annual_withdrawal * price_level
        } / f64::from(per_year);
        let mut growth = 1.0;
        for _ in 0..per_year {
            draws.step(&mut r);
            let gross: f64 = prep.weights.iter().zip(&r).map(|(w, x)| w * x.exp()).sum();
            growth *= gross;
            if survived {
                wealth = wealth * gross + flow;
                if wealth <= 0.0 {
                    wealth = 0.0;
                    survived = false;
                }
                peak = peak.max(wealth);
                if peak > 0.0 {
                    max_dd = max_dd.max(1.0 - wealth / peak);
                }
            }
        }
        annual_returns.push(growth - 1.0);
        year_end.push(wealth);
    }
    PathResult { year_end, annual_returns, max_drawdown: max_dd, survived }
}

/// The `q` quantile of sorted values (linear interpolation between order statistics).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

pub(crate) fn percentiles(mut values: Vec<f64>) -> [f64; 5] {
    values.sort_by(f64::total_cmp);
    PERCENTILES.map(|q| quantile(&values, q))
}

/// Runs the plan on `threads` threads (0: all cores).
pub fn run(plan: &Plan, threads: usize) -> Result<Outcome, SimError> {
    if !(plan.initial_wealth.is_finite() && plan.initial_wealth >= 0.0) {
        return Err(invalid("initial_wealth", "must be a number of at least 0"));
    }
    if plan.years == 0 || plan.years > 100 {
        return Err(invalid("years", "must be 1 to 100"));
    }
    if plan.paths == 0 || plan.paths > 10_000_000 {
        return Err(invalid("paths", "must be 1 to 10,000,000"));
    }
    // Each path keeps its year-end wealth and annual return for the statistics: bound memory.
    if plan.paths as u64 * u64::from(plan.years) > MAX_PATH_YEARS {
        return Err(invalid(
            "paths",
            format!("paths x years must be at most {MAX_PATH_YEARS} (about 320 MB of results)"),
        ));
    }
    let cf = &plan.cash_flows;
    for (field, v) in [
        ("cash_flows.annual_contribution", cf.annual_contribution),
        ("cash_flows.annual_withdrawal", cf.annual_withdrawal),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(invalid(field, "must be a number of at least 0"));
        }
    }
    if !(cf.inflation.is_finite() && cf.inflation > -1.0) {
        return Err(invalid("cash_flows.inflation", "must be a number above -1"));
    }
    let prep = Prepared::new(&plan.model)?;
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| invalid("threads", e.to_string()))?;
    let results: Vec<PathResult> =
        pool.install(|| (0..plan.paths as u64).into_par_iter().map(|p| simulate_path(&prep, plan, p)).collect());
    let years = plan.years as usize;
    let bands = (0..years)
        .map(|y| Band { year: y as u32 + 1, wealth: percentiles(results.iter().map(|r| r.year_end[y]).collect()) })
        .collect();
    let terminal: Vec<f64> = results.iter().map(|r| r.year_end[years - 1]).collect();
    let terminal_mean = terminal.iter().sum::<f64>() / terminal.len() as f64;
    Ok(Outcome {
        paths: plan.paths,
        years: plan.years,
        steps_per_year: plan.model.steps_per_year,
        success_probability: results.iter().filter(|r| r.survived).count() as f64 / plan.paths as f64,
        bands,
        terminal_mean,
        terminal_percentiles: percentiles(terminal.clone()),
        max_drawdown_percentiles: percentiles(results.iter().map(|r| r.max_drawdown).collect()),
        annual_returns: results.iter().flat_map(|r| r.annual_returns.iter().copied()).collect(),
        terminal,
        warnings: prep.warnings.clone(),
    })
}

#[cfg(test)]
mod tests {
    use statrs::distribution::{ContinuousCDF, StudentsT};

    use super::*;

    fn asset(mu: f64, sigma: f64, weight: f64) -> Asset {
        Asset { name: format!("a{mu}"), expected_return: mu, volatility: sigma, weight }
    }

    fn model(assets: Vec<Asset>) -> Model {
        Model { assets, correlation: None, shocks: Shocks::Normal, regimes: None, jumps: None, steps_per_year: 12 }
    }

    fn plan(model: Model, years: u32, paths: usize) -> Plan {
        Plan { initial_wealth: 1.0, years, model, cash_flows: CashFlows::default(), paths, seed: 7 }
    }

    /// GBM: log W_T ~ N(T (ln(1 + mu) - sigma^2 / 2), sigma^2 T) and E[W_T] = (1 + mu)^T. The
    /// tolerances are four standard errors of each estimate at this number of paths.
    #[test]
    fn terminal_wealth_matches_geometric_brownian_motion() {
        let (mu, sigma, t, n) = (0.07f64, 0.2f64, 10u32, 40_000usize);
        let out = run(&plan(model(vec![asset(mu, sigma, 1.0)]), t, n), 0).unwrap();
        let tf = f64::from(t);
        let logs: Vec<f64> = out.terminal.iter().map(|w| w.ln()).collect();
        let nf = n as f64;
        let mean_log = logs.iter().sum::<f64>() / nf;
        let var_log = logs.iter().map(|l| (l - mean_log).powi(2)).sum::<f64>() / (nf - 1.0);
        let (m, v) = (tf * ((1.0 + mu).ln() - sigma * sigma / 2.0), sigma * sigma * tf);
        assert!((mean_log - m).abs() < 4.0 * (v / nf).sqrt(), "mean of log wealth {mean_log} vs {m}");
        assert!((var_log - v).abs() < 4.0 * v * (2.0 / (nf - 1.0)).sqrt(), "variance of log wealth {var_log} vs {v}");
        let expected = (1.0 + mu).powf(tf);
        let sd = expected * ((v).exp() - 1.0).sqrt();
        assert!(
            (out.terminal_mean - expected).abs() < 4.0 * sd / nf.sqrt(),
            "E[W] {} vs {expected}",
            out.terminal_mean
        );
        assert_eq!(out.success_probability, 1.0);
    }

    #[test]
    fn the_same_seed_gives_identical_results_on_any_number_of_threads() {
        let mut m = model(vec![asset(0.06, 0.15, 0.6), asset(0.03, 0.05, 0.4)]);
        m.correlation = Some(vec![vec![1.0, 0.3], vec![0.3, 1.0]]);
        m.shocks = Shocks::StudentT { degrees_of_freedom: 5.0 };
        m.jumps = Some(Jumps { intensity: 0.5, mean: -0.05, volatility: 0.1 });
        let mut p = plan(m, 20, 2_000);
        p.cash_flows =
            CashFlows { annual_contribution: 0.1, annual_withdrawal: 0.12, retire_after_years: 10, inflation: 0.02 };
        let one = run(&p, 1).unwrap();
        let two = run(&p, 2).unwrap();
        assert_eq!(one, two);
        assert_eq!(one.annual_returns.len(), 2_000 * 20);
        p.seed = 8;
        assert_ne!(run(&p, 2).unwrap().terminal, one.terminal, "another seed, other paths");
    }

    /// A two-state chain: pi_1 = p21 / (p12 + p21). The share of steps spent in each regime
    /// converges to it; the tolerance is five standard errors of a proportion, widened by the
    /// chain's autocorrelation (1 + lambda) / (1 - lambda), lambda = 1 - p12 - p21.
    #[test]
    fn regimes_are_visited_in_their_stationary_proportions() {
        let (p12, p21) = (0.05, 0.2);
        let transition = vec![vec![1.0 - p12, p12], vec![p21, 1.0 - p21]];
        let pi = stationary_distribution(&transition);
        assert!((pi[0] - p21 / (p12 + p21)).abs() < 1e-12, "{pi:?}");
        let mut m = model(vec![asset(0.05, 0.1, 1.0)]);
        m.regimes = Some(Regimes {
            states: vec![
                Regime { name: "bull".into(), expected_returns: vec![0.1], volatilities: vec![0.1] },
                Regime { name: "bear".into(), expected_returns: vec![-0.1], volatilities: vec![0.3] },
            ],
            transition,
        });
        let prep = Prepared::new(&m).unwrap();
        let (paths, steps) = (400u64, 600usize);
        let mut in_first = 0usize;
        let mut r = [0.0];
        for path in 0..paths {
            let mut d = PathDraws::new(&prep, 1, path);
            for _ in 0..steps {
                in_first += usize::from(d.regime() == 0);
                d.step(&mut r);
            }
        }
        let n = (paths as usize * steps) as f64;
        let share = in_first as f64 / n;
        let lambda = 1.0 - p12 - p21;
        let se = (pi[0] * (1.0 - pi[0]) / n * (1.0 + lambda) / (1.0 - lambda)).sqrt();
        assert!((share - pi[0]).abs() < 5.0 * se, "share {share} vs {}", pi[0]);
    }

    /// With no diffusion and jumps of a fixed size, each step's return counts its jumps: their
    /// number per year is Poisson(lambda); tolerance five standard errors (sqrt(lambda / years)).
    #[test]
    fn jump_counts_are_poisson() {
        let mut m = model(vec![asset(0.0, 0.0, 1.0)]);
        let lambda = 3.0;
        m.jumps = Some(Jumps { intensity: lambda, mean: -0.01, volatility: 0.0 });
        let prep = Prepared::new(&m).unwrap();
        let drift = prep.drift[0][0];
        let (years, mut jumps, mut squares) = (20_000usize, 0.0f64, 0.0f64);
        let mut r = [0.0];
        let mut d = PathDraws::new(&prep, 3, 0);
        for _ in 0..years {
            let mut count = 0.0;
            for _ in 0..12 {
                d.step(&mut r);
                count += ((r[0] - drift) / -0.01).round();
            }
            jumps += count;
            squares += count * count;
        }
        let mean = jumps / years as f64;
        let var = squares / years as f64 - mean * mean;
        let se = (lambda / years as f64).sqrt();
        assert!((mean - lambda).abs() < 5.0 * se, "mean {mean}");
        assert!((var - lambda).abs() < 5.0 * lambda * (2.0 / years as f64).sqrt() * 1.5, "variance {var}");
    }

    /// Student-t shocks scaled to unit variance: the step variance is sigma^2 dt, and the share
    /// of shocks beyond three standard deviations is the t distribution's (both within five
    /// standard errors: the fourth moment for the variance, binomial for the share).
    #[test]
    fn student_t_shocks_have_unit_variance_and_t_tails() {
        let nu = 6.0f64;
        let mut m = model(vec![asset(0.0, 0.2, 1.0)]);
        m.shocks = Shocks::StudentT { degrees_of_freedom: nu };
        let prep = Prepared::new(&m).unwrap();
        let (drift, vol) = (prep.drift[0][0], prep.vol[0][0]);
        let n = 400_000usize;
        let mut r = [0.0];
        let mut d = PathDraws::new(&prep, 11, 0);
        let (mut sum2, mut beyond) = (0.0f64, 0usize);
        for _ in 0..n {
            d.step(&mut r);
            let e = (r[0] - drift) / vol;
            sum2 += e * e;
            beyond += usize::from(e.abs() > 3.0);
        }
        let var = sum2 / n as f64;
        let kurtosis = 3.0 + 6.0 / (nu - 4.0);
        assert!((var - 1.0).abs() < 5.0 * ((kurtosis - 1.0) / n as f64).sqrt(), "variance {var}");
        let t = StudentsT::new(0.0, 1.0, nu).unwrap();
        let p = 2.0 * (1.0 - t.cdf(3.0 * (nu / (nu - 2.0)).sqrt()));
        let share = beyond as f64 / n as f64;
        assert!((share - p).abs() < 5.0 * (p * (1.0 - p) / n as f64).sqrt(), "tail share {share} vs {p}");
    }

    #[test]
    fn withdrawals_larger_than_growth_run_out_and_bad_plans_name_the_field() {
        let mut p = plan(model(vec![asset(0.02, 0.01, 1.0)]), 30, 500);
        p.cash_flows = CashFlows { annual_withdrawal: 0.1, ..CashFlows::default() };
        let out = run(&p, 0).unwrap();
        assert_eq!(out.success_probability, 0.0, "10% a year from 1.0 at 2% lasts about 12 years");
        assert!(out.bands[29].wealth.iter().all(|w| *w == 0.0));
        let mut bad = plan(model(vec![asset(0.05, 0.1, 0.5)]), 10, 10);
        assert_eq!(
            run(&bad, 0).unwrap_err().to_string(),
            "model.assets.weight: weights must be at least 0 and sum to 1"
        );
        bad.model.assets[0].weight = 1.0;
        bad.model.shocks = Shocks::StudentT { degrees_of_freedom: 2.0 };
        assert!(run(&bad, 0).unwrap_err().to_string().starts_with("model.shocks.degrees_of_freedom"));
        bad.model.shocks = Shocks::Normal;
        bad.years = 101;
        assert_eq!(run(&bad, 0).unwrap_err().to_string(), "years: must be 1 to 100");
    }
}
