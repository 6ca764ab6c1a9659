//! American options by the Bjerksund-Stensland approximation with a flat exercise boundary
//! (Bjerksund and Stensland, 1993): the method of QuantLib's
//! `BjerksundStenslandApproximationEngine`, which this module reproduces to 1e-10.
//!
//! A call is worth the approximation with the trigger price
//! `I = B0 + (B∞ − B0)(1 − e^{h(T)})`; a put is the call with spot and strike swapped and the
//! rate and dividend yield swapped (the put-call transformation). Where early exercise never
//! pays (a call with `q ≤ 0`, a put with `r ≤ 0`) the price is the European one. The Greeks
//! are the exact derivatives of that price, trigger included, computed by forward-mode
//! automatic differentiation, as QuantLib's engine returns them.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::implied::erfcx;
use super::{check_market, norm_cdf, norm_pdf, BsInput, Greeks};

/// √(π/2).
const SQRT_PI_OVER_TWO: f64 = 1.253_314_137_315_500_3;
use crate::SimError;

/// Price and Greeks of an American option (same units as [`Greeks`]: vega per 1.00 of
/// volatility, theta per year of calendar time, rho per 1.00 of the rate), plus the
/// sensitivity to the dividend yield and the approximation's exercise trigger.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AmericanGreeks {
    pub price: f64,
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
    pub rho: f64,
    /// Derivative of the price with respect to the dividend yield (per 1.00).
    pub dividend_rho: f64,
    /// Spot price at which immediate exercise is optimal under the approximation (above it
    /// for a call, below it for a put); `None` where early exercise never pays.
    pub exercise_boundary: Option<f64>,
}

impl AmericanGreeks {
    /// The price and the five Greeks shared with European options.
    pub fn greeks(&self) -> Greeks {
        Greeks {
            price: self.price,
            delta: self.delta,
            gamma: self.gamma,
            vega: self.vega,
            theta: self.theta,
            rho: self.rho,
        }
    }
}

/// Which Bjerksund-Stensland approximation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AmericanMethod {
    /// The 1993 flat boundary, as QuantLib's engine; exact Greeks.
    #[default]
    Bs1993,
    /// The 2002 two-step boundary; Greeks by central finite differences.
    Bs2002,
}

/// An American option: the European fields plus the approximation to use (default 1993); no
/// dividend yield when `dividend` is absent.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct AmericanInput {
    pub kind: super::OptionKind,
    pub spot: f64,
    pub strike: f64,
    pub rate: f64,
    #[serde(default)]
    pub dividend: f64,
    pub volatility: f64,
    pub expiry: f64,
    #[serde(default)]
    pub method: AmericanMethod,
}

/// Price and Greeks of an American option by the chosen method, after checking the input.
/// For the 2002 method the Greeks are central finite differences of its price: the spot
/// bumped by ±0.01%, the volatility, rate and dividend by ±1e-5 (±1e-4 of the volatility
/// when smaller), the expiry by ±0.01% (theta is minus the derivative); gamma from ±0.1%
/// of the spot.
pub fn american_request(request: &AmericanInput) -> Result<AmericanGreeks, SimError> {
    let input = BsInput {
        kind: request.kind,
        spot: request.spot,
        strike: request.strike,
        rate: request.rate,
        dividend: request.dividend,
        volatility: request.volatility,
        expiry: request.expiry,
    };
    let g = american(&input)?;
    if request.method == AmericanMethod::Bs1993 {
        return finite(g);
    }
    let price = |f: &dyn Fn(&mut BsInput)| {
        let mut i = input;
        f(&mut i);
        bjerksund_stensland_2002(&i)
    };
    let central = |h: f64, f: &dyn Fn(&mut BsInput, f64)| (price(&|i| f(i, h)) - price(&|i| f(i, -h))) / (2.0 * h);
    let p = bjerksund_stensland_2002(&input);
    let hs = 1e-4 * input.spot;
    let hg = 1e-3 * input.spot;
    let hv = 1e-5_f64.min(1e-4 * input.volatility);
    let ht = 1e-4 * input.expiry;
    finite(AmericanGreeks {
        price: p,
        delta: central(hs, &|i, h| i.spot += h),
        gamma: (price(&|i| i.spot += hg) - 2.0 * p + price(&|i| i.spot -= hg)) / (hg * hg),
        vega: central(hv, &|i, h| i.volatility += h),
        theta: -central(ht, &|i, h| i.expiry += h),
        rho: central(1e-5, &|i, h| i.rate += h),
        dividend_rho: central(1e-5, &|i, h| i.dividend += h),
        exercise_boundary: trigger_2002(&input),
    })
}

