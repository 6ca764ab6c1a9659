//! Market regimes of a benchmark's daily closes, for the monitoring rule
//! `domain::monitoring::regime`: each day is labelled with a [`MarketRegime`], a trend (bull or
//! bear) and a volatility (calm or volatile).
//!
//! # Trend
//!
//! Bull when the close is at or above its simple moving average over [`ClassifierConfig::slow`]
//! days (200), bear below it: the long moving-average rule of M. Faber, "A Quantitative
//! Approach to Tactical Asset Allocation", *Journal of Wealth Management* 9(4), 2007 (his
//! 10-month average is about 200 trading days). With [`ClassifierConfig::fast`] set (50), bull
//! is instead the fast average at or above the slow one (the "golden cross" convention).
//!
//! # Volatility
//!
//! - [`Volatility::Realised`]: volatile when the annualised realised volatility (the sample
//!   standard deviation of the last `window` daily log returns, 21 by default: a trading month,
//!   times √252) is above `threshold` (20% by default: about the long-run average of the VIX,
//!   19.5 since 1990, so "volatile" means more turbulent than usual).
//! - [`Volatility::MarkovSwitching`]: volatile when the filtered probability of the
//!   high-variance state of a two-state Markov-switching model of the daily log returns
//!   ([`fit_markov_switching`]) is above one half. The filtered probability uses only the returns
//!   up to each day, so a day's label is what could have been known on it (the smoothed one,
//!   also returned, revises the past with later data).
//!
//! # The Markov-switching model
//!
//! J. D. Hamilton, "A New Approach to the Economic Analysis of Nonstationary Time Series and
//! the Business Cycle", *Econometrica* 57(2), 1989, pp. 357–384; Hamilton, *Time Series
//! Analysis*, Princeton, 1994, ch. 22. The daily log return is `r_t = μ_{s_t} + σ_{s_t} ε_t`,
//! `ε_t` standard normal, where the state `s_t ∈ {0, 1}` follows a Markov chain with
//! `P(s_t = j | s_{t-1} = i) = p_ij`. State 1 is the one with the larger variance.
//!
//! - **Filter** (Hamilton 1994, eq. 22.4.5–22.4.8): `ξ_{t|t-1} = Pᵀ ξ_{t-1|t-1}`, then
//!   `ξ_{t|t} = (ξ_{t|t-1} ⊙ η_t) / 1ᵀ(ξ_{t|t-1} ⊙ η_t)` with `η_t` the two normal densities of
//!   `r_t`; the log-likelihood is the sum of the logs of the denominators. Normalising every
//!   day keeps the recursion in range on any length of series.
//! - **Smoother** (C.-J. Kim, "Dynamic linear models with Markov-switching", *Journal of
//!   Econometrics* 60, 1994; Hamilton 1994, eq. 22.4.14):
//!   `ξ_{t|T} = ξ_{t|t} ⊙ (P (ξ_{t+1|T} ⊘ ξ_{t+1|t}))`.
//! - **Estimation** by expectation-maximisation (Hamilton, "Analysis of time series subject to
//!   changes in regime", *Journal of Econometrics* 45, 1990; the Baum-Welch algorithm of hidden
//!   Markov models): with the smoothed probabilities and the smoothed joint probabilities of
//!   consecutive states `P(s_t = i, s_{t+1} = j | all) = ξ_{t|t}(i) p_ij ξ_{t+1|T}(j) /
//!   ξ_{t+1|t}(j)`, each mean is the probability-weighted mean of the returns, each variance
//!   the probability-weighted mean square deviation, `p_ij` the expected transitions from `i` to
//!   `j` over the expected visits to `i`, and the initial distribution the smoothed probability
//!   of the first day (Hamilton 1990's estimate of ρ). Each iteration cannot lower the
//!   likelihood; it stops when an iteration raises the log-likelihood by less than
//!   [`EM_TOLERANCE`], or after [`EM_MAX_ITERATIONS`]. Variances are kept above
//!   [`VARIANCE_FLOOR`] times the sample variance, so a state cannot collapse onto a single
//!   return (where the likelihood is unbounded).
//! - **Starting values**: both means at the sample mean; the calm state's variance that of
//!   the returns closer to the mean than the median absolute deviation from it, the volatile
//!   state's that of the rest; staying probabilities 0.95, 0.98 and 0.99 tried in turn, keeping
//!   the highest likelihood (EM finds a local maximum). No random numbers: the same returns
//!   always give the same fit.

