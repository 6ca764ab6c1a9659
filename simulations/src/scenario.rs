//! The economic scenario generator: a Markov chain of economic regimes (expansion, recession,
//! recovery, stagflation, or any others a plan names) and, within it, paths of GDP growth,
//! inflation, unemployment and the short rate, each a mean-reverting process whose target
//! level is the current regime's. It is meant to drive asset returns (each asset's return and
//! volatility per regime) and cash-flow inflation in the Monte Carlo engine, and runs on its
//! own through [`generate`].
//!
//! **The regime chain.** A plan gives yearly transition probabilities (what a year from now
//! looks like, the figure economists quote); a path moves every step, so the yearly matrix is
//! turned into the per-step one by its principal matrix root, P_step = P_year^(1/steps). The
//! root is computed by the binomial series and, when it is not a stochastic matrix (the yearly
//! matrix is then not exactly "embeddable"), its small negative entries are set to 0 and its
//! rows renormalized, with a warning when that moves a yearly probability by more than
//! [`ROOT_TOLERANCE`]. Paths start in the plan's `start` regime or in one drawn from the chain's
//! stationary distribution.
//!
//! **The variables.** Within a regime r each variable x follows the yearly AR(1)
//! x(t + 1) = level_r + persistence_r (x(t) - level_r) + volatility_r e, whose stationary
//! variance is volatility^2 / (1 - persistence^2); steps use the exact discretization of the
//! matching Ornstein-Uhlenbeck process (persistence^(1/steps) per step, the shock scaled so
//! that the stationary variance is the same), so the step size changes nothing observed a
//! year apart. The four shocks are correlated through a Cholesky factor. The short rate is
//! Black's (1995) shadow rate: the latent rate follows the process freely and the reported
//! rate is max(shadow, floor), so the rate stays at its floor for realistic spells; the
//! unemployment rate is reported at 0 or above the same way.
//!
//! Each path draws from its own random stream and results are gathered in path order, so the
//! same seed gives bit-identical results on any number of threads.

use std::fmt::Write as _;

use nalgebra::DMatrix;
use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::correlation;
use crate::markov::{check_transition, cumulative, pick, stationary_distribution};
use crate::rng::path_rng;
use crate::stats::percentiles;
use crate::MAX_PATH_YEARS;
use crate::{invalid, SimError};

/// The macro variables, in the order of every array here and of `correlation`'s rows.
pub const VARIABLES: [&str; 4] = ["gdp_growth", "inflation", "unemployment", "short_rate"];

/// The largest change to a yearly transition probability that repairing a per-step root may
/// make without a warning: below the three decimals anyone writes such a probability with.
pub const ROOT_TOLERANCE: f64 = 5e-4;

/// One variable's behaviour within a regime (annual rates as fractions: 0.025 for 2.5%).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Process {
    /// The level the variable reverts to while the economy is in this regime.
    pub level: f64,
    /// Autocorrelation one year apart, in [0, 1): the share of a gap to `level` left after a
    /// year (0: no memory; 0.7: 70% of a gap remains a year later).
    pub persistence: f64,
    /// Standard deviation of the yearly shock; the spread around `level` in the long run is
    /// volatility / sqrt(1 - persistence^2).
    pub volatility: f64,
}

/// One economic regime: a name and the behaviour of each variable while it lasts.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EconomicRegime {
    pub name: String,
    /// Real GDP growth, annual rate.
    pub gdp_growth: Process,
    /// Consumer price inflation, annual rate.
    pub inflation: Process,
    /// Unemployment rate.
    pub unemployment: Process,
    /// Short-term interest rate (3-month bill), annual rate.
    pub short_rate: Process,
}

impl EconomicRegime {
    fn processes(&self) -> [&Process; 4] {
        [&self.gdp_growth, &self.inflation, &self.unemployment, &self.short_rate]
    }
}

/// A value of each variable (annual rates as fractions).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    pub gdp_growth: f64,
    pub inflation: f64,
    pub unemployment: f64,
    pub short_rate: f64,
}

impl Levels {
    fn to_array(self) -> [f64; 4] {
        [self.gdp_growth, self.inflation, self.unemployment, self.short_rate]
    }
}

/// The economy: its regimes, how they follow one another, and where paths start.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Economy {
    pub regimes: Vec<EconomicRegime>,
    /// Yearly transition probabilities, one row per regime (row: from, column: to; each row
    /// sums to 1). Converted to per-step probabilities by the matrix root.
    pub yearly_transition: Vec<Vec<f64>>,
    /// The regime every path starts in (by name); drawn from the long-run (stationary)
    /// distribution when omitted.
    #[serde(default)]
    pub start: Option<String>,
    /// The variables' values today; the starting regime's levels when omitted.
    #[serde(default)]
    pub initial: Option<Levels>,
    /// Correlation of the four variables' shocks, rows in the order of [`VARIABLES`]
    /// (independent when omitted).
    #[serde(default)]
    pub correlation: Option<Vec<Vec<f64>>>,
    /// The lowest short rate reported (default 0; `-inf` for none).
    #[serde(default)]
    pub short_rate_floor: f64,
}

/// One step of a path: the regime that governed it and the variables at its end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Macro {
    pub regime: usize,
    pub gdp_growth: f64,
    pub inflation: f64,
    pub unemployment: f64,
    pub short_rate: f64,
}

/// One regime's per-step parameters for each variable.
#[derive(Debug, Clone)]
struct StepParams {
    level: [f64; 4],
    /// Persistence per step: persistence^(1/steps).
    phi: [f64; 4],
    /// Shock standard deviation per step.
    sigma: [f64; 4],
}

