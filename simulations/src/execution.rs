//! Optimal execution and transaction-cost analysis: the Almgren-Chriss optimal trajectory and
//! its efficient frontier ([`almgren_chriss`]), TWAP, VWAP, POV and implementation-shortfall
//! schedules with their expected cost and the square-root impact estimate ([`schedule`]), and
//! the analysis of executed orders against arrival, interval VWAP and the close ([`tca`]).
//!
//! # The model
//!
//! Almgren, R. and N. Chriss (2000), "Optimal Execution of Portfolio Transactions", Journal of
//! Risk 3 (2), 5-39 (the December 2000 text; section and equation numbers below are its). A
//! holding of X shares is traded over N periods of length τ = T/N; x_j is the holding left at
//! t_j = jτ (x_0 = X, x_N = 0) and n_j = x_{j-1} − x_j the shares traded in period j. The price
//! is an arithmetic random walk with volatility σ ($/share per √time) and drift α ($/share per
//! time, §4.1); trading moves it by the permanent impact g(v) = γv and gets a price worse by
//! the temporary impact h(v) = ε·sgn(n) + η·n/τ (§1.5). X > 0 sells a long position; X < 0
//! buys (every formula holds with the signed X; a cost is positive when it hurts).
//!
//! The implementation shortfall (book value at the arrival price less the capture) has
//! expectation and variance (eq. 24 and 5)
//!
//! E = ½γX² − ατ Σ x_k + ε Σ |n_k| + (η̃/τ) Σ n_k²,   η̃ = η − ½γτ,
//! V = σ² τ Σ x_k²,
//!
//! and minimising E + λV (λ the risk aversion, per $) gives (eq. 16-18, 25-26), with κ from
//! (2/τ²)(cosh κτ − 1) = κ̃² = λσ²/η̃,
//!
//! x_j = X sinh(κ(T − t_j))/sinh(κT) + x̄ [1 − (sinh(κ(T − t_j)) + sinh(κ t_j))/sinh(κT)],
//! x̄ = α/(2λσ²).
//!
//! θ = 1/κ is what the paper calls the trade's half-life (§2.3; the time to deplete the
//! holding by a factor of e). λ = 0 is the naïve strategy: the straight line, plus the drift's
//! parabola (α/4η̃)·t_j(T − t_j). A negative λ (a trader who likes risk, the paper's point C
//! in Figure 2) gives the same formulas with sines, as long as κT < π. η̃ must be positive,
//! otherwise E is not convex and the problem has no minimum. The efficient frontier is the
//! curve (V(λ), E(λ)) over λ > 0; E + λ_v √V is the value at risk at the confidence whose
//! normal quantile is λ_v (§3.2).
//!
//! Numerics: κτ = 2 asinh(κ̃τ/2) (exact, and accurate as κ̃ → 0), the ratios of hyperbolic
//! sines as e^{a−A}·expm1(−2a)/expm1(−2A), so that nothing overflows for any κT, and the
//! drift term in the product form (α τ²/4η̃)·sinh(a/2) sinh(b/2)/(sinh²(κτ/2) cosh(κT/2)),
//! which has the λ → 0 limit without 0·∞.
//!
//! # Schedules
//!
//! TWAP trades X/N each period; VWAP in proportion to an intraday volume profile; POV a fixed
//! fraction ρ of each bucket's forecast volume until done (what is left at the last bucket is
//! reported); implementation shortfall is the Almgren-Chriss trajectory. Each is priced with
//! the same E and V. The square-root law gives a model-free estimate per share,
//! spread/2 + Y·σ_daily·S·√(Q/ADV), with Y = 1 by default: the rule of thumb of Torre (1997,
//! BARRA Market Impact Model Handbook) and Grinold and Kahn (2000, Active Portfolio
//! Management, ch. 16); Almgren, Thum, Hauptmann and Li (2005, "Direct Estimation of Equity
//! Market Impact", Risk 18 (7)) fit an exponent close to it (3/5) on Citigroup's US orders.
//!
//! # Transaction-cost analysis
//!
//! Perold's (1988, "The Implementation Shortfall: Paper versus Reality", Journal of Portfolio
//! Management 14 (3)) shortfall of an order of X shares decided at the arrival price P_d, of
//! which Q were filled at the average price P̄, with s = +1 for a buy and −1 for a sell:
//!
//! - delay: s(P_0 − P_d)Q, P_0 the mid when trading began (P_d when not given);
//! - trading: s(P̄ − P_0)Q, split into the spread, h·Q with h the half-spread when given, and
//!   the market impact, the rest;
//! - opportunity: s(P_c − P_d)(X − Q), the unfilled shares valued at the close P_c;
//! - fees, as given.
//!
//! They sum to the shortfall; each is also given in basis points of the order's paper value
//! X·P_d. Slippage against the interval VWAP and the close is s(P̄ − B)/B in basis points on
//! the filled shares. Positive always means it cost money.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::{invalid, SimError};

/// The most periods (or buckets) one schedule may have.
pub const MAX_PERIODS: u32 = 1_000_000;
/// The most points a frontier may have.
pub const MAX_FRONTIER_POINTS: u32 = 10_000;
/// The most holdings a frontier may return with its trajectories (points × (periods + 1)).
pub const MAX_FRONTIER_VALUES: u64 = 10_000_000;
/// The most holdings a frontier may compute (points × (periods + 1)), about a second's work.
pub const MAX_FRONTIER_WORK: u64 = 50_000_000;
/// The most orders one analysis may take.
pub const MAX_ORDERS: usize = 1_000_000;

// ---------------------------------------------------------------------------------------------
// Almgren-Chriss
// ---------------------------------------------------------------------------------------------

