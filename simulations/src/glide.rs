//! Target-date glide paths: the equity share by years to retirement, from a parametric
//! family, adjusted for risk tolerance and funded status, and evaluated on simulated markets
//! beside a published glide path.
//!
//! - The family: `start` equity share until `decline_years` before retirement, then down to
//!   `at_retirement` by a shape — `linear`, `convex` (falls late: the share is
//!   at_retirement + (start − at_retirement)·u^(1/p)... see [`equity_share`]) or `concave`
//!   (falls early) with power `power` (2) — and after retirement either flat ("to"
//!   retirement) or on down to `floor` over `after_years` ("through" retirement).
//! - Adjustments: risk tolerance adds `risk_shift` (−0.2 to 0.2) to every year's share; a
//!   funded status above 1 (wealth over what the goal needs) takes `funded_sensitivity` × the
//!   excess off the share (less risk is needed), below 1 adds it; the share stays within 0
//!   and 1.
//! - The published comparison: Vanguard's Target Retirement glide path (Vanguard, "Vanguard's
//!   approach to target-date funds", 2023, and the Target Retirement funds' prospectus): 90%
//!   stocks until 25 years before retirement, down linearly to 50% at retirement and to 30%
//!   seven years after (a "through" path).
//! - Evaluation: a saver's wealth from today over `years_to_retirement` of yearly
//!   contributions, then yearly withdrawals for `retirement_years`, invested each year in
//!   stocks and bonds at the path's share, with lognormal annual returns (expected returns,
//!   volatilities and a correlation), each path its own seeded stream (`crate::rng`), so the
//!   numbers do not depend on the thread count. Success: every withdrawal paid. Shortfall:
//!   the withdrawals not paid, in today's money at the contributions' and withdrawals'
//!   inflation (2.5% unless given; 0 for nominal), averaged over failing paths; the median and 5th percentile of
//!   wealth at retirement and at the end.

use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{invalid, SimError};

/// How the share falls towards retirement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    #[default]
    Linear,
    /// Falls late: most of the decline near retirement.
    Convex,
    /// Falls early.
    Concave,
}

/// A glide path of the family.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlidePath {
    /// The equity share far from retirement (0.9).
    pub start: f64,
    /// Years before retirement the decline begins (25).
    pub decline_years: f64,
    /// The share at retirement (0.5).
    pub at_retirement: f64,
    #[serde(default)]
    pub shape: Shape,
    /// The convex and concave shapes' power (2).
    pub power: Option<f64>,
    /// The share after `after_years` in retirement ("through"; the share at retirement when
    /// absent: "to").
    pub floor: Option<f64>,
    /// Years after retirement the share reaches `floor` (7).
    pub after_years: Option<f64>,
    /// Added to every year's share for the saver's risk tolerance (0; −0.2 to 0.2).
    #[serde(default)]
    pub risk_shift: f64,
    /// Taken off the share per unit of funded status above 1, added below (0).
    #[serde(default)]
    pub funded_sensitivity: f64,
}

impl GlidePath {
    /// Vanguard's Target Retirement glide path.
    pub const VANGUARD: GlidePath = GlidePath {
        start: 0.9,
        decline_years: 25.0,
        at_retirement: 0.5,
        shape: Shape::Linear,
        power: None,
        floor: Some(0.3),
        after_years: Some(7.0),
        risk_shift: 0.0,
        funded_sensitivity: 0.0,
    };