/// The result when every figure is a finite number (see [`super::finite`]).
fn finite(g: AmericanGreeks) -> Result<AmericanGreeks, SimError> {
    let greeks =
        super::Greeks { price: g.price, delta: g.delta, gamma: g.gamma, vega: g.vega, theta: g.theta, rho: g.rho };
    super::finite(greeks)?;
    if g.dividend_rho.is_finite() && g.exercise_boundary.is_none_or(f64::is_finite) {
        Ok(g)
    } else {
        Err(SimError::Invalid {
            field: "rate".into(),
            problem: "with this dividend, volatility and expiry a Greek is not a finite number".into(),
        })
    }
}

/// The spot at which the 2002 approximation exercises at once (`None` where early exercise
/// never pays).
fn trigger_2002(input: &BsInput) -> Option<f64> {
    let (x, r, q) = match input.kind {
        super::OptionKind::Call => (input.strike, input.rate, input.dividend),
        super::OptionKind::Put => (input.spot, input.dividend, input.rate),
    };
    let (v, t, b) = (input.volatility, input.expiry, r - q);
    if b >= r {
        return None;
    }
    let v2 = v * v;
    let beta = (0.5 - b / v2) + ((b / v2 - 0.5).powi(2) + 2.0 * r / v2).sqrt();
    let b_infinity = beta / (beta - 1.0) * x;
    let b0 = if r == b { x } else { x.max(r / (r - b) * x) };
    let h = -(b * t + 2.0 * v * t.sqrt()) * x * x / ((b_infinity - b0) * b0);
    let i2 = b0 + (b_infinity - b0) * (1.0 - h.exp());
    match input.kind {
        super::OptionKind::Call => Some(i2),
        // As for the 1993 trigger: the swapped call's trigger is degree 1 in its strike.
        super::OptionKind::Put => Some(input.strike * input.spot / i2),
    }
}

/// Bjerksund-Stensland (1993) price and Greeks of an American option, after checking the
/// input (the same fields as a European option).
pub fn american(input: &BsInput) -> Result<AmericanGreeks, SimError> {
    check_market(input.spot, input.strike, input.rate, input.dividend, input.expiry)?;
    if !(input.volatility.is_finite() && input.volatility > 0.0) {
        return Err(SimError::Invalid {
            field: "volatility".to_owned(),
            problem: "must be a positive number".to_owned(),
        });
    }
    bjerksund_stensland(input).ok_or_else(|| SimError::Invalid {
        field: "rate".to_owned(),
        problem: "the Bjerksund-Stensland approximation does not cover negative rate and dividend yield with two \
                  exercise boundaries (a call with rate < dividend < 0, a put with dividend < rate < 0)"
            .to_owned(),
    })
}

/// Bjerksund-Stensland (1993) price and Greeks; the input is taken as valid. `None` in the
/// double-boundary case (a call with `r < q < 0`, a put with `q < r < 0`), which QuantLib
/// refuses too.
pub fn bjerksund_stensland(input: &BsInput) -> Option<AmericanGreeks> {
    let spot = Jet::variable(input.spot, Var::Spot);
    let strike = Jet::constant(input.strike);
    let rate = Jet::variable(input.rate, Var::Rate);
    let dividend = Jet::variable(input.dividend, Var::Dividend);
    let vol = Jet::variable(input.volatility, Var::Vol);
    let expiry = Jet::variable(input.expiry, Var::Expiry);
    // The put is the call with spot and strike, rate and dividend swapped.
    let (s, x, r, q) = match input.kind {
        super::OptionKind::Call => (spot, strike, rate, dividend),
        super::OptionKind::Put => (strike, spot, dividend, rate),
    };
    let (price, trigger) = call_price(s, x, r, q, vol, expiry)?;
    let exercise_boundary = trigger.map(|i| match input.kind {
        super::OptionKind::Call => i,
        // The swapped call's trigger is the spot times a factor c (the trigger is of degree 1
        // in the strike), and it is exercised when K ≥ c·S: the put's boundary is K/c.
        super::OptionKind::Put => input.strike * input.spot / i,
    });
    Some(AmericanGreeks {
        price: price.v,
        delta: price.d[Var::Spot as usize],
        gamma: price.ss,
        vega: price.d[Var::Vol as usize],
        theta: -price.d[Var::Expiry as usize],
        rho: price.d[Var::Rate as usize],
        dividend_rho: price.d[Var::Dividend as usize],
        exercise_boundary,
    })
}