#![allow(clippy::needless_range_loop)] // index loops over the two states read as the formulas

use domain::monitoring::MarketRegime;
use serde::{Deserialize, Serialize};

use crate::{invalid, SimError};

/// Trading days in a year, for annualising daily volatility.
pub const TRADING_DAYS: f64 = 252.0;
/// EM stops when an iteration raises the log-likelihood by less than this.
pub const EM_TOLERANCE: f64 = 1e-8;
/// EM stops after this many iterations (and says it did not converge).
pub const EM_MAX_ITERATIONS: usize = 2_000;
/// A state's variance is kept at or above this share of the sample variance.
pub const VARIANCE_FLOOR: f64 = 1e-4;
/// The fewest returns a Markov-switching model is fitted to.
pub const MIN_RETURNS: usize = 50;

/// How the volatility half of a regime is decided.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Volatility {
    /// Annualised realised volatility over `window` returns above `threshold` (a fraction).
    Realised { window: usize, threshold: f64 },
    /// The filtered probability of the high-variance state above one half.
    MarkovSwitching,
}

/// How closes are classified (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierConfig {
    /// The long moving average, in days.
    pub slow: usize,
    /// A short moving average compared with the long one instead of the close.
    pub fast: Option<usize>,
    pub volatility: Volatility,
    /// The window of the realised volatility reported every day (and used by
    /// [`Volatility::Realised`]).
    pub window: usize,
}

impl Default for ClassifierConfig {
    /// A 200-day average, a 21-day realised volatility, volatile above 20%.
    fn default() -> Self {
        Self { slow: 200, fast: None, volatility: Volatility::Realised { window: 21, threshold: 0.20 }, window: 21 }
    }
}

/// One day's classification.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Classified {
    /// The index of the close.
    pub index: usize,
    pub close: f64,
    /// The slow moving average.
    pub slow_average: f64,
    /// The fast moving average, when configured.
    pub fast_average: Option<f64>,
    /// Annualised realised volatility over the config's window.
    pub volatility: f64,
    /// The filtered probability of the high-variance state, with [`Volatility::MarkovSwitching`].
    pub high_volatility: Option<f64>,
    pub regime: MarketRegime,
}