/// An economy checked and prepared for drawing at a given number of steps a year.
#[derive(Debug, Clone)]
pub struct PreparedEconomy {
    names: Vec<String>,
    steps_per_year: u32,
    regimes: Vec<StepParams>,
    /// The Cholesky factor's lower triangle, row by row.
    chol: [f64; 10],
    /// The lowest value reported per variable.
    floor: [f64; 4],
    /// Per-step transition matrix, and its cumulative rows for drawing.
    step_transition: Vec<Vec<f64>>,
    cumulative: Vec<Vec<f64>>,
    stationary: Vec<f64>,
    /// The fixed starting regime, or `None` to draw it from `stationary`.
    start: Option<usize>,
    start_cumulative: Vec<f64>,
    initial: Option<[f64; 4]>,
    pub warnings: Vec<String>,
}

impl PreparedEconomy {
    /// Checks `economy` (errors name the field, as `economy.regimes[1].inflation.persistence`)
    /// and prepares it for `steps_per_year` steps a year (1, 4, 12, 52 or 252).
    pub fn new(economy: &Economy, steps_per_year: u32) -> Result<Self, SimError> {
        if !matches!(steps_per_year, 1 | 4 | 12 | 52 | 252) {
            return Err(invalid(
                "steps_per_year",
                "must be 1, 4 (quarterly), 12 (monthly), 52 (weekly) or 252 (daily)",
            ));
        }
        let names = check_regimes(&economy.regimes)?;
        let mut warnings = Vec::new();
        let step_transition = step_transition(&economy.yearly_transition, names.len(), steps_per_year, &mut warnings)?;
        let chol = shock_factor(economy.correlation.as_deref(), &mut warnings)?;
        let start = economy.start.as_ref().map(|s| regime_index(&names, s, "economy.start")).transpose()?;
        let initial = economy.initial.map(check_initial).transpose()?;
        if economy.short_rate_floor.is_nan() || economy.short_rate_floor == f64::INFINITY {
            return Err(invalid("economy.short_rate_floor", "must be a number (or -inf for no floor)"));
        }
        // The stationary distribution of the per-step chain, found on its yearly power (the
        // same distribution, reached in far fewer iterations than a daily matrix would need).
        let k = names.len();
        let effective = DMatrix::from_fn(k, k, |i, j| step_transition[i][j]).pow(steps_per_year);
        let stationary = stationary_distribution(&rows(&effective));
        Ok(Self {
            steps_per_year,
            regimes: economy.regimes.iter().map(|r| step_params(r, steps_per_year)).collect(),
            chol,
            floor: [f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0, economy.short_rate_floor],
            cumulative: step_transition.iter().map(|row| cumulative(row)).collect(),
            step_transition,
            start_cumulative: cumulative(&stationary),
            stationary,
            start,
            initial,
            names,
            warnings,
        })
    }

    /// The regimes' names, in the order of [`Macro::regime`].
    pub fn regime_names(&self) -> &[String] {
        &self.names
    }

    /// The long-run share of time in each regime.
    pub fn stationary(&self) -> &[f64] {
        &self.stationary
    }

    /// The per-step transition matrix (row: from).
    pub fn step_transition(&self) -> &[Vec<f64>] {
        &self.step_transition
    }

    /// The step size it was prepared for, which an embedding engine's own steps must match.
    pub fn steps_per_year(&self) -> u32 {
        self.steps_per_year
    }
}

/// Checks every regime's numbers and returns the names (non-empty, distinct).
fn check_regimes(regimes: &[EconomicRegime]) -> Result<Vec<String>, SimError> {
    if regimes.is_empty() {
        return Err(invalid("economy.regimes", "at least one regime is needed"));
    }
    let mut names: Vec<String> = Vec::with_capacity(regimes.len());
    for (i, r) in regimes.iter().enumerate() {
        let field = format!("economy.regimes[{i}]");
        if r.name.trim().is_empty() || names.contains(&r.name) {
            return Err(invalid(format!("{field}.name"), "must be a name no other regime has"));
        }
        for (variable, p) in VARIABLES.iter().zip(r.processes()) {
            check_process(p, &format!("{field}.{variable}"))?;
        }
        names.push(r.name.clone());
    }
    Ok(names)
}

fn check_process(p: &Process, field: &str) -> Result<(), SimError> {
    if !p.level.is_finite() || p.level.abs() > 1.0 {
        return Err(invalid(format!("{field}.level"), "must be a rate between -1 and 1"));
    }
    if !(0.0..1.0).contains(&p.persistence) {
        return Err(invalid(format!("{field}.persistence"), "must be at least 0 and below 1"));
    }
    if !(p.volatility.is_finite() && (0.0..=1.0).contains(&p.volatility)) {
        return Err(invalid(format!("{field}.volatility"), "must be between 0 and 1"));
    }
    Ok(())
}

fn check_initial(levels: Levels) -> Result<[f64; 4], SimError> {
    let values = levels.to_array();
    for (variable, v) in VARIABLES.iter().zip(values) {
        if !v.is_finite() || v.abs() > 1.0 {
            return Err(invalid(format!("economy.initial.{variable}"), "must be a rate between -1 and 1"));
        }
    }
    Ok(values)
}

fn regime_index(names: &[String], name: &str, field: &str) -> Result<usize, SimError> {
    names.iter().position(|n| n == name).ok_or_else(|| invalid(field, format!("names no regime: {name:?}")))
}