/// The approximate American call and its trigger price (`None` where the European price or
/// immediate exercise is used without one), choosing between the approximation, the European
/// price and immediate exercise as QuantLib's engine does; `None` overall in the
/// double-boundary case `r < q < 0`, which the approximation does not cover.
fn call_price(s: Jet, x: Jet, r: Jet, q: Jet, vol: Jet, t: Jet) -> Option<(Jet, Option<f64>)> {
    let variance = vol * vol * t;
    let rt = r * t;
    // bT = ln(dD/rfD) = (r − q)·T.
    let bt = rt - q * t;
    let (risk_free_discount, dividend_discount) = ((-rt.v).exp(), (-(q.v * t.v)).exp());
    if dividend_discount > 1.0 && risk_free_discount > dividend_discount {
        return None;
    }
    let sd = variance.sqrt();
    let european = {
        let d1 = ((s / x).ln() + bt) / sd + sd * 0.5;
        let d2 = d1 - sd;
        let mut e = s * (-(q * t)).exp() * d1.ncdf() - x * (-rt).exp() * d2.ncdf();
        // The value from the normalised Black function, which does not cancel out of the
        // money (the derivatives above do not cancel).
        let m = (s.v / x.v).ln() + bt.v;
        e.v = x.v * (-rt.v).exp() * (0.5 * m).exp() * super::implied::normalised_black_call(m, sd.v);
        e
    };
    let immediate = if s.v >= x.v { s - x } else { Jet::constant(0.0) };
    let (mut price, mut trigger) = (european, None);
    // Early exercise pays only when the dividend discount factor is below 1 or below the
    // rate's.
    if !(dividend_discount >= 1.0 && dividend_discount >= risk_free_discount) {
        let beta = (Jet::constant(0.5) - bt / variance) + ((bt / variance - 0.5).square() + rt * 2.0 / variance).sqrt();
        let b_infinity = beta / (beta - 1.0) * x;
        let b0 = if q.v == 0.0 {
            x
        } else {
            let candidate = rt / (rt - bt) * x;
            if x.v >= candidate.v {
                x
            } else {
                candidate
            }
        };
        let ht = -(bt + sd * 2.0) * b0 / (b_infinity - b0);
        let i = b0 + (b_infinity - b0) * (Jet::constant(1.0) - ht.exp());
        let forward = s.v * dividend_discount / risk_free_discount;
        if s.v >= i.v {
            price = immediate;
            trigger = Some(i.v);
        } else if (i.v / forward).ln() / sd.v <= 12.5 {
            // (Beyond 12.5 standard deviations the boundary has run away: European.)
            // α·S^β − α·φ(S, β, I, I) + φ(S, 1, I, I) − … with α = (I − X)·I^{−β}, the
            // powers of S taken out of φ so that none overflows.
            let one = Jet::constant(1.0);
            let zero = Jet::constant(0.0);
            price = (i - x) * (s / i).pow(beta) * (one - phi(s, beta, i, i, rt, bt, variance))
                + s * phi(s, one, i, i, rt, bt, variance)
                - s * phi(s, one, x, i, rt, bt, variance)
                - x * phi(s, zero, i, i, rt, bt, variance)
                + x * phi(s, zero, x, i, rt, bt, variance);
            trigger = Some(i.v);
        }
        if price.v < european.v {
            price = european;
        }
    }
    if price.v < (s.v - x.v) * (1.0 + 10.0 * f64::EPSILON) {
        price = immediate;
    }
    Some((price, trigger))
}

/// Bjerksund-Stensland's φ(S, γ, H, I) divided by S^γ, over a horizon with `rt = r·T`,
/// `bt = (r−q)·T` and `variance = σ²·T`.
fn phi(s: Jet, gamma: Jet, h: Jet, i: Jet, rt: Jet, bt: Jet, variance: Jet) -> Jet {
    let lambda = -rt + gamma * bt + gamma * (gamma - 1.0) * variance * 0.5;
    let sd = variance.sqrt();
    let d = -((s / h).ln() + (bt + (gamma - 0.5) * variance)) / sd;
    let kappa = bt * 2.0 / variance + (gamma * 2.0 - 1.0);
    let ln_i_over_s = (i / s).ln();
    // (I/S)^κ·Φ(z) as one exponential: the power can overflow where Φ(z) underflows.
    lambda.exp() * (d.ncdf() - (kappa * ln_i_over_s + (d - ln_i_over_s * 2.0 / sd).ln_ncdf()).exp())
}

/// The variables the Greeks differentiate by.
#[derive(Clone, Copy)]
enum Var {
    Spot = 0,
    Rate = 1,
    Dividend = 2,
    Vol = 3,
    Expiry = 4,
}

/// A value with its gradient in the five inputs and its second derivative in the spot.
#[derive(Debug, Clone, Copy)]
struct Jet {
    v: f64,
    d: [f64; 5],
    ss: f64,
}

impl Jet {
    fn constant(v: f64) -> Self {
        Jet { v, d: [0.0; 5], ss: 0.0 }
    }

    fn variable(v: f64, var: Var) -> Self {
        let mut d = [0.0; 5];
        d[var as usize] = 1.0;
        Jet { v, d, ss: 0.0 }
    }

