//! Yield curves: discount factors, zero rates and forwards at any time, from zero rates given
//! at tenors or bootstrapped from par yields.
//!
//! - Times are in years. Internally a node is a tenor and its continuously compounded zero
//!   rate z, so that the discount factor is e^(−z·t); every interpolation works on those.
//!   Rates given or answered compound as the request says (`annual` by default, `semiannual`,
//!   `quarterly`, `monthly`, `continuous`): (1 + r/m)^(−m·t).
//! - Interpolation between nodes, stated in each answer:
//!   - `flat_forward` (the default): −ln DF linear in t, so the instantaneous forward is
//!     constant between nodes (Hagan and West 2006, "raw" interpolation);
//!   - `linear_zero`: the zero rate linear in t;
//!   - `monotone_convex`: Hagan and West's monotone convex method ("Interpolation Methods for
//!     Curve Construction", Applied Mathematical Finance 13(2), 2006, §3.3 and its four
//!     sectors): forwards at the nodes from the neighbouring discrete forwards, then on each
//!     interval a quadratic or piecewise quadratic g(x) that keeps the forward continuous and,
//!     where the discrete forwards are monotone, the forward monotone, and reprices every node
//!     exactly. The positivity amendment of their §3.4 is not applied: a forward may go below
//!     zero where the zero rates fall steeply.
//!
//!   Before the first node the curve starts at t = 0 with the first interval's forward (flat
//!   forward), Hagan and West's f₀ = f₁ᵈ − ½(f₁ − f₁ᵈ) (monotone convex) or the first zero
//!   rate (linear zero); after the last node the last forward continues (flat forward,
//!   monotone convex) or the last zero rate (linear zero).
//! - At most 60 nodes, and no forward between two nodes (nor, for monotone convex, at a node)
//!   beyond ±200%: a curve that steep would discount to infinity within the 100 years it is
//!   read over, and is refused naming the node.
//! - Par yields are bootstrapped (Hull, "Options, Futures, and Other Derivatives", ch. 4): a
//!   tenor up to one coupon period is a single payment, 1 = (1 + y·T)·DF(T) (money-market
//!   simple interest); a longer tenor, a whole number of coupon periods, is a bond priced at
//!   par, paying y/f at every coupon date back from T. Each node's zero rate is the root of
//!   its price less one given the nodes before it, coupon dates between nodes read off the
//!   interpolation. Monotone convex ties an interval to the next node too, so its bootstrap is
//!   repeated until no node moves by more than 1e-15 (at most 100 passes), as QuantLib's
//!   iterative bootstrap does for non-local interpolations.

use serde::{Deserialize, Serialize};

use crate::{invalid, SimError};

/// How a rate compounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compounding {
    #[default]
    Annual,
    Semiannual,
    Quarterly,
    Monthly,
    Continuous,
}

impl Compounding {
    /// Compoundings a year (none when continuous).
    pub(crate) fn per_year(self) -> Option<f64> {
        match self {
            Self::Annual => Some(1.0),
            Self::Semiannual => Some(2.0),
            Self::Quarterly => Some(4.0),
            Self::Monthly => Some(12.0),
            Self::Continuous => None,
        }
    }

    /// The continuously compounded rate equal to `rate` compounded this way.
    pub fn to_continuous(self, rate: f64) -> f64 {
        match self.per_year() {
            Some(m) => m * (rate / m).ln_1p(),
            None => rate,
        }
    }

    /// The rate compounded this way equal to the continuously compounded `z`.
    pub fn from_continuous(self, z: f64) -> f64 {
        match self.per_year() {
            Some(m) => m * (z / m).exp_m1(),
            None => z,
        }
    }
}

/// How the curve is read between its nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    #[default]
    FlatForward,
    LinearZero,
    MonotoneConvex,
}

/// A rate at a tenor.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Years from today (above 0, at most 100).
    pub tenor: f64,
    /// The rate (0.045 is 4.5%), from −0.5 to 1.
    pub rate: f64,
}