/// An Almgren-Chriss problem: trade `shares` over `periods` periods of a `horizon`, under
/// linear permanent and temporary impact, minimising expected cost + `risk_aversion` ×
/// variance; optionally with the efficient frontier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcRequest {
    /// Shares to trade, X: positive to sell a long holding, negative to buy.
    pub shares: f64,
    /// Time allowed, T, in the time unit of the volatility and impact (days in the paper).
    pub horizon: f64,
    /// Number of periods N the horizon is split into (τ = T/N); 1 to 1,000,000.
    pub periods: u32,
    /// Price volatility σ in $/share per √(time unit): the fractional volatility times the
    /// price (the paper's 0.95 is 30% a year over 250 days on $50).
    pub volatility: f64,
    /// Expected drift of the price α in $/share per time unit (the paper's 0.02 is 10% a year
    /// on $50); 0 when absent.
    #[serde(default)]
    pub drift: f64,
    /// Fixed temporary cost ε in $/share: half the bid-ask spread plus fees; 0 when absent.
    #[serde(default)]
    pub fixed_cost: f64,
    /// Permanent impact γ in ($/share)/share: the lasting price move per share traded; 0 or
    /// more.
    pub permanent_impact: f64,
    /// Temporary impact η in ($/share)/(share/time unit): the price concession per unit rate
    /// of trading; must exceed γτ/2.
    pub temporary_impact: f64,
    /// Risk aversion λ per $: the weight of the variance ($²) against the expected cost ($).
    /// 0 is risk neutral; a negative value (a trader who likes risk) is allowed down to the
    /// value where κT reaches π.
    pub risk_aversion: f64,
    /// Price at arrival S_0 in $/share; when given, costs are also stated in basis points of
    /// |X|·S_0.
    #[serde(default)]
    pub price: Option<f64>,
    /// Confidence (between 0.5 and 1, exclusive) for the value at risk E + z√V, z its normal
    /// quantile (the paper's 95% gives z = 1.645); none when absent.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// The efficient frontier to trace as well; none when absent.
    #[serde(default)]
    pub frontier: Option<FrontierRequest>,
}

/// Which points of the efficient frontier to trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrontierRequest {
    /// Number of values of λ, log-spaced from `lambda_min` to `lambda_max`; 2 to 10,000
    /// (default 50).
    #[serde(default = "default_points")]
    pub points: u32,
    /// Smallest λ (per $, positive); by default the λ whose κ̃T is 0.05 (close to the
    /// straight line): λ = (0.05/T)²·η̃/σ².
    #[serde(default)]
    pub lambda_min: Option<f64>,
    /// Largest λ (per $, above `lambda_min`); by default the λ whose κ̃T is 20 (nearly all
    /// sold in the first periods): λ = (20/T)²·η̃/σ². For the paper's example the defaults are
    /// 2.6·10⁻¹⁰ and 4.2·10⁻⁵, either side of its 10⁻⁶ and 2·10⁻⁶.
    #[serde(default)]
    pub lambda_max: Option<f64>,
    /// Whether each point carries its holdings x_0..x_N (default false).
    #[serde(default)]
    pub trajectories: bool,
}

fn default_points() -> u32 {
    50
}

/// The optimal trajectory for the request's λ, its cost, and the frontier when asked.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AcResult {
    /// Period length τ = T/N.
    pub tau: f64,
    /// η̃ = η − γτ/2, the temporary impact net of the permanent impact's discreteness.
    pub eta_tilde: f64,
    /// κ̃² = λσ²/η̃ (negative for a negative λ).
    pub kappa_tilde_squared: f64,
    /// κ, per time unit, from (2/τ²)(cosh κτ − 1) = κ̃²; for a negative λ the k of the
    /// trigonometric solution, reported as −k.
    pub kappa: f64,
    /// κT: small is close to the straight line, large sells early.
    pub kappa_t: f64,
    /// The paper's half-life θ = 1/κ (the time to deplete by a factor of e); none when λ ≤ 0.
    pub half_life: Option<f64>,
    /// x̄ = α/(2λσ²), the static holding the trajectory relaxes to (§4.1); none without drift
    /// or with λ = 0.
    pub static_holding: Option<f64>,
    /// The optimal trajectory and its cost.
    pub trajectory: Trajectory,
    /// The straight-line (TWAP) trajectory's cost under the same model, for comparison.
    pub linear: Cost,
    /// Whether every trade has the sign of X. The solution minimises E + λV only while it
    /// does (with drift the paper requires 0 ≤ x̄ ≤ X); false warns that it overtrades.
    pub monotone: bool,
    /// The efficient frontier, by increasing λ; none when not asked.
    pub frontier: Option<Vec<FrontierPoint>>,
}

/// A trading trajectory over N periods and its cost.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Trajectory {
    /// Times t_0..t_N.
    pub times: Vec<f64>,
    /// Holdings left x_0 = X .. x_N = 0 (negative for a buy: shares still to buy).
    pub holdings: Vec<f64>,
    /// Shares traded n_1..n_N in each period.
    pub trades: Vec<f64>,
    /// Expected cost, variance and their measures.
    pub cost: Cost,
}

/// The expected shortfall of a trajectory and its spread.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Cost {
    /// Expected cost E in $.
    pub expected: f64,
    /// Variance V in $².
    pub variance: f64,
    /// Standard deviation √V in $.
    pub std_dev: f64,
    /// E + λV, the objective at the request's λ.
    pub utility: f64,
    /// E in basis points of |X|·S_0; none without `price`.
    pub expected_bps: Option<f64>,
    /// E + z√V at the request's confidence; none without `confidence`.
    pub value_at_risk: Option<f64>,
}

/// One point of the efficient frontier.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FrontierPoint {
    /// Risk aversion λ per $.
    pub lambda: f64,
    /// κ per time unit.
    pub kappa: f64,
    /// The half-life 1/κ; none where κ underflows to 0.
    pub half_life: Option<f64>,
    /// Expected cost E in $.
    pub expected: f64,
    /// Variance V in $².
    pub variance: f64,
    /// Standard deviation √V in $.
    pub std_dev: f64,
    /// Holdings x_0..x_N; none unless asked.
    pub holdings: Option<Vec<f64>>,
}

/// The model's inputs once checked, shared by the trajectory and the schedules.
#[derive(Debug, Clone, Copy)]
struct Model {
    shares: f64,
    horizon: f64,
    periods: u32,
    tau: f64,
    sigma: f64,
    alpha: f64,
    epsilon: f64,
    gamma: f64,
    eta_tilde: f64,
}

fn positive(field: &str, v: f64) -> Result<f64, SimError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(invalid(field, "must be a positive number"))
    }
}

fn non_negative(field: &str, v: f64) -> Result<f64, SimError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(invalid(field, "must be a number, 0 or more"))
    }
}

fn finite(field: &str, v: f64) -> Result<f64, SimError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(invalid(field, "must be a finite number"))
    }
}

/// Fields of the impact model, as the requests name them.
struct ModelFields {
    shares: f64,
    horizon: f64,
    periods: u32,
    volatility: f64,
    drift: f64,
    fixed_cost: f64,
    permanent_impact: f64,
    temporary_impact: f64,
}

