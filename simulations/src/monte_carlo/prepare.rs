//! A model checked and prepared for drawing: per-step drifts and volatilities per regime, the
//! Cholesky factor, the regime chain's cumulative rows and stationary distribution, the shock
//! sampler, GARCH, crash and control-variate constants, and the economy.

use nalgebra::DMatrix;

use super::{EconomySpec, Garch, Jumps, Model, Regimes, Shocks};
use crate::correlation;
use crate::distributions::{self, SkewedT};
use crate::markov::{check_transition, cumulative, stationary_distribution};
use crate::scenario::{Economy, PreparedEconomy};
use crate::{invalid, SimError};

/// The shock distribution, ready to draw.
#[derive(Debug, Clone)]
pub(crate) enum Shock {
    Normal,
    T { nu: f64, chi: rand_distr::Gamma<f64> },
    Skewed { dist: SkewedT, chi: rand_distr::Gamma<f64> },
}

/// A model checked and prepared for drawing.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(super) n: usize,
    pub(super) dt: f64,
    /// The Cholesky factor's lower triangle, row by row (row i holds i + 1 entries).
    pub(super) chol: Vec<f64>,
    pub(super) weights: Vec<f64>,
    /// Per regime (one when there are no regimes), asset by asset: per-step drift and
    /// volatility (`regime * n + asset`).
    pub(super) drift: Vec<f64>,
    pub(super) vol: Vec<f64>,
    /// Cumulative transition rows and the stationary distribution.
    pub(super) transition: Vec<Vec<f64>>,
    pub(super) stationary: Vec<f64>,
    pub(super) shock: Shock,
    pub(super) jumps: Option<Jumps>,
    pub(super) garch: Option<Garch>,
    /// Per-step crash probability, the loss range, and each asset's exposure.
    pub(super) crash: Option<(f64, f64, f64)>,
    pub(super) exposure: Vec<f64>,
    /// The control variate's loading on each raw normal (`L^T (w * sigma sqrt(dt))`) and the
    /// variance of its per-step increment.
    pub(super) control: Vec<f64>,
    pub(super) control_variance: f64,
    pub(super) economy: Option<PreparedEconomy>,
    pub warnings: Vec<String>,
}

pub(super) fn check_shocks(shocks: &Shocks, warnings: &mut Vec<String>) -> Result<Shock, SimError> {
    let field = "model.shocks.degrees_of_freedom";
    let chi = |nu: f64| {
        if nu.is_nan() || nu <= 2.0 || !nu.is_finite() {
            return Err(invalid(field, "must be above 2 (finite variance)"));
        }
        rand_distr::Gamma::new(nu / 2.0, 2.0).map_err(|e| invalid(field, e.to_string()))
    };
    Ok(match shocks {
        Shocks::Normal => Shock::Normal,
        Shocks::StudentT { degrees_of_freedom: Some(nu), fit_returns } if fit_returns.is_empty() => {
            Shock::T { nu: *nu, chi: chi(*nu)? }
        }
        Shocks::StudentT { degrees_of_freedom: None, fit_returns } => {
            let fit = distributions::fit_student_t(fit_returns)
                .map_err(|problem| invalid("model.shocks.fit_returns", problem))?;
            warnings.push(format!(
                "model.shocks: degrees of freedom fitted to {} returns by maximum likelihood: {:.2} \
                 (standard error {:.2})",
                fit_returns.len(),
                fit.nu,
                fit.standard_error
            ));
            Shock::T { nu: fit.nu, chi: chi(fit.nu)? }
        }
        Shocks::StudentT { .. } => {
            return Err(invalid("model.shocks", "give degrees_of_freedom or fit_returns, not both"));
        }
        Shocks::SkewedT { degrees_of_freedom: nu, skew } => {
            let chi = chi(*nu)?;
            let dist =
                SkewedT::new(*nu, *skew).ok_or_else(|| invalid("model.shocks.skew", "must be between -1 and 1"))?;
            Shock::Skewed { dist, chi }
        }
    })
}

pub(super) fn check_extras(m: &Model, dt: f64) -> Result<Option<(f64, f64, f64)>, SimError> {
    if let Some(j) = m.jumps {
        if !(j.intensity >= 0.0 && j.volatility >= 0.0 && j.mean.is_finite() && j.intensity.is_finite()) {
            return Err(invalid("model.jumps", "intensity and volatility must be at least 0"));
        }
    }
    if let Some(g) = m.garch {
        if !(g.alpha >= 0.0 && g.beta >= 0.0 && g.alpha + g.beta < 1.0) {
            return Err(invalid("model.garch", "alpha and beta must be at least 0 with alpha + beta below 1"));
        }
    }
    for (i, a) in m.assets.iter().enumerate() {
        if !(0.0..=1.0).contains(&a.crash_exposure) {
            return Err(invalid(format!("model.assets[{i}].crash_exposure"), "must be between 0 and 1"));
        }
    }
    let Some(c) = m.crashes else { return Ok(None) };
    if !(0.0..=1.0).contains(&c.annual_probability) {
        return Err(invalid("model.crashes.annual_probability", "must be between 0 and 1"));
    }
    if !(c.min_loss >= 0.0 && c.min_loss <= c.max_loss && c.max_loss < 1.0) {
        return Err(invalid("model.crashes", "losses must satisfy 0 <= min_loss <= max_loss < 1"));
    }
    // The per-step probability that compounds to the annual one.
    let per_step = 1.0 - (1.0 - c.annual_probability).powf(dt);
    Ok(Some((per_step, c.min_loss, c.max_loss)))
}

