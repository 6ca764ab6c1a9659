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
}
