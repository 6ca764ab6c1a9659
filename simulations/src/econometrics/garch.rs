//! GARCH(1,1) with zero mean by maximum likelihood, normal or Student-t errors: exactly the
//! model `arch_model(r, mean="Zero", vol="GARCH", p=1, q=1, dist="normal"|"t")` of the
//! `arch` package fits, with its backcast, variance bounds, parameter bounds and constraints.
//!
//! σ²ₜ = ω + α·r²ₜ₋₁ + β·σ²ₜ₋₁, with r²₋₁ and σ²₋₁ both the backcast (the mean of the first
//! min(75, n) squared returns weighted 0.94ⁱ) and each σ²ₜ kept within `arch`'s bounds.
//! Constraints: ω in [1e-8·v, 10·v] (v the mean square), α, β ≥ 0, α + β ≤ 1, ν in
//! [2.05, 500]. The returns are divided by their root mean square before fitting (so every
//! series is fitted on the same scale) and the results put back on the scale given.
//!
//! The optimizer is Newton's method with the exact gradient and Hessian of the
//! log-likelihood (recursions for the derivatives of σ²ₜ), the Hessian made positive
//! definite where it is not, each step the solution of the quadratic model under the
//! constraints (an exhaustive active-set search over the sets of linearly independent
//! constraints: at most four parameters), and a backtracking line search. It starts from
//! the best few of `arch`'s sixteen starting values and keeps the highest likelihood. A fit
//! is reported converged when the first-order (KKT) conditions hold at the point returned:
//! the projected gradient is zero on the free parameters and points out of the feasible set
//! on the active constraints, to [`KKT_TOL`] in log-likelihood units.

#![allow(clippy::needless_range_loop)] // index loops over small matrices read as the formulas

use nalgebra::{DMatrix, DVector, Matrix4, SymmetricEigen};
use serde::{Deserialize, Serialize};
use statrs::function::gamma::{digamma, ln_gamma};

use crate::{invalid, SimError};

/// The distribution of the standardized errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dist {
    /// Standard normal.
    #[serde(rename = "normal")]
    Normal,
    /// Student's t with ν degrees of freedom, scaled to unit variance.
    #[serde(rename = "t")]
    StudentT,
}

/// A GARCH request: daily returns (as fractions or percent; the scale is kept) and the
/// error distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct GarchRequest {
    pub returns: Vec<f64>,
    pub dist: Dist,
}

/// Variance forecasts of the return over the next 1, 5 and 20 days (sums of the daily
/// variance forecasts, in the returns' units squared) and the annualized volatility: the
/// square root of the variance of the return over the next 252 days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    #[serde(rename = "1")]
    pub day1: f64,
    #[serde(rename = "5")]
    pub day5: f64,
    #[serde(rename = "20")]
    pub day20: f64,
    pub annualized: f64,
}

/// A fitted GARCH(1,1): parameters on the scale of the returns given (ω in their units
/// squared), ν for Student-t errors only, the log-likelihood of the returns given, whether
/// the parameters meet the first-order optimality (KKT) test, and the forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GarchResult {
    pub omega: f64,
    pub alpha: f64,
    pub beta: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nu: Option<f64>,
    pub loglik: f64,
    pub converged: bool,
    pub forecast: Forecast,
}

/// The convergence test: the increase of the log-likelihood that the projected-gradient
/// step (in the metric of the Hessian's diagonal) predicts must be at most this. It holds
/// exactly at a KKT point: gradient zero on the free parameters, multipliers of the active
/// constraints non-negative.
pub const KKT_TOL: f64 = 1e-9;

/// Fewest returns accepted.
pub const MIN_RETURNS: usize = 10;
/// Trading days in a year, for the annualized volatility.
pub const DAYS_PER_YEAR: usize = 252;

/// Runs the request.
pub fn garch(req: &GarchRequest) -> Result<GarchResult, SimError> {
    fit(&req.returns, req.dist)
}