/// A regime's yearly AR(1) as per-step parameters: persistence phi^(1/s) per step, and a
/// shock scaled so the stationary variance stays sigma^2 / (1 - phi^2) (exact discretization
/// of the Ornstein-Uhlenbeck process; with phi = 0, independent draws with variance sigma^2).
fn step_params(r: &EconomicRegime, steps_per_year: u32) -> StepParams {
    let per_step = 1.0 / f64::from(steps_per_year);
    let p = r.processes();
    let phi = p.map(|v| v.persistence.powf(per_step));
    let sigma = std::array::from_fn(|i| {
        p[i].volatility * ((1.0 - phi[i] * phi[i]) / (1.0 - p[i].persistence * p[i].persistence)).sqrt()
    });
    StepParams { level: p.map(|v| v.level), phi, sigma }
}

/// The Cholesky factor of the shocks' correlation (identity when none is given), repaired to
/// the nearest correlation matrix with a warning when it is not positive definite.
fn shock_factor(rows: Option<&[Vec<f64>]>, warnings: &mut Vec<String>) -> Result<[f64; 10], SimError> {
    let field = "economy.correlation";
    let m = match rows {
        None => DMatrix::identity(4, 4),
        Some(rows) if rows.len() != 4 || rows.iter().any(|r| r.len() != 4) => {
            return Err(invalid(field, format!("must be 4 rows of 4 numbers, in the order {}", VARIABLES.join(", "))));
        }
        Some(rows) => correlation::check(rows, 4, field)?,
    };
    let (l, repaired) = correlation::factor(&m);
    if let Some(change) = repaired {
        warnings.push(format!(
            "{field} is not positive definite; repaired to the nearest correlation matrix \
             (Higham 2002; largest change {change:.6})"
        ));
    }
    let mut chol = [0.0; 10];
    let lower = (0..4).flat_map(|i| (0..=i).map(move |j| (i, j)));
    for (c, (i, j)) in chol.iter_mut().zip(lower) {
        *c = l[(i, j)];
    }
    Ok(chol)
}

/// Checks the yearly matrix and returns the per-step one: its principal root, repaired to a
/// stochastic matrix when the root has negative entries.
fn step_transition(
    yearly: &[Vec<f64>],
    k: usize,
    steps: u32,
    warnings: &mut Vec<String>,
) -> Result<Vec<Vec<f64>>, SimError> {
    let field = "economy.yearly_transition";
    check_transition(yearly, k, field)?;
    let p = DMatrix::from_fn(k, k, |i, j| yearly[i][j]);
    let root = matrix_root(&p, steps).ok_or_else(|| {
        invalid(
            field,
            "has no per-step root: some regime changes too often to be followed step by step (a matrix \
             whose rows each keep more than half their probability on the diagonal always has one)",
        )
    })?;
    let step = stochastic(&root);
    let change = (step.pow(steps) - &p).abs().max();
    if change > ROOT_TOLERANCE {
        warnings.push(format!(
            "{field} has no exact per-step equivalent; its root's negative entries were set to 0, \
             which changes a yearly probability by up to {change:.4}"
        ));
    }
    Ok(rows(&step))
}

/// The principal `steps`-th root of `p` by the binomial series
/// (I + A)^(1/s) = sum over k of C(1/s, k) A^k, with A = p - I. It converges when every
/// eigenvalue of `p` lies within distance 1 of 1, as for any chain whose states persist
/// (Gershgorin: a diagonal above 1/2 in every row suffices); `None` when it does not.
fn matrix_root(p: &DMatrix<f64>, steps: u32) -> Option<DMatrix<f64>> {
    let n = p.nrows();
    let a = p - DMatrix::identity(n, n);
    let alpha = 1.0 / f64::from(steps);
    let (mut root, mut power, mut coefficient) = (DMatrix::identity(n, n), DMatrix::identity(n, n), 1.0);
    for k in 1..=20_000u32 {
        coefficient *= (alpha - f64::from(k) + 1.0) / f64::from(k);
        power = &power * &a;
        let term = &power * coefficient;
        root += &term;
        let size = term.abs().max();
        if size < 1e-16 {
            return Some(root);
        }
        if !size.is_finite() || size > 1e6 {
            return None;
        }
    }
    None
}

/// `m` with negative entries set to 0 and rows rescaled to sum to 1 (Israel, Rosenthal and Wei
/// 2001: the simplest repair of a root that is not a transition matrix).
fn stochastic(m: &DMatrix<f64>) -> DMatrix<f64> {
    let mut s = m.map(|x| x.max(0.0));
    for mut row in s.row_iter_mut() {
        let total = row.sum();
        row /= total;
    }
    s
}

fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    m.row_iter().map(|r| r.iter().copied().collect()).collect()
}

/// One path of the economy. It holds no random stream: the caller passes its own to every
/// call, so the Monte Carlo engine can draw asset returns from the same per-path stream.
#[derive(Debug, Clone)]
pub struct EconomyPath<'a> {
    prep: &'a PreparedEconomy,
    regime: usize,
    /// The latent values (the short rate before its floor).
    x: [f64; 4],
}

impl<'a> EconomyPath<'a> {
    /// Starts a path: the start regime (drawn from the stationary distribution unless fixed)
    /// and the initial values (the regime's levels unless given).
    pub fn new<R: Rng + ?Sized>(prep: &'a PreparedEconomy, rng: &mut R) -> Self {
        let regime = prep.start.unwrap_or_else(|| pick(&prep.start_cumulative, rng.gen()));
        let x = prep.initial.unwrap_or(prep.regimes[regime].level);
        Self { prep, regime, x }
    }