impl Model {
    fn check(f: ModelFields) -> Result<Model, SimError> {
        let shares = finite("shares", f.shares)?;
        if shares == 0.0 {
            return Err(invalid("shares", "must not be 0: positive to sell, negative to buy"));
        }
        let horizon = positive("horizon", f.horizon)?;
        if f.periods == 0 || f.periods > MAX_PERIODS {
            return Err(invalid("periods", format!("must be from 1 to {MAX_PERIODS}")));
        }
        let sigma = positive("volatility", f.volatility)?;
        let alpha = finite("drift", f.drift)?;
        let epsilon = non_negative("fixed_cost", f.fixed_cost)?;
        let gamma = non_negative("permanent_impact", f.permanent_impact)?;
        let eta = positive("temporary_impact", f.temporary_impact)?;
        let tau = horizon / f64::from(f.periods);
        if tau <= 0.0 {
            return Err(invalid("horizon", "is too small to split into this many periods"));
        }
        let eta_tilde = eta - 0.5 * gamma * tau;
        if eta_tilde <= 0.0 {
            return Err(invalid(
                "temporary_impact",
                format!(
                    "must exceed permanent_impact × τ/2 = {} so that the expected cost is convex \
                     (η̃ = η − γτ/2 > 0); use more periods or a smaller permanent impact",
                    0.5 * gamma * tau
                ),
            ));
        }
        Ok(Model { shares, horizon, periods: f.periods, tau, sigma, alpha, epsilon, gamma, eta_tilde })
    }

    fn times(&self) -> Vec<f64> {
        (0..=self.periods).map(|j| self.time(j)).collect()
    }

    fn time(&self, j: u32) -> f64 {
        if j == self.periods {
            self.horizon
        } else {
            f64::from(j) * self.tau
        }
    }

    /// E and V of holdings x_0..x_N (x_N = 0) at equal periods τ.
    fn cost(&self, holdings: &[f64]) -> (f64, f64) {
        let (mut sum_x, mut sum_x2, mut sum_abs, mut sum_n2) = (0.0, 0.0, 0.0, 0.0);
        for w in holdings.windows(2) {
            let n = w[0] - w[1];
            sum_abs += n.abs();
            sum_n2 += n * n;
            sum_x += w[1];
            sum_x2 += w[1] * w[1];
        }
        let x0 = holdings[0];
        let e = 0.5 * self.gamma * x0 * x0 - self.alpha * self.tau * sum_x
            + self.epsilon * sum_abs
            + self.eta_tilde / self.tau * sum_n2;
        (e, self.sigma * self.sigma * self.tau * sum_x2)
    }

    /// κ̃² = λσ²/η̃ without overflowing on the way where the result is finite.
    fn kappa_tilde_squared(&self, lambda: f64) -> f64 {
        lambda * (self.sigma / self.eta_tilde.sqrt()).powi(2)
    }

    /// The most negative λ allowed: the one whose κT is π.
    fn lambda_floor(&self) -> f64 {
        let s = (std::f64::consts::PI / (2.0 * f64::from(self.periods))).sin();
        -4.0 * s * s / (self.tau * self.tau) * self.eta_tilde / (self.sigma * self.sigma)
    }

    /// The optimal holdings x_0..x_N for λ, and κ (for a negative λ, −k).
    fn trajectory(&self, lambda: f64) -> Result<(Vec<f64>, f64), SimError> {
        let n = self.periods;
        let (x, t, tau) = (self.shares, self.horizon, self.tau);
        let mut holdings = Vec::with_capacity(n as usize + 1);
        let drift_scale = self.alpha * tau * tau / (4.0 * self.eta_tilde);
        if lambda > 0.0 {
            let half = 0.5 * tau * (lambda.sqrt() * self.sigma / self.eta_tilde.sqrt());
            let kappa = 2.0 * half.asinh() / tau;
            if kappa == 0.0 {
                // κ̃ so small that κ underflows: the λ = 0 trajectory, to the last bit.
                return Ok((self.naive(), 0.0));
            }
            if !kappa.is_finite() {
                return Err(invalid(
                    "risk_aversion",
                    "is so large against temporary_impact/volatility² that κ overflows (the limit is to trade \
                     everything in the first period)",
                ));
            }
            let big_t = kappa * t;
            let half_tau = 0.5 * kappa * tau;
            let sinh_half_tau = half_tau.sinh();
            let static_holding = self.alpha / (2.0 * lambda * self.sigma * self.sigma);
            for j in 0..=n {
                let tj = self.time(j);
                let a = (kappa * (t - tj)).max(0.0);
                let b = (kappa * tj).min(big_t);
                let main = x * sinh_ratio(a, big_t);
                let drift = if self.alpha == 0.0 {
                    0.0
                } else if big_t <= 2.0 {
                    drift_scale * ((0.5 * a).sinh() / sinh_half_tau) * ((0.5 * b).sinh() / sinh_half_tau)
                        / (0.5 * big_t).cosh()
                } else {
                    // x̄ [1 − cosh((a−b)/2)/cosh((a+b)/2)], the ratio in exponentials.
                    static_holding * (1.0 - cosh_ratio(0.5 * (a - b), 0.5 * big_t))
                };
                holdings.push(main + drift);
            }
            holdings[0] = x;
            holdings[n as usize] = 0.0;
            Ok((holdings, kappa))
        } else if lambda == 0.0 {
            Ok((self.naive(), 0.0))
        } else {
            let floor = self.lambda_floor();
            let ks = -self.kappa_tilde_squared(lambda);
            let half = 0.5 * tau * ks.sqrt();
            let k = if half < 1.0 { 2.0 * half.asin() / tau } else { f64::INFINITY };
            if lambda <= floor || k * t >= std::f64::consts::PI {
                return Err(invalid(
                    "risk_aversion",
                    format!(
                        "is below the smallest value these parameters allow ({floor:e}, where κT \
                         reaches π and the trajectory has no minimum)"
                    ),
                ));
            }
            let (big_t, sin_half_tau) = (k * t, (0.5 * k * tau).sin());
            let denom = big_t.sin();
            for j in 0..=n {
                let tj = self.time(j);
                let (a, b) = (k * (t - tj), k * tj);
                let main = x * a.sin() / denom;
                let drift = drift_scale * ((0.5 * a).sin() / sin_half_tau) * ((0.5 * b).sin() / sin_half_tau)
                    / (0.5 * big_t).cos();
                holdings.push(if self.alpha == 0.0 { main } else { main + drift });
            }
            holdings[0] = x;
            holdings[n as usize] = 0.0;
            Ok((holdings, -k))
        }
    }