/// Labels each close from the first with enough history (the slow average's window and the
/// volatility's window of returns) to the last. With [`Volatility::MarkovSwitching`], the model
/// is fitted to all the log returns of `closes` and also returned.
pub fn classify(
    closes: &[f64],
    config: &ClassifierConfig,
) -> Result<(Vec<Classified>, Option<MarkovSwitchingFit>), SimError> {
    if config.slow < 2 {
        return Err(invalid("slow", "the moving average needs at least 2 days"));
    }
    if config.fast.is_some_and(|f| f < 1 || f >= config.slow) {
        return Err(invalid("fast", "must be at least 1 day and shorter than the slow average"));
    }
    let vol_window = match config.volatility {
        Volatility::Realised { window, threshold } => {
            if !(threshold > 0.0 && threshold.is_finite()) {
                return Err(invalid("volatility.threshold", "must be above 0"));
            }
            window.max(config.window)
        }
        Volatility::MarkovSwitching => config.window,
    };
    if config.window < 2 || matches!(config.volatility, Volatility::Realised { window, .. } if window < 2) {
        return Err(invalid("window", "realised volatility needs at least 2 returns"));
    }
    if let Some(i) = closes.iter().position(|c| !(*c > 0.0 && c.is_finite())) {
        return Err(invalid(format!("closes[{i}]"), "must be a positive number"));
    }
    let returns: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    let fit = match config.volatility {
        Volatility::MarkovSwitching => Some(fit_markov_switching(&returns)?),
        Volatility::Realised { .. } => None,
    };
    let first = (config.slow - 1).max(vol_window);
    let mut days = Vec::with_capacity(closes.len().saturating_sub(first));
    for index in first..closes.len() {
        let close = closes[index];
        let slow_average = mean(&closes[index + 1 - config.slow..=index]);
        let fast_average = config.fast.map(|f| mean(&closes[index + 1 - f..=index]));
        // Returns[i] is the return into close i + 1.
        let realised = |window: usize| annualised(&returns[index - window..index]);
        let volatility = realised(config.window);
        let high_volatility = fit.as_ref().map(|f| f.filtered[index - 1]);
        let volatile = match config.volatility {
            Volatility::Realised { window, threshold } => realised(window) > threshold,
            Volatility::MarkovSwitching => high_volatility.is_some_and(|p| p > 0.5),
        };
        let bull = fast_average.unwrap_or(close) >= slow_average;
        days.push(Classified {
            index,
            close,
            slow_average,
            fast_average,
            volatility,
            high_volatility,
            regime: MarketRegime::of(volatile, bull),
        });
    }
    Ok((days, fit))
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The sample standard deviation of daily returns times √252.
fn annualised(returns: &[f64]) -> f64 {
    let m = mean(returns);
    let var = returns.iter().map(|r| (r - m).powi(2)).sum::<f64>() / (returns.len() - 1) as f64;
    (var * TRADING_DAYS).sqrt()
}

/// A two-state Gaussian Markov-switching model fitted to daily log returns; state 0 is the calm
/// one (smaller variance), state 1 the volatile one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkovSwitchingFit {
    /// Each state's mean daily log return.
    pub means: [f64; 2],
    /// Each state's variance of the daily log return.
    pub variances: [f64; 2],
    /// `transition[i][j]`: the probability of state `j` tomorrow given state `i` today.
    pub transition: [[f64; 2]; 2],
    /// The probabilities of the states on the first day.
    pub initial: [f64; 2],
    /// Each state's expected duration in days, `1 / (1 - p_ii)`.
    pub expected_durations: [f64; 2],
    /// Each state's annualised volatility, `σ √252`.
    pub annualised_volatilities: [f64; 2],
    pub log_likelihood: f64,
    pub iterations: usize,
    /// The last EM iteration raised the log-likelihood by less than [`EM_TOLERANCE`].
    pub converged: bool,
    /// Per return: the probability of the volatile state given the returns up to that day.
    pub filtered: Vec<f64>,
    /// Per return: the probability of the volatile state given all the returns.
    pub smoothed: Vec<f64>,
}

/// The parameters EM iterates on.
#[derive(Debug, Clone, Copy)]
struct Params {
    means: [f64; 2],
    variances: [f64; 2],
    transition: [[f64; 2]; 2],
    initial: [f64; 2],
}

/// What the filter and smoother give for one set of parameters.
struct Pass {
    log_likelihood: f64,
    /// ξ_{t|t}.
    filtered: Vec<[f64; 2]>,
    /// ξ_{t|t-1}.
    predicted: Vec<[f64; 2]>,
    /// ξ_{t|T}.
    smoothed: Vec<[f64; 2]>,
}

fn density(r: f64, mean: f64, variance: f64) -> f64 {
    (-(r - mean).powi(2) / (2.0 * variance)).exp() / (2.0 * std::f64::consts::PI * variance).sqrt()
}