    /// The regime the next step will be drawn in.
    pub fn regime(&self) -> usize {
        self.regime
    }

    /// Moves every variable one step towards the current regime's levels (with correlated
    /// shocks), then moves the regime chain. Returns the step's regime and the new values.
    pub fn step<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Macro {
        let p = self.prep;
        let s = &p.regimes[self.regime];
        let z: [f64; 4] = std::array::from_fn(|_| rng.sample(StandardNormal));
        let mut row = 0;
        for i in 0..4 {
            let e: f64 = p.chol[row..=row + i].iter().zip(&z).map(|(c, z)| c * z).sum();
            row += i + 1;
            self.x[i] = s.level[i] + s.phi[i] * (self.x[i] - s.level[i]) + s.sigma[i] * e;
        }
        let v: [f64; 4] = std::array::from_fn(|i| self.x[i].max(p.floor[i]));
        let out =
            Macro { regime: self.regime, gdp_growth: v[0], inflation: v[1], unemployment: v[2], short_rate: v[3] };
        if p.cumulative.len() > 1 {
            self.regime = pick(&p.cumulative[self.regime], rng.gen());
        }
        out
    }
}

impl Macro {
    fn values(&self) -> [f64; 4] {
        [self.gdp_growth, self.inflation, self.unemployment, self.short_rate]
    }
}

/// The distribution of one variable's yearly average across paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// 5th, 25th, 50th, 75th, 95th percentiles.
    pub percentiles: [f64; 5],
    pub mean: f64,
}

/// One year across paths: each variable's yearly average (over the year's steps), and the
/// share of paths in each regime at the year's end (the regime the next year starts in, so
/// a year's shares from a fixed start are the yearly matrix's row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EconomyYear {
    pub year: u32,
    pub gdp_growth: Spread,
    pub inflation: Spread,
    pub unemployment: Spread,
    pub short_rate: Spread,
    /// In the order of `EconomyOutcome::regimes`.
    pub regime_shares: Vec<f64>,
}

impl EconomyYear {
    /// The variables' spreads in the order of [`VARIABLES`].
    pub fn spreads(&self) -> [&Spread; 4] {
        [&self.gdp_growth, &self.inflation, &self.unemployment, &self.short_rate]
    }
}

/// What a standalone run of the generator gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EconomyOutcome {
    pub paths: usize,
    pub years: u32,
    pub steps_per_year: u32,
    pub regimes: Vec<String>,
    /// The long-run share of time in each regime.
    pub stationary: Vec<f64>,
    pub bands: Vec<EconomyYear>,
    pub warnings: Vec<String>,
}

/// One path's years: each variable's yearly average and the regime at the year's end.
type PathYears = Vec<([f64; 4], usize)>;

fn simulate_path(prep: &PreparedEconomy, years: u32, seed: u64, path: u64) -> PathYears {
    let mut rng = path_rng(seed, path);
    let mut economy = EconomyPath::new(prep, &mut rng);
    let steps = prep.steps_per_year;
    (0..years)
        .map(|_| {
            let mut sum = [0.0; 4];
            for _ in 0..steps {
                let m = economy.step(&mut rng);
                sum.iter_mut().zip(m.values()).for_each(|(s, v)| *s += v);
            }
            (sum.map(|s| s / f64::from(steps)), economy.regime())
        })
        .collect()
}

/// Runs `paths` paths of `years` years on `threads` threads (0: all cores); the same seed
/// gives the same outcome on any number of threads.
pub fn generate(
    economy: &Economy,
    years: u32,
    steps_per_year: u32,
    paths: usize,
    seed: u64,
    threads: usize,
) -> Result<EconomyOutcome, SimError> {
    if years == 0 || years > 100 {
        return Err(invalid("years", "must be 1 to 100"));
    }
    // Each path-year keeps five numbers here where Monte Carlo keeps two: a quarter of its bound.
    let limit = MAX_PATH_YEARS / 4;
    if paths == 0 || paths as u64 * u64::from(years) > limit {
        return Err(invalid("paths", format!("must be at least 1, and paths x years at most {limit}")));
    }
    let prep = PreparedEconomy::new(economy, steps_per_year)?;
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| invalid("threads", e.to_string()))?;
    let results: Vec<PathYears> =
        pool.install(|| (0..paths as u64).into_par_iter().map(|p| simulate_path(&prep, years, seed, p)).collect());
    let bands = (0..years as usize).map(|y| year_band(&results, y, prep.names.len())).collect();
    Ok(EconomyOutcome {
        paths,
        years,
        steps_per_year,
        regimes: prep.names.clone(),
        stationary: prep.stationary.clone(),
        bands,
        warnings: prep.warnings.clone(),
    })
}

fn year_band(results: &[PathYears], y: usize, regimes: usize) -> EconomyYear {
    let n = results.len() as f64;
    let [gdp_growth, inflation, unemployment, short_rate] = std::array::from_fn(|i| {
        let values: Vec<f64> = results.iter().map(|r| r[y].0[i]).collect();
        Spread { mean: values.iter().sum::<f64>() / n, percentiles: percentiles(values) }
    });
    let mut counts = vec![0usize; regimes];
    for r in results {
        counts[r[y].1] += 1;
    }
    let regime_shares = counts.iter().map(|c| *c as f64 / n).collect();
    EconomyYear { year: y as u32 + 1, gdp_growth, inflation, unemployment, short_rate, regime_shares }
}