    /// The risk-neutral trajectory: the straight line plus the drift's parabola.
    fn naive(&self) -> Vec<f64> {
        let c = self.alpha / (4.0 * self.eta_tilde);
        let mut h: Vec<f64> = (0..=self.periods)
            .map(|j| {
                let tj = self.time(j);
                let line = self.shares * f64::from(self.periods - j) / f64::from(self.periods);
                line + c * tj * (self.horizon - tj)
            })
            .collect();
        h[self.periods as usize] = 0.0;
        h
    }

    fn linear(&self) -> Vec<f64> {
        let n = f64::from(self.periods);
        (0..=self.periods).map(|j| self.shares * (f64::from(self.periods - j) / n)).collect()
    }
}

/// sinh(a)/sinh(A) for 0 ≤ a ≤ A, A > 0, without overflow: e^{a−A}·expm1(−2a)/expm1(−2A).
fn sinh_ratio(a: f64, big_a: f64) -> f64 {
    if a <= 0.0 {
        return 0.0;
    }
    (a - big_a).exp() * ((-2.0 * a).exp_m1() / (-2.0 * big_a).exp_m1())
}

/// cosh(u)/cosh(v) for |u| ≤ v without overflow.
fn cosh_ratio(u: f64, v: f64) -> f64 {
    let u = u.abs();
    (u - v).exp() * (1.0 + (-2.0 * u).exp()) / (1.0 + (-2.0 * v).exp())
}

fn quantile(confidence: Option<f64>) -> Result<Option<f64>, SimError> {
    match confidence {
        None => Ok(None),
        Some(p) if p.is_finite() && p > 0.5 && p < 1.0 => {
            let normal = Normal::new(0.0, 1.0).map_err(|e| invalid("confidence", e))?;
            Ok(Some(normal.inverse_cdf(p)))
        }
        Some(_) => Err(invalid("confidence", "must be between 0.5 and 1, exclusive")),
    }
}

fn price_of(price: Option<f64>) -> Result<Option<f64>, SimError> {
    price.map(|p| positive("price", p)).transpose()
}

fn cost_of(e: f64, v: f64, lambda: f64, shares: f64, price: Option<f64>, z: Option<f64>) -> Cost {
    let std_dev = v.sqrt();
    Cost {
        expected: e,
        variance: v,
        std_dev,
        utility: e + lambda * v,
        expected_bps: price.map(|p| e / (shares.abs() * p) * 1e4),
        value_at_risk: z.map(|z| e + z * std_dev),
    }
}

fn check_cost(c: &Cost) -> Result<(), SimError> {
    let all = [Some(c.expected), Some(c.variance), c.expected_bps, c.value_at_risk];
    if !all.iter().flatten().all(|v| v.is_finite()) {
        Err(invalid("shares", "with these parameters the cost or its variance overflows"))
    } else if !c.utility.is_finite() {
        Err(invalid("risk_aversion", "is so large that E + λV overflows"))
    } else {
        Ok(())
    }
}

/// The Almgren-Chriss optimal trajectory for the request's λ, its expected cost and variance,
/// the straight line's for comparison, and the efficient frontier when asked.
pub fn almgren_chriss(req: &AcRequest) -> Result<AcResult, SimError> {
    let model = Model::check(ModelFields {
        shares: req.shares,
        horizon: req.horizon,
        periods: req.periods,
        volatility: req.volatility,
        drift: req.drift,
        fixed_cost: req.fixed_cost,
        permanent_impact: req.permanent_impact,
        temporary_impact: req.temporary_impact,
    })?;
    let lambda = finite("risk_aversion", req.risk_aversion)?;
    let price = price_of(req.price)?;
    let z = quantile(req.confidence)?;
    let frontier_spec = match &req.frontier {
        None => None,
        Some(f) => Some(frontier_lambdas(&model, f)?),
    };

    let (holdings, kappa) = model.trajectory(lambda)?;
    let kappa_tilde_squared = model.kappa_tilde_squared(lambda);
    let kappa_t = kappa * model.horizon;
    let half_life = (lambda > 0.0 && kappa > 0.0).then(|| 1.0 / kappa);
    if !(kappa_tilde_squared.is_finite() && kappa_t.is_finite() && half_life.is_none_or(f64::is_finite)) {
        return Err(invalid(
            "risk_aversion",
            "is too large or too small against volatility and temporary_impact: κ overflows",
        ));
    }
    let (e, v) = model.cost(&holdings);
    let cost = cost_of(e, v, lambda, model.shares, price, z);
    check_cost(&cost)?;
    let trades: Vec<f64> = holdings.windows(2).map(|w| w[0] - w[1]).collect();
    let monotone = trades.iter().all(|n| *n * model.shares >= 0.0);
    let (le, lv) = model.cost(&model.linear());
    let linear = cost_of(le, lv, lambda, model.shares, price, z);
    check_cost(&linear)?;

    let frontier = match frontier_spec {
        None => None,
        Some((lambdas, with_paths)) => {
            let mut points = Vec::with_capacity(lambdas.len());
            for l in lambdas {
                let (h, k) = model.trajectory(l).map_err(|e| match e {
                    SimError::Invalid { problem, .. } => invalid("frontier.lambda_max", problem),
                })?;
                let (e, v) = model.cost(&h);
                if !(e.is_finite() && v.is_finite()) {
                    return Err(invalid("shares", "with these parameters the cost or its variance overflows"));
                }
                points.push(FrontierPoint {
                    lambda: l,
                    kappa: k,
                    half_life: (k > 0.0).then(|| 1.0 / k),
                    expected: e,
                    variance: v,
                    std_dev: v.sqrt(),
                    holdings: with_paths.then_some(h),
                });
            }
            Some(points)
        }
    };

    Ok(AcResult {
        tau: model.tau,
        eta_tilde: model.eta_tilde,
        kappa_tilde_squared,
        kappa,
        kappa_t,
        half_life,
        static_holding: (model.alpha != 0.0 && lambda != 0.0)
            .then(|| model.alpha / (2.0 * lambda * model.sigma * model.sigma))
            .filter(|x| x.is_finite()),
        trajectory: Trajectory { times: model.times(), holdings, trades, cost },
        linear,
        monotone,
        frontier,
    })
}