/// Hamilton's filter and Kim's smoother.
fn filter_and_smooth(returns: &[f64], p: &Params) -> Pass {
    let n = returns.len();
    let mut filtered = Vec::with_capacity(n);
    let mut predicted = Vec::with_capacity(n);
    let mut log_likelihood = 0.0;
    let mut previous: Option<[f64; 2]> = None;
    for &r in returns {
        let prior = match previous {
            None => p.initial,
            Some(f) => [
                f[0] * p.transition[0][0] + f[1] * p.transition[1][0],
                f[0] * p.transition[0][1] + f[1] * p.transition[1][1],
            ],
        };
        let joint =
            [prior[0] * density(r, p.means[0], p.variances[0]), prior[1] * density(r, p.means[1], p.variances[1])];
        // The floor keeps a return far in both tails (densities below f64's range) from
        // dividing by zero; it weighs the states by their prior then.
        let total = (joint[0] + joint[1]).max(f64::MIN_POSITIVE);
        log_likelihood += total.ln();
        let post = if joint[0] + joint[1] > 0.0 { [joint[0] / total, joint[1] / total] } else { prior };
        predicted.push(prior);
        filtered.push(post);
        previous = Some(post);
    }
    let mut smoothed = filtered.clone();
    for t in (0..n.saturating_sub(1)).rev() {
        let ratio = [
            smoothed[t + 1][0] / predicted[t + 1][0].max(f64::MIN_POSITIVE),
            smoothed[t + 1][1] / predicted[t + 1][1].max(f64::MIN_POSITIVE),
        ];
        for i in 0..2 {
            smoothed[t][i] = filtered[t][i] * (p.transition[i][0] * ratio[0] + p.transition[i][1] * ratio[1]);
        }
    }
    Pass { log_likelihood, filtered, predicted, smoothed }
}

/// One EM update from a pass over the data.
fn maximise(returns: &[f64], p: &Params, pass: &Pass, floor: f64) -> Params {
    let n = returns.len();
    let mut weight = [0.0; 2];
    let mut sum = [0.0; 2];
    for (r, s) in returns.iter().zip(&pass.smoothed) {
        for j in 0..2 {
            weight[j] += s[j];
            sum[j] += s[j] * r;
        }
    }
    let means = [0, 1].map(|j| if weight[j] > 0.0 { sum[j] / weight[j] } else { p.means[j] });
    let variances = [0, 1].map(|j| {
        let ss: f64 = returns.iter().zip(&pass.smoothed).map(|(r, s)| s[j] * (r - means[j]).powi(2)).sum();
        if weight[j] > 0.0 {
            (ss / weight[j]).max(floor)
        } else {
            p.variances[j]
        }
    });
    // Expected transitions i → j over t = 0..n-2.
    let mut transitions = [[0.0; 2]; 2];
    for t in 0..n - 1 {
        for i in 0..2 {
            for j in 0..2 {
                let predicted = pass.predicted[t + 1][j].max(f64::MIN_POSITIVE);
                transitions[i][j] += pass.filtered[t][i] * p.transition[i][j] * pass.smoothed[t + 1][j] / predicted;
            }
        }
    }
    let transition = [0, 1].map(|i| {
        let visits = transitions[i][0] + transitions[i][1];
        if visits > 0.0 {
            [transitions[i][0] / visits, transitions[i][1] / visits]
        } else {
            p.transition[i]
        }
    });
    Params { means, variances, transition, initial: pass.smoothed[0] }
}