/// A text rendering: every fifth year and the last, each variable's percentiles of its yearly
/// average (in percent) and the share of paths in each regime.
pub fn table(outcome: &EconomyOutcome) -> String {
    let mut out = format!(
        "Economy: {} paths, {} years, {} steps a year; yearly averages in %, percentiles 5/25/50/75/95\n",
        outcome.paths, outcome.years, outcome.steps_per_year
    );
    let long_run = shares(&outcome.regimes, &outcome.stationary);
    let _ = writeln!(out, "long-run regime shares: {long_run}");
    let _ = writeln!(
        out,
        "{:>4}  {:<13}{:>7}{:>7}{:>7}{:>7}{:>7}{:>7}",
        "year", "", "p5", "p25", "p50", "p75", "p95", "mean"
    );
    for b in outcome.bands.iter().filter(|b| b.year % 5 == 0 || b.year == outcome.years) {
        for (i, (name, s)) in VARIABLES.iter().zip(b.spreads()).enumerate() {
            let year = if i == 0 { b.year.to_string() } else { String::new() };
            let _ = write!(out, "{year:>4}  {name:<13}");
            for v in s.percentiles.iter().chain([&s.mean]) {
                let _ = write!(out, "{:>7.2}", v * 100.0);
            }
            out.push('\n');
        }
        let _ = writeln!(out, "{:>4}  {:<13}{}", "", "regimes", shares(&outcome.regimes, &b.regime_shares));
    }
    out
}

fn shares(names: &[String], shares: &[f64]) -> String {
    names.iter().zip(shares).map(|(n, s)| format!("{n} {:.1}%", s * 100.0)).collect::<Vec<_>>().join("  ")
}

impl Economy {
    /// A built-in economy by name (`"us"`), for plans that name one instead of writing it out.
    pub fn named(name: &str) -> Result<Self, SimError> {
        match name {
            "us" => Ok(Self::us_default()),
            other => Err(invalid("economy", format!("no built-in economy is called {other:?} (known: \"us\")"))),
        }
    }