/// The frontier's values of λ, log-spaced, and whether to keep the trajectories.
fn frontier_lambdas(model: &Model, f: &FrontierRequest) -> Result<(Vec<f64>, bool), SimError> {
    if f.points < 2 || f.points > MAX_FRONTIER_POINTS {
        return Err(invalid("frontier.points", format!("must be from 2 to {MAX_FRONTIER_POINTS}")));
    }
    let values = u64::from(f.points) * (u64::from(model.periods) + 1);
    if values > MAX_FRONTIER_WORK {
        return Err(invalid("frontier.points", format!("points × (periods + 1) must be at most {MAX_FRONTIER_WORK}")));
    }
    if f.trajectories && values > MAX_FRONTIER_VALUES {
        return Err(invalid(
            "frontier.trajectories",
            format!("points × (periods + 1) must be at most {MAX_FRONTIER_VALUES} to return every trajectory"),
        ));
    }
    let scale = model.eta_tilde / (model.sigma * model.sigma) / (model.horizon * model.horizon);
    let lo = match f.lambda_min {
        Some(l) => positive("frontier.lambda_min", l)?,
        None => 0.05 * 0.05 * scale,
    };
    let hi = match f.lambda_max {
        Some(l) => positive("frontier.lambda_max", l)?,
        None => 20.0 * 20.0 * scale,
    };
    if !(lo.is_normal() && hi.is_normal()) {
        return Err(invalid(
            "frontier.lambda_min",
            "the default bounds are out of range for these parameters; give both",
        ));
    }
    if hi <= lo {
        return Err(invalid("frontier.lambda_max", "must exceed lambda_min"));
    }
    let (llo, lhi) = (lo.ln(), hi.ln());
    let m = f64::from(f.points - 1);
    let lambdas = (0..f.points)
        .map(|i| match i {
            0 => lo,
            i if i == f.points - 1 => hi,
            i => (llo + (lhi - llo) * f64::from(i) / m).exp(),
        })
        .collect();
    Ok((lambdas, f.trajectories))
}

// ---------------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------------

/// An execution strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Equal slices over the periods.
    Twap,
    /// Slices in proportion to the `profile` of intraday volume.
    Vwap,
    /// A fixed `participation` of each bucket's forecast `volumes` until done.
    Pov,
    /// Implementation shortfall: the Almgren-Chriss trajectory at `risk_aversion`.
    Shortfall,
}

/// A schedule to build and price under the Almgren-Chriss impact model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// The strategy: twap, vwap, pov or shortfall.
    pub strategy: Strategy,
    /// Shares to trade: positive to sell, negative to buy.
    pub shares: f64,
    /// Time allowed T, in the time unit of the volatility and impact (a day, say).
    pub horizon: f64,
    /// Periods for twap and shortfall (1 to 1,000,000); vwap and pov take one period per
    /// entry of `profile` or `volumes` and ignore it.
    #[serde(default)]
    pub periods: Option<u32>,
    /// Price volatility σ in $/share per √(time unit).
    pub volatility: f64,
    /// Price drift α in $/share per time unit; 0 when absent.
    #[serde(default)]
    pub drift: f64,
    /// Fixed temporary cost ε in $/share (half-spread and fees); 0 when absent.
    #[serde(default)]
    pub fixed_cost: f64,
    /// Permanent impact γ in ($/share)/share.
    pub permanent_impact: f64,
    /// Temporary impact η in ($/share)/(share/time unit); must exceed γτ/2.
    pub temporary_impact: f64,
    /// Risk aversion λ per $ for shortfall (0 when absent); also weighs E + λV for the others.
    #[serde(default)]
    pub risk_aversion: f64,
    /// Intraday volume profile for vwap: one nonnegative entry per bucket (shares or
    /// fractions; it is normalised).
    #[serde(default)]
    pub profile: Option<Vec<f64>>,
    /// Forecast market volume per bucket for pov, in shares.
    #[serde(default)]
    pub volumes: Option<Vec<f64>>,
    /// Participation rate ρ for pov, above 0 and at most 1: the fraction of each bucket's
    /// volume traded.
    #[serde(default)]
    pub participation: Option<f64>,
    /// Price S_0 in $/share: costs also in basis points, and needed for the square-root
    /// estimate.
    #[serde(default)]
    pub price: Option<f64>,
    /// Average daily volume in shares: when given (with `price`), the square-root impact
    /// estimate of the order is added.
    #[serde(default)]
    pub adv: Option<f64>,
    /// Daily volatility as a fraction of the price for the square-root estimate; by default
    /// volatility/price (taking the time unit as a day).
    #[serde(default)]
    pub daily_volatility: Option<f64>,
    /// Full bid-ask spread in $/share for the square-root estimate; by default 2 × fixed_cost.
    #[serde(default)]
    pub spread: Option<f64>,
    /// The square-root law's coefficient Y (default 1).
    #[serde(default)]
    pub impact_coefficient: Option<f64>,
}

/// A schedule, its cost under the impact model, and the square-root estimate.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScheduleResult {
    /// The strategy.
    pub strategy: Strategy,
    /// Times t_0..t_N of the period boundaries.
    pub times: Vec<f64>,
    /// Shares traded per period (signed like `shares`).
    pub trades: Vec<f64>,
    /// Holdings left x_0..x_N.
    pub holdings: Vec<f64>,
    /// Share of each bucket's forecast volume traded (pov, and vwap when the profile is in
    /// shares, that is when its total is at least the order's size); none otherwise.
    pub participation: Option<Vec<f64>>,
    /// Shares the schedule trades (all of them but for a pov that runs out of buckets).
    pub executed: f64,
    /// Shares left untraded at the end (pov only; 0 otherwise).
    pub leftover: f64,
    /// Buckets with a trade up to completion (pov: the buckets needed; others: the periods).
    pub buckets_used: u32,
    /// Expected cost and variance of the executed shares under the impact model.
    pub cost: Cost,
    /// The square-root law's estimate for the whole order; none without `adv`.
    pub square_root: Option<SquareRoot>,
}

/// The square-root market-impact estimate: spread/2 + Y·σ_daily·S·√(Q/ADV) per share.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct SquareRoot {
    /// Q/ADV, the order as a fraction of a day's volume.
    pub fraction_of_adv: f64,
    /// Half the spread, $/share.
    pub half_spread: f64,
    /// Y·σ_daily·S·√(Q/ADV), $/share.
    pub impact: f64,
    /// Their sum, $/share.
    pub per_share: f64,
    /// The same in basis points of the price.
    pub bps: f64,
    /// Times |Q|, in $.
    pub total: f64,
}