/// Fits the zero-mean GARCH(1,1) to `returns` (oldest first) by maximum likelihood.
pub fn fit(returns: &[f64], dist: Dist) -> Result<GarchResult, SimError> {
    if returns.len() < MIN_RETURNS {
        return Err(invalid("returns", format!("needs at least {MIN_RETURNS} returns")));
    }
    if returns.iter().any(|r| !r.is_finite()) {
        return Err(invalid("returns", "must hold finite numbers only"));
    }
    let n = returns.len() as f64;
    let scale = (returns.iter().map(|r| r * r).sum::<f64>() / n).sqrt();
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(invalid("returns", "are all zero"));
    }
    let y: Vec<f64> = returns.iter().map(|r| r / scale).collect();
    let model = Model::new(&y, dist);
    let (theta, neg_llf, converged) = model.estimate();
    let s2 = scale * scale;
    let (omega, alpha, beta) = (theta[0] * s2, theta[1], theta[2]);
    // One-step forecast from the last return and variance, then ω + (α + β)·previous.
    let last_var = model.last_variance(&theta) * s2;
    let last = returns[returns.len() - 1];
    let mut f = omega + alpha * last * last + beta * last_var;
    let mut sums = [0.0; DAYS_PER_YEAR + 1];
    for h in 1..=DAYS_PER_YEAR {
        sums[h] = sums[h - 1] + f;
        f = omega + (alpha + beta) * f;
    }
    Ok(GarchResult {
        omega,
        alpha,
        beta,
        nu: (dist == Dist::StudentT).then_some(theta[3]),
        loglik: -neg_llf - n * scale.ln(),
        converged,
        forecast: Forecast { day1: sums[1], day5: sums[5], day20: sums[20], annualized: sums[DAYS_PER_YEAR].sqrt() },
    })
}

/// A linear inequality aᵀθ ≤ b.
#[derive(Debug, Clone, Copy)]
struct Constraint {
    a: [f64; 4],
    b: f64,
    /// The parameter a simple bound applies to (two bounds on one parameter are never both
    /// active).
    var: Option<usize>,
}

/// The likelihood on the rescaled returns.
struct Model<'a> {
    y: &'a [f64],
    y2: Vec<f64>,
    dist: Dist,
    k: usize,
    backcast: f64,
    lower: Vec<f64>,
    upper: Vec<f64>,
    constraints: Vec<Constraint>,
}

/// Value, gradient and Hessian of the negative log-likelihood.
struct Local {
    f: f64,
    g: [f64; 4],
    h: [[f64; 4]; 4],
}

impl<'a> Model<'a> {
    fn new(y: &'a [f64], dist: Dist) -> Self {
        let n = y.len();
        let y2: Vec<f64> = y.iter().map(|v| v * v).collect();
        // arch's backcast: weights 0.94^i over the first min(75, n) squares, normalized.
        let tau = n.min(75);
        let mut w = 1.0;
        let (mut num, mut den) = (0.0, 0.0);
        for &sq in &y2[..tau] {
            num += w * sq;
            den += w;
            w *= 0.94;
        }
        let backcast = num / den;
        // arch's variance_bounds: an EWMA(0.94) path started at the backcast, ×1e-6 and ×1e6,
        // floored at var/1e8 and kept within [1 + max r², 1e7·(1 + max r²)] above.
        let mean = y.iter().sum::<f64>() / n as f64;
        let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        let max2 = y2.iter().fold(0.0f64, |m, &v| m.max(v));
        let (min_upper, cap) = (1.0 + max2, 1e7 * (1.0 + max2));
        let mut lower = Vec::with_capacity(n);
        let mut upper = Vec::with_capacity(n);
        let mut s = 0.06 * backcast + 0.94 * backcast;
        for t in 0..n {
            if t > 0 {
                s = 0.06 * y2[t - 1] + 0.94 * s;
            }
            lower.push((s / 1e6).max(var / 1e8));
            let mut u = s * 1e6;
            if u < min_upper {
                u = min_upper;
            }
            if u > cap {
                u = cap;
            }
            upper.push(u);
        }
        let v = y2.iter().sum::<f64>() / n as f64;
        let k = if dist == Dist::StudentT { 4 } else { 3 };
        let e = |i: usize| {
            let mut a = [0.0; 4];
            a[i] = 1.0;
            a
        };
        let neg = |i: usize| {
            let mut a = [0.0; 4];
            a[i] = -1.0;
            a
        };
        let mut bounds = vec![(1e-8 * v, 10.0 * v), (0.0, 1.0), (0.0, 1.0)];
        if k == 4 {
            bounds.push((2.05, 500.0));
        }
        let mut constraints = Vec::new();
        for (i, &(lo, hi)) in bounds.iter().enumerate() {
            constraints.push(Constraint { a: neg(i), b: -lo, var: Some(i) });
            constraints.push(Constraint { a: e(i), b: hi, var: Some(i) });
        }
        constraints.push(Constraint { a: [0.0, 1.0, 1.0, 0.0], b: 1.0, var: None });
        Model { y, y2, dist, k, backcast, lower, upper, constraints }
    }

    /// arch's bounds check of one variance.
    fn bound(&self, t: usize, s: f64) -> f64 {
        if s < self.lower[t] {
            self.lower[t]
        } else if s > self.upper[t] {
            if s.is_finite() {
                self.upper[t] + (s / self.upper[t]).ln()
            } else {
                self.upper[t] + 1000.0
            }
        } else {
            s
        }
    }