/// A curve as a request gives it: zero rates or par yields at tenors (ascending).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CurveSpec {
    /// Zero (spot) rates at their tenors, compounded as `compounding` says.
    #[serde(default)]
    pub zero_rates: Vec<Node>,
    /// Par yields at their tenors (coupon bonds priced at 100), compounded at the coupon
    /// frequency; instead of `zero_rates`.
    #[serde(default)]
    pub par_yields: Vec<Node>,
    /// Coupons a year of the par bonds: 1, 2 (the default: US Treasuries), 4 or 12.
    pub coupon_frequency: Option<u32>,
    /// How the zero rates given and answered compound (annual by default).
    #[serde(default)]
    pub compounding: Compounding,
    /// flat_forward (the default), linear_zero or monotone_convex.
    #[serde(default)]
    pub interpolation: Interpolation,
}

/// A built curve: nodes of continuously compounded zero rates.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    times: Vec<f64>,
    zeros: Vec<f64>,
    interpolation: Interpolation,
    /// Monotone convex: the instantaneous forward at t = 0 and at each node, and each
    /// interval's discrete forward.
    node_forwards: Vec<f64>,
    discrete: Vec<f64>,
}

const MOST_YEARS: f64 = 100.0;
/// The most nodes a curve takes.
const MOST_NODES: usize = 60;
/// The largest forward rate, continuously compounded, a curve may imply.
const MOST_FORWARD: f64 = 2.0;

impl Curve {
    /// A curve through the given continuously compounded zero rates.
    pub fn new(times: Vec<f64>, zeros: Vec<f64>, interpolation: Interpolation) -> Self {
        let mut c = Curve { times, zeros, interpolation, node_forwards: Vec::new(), discrete: Vec::new() };
        c.prepare();
        c
    }

    /// Builds the curve a request describes.
    pub fn build(spec: &CurveSpec) -> Result<Self, SimError> {
        Self::build_checked(spec, true)
    }

    /// The curve of a request whose input rates were moved by the caller (a basis point
    /// beyond the range a request may give is allowed), the forwards still bounded.
    pub(crate) fn bumped(spec: &CurveSpec) -> Result<Self, SimError> {
        Self::build_checked(spec, false)
    }

    fn build_checked(spec: &CurveSpec, check_rates: bool) -> Result<Self, SimError> {
        let (field, nodes) = match (spec.zero_rates.is_empty(), spec.par_yields.is_empty()) {
            (false, true) => ("zero_rates", &spec.zero_rates),
            (true, false) => ("par_yields", &spec.par_yields),
            (true, true) => return Err(invalid("zero_rates", "give zero_rates or par_yields")),
            (false, false) => return Err(invalid("par_yields", "give zero_rates or par_yields, not both")),
        };
        check_nodes(field, nodes, check_rates)?;
        let curve = if field == "zero_rates" {
            let times = nodes.iter().map(|n| n.tenor).collect();
            let zeros = nodes.iter().map(|n| spec.compounding.to_continuous(n.rate)).collect();
            Self::new(times, zeros, spec.interpolation)
        } else {
            bootstrap(spec)?
        };
        curve.check_forwards(field)?;
        Ok(curve)
    }

    /// Refuses a curve whose forwards exceed ±200% (see the module doc).
    fn check_forwards(&self, field: &str) -> Result<(), SimError> {
        let (mut t0, mut y0) = (0.0, 0.0);
        for (i, (t, z)) in self.nodes().enumerate() {
            let forward = (z * t - y0) / (t - t0);
            let node = self.node_forwards.get(i + 1).copied().unwrap_or(0.0);
            if !(forward.abs() <= MOST_FORWARD && node.abs() <= MOST_FORWARD) {
                return Err(invalid(
                    format!("{field}[{i}].rate"),
                    format!("implies a forward rate of {:.4} from {t0} to {t} years; at most ±{MOST_FORWARD}", forward),
                ));
            }
            (t0, y0) = (t, z * t);
        }
        Ok(())
    }