    /// f(self) given f, f' and f'' at the value.
    fn chain(self, f: f64, fp: f64, fpp: f64) -> Self {
        let ds = self.d[Var::Spot as usize];
        Jet { v: f, d: self.d.map(|x| fp * x), ss: fp * self.ss + fpp * ds * ds }
    }

    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e, e)
    }

    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v, -1.0 / (self.v * self.v))
    }

    fn sqrt(self) -> Self {
        let r = self.v.sqrt();
        self.chain(r, 0.5 / r, -0.25 / (r * self.v))
    }

    fn square(self) -> Self {
        self * self
    }

    fn ncdf(self) -> Self {
        let p = norm_pdf(self.v);
        self.chain(norm_cdf(self.v), p, -self.v * p)
    }

    /// ln Φ(self), accurate far into the lower tail (through erfcx there).
    fn ln_ncdf(self) -> Self {
        let z = self.v;
        // Value and the inverse Mills ratio m = φ(z)/Φ(z), the derivative of ln Φ.
        let (value, m) = if z < 0.0 {
            let y = SQRT_PI_OVER_TWO * erfcx(-z * std::f64::consts::FRAC_1_SQRT_2);
            ((0.5 * erfcx(-z * std::f64::consts::FRAC_1_SQRT_2)).ln() - 0.5 * z * z, 1.0 / y)
        } else {
            let p = norm_cdf(z);
            (p.ln(), norm_pdf(z) / p)
        };
        self.chain(value, m, -z * m - m * m)
    }

    fn recip(self) -> Self {
        let r = 1.0 / self.v;
        self.chain(r, -r * r, 2.0 * r * r * r)
    }

    /// self^e for a positive base.
    fn pow(self, e: Jet) -> Self {
        (e * self.ln()).exp()
    }
}

impl Add for Jet {
    type Output = Jet;
    fn add(self, o: Jet) -> Jet {
        let mut d = self.d;
        for (a, b) in d.iter_mut().zip(o.d) {
            *a += b;
        }
        Jet { v: self.v + o.v, d, ss: self.ss + o.ss }
    }
}

impl Sub for Jet {
    type Output = Jet;
    fn sub(self, o: Jet) -> Jet {
        self + (-o)
    }
}

impl Neg for Jet {
    type Output = Jet;
    fn neg(self) -> Jet {
        Jet { v: -self.v, d: self.d.map(|x| -x), ss: -self.ss }
    }
}

impl Mul for Jet {
    type Output = Jet;
    fn mul(self, o: Jet) -> Jet {
        let mut d = [0.0; 5];
        for (k, x) in d.iter_mut().enumerate() {
            *x = self.d[k] * o.v + self.v * o.d[k];
        }
        let s = Var::Spot as usize;
        Jet { v: self.v * o.v, d, ss: self.ss * o.v + 2.0 * self.d[s] * o.d[s] + self.v * o.ss }
    }
}

impl Div for Jet {
    type Output = Jet;
    #[allow(clippy::suspicious_arithmetic_impl)]
    fn div(self, o: Jet) -> Jet {
        self * o.recip()
    }
}

impl Add<f64> for Jet {
    type Output = Jet;
    fn add(self, o: f64) -> Jet {
        Jet { v: self.v + o, ..self }
    }
}

impl Sub<f64> for Jet {
    type Output = Jet;
    fn sub(self, o: f64) -> Jet {
        Jet { v: self.v - o, ..self }
    }
}

impl Mul<f64> for Jet {
    type Output = Jet;
    fn mul(self, o: f64) -> Jet {
        Jet { v: self.v * o, d: self.d.map(|x| x * o), ss: self.ss * o }
    }
}

impl Div<f64> for Jet {
    type Output = Jet;
    fn div(self, o: f64) -> Jet {
        self * (1.0 / o)
    }
}