    /// A US-postwar-like calibration of four regimes: rounded, plausible figures, not a fit.
    ///
    /// Durations (NBER business-cycle reference dates, 1945-2009 cycles): expansions average
    /// about 58 months, contractions about 11. The chain is defined by yearly rates of leaving
    /// each regime, a continuous-time generator Q, and the yearly matrix is exp(Q) rounded to
    /// three decimals (so its monthly root exists, up to rounding):
    /// - expansion: left at 0.22 a year (mean stay ~4.5 years; with recovery, ~5.5 years of
    ///   growth per cycle), to recession 0.17, to stagflation 0.05;
    /// - recession: left at 1 a year (mean ~1 year), always into recovery;
    /// - recovery (the early expansion after a trough): left at 1 a year, to expansion 0.9 and
    ///   back to recession 0.1 (double dips such as 1980-82);
    /// - stagflation (1973-75, 1979-82): left at 0.5 a year (mean ~2 years), mostly through a
    ///   disinflationary recession (0.35), else to expansion (0.15).
    ///
    /// Long-run shares: expansion ~64%, recession ~15% (NBER: about 14% of postwar months),
    /// recovery ~15%, stagflation ~6%.
    ///
    /// Levels per regime from postwar averages by phase (real GDP growth: BEA; CPI-U inflation
    /// and the unemployment rate: BLS; 3-month Treasury bill: FRED TB3MS), giving long-run
    /// means near 2.5% growth, 2.5% inflation, 5.5% unemployment and a 3.3% bill rate (postwar:
    /// about 3%, 3.5%, 5.7%, 4%). Persistence and volatility are yearly: growth has little
    /// memory (annual autocorrelation ~0.3), inflation, unemployment and rates much more
    /// (~0.7); the Fed cuts and unemployment rises fast in recessions (0.5). Shock
    /// correlations: Okun's law (growth vs unemployment -0.5), a Taylor-rule link of rates to
    /// inflation (0.5) and growth (0.3). The short rate is floored at 0.
    pub fn us_default() -> Self {
        let p = |level, persistence, volatility| Process { level, persistence, volatility };
        let regime = |name: &str, gdp_growth, inflation, unemployment, short_rate| EconomicRegime {
            name: name.to_owned(),
            gdp_growth,
            inflation,
            unemployment,
            short_rate,
        };
        Self {
            regimes: vec![
                regime(
                    "expansion",
                    p(0.032, 0.3, 0.012),
                    p(0.025, 0.7, 0.006),
                    p(0.045, 0.7, 0.004),
                    p(0.040, 0.7, 0.006),
                ),
                regime(
                    "recession",
                    p(-0.020, 0.3, 0.015),
                    p(0.020, 0.7, 0.008),
                    p(0.075, 0.5, 0.006),
                    p(0.015, 0.5, 0.008),
                ),
                regime(
                    "recovery",
                    p(0.045, 0.3, 0.015),
                    p(0.018, 0.7, 0.006),
                    p(0.065, 0.6, 0.005),
                    p(0.015, 0.7, 0.006),
                ),
                regime(
                    "stagflation",
                    p(0.005, 0.3, 0.015),
                    p(0.075, 0.8, 0.012),
                    p(0.070, 0.7, 0.006),
                    p(0.080, 0.7, 0.012),
                ),
            ],
            yearly_transition: vec![
                vec![0.820, 0.102, 0.043, 0.035],
                vec![0.221, 0.398, 0.377, 0.004],
                vec![0.512, 0.077, 0.398, 0.013],
                vec![0.133, 0.178, 0.080, 0.609],
            ],
            start: None,
            initial: None,
            correlation: Some(vec![
                vec![1.0, 0.1, -0.5, 0.3],
                vec![0.1, 1.0, -0.1, 0.5],
                vec![-0.5, -0.1, 1.0, -0.3],
                vec![0.3, 0.5, -0.3, 1.0],
            ]),
            short_rate_floor: 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(level: f64, persistence: f64, volatility: f64) -> Process {
        Process { level, persistence, volatility }
    }

    /// One regime, so each variable is a plain AR(1) around its level.
    fn single_regime(processes: [Process; 4]) -> Economy {
        let [gdp_growth, inflation, unemployment, short_rate] = processes;
        Economy {
            regimes: vec![EconomicRegime { name: "only".into(), gdp_growth, inflation, unemployment, short_rate }],
            yearly_transition: vec![vec![1.0]],
            start: None,
            initial: None,
            correlation: None,
            short_rate_floor: f64::NEG_INFINITY,
        }
    }

    /// An economy with the given yearly matrix and identical regimes.
    fn chain(yearly: Vec<Vec<f64>>) -> Economy {
        let mut e = Economy::us_default();
        e.regimes =
            (0..yearly.len()).map(|i| EconomicRegime { name: format!("r{i}"), ..e.regimes[0].clone() }).collect();
        e.yearly_transition = yearly;
        e
    }

    fn matrix(rows: &[Vec<f64>]) -> DMatrix<f64> {
        DMatrix::from_fn(rows.len(), rows.len(), |i, j| rows[i][j])
    }

    /// A yearly matrix that is the 12th power of a known monthly one: the root must give the
    /// monthly matrix back, and the root's 12th power the yearly matrix (to rounding).
    #[test]
    fn the_per_step_root_reproduces_the_yearly_matrix() {
        let monthly = matrix(&[vec![0.97, 0.02, 0.01], vec![0.05, 0.90, 0.05], vec![0.02, 0.03, 0.95]]);
        let yearly = rows(&monthly.pow(12));
        let prep = PreparedEconomy::new(&chain(yearly.clone()), 12).unwrap();
        assert!(prep.warnings.is_empty(), "{:?}", prep.warnings);
        let step = matrix(prep.step_transition());
        assert!((&step - &monthly).abs().max() < 1e-12, "{step}");
        assert!((step.pow(12) - matrix(&yearly)).abs().max() < 1e-12);
        // The US calibration (three decimals) has a root at every step size, to within the
        // tolerance, and every per-step row is a probability distribution.
        for steps in [1, 4, 12, 52, 252] {
            let prep = PreparedEconomy::new(&Economy::us_default(), steps).unwrap();
            assert!(prep.warnings.is_empty(), "{steps}: {:?}", prep.warnings);
            let step = matrix(prep.step_transition());
            assert!(step.iter().all(|p| *p >= 0.0));
            assert!(step.row_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
            let yearly = matrix(&Economy::us_default().yearly_transition);
            assert!((step.pow(steps) - yearly).abs().max() < ROOT_TOLERANCE, "{steps}");
        }
    }

    /// A cycle through three regimes with zeros off the cycle has no monthly transition
    /// matrix (its root has negative entries): it is repaired, with a warning. A chain that
    /// flips every year has no root at all.
    #[test]
    fn a_yearly_matrix_without_a_per_step_equivalent_is_repaired_or_refused() {
        let cycle = vec![vec![0.5, 0.5, 0.0], vec![0.0, 0.5, 0.5], vec![0.5, 0.0, 0.5]];
        let prep = PreparedEconomy::new(&chain(cycle), 12).unwrap();
        assert_eq!(prep.warnings.len(), 1);
        assert!(prep.warnings[0].starts_with("economy.yearly_transition has no exact per-step equivalent"));
        let step = matrix(prep.step_transition());
        assert!(step.iter().all(|p| *p >= 0.0));
        assert!(step.row_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
        let flip = PreparedEconomy::new(&chain(vec![vec![0.0, 1.0], vec![1.0, 0.0]]), 12).unwrap_err();
        assert!(flip.to_string().starts_with("economy.yearly_transition: has no per-step root"), "{flip}");
    }

    /// Two regimes: pi_1 = p21 / (p12 + p21). Then the US chain started in recession: a year on,
    /// each path's regime is an independent draw from the yearly matrix's recession row, and
    /// after 30 years from the stationary distribution, so every share is within five binomial
    /// standard errors of its probability.
    #[test]
    fn regimes_are_visited_in_their_stationary_proportions() {
        let (p12, p21) = (0.2, 0.6);
        let prep = PreparedEconomy::new(&chain(vec![vec![1.0 - p12, p12], vec![p21, 1.0 - p21]]), 12).unwrap();
        assert!((prep.stationary()[0] - p21 / (p12 + p21)).abs() < 1e-12, "{:?}", prep.stationary());

        let mut us = Economy::us_default();
        us.start = Some("recession".into());
        let paths = 20_000;
        let out = generate(&us, 30, 12, paths, 5, 0).unwrap();
        let last = &out.bands[29].regime_shares;
        for (share, pi) in last.iter().zip(&out.stationary) {
            let se = (pi * (1.0 - pi) / paths as f64).sqrt();
            assert!((share - pi).abs() < 5.0 * se, "shares {last:?} vs {:?}", out.stationary);
        }
        // A year on, the shares are the yearly matrix's recession row: the root loses nothing.
        let after_one_year = &out.bands[0].regime_shares;
        for (share, p) in after_one_year.iter().zip(&us.yearly_transition[1]) {
            assert!((share - p).abs() < 5.0 * (p * (1.0 - p) / paths as f64).sqrt(), "{after_one_year:?}");
        }
        // The documented long-run shares of the generator the yearly matrix was rounded from.
        for (pi, documented) in out.stationary.iter().zip([0.643, 0.146, 0.146, 0.064]) {
            assert!((pi - documented).abs() < 0.005, "{:?}", out.stationary);
        }
    }

    /// One regime, monthly steps, sampled a year apart after a burn-in: each variable's mean is
    /// its level, its variance sigma^2 / (1 - phi^2) and its yearly autocorrelation phi, and
    /// two variables with the same persistence are correlated as their shocks. Tolerances are
    /// five standard errors of AR(1) estimates over n yearly samples: for the mean
    /// gamma0 (1 + phi) / (1 - phi) / n, for the variance 2 gamma0^2 (1 + phi^2) / (1 - phi^2) / n,
    /// for the autocorrelation (1 - phi^2) / n, for the correlation
    /// (1 - rho^2)^2 (1 + phi^2) / (1 - phi^2) / n (Bartlett).
    #[test]
    fn each_variable_is_an_ar1_with_its_level_stationary_variance_and_yearly_persistence() {
        let processes =
            [flat(0.03, 0.7, 0.01), flat(0.025, 0.0, 0.006), flat(0.06, 0.7, 0.004), flat(0.04, 0.5, 0.008)];
        let mut economy = single_regime(processes);
        let rho = -0.6;
        economy.correlation = Some(vec![
            vec![1.0, 0.1, rho, 0.3],
            vec![0.1, 1.0, -0.1, 0.5],
            vec![rho, -0.1, 1.0, -0.3],
            vec![0.3, 0.5, -0.3, 1.0],
        ]);
        let prep = PreparedEconomy::new(&economy, 12).unwrap();
        let (paths, burn_in, years) = (400u64, 15, 100);
        let mut samples: Vec<Vec<[f64; 4]>> = Vec::new();
        for path in 0..paths {
            let mut rng = path_rng(9, path);
            let mut e = EconomyPath::new(&prep, &mut rng);
            let mut year_end = |e: &mut EconomyPath| (0..12).map(|_| e.step(&mut rng)).last().unwrap().values();
            for _ in 0..burn_in {
                year_end(&mut e);
            }
            samples.push((0..years).map(|_| year_end(&mut e)).collect());
        }
        let n = (paths * years) as f64;
        let gap = |s: &[f64; 4], i: usize| s[i] - processes[i].level;
        for (i, p) in processes.iter().enumerate() {
            let phi = p.persistence;
            let gamma0 = p.volatility.powi(2) / (1.0 - phi * phi);
            let all = samples.iter().flatten();
            let mean = all.clone().map(|s| gap(s, i)).sum::<f64>() / n;
            let var = all.map(|s| gap(s, i).powi(2)).sum::<f64>() / n;
            let pairs = samples.iter().flat_map(|path| path.windows(2));
            let lagged = pairs.map(|w| gap(&w[0], i) * gap(&w[1], i)).sum::<f64>() / (n - paths as f64);
            let name = VARIABLES[i];
            assert!(mean.abs() < 5.0 * (gamma0 * (1.0 + phi) / (1.0 - phi) / n).sqrt(), "{name}: mean gap {mean}");
            let var_se = (2.0 * gamma0 * gamma0 * (1.0 + phi * phi) / (1.0 - phi * phi) / n).sqrt();
            assert!((var - gamma0).abs() < 5.0 * var_se, "{name}: variance {var} vs {gamma0}");
            let autocorrelation = lagged / var;
            let ac_se = ((1.0 - phi * phi) / n).sqrt();
            assert!((autocorrelation - phi).abs() < 5.0 * ac_se, "{name}: autocorrelation {autocorrelation} vs {phi}");
        }
        let (sd0, sd2) = (0.01 / 0.51f64.sqrt(), 0.004 / 0.51f64.sqrt());
        let r = samples.iter().flatten().map(|s| gap(s, 0) * gap(s, 2)).sum::<f64>() / n / (sd0 * sd2);
        let r_se = ((1.0 - rho * rho).powi(2) * (1.0 + 0.49) / 0.51 / n).sqrt();
        assert!((r - rho).abs() < 5.0 * r_se, "correlation {r} vs {rho}");
    }

    /// The short rate is a shadow rate: reported at the floor, never below; without a floor it
    /// goes negative as freely as the process does.
    #[test]
    fn the_short_rate_is_floored_as_a_shadow_rate() {
        let mut economy =
            single_regime([flat(0.02, 0.5, 0.01), flat(0.02, 0.5, 0.01), flat(0.05, 0.5, 0.005), flat(0.0, 0.5, 0.01)]);
        let draw = |economy: &Economy| {
            let prep = PreparedEconomy::new(economy, 12).unwrap();
            let mut rng = path_rng(1, 0);
            let mut e = EconomyPath::new(&prep, &mut rng);
            (0..12_000).map(|_| e.step(&mut rng).short_rate).collect::<Vec<_>>()
        };
        let free = draw(&economy);
        economy.short_rate_floor = 0.0;
        let floored = draw(&economy);
        assert!(free.iter().filter(|r| **r < 0.0).count() > 4_000, "about half the time below a level of 0");
        assert!(floored.iter().all(|r| *r >= 0.0));
        assert_eq!(floored, free.iter().map(|r| r.max(0.0)).collect::<Vec<_>>(), "the same latent path");
    }

    #[test]
    fn the_same_seed_gives_identical_results_on_any_number_of_threads() {
        let economy = Economy::us_default();
        let one = generate(&economy, 12, 12, 600, 3, 1).unwrap();
        let three = generate(&economy, 12, 12, 600, 3, 3).unwrap();
        assert_eq!(one, three);
        assert_ne!(generate(&economy, 12, 12, 600, 4, 3).unwrap().bands, one.bands, "another seed, other paths");
    }

    /// Long-run averages (years 11 to 40, pooled over paths) against postwar US experience.
    #[test]
    fn the_us_calibration_has_plausible_long_run_averages() {
        let out = generate(&Economy::us_default(), 40, 12, 2_000, 1, 0).unwrap();
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.regimes, ["expansion", "recession", "recovery", "stagflation"]);
        let late = &out.bands[10..];
        let bounds = [(0.015, 0.04), (0.01, 0.05), (0.04, 0.07), (0.02, 0.06)];
        for (i, (name, (low, high))) in VARIABLES.iter().zip(bounds).enumerate() {
            let mean = late.iter().map(|b| b.spreads()[i].mean).sum::<f64>() / late.len() as f64;
            assert!((low..=high).contains(&mean), "{name}: long-run mean {mean}");
        }
        let last = &out.bands[39];
        assert!(last.inflation.percentiles[4] - last.inflation.percentiles[0] > 0.02, "inflation is uncertain");
        assert!(last.short_rate.percentiles[0] >= 0.0, "the floor holds");
    }

    #[test]
    fn the_table_shows_every_fifth_year_and_the_last() {
        let out = generate(&Economy::us_default(), 12, 4, 50, 1, 1).unwrap();
        let text = table(&out);
        let years: Vec<&str> =
            text.lines().filter(|l| l.contains("gdp_growth")).map(|l| l.split_whitespace().next().unwrap()).collect();
        assert_eq!(years, ["5", "10", "12"]);
        assert!(text.contains("long-run regime shares: expansion 6"), "{text}");
    }

    /// examples/economy.toml documents the built-in calibration field by field: it must parse
    /// to exactly `us_default()`, and a misspelt field must be refused.
    #[test]
    fn the_example_file_is_the_us_calibration() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            economy: Economy,
        }
        let text = include_str!("../../examples/economy.toml");
        let file: File = toml::from_str(text).unwrap();
        assert_eq!(file.economy, Economy::us_default());
        assert_eq!(Economy::named("us").unwrap(), file.economy);
        let misspelt = text.replace("short_rate_floor", "short_rate_flor");
        assert!(toml::from_str::<File>(&misspelt).unwrap_err().to_string().contains("short_rate_flor"));
        let no_floor = text.replace("short_rate_floor = 0.0", "short_rate_floor = -inf");
        assert_eq!(toml::from_str::<File>(&no_floor).unwrap().economy.short_rate_floor, f64::NEG_INFINITY);
    }

    #[test]
    fn bad_economies_are_refused_with_the_field() {
        let error = |change: fn(&mut Economy)| {
            let mut e = Economy::us_default();
            change(&mut e);
            PreparedEconomy::new(&e, 12).unwrap_err().to_string()
        };
        assert_eq!(
            error(|e| e.regimes[1].inflation.persistence = 1.0),
            "economy.regimes[1].inflation.persistence: must be at least 0 and below 1"
        );
        assert_eq!(
            error(|e| e.regimes[3].short_rate.volatility = -0.01),
            "economy.regimes[3].short_rate.volatility: must be between 0 and 1"
        );
        assert!(error(|e| e.regimes[0].gdp_growth.level = f64::NAN).starts_with("economy.regimes[0].gdp_growth.level"));
        assert!(error(|e| e.regimes[2].name = "expansion".into()).starts_with("economy.regimes[2].name"));
        assert_eq!(
            error(|e| e.yearly_transition[2][0] = 0.6),
            "economy.yearly_transition[2]: must be probabilities summing to 1"
        );
        assert!(error(|e| drop(e.yearly_transition.pop())).starts_with("economy.yearly_transition: must be 4 rows"));
        assert_eq!(error(|e| e.start = Some("boom".into())), "economy.start: names no regime: \"boom\"");
        assert!(error(|e| e.correlation = Some(vec![vec![1.0]])).starts_with("economy.correlation: must be 4 rows"));
        assert!(error(|e| e.short_rate_floor = f64::NAN).starts_with("economy.short_rate_floor"));
        assert!(error(|e| {
            e.initial = Some(Levels { gdp_growth: 0.02, inflation: 2.5, unemployment: 0.04, short_rate: 0.03 })
        })
        .starts_with("economy.initial.inflation"));
        assert!(error(|e| e.regimes.clear()).starts_with("economy.regimes: at least one"));
        let us = Economy::us_default();
        assert!(PreparedEconomy::new(&us, 7).unwrap_err().to_string().starts_with("steps_per_year"));
        assert!(generate(&us, 0, 12, 10, 1, 1).unwrap_err().to_string().starts_with("years"));
        assert!(generate(&us, 100, 12, 1_000_000, 1, 1).unwrap_err().to_string().starts_with("paths"));
        assert!(Economy::named("mars").unwrap_err().to_string().starts_with("economy: no built-in economy"));
    }
}