    /// The nodes: tenors and their continuously compounded zero rates.
    pub fn nodes(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.times.iter().copied().zip(self.zeros.iter().copied())
    }

    fn prepare(&mut self) {
        if self.interpolation != Interpolation::MonotoneConvex {
            return;
        }
        // Discrete forwards of each interval from 0, then the node forwards (Hagan-West (26)-(28)).
        let n = self.times.len();
        let mut discrete = Vec::with_capacity(n);
        let (mut t0, mut y0) = (0.0, 0.0);
        for (t, z) in self.nodes() {
            discrete.push((z * t - y0) / (t - t0));
            (t0, y0) = (t, z * t);
        }
        let mut f = vec![0.0; n + 1];
        for i in 1..n {
            let (a, b, c) = (self.left(i - 1), self.times[i - 1], self.times[i]);
            // f_i = (t_i − t_{i−1})/(t_{i+1} − t_{i−1}) · fd_{i+1} + (t_{i+1} − t_i)/(…) · fd_i,
            // with the node at index i − 1 here the end of interval i − 1.
            f[i] = (b - a) / (c - a) * discrete[i] + (c - b) / (c - a) * discrete[i - 1];
        }
        if n == 1 {
            f[0] = discrete[0];
            f[1] = discrete[0];
        } else {
            f[0] = discrete[0] - (f[1] - discrete[0]) / 2.0;
            f[n] = discrete[n - 1] - (f[n - 1] - discrete[n - 1]) / 2.0;
        }
        self.node_forwards = f;
        self.discrete = discrete;
    }

    /// The start of interval `i` (0 for the first).
    fn left(&self, i: usize) -> f64 {
        if i == 0 {
            0.0
        } else {
            self.times[i - 1]
        }
    }

    /// −ln DF(t) = z(t)·t.
    fn integral(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let n = self.times.len();
        let last = self.times[n - 1];
        if t >= last {
            let y = self.zeros[n - 1] * last;
            return match self.interpolation {
                Interpolation::LinearZero => self.zeros[n - 1] * t,
                Interpolation::FlatForward => y + self.last_forward() * (t - last),
                Interpolation::MonotoneConvex => y + self.node_forwards[n] * (t - last),
            };
        }
        // The interval holding t: i with left(i) < t <= times[i].
        let i = self.times.partition_point(|&x| x < t);
        let (a, b) = (self.left(i), self.times[i]);
        let ya = if i == 0 { 0.0 } else { self.zeros[i - 1] * a };
        let yb = self.zeros[i] * b;
        let x = (t - a) / (b - a);
        match self.interpolation {
            Interpolation::FlatForward => ya + (yb - ya) * x,
            Interpolation::LinearZero => {
                let za = if i == 0 { self.zeros[0] } else { self.zeros[i - 1] };
                (za + (self.zeros[i] - za) * x) * t
            }
            Interpolation::MonotoneConvex => {
                let fd = self.discrete[i];
                let (g0, g1) = (self.node_forwards[i] - fd, self.node_forwards[i + 1] - fd);
                ya + (b - a) * (fd * x + g_integral(g0, g1, x))
            }
        }
    }

    /// The flat forward after the last node: the last interval's.
    fn last_forward(&self) -> f64 {
        let n = self.times.len();
        let (a, b) = (self.left(n - 1), self.times[n - 1]);
        let ya = if n == 1 { 0.0 } else { self.zeros[n - 2] * a };
        (self.zeros[n - 1] * b - ya) / (b - a)
    }

    /// The discount factor at `t` years.
    pub fn discount(&self, t: f64) -> f64 {
        (-self.integral(t)).exp()
    }