/// Builds the requested schedule and prices it: expected cost and variance under the
/// Almgren-Chriss model, and the square-root impact estimate when `adv` is given.
pub fn schedule(req: &ScheduleRequest) -> Result<ScheduleResult, SimError> {
    let weights = |field: &str, list: &Option<Vec<f64>>| -> Result<Vec<f64>, SimError> {
        let list = list.as_ref().ok_or_else(|| invalid(field, "is needed by this strategy"))?;
        if list.is_empty() || list.len() > MAX_PERIODS as usize {
            return Err(invalid(field, format!("must list 1 to {MAX_PERIODS} buckets")));
        }
        for (i, v) in list.iter().enumerate() {
            non_negative(&format!("{field}[{i}]"), *v)?;
        }
        Ok(list.clone())
    };
    let periods = match req.strategy {
        Strategy::Twap | Strategy::Shortfall => {
            req.periods.ok_or_else(|| invalid("periods", "is needed by twap and shortfall"))?
        }
        Strategy::Vwap => weights("profile", &req.profile)?.len() as u32,
        Strategy::Pov => weights("volumes", &req.volumes)?.len() as u32,
    };
    let model = Model::check(ModelFields {
        shares: req.shares,
        horizon: req.horizon,
        periods,
        volatility: req.volatility,
        drift: req.drift,
        fixed_cost: req.fixed_cost,
        permanent_impact: req.permanent_impact,
        temporary_impact: req.temporary_impact,
    })?;
    let lambda = finite("risk_aversion", req.risk_aversion)?;
    let price = price_of(req.price)?;
    let x = model.shares;

    let mut participation = None;
    let mut leftover = 0.0;
    let mut path = None;
    let trades: Vec<f64> = match req.strategy {
        Strategy::Twap | Strategy::Shortfall => {
            let h = if req.strategy == Strategy::Twap { model.linear() } else { model.trajectory(lambda)?.0 };
            let trades = h.windows(2).map(|w| w[0] - w[1]).collect();
            path = Some(h);
            trades
        }
        Strategy::Vwap => {
            let profile = weights("profile", &req.profile)?;
            let total: f64 = profile.iter().sum();
            if !(total > 0.0 && total.is_finite()) {
                return Err(invalid("profile", "must have a positive, finite total"));
            }
            let trades: Vec<f64> = profile.iter().map(|v| x * (v / total)).collect();
            if total >= x.abs() {
                // A profile in shares (at least the order's size): the participation it implies.
                participation =
                    Some(trades.iter().zip(&profile).map(|(n, v)| if *v > 0.0 { n.abs() / v } else { 0.0 }).collect());
            }
            trades
        }
        Strategy::Pov => {
            let volumes = weights("volumes", &req.volumes)?;
            let rho = req.participation.ok_or_else(|| invalid("participation", "is needed by pov"))?;
            if !(rho.is_finite() && rho > 0.0 && rho <= 1.0) {
                return Err(invalid("participation", "must be above 0 and at most 1"));
            }
            let mut left = x.abs();
            let mut trades = Vec::with_capacity(volumes.len());
            let mut part = Vec::with_capacity(volumes.len());
            for v in &volumes {
                let n = (rho * v).min(left);
                left -= n;
                trades.push(x.signum() * n);
                part.push(if *v > 0.0 { n / v } else { 0.0 });
            }
            if left <= 1e-12 * x.abs() {
                left = 0.0;
            }
            leftover = x.signum() * left;
            participation = Some(part);
            trades
        }
    };
    let executed: f64 = x - leftover;
    let holdings = path.unwrap_or_else(|| {
        let mut holdings = Vec::with_capacity(trades.len() + 1);
        let mut h = executed;
        holdings.push(h);
        for n in &trades {
            h -= n;
            holdings.push(h);
        }
        *holdings.last_mut().expect("at least one period") = 0.0;
        holdings
    });
    let buckets_used = match req.strategy {
        Strategy::Pov => trades.iter().rposition(|n| *n != 0.0).map_or(0, |i| i as u32 + 1),
        _ => periods,
    };
    let (e, v) = if executed == 0.0 { (0.0, 0.0) } else { model.cost(&holdings) };
    let cost = cost_of(e, v, lambda, if executed == 0.0 { x } else { executed }, price, None);
    check_cost(&cost)?;

    let square_root = match req.adv {
        None => None,
        Some(adv) => {
            let adv = positive("adv", adv)?;
            let s = price.ok_or_else(|| invalid("price", "is needed for the square-root estimate (adv given)"))?;
            let daily = match req.daily_volatility {
                Some(d) => positive("daily_volatility", d)?,
                None => model.sigma / s,
            };
            let spread = match req.spread {
                Some(sp) => non_negative("spread", sp)?,
                None => 2.0 * model.epsilon,
            };
            let y = match req.impact_coefficient {
                Some(y) => non_negative("impact_coefficient", y)?,
                None => 1.0,
            };
            let fraction = x.abs() / adv;
            let impact = y * daily * s * fraction.sqrt();
            let per_share = 0.5 * spread + impact;
            let sq = SquareRoot {
                fraction_of_adv: fraction,
                half_spread: 0.5 * spread,
                impact,
                per_share,
                bps: per_share / s * 1e4,
                total: per_share * x.abs(),
            };
            if ![sq.fraction_of_adv, sq.impact, sq.per_share, sq.bps, sq.total].iter().all(|v| v.is_finite()) {
                return Err(invalid("adv", "with these inputs the square-root estimate overflows"));
            }
            Some(sq)
        }
    };

    Ok(ScheduleResult {
        strategy: req.strategy,
        times: model.times(),
        trades,
        holdings,
        participation,
        executed,
        leftover,
        buckets_used,
        cost,
        square_root,
    })
}

// ---------------------------------------------------------------------------------------------
// Transaction-cost analysis
// ---------------------------------------------------------------------------------------------

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }
}

/// Executed orders to analyse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcaRequest {
    /// The orders, at least one.
    pub orders: Vec<Order>,
}