    fn last_variance(&self, th: &[f64; 4]) -> f64 {
        let mut s = th[0] + (th[1] + th[2]) * self.backcast;
        s = self.bound(0, s);
        for t in 1..self.y.len() {
            s = self.bound(t, th[0] + th[1] * self.y2[t - 1] + th[2] * s);
        }
        s
    }

    fn t_constant(nu: f64) -> f64 {
        ln_gamma((nu + 1.0) / 2.0) - ln_gamma(nu / 2.0) - 0.5 * (std::f64::consts::PI * (nu - 2.0)).ln()
    }

    /// The negative log-likelihood.
    fn value(&self, th: &[f64; 4]) -> f64 {
        self.value_under(th, self.dist)
    }

    /// The negative log-likelihood under `dist`.
    fn value_under(&self, th: &[f64; 4], dist: Dist) -> f64 {
        let (omega, alpha, beta) = (th[0], th[1], th[2]);
        let mut s = self.bound(0, omega + (alpha + beta) * self.backcast);
        let mut llf = 0.0;
        match dist {
            Dist::Normal => {
                for t in 0..self.y.len() {
                    if t > 0 {
                        s = self.bound(t, omega + alpha * self.y2[t - 1] + beta * s);
                    }
                    llf += s.ln() + self.y2[t] / s;
                }
                llf = -0.5 * (self.y.len() as f64 * (2.0 * std::f64::consts::PI).ln() + llf);
            }
            Dist::StudentT => {
                let nu = th[3];
                let c = 1.0 / (nu - 2.0);
                let mut acc_ln = 0.0;
                let mut acc_u = 0.0;
                for t in 0..self.y.len() {
                    if t > 0 {
                        s = self.bound(t, omega + alpha * self.y2[t - 1] + beta * s);
                    }
                    acc_ln += s.ln();
                    acc_u += (self.y2[t] / s * c).ln_1p();
                }
                llf = self.y.len() as f64 * Self::t_constant(nu) - 0.5 * acc_ln - 0.5 * (nu + 1.0) * acc_u;
            }
        }
        if llf.is_finite() {
            -llf
        } else {
            f64::INFINITY
        }
    }

    /// The negative log-likelihood with its gradient and Hessian.
    fn local(&self, th: &[f64; 4]) -> Local {
        let (omega, alpha, beta) = (th[0], th[1], th[2]);
        let student = self.dist == Dist::StudentT;
        let nu = if student { th[3] } else { 0.0 };
        let c = if student { 1.0 / (nu - 2.0) } else { 0.0 };
        let mut llf = 0.0;
        let mut g = [0.0; 4];
        let mut h = [[0.0; 4]; 4];
        // σ² and its derivatives: d = ∂σ²/∂(ω, α, β); the only non-zero second derivatives
        // are those with β: hwb = ∂²σ²/∂ω∂β, hab = ∂²σ²/∂α∂β, hbb = ∂²σ²/∂β².
        let mut s = omega + (alpha + beta) * self.backcast;
        let mut d = [1.0, self.backcast, self.backcast];
        let (mut hwb, mut hab, mut hbb) = (0.0, 0.0, 0.0);
        let (mut sum_nu1, mut sum_nu2) = (0.0, 0.0);
        for t in 0..self.y.len() {
            if t > 0 {
                let (pd, ps) = (d, s);
                s = omega + alpha * self.y2[t - 1] + beta * ps;
                d = [1.0 + beta * pd[0], self.y2[t - 1] + beta * pd[1], ps + beta * pd[2]];
                hwb = beta * hwb + pd[0];
                hab = beta * hab + pd[1];
                hbb = beta * hbb + 2.0 * pd[2];
            }
            if s < self.lower[t] {
                s = self.lower[t];
                d = [0.0; 3];
                (hwb, hab, hbb) = (0.0, 0.0, 0.0);
            } else if s > self.upper[t] {
                let u = self.upper[t];
                let inv = 1.0 / s;
                hwb = hwb * inv - d[0] * d[2] * inv * inv;
                hab = hab * inv - d[1] * d[2] * inv * inv;
                hbb = hbb * inv - d[2] * d[2] * inv * inv;
                d = d.map(|v| v * inv);
                s = if s.is_finite() { u + (s / u).ln() } else { u + 1000.0 };
            }
            let e2 = self.y2[t];
            // a1 = ∂l/∂σ², a2 = ∂²l/∂(σ²)²; for t also the ν terms.
            let (a1, a2);
            if student {
                let uu = e2 / s * c;
                let w = uu / (1.0 + uu);
                let w2 = uu / ((1.0 + uu) * (1.0 + uu));
                let lnu = uu.ln_1p();
                llf += -0.5 * s.ln() - 0.5 * (nu + 1.0) * lnu;
                a1 = (-0.5 + 0.5 * (nu + 1.0) * w) / s;
                a2 = (0.5 - 0.5 * (nu + 1.0) * (w + w2)) / (s * s);
                sum_nu1 += -0.5 * lnu + 0.5 * (nu + 1.0) * w * c;
                sum_nu2 += w * c - 0.5 * (nu + 1.0) * c * c * (w + w2);
                let cross = (0.5 * w - 0.5 * (nu + 1.0) * c * w2) / s;
                for i in 0..3 {
                    h[i][3] += cross * d[i];
                }
            } else {
                llf += -0.5 * (s.ln() + e2 / s);
                a1 = -0.5 * (1.0 / s - e2 / (s * s));
                a2 = 0.5 / (s * s) - e2 / (s * s * s);
            }
            for i in 0..3 {
                g[i] += a1 * d[i];
                for j in i..3 {
                    h[i][j] += a2 * d[i] * d[j];
                }
            }
            h[0][2] += a1 * hwb;
            h[1][2] += a1 * hab;
            h[2][2] += a1 * hbb;
        }
        let n = self.y.len() as f64;
        if student {
            llf += n * Self::t_constant(nu);
            let c1 = 0.5 * digamma((nu + 1.0) / 2.0) - 0.5 * digamma(nu / 2.0) - 0.5 * c;
            let c2 = 0.25 * trigamma((nu + 1.0) / 2.0) - 0.25 * trigamma(nu / 2.0) + 0.5 * c * c;
            g[3] = n * c1 + sum_nu1;
            h[3][3] = n * c2 + sum_nu2;
        } else {
            llf -= 0.5 * n * (2.0 * std::f64::consts::PI).ln();
        }
        // Negate (we minimize) and fill the lower triangle.
        let mut out = Local { f: -llf, g: g.map(|v| -v), h: [[0.0; 4]; 4] };
        for i in 0..4 {
            for j in i..4 {
                out.h[i][j] = -h[i][j];
                out.h[j][i] = -h[i][j];
            }
        }
        if !out.f.is_finite() {
            out.f = f64::INFINITY;
        }
        out
    }