    fn check(&self, field: &str) -> Result<(), SimError> {
        let share = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(invalid(format!("{field}.{name}"), format!("{v} is not a share from 0 to 1")))
            }
        };
        share("start", self.start)?;
        share("at_retirement", self.at_retirement)?;
        if let Some(f) = self.floor {
            share("floor", f)?;
        }
        for (name, v, lo, hi) in [
            ("decline_years", self.decline_years, 0.0, 60.0),
            ("power", self.power.unwrap_or(2.0), 1.0, 10.0),
            ("after_years", self.after_years.unwrap_or(7.0), 0.0, 60.0),
            ("risk_shift", self.risk_shift, -0.2, 0.2),
            ("funded_sensitivity", self.funded_sensitivity, 0.0, 1.0),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(invalid(format!("{field}.{name}"), format!("{v} is not {lo} to {hi}")));
            }
        }
        Ok(())
    }

    /// The equity share `years` before retirement (negative: years after), at funded status
    /// `funded` (1 when unknown).
    pub fn equity_share(&self, years: f64, funded: f64) -> f64 {
        let base = if years >= self.decline_years && years > 0.0 {
            self.start
        } else if years >= 0.0 {
            // u: the share of the decline still ahead (1 at its start, 0 at retirement).
            let u = if self.decline_years > 0.0 { years / self.decline_years } else { 0.0 };
            let p = self.power.unwrap_or(2.0);
            let left = match self.shape {
                Shape::Linear => u,
                Shape::Convex => u.powf(1.0 / p),
                Shape::Concave => u.powf(p),
            };
            self.at_retirement + (self.start - self.at_retirement) * left
        } else {
            match self.floor {
                None => self.at_retirement,
                Some(floor) => {
                    let after = self.after_years.unwrap_or(7.0);
                    let done = if after > 0.0 { (-years / after).min(1.0) } else { 1.0 };
                    self.at_retirement + (floor - self.at_retirement) * done
                }
            }
        };
        (base + self.risk_shift - self.funded_sensitivity * (funded - 1.0)).clamp(0.0, 1.0)
    }
}

/// The markets and the saver a glide path is tried on.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlideRequest {
    /// The path to evaluate.
    pub path: GlidePath,
    /// Compare with Vanguard's published path (true).
    pub compare_published: Option<bool>,
    pub years_to_retirement: u32,
    /// Years of withdrawals (30).
    pub retirement_years: Option<u32>,
    /// Wealth today.
    pub wealth: f64,
    /// Saved at each year's end until retirement, growing with `inflation`.
    #[serde(default)]
    pub contribution: f64,
    /// Withdrawn at each retirement year's start, in today's money grown by `inflation`.
    pub withdrawal: f64,
    /// Inflation a year (0.025).
    pub inflation: Option<f64>,
    /// Funded status for the path's adjustment (wealth against the goal; 1).
    pub funded_status: Option<f64>,
    /// Stocks' and bonds' expected annual returns (0.07, 0.04), volatilities (0.16, 0.06) and
    /// correlation (0.1).
    pub stock_return: Option<f64>,
    pub bond_return: Option<f64>,
    pub stock_volatility: Option<f64>,
    pub bond_volatility: Option<f64>,
    pub correlation: Option<f64>,
    /// Paths (10,000; at most 200,000) and seed (1).
    pub paths: Option<u32>,
    pub seed: Option<u64>,
}

/// One path's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Evaluation {
    pub name: String,
    /// The equity share each year from today (year 0) to the end.
    pub equity: Vec<f64>,
    pub success_probability: f64,
    /// Unpaid withdrawals in today's money, averaged over the failing paths (0 if none fail).
    pub mean_shortfall: f64,
    pub median_at_retirement: f64,
    pub p5_at_retirement: f64,
    pub median_at_end: f64,
    pub p5_at_end: f64,
}

/// The path evaluated, and the published one beside it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct GlideResult {
    pub evaluations: Vec<Evaluation>,
    pub source: &'static str,
}

const PUBLISHED: &str =
    "Vanguard, \"Vanguard's approach to target-date funds\" (2023): 90% stocks until 25 years before \
                         retirement, 50% at retirement, 30% seven years after";