/// One parent order and its fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The order's identifier, echoed back; its position in the list when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The algorithm or broker that worked it, for the aggregation ("unlabelled" when absent).
    #[serde(default)]
    pub algorithm: Option<String>,
    /// Buy or sell.
    pub side: Side,
    /// Shares ordered, positive.
    pub quantity: f64,
    /// The price when the decision was made (arrival), $/share.
    pub arrival_price: f64,
    /// The mid price at the first fill (when trading began), $/share; the delay cost is
    /// measured to it (arrival, and no delay cost, when absent).
    #[serde(default)]
    pub first_fill_mid: Option<f64>,
    /// Half the bid-ask spread when trading, $/share: the part of the trading cost that is
    /// spread (the rest is impact); none when absent.
    #[serde(default)]
    pub half_spread: Option<f64>,
    /// Explicit costs (commissions, fees) in $; 0 when absent.
    #[serde(default)]
    pub fees: f64,
    /// The market's volume-weighted average price over the order's interval, $/share.
    #[serde(default)]
    pub interval_vwap: Option<f64>,
    /// The closing price, $/share; needed when shares are left unfilled.
    #[serde(default)]
    pub close: Option<f64>,
    /// The fills; may be empty.
    #[serde(default)]
    pub fills: Vec<Fill>,
}

/// One fill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fill {
    /// When it happened (a time or a bucket number); informational.
    #[serde(default)]
    pub time: Option<f64>,
    /// Shares filled, positive.
    pub quantity: f64,
    /// Price, $/share.
    pub price: f64,
}

/// Costs of one order, per order and per algorithm, and the best-execution summary.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TcaResult {
    /// Each order's analysis, in the request's order.
    pub orders: Vec<OrderCost>,
    /// Per algorithm, by name.
    pub algorithms: Vec<AlgorithmCost>,
    /// Which algorithm did best.
    pub summary: BestExecution,
}

/// An amount in $ and in basis points of the order's paper value (quantity × arrival price).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Amount {
    /// Dollars; positive is a cost.
    pub dollars: f64,
    /// Basis points of quantity × arrival price.
    pub bps: f64,
}

/// One order's implementation shortfall and its parts.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderCost {
    /// The order's id (its position when it had none).
    pub id: String,
    /// Its algorithm.
    pub algorithm: String,
    /// Buy or sell.
    pub side: Side,
    /// Shares ordered.
    pub quantity: f64,
    /// Shares filled.
    pub filled: f64,
    /// Filled / ordered.
    pub fill_rate: f64,
    /// Average fill price; none without fills.
    pub average_price: Option<f64>,
    /// Delay: from arrival to the mid when trading began, on the filled shares.
    pub delay: Amount,
    /// Spread: the half-spread on the filled shares (0 when not given).
    pub spread: Amount,
    /// Market impact: the fills against the starting mid, less the spread.
    pub impact: Amount,
    /// Trading: spread + impact.
    pub trading: Amount,
    /// Opportunity: the unfilled shares, close against arrival.
    pub opportunity: Amount,
    /// Fees as given.
    pub fees: Amount,
    /// The implementation shortfall: delay + trading + opportunity + fees.
    pub shortfall: Amount,
    /// Fills against the interval VWAP, basis points of the VWAP (positive: worse).
    pub vs_vwap_bps: Option<f64>,
    /// The same in $ on the filled shares.
    pub vs_vwap_dollars: Option<f64>,
    /// Fills against the close, basis points of the close (positive: worse).
    pub vs_close_bps: Option<f64>,
    /// Whether the fills beat the interval VWAP; none without fills or VWAP.
    pub beat_vwap: Option<bool>,
}

/// One algorithm's orders together.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AlgorithmCost {
    /// The algorithm.
    pub algorithm: String,
    /// Its orders.
    pub orders: usize,
    /// Shares ordered.
    pub quantity: f64,
    /// Shares filled.
    pub filled: f64,
    /// Paper value, Σ quantity × arrival price, $.
    pub paper_value: f64,
    /// Total shortfall, $.
    pub shortfall: f64,
    /// Shortfall in basis points of paper value (the shares-weighted average of the orders'
    /// bps, each weighted by its paper value).
    pub shortfall_bps: f64,
    /// Filled-shares-weighted average of the orders' slippage against VWAP, bps; none
    /// without VWAPs.
    pub vs_vwap_bps: Option<f64>,
    /// Total slippage against VWAP, $.
    pub vs_vwap_dollars: Option<f64>,
    /// Share of its orders with a VWAP and fills that beat the VWAP.
    pub beat_vwap_share: Option<f64>,
}

/// The best-execution summary.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BestExecution {
    /// The algorithm with the lowest shortfall in bps against arrival.
    pub cheapest_vs_arrival: String,
    /// The algorithm with the lowest slippage in bps against VWAP; none without VWAPs.
    pub cheapest_vs_vwap: Option<String>,
    /// Share of all orders with a VWAP and fills that beat it.
    pub beat_vwap_share: Option<f64>,
    /// Total shortfall of all orders, $.
    pub total_shortfall: f64,
    /// Total shortfall in bps of the total paper value.
    pub total_shortfall_bps: f64,
}

fn opt_positive(field: &str, v: Option<f64>) -> Result<Option<f64>, SimError> {
    v.map(|v| positive(field, v)).transpose()
}