/// Fits the two-state Markov-switching model to daily log returns by EM (see the module
/// documentation). Needs at least [`MIN_RETURNS`] finite returns that are not all equal.
pub fn fit_markov_switching(returns: &[f64]) -> Result<MarkovSwitchingFit, SimError> {
    if returns.len() < MIN_RETURNS {
        return Err(invalid("returns", format!("{} returns; the model needs at least {MIN_RETURNS}", returns.len())));
    }
    if let Some(i) = returns.iter().position(|r| !r.is_finite()) {
        return Err(invalid(format!("returns[{i}]"), "must be a finite number"));
    }
    let m = mean(returns);
    let variance = returns.iter().map(|r| (r - m).powi(2)).sum::<f64>() / returns.len() as f64;
    if returns.iter().all(|r| *r == returns[0]) {
        return Err(invalid("returns", "all the returns are equal: there is no variance to switch"));
    }
    let floor = VARIANCE_FLOOR * variance;
    // The calm state starts with the returns closer to the mean than the median deviation.
    let mut deviations: Vec<f64> = returns.iter().map(|r| (r - m).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let median = deviations[deviations.len() / 2];
    let split = |inner: bool| {
        let xs: Vec<f64> = returns.iter().copied().filter(|r| ((r - m).abs() <= median) == inner).collect();
        (xs.iter().map(|r| (r - m).powi(2)).sum::<f64>() / xs.len().max(1) as f64).max(floor)
    };
    let (calm, volatile) = (split(true), split(false));
    let mut best: Option<(Params, Pass, usize, bool)> = None;
    for stay in [0.95, 0.98, 0.99] {
        let mut p = Params {
            means: [m, m],
            variances: [calm, volatile.max(calm * 1.5)],
            transition: [[stay, 1.0 - stay], [1.0 - stay, stay]],
            initial: [0.5, 0.5],
        };
        let mut pass = filter_and_smooth(returns, &p);
        let mut converged = false;
        let mut iterations = 0;
        while iterations < EM_MAX_ITERATIONS {
            iterations += 1;
            let next = maximise(returns, &p, &pass, floor);
            let next_pass = filter_and_smooth(returns, &next);
            let gain = next_pass.log_likelihood - pass.log_likelihood;
            p = next;
            pass = next_pass;
            if gain.abs() < EM_TOLERANCE {
                converged = true;
                break;
            }
        }
        if best.as_ref().is_none_or(|(_, b, _, _)| pass.log_likelihood > b.log_likelihood) {
            best = Some((p, pass, iterations, converged));
        }
    }
    let (mut p, mut pass, iterations, converged) = best.expect("three starts were tried");
    // State 1 is the volatile one.
    if p.variances[0] > p.variances[1] {
        p.means.swap(0, 1);
        p.variances.swap(0, 1);
        p.initial.swap(0, 1);
        p.transition = [[p.transition[1][1], p.transition[1][0]], [p.transition[0][1], p.transition[0][0]]];
        for xs in [&mut pass.filtered, &mut pass.smoothed] {
            for x in xs.iter_mut() {
                x.swap(0, 1);
            }
        }
    }
    Ok(MarkovSwitchingFit {
        means: p.means,
        variances: p.variances,
        transition: p.transition,
        initial: p.initial,
        expected_durations: [0, 1].map(|i| 1.0 / (1.0 - p.transition[i][i]).max(f64::EPSILON)),
        annualised_volatilities: p.variances.map(|v| (v * TRADING_DAYS).sqrt()),
        log_likelihood: pass.log_likelihood,
        iterations,
        converged,
        filtered: pass.filtered.iter().map(|x| x[1]).collect(),
        smoothed: pass.smoothed.iter().map(|x| x[1]).collect(),
    })
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_distr::StandardNormal;
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;

    /// Daily log returns from a two-state chain starting in state 0, and the true states.
    fn simulate(
        seed: u64,
        n: usize,
        means: [f64; 2],
        sds: [f64; 2],
        transition: [[f64; 2]; 2],
    ) -> (Vec<f64>, Vec<usize>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut state = 0;
        let mut returns = Vec::with_capacity(n);
        let mut states = Vec::with_capacity(n);
        for _ in 0..n {
            let z: f64 = rng.sample(StandardNormal);
            returns.push(means[state] + sds[state] * z);
            states.push(state);
            let u: f64 = rng.gen();
            state = usize::from(u >= transition[state][0]);
        }
        (returns, states)
    }

    fn closes(returns: &[f64]) -> Vec<f64> {
        let mut price = 100.0;
        std::iter::once(price)
            .chain(returns.iter().map(|r| {
                price *= r.exp();
                price
            }))
            .collect()
    }

    fn share_agreeing(probabilities: &[f64], states: &[usize]) -> f64 {
        let right = probabilities.iter().zip(states).filter(|(p, s)| (**p > 0.5) == (**s == 1)).count();
        right as f64 / states.len() as f64
    }

    const CALM: (f64, f64) = (0.0005, 0.008);
    const VOLATILE: (f64, f64) = (-0.001, 0.025);
    const TRANSITION: [[f64; 2]; 2] = [[0.99, 0.01], [0.03, 0.97]];

    #[test]
    fn the_filter_and_smoother_match_a_hand_computed_example() {
        // Means 0, variances 1 and 4, p00 = 0.9, p11 = 0.8, ρ = (½, ½); returns 0 and 2.
        // Day 1: densities 0.398942 and 0.199471, so ξ = (⅔, ⅓); that is the chain's
        // stationary distribution, so it is also day 2's prior. Day 2: densities 0.053991 and
        // 0.120985: ξ = (0.471604, 0.528396). Smoothing day 1: ratios 0.707406 and 1.585187,
        // ξ_{1|2} = (⅔ (0.9 × 0.707406 + 0.1 × 1.585187), ⅓ (0.2 × 0.707406 + 0.8 × 1.585187))
        // = (0.530123, 0.469877). Log-likelihood ln 0.299207 + ln 0.076326 = -3.779409.
        let p = Params {
            means: [0.0, 0.0],
            variances: [1.0, 4.0],
            transition: [[0.9, 0.1], [0.2, 0.8]],
            initial: [0.5; 2],
        };
        let pass = filter_and_smooth(&[0.0, 2.0], &p);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(close(pass.filtered[0][1], 1.0 / 3.0) && close(pass.filtered[1][1], 0.528396), "{:?}", pass.filtered);
        assert!(close(pass.smoothed[0][1], 0.469877) && close(pass.smoothed[1][1], 0.528396), "{:?}", pass.smoothed);
        assert!(close(pass.log_likelihood, -3.779409), "{}", pass.log_likelihood);
    }

    #[test]
    fn every_em_iteration_raises_the_likelihood() {
        let (returns, _) = simulate(3, 600, [CALM.0, VOLATILE.0], [CALM.1, VOLATILE.1], TRANSITION);
        let mut p = Params {
            means: [0.0, 0.0],
            variances: [0.0001, 0.0004],
            transition: [[0.9, 0.1], [0.1, 0.9]],
            initial: [0.5, 0.5],
        };
        let mut pass = filter_and_smooth(&returns, &p);
        for i in 0..50 {
            p = maximise(&returns, &p, &pass, 1e-12);
            let next = filter_and_smooth(&returns, &p);
            assert!(next.log_likelihood >= pass.log_likelihood - 1e-9, "iteration {i} lowered the likelihood");
            pass = next;
        }
    }

    #[test]
    fn em_recovers_the_regimes_of_a_simulated_series() {
        // 4,000 days: calm 0.05% ± 0.8% a day (12.7% a year), volatile -0.1% ± 2.5% (39.7%),
        // staying 99% and 97% of days (100- and 33-day spells; a quarter of days volatile).
        let (returns, states) = simulate(20_260_305, 4_000, [CALM.0, VOLATILE.0], [CALM.1, VOLATILE.1], TRANSITION);
        let fit = fit_markov_switching(&returns).unwrap();
        assert!(fit.converged, "{} iterations", fit.iterations);
        let sd = fit.variances.map(f64::sqrt);
        assert!((sd[0] / CALM.1 - 1.0).abs() < 0.05, "calm sd {}", sd[0]);
        assert!((sd[1] / VOLATILE.1 - 1.0).abs() < 0.05, "volatile sd {}", sd[1]);
        assert!((fit.transition[0][0] - 0.99).abs() < 0.005, "p00 {}", fit.transition[0][0]);
        assert!((fit.transition[1][1] - 0.97).abs() < 0.015, "p11 {}", fit.transition[1][1]);
        // Means within three standard errors (about 3,000 and 1,000 days in each state).
        assert!((fit.means[0] - CALM.0).abs() < 3.0 * CALM.1 / 3_000f64.sqrt(), "calm mean {}", fit.means[0]);
        assert!(
            (fit.means[1] - VOLATILE.0).abs() < 3.0 * VOLATILE.1 / 1_000f64.sqrt(),
            "volatile mean {}",
            fit.means[1]
        );
        assert!((fit.expected_durations[0] - 100.0).abs() < 50.0 && (fit.expected_durations[1] - 33.3).abs() < 15.0);
        let filtered = share_agreeing(&fit.filtered, &states);
        let smoothed = share_agreeing(&fit.smoothed, &states);
        assert!(filtered > 0.9, "filtered: {filtered} of days in the right state");
        assert!(smoothed > 0.95 && smoothed >= filtered, "smoothed: {smoothed}, filtered {filtered}");
        assert_eq!(fit_markov_switching(&returns).unwrap(), fit, "no randomness in the fit");
    }

    #[test]
    fn the_classifier_labels_a_calm_rise_and_a_volatile_fall() {
        // 300 days rising 0.1% ± 0.5% a day (7.9% volatility), then 300 falling 0.3% ± 3% (47.6%).
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let returns: Vec<f64> = (0..600)
            .map(|i| {
                let z: f64 = rng.sample(StandardNormal);
                if i < 300 {
                    0.001 + 0.005 * z
                } else {
                    -0.003 + 0.03 * z
                }
            })
            .collect();
        let (days, fit) = classify(&closes(&returns), &ClassifierConfig::default()).unwrap();
        assert!(fit.is_none());
        assert_eq!(days[0].index, 199, "the first close with a 200-day average (closes 0 to 199)");
        let label = |i: usize| days.iter().find(|d| d.index == i).unwrap().regime;
        assert!((220..=300).all(|i| label(i) == MarketRegime::CalmBull));
        assert!((450..=600).all(|i| label(i) == MarketRegime::VolatileBear));
        // Close 500's volatility is that of returns 479 to 499 (into closes 480 to 500)…
        let window = &returns[479..500];
        let m = window.iter().sum::<f64>() / 21.0;
        let sd = (window.iter().map(|r| (r - m).powi(2)).sum::<f64>() / 20.0).sqrt();
        let late = days.iter().find(|d| d.index == 500).unwrap();
        assert!((late.volatility - sd * 252f64.sqrt()).abs() < 1e-12);
        // … and over the volatile days it averages about 3% × √252 = 47.6%.
        let volatile: Vec<f64> = days.iter().filter(|d| d.index >= 330).map(|d| d.volatility).collect();
        let average = volatile.iter().sum::<f64>() / volatile.len() as f64;
        assert!((average - 0.476).abs() < 0.03, "{average}");
        // The golden cross instead: the 50-day average crosses below the 200-day after the fall.
        let config = ClassifierConfig { fast: Some(50), ..ClassifierConfig::default() };
        let (crossed, _) = classify(&closes(&returns), &config).unwrap();
        assert!(crossed.iter().filter(|d| d.index >= 500).all(|d| !d.regime.is_bull()));
        assert!(crossed.iter().filter(|d| d.index <= 300).all(|d| d.regime.is_bull()));
    }

    #[test]
    fn the_markov_switching_classifier_labels_most_days_by_their_true_state() {
        let (returns, states) = simulate(42, 2_000, [CALM.0, VOLATILE.0], [CALM.1, VOLATILE.1], TRANSITION);
        let config = ClassifierConfig { volatility: Volatility::MarkovSwitching, ..ClassifierConfig::default() };
        let (days, fit) = classify(&closes(&returns), &config).unwrap();
        let fit = fit.unwrap();
        // Close i follows return i - 1.
        let right = days.iter().filter(|d| d.regime.is_volatile() == (states[d.index - 1] == 1)).count();
        let share = right as f64 / days.len() as f64;
        assert!(share > 0.9, "{share} of days labelled by their true volatility");
        assert!(days.iter().all(|d| d.high_volatility == Some(fit.filtered[d.index - 1])));
    }

    #[test]
    fn bad_input_names_its_field() {
        let field = |e: SimError| match e {
            SimError::Invalid { field, .. } => field,
        };
        assert_eq!(field(fit_markov_switching(&[0.01; 10]).unwrap_err()), "returns");
        assert_eq!(field(fit_markov_switching(&[0.01; 60]).unwrap_err()), "returns");
        let config = ClassifierConfig { fast: Some(200), ..ClassifierConfig::default() };
        assert_eq!(field(classify(&[100.0; 300], &config).unwrap_err()), "fast");
        let mut closes = vec![100.0; 300];
        closes[7] = 0.0;
        assert_eq!(field(classify(&closes, &ClassifierConfig::default()).unwrap_err()), "closes[7]");
    }
}