/// Bjerksund-Stensland (2002) price of an American option: the two-step exercise boundary
/// (flat up to `t1 = (√5 − 1)/2·T`, then flat again), more accurate than the 1993 boundary
/// of [`bjerksund_stensland`] and never below it. The input is taken as valid; a put is the
/// call with spot and strike, rate and dividend swapped. Where early exercise never pays
/// (`q ≤ 0` for a call, `r ≤ 0` for a put), the European price.
pub fn bjerksund_stensland_2002(input: &BsInput) -> f64 {
    let (s, x, r, q) = match input.kind {
        super::OptionKind::Call => (input.spot, input.strike, input.rate, input.dividend),
        super::OptionKind::Put => (input.strike, input.spot, input.dividend, input.rate),
    };
    let (v, t) = (input.volatility, input.expiry);
    let european = super::bsm(&BsInput {
        kind: super::OptionKind::Call,
        spot: s,
        strike: x,
        rate: r,
        dividend: q,
        volatility: v,
        expiry: t,
    })
    .price;
    let b = r - q;
    if b >= r {
        return european.max(s - x);
    }
    let v2 = v * v;
    let t1 = 0.5 * (5.0_f64.sqrt() - 1.0) * t;
    let beta = (0.5 - b / v2) + ((b / v2 - 0.5).powi(2) + 2.0 * r / v2).sqrt();
    let b_infinity = beta / (beta - 1.0) * x;
    let b0 = if r == b { x } else { x.max(r / (r - b) * x) };
    let h = |tau: f64| -(b * tau + 2.0 * v * tau.sqrt()) * x * x / ((b_infinity - b0) * b0);
    let i1 = b0 + (b_infinity - b0) * (1.0 - h(t1).exp());
    let i2 = b0 + (b_infinity - b0) * (1.0 - h(t).exp());
    if s >= i2 {
        // (A trigger below the strike, which the heuristic triggers can give, is no
        // exercise boundary: the European price then.)
        return (s - x).max(european);
    }
    let m = Market2002 { s, r, b, v, t, t1, i1, i2 };
    // The paper's α·S^β − α·φ(S, t1, β, I, ·) … with α = (I − X)·I^{−β} and every φ, ψ
    // divided by S^γ, so that no power of S overflows (β runs into the hundreds at low
    // volatility).
    let (w1, w2) = ((i1 - x) * (s / i1).powf(beta), (i2 - x) * (s / i2).powf(beta));
    let price = w2 * (1.0 - m.phi(t1, beta, i2, i2)) + s * m.phi(t1, 1.0, i2, i2)
        - s * m.phi(t1, 1.0, i1, i2)
        - x * m.phi(t1, 0.0, i2, i2)
        + x * m.phi(t1, 0.0, i1, i2)
        + w1 * (m.phi(t1, beta, i1, i2) - m.psi(beta, i1))
        + s * m.psi(1.0, i1)
        - s * m.psi(1.0, x)
        - x * m.psi(0.0, i1)
        + x * m.psi(0.0, x);
    // The approximation is a lower bound; it never falls below the European price or the
    // intrinsic value (it can by rounding, deep out of the money).
    price.max(european).max(s - x)
}

/// `base^kappa · p` for a probability `p`, as one exponential: the power can overflow where
/// `p` underflows.
fn power_times(base: f64, kappa: f64, p: f64) -> f64 {
    if p <= 0.0 {
        0.0
    } else {
        (kappa * base.ln() + p.ln()).exp()
    }
}

/// The 2002 approximation's market: spot, rate, carry `b = r − q`, volatility, expiry, the
/// first step `t1` and the two triggers.
struct Market2002 {
    s: f64,
    r: f64,
    b: f64,
    v: f64,
    t: f64,
    t1: f64,
    i1: f64,
    i2: f64,
}

impl Market2002 {
    /// φ(S, T, γ, H, I) of the paper divided by S^γ.
    fn phi(&self, t: f64, gamma: f64, h: f64, i: f64) -> f64 {
        let Market2002 { s, r, b, v, .. } = *self;
        let lambda = (-r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v * v) * t;
        let sd = v * t.sqrt();
        let d = -((s / h).ln() + (b + (gamma - 0.5) * v * v) * t) / sd;
        let kappa = 2.0 * b / (v * v) + 2.0 * gamma - 1.0;
        lambda.exp() * (norm_cdf(d) - power_times(i / s, kappa, norm_cdf(d - 2.0 * (i / s).ln() / sd)))
    }

    /// ψ(S, T, γ, H, I2, I1, t1) of the paper divided by S^γ, with the bivariate normal
    /// distribution.
    fn psi(&self, gamma: f64, h: f64) -> f64 {
        let Market2002 { s, r, b, v, t, t1, i1, i2 } = *self;
        let drift = b + (gamma - 0.5) * v * v;
        let (sd1, sd) = (v * t1.sqrt(), v * t.sqrt());
        let e1 = ((s / i1).ln() + drift * t1) / sd1;
        let e2 = ((i2 * i2 / (s * i1)).ln() + drift * t1) / sd1;
        let e3 = ((s / i1).ln() - drift * t1) / sd1;
        let e4 = ((i2 * i2 / (s * i1)).ln() - drift * t1) / sd1;
        let f1 = ((s / h).ln() + drift * t) / sd;
        let f2 = ((i2 * i2 / (s * h)).ln() + drift * t) / sd;
        let f3 = ((i1 * i1 / (s * h)).ln() + drift * t) / sd;
        let f4 = ((s * i1 * i1 / (h * i2 * i2)).ln() + drift * t) / sd;
        let rho = (t1 / t).sqrt();
        let lambda = -r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v * v;
        let kappa = 2.0 * b / (v * v) + (2.0 * gamma - 1.0);
        (lambda * t).exp()
            * (bivariate_normal_cdf(-e1, -f1, rho)
                - power_times(i2 / s, kappa, bivariate_normal_cdf(-e2, -f2, rho))
                - power_times(i1 / s, kappa, bivariate_normal_cdf(-e3, -f3, -rho))
                + power_times(i1 / i2, kappa, bivariate_normal_cdf(-e4, -f4, -rho)))
    }
}

