//! The Monte Carlo engine: correlated asset returns (normal, Student-t or Hansen skewed-t
//! shocks, GARCH(1,1) volatility, Markov regime switching, Merton jumps, black-swan crashes),
//! a constant-mix portfolio rebalanced every step, contributions, income streams, fees and
//! withdrawals by a chosen strategy, and the distribution of wealth that results.
//!
//! Each path draws from its own random stream (xoshiro256++ seeded through SplitMix64 from the
//! plan's seed and the path number), and results are gathered in path order, so the same seed
//! gives bit-identical results whatever the number of threads. Paths are simulated in blocks
//! of [`kernel::BLOCK`] side by side (structure of arrays) so that the arithmetic after the
//! draws vectorizes.

pub mod household;
pub mod kernel;
mod lanes;
mod plan;
mod prepare;
mod schedule;
pub mod withdrawal;

use rayon::prelude::*;
use serde::Serialize;

pub use crate::markov::stationary_distribution;
use crate::stats::percentiles;
pub use crate::stats::quantile;
use crate::{invalid, SimError};
use kernel::BLOCK;
pub use plan::*;
pub use prepare::Prepared;
pub(crate) use prepare::Shock;
use schedule::Schedule;
pub use withdrawal::Withdrawal;

pub use crate::MAX_PATH_YEARS;

pub use crate::stats::PERCENTILES;

/// Percentiles at the end of one year.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Band {
    pub year: u32,
    /// 5th, 25th, 50th, 75th, 95th percentiles.
    pub wealth: [f64; 5],
}

/// How precise the estimate of mean terminal wealth (nominal) is, and what variance reduction
/// gained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VarianceReport {
    pub antithetic: bool,
    pub control_variate: bool,
    /// Mean terminal wealth estimated with the techniques on.
    pub estimate: f64,
    pub standard_error: f64,
    /// The standard error the same number of independent paths would give.
    pub plain_standard_error: f64,
    /// plain variance / achieved variance with every technique that is on (1: no gain).
    pub reduction_factor: f64,
    /// The same ratio for each technique that is on, alone, and for both together, measured
    /// on this run's paths.
    pub reduction: Reduction,
    /// With antithetic pairs: the correlation of a pair's two terminal wealths (the pairs alone
    /// gain 1 / (1 + rho)).
    pub pair_correlation: Option<f64>,
    /// With the control variate: the correlation of terminal wealth with the control, path by
    /// path (the control alone gains 1 / (1 - rho^2)).
    pub control_correlation: Option<f64>,
    /// Why a technique gains little, or the two together less than one alone, when so.
    pub notes: Vec<String>,
}

/// Variance reduction factors per technique (plain variance / variance with it; `None` when
/// the technique is off). The control variate alone is measured over the paths one by one
/// (each path of an antithetic pair is, alone, an ordinary draw); antithetic pairs alone over
/// the pairs' averages without the control; both is [`VarianceReport::reduction_factor`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reduction {
    pub antithetic: Option<f64>,
    pub control_variate: Option<f64>,
    pub both: Option<f64>,
}

/// A technique gaining less than this factor is explained in [`VarianceReport::notes`].
pub const LITTLE_GAIN: f64 = 1.5;

/// What in the plan the variance reduction does not follow: both techniques act on the
/// diffusion's normal draws (the twin negates them; the control is a geometric Brownian motion
/// of the portfolio driven by them), so wealth moved by anything else is left to chance.
fn beyond_the_draws(plan: &Plan) -> Vec<&'static str> {
    let (m, cf) = (&plan.model, &plan.cash_flows);
    let mut v = Vec::new();
    match m.shocks {
        Shocks::SkewedT { .. } => v.push("skewed-t shocks (a skewed, fat-tailed transform of the draws)"),
        Shocks::StudentT { .. } => v.push("Student-t shocks (a random common scale)"),
        Shocks::Normal => {}
    }
    let flags = [
        (m.garch.is_some(), "GARCH volatility"),
        (m.jumps.is_some(), "jumps"),
        (m.crashes.is_some(), "crashes"),
        (m.regimes.is_some() || m.economy.is_some(), "regime changes"),
        (
            cf.annual_contribution > 0.0
                || cf.annual_withdrawal > 0.0
                || !cf.income.is_empty()
                || plan.fees.annual_fixed > 0.0
                || plan.withdrawal != Withdrawal::Constant,
            "contributions, income and withdrawals (terminal wealth then depends on the path, not only on the sum of the draws)",
        ),
    ];
    v.extend(flags.into_iter().filter(|(on, _)| *on).map(|(_, what)| what));
    v
}

fn correlation(a: &[f64], b: &[f64]) -> Option<f64> {
    let ((ma, va), (mb, vb)) = (mean_and_variance(a), mean_and_variance(b));
    let n = a.len() as f64;
    let cov = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (n - 1.0).max(1.0);
    (va > 0.0 && vb > 0.0 && a.len() >= 2).then(|| cov / (va * vb).sqrt())
}