    /// The continuously compounded zero rate at `t` (the first node's at t = 0).
    pub fn zero(&self, t: f64) -> f64 {
        if t <= 1e-12 {
            return match self.interpolation {
                Interpolation::LinearZero => self.zeros[0],
                Interpolation::FlatForward => self.zeros[0],
                Interpolation::MonotoneConvex => self.node_forwards[0],
            };
        }
        self.integral(t) / t
    }

    /// The instantaneous forward at `t`, by a central difference of −ln DF over ±1e-6 years
    /// (one-sided at 0).
    pub fn forward(&self, t: f64) -> f64 {
        let h = 1e-6;
        if t <= h {
            return (self.integral(t + h) - self.integral(t)) / h;
        }
        (self.integral(t + h) - self.integral(t - h)) / (2.0 * h)
    }
}

/// ∫₀ˣ g for Hagan and West's g on an interval whose forwards less the discrete forward are g0
/// at its start and g1 at its end (their sectors (i)-(iv); the integral over the whole
/// interval is 0, so the node is repriced).
fn g_integral(g0: f64, g1: f64, x: f64) -> f64 {
    let tiny = 1e-16;
    if g0.abs() < tiny && g1.abs() < tiny {
        return 0.0;
    }
    let cube = |v: f64| v * v * v;
    // One end on the discrete forward: the quadratic of sector (i) still ends at the other.
    let sector_i = g0.abs() < tiny
        || g1.abs() < tiny
        || (g0 < 0.0 && -g0 / 2.0 <= g1 && g1 <= -2.0 * g0)
        || (g0 > 0.0 && -g0 / 2.0 >= g1 && g1 >= -2.0 * g0);
    let sector_ii = (g0 < 0.0 && g1 > -2.0 * g0) || (g0 > 0.0 && g1 < -2.0 * g0);
    let sector_iii = (g0 > 0.0 && 0.0 > g1 && g1 > -g0 / 2.0) || (g0 < 0.0 && 0.0 < g1 && g1 < -g0 / 2.0);
    if sector_i {
        g0 * (x - 2.0 * x * x + cube(x)) + g1 * (-x * x + cube(x))
    } else if sector_ii {
        let eta = (g1 + 2.0 * g0) / (g1 - g0);
        if x <= eta {
            g0 * x
        } else {
            g0 * x + (g1 - g0) * cube(x - eta) / (3.0 * (1.0 - eta) * (1.0 - eta))
        }
    } else if sector_iii {
        let eta = 3.0 * g1 / (g1 - g0);
        if x < eta {
            g1 * x + (g0 - g1) * (cube(eta) - cube(eta - x)) / (3.0 * eta * eta)
        } else {
            g1 * x + (g0 - g1) * eta / 3.0
        }
    } else {
        // Sector (iv): g0 and g1 of one sign (or one of them zero).
        let s = g0 + g1;
        if s.abs() < tiny {
            return 0.0;
        }
        let eta = g1 / s;
        let a = -g0 * g1 / s;
        if x <= eta {
            if eta <= 0.0 {
                return a * x;
            }
            a * x + (g0 - a) * (cube(eta) - cube(eta - x)) / (3.0 * eta * eta)
        } else {
            let head = if eta > 0.0 { (g0 - a) * eta / 3.0 } else { 0.0 };
            a * x + head + (g1 - a) * cube(x - eta) / (3.0 * (1.0 - eta) * (1.0 - eta))
        }
    }
}

fn check_nodes(field: &str, nodes: &[Node], check_rates: bool) -> Result<(), SimError> {
    if nodes.len() > MOST_NODES {
        return Err(invalid(field, format!("{} nodes; at most {MOST_NODES}", nodes.len())));
    }
    let mut before = 0.0;
    for (i, n) in nodes.iter().enumerate() {
        if !(n.tenor > before && n.tenor <= MOST_YEARS) {
            return Err(invalid(
                format!("{field}[{i}].tenor"),
                format!("{} must be above the tenor before ({before}) and at most {MOST_YEARS}", n.tenor),
            ));
        }
        if !(-0.5..=1.0).contains(&n.rate) && (check_rates || !(-0.6..=1.1).contains(&n.rate)) {
            return Err(invalid(format!("{field}[{i}].rate"), format!("{} is not a rate from -0.5 to 1", n.rate)));
        }
        before = n.tenor;
    }
    Ok(())
}