    /// Starting values: arch's grid (α in {0.01, 0.05, 0.1, 0.2}, α + β in {0.5, 0.7, 0.9,
    /// 0.98}, ω = (1 − α − β)·mean square) ranked by the normal likelihood, with ν from
    /// the kurtosis of the standardized returns at the best one (as arch does).
    fn starting_values(&self) -> Vec<[f64; 4]> {
        let target = self.y2.iter().sum::<f64>() / self.y.len() as f64;
        let mut grid: Vec<(f64, [f64; 4])> = Vec::with_capacity(16);
        for alpha in [0.01, 0.05, 0.1, 0.2] {
            for persistence in [0.5, 0.7, 0.9, 0.98] {
                let th = [(1.0 - persistence) * target, alpha, persistence - alpha, 0.0];
                grid.push((self.value_under(&th, Dist::Normal), th));
            }
        }
        grid.sort_by(|a, b| a.0.total_cmp(&b.0));
        let nu = if self.dist == Dist::StudentT { self.nu_start(&grid[0].1) } else { 0.0 };
        grid.into_iter()
            .map(|(_, mut th)| {
                th[3] = nu;
                th
            })
            .collect()
    }

    fn nu_start(&self, th: &[f64; 4]) -> f64 {
        let mut s = self.bound(0, th[0] + (th[1] + th[2]) * self.backcast);
        let (mut m2, mut m4, mut m1) = (0.0, 0.0, 0.0);
        let z: Vec<f64> = (0..self.y.len())
            .map(|t| {
                if t > 0 {
                    s = self.bound(t, th[0] + th[1] * self.y2[t - 1] + th[2] * s);
                }
                self.y[t] / s.sqrt()
            })
            .collect();
        let n = z.len() as f64;
        for v in &z {
            m1 += v;
        }
        m1 /= n;
        for v in &z {
            let c = (v - m1) * (v - m1);
            m2 += c;
            m4 += c * c;
        }
        let kurt = (m4 / n) / ((m2 / n) * (m2 / n));
        let sv = if kurt > 3.75 { (4.0 * kurt - 6.0) / (kurt - 3.0) } else { 12.0 };
        sv.max(4.0)
    }

    /// Newton from the best three starting values (for t errors also from the best with ν
    /// at 2.5 and at 100, and near α + β = 1 with ν at 2.2, where the likelihood can have
    /// other local maxima); the lowest
    /// negative log-likelihood wins.
    fn estimate(&self) -> ([f64; 4], f64, bool) {
        let mut starts: Vec<[f64; 4]> = self.starting_values().into_iter().take(3).collect();
        if self.dist == Dist::StudentT {
            for nu in [2.5, 100.0] {
                let mut th = starts[0];
                th[3] = nu;
                starts.push(th);
            }
            // Near-integrated with very fat tails: a corner (α → 0, β → 1) can win.
            starts.push([0.01 * starts[0][0] / (1.0 - starts[0][1] - starts[0][2]), 0.001, 0.998, 2.2]);
        }
        let mut best: Option<([f64; 4], f64, bool)> = None;
        for start in starts {
            let run = self.newton(start);
            if best.as_ref().is_none_or(|b| run.1 < b.1) {
                best = Some(run);
            }
        }
        best.expect("at least three starting values")
    }