/// What each figure of an [`Outcome`] is in: nominal money (the currency of each year, as the
/// returns compound it), today's money (divided by the path's price level), or a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Units {
    pub bands: &'static str,
    pub spending_bands: &'static str,
    pub terminal_mean: &'static str,
    pub terminal_percentiles: &'static str,
    pub max_drawdown_percentiles: &'static str,
    pub variance: &'static str,
}

/// Nominal money: the currency of each year.
pub const NOMINAL: &str = "nominal";
/// Real money: divided by the path's price level, in today's currency.
pub const TODAYS_MONEY: &str = "today's money";

pub const UNITS: Units = Units {
    bands: NOMINAL,
    spending_bands: TODAYS_MONEY,
    terminal_mean: NOMINAL,
    terminal_percentiles: NOMINAL,
    max_drawdown_percentiles: "fraction of the running peak of nominal wealth",
    variance: NOMINAL,
};

/// What a run gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub paths: usize,
    pub years: u32,
    pub steps_per_year: u32,
    /// Share of paths whose wealth never ran out.
    pub success_probability: f64,
    /// Percentiles of wealth at each year's end, nominal.
    pub bands: Vec<Band>,
    /// Percentiles of each retirement year's withdrawal in today's money.
    pub spending_bands: Vec<Band>,
    /// Nominal.
    pub terminal_mean: f64,
    pub terminal_percentiles: [f64; 5],
    pub max_drawdown_percentiles: [f64; 5],
    pub variance: VarianceReport,
    /// The unit of each figure above ([`UNITS`]).
    pub units: Units,
    /// Every path's portfolio return of each year (before fees), path by path (`years` per
    /// path).
    #[serde(skip)]
    pub annual_returns: Vec<f64>,
    /// Every path's inflation of each year, path by path.
    #[serde(skip)]
    pub annual_inflation: Vec<f64>,
    #[serde(skip)]
    pub terminal: Vec<f64>,
    /// Repairs and other things the caller should know.
    pub warnings: Vec<String>,
}

impl Outcome {
    /// Each path's compounded portfolio return over its first `years` years (one per path):
    /// the distribution VaR and CVaR at that horizon are read from.
    pub fn horizon_returns(&self, years: u32) -> Vec<f64> {
        let (per_path, h) = (self.years as usize, years.min(self.years) as usize);
        self.annual_returns
            .chunks(per_path)
            .map(|path| path[..h].iter().map(|r| 1.0 + r).product::<f64>() - 1.0)
            .collect()
    }
}

/// One block's results, lane by lane (lanes past `len` are not paths).
struct BlockResult {
    len: usize,
    /// Per year: each path's wealth at the year's end, its portfolio return over the year, and
    /// its withdrawal in today's currency.
    year_end: Vec<[f64; BLOCK]>,
    annual_returns: Vec<[f64; BLOCK]>,
    annual_inflation: Vec<[f64; BLOCK]>,
    spending: Vec<[f64; BLOCK]>,
    max_drawdown: [f64; BLOCK],
    survived: [bool; BLOCK],
    /// The control variate: `exp(G - K s^2 / 2)` with mean 1, `G` the sum of the increments.
    control: [f64; BLOCK],
}

/// Every path's results, block by block in path order.
struct Results(Vec<BlockResult>);

impl Results {
    /// One value per path, in path order, from each block's lanes.
    fn column(&self, of: impl Fn(&BlockResult) -> &[f64; BLOCK]) -> Vec<f64> {
        let mut c = Vec::with_capacity(self.0.iter().map(|b| b.len).sum());
        for b in &self.0 {
            c.extend_from_slice(&of(b)[..b.len]);
        }
        c
    }

    /// Each path's wealth at the end of year `y` (0-based).
    fn year_end(&self, y: usize) -> Vec<f64> {
        self.column(|b| &b.year_end[y])
    }

    /// Each path's wealth at the end of the plan.
    fn terminal(&self) -> Vec<f64> {
        self.column(|b| b.year_end.last().unwrap_or(&[0.0; BLOCK]))
    }

    /// Every path's value of each year (its return, its inflation), path by path.
    fn by_path(&self, of: impl Fn(&BlockResult) -> &[[f64; BLOCK]]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.0.iter().map(|b| b.len * of(b).len()).sum());
        for b in &self.0 {
            for k in 0..b.len {
                out.extend(of(b).iter().map(|year| year[k]));
            }
        }
        out
    }
}