/// The zero rates that price every par instrument at 1.
fn bootstrap(spec: &CurveSpec) -> Result<Curve, SimError> {
    let nodes = &spec.par_yields;
    let f = spec.coupon_frequency.unwrap_or(2);
    if ![1, 2, 4, 12].contains(&f) {
        return Err(invalid("coupon_frequency", format!("{f} is not 1, 2, 4 or 12")));
    }
    let period = 1.0 / f64::from(f);
    for (i, n) in nodes.iter().enumerate() {
        let periods = n.tenor / period;
        if n.tenor > period + 1e-9 && (periods - periods.round()).abs() > 1e-6 {
            return Err(invalid(
                format!("par_yields[{i}].tenor"),
                format!("{} years is not a whole number of coupon periods of {period} years", n.tenor),
            ));
        }
    }
    let times: Vec<f64> = nodes.iter().map(|n| n.tenor).collect();
    // A first guess: each par yield as a continuously compounded zero.
    let compounding = match f {
        1 => Compounding::Annual,
        2 => Compounding::Semiannual,
        4 => Compounding::Quarterly,
        _ => Compounding::Monthly,
    };
    let mut zeros: Vec<f64> = nodes.iter().map(|n| compounding.to_continuous(n.rate)).collect();
    let passes = if spec.interpolation == Interpolation::MonotoneConvex { 100 } else { 1 };
    for _ in 0..passes {
        let mut moved: f64 = 0.0;
        for k in 0..nodes.len() {
            let price = |z: f64| {
                let mut trial = zeros.clone();
                trial[k] = z;
                let curve = Curve::new(times.clone(), trial, spec.interpolation);
                par_price(&curve, nodes[k], period) - 1.0
            };
            let z = solve(price, zeros[k]).ok_or_else(|| {
                invalid(
                    format!("par_yields[{k}].rate"),
                    "no zero rate from -0.5 to 1 prices this par instrument at 100",
                )
            })?;
            moved = moved.max((z - zeros[k]).abs());
            zeros[k] = z;
        }
        if moved < 1e-15 {
            break;
        }
    }
    Ok(Curve::new(times, zeros, spec.interpolation))
}

/// A par instrument's price per 1 of face on `curve`.
fn par_price(curve: &Curve, node: Node, period: f64) -> f64 {
    let (t, y) = (node.tenor, node.rate);
    if t <= period + 1e-9 {
        return (1.0 + y * t) * curve.discount(t);
    }
    let coupons = (t / period).round() as usize;
    let coupon = y * period;
    let mut price = curve.discount(t);
    for j in 0..coupons {
        price += coupon * curve.discount(t - j as f64 * period);
    }
    price
}