    /// Newton from `start`: the point reached, its negative log-likelihood and whether it
    /// meets the KKT test ([`KKT_TOL`]). The iteration stops when the predicted decrease is
    /// negligible, when a full step changes nothing, or when the line search finds no
    /// decrease; whatever the reason, `converged` is decided at the point returned.
    fn newton(&self, mut th: [f64; 4]) -> ([f64; 4], f64, bool) {
        const MAX_ITER: usize = 200;
        let k = self.k;
        // The derivatives at θ, while θ has not moved since they were computed.
        let mut at_th: Option<Local> = None;
        for _ in 0..MAX_ITER {
            let local = self.local(&th);
            let f = local.f;
            let h = positive_definite(&local.h, k);
            let step = self.qp_step(&th, &local.g, &h);
            at_th = Some(local);
            let Some(step) = step else { break };
            let g = &at_th.as_ref().expect("just set").g;
            let slope: f64 = (0..k).map(|i| g[i] * step[i]).sum();
            // A step that is not a descent direction (possible only through rounding, the
            // quadratic model being convex) or that predicts a negligible decrease ends the
            // iteration.
            if slope.is_nan() || -slope <= 1e-14 * (1.0 + f.abs()) {
                break;
            }
            // Backtracking (Armijo) along the feasible step; the trial point must move.
            let mut t = 1.0;
            let mut accepted = None;
            for _ in 0..60 {
                let mut cand = th;
                for i in 0..k {
                    cand[i] = th[i] + t * step[i];
                }
                self.snap(&mut cand);
                if cand == th {
                    break;
                }
                let fc = self.value(&cand);
                if fc <= f + 1e-4 * t * slope {
                    accepted = Some((cand, fc));
                    break;
                }
                t *= 0.5;
            }
            let Some((cand, fc)) = accepted else { break };
            th = cand;
            at_th = None;
            if (f - fc).abs() <= 1e-15 * f.abs() && t == 1.0 {
                break;
            }
        }
        let local = at_th.unwrap_or_else(|| self.local(&th));
        let converged = self.kkt_gain(&th, &local.g, &local.h) <= KKT_TOL;
        (th, self.value(&th), converged)
    }

    /// The first-order optimality (KKT) measure at θ with gradient `g` and Hessian `h`:
    /// the projected-gradient step in the metric of the Hessian's diagonal (the minimizer of
    /// gᵀd + ½Σ|hᵢᵢ|dᵢ² with θ + d feasible) and the decrease of the negative
    /// log-likelihood it predicts, ½Σ gᵢ²/|hᵢᵢ| over the free parameters. It is zero exactly
    /// when the gradient vanishes on the free parameters and points out of the feasible set
    /// on the active constraints (non-negative multipliers), and in log-likelihood units
    /// whatever the scale of the parameters.
    fn kkt_gain(&self, th: &[f64; 4], g: &[f64; 4], h: &[[f64; 4]; 4]) -> f64 {
        let k = self.k;
        let top = (0..k).fold(0.0f64, |a, i| a.max(h[i][i].abs()));
        if !(top > 0.0 && top.is_finite()) || g.iter().take(k).any(|v| !v.is_finite()) {
            return f64::INFINITY;
        }
        let mut metric = Matrix4::<f64>::identity();
        for i in 0..k {
            metric[(i, i)] = h[i][i].abs().max(1e-12 * top);
        }
        match self.qp_step(th, g, &metric) {
            Some(d) => -(0..k).map(|i| g[i] * d[i] + 0.5 * metric[(i, i)] * d[i] * d[i]).sum::<f64>(),
            None => f64::INFINITY,
        }
    }

    /// Puts a trial point back inside the constraints after rounding.
    fn snap(&self, th: &mut [f64; 4]) {
        for c in &self.constraints {
            if let Some(i) = c.var {
                if c.a[i] > 0.0 {
                    th[i] = th[i].min(c.b);
                } else {
                    th[i] = th[i].max(-c.b);
                }
            }
        }
        if th[1] + th[2] > 1.0 {
            th[2] = 1.0 - th[1];
        }
    }