pub(super) fn check_regimes(r: &Regimes, n: usize, economy: Option<&PreparedEconomy>) -> Result<(), SimError> {
    let k = r.states.len();
    if k == 0 {
        return Err(invalid("model.regimes.states", "at least one regime is needed"));
    }
    if let Some(e) = economy {
        if !r.transition.is_empty() {
            return Err(invalid("model.regimes.transition", "leave it out: the economy's regimes move the market"));
        }
        let names: Vec<&str> = r.states.iter().map(|s| s.name.as_str()).collect();
        if names != e.regime_names().iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(invalid(
                "model.regimes.states",
                format!("must be the economy's regimes in its order: {}", e.regime_names().join(", ")),
            ));
        }
    } else {
        check_transition(&r.transition, k, "model.regimes.transition")?;
    }
    for (i, s) in r.states.iter().enumerate() {
        if s.expected_returns.len() != n || s.volatilities.len() != n {
            return Err(invalid(
                format!("model.regimes.states[{i}]"),
                format!("needs {n} expected_returns and {n} volatilities (one per asset)"),
            ));
        }
        if s.volatilities.iter().any(|v| !(v.is_finite() && *v >= 0.0))
            || s.expected_returns.iter().any(|m| !(m.is_finite() && *m > -1.0))
        {
            return Err(invalid(format!("model.regimes.states[{i}]"), "returns above -1, volatilities at least 0"));
        }
    }
    Ok(())
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
                return Err(invalid(format!("{field}.volatility"), "must be a number of at least 0"));
            }
            if !(a.expected_return.is_finite() && a.expected_return > -1.0) {
                return Err(invalid(format!("{field}.expected_return"), "must be a number above -1"));
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
        let shock = check_shocks(&m.shocks, &mut warnings)?;
        let crash = check_extras(m, dt)?;
        let economy = prepare_economy(m, &mut warnings)?;
        let kappa = m.jumps.map_or(0.0, |j| j.intensity * ((j.mean + 0.5 * j.volatility * j.volatility).exp() - 1.0));
        // Per step: log drift (ln(1 + mu) - sigma^2/2 - jump compensation) dt, so that a year's
        // expected gross return is 1 + mu, and volatility sigma sqrt(dt).
        let (mut drift, mut vol) = (Vec::new(), Vec::new());
        let mut per_step = |mu: &[f64], sigma: &[f64]| {
            drift.extend(mu.iter().zip(sigma).map(|(mu, s)| ((1.0 + mu).ln() - 0.5 * s * s - kappa) * dt));
            vol.extend(sigma.iter().map(|s| s * dt.sqrt()));
        };
        let base_vol: Vec<f64> = m.assets.iter().map(|a| a.volatility).collect();
        let (transition, stationary) = match &m.regimes {
            None if economy.is_some() => {
                return Err(invalid("model.regimes.states", "give each asset's return per economic regime"));
            }
            None => {
                let mu: Vec<f64> = m.assets.iter().map(|a| a.expected_return).collect();
                per_step(&mu, &base_vol);
                (vec![vec![1.0]], vec![1.0])
            }
            Some(r) => {
                check_regimes(r, n, economy.as_ref())?;
                for s in &r.states {
                    per_step(&s.expected_returns, &s.volatilities);
                }
                match &economy {
                    // The economy moves the regimes; the engine's own chain stays put.
                    Some(e) => (vec![vec![1.0]], e.stationary().to_vec()),
                    None => (
                        r.transition.iter().map(|row| cumulative(row)).collect(),
                        stationary_distribution(&r.transition),
                    ),
                }
            }
        };
        // The control's per-step increment is sum_i w_i sigma_i sqrt(dt) (L z)_i, a normal
        // with variance c' R c; as a loading on the raw normals it is L^T c.
        let c: Vec<f64> = weights.iter().zip(&base_vol).map(|(w, s)| w * s * dt.sqrt()).collect();
        let control: Vec<f64> = (0..n).map(|j| (j..n).map(|i| chol[(i, j)] * c[i]).sum()).collect();
        let control_variance = control.iter().map(|x| x * x).sum();
        Ok(Self {
            n,
            dt,
            chol: (0..n).flat_map(|i| (0..=i).map(move |j| (i, j))).map(|(i, j)| chol[(i, j)]).collect(),
            weights,
            drift,
            vol,
            transition,
            stationary,
            shock,
            jumps: m.jumps,
            garch: m.garch,
            crash,
            exposure: m.assets.iter().map(|a| a.crash_exposure).collect(),
            control,
            control_variance,
            economy,
            warnings,
        })
    }

    pub fn steps_per_year(&self) -> u32 {
        (1.0 / self.dt).round() as u32
    }
}

/// The economy of `model.economy`, prepared at the model's steps (its errors and warnings
/// under `model.`).
pub(super) fn prepare_economy(m: &Model, warnings: &mut Vec<String>) -> Result<Option<PreparedEconomy>, SimError> {
    let under_model = |e: SimError| match e {
        SimError::Invalid { field, problem } => invalid(format!("model.{field}"), problem),
    };
    let economy = match &m.economy {
        None => return Ok(None),
        Some(EconomySpec::Named(name)) => Economy::named(name).map_err(under_model)?,
        Some(EconomySpec::Custom(e)) => e.clone(),
    };
    let prepared = PreparedEconomy::new(&economy, m.steps_per_year).map_err(under_model)?;
    warnings.extend(prepared.warnings.iter().map(|w| format!("model.{w}")));
    Ok(Some(prepared))
}