// Gauss-Legendre nodes (the negative half) and weights with 6, 12 and 20 points.
const GL6: ([f64; 3], [f64; 3]) = (
    [-0.932_469_514_203_151_9, -0.661_209_386_466_264_5, -0.238_619_186_083_196_9],
    [0.171_324_492_379_170_27, 0.360_761_573_048_138_7, 0.467_913_934_572_691_04],
);
const GL12: ([f64; 6], [f64; 6]) = (
    [
        -0.981_560_634_246_719_2,
        -0.904_117_256_370_474_8,
        -0.769_902_674_194_304_7,
        -0.587_317_954_286_617_5,
        -0.367_831_498_998_180_2,
        -0.125_233_408_511_468_9,
    ],
    [
        0.047_175_336_386_511_41,
        0.106_939_325_995_319_07,
        0.160_078_328_543_346_42,
        0.203_167_426_723_065_73,
        0.233_492_536_538_354_6,
        0.249_147_045_813_402_7,
    ],
);
const GL20: ([f64; 10], [f64; 10]) = (
    [
        -0.993_128_599_185_095,
        -0.963_971_927_277_913_8,
        -0.912_234_428_251_326,
        -0.839_116_971_822_218_8,
        -0.746_331_906_460_150_8,
        -0.636_053_680_726_515,
        -0.510_867_001_950_827_1,
        -0.373_706_088_715_419_55,
        -0.227_785_851_141_645_07,
        -0.076_526_521_133_497_34,
    ],
    [
        0.017_614_007_139_150_893,
        0.040_601_429_800_386_446,
        0.062_672_048_334_108_79,
        0.083_276_741_576_704_71,
        0.101_930_119_817_240_7,
        0.118_194_531_961_518_6,
        0.131_688_638_449_176_9,
        0.142_096_109_318_382_4,
        0.149_172_986_472_604_24,
        0.152_753_387_130_726_28,
    ],
);