    /// The step minimizing gᵀd + ½dᵀHd subject to the constraints at θ + d: the exhaustive
    /// active-set search over the sets of at most k constraints (H positive definite, so
    /// the set whose solution is feasible with non-negative multipliers is the optimum).
    fn qp_step(&self, th: &[f64; 4], g: &[f64; 4], h: &Matrix4<f64>) -> Option<[f64; 4]> {
        let k = self.k;
        let m = self.constraints.len();
        let mut masks: Vec<u32> = (0..1u32 << m)
            .filter(|&mask| {
                if mask.count_ones() as usize > k {
                    return false;
                }
                let mut seen = [false; 4];
                let mut coupled = false;
                for (j, c) in self.constraints.iter().enumerate() {
                    if mask & (1 << j) != 0 {
                        match c.var {
                            Some(i) if seen[i] => return false,
                            Some(i) => seen[i] = true,
                            None => coupled = true,
                        }
                    }
                }
                // α + β ≤ 1 with bounds on both α and β active: the three normals are
                // linearly dependent (α = 0, β = 1 implies α + β = 1) or the set is
                // infeasible, and the singular system has no meaningful solution.
                !(coupled && seen[1] && seen[2])
            })
            .collect();
        // Try the currently binding constraints first, then by size.
        let binding: u32 = self
            .constraints
            .iter()
            .enumerate()
            .filter(|(_, c)| (0..4).map(|i| c.a[i] * th[i]).sum::<f64>() >= c.b - 1e-12 * (1.0 + c.b.abs()))
            .fold(0, |acc, (j, _)| acc | (1 << j));
        masks.sort_by_key(|&mask| ((mask & !binding).count_ones() + (binding & !mask).count_ones(), mask.count_ones()));
        let scale_g = g.iter().take(k).fold(1.0f64, |a, v| a.max(v.abs()));
        for mask in masks {
            let active: Vec<&Constraint> =
                self.constraints.iter().enumerate().filter(|(j, _)| mask & (1 << j) != 0).map(|(_, c)| c).collect();
            let na = active.len();
            let dim = k + na;
            let mut kkt = DMatrix::<f64>::zeros(dim, dim);
            let mut rhs = DVector::<f64>::zeros(dim);
            for i in 0..k {
                for j in 0..k {
                    kkt[(i, j)] = h[(i, j)];
                }
                rhs[i] = -g[i];
            }
            for (r, c) in active.iter().enumerate() {
                for i in 0..k {
                    kkt[(k + r, i)] = c.a[i];
                    kkt[(i, k + r)] = c.a[i];
                }
                rhs[k + r] = c.b - (0..k).map(|i| c.a[i] * th[i]).sum::<f64>();
            }
            let Some(sol) = kkt.lu().solve(&rhs) else { continue };
            if (0..na).any(|r| sol[k + r] < -1e-9 * scale_g) {
                continue;
            }
            let mut d = [0.0; 4];
            d[..k].copy_from_slice(&sol.as_slice()[..k]);
            if d.iter().any(|v| !v.is_finite()) {
                continue;
            }
            // Every constraint is checked at θ + d, the active ones too: a nearly singular
            // system can return a solution that does not satisfy its own equalities.
            let ok = self
                .constraints
                .iter()
                .all(|c| (0..k).map(|i| c.a[i] * (th[i] + d[i])).sum::<f64>() <= c.b + 1e-12 * (1.0 + c.b.abs()));
            if ok {
                return Some(d);
            }
        }
        None
    }
}

/// `h` (k×k block) made positive definite: scaled to unit diagonal, eigenvalues replaced by
/// their absolute values floored at 1e-8 of the largest, scaled back.
fn positive_definite(h: &[[f64; 4]; 4], k: usize) -> Matrix4<f64> {
    let mut scale = [1.0; 4];
    for i in 0..k {
        let d = h[i][i].abs();
        scale[i] = if d > 0.0 && d.is_finite() { 1.0 / d.sqrt() } else { 1.0 };
    }
    let mut m = Matrix4::<f64>::identity();
    for i in 0..k {
        for j in 0..k {
            m[(i, j)] = h[i][j] * scale[i] * scale[j];
        }
    }
    let eig = SymmetricEigen::new(m);
    let top = eig.eigenvalues.iter().take(4).fold(0.0f64, |a, v| a.max(v.abs())).max(1e-300);
    let vals = eig.eigenvalues.map(|v| v.abs().max(1e-8 * top));
    let mut out = eig.eigenvectors * Matrix4::from_diagonal(&vals) * eig.eigenvectors.transpose();
    for i in 0..4 {
        for j in 0..4 {
            out[(i, j)] /= scale[i] * scale[j];
        }
    }
    out
}