/// The root of `f` (decreasing in z) between −0.5 and 1: bisection, from a bracket around the
/// guess.
fn solve(f: impl Fn(f64) -> f64, guess: f64) -> Option<f64> {
    let (mut lo, mut hi) = (-0.5_f64, 1.0_f64);
    let (flo, fhi) = (f(lo), f(hi));
    if !(flo.is_finite() && fhi.is_finite()) || flo.signum() == fhi.signum() {
        return None;
    }
    // Narrow the bracket around the guess first.
    for step in [1e-4, 1e-3, 1e-2] {
        let (a, b) = ((guess - step).max(lo), (guess + step).min(hi));
        if f(a).signum() == flo.signum() && f(b).signum() == fhi.signum() {
            (lo, hi) = (a, b);
            break;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid).signum() == flo.signum() {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-17 {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

/// `cairn quant curve`: the curve at the nodes and at asked times.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CurveRequest {
    pub curve: CurveSpec,
    /// Times (years) to read the curve at (default: every node, and 0.5, 1, 2, … 30 within
    /// them).
    #[serde(default)]
    pub times: Vec<f64>,
}

/// The curve at one time.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Point {
    pub time: f64,
    /// The zero rate compounded as the request's `compounding`.
    pub zero_rate: f64,
    pub discount_factor: f64,
    /// The instantaneous forward, continuously compounded.
    pub forward: f64,
}

/// The curve read.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CurveResult {
    pub interpolation: Interpolation,
    pub compounding: Compounding,
    /// Each node: its tenor, zero rate (as compounded) and discount factor.
    pub nodes: Vec<Point>,
    pub points: Vec<Point>,
    /// For bootstrapped par yields: the largest difference from 1 of a par instrument's price
    /// on the curve.
    pub repricing_error: Option<f64>,
}

/// Reads the curve a request gives.
pub fn read(req: &CurveRequest) -> Result<CurveResult, SimError> {
    let curve = Curve::build(&req.curve)?;
    let c = req.curve.compounding;
    let point = |t: f64| Point {
        time: t,
        zero_rate: c.from_continuous(curve.zero(t)),
        discount_factor: curve.discount(t),
        forward: curve.forward(t),
    };
    for (i, t) in req.times.iter().enumerate() {
        if !(0.0..=MOST_YEARS).contains(t) {
            return Err(invalid(format!("times[{i}]"), format!("{t} is not 0 to {MOST_YEARS} years")));
        }
    }
    let last = curve.times[curve.times.len() - 1];
    let times: Vec<f64> = if req.times.is_empty() {
        let mut t: Vec<f64> = [0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 25.0, 30.0]
            .into_iter()
            .filter(|t| *t <= last)
            .chain(curve.times.iter().copied())
            .collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t
    } else {
        req.times.clone()
    };
    let repricing_error = (!req.curve.par_yields.is_empty()).then(|| {
        let period = 1.0 / f64::from(req.curve.coupon_frequency.unwrap_or(2));
        req.curve.par_yields.iter().map(|n| (par_price(&curve, *n, period) - 1.0).abs()).fold(0.0, f64::max)
    });
    Ok(CurveResult {
        interpolation: req.curve.interpolation,
        compounding: c,
        nodes: curve.times.iter().map(|t| point(*t)).collect(),
        points: times.into_iter().map(point).collect(),
        repricing_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(rates: &[(f64, f64)]) -> Vec<Node> {
        rates.iter().map(|&(tenor, rate)| Node { tenor, rate }).collect()
    }

    fn spec(zero: &[(f64, f64)], interpolation: Interpolation) -> CurveSpec {
        CurveSpec {
            zero_rates: nodes(zero),
            par_yields: Vec::new(),
            coupon_frequency: None,
            compounding: Compounding::Continuous,
            interpolation,
        }
    }

    const ZEROS: [(f64, f64); 5] = [(1.0, 0.03), (2.0, 0.035), (5.0, 0.04), (10.0, 0.042), (30.0, 0.041)];

    #[test]
    fn every_interpolation_reprices_its_nodes() {
        for i in [Interpolation::FlatForward, Interpolation::LinearZero, Interpolation::MonotoneConvex] {
            let c = Curve::build(&spec(&ZEROS, i)).unwrap();
            for (t, z) in ZEROS {
                assert!((c.zero(t) - z).abs() < 1e-14, "{i:?} at {t}: {}", c.zero(t));
                assert!((c.discount(t) - (-z * t).exp()).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn flat_forward_has_constant_forwards_between_nodes() {
        let c = Curve::build(&spec(&ZEROS, Interpolation::FlatForward)).unwrap();
        // Between 2 and 5 years: (0.04·5 − 0.035·2)/3.
        let expected = (0.04 * 5.0 - 0.035 * 2.0) / 3.0;
        for t in [2.5, 3.0, 4.9] {
            assert!((c.forward(t) - expected).abs() < 1e-8, "{t}: {}", c.forward(t));
        }
        // Linear zero: halfway between 2 and 5 years the zero rate is the average.
        let l = Curve::build(&spec(&ZEROS, Interpolation::LinearZero)).unwrap();
        assert!((l.zero(3.5) - 0.0375).abs() < 1e-15);
    }

    #[test]
    fn monotone_convex_forwards_are_continuous_and_average_to_the_discrete_forward() {
        let c = Curve::build(&spec(&ZEROS, Interpolation::MonotoneConvex)).unwrap();
        for (t, _) in &ZEROS[..4] {
            let (before, after) = (c.forward(t - 1e-4), c.forward(t + 1e-4));
            assert!((before - after).abs() < 1e-5, "jump at {t}: {before} {after}");
        }
        // The forward's integral over [2, 5] is −ln DF(5) + ln DF(2).
        let steps = 30_000;
        let h = 3.0 / f64::from(steps);
        let integral: f64 = (0..steps).map(|k| c.forward(2.0 + (f64::from(k) + 0.5) * h) * h).sum();
        assert!((integral - (0.04 * 5.0 - 0.035 * 2.0)).abs() < 1e-8, "{integral}");
        // Increasing discrete forwards keep every forward between them (no overshoot), and a
        // flat curve stays flat.
        let rising = [(1.0, 0.01), (2.0, 0.02), (3.0, 0.03), (4.0, 0.04)];
        let r = Curve::build(&spec(&rising, Interpolation::MonotoneConvex)).unwrap();
        let forwards: Vec<f64> = (1..400).map(|k| r.forward(f64::from(k) * 0.01)).collect();
        assert!(forwards.windows(2).all(|w| w[1] >= w[0] - 1e-9), "not monotone");
        let flat = Curve::build(&spec(&[(1.0, 0.05), (10.0, 0.05)], Interpolation::MonotoneConvex)).unwrap();
        assert!((flat.forward(3.3) - 0.05).abs() < 1e-9 && (flat.zero(7.0) - 0.05).abs() < 1e-15);
    }

    /// Hagan and West's g(x) of each sector, written as the paper gives it.
    fn g(g0: f64, g1: f64, x: f64) -> f64 {
        if (g0 < 0.0 && g1 > -2.0 * g0) || (g0 > 0.0 && g1 < -2.0 * g0) {
            let eta = (g1 + 2.0 * g0) / (g1 - g0);
            if x <= eta {
                g0
            } else {
                g0 + (g1 - g0) * ((x - eta) / (1.0 - eta)).powi(2)
            }
        } else if (g0 > 0.0 && 0.0 > g1 && g1 > -g0 / 2.0) || (g0 < 0.0 && 0.0 < g1 && g1 < -g0 / 2.0) {
            let eta = 3.0 * g1 / (g1 - g0);
            if x < eta {
                g1 + (g0 - g1) * ((eta - x) / eta).powi(2)
            } else {
                g1
            }
        } else if g0 * g1 > 0.0 {
            let eta = g1 / (g1 + g0);
            let a = -g0 * g1 / (g0 + g1);
            if x <= eta {
                a + (g0 - a) * ((eta - x) / eta).powi(2)
            } else {
                a + (g1 - a) * ((x - eta) / (1.0 - eta)).powi(2)
            }
        } else {
            g0 * (1.0 - 4.0 * x + 3.0 * x * x) + g1 * (-2.0 * x + 3.0 * x * x)
        }
    }

    #[test]
    fn each_sectors_integral_is_the_papers_g_and_reprices_the_interval() {
        // Sectors (i) to (iv), each at both signs.
        for (g0, g1) in
            [(-1.0, 1.0), (1.0, -1.5), (-1.0, 3.0), (1.0, -3.0), (1.0, -0.3), (-1.0, 0.3), (1.0, 2.0), (-2.0, -0.5)]
        {
            assert!(g_integral(g0, g1, 1.0).abs() < 1e-14, "({g0}, {g1}) does not reprice");
            for x in [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95] {
                let h = 1e-6;
                let slope = (g_integral(g0, g1, x + h) - g_integral(g0, g1, x - h)) / (2.0 * h);
                assert!((slope - g(g0, g1, x)).abs() < 1e-6, "({g0}, {g1}) at {x}: {slope} against {}", g(g0, g1, x));
            }
        }
        // Sector (ii) by hand: η = (3 − 2)/(3 + 1) = ¼; at ½, −½ + 4·(¼)³/(3·(¾)²) = −0.462963.
        assert!((g_integral(-1.0, 3.0, 0.5) - (-0.5 + 4.0 * 0.015625 / 1.6875)).abs() < 1e-15);
    }

    #[test]
    fn par_yields_bootstrap_to_a_curve_that_prices_them_at_par() {
        for interpolation in [Interpolation::FlatForward, Interpolation::LinearZero, Interpolation::MonotoneConvex] {
            let s = CurveSpec {
                zero_rates: Vec::new(),
                par_yields: nodes(&[
                    (0.5, 0.043),
                    (1.0, 0.041),
                    (2.0, 0.038),
                    (5.0, 0.037),
                    (10.0, 0.041),
                    (30.0, 0.047),
                ]),
                coupon_frequency: Some(2),
                compounding: Compounding::Semiannual,
                interpolation,
            };
            let r = read(&CurveRequest { curve: s, times: vec![] }).unwrap();
            assert!(r.repricing_error.unwrap() < 1e-12, "{interpolation:?}: {:?}", r.repricing_error);
            // The six-month bill: 1 = (1 + 0.043/2)·DF.
            assert!((r.nodes[0].discount_factor - 1.0 / 1.0215).abs() < 1e-14);
        }
        // A flat par curve is a flat zero curve at the same semiannual rate.
        let s = CurveSpec {
            zero_rates: Vec::new(),
            par_yields: nodes(&[(1.0, 0.05), (2.0, 0.05), (10.0, 0.05)]),
            coupon_frequency: Some(2),
            compounding: Compounding::Semiannual,
            interpolation: Interpolation::FlatForward,
        };
        let r = read(&CurveRequest { curve: s, times: vec![7.0] }).unwrap();
        assert!((r.points[0].zero_rate - 0.05).abs() < 1e-12, "{:?}", r.points);
    }

    #[test]
    fn bad_curves_name_their_field() {
        let mut s = spec(&[(2.0, 0.03), (1.0, 0.03)], Interpolation::FlatForward);
        assert!(Curve::build(&s).unwrap_err().to_string().starts_with("zero_rates[1].tenor"));
        s.zero_rates = nodes(&[(1.0, 3.0)]);
        assert!(Curve::build(&s).unwrap_err().to_string().starts_with("zero_rates[0].rate"));
        s.zero_rates.clear();
        assert!(Curve::build(&s).unwrap_err().to_string().starts_with("zero_rates"));
        s.par_yields = nodes(&[(1.3, 0.03)]);
        assert!(Curve::build(&s).unwrap_err().to_string().starts_with("par_yields[0].tenor"));
        // A forward of −139% a year between 1 and 1.01 years would discount to infinity.
        s.par_yields.clear();
        s.zero_rates = nodes(&[(1.0, 1.0), (1.01, -0.5)]);
        assert!(Curve::build(&s).unwrap_err().to_string().starts_with("zero_rates[1].rate"));
        s.zero_rates = (1..=61).map(|k| Node { tenor: f64::from(k), rate: 0.03 }).collect();
        assert!(Curve::build(&s).unwrap_err().to_string().starts_with("zero_rates: 61 nodes"));
    }
}