/// P(X < a, Y < b) for standard normals with correlation `rho`, by Genz's algorithm (Drezner
/// and Wesolowsky with Gauss-Legendre quadrature), to about 1e-15 absolute.
pub fn bivariate_normal_cdf(a: f64, b: f64, rho: f64) -> f64 {
    use std::f64::consts::PI;
    let (x, w): (&[f64], &[f64]) = if rho.abs() < 0.3 {
        (&GL6.0, &GL6.1)
    } else if rho.abs() < 0.75 {
        (&GL12.0, &GL12.1)
    } else {
        (&GL20.0, &GL20.1)
    };
    // Genz's BVND computes P(X > h, Y > k).
    let (h, mut k) = (-a, -b);
    let mut hk = h * k;
    let mut bvn = 0.0;
    if rho.abs() < 0.925 {
        let hs = 0.5 * (h * h + k * k);
        let asr = rho.asin();
        for (xi, wi) in x.iter().zip(w) {
            for sign in [1.0, -1.0] {
                let sn = (asr * (1.0 + sign * xi) * 0.5).sin();
                bvn += wi * ((sn * hk - hs) / (1.0 - sn * sn)).exp();
            }
        }
        return bvn * asr / (4.0 * PI) + norm_cdf(-h) * norm_cdf(-k);
    }
    if rho < 0.0 {
        k = -k;
        hk = -hk;
    }
    if rho.abs() < 1.0 {
        let as_ = (1.0 - rho) * (1.0 + rho);
        let mut a = as_.sqrt();
        let bs = (h - k) * (h - k);
        let c = (4.0 - hk) / 8.0;
        let d = (12.0 - hk) / 16.0;
        let asr = -0.5 * (bs / as_ + hk);
        if asr > -100.0 {
            bvn = a * asr.exp() * (1.0 - c * (bs - as_) * (1.0 - d * bs / 5.0) / 3.0 + c * d * as_ * as_ / 5.0);
        }
        if -hk < 100.0 {
            let bb = bs.sqrt();
            bvn -= (-0.5 * hk).exp()
                * (2.0 * PI).sqrt()
                * norm_cdf(-bb / a)
                * bb
                * (1.0 - c * bs * (1.0 - d * bs / 5.0) / 3.0);
        }
        a *= 0.5;
        for (xi, wi) in x.iter().zip(w) {
            for sign in [1.0, -1.0] {
                let xs = (a * (1.0 + sign * xi)).powi(2);
                let rs = (1.0 - xs).sqrt();
                let asr = -0.5 * (bs / xs + hk);
                if asr > -100.0 {
                    bvn += a
                        * wi
                        * asr.exp()
                        * ((-hk * (1.0 - rs) / (2.0 * (1.0 + rs))).exp() / rs - (1.0 + c * xs * (1.0 + d * xs)));
                }
            }
        }
        bvn = -bvn / (2.0 * PI);
    }
    if rho > 0.0 {
        bvn + norm_cdf(-h.max(k))
    } else {
        let mut v = -bvn;
        if k > h {
            v += if h < 0.0 { norm_cdf(k) - norm_cdf(h) } else { norm_cdf(-h) - norm_cdf(-k) };
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{bsm, OptionKind};

    fn input(kind: OptionKind, dividend: f64) -> BsInput {
        BsInput { kind, spot: 100.0, strike: 100.0, rate: 0.05, dividend, volatility: 0.25, expiry: 1.0 }
    }

    #[test]
    fn an_american_option_is_worth_at_least_the_european_and_the_intrinsic_value() {
        for kind in [OptionKind::Call, OptionKind::Put] {
            for spot in [60.0, 90.0, 100.0, 120.0, 160.0] {
                let i = BsInput { spot, ..input(kind, 0.08) };
                let a = bjerksund_stensland(&i).unwrap();
                let e = bsm(&i);
                let intrinsic = match kind {
                    OptionKind::Call => spot - i.strike,
                    OptionKind::Put => i.strike - spot,
                };
                assert!(a.price >= e.price - 1e-12 && a.price >= intrinsic - 1e-12, "{kind:?} {spot}: {a:?}");
            }
        }
    }

    #[test]
    fn a_call_without_dividends_is_european() {
        let i = input(OptionKind::Call, 0.0);
        let a = bjerksund_stensland(&i).unwrap();
        let e = bsm(&i);
        assert!((a.price - e.price).abs() < 1e-12 && (a.delta - e.delta).abs() < 1e-14);
        assert!((a.theta - e.theta).abs() < 1e-10 && (a.gamma - e.gamma).abs() < 1e-14);
        assert_eq!(a.exercise_boundary, None);
    }

    #[test]
    fn greeks_are_the_derivatives_of_the_price() {
        for kind in [OptionKind::Call, OptionKind::Put] {
            let base = input(kind, 0.08);
            let g = bjerksund_stensland(&base).unwrap();
            let h = 1e-5;
            let bump = |f: &dyn Fn(&mut BsInput, f64)| {
                let (mut up, mut down) = (base, base);
                f(&mut up, h);
                f(&mut down, -h);
                (bjerksund_stensland(&up).unwrap().price - bjerksund_stensland(&down).unwrap().price) / (2.0 * h)
            };
            assert!((bump(&|i, d| i.spot += d) - g.delta).abs() < 1e-7);
            assert!((bump(&|i, d| i.volatility += d) - g.vega).abs() < 1e-5);
            assert!((bump(&|i, d| i.rate += d) - g.rho).abs() < 1e-5);
            assert!((bump(&|i, d| i.dividend += d) - g.dividend_rho).abs() < 1e-5);
            assert!((-bump(&|i, d| i.expiry += d) - g.theta).abs() < 1e-5);
            let hs = 1e-3;
            let p = |s: f64| bjerksund_stensland(&BsInput { spot: s, ..base }).unwrap().price;
            let gamma = (p(100.0 + hs) - 2.0 * p(100.0) + p(100.0 - hs)) / (hs * hs);
            assert!((gamma - g.gamma).abs() < 1e-6, "{kind:?}: {gamma} vs {}", g.gamma);
        }
    }

    #[test]
    fn the_bivariate_normal_matches_numerical_integration() {
        // P(X < a, Y < b) by mpmath's quadrature of φ(x)·Φ((b − ρx)/√(1 − ρ²)) at 30 digits.
        let cases = [
            (0.3, -0.2, 0.1, 0.274_870_857_552_197_7),
            (1.0, 0.5, 0.5, 0.630_283_927_552_572_8),
            (-1.5, 2.0, -0.6, 0.056_301_497_792_122_14),
            (0.2, 0.2, 0.95, 0.529_727_592_455_401),
            (-2.0, -1.0, -0.97, 0.0),
            (3.0, -3.0, 0.8, 0.001_349_898_031_630_094_2),
            (-0.5, 0.7, -0.3, 0.198_885_886_024_913_63),
        ];
        for (a, b, rho, exact) in cases {
            let m = bivariate_normal_cdf(a, b, rho);
            assert!((m - exact).abs() < 1e-15, "M({a}, {b}, {rho}) = {m} vs {exact}");
        }
    }

    #[test]
    fn the_2002_approximation_is_above_the_european_price_and_the_intrinsic_value() {
        for kind in [OptionKind::Call, OptionKind::Put] {
            for spot in [70.0, 90.0, 100.0, 110.0, 130.0] {
                for expiry in [0.1, 0.5, 1.0, 3.0] {
                    let i = BsInput { spot, expiry, ..input(kind, 0.08) };
                    let p = bjerksund_stensland_2002(&i);
                    let intrinsic = match kind {
                        OptionKind::Call => spot - i.strike,
                        OptionKind::Put => i.strike - spot,
                    };
                    assert!(p >= bsm(&i).price * (1.0 - 1e-13) && p >= intrinsic, "{i:?}: {p}");
                }
            }
        }
    }

    /// The value of exercising a call as soon as the spot reaches `boundary(t)` (t the time
    /// from now), by a Cox-Ross-Rubinstein tree with `n` steps.
    #[allow(clippy::too_many_arguments)]
    fn policy_value(s: f64, x: f64, r: f64, q: f64, v: f64, t: f64, n: usize, boundary: impl Fn(f64) -> f64) -> f64 {
        let dt = t / n as f64;
        let u = (v * dt.sqrt()).exp();
        let p = (((r - q) * dt).exp() - 1.0 / u) / (u - 1.0 / u);
        let disc = (-r * dt).exp();
        let mut values: Vec<f64> = (0..=n).map(|j| (s * u.powi(n as i32 - 2 * j as i32) - x).max(0.0)).collect();
        for i in (0..n).rev() {
            let b = boundary(i as f64 * dt);
            for j in 0..=i {
                let spot = s * u.powi(i as i32 - 2 * j as i32);
                let hold = disc * (p * values[j] + (1.0 - p) * values[j + 1]);
                values[j] = if spot >= b { spot - x } else { hold };
            }
        }
        values[0]
    }

    #[test]
    fn the_2002_formula_is_the_value_of_its_two_step_exercise_policy() {
        // The closed form prices the policy "exercise at I2 until t1, at I1 after"; a fine tree
        // that follows the same policy must agree to its discretisation error.
        let cases = [
            (100.0, 100.0, 0.05, 0.08, 0.25, 1.0),
            (90.0, 100.0, 0.08, 0.12, 0.3, 0.5),
            (42.0, 40.0, 0.04, 0.08, 0.35, 0.75),
            (290.0, 346.0, 0.07, 0.01, 0.7, 5.0),
            (110.0, 100.0, 0.03, 0.06, 0.15, 3.0),
        ];
        for (s, x, r, q, v, t) in cases {
            let i =
                BsInput { kind: OptionKind::Call, spot: s, strike: x, rate: r, dividend: q, volatility: v, expiry: t };
            let formula = bjerksund_stensland_2002(&i);
            let b = r - q;
            let v2 = v * v;
            let t1 = 0.5 * (5.0_f64.sqrt() - 1.0) * t;
            let beta = (0.5 - b / v2) + ((b / v2 - 0.5).powi(2) + 2.0 * r / v2).sqrt();
            let (b_inf, b0) = (beta / (beta - 1.0) * x, x.max(r / (r - b) * x));
            let trigger = |tau: f64| {
                b0 + (b_inf - b0) * (1.0 - (-(b * tau + 2.0 * v * tau.sqrt()) * x * x / ((b_inf - b0) * b0)).exp())
            };
            let (i1, i2) = (trigger(t1), trigger(t));
            let policy = |now: f64| if now < t1 { i2 } else { i1 };
            // A tree misplaces a flat barrier by up to a step: its error here is a few tenths of
            // a percent at 4000 steps (and oscillates in n), well below the formula's own
            // distance from the true American price in the worst of these cases (5%).
            let tree = policy_value(s, x, r, q, v, t, 4000, policy);
            assert!((formula - tree).abs() < 5e-3 * tree, "{i:?}: formula {formula} vs policy tree {tree}");
        }
    }

    #[test]
    fn the_request_picks_the_method() {
        let request = AmericanInput {
            kind: OptionKind::Put,
            spot: 100.0,
            strike: 100.0,
            rate: 0.05,
            dividend: 0.02,
            volatility: 0.25,
            expiry: 1.0,
            method: AmericanMethod::default(),
        };
        let i = input(OptionKind::Put, 0.02);
        assert_eq!(american_request(&request).unwrap(), bjerksund_stensland(&i).unwrap());
        let g = american_request(&AmericanInput { method: AmericanMethod::Bs2002, ..request }).unwrap();
        let g1993 = bjerksund_stensland(&i).unwrap();
        assert_eq!(g.price, bjerksund_stensland_2002(&i));
        // The two approximations are close, and so are their Greeks.
        for (a, b) in [(g.delta, g1993.delta), (g.gamma, g1993.gamma), (g.vega, g1993.vega), (g.theta, g1993.theta)] {
            assert!((a - b).abs() < 0.05 * b.abs(), "{g:?} vs {g1993:?}");
        }
        assert!(g.rho < 0.0 && g.dividend_rho > 0.0 && g.exercise_boundary.unwrap() < 100.0);
    }
}