/// The trigamma function ψ′(x) for x > 0: the recurrence up to x ≥ 10, then the asymptotic
/// series (error below 1e-12).
pub fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 10.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    acc + inv + 0.5 * inv2 + inv * inv2 * (1.0 / 6.0 - inv2 * (1.0 / 30.0 - inv2 * (1.0 / 42.0 - inv2 / 30.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, StandardNormal};

    fn simulated(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let (omega, alpha, beta) = (2e-6, 0.08, 0.9);
        let mut s: f64 = omega / (1.0 - alpha - beta);
        (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                let z = z * if rng.gen::<f64>() < 0.05 { 2.0 } else { 1.0 };
                let r = s.sqrt() * z;
                s = omega + alpha * r * r + beta * s;
                r
            })
            .collect()
    }

    #[test]
    fn analytic_gradient_and_hessian_match_finite_differences() {
        let r = simulated(400, 3);
        let scale = (r.iter().map(|v| v * v).sum::<f64>() / 400.0).sqrt();
        let y: Vec<f64> = r.iter().map(|v| v / scale).collect();
        for dist in [Dist::Normal, Dist::StudentT] {
            let m = Model::new(&y, dist);
            let th = [0.05, 0.1, 0.85, 6.0];
            let l = m.local(&th);
            assert!((l.f - m.value(&th)).abs() < 1e-9 * l.f.abs());
            for i in 0..m.k {
                let hstep = 1e-6 * th[i].abs().max(1e-2);
                let (mut up, mut dn) = (th, th);
                up[i] += hstep;
                dn[i] -= hstep;
                let fd = (m.value(&up) - m.value(&dn)) / (2.0 * hstep);
                assert!((fd - l.g[i]).abs() < 1e-5 * (1.0 + fd.abs()), "{dist:?} g[{i}]: {fd} vs {}", l.g[i]);
                let (lu, ld) = (m.local(&up), m.local(&dn));
                for j in 0..m.k {
                    let fd = (lu.g[j] - ld.g[j]) / (2.0 * hstep);
                    assert!(
                        (fd - l.h[i][j]).abs() < 1e-4 * (1.0 + fd.abs()),
                        "{dist:?} h[{i}][{j}]: {fd} vs {}",
                        l.h[i][j]
                    );
                }
            }
        }
    }

    #[test]
    fn trigamma_matches_known_values() {
        assert!((trigamma(1.0) - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-12);
        assert!((trigamma(0.5) - std::f64::consts::PI.powi(2) / 2.0).abs() < 1e-12);
        assert!((trigamma(150.0) - 0.006_688_938_271_165_996).abs() < 1e-13);
    }

    #[test]
    fn fit_recovers_the_simulating_parameters_and_rejects_bad_input() {
        let r = simulated(3000, 9);
        let fit = fit(&r, Dist::Normal).unwrap();
        assert!(fit.converged);
        assert!((fit.alpha - 0.08).abs() < 0.03 && (fit.beta - 0.9).abs() < 0.04, "{fit:?}");
        assert!(fit.nu.is_none());
        assert!(fit.forecast.day1 < fit.forecast.day5 && fit.forecast.day5 < fit.forecast.day20);
        let t = super::fit(&r, Dist::StudentT).unwrap();
        assert!(t.nu.unwrap() > 2.05 && t.loglik >= fit.loglik - 1e-6, "{t:?}");
        assert_eq!(super::fit(&[0.01; 5], Dist::Normal).unwrap_err().to_string(), "returns: needs at least 10 returns");
        assert_eq!(super::fit(&[0.0; 20], Dist::Normal).unwrap_err().to_string(), "returns: are all zero");
    }

    /// A series of the reference fixtures (oldest first).
    fn fixture_series(file: &str, index: usize) -> Vec<f64> {
        let path = format!("{}/tests/fixtures/econometrics/{file}", env!("CARGO_MANIFEST_DIR"));
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        v["cases"][index]["returns"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    }

    fn rescaled(r: &[f64]) -> Vec<f64> {
        let scale = (r.iter().map(|v| v * v).sum::<f64>() / r.len() as f64).sqrt();
        r.iter().map(|v| v / scale).collect()
    }

    /// The first-order optimality conditions checked directly, independently of `kkt_gain`:
    /// along every feasible edge direction of the constraint set at θ (±eᵢ, and ±(e_α − e_β)
    /// for the α + β ≤ 1 face, which generate the tangent cone), the negative log-likelihood
    /// must not decrease at first order by more than `tol` in the metric of the Hessian's
    /// diagonal. This is "projected gradient zero on the free parameters, gradient pointing
    /// out of the feasible set on the active bounds". Returns the worst violation.
    fn kkt_violation(m: &Model, th: &[f64; 4]) -> f64 {
        let l = m.local(th);
        let k = m.k;
        let mut dirs: Vec<[f64; 4]> = Vec::new();
        for i in 0..k {
            for sign in [1.0, -1.0] {
                let mut d = [0.0; 4];
                d[i] = sign;
                dirs.push(d);
            }
        }
        dirs.push([0.0, 1.0, -1.0, 0.0]);
        dirs.push([0.0, -1.0, 1.0, 0.0]);
        let mut worst = 0.0f64;
        for d in dirs {
            let feasible = m.constraints.iter().all(|c| {
                let active = (0..k).map(|i| c.a[i] * th[i]).sum::<f64>() >= c.b - 1e-10 * (1.0 + c.b.abs());
                !active || (0..k).map(|i| c.a[i] * d[i]).sum::<f64>() <= 0.0
            });
            if !feasible {
                continue;
            }
            let slope: f64 = (0..k).map(|i| l.g[i] * d[i]).sum();
            let norm: f64 = (0..k).map(|i| l.h[i][i].abs() * d[i] * d[i]).sum::<f64>().sqrt();
            worst = worst.max(-slope / norm);
        }
        worst
    }

    #[test]
    fn converged_means_the_kkt_conditions_hold() {
        let mut series: Vec<(String, Vec<f64>)> = vec![
            // arch's optimum is the corner α = 0, β = 1, ν ≈ 2.07 (active bounds, degenerate).
            ("regime-switching, 612 returns".into(), fixture_series("garch_b.json", 17)),
            // ν ≈ 305: the likelihood is nearly flat in ν.
            ("535 returns, nu near 305".into(), fixture_series("garch_a.json", 7)),
            ("regime-switching, 658 returns".into(), fixture_series("garch_a.json", 5)),
        ];
        for seed in [1, 2, 5] {
            series.push((format!("simulated seed {seed}"), simulated(1500, seed)));
        }
        for (label, r) in &series {
            let y = rescaled(r);
            for dist in [Dist::Normal, Dist::StudentT] {
                let m = Model::new(&y, dist);
                let (th, f, converged) = m.estimate();
                assert!(converged, "{label} {dist:?}: not converged at {th:?}");
                let l = m.local(&th);
                assert!(m.kkt_gain(&th, &l.g, &l.h) <= KKT_TOL, "{label} {dist:?}");
                let v = kkt_violation(&m, &th);
                assert!(v <= 1e-4, "{label} {dist:?}: KKT violated by {v:e} at {th:?}, gradient {:?}", l.g);
                assert!((f - m.value(&th)).abs() <= 1e-9 * f.abs());
            }
        }
    }

    /// The start that used to stop at a non-optimal point reported as converged: an active
    /// set with linearly dependent constraints (α = 0, β = 1 and α + β = 1) gave an
    /// infeasible, uphill step. It must now reach arch's corner optimum.
    #[test]
    fn the_corner_start_reaches_the_corner_optimum() {
        let r = fixture_series("garch_b.json", 17);
        let y = rescaled(&r);
        let m = Model::new(&y, Dist::StudentT);
        for start in [[0.010_000_000_000_000_01, 0.001, 0.998, 2.2], [0.01, 0.001, 0.998, 2.2]] {
            let (th, f, converged) = m.newton(start);
            assert!(converged && kkt_violation(&m, &th) <= 1e-4, "{start:?} -> {th:?}");
            assert!(th[1] < 1e-12 && th[2] > 1.0 - 1e-12 && (th[3] - 2.0731).abs() < 1e-3, "{th:?}");
            assert!(f < 728.2878, "{f}");
        }
        // arch's log-likelihood on the returns given, from the fixture.
        let fit = fit(&r, Dist::StudentT).unwrap();
        assert!(fit.converged && fit.loglik >= 1_943.259_430_781_912 - 1e-6, "{fit:?}");
    }

    /// An active set whose constraint normals are linearly dependent (α = 0, β = 1 and
    /// α + β = 1) is never used: from the point where the old search took such a set's
    /// solution (α = −0.6 after the step, uphill, then reported converged) the step is
    /// feasible for every constraint and downhill.
    #[test]
    fn the_step_near_the_degenerate_corner_is_feasible_and_downhill() {
        let y = rescaled(&fixture_series("garch_b.json", 17));
        let m = Model::new(&y, Dist::StudentT);
        let th = [0.007_723_860_175_542_39, 0.000_500_000_000_000_028, 0.999, 2.134_164_441_152_140_3];
        let l = m.local(&th);
        let d = m.qp_step(&th, &l.g, &positive_definite(&l.h, 4)).unwrap();
        let slope: f64 = (0..4).map(|i| l.g[i] * d[i]).sum();
        assert!(slope < 0.0, "{d:?}");
        for c in &m.constraints {
            assert!((0..4).map(|i| c.a[i] * (th[i] + d[i])).sum::<f64>() <= c.b + 1e-12, "{d:?}");
        }
        let (_, _, converged) = m.newton(th);
        assert!(converged);
    }
}