/// Implementation shortfall of each order decomposed into delay, spread, impact, opportunity
/// and fees, slippage against the interval VWAP and the close, per-algorithm totals and the
/// best-execution summary.
pub fn tca(req: &TcaRequest) -> Result<TcaResult, SimError> {
    if req.orders.is_empty() || req.orders.len() > MAX_ORDERS {
        return Err(invalid("orders", format!("must list 1 to {MAX_ORDERS} orders")));
    }
    let mut out = Vec::with_capacity(req.orders.len());
    for (i, o) in req.orders.iter().enumerate() {
        out.push(order_cost(i, o)?);
    }

    // Per algorithm, in name order.
    #[derive(Default)]
    struct Acc {
        orders: usize,
        quantity: f64,
        filled: f64,
        paper: f64,
        shortfall: f64,
        vwap_bps_weighted: f64,
        vwap_weight: f64,
        vwap_dollars: f64,
        vwap_orders: usize,
        beat: usize,
    }
    let mut groups: BTreeMap<&str, Acc> = BTreeMap::new();
    for (o, c) in req.orders.iter().zip(&out) {
        let a = groups.entry(c.algorithm.as_str()).or_default();
        a.orders += 1;
        a.quantity += c.quantity;
        a.filled += c.filled;
        a.paper += c.quantity * o.arrival_price;
        a.shortfall += c.shortfall.dollars;
        if let (Some(bps), Some(d), Some(beat)) = (c.vs_vwap_bps, c.vs_vwap_dollars, c.beat_vwap) {
            a.vwap_bps_weighted += bps * c.filled;
            a.vwap_weight += c.filled;
            a.vwap_dollars += d;
            a.vwap_orders += 1;
            a.beat += usize::from(beat);
        }
    }
    let algorithms: Vec<AlgorithmCost> = groups
        .iter()
        .map(|(name, a)| AlgorithmCost {
            algorithm: (*name).to_owned(),
            orders: a.orders,
            quantity: a.quantity,
            filled: a.filled,
            paper_value: a.paper,
            shortfall: a.shortfall,
            shortfall_bps: a.shortfall / a.paper * 1e4,
            vs_vwap_bps: (a.vwap_weight > 0.0).then(|| a.vwap_bps_weighted / a.vwap_weight),
            vs_vwap_dollars: (a.vwap_orders > 0).then_some(a.vwap_dollars),
            beat_vwap_share: (a.vwap_orders > 0).then(|| a.beat as f64 / a.vwap_orders as f64),
        })
        .collect();

    let cheapest_vs_arrival = algorithms
        .iter()
        .min_by(|a, b| a.shortfall_bps.total_cmp(&b.shortfall_bps))
        .map(|a| a.algorithm.clone())
        .expect("at least one order");
    let cheapest_vs_vwap = algorithms
        .iter()
        .filter_map(|a| a.vs_vwap_bps.map(|b| (b, &a.algorithm)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name.clone());
    let with_vwap: Vec<bool> = out.iter().filter_map(|c| c.beat_vwap).collect();
    let beat_vwap_share =
        (!with_vwap.is_empty()).then(|| with_vwap.iter().filter(|b| **b).count() as f64 / with_vwap.len() as f64);
    let total_shortfall: f64 = out.iter().map(|c| c.shortfall.dollars).sum();
    let total_paper: f64 = algorithms.iter().map(|a| a.paper_value).sum();
    let summary = BestExecution {
        cheapest_vs_arrival,
        cheapest_vs_vwap,
        beat_vwap_share,
        total_shortfall,
        total_shortfall_bps: total_shortfall / total_paper * 1e4,
    };

    let totals_finite = algorithms.iter().all(|a| {
        [a.quantity, a.filled, a.paper_value, a.shortfall, a.shortfall_bps].iter().all(|v| v.is_finite())
            && [a.vs_vwap_bps, a.vs_vwap_dollars].iter().flatten().all(|v| v.is_finite())
    }) && summary.total_shortfall.is_finite()
        && summary.total_shortfall_bps.is_finite();
    if !totals_finite {
        return Err(invalid("orders", "the totals overflow: quantities or prices are too large"));
    }
    Ok(TcaResult { orders: out, algorithms, summary })
}

fn order_cost(i: usize, o: &Order) -> Result<OrderCost, SimError> {
    let f = |name: &str| format!("orders[{i}].{name}");
    let quantity = positive(&f("quantity"), o.quantity)?;
    let arrival = positive(&f("arrival_price"), o.arrival_price)?;
    let first_fill_mid = opt_positive(&f("first_fill_mid"), o.first_fill_mid)?;
    let half_spread = o.half_spread.map(|h| non_negative(&f("half_spread"), h)).transpose()?;
    let fees = finite(&f("fees"), o.fees)?;
    let vwap = opt_positive(&f("interval_vwap"), o.interval_vwap)?;
    let close = opt_positive(&f("close"), o.close)?;
    let (mut filled, mut notional) = (0.0, 0.0);
    for (j, fill) in o.fills.iter().enumerate() {
        let ff = |name: &str| format!("orders[{i}].fills[{j}].{name}");
        if let Some(t) = fill.time {
            finite(&ff("time"), t)?;
        }
        let q = positive(&ff("quantity"), fill.quantity)?;
        let p = positive(&ff("price"), fill.price)?;
        filled += q;
        notional += q * p;
    }
    if filled > quantity * (1.0 + 1e-12) {
        return Err(invalid(f("fills"), format!("fill {filled} shares, more than the {quantity} ordered")));
    }
    let filled = filled.min(quantity);
    let unfilled = quantity - filled;
    let s = o.side.sign();
    let average = (filled > 0.0).then(|| notional / filled);
    let start = first_fill_mid.unwrap_or(arrival);
    let delay = s * (start - arrival) * filled;
    let trading = average.map_or(0.0, |p| s * (p - start) * filled);
    let spread = half_spread.map_or(0.0, |h| h * filled);
    let impact = trading - spread;
    let opportunity = if unfilled > 0.0 {
        let c = close.ok_or_else(|| {
            invalid(f("close"), format!("is needed to value the {unfilled} unfilled shares (opportunity cost)"))
        })?;
        s * (c - arrival) * unfilled
    } else {
        0.0
    };
    let shortfall = delay + trading + opportunity + fees;
    let paper = quantity * arrival;
    let amount = |d: f64| Amount { dollars: d, bps: d / paper * 1e4 };
    let vs = |bench: Option<f64>| match (average, bench) {
        (Some(p), Some(b)) => Some((s * (p - b) / b * 1e4, s * (p - b) * filled)),
        _ => None,
    };
    let vs_vwap = vs(vwap);
    let result = OrderCost {
        id: o.id.clone().unwrap_or_else(|| i.to_string()),
        algorithm: o.algorithm.clone().unwrap_or_else(|| "unlabelled".to_owned()),
        side: o.side,
        quantity,
        filled,
        fill_rate: filled / quantity,
        average_price: average,
        delay: amount(delay),
        spread: amount(spread),
        impact: amount(impact),
        trading: amount(trading),
        opportunity: amount(opportunity),
        fees: amount(fees),
        shortfall: amount(shortfall),
        vs_vwap_bps: vs_vwap.map(|v| v.0),
        vs_vwap_dollars: vs_vwap.map(|v| v.1),
        vs_close_bps: vs(close).map(|v| v.0),
        beat_vwap: vs_vwap.map(|v| v.0 < 0.0),
    };
    let amounts =
        [result.delay, result.spread, result.impact, result.trading, result.opportunity, result.fees, result.shortfall];
    let ok = amounts.iter().all(|a| a.dollars.is_finite() && a.bps.is_finite())
        && [result.average_price, result.vs_vwap_bps, result.vs_vwap_dollars, result.vs_close_bps]
            .iter()
            .flatten()
            .all(|v| v.is_finite());
    if !ok {
        return Err(invalid(f("quantity"), "the costs overflow: quantity or prices are too large"));
    }
    Ok(result)
}