/// Simulates paths `first .. first + len` (at most one block).
fn simulate_block(prep: &Prepared, schedule: &Schedule, initial: f64, first: u64, len: usize) -> BlockResult {
    let plan = schedule.plan;
    let per_year = prep.steps_per_year();
    let keep_after_fee = (1.0 - plan.fees.annual_rate).powf(prep.dt);
    let mut block = kernel::Block::new(prep, plan.seed, first, len, plan.variance_reduction.antithetic);
    let years = plan.years as usize;
    let mut out = BlockResult {
        len,
        year_end: Vec::with_capacity(years),
        annual_returns: Vec::with_capacity(years),
        annual_inflation: Vec::with_capacity(years),
        spending: Vec::with_capacity(years),
        max_drawdown: [0.0; BLOCK],
        survived: [true; BLOCK],
        control: [0.0; BLOCK],
    };
    // Per-path state as lane arrays (lanes past `len` compute on and are never read), so
    // that the per-step bookkeeping vectorizes along with the kernel.
    let mut wealth = [initial; BLOCK];
    let mut peak = wealth;
    let mut drawdown = [0.0f64; BLOCK];
    let mut alive = [true; BLOCK];
    let mut control = [0.0; BLOCK];
    let mut spending = vec![withdrawal::Spending::default(); len];
    // Each path's price level; its inflation is the plan's, or the economy's path's average
    // over the year.
    let mut level = [1.0; BLOCK];
    let mut inflation: [f64; BLOCK];
    let mut flow = [0.0; BLOCK];
    let mut growth: [f64; BLOCK];
    for year in 0..plan.years {
        let mut spent = [0.0; BLOCK];
        for k in 0..len {
            let (f, taken) = schedule.year(year, wealth[k], level[k], &mut spending[k]);
            flow[k] = f / f64::from(per_year);
            spent[k] = taken / level[k];
        }
        out.spending.push(spent);
        growth = [1.0; BLOCK];
        inflation = [plan.cash_flows.inflation; BLOCK];
        for step in 0..per_year {
            block.step();
            if let Some(step_inflation) = block.inflation() {
                for k in 0..BLOCK {
                    let i = step_inflation[k];
                    inflation[k] = if step == 0 { i } else { inflation[k] + (i - inflation[k]) / f64::from(step + 1) };
                }
            }
            let (gross, increment) = (block.portfolio_gross(), block.controls());
            for k in 0..BLOCK {
                growth[k] *= gross[k];
                control[k] += increment[k];
                // A path that has run out stays at zero, its peak and drawdown as they were.
                let live = alive[k];
                let w = wealth[k] * gross[k] * keep_after_fee + flow[k];
                let run_out = w <= 0.0;
                let now = if run_out { 0.0 } else { w };
                alive[k] = live && !run_out;
                wealth[k] = if live { now } else { wealth[k] };
                let top = peak[k].max(now);
                peak[k] = if live { top } else { peak[k] };
                let fall = drawdown[k].max(1.0 - now / top);
                drawdown[k] = if live && top > 0.0 { fall } else { drawdown[k] };
            }
        }
        out.annual_returns.push(growth.map(|g| g - 1.0));
        out.annual_inflation.push(inflation);
        out.year_end.push(wealth);
        for k in 0..len {
            spending[k].last_return = growth[k] - 1.0;
            spending[k].last_inflation = inflation[k];
            level[k] *= 1.0 + inflation[k];
        }
    }
    let steps = f64::from(per_year) * f64::from(plan.years);
    out.max_drawdown = drawdown;
    out.survived = alive;
    out.control = control.map(|c| (c - 0.5 * steps * prep.control_variance).exp());
    out
}

fn mean_and_variance(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (mean, xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0))
}

/// The mean of `y` and its estimator's variance per unit, adjusted by the control `x` (known
/// mean 1) with the regression coefficient when `control` is on.
fn controlled(y: &[f64], x: &[f64], control: bool) -> (f64, f64) {
    let (y_mean, y_var) = mean_and_variance(y);
    if !control {
        return (y_mean, y_var);
    }
    let m = y.len() as f64;
    let (x_mean, x_var) = mean_and_variance(x);
    let cov = y.iter().zip(x).map(|(a, b)| (a - y_mean) * (b - x_mean)).sum::<f64>() / (m - 1.0).max(1.0);
    let beta = if x_var > 0.0 { cov / x_var } else { 0.0 };
    let residual: Vec<f64> = y.iter().zip(x).map(|(a, b)| a - beta * (b - 1.0)).collect();
    mean_and_variance(&residual)
}