/// Evaluates the request's path (and Vanguard's) on the same simulated markets.
pub fn evaluate(req: &GlideRequest) -> Result<GlideResult, SimError> {
    req.path.check("path")?;
    let get = |v: Option<f64>, default: f64| v.unwrap_or(default);
    let (mu_s, mu_b) = (get(req.stock_return, 0.07), get(req.bond_return, 0.04));
    let (sd_s, sd_b) = (get(req.stock_volatility, 0.16), get(req.bond_volatility, 0.06));
    let rho = get(req.correlation, 0.1);
    let inflation = get(req.inflation, 0.025);
    let funded = get(req.funded_status, 1.0);
    for (field, v, lo, hi) in [
        ("stock_return", mu_s, -0.5, 1.0),
        ("bond_return", mu_b, -0.5, 1.0),
        ("stock_volatility", sd_s, 0.0, 2.0),
        ("bond_volatility", sd_b, 0.0, 2.0),
        ("correlation", rho, -1.0, 1.0),
        ("inflation", inflation, -0.1, 0.5),
        ("funded_status", funded, 0.0, 10.0),
        ("wealth", req.wealth, 0.0, 1e13),
        ("contribution", req.contribution, 0.0, 1e12),
        ("withdrawal", req.withdrawal, 0.0, 1e12),
    ] {
        if !(lo..=hi).contains(&v) {
            return Err(invalid(field, format!("{v} is not {lo} to {hi}")));
        }
    }
    let retirement_years = req.retirement_years.unwrap_or(30);
    if req.years_to_retirement > 60 {
        return Err(invalid("years_to_retirement", format!("{} is not 0 to 60", req.years_to_retirement)));
    }
    if !(1..=60).contains(&retirement_years) {
        return Err(invalid("retirement_years", format!("{retirement_years} is not 1 to 60")));
    }
    let paths = req.paths.unwrap_or(10_000);
    if !(100..=200_000).contains(&paths) {
        return Err(invalid("paths", format!("{paths} is not 100 to 200,000")));
    }
    let seed = req.seed.unwrap_or(1);
    let total = req.years_to_retirement + retirement_years;
    // Log-normal annual gross returns with the given arithmetic means and volatilities.
    let lognormal = |mu: f64, sd: f64| {
        let s2 = (1.0 + (sd / (1.0 + mu)).powi(2)).ln();
        ((1.0 + mu).ln() - s2 / 2.0, s2.sqrt())
    };
    let ((ms, ss), (mb, sb)) = (lognormal(mu_s, sd_s), lognormal(mu_b, sd_b));
    let run = |name: &str, path: &GlidePath| -> Evaluation {
        let equity: Vec<f64> =
            (0..total).map(|y| path.equity_share(f64::from(req.years_to_retirement) - f64::from(y), funded)).collect();
        let results: Vec<(f64, f64, f64)> = (0..u64::from(paths))
            .into_par_iter()
            .map(|p| {
                let mut rng = crate::rng::path_rng(seed, p);
                let mut wealth = req.wealth;
                let (mut at_retirement, mut unpaid) = (wealth, 0.0);
                for (y, share) in equity.iter().enumerate() {
                    let y32 = y as i32;
                    let grown = (1.0 + inflation).powi(y32);
                    let retired = y as u32 >= req.years_to_retirement;
                    if y as u32 == req.years_to_retirement {
                        at_retirement = wealth;
                    }
                    if retired {
                        let due = req.withdrawal * grown;
                        let paid = due.min(wealth);
                        unpaid += (due - paid) / grown;
                        wealth -= paid;
                    }
                    let (z1, z2): (f64, f64) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
                    let zb = rho * z1 + (1.0 - rho * rho).max(0.0).sqrt() * z2;
                    let stock = (ms + ss * z1).exp();
                    let bond = (mb + sb * zb).exp();
                    wealth *= share * stock + (1.0 - share) * bond;
                    if !retired {
                        wealth += req.contribution * grown;
                    }
                }
                (at_retirement, wealth, unpaid)
            })
            .collect();
        let failing: Vec<f64> = results.iter().filter(|r| r.2 > 1e-9).map(|r| r.2).collect();
        let pct = |mut v: Vec<f64>, q: f64| {
            v.sort_by(f64::total_cmp);
            crate::stats::quantile(&v, q)
        };
        let at_ret: Vec<f64> = results.iter().map(|r| r.0).collect();
        let at_end: Vec<f64> = results.iter().map(|r| r.1).collect();
        Evaluation {
            name: name.to_owned(),
            equity,
            success_probability: 1.0 - failing.len() as f64 / f64::from(paths),
            mean_shortfall: if failing.is_empty() { 0.0 } else { failing.iter().sum::<f64>() / failing.len() as f64 },
            median_at_retirement: pct(at_ret.clone(), 0.5),
            p5_at_retirement: pct(at_ret, 0.05),
            median_at_end: pct(at_end.clone(), 0.5),
            p5_at_end: pct(at_end, 0.05),
        }
    };
    let mut evaluations = vec![run("requested", &req.path)];
    if req.compare_published.unwrap_or(true) {
        evaluations.push(run("vanguard_target_retirement", &GlidePath::VANGUARD));
    }
    Ok(GlideResult { evaluations, source: PUBLISHED })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: GlidePath) -> GlideRequest {
        GlideRequest {
            path,
            compare_published: None,
            years_to_retirement: 30,
            retirement_years: Some(30),
            wealth: 100_000.0,
            contribution: 20_000.0,
            withdrawal: 60_000.0,
            inflation: None,
            funded_status: None,
            stock_return: None,
            bond_return: None,
            stock_volatility: None,
            bond_volatility: None,
            correlation: None,
            paths: Some(2_000),
            seed: Some(7),
        }
    }

    #[test]
    fn vanguards_path_has_its_published_points() {
        let v = GlidePath::VANGUARD;
        for (years, share) in
            [(40.0, 0.9), (25.0, 0.9), (12.5, 0.7), (0.0, 0.5), (-3.5, 0.4), (-7.0, 0.3), (-20.0, 0.3)]
        {
            assert!((v.equity_share(years, 1.0) - share).abs() < 1e-12, "{years}: {}", v.equity_share(years, 1.0));
        }
        // "To" retirement stays at the retirement share; convex falls late, concave early.
        let to = GlidePath { floor: None, ..v };
        assert_eq!(to.equity_share(-10.0, 1.0), 0.5);
        let convex = GlidePath { shape: Shape::Convex, ..v };
        let concave = GlidePath { shape: Shape::Concave, ..v };
        assert!(convex.equity_share(12.5, 1.0) > 0.7 && concave.equity_share(12.5, 1.0) < 0.7);
        // Over-funded savers take less risk; the tolerance shift moves every year.
        let adjusted = GlidePath { funded_sensitivity: 0.5, risk_shift: 0.05, ..v };
        assert!((adjusted.equity_share(0.0, 1.2) - (0.5 + 0.05 - 0.1)).abs() < 1e-12);
    }

    #[test]
    fn evaluation_is_reproducible_and_compares_the_published_path() {
        let path = GlidePath { start: 0.6, decline_years: 20.0, at_retirement: 0.3, ..GlidePath::VANGUARD };
        let a = evaluate(&request(path)).unwrap();
        let b = evaluate(&request(path)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.evaluations.len(), 2);
        assert_eq!(a.evaluations[1].equity[0], 0.9);
        for e in &a.evaluations {
            assert!((0.0..=1.0).contains(&e.success_probability));
            assert!(e.p5_at_retirement <= e.median_at_retirement);
        }
        // Without volatility the outcome is certain: all succeed or all fail.
        let mut sure = request(path);
        (sure.stock_volatility, sure.bond_volatility) = (Some(0.0), Some(0.0));
        let s = evaluate(&sure).unwrap();
        assert!(s.evaluations.iter().all(|e| e.success_probability == 0.0 || e.success_probability == 1.0));
        sure.paths = Some(5);
        assert!(evaluate(&sure).unwrap_err().to_string().starts_with("paths"));
    }
}