/// The estimate of mean terminal wealth and its standard error: over antithetic pairs'
/// averages when on (a lone last path counts alone), adjusted by the control variate (known
/// mean 1) with the regression coefficient when on; the reduction of each technique alone
/// (see [`Reduction`]), the correlations behind them, and notes naming what in the plan
/// (`beyond`, see [`beyond_the_draws`]) the techniques do not follow when they gain little.
fn variance_report(terminal: &[f64], control: &[f64], vr: VarianceReduction, beyond: &[&str]) -> VarianceReport {
    let unit = if vr.antithetic { 2 } else { 1 };
    let average = |c: &[f64]| c.iter().sum::<f64>() / c.len() as f64;
    let y: Vec<f64> = terminal.chunks(unit).map(average).collect();
    let x: Vec<f64> = control.chunks(unit).map(average).collect();
    let m = y.len() as f64;
    let (estimate, var) = controlled(&y, &x, vr.control_variate);
    let n = terminal.len() as f64;
    let plain_var = mean_and_variance(terminal).1 / n;
    let plain = plain_var.sqrt();
    let se = (var / m).sqrt();
    let factor = |v: f64| if v > 0.0 { plain_var / v } else { 1.0 };
    let reduction = Reduction {
        antithetic: vr.antithetic.then(|| factor(mean_and_variance(&y).1 / m)),
        control_variate: vr.control_variate.then(|| factor(controlled(terminal, control, true).1 / n)),
        both: (vr.antithetic && vr.control_variate).then(|| factor(var / m)),
    };
    let pairs = terminal.len() / 2;
    let pair_correlation = if vr.antithetic {
        let (first, second): (Vec<f64>, Vec<f64>) = terminal[..2 * pairs].chunks(2).map(|p| (p[0], p[1])).unzip();
        correlation(&first, &second)
    } else {
        None
    };
    let control_correlation = if vr.control_variate { correlation(terminal, control) } else { None };
    let mut notes = Vec::new();
    let little = |f: Option<f64>| f.is_some_and(|f| f < LITTLE_GAIN);
    if little(reduction.antithetic) || little(reduction.control_variate) {
        let mut said = Vec::new();
        if let (true, Some(rho)) = (little(reduction.antithetic), pair_correlation) {
            said.push(format!("a pair's terminal wealths correlate {rho:.2} (pairs gain 1/(1 + rho))"));
        }
        if let (true, Some(rho)) = (little(reduction.control_variate), control_correlation) {
            said.push(format!("terminal wealth correlates {rho:.2} with the control variate (it gains 1/(1 - rho^2))"));
        }
        let why = if beyond.is_empty() {
            String::new()
        } else {
            format!(
                "; both work on the diffusion's normal draws, and this plan's {} move wealth in ways those draws do not carry",
                beyond.join(", ")
            )
        };
        notes.push(format!("little gain: {}{why}", said.join("; ")));
    }
    if let (Some(c), Some(b)) = (reduction.control_variate, reduction.both) {
        if b < c {
            notes.push(format!(
                "together they gain less than the control variate alone ({c:.1}x): a pair's control average, \
                 e^(-v/2) cosh(G), keeps only the part of the control even in the draws, so the regression loses the \
                 odd part the control explains alone; for this plan the control variate does better without the pairs"
            ));
        }
    }
    VarianceReport {
        antithetic: vr.antithetic,
        control_variate: vr.control_variate,
        estimate,
        standard_error: se,
        plain_standard_error: plain,
        reduction_factor: factor(var / m),
        reduction,
        pair_correlation,
        control_correlation,
        notes,
    }
}

/// Runs the plan on `threads` threads (0: all cores).
pub fn run(plan: &Plan, threads: usize) -> Result<Outcome, SimError> {
    let initial = plan.starting_wealth()?;
    if plan.years == 0 || plan.years > 100 {
        return Err(invalid("years", "must be 1 to 100"));
    }
    if plan.paths == 0 || plan.paths > 10_000_000 {
        return Err(invalid("paths", "must be 1 to 10,000,000"));
    }
    // Each path keeps three numbers a year for the statistics: bound memory.
    if plan.paths as u64 * u64::from(plan.years) > MAX_PATH_YEARS {
        return Err(invalid(
            "paths",
            format!("paths x years must be at most {MAX_PATH_YEARS} (about 480 MB of results)"),
        ));
    }
    let schedule = Schedule::new(plan)?;
    let prep = Prepared::new(&plan.model)?;
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| invalid("threads", e.to_string()))?;
    let blocks = plan.paths.div_ceil(kernel::BLOCK);
    let blocks = pool.install(|| {
        (0..blocks)
            .into_par_iter()
            .map(|b| {
                let first = b * BLOCK;
                simulate_block(&prep, &schedule, initial, first as u64, BLOCK.min(plan.paths - first))
            })
            .collect()
    });
    let years = plan.years as usize;
    let results = Results(blocks);
    let band = |y: usize, column: Vec<f64>| Band { year: y as u32 + 1, wealth: percentiles(column) };
    let (bands, spending_bands) = pool.install(|| {
        let retire = (plan.cash_flows.retire_after_years as usize).min(years);
        let bands = (0..years).into_par_iter().map(|y| band(y, results.year_end(y))).collect();
        (bands, (retire..years).into_par_iter().map(|y| band(y, results.column(|b| &b.spending[y]))).collect())
    });
    let terminal = results.terminal();
    let terminal_mean = terminal.iter().sum::<f64>() / terminal.len() as f64;
    let survived: usize = results.0.iter().map(|b| b.survived[..b.len].iter().filter(|s| **s).count()).sum();
    Ok(Outcome {
        paths: plan.paths,
        years: plan.years,
        steps_per_year: plan.model.steps_per_year,
        success_probability: survived as f64 / plan.paths as f64,
        bands,
        spending_bands,
        terminal_mean,
        terminal_percentiles: percentiles(terminal.clone()),
        max_drawdown_percentiles: percentiles(results.column(|b| &b.max_drawdown)),
        variance: variance_report(
            &terminal,
            &results.column(|b| &b.control),
            plan.variance_reduction,
            &beyond_the_draws(plan),
        ),
        units: UNITS,
        annual_returns: results.by_path(|b| &b.annual_returns),
        annual_inflation: results.by_path(|b| &b.annual_inflation),
        terminal,
        warnings: prep.warnings.clone(),
    })
}

#[cfg(test)]
mod tests {
    use statrs::distribution::{ContinuousCDF, StudentsT};

    use super::*;
    use crate::distributions::{self, SkewedT};

    fn asset(mu: f64, sigma: f64, weight: f64) -> Asset {
        Asset { name: format!("a{mu}"), expected_return: mu, volatility: sigma, weight, crash_exposure: 1.0 }
    }

    fn model(assets: Vec<Asset>) -> Model {
        Model::plain(assets)
    }

    fn plan(model: Model, years: u32, paths: usize) -> Plan {
        Plan {
            initial_wealth: Some(1.0),
            years,
            age: None,
            model,
            cash_flows: CashFlows::default(),
            fees: Fees::default(),
            withdrawal: Withdrawal::Constant,
            variance_reduction: VarianceReduction::default(),
            household: None,
            paths,
            seed: 7,
        }
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
        m.shocks = Shocks::StudentT { degrees_of_freedom: Some(5.0), fit_returns: Vec::new() };
        m.jumps = Some(Jumps { intensity: 0.5, mean: -0.05, volatility: 0.1 });
        let mut p = plan(m, 20, 2_000);
        p.cash_flows = CashFlows {
            annual_contribution: 0.1,
            annual_withdrawal: 0.12,
            retire_after_years: 10,
            inflation: 0.02,
            ..CashFlows::default()
        };
        let one = run(&p, 1).unwrap();
        let two = run(&p, 2).unwrap();
        assert_eq!(one, two);
        assert_eq!(one.annual_returns.len(), 2_000 * 20);
        p.seed = 8;
        assert_ne!(run(&p, 2).unwrap().terminal, one.terminal, "another seed, other paths");
        p.paths = 1_001;
        p.model.shocks = Shocks::SkewedT { degrees_of_freedom: 5.0, skew: -0.3 };
        p.model.garch = Some(Garch { alpha: 0.08, beta: 0.9 });
        p.model.crashes = Some(Crashes { annual_probability: 0.03, min_loss: 0.2, max_loss: 0.5 });
        p.variance_reduction = VarianceReduction { antithetic: true, control_variate: true };
        p.withdrawal = Withdrawal::GuytonKlinger { guardrail: 0.2, adjustment: 0.1, protect_final_years: 15 };
        assert_eq!(run(&p, 1).unwrap(), run(&p, 2).unwrap(), "every feature, an odd number of paths");
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
        for path in 0..paths {
            let mut d = kernel::Block::new(&prep, 1, path, 1, false);
            for _ in 0..steps {
                in_first += usize::from(d.regime(0) == 0);
                d.step();
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
        let drift = prep.drift[0];
        let (years, mut jumps, mut squares) = (20_000usize, 0.0f64, 0.0f64);
        let mut d = kernel::Block::new(&prep, 3, 0, 1, false);
        for _ in 0..years {
            let mut count = 0.0;
            for _ in 0..12 {
                d.step();
                count += ((d.log_return(0, 0) - drift) / -0.01).round();
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
        m.shocks = Shocks::StudentT { degrees_of_freedom: Some(nu), fit_returns: Vec::new() };
        let prep = Prepared::new(&m).unwrap();
        let (drift, vol) = (prep.drift[0], prep.vol[0]);
        let n = 400_000usize;
        let mut d = kernel::Block::new(&prep, 11, 0, 1, false);
        let (mut sum2, mut beyond) = (0.0f64, 0usize);
        for _ in 0..n {
            d.step();
            let e = (d.log_return(0, 0) - drift) / vol;
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
        bad.model.shocks = Shocks::StudentT { degrees_of_freedom: Some(2.0), fit_returns: Vec::new() };
        assert!(run(&bad, 0).unwrap_err().to_string().starts_with("model.shocks.degrees_of_freedom"));
        bad.model.shocks = Shocks::Normal;
        bad.years = 101;
        assert_eq!(run(&bad, 0).unwrap_err().to_string(), "years: must be 1 to 100");
    }

    /// GARCH(1,1) with normal shocks: squared returns average the long-run variance
    /// sigma^2 dt, and their lag-one autocorrelation is alpha (1 - alpha beta - beta^2) /
    /// (1 - 2 alpha beta - beta^2). Each statistic is computed on 40 batches of independent
    /// paths; the tolerance is five standard errors of the batch estimates.
    #[test]
    fn garch_volatility_clusters_around_its_long_run_level() {
        let (alpha, beta) = (0.1, 0.85);
        let mut m = model(vec![asset(0.0, 0.2, 1.0)]);
        m.garch = Some(Garch { alpha, beta });
        let prep = Prepared::new(&m).unwrap();
        let (drift, var) = (prep.drift[0], prep.vol[0] * prep.vol[0]);
        let (batches, paths, burn, steps) = (40u64, 100u64, 200, 400);
        let (mut means, mut acfs) = (Vec::new(), Vec::new());
        for b in 0..batches {
            let mut x = Vec::new();
            for path in 0..paths {
                let mut d = kernel::Block::new(&prep, 21, b * paths + path, 1, false);
                for _ in 0..burn {
                    d.step();
                }
                x.extend((0..steps).map(|_| {
                    d.step();
                    (d.log_return(0, 0) - drift).powi(2) / var
                }));
            }
            let (mean, v) = mean_and_variance(&x);
            let lagged: f64 =
                x.chunks(steps).flat_map(|p| p.windows(2).map(|w| (w[0] - mean) * (w[1] - mean))).sum::<f64>()
                    / (x.len() - paths as usize) as f64;
            means.push(mean);
            acfs.push(lagged / v);
        }
        let rho = alpha * (1.0 - alpha * beta - beta * beta) / (1.0 - 2.0 * alpha * beta - beta * beta);
        for (name, values, expected) in [("mean", &means, 1.0), ("lag-one autocorrelation", &acfs, rho)] {
            let (m, v) = mean_and_variance(values);
            let se = (v / values.len() as f64).sqrt();
            assert!((m - expected).abs() < 5.0 * se, "{name} {m} vs {expected} (se {se})");
        }
    }

    /// Crashes: the share of years with at least one is the annual probability (five binomial
    /// standard errors), and their losses average the middle of the range.
    #[test]
    fn crashes_happen_at_their_annual_rate_with_losses_in_range() {
        let mut m = model(vec![asset(0.0, 0.0, 1.0)]);
        m.crashes = Some(Crashes { annual_probability: 0.05, min_loss: 0.2, max_loss: 0.5 });
        let prep = Prepared::new(&m).unwrap();
        let drift = prep.drift[0];
        let years = 40_000usize;
        let (mut crash_years, mut losses) = (0usize, Vec::new());
        let mut d = kernel::Block::new(&prep, 4, 0, 1, false);
        for _ in 0..years {
            let mut crashed = false;
            for _ in 0..12 {
                d.step();
                let r = d.log_return(0, 0) - drift;
                if r < 0.0 {
                    crashed = true;
                    losses.push(1.0 - r.exp());
                }
            }
            crash_years += usize::from(crashed);
        }
        let share = crash_years as f64 / years as f64;
        assert!((share - 0.05).abs() < 5.0 * (0.05 * 0.95 / years as f64).sqrt(), "share {share}");
        assert!(losses.iter().all(|l| (0.2 - 1e-12..=0.5 + 1e-12).contains(l)));
        let (mean, _) = mean_and_variance(&losses);
        let se = 0.3 / 12f64.sqrt() / (losses.len() as f64).sqrt();
        assert!((mean - 0.35).abs() < 5.0 * se, "mean loss {mean}");
    }

    /// Rebalanced GBM with no cash flows: E[W_T] = (sum_i w_i (1 + mu_i)^dt)^steps exactly.
    /// Antithetic pairs and the control variate each shrink the estimator's variance, and the
    /// estimate stays within five of its standard errors of the closed form.
    #[test]
    fn variance_reduction_shrinks_the_error_of_the_mean() {
        let mut m = model(vec![asset(0.08, 0.25, 0.6), asset(0.03, 0.08, 0.4)]);
        m.correlation = Some(vec![vec![1.0, 0.2], vec![0.2, 1.0]]);
        let mut p = plan(m, 10, 4_000);
        let per_step: f64 = 0.6 * 1.08f64.powf(1.0 / 12.0) + 0.4 * 1.03f64.powf(1.0 / 12.0);
        let exact = per_step.powi(120);
        let mut factors = Vec::new();
        let mut reports = Vec::new();
        for (antithetic, control_variate) in [(false, false), (true, false), (false, true), (true, true)] {
            p.variance_reduction = VarianceReduction { antithetic, control_variate };
            let v = run(&p, 0).unwrap().variance;
            assert!((v.estimate - exact).abs() < 5.0 * v.standard_error, "{v:?} vs {exact}");
            factors.push(v.reduction_factor);
            reports.push(v);
        }
        assert!((factors[0] - 1.0).abs() < 1e-9, "no technique, no gain: {factors:?}");
        assert!(factors[1] > 1.5, "antithetic: {factors:?}");
        assert!(factors[2] > 10.0, "control variate: {factors:?}");
        assert!(factors[3] > factors[1], "both: {factors:?}");
        // Each technique's own figure: only those on are reported; the one of a run with a
        // single technique is its reduction factor.
        let r: Vec<Reduction> = reports.iter().map(|v| v.reduction).collect();
        assert_eq!(r[0], Reduction { antithetic: None, control_variate: None, both: None });
        assert_eq!(r[1], Reduction { antithetic: Some(factors[1]), control_variate: None, both: None });
        assert_eq!(r[2], Reduction { antithetic: None, control_variate: Some(factors[2]), both: None });
        // With both on, the pairs are those of the antithetic run (the same paths), so the
        // antithetic figure is the same; the control variate alone, measured over the same
        // paths one by one, is the control-variate run's to sampling error; both is the run's
        // factor.
        assert_eq!(r[3].antithetic, Some(factors[1]));
        let cv = r[3].control_variate.unwrap();
        assert!((cv / factors[2] - 1.0).abs() < 0.3, "control variate alone {cv} vs {}", factors[2]);
        assert_eq!(r[3].both, Some(factors[3]));
    }

    /// With skewed-t shocks the control variate's normals keep the shocks' signs (`|z` to the
    /// side of a fair coin on the shock's uniform), so it still follows terminal wealth; they are
    /// still exactly standard normal, so the control's mean stays 1 and the estimate unbiased.
    #[test]
    fn the_control_variate_follows_skewed_t_shocks() {
        let mut m = model(vec![asset(0.07, 0.18, 1.0)]);
        m.shocks = Shocks::SkewedT { degrees_of_freedom: 6.0, skew: -0.2 };
        let mut p = plan(m, 10, 4_000);
        p.variance_reduction = VarianceReduction { antithetic: false, control_variate: true };
        let v = run(&p, 0).unwrap().variance;
        let exact = 1.07f64.powi(10);
        assert!((v.estimate - exact).abs() < 5.0 * v.standard_error, "{v:?} vs {exact}");
        // The raw normals' signs are independent of the shocks' (a shock takes |z|): with them
        // the correlation would be about 0 and the gain about 1.
        assert!(v.control_correlation.unwrap() > 0.6, "{v:?}");
        assert!(v.reduction.control_variate.unwrap() > 1.8, "{v:?}");
        assert!(v.notes.is_empty(), "{v:?}");
    }

    fn still(initial: f64, years: u32) -> Plan {
        let mut p = plan(model(vec![asset(0.0, 0.0, 1.0)]), years, 8);
        p.initial_wealth = Some(initial);
        p
    }

    /// With no return and no volatility the money is exact: income covers the withdrawal; a
    /// 1% fee takes 1% a year; a fixed fee grows with inflation; nominal contributions stay
    /// flat while indexed ones grow.
    #[test]
    fn income_fees_and_contributions_move_money_exactly() {
        let mut p = still(1_000_000.0, 10);
        p.age = Some(60);
        p.cash_flows.annual_withdrawal = 50_000.0;
        p.cash_flows.inflation = 0.02;
        p.cash_flows.income = vec![Income {
            name: "Social Security".into(),
            annual_amount: 50_000.0,
            start_year: None,
            start_age: Some(60),
            years: None,
            inflation_adjusted: true,
            taxed_as: TaxedAs::Ordinary,
        }];
        let out = run(&p, 1).unwrap();
        assert!((out.terminal_mean - 1_000_000.0).abs() < 1e-6, "{}", out.terminal_mean);
        assert!((out.spending_bands[9].wealth[2] - 50_000.0).abs() < 1e-6, "real spending stays 50,000");
        let mut p = still(1_000_000.0, 10);
        p.fees = Fees { annual_rate: 0.01, annual_fixed: 0.0 };
        assert!((run(&p, 1).unwrap().terminal_mean - 1_000_000.0 * 0.99f64.powi(10)).abs() < 1e-6);
        let mut p = still(0.0, 3);
        p.cash_flows = CashFlows {
            annual_contribution: 1_000.0,
            retire_after_years: 3,
            inflation: 0.1,
            index_contributions: false,
            ..CashFlows::default()
        };
        assert!((run(&p, 1).unwrap().terminal_mean - 3_000.0).abs() < 1e-9);
        p.cash_flows.index_contributions = true;
        assert!((run(&p, 1).unwrap().terminal_mean - 3_310.0).abs() < 1e-9);
        p.fees.annual_fixed = 100.0;
        assert!((run(&p, 1).unwrap().terminal_mean - 2_979.0).abs() < 1e-9);
    }

    /// A fixed percentage never runs out, a constant withdrawal above the growth does; the
    /// fixed percentage's real spending falls as the still portfolio shrinks.
    #[test]
    fn strategies_differ_in_ruin_and_spending() {
        let mut p = still(1_000_000.0, 30);
        p.cash_flows.annual_withdrawal = 50_000.0;
        assert_eq!(run(&p, 1).unwrap().success_probability, 0.0, "20 years of 50,000 empties 1,000,000");
        p.withdrawal = Withdrawal::FixedPercentage { rate: 0.05 };
        let out = run(&p, 1).unwrap();
        assert_eq!(out.success_probability, 1.0);
        assert!((out.terminal_mean - 1_000_000.0 * 0.95f64.powi(30)).abs() < 1e-6);
        assert!((out.spending_bands[29].wealth[2] - 50_000.0 * 0.95f64.powi(29)).abs() < 1e-6);
        p.withdrawal = Withdrawal::Vpw { real_return: 0.0 };
        let out = run(&p, 1).unwrap();
        assert!(out.terminal_mean.abs() < 1e-6, "VPW spends it all by the end");
        assert!(out.spending_bands.iter().all(|b| (b.wealth[2] - 1_000_000.0 / 30.0).abs() < 1e-6));
    }

    #[test]
    fn horizon_returns_compound_each_paths_first_years() {
        let mut m = model(vec![asset(0.05, 0.2, 1.0)]);
        m.shocks = Shocks::SkewedT { degrees_of_freedom: 6.0, skew: -0.2 };
        let out = run(&plan(m, 5, 50), 0).unwrap();
        let three = out.horizon_returns(3);
        assert_eq!(three.len(), 50);
        let path7 = &out.annual_returns[7 * 5..7 * 5 + 3];
        assert!((three[7] - (path7.iter().map(|r| 1.0 + r).product::<f64>() - 1.0)).abs() < 1e-15);
        assert_eq!(out.horizon_returns(9), out.horizon_returns(5), "capped at the plan's years");
    }

    /// The US economy drives a still asset whose return depends only on the regime: the
    /// inflation of each path is its own (so real spending is exact while nominal wealth
    /// spreads), recessions lose money, and the states must be the economy's.
    #[test]
    fn the_economy_drives_regimes_and_inflation() {
        let mut m = model(vec![asset(0.0, 0.0, 1.0)]);
        m.economy = Some(EconomySpec::Named("us".into()));
        let state =
            |name: &str, r: f64| Regime { name: name.into(), expected_returns: vec![r], volatilities: vec![0.0] };
        m.regimes = Some(Regimes {
            states: vec![
                state("expansion", 0.0),
                state("recession", -0.2),
                state("recovery", 0.0),
                state("stagflation", 0.0),
            ],
            transition: Vec::new(),
        });
        let mut p = plan(m.clone(), 20, 400);
        p.initial_wealth = Some(1_000_000.0);
        p.cash_flows.annual_withdrawal = 10_000.0;
        let out = run(&p, 2).unwrap();
        assert_eq!(out, run(&p, 1).unwrap(), "reproducible with an economy");
        assert!(out.spending_bands.iter().all(|b| b.wealth.iter().all(|w| (w - 10_000.0).abs() < 1e-6)));
        let losing_years = out.annual_returns.iter().filter(|r| **r < -1e-12).count() as f64;
        let share = losing_years / out.annual_returns.len() as f64;
        assert!(share > 0.05 && share < 0.5, "recession years lose money: {share}");
        assert!(out.terminal_percentiles[4] > out.terminal_percentiles[0], "inflation paths differ");
        m.regimes.as_mut().unwrap().states.swap(0, 1);
        let err = run(&plan(m, 5, 10), 1).unwrap_err().to_string();
        assert!(err.starts_with("model.regimes.states: must be the economy's regimes"), "{err}");
    }

    #[test]
    fn percentiles_by_selection_match_a_sorted_interpolation() {
        for n in [1usize, 2, 3, 10, 101, 1_000] {
            let values: Vec<f64> = (0..n).map(|i| ((i * 7_919) % 1_009) as f64 * 0.37 - 50.0).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            assert_eq!(percentiles(values), PERCENTILES.map(|q| quantile(&sorted, q)), "n = {n}");
        }
        assert!(percentiles(Vec::new()).iter().all(|p| p.is_nan()));
    }

    /// Degrees of freedom left out are fitted to the given returns (and said so); giving both
    /// is refused, naming the field.
    #[test]
    fn student_t_degrees_of_freedom_can_be_fitted_from_returns() {
        let t = SkewedT::new(5.0, 0.0).unwrap();
        let chi = t.chi_square();
        let mut rng = kernel::path_rng(3, 0);
        let returns: Vec<f64> = (0..5_000).map(|_| 0.01 * t.sample(&chi, &mut rng)).collect();
        let mut m = model(vec![asset(0.05, 0.15, 1.0)]);
        m.shocks = Shocks::StudentT { degrees_of_freedom: None, fit_returns: returns.clone() };
        let prep = Prepared::new(&m).unwrap();
        let Shock::T { nu, .. } = prep.shock else { panic!("a t") };
        let fit = distributions::fit_student_t(&returns).unwrap();
        assert_eq!(nu, fit.nu);
        assert!(
            prep.warnings[0].starts_with("model.shocks: degrees of freedom fitted to 5000 returns"),
            "{:?}",
            prep.warnings
        );
        m.shocks = Shocks::StudentT { degrees_of_freedom: Some(5.0), fit_returns: returns };
        assert_eq!(
            Prepared::new(&m).unwrap_err().to_string(),
            "model.shocks: give degrees_of_freedom or fit_returns, not both"
        );
        m.shocks = Shocks::StudentT { degrees_of_freedom: None, fit_returns: vec![0.01; 5] };
        assert!(Prepared::new(&m).unwrap_err().to_string().starts_with("model.shocks.fit_returns: needs at least 30"));
    }
}
