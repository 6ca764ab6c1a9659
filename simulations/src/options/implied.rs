//! Implied volatility by Peter Jäckel's "Let's Be Rational" (Wilmott, 2015; revised 2016).
//!
//! The price is normalised to the Black function `b(x, s)` of the log-moneyness
//! `x = ln(F/K)` and the total volatility `s = σ√T`, in the money options are turned out of
//! the money by subtracting the intrinsic value, and `s` is found from a rational initial
//! guess over four branches (Delbourgo-Gregory rational cubics matched to the asymptotes)
//! followed by at most two Householder(3) steps on a branch-dependent transform of the
//! objective. The normalised Black function is evaluated in four regions (an asymptotic
//! expansion, a small-`s` expansion, the plain formula and one with Cody's `erfcx`) so that it
//! keeps full relative accuracy even where the price is tiny.

use serde::{Deserialize, Serialize};

use super::{check_market, BsInput, OptionKind};
use crate::SimError;

/// An option's market price, to imply the volatility from: the Black-Scholes-Merton inputs
/// less the volatility. Rates continuously compounded, expiry in years; no dividend yield when
/// `dividend` is absent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct ImpliedVolInput {
    pub kind: OptionKind,
    pub spot: f64,
    pub strike: f64,
    pub rate: f64,
    #[serde(default)]
    pub dividend: f64,
    pub expiry: f64,
    /// The option's price (present value), in the currency of the spot.
    pub price: f64,
}

impl ImpliedVolInput {
    /// The option `option` describes (its volatility aside) at market price `price`.
    pub fn from_option(option: &BsInput, price: f64) -> Self {
        let BsInput { kind, spot, strike, rate, dividend, expiry, .. } = *option;
        Self { kind, spot, strike, rate, dividend, expiry, price }
    }
}

/// The implied volatility, per year (0.2 is 20%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImpliedVol {
    pub volatility: f64,
}

fn price_error(problem: String) -> SimError {
    SimError::Invalid { field: "price".to_owned(), problem }
}

/// The Black-Scholes-Merton volatility that reproduces `price`, after checking the input.
///
/// A price at or below the intrinsic value of the discounted forward (`max(S·e^{-qT} −
/// K·e^{-rT}, 0)` for a call), or at or above the upper bound (`S·e^{-qT}` for a call,
/// `K·e^{-rT}` for a put), has no volatility and is a `price` error; so is a price within
/// 4ε of the larger of the discounted spot and strike above the intrinsic value, where the
/// time value is lost in the rounding of the inputs.
pub fn implied_volatility(input: &ImpliedVolInput) -> Result<ImpliedVol, SimError> {
    let ImpliedVolInput { kind, spot, strike, rate, dividend, expiry, price } = *input;
    check_market(spot, strike, rate, dividend, expiry)?;
    if !price.is_finite() {
        return Err(price_error("must be a finite number".to_owned()));
    }
    let discount = (-rate * expiry).exp();
    // F − K to full relative accuracy, also when F is close to K: the intrinsic value is
    // subtracted from an in-the-money price, and any rounding of F would go into the time
    // value.
    let carry = (rate - dividend) * expiry;
    let forward_minus_strike = (spot - strike) + spot * carry.exp_m1();
    let x = if forward_minus_strike.abs() < 0.5 * strike {
        (forward_minus_strike / strike).ln_1p()
    } else {
        (spot / strike).ln() + carry
    };
    let (s_pv, k_pv) = (spot * (-dividend * expiry).exp(), strike * discount);
    let theta = match kind {
        OptionKind::Call => 1.0,
        OptionKind::Put => -1.0,
    };
    let intrinsic = discount * (theta * forward_minus_strike).max(0.0);
    let upper = match kind {
        OptionKind::Call => s_pv,
        OptionKind::Put => k_pv,
    };
    // Within the rounding of the discounted spot and strike the price is the intrinsic value.
    if price <= intrinsic + 4.0 * EPS * s_pv.max(k_pv) {
        return Err(price_error(format!(
            "{price} is at or below the intrinsic value {intrinsic} of the discounted forward: no volatility gives it"
        )));
    }
    if price >= upper {
        return Err(price_error(format!(
            "{price} is at or above the no-arbitrage upper bound {upper}: no volatility gives it"
        )));
    }
    let sqrt_fk = (spot * carry.exp()).sqrt() * strike.sqrt();
    let s = total_vol(price / discount, x, sqrt_fk, forward_minus_strike, theta);
    let volatility = s / expiry.sqrt();
    if !(volatility.is_finite() && volatility > 0.0) {
        return Err(price_error(format!(
            "{price} carries no time value that double precision can resolve into a volatility"
        )));
    }
    Ok(ImpliedVol { volatility })
}

/// Total implied volatility `σ√T` of an undiscounted Black price (`theta` +1 call, −1 put);
/// the price is taken as strictly between the intrinsic value and the upper bound.
pub fn black_implied_total_vol(price: f64, forward: f64, strike: f64, theta: f64) -> f64 {
    total_vol(price, (forward / strike).ln(), forward.sqrt() * strike.sqrt(), forward - strike, theta)
}

/// [`black_implied_total_vol`] from the log-moneyness `x = ln(F/K)`, `√(F·K)` and `F − K`.
fn total_vol(price: f64, x: f64, sqrt_fk: f64, forward_minus_strike: f64, theta: f64) -> f64 {
    let (mut beta, mut q) = (price / sqrt_fk, theta);
    // In the money: subtract the intrinsic value, which turns it into the out-of-the-money
    // option of the other kind (put-call parity on the normalised price).
    if q * x > 0.0 {
        beta = ((price - (q * forward_minus_strike).max(0.0)) / sqrt_fk).max(0.0);
        q = -q;
    }
    // An out-of-the-money put is the call of reciprocal moneyness.
    let x = if q < 0.0 { -x } else { x };
    normalised_implied_vol_otm_call(beta, x)
}

const EPS: f64 = f64::EPSILON;
const ONE_OVER_SQRT_TWO: f64 = std::f64::consts::FRAC_1_SQRT_2;
const ONE_OVER_SQRT_TWO_PI: f64 = 0.398_942_280_401_432_7;
const SQRT_TWO_PI: f64 = 2.506_628_274_631_000_7;
const SQRT_PI_OVER_TWO: f64 = 1.253_314_137_315_500_3;
const SQRT_THREE: f64 = 1.732_050_807_568_877_2;
const SQRT_ONE_OVER_THREE: f64 = 0.577_350_269_189_625_8;
const TWO_PI: f64 = std::f64::consts::TAU;
const TWO_PI_OVER_SQRT_TWENTY_SEVEN: f64 = 1.209_199_576_156_145_2;
const PI_OVER_SIX: f64 = std::f64::consts::FRAC_PI_6;
/// `h < η` selects the asymptotic expansion of the normalised Black function.
const ETA: f64 = -10.0;
/// `t < τ = 2·ε^(1/16)` selects the small-`t` expansion.
const TAU: f64 = 2.0 * 0.105_112_051_906_714_35;
/// Householder steps after the rational guess; two reach machine accuracy.
const MAX_ITERATIONS: usize = 2;

/// Total volatility of a normalised out-of-the-money call price `beta` at log-moneyness
/// `x ≤ 0` (0 where the price underflows).
fn normalised_implied_vol_otm_call(beta: f64, x: f64) -> f64 {
    if beta <= 0.0 {
        return 0.0;
    }
    let b_max = (0.5 * x).exp();
    if beta >= b_max {
        return f64::INFINITY;
    }
    if x == 0.0 {
        // At the money the Black function inverts in closed form: b = 1 − 2Φ(−s/2).
        return -2.0 * inverse_norm_cdf(0.5 * (1.0 - beta));
    }
    let s_c = (2.0 * x).abs().sqrt();
    let b_c = normalised_black_call(x, s_c);
    let v_c = normalised_vega(x, s_c);
    let (s, s_left, s_right);
    if beta < b_c {
        let s_l = s_c - b_c / v_c;
        let b_l = normalised_black_call(x, s_l);
        if beta < b_l {
            // Lowest branch: interpolate the transform f(β) = ln-free lower map, then iterate
            // on g(s) = 1/ln b(s) − 1/ln β.
            let (f_l, fp_l, fpp_l) = lower_map_and_derivatives(x, s_l);
            let r = convex_rational_cubic_control_fit_right(0.0, b_l, 0.0, f_l, 1.0, fp_l, fpp_l, true);
            let mut f = rational_cubic(beta, 0.0, b_l, 0.0, f_l, 1.0, fp_l, r);
            if f <= 0.0 {
                let t = beta / b_l;
                f = (f_l * t + b_l * (1.0 - t)) * t;
            }
            s = inverse_lower_map(x, f);
            return householder_lower(beta, x, s, f64::MIN_POSITIVE, s_l);
        }
        let v_l = normalised_vega(x, s_l);
        let r = convex_rational_cubic_control_fit_right(b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, 0.0, false);
        s = rational_cubic(beta, b_l, b_c, s_l, s_c, 1.0 / v_l, 1.0 / v_c, r);
        s_left = s_l;
        s_right = s_c;
    } else {
        let s_h = if v_c > f64::MIN_POSITIVE { s_c + (b_max - b_c) / v_c } else { s_c };
        let b_h = normalised_black_call(x, s_h);
        if beta <= b_h {
            let v_h = normalised_vega(x, s_h);
            let r = convex_rational_cubic_control_fit_left(b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, 0.0, false);
            s = rational_cubic(beta, b_c, b_h, s_c, s_h, 1.0 / v_c, 1.0 / v_h, r);
            s_left = s_c;
            s_right = s_h;
        } else {
            // Highest branch: interpolate the upper map, then iterate on
            // g(s) = ln(b_max − β) − ln(b_max − b(s)) when β is above half its maximum.
            let (f_h, fp_h, fpp_h) = upper_map_and_derivatives(x, s_h);
            let mut f = f64::NAN;
            if fpp_h.is_finite() && fpp_h > -f64::MAX.sqrt() && fpp_h < f64::MAX.sqrt() {
                let r = convex_rational_cubic_control_fit_left(b_h, b_max, f_h, 0.0, fp_h, -0.5, fpp_h, true);
                f = rational_cubic(beta, b_h, b_max, f_h, 0.0, fp_h, -0.5, r);
            }
            if f.is_nan() || f <= 0.0 {
                let h = b_max - b_h;
                let t = (beta - b_h) / h;
                f = (f_h * (1.0 - t) + 0.5 * h * t) * (1.0 - t);
            }
            s = -2.0 * inverse_norm_cdf(f);
            if beta > 0.5 * b_max {
                return householder_upper(beta, x, s, s_h, f64::MAX, b_max);
            }
            s_left = s_h;
            s_right = f64::MAX;
        }
    }
    // The two middle branches: iterate on g(s) = b(s) − β.
    householder(beta, x, s, s_left, s_right, |s, b, bp| {
        let newton = (beta - b) / bp;
        let halley = square(x / s) / s - 0.25 * s;
        let hh3 = halley * halley - 3.0 * square(x / (s * s)) - 0.25;
        Some(newton * householder_factor(newton, halley, hh3))
    })
}

/// The iteration every branch shares: from `s`, steps `step(s, b(s), b'(s))` (`None`:
/// bisect the bracket) kept inside a bracket of the root and above −s/2, until a step is
/// below machine precision relative to `s`.
fn householder(
    beta: f64,
    x: f64,
    mut s: f64,
    s_left: f64,
    s_right: f64,
    step: impl Fn(f64, f64, f64) -> Option<f64>,
) -> f64 {
    let mut bracket = Bracket::new(s_left, s_right);
    let mut ds = f64::MAX;
    for iteration in 0..MAX_ITERATIONS {
        if ds.abs() <= EPS * s {
            break;
        }
        match bracket.check(iteration, s, ds) {
            Some(mid) if bracket.collapsed(mid) => return mid,
            Some(mid) => s = mid,
            None => {}
        }
        let b = normalised_black_call(x, s);
        let bp = normalised_vega(x, s);
        bracket.tighten(s, b, beta);
        ds = step(s, b, bp).unwrap_or(0.5 * (bracket.left + bracket.right) - s).max(-0.5 * s);
        s += ds;
    }
    s
}

/// A bracket of the root, tightened as the iteration goes, and bisection when a step leaves
/// it or the direction keeps reversing (only for extreme moneyness, |x| in the hundreds).
struct Bracket {
    left: f64,
    right: f64,
    previous: f64,
    reversals: u32,
}

impl Bracket {
    fn new(left: f64, right: f64) -> Self {
        Bracket { left, right, previous: 0.0, reversals: 0 }
    }

    /// The midpoint to restart from, when the iterate must fall back to bisection; `ds` is
    /// the last step taken.
    fn check(&mut self, iteration: usize, s: f64, ds: f64) -> Option<f64> {
        if ds * self.previous < 0.0 {
            self.reversals += 1;
        }
        if iteration > 0 && (self.reversals == 3 || !(s > self.left && s < self.right)) {
            self.reversals = 0;
            self.previous = 0.0;
            return Some(0.5 * (self.left + self.right));
        }
        self.previous = ds;
        None
    }

    fn collapsed(&self, mid: f64) -> bool {
        self.right - self.left <= EPS * mid
    }

    fn tighten(&mut self, s: f64, b: f64, beta: f64) {
        if b > beta && s < self.right {
            self.right = s;
        } else if b < beta && s > self.left {
            self.left = s;
        }
    }
}

/// Householder(3) on g(s) = 1/ln b(s) − 1/ln β (the lowest branch, where b is tiny).
fn householder_lower(beta: f64, x: f64, s: f64, s_left: f64, s_right: f64) -> f64 {
    let ln_beta = beta.ln();
    householder(beta, x, s, s_left, s_right, |s, b, bp| {
        if b <= 0.0 || bp <= 0.0 {
            return None;
        }
        let ln_b = b.ln();
        let bpob = bp / b;
        let h = x / s;
        let b_halley = h * h / s - 0.25 * s;
        let newton = (ln_beta - ln_b) * ln_b / ln_beta / bpob;
        let halley = b_halley - bpob * (1.0 + 2.0 / ln_b);
        let b_hh3 = b_halley * b_halley - 3.0 * square(h / s) - 0.25;
        let hh3 = b_hh3 + 2.0 * square(bpob) * (1.0 + 3.0 / ln_b * (1.0 + 1.0 / ln_b))
            - 3.0 * b_halley * bpob * (1.0 + 2.0 / ln_b);
        Some(newton * householder_factor(newton, halley, hh3))
    })
}

/// Householder(3) on g(s) = ln(b_max − β) − ln(b_max − b(s)) (the highest branch).
fn householder_upper(beta: f64, x: f64, s: f64, s_left: f64, s_right: f64, b_max: f64) -> f64 {
    householder(beta, x, s, s_left, s_right, |s, b, bp| {
        if b >= b_max || bp <= f64::MIN_POSITIVE {
            return None;
        }
        let b_max_minus_b = b_max - b;
        let g = ((b_max - beta) / b_max_minus_b).ln();
        let gp = bp / b_max_minus_b;
        let b_halley = square(x / s) / s - 0.25 * s;
        let b_hh3 = b_halley * b_halley - 3.0 * square(x / (s * s)) - 0.25;
        let newton = -g / gp;
        let halley = b_halley + gp;
        let hh3 = b_hh3 + gp * (2.0 * gp + 3.0 * b_halley);
        Some(newton * householder_factor(newton, halley, hh3))
    })
}

fn householder_factor(newton: f64, halley: f64, hh3: f64) -> f64 {
    (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0))
}

fn square(x: f64) -> f64 {
    x * x
}

/// The lower map f(β) = (2π/√27)·|x|·Φ(−z)³ with z = |x|/(s√3), and its first two derivatives
/// with respect to β, at total volatility `s`.
fn lower_map_and_derivatives(x: f64, s: f64) -> (f64, f64, f64) {
    let ax = x.abs();
    let z = SQRT_ONE_OVER_THREE * ax / s;
    let y = z * z;
    let s2 = s * s;
    let phi_big = norm_cdf(-z);
    let phi = norm_pdf(z);
    let fpp = PI_OVER_SIX * y / (s2 * s)
        * phi_big
        * (8.0 * SQRT_THREE * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * phi_big / phi)
        * (2.0 * y + 0.25 * s2).exp();
    let phi2 = phi_big * phi_big;
    let fp = TWO_PI * y * phi2 * (y + 0.125 * s2).exp();
    let f = TWO_PI_OVER_SQRT_TWENTY_SEVEN * ax * (phi2 * phi_big);
    (f, fp, fpp)
}

fn inverse_lower_map(x: f64, f: f64) -> f64 {
    if f == 0.0 {
        return 0.0;
    }
    let u = (f / (TWO_PI_OVER_SQRT_TWENTY_SEVEN * x.abs())).cbrt();
    (x / (SQRT_THREE * inverse_norm_cdf(u))).abs()
}

/// The upper map f(β) = Φ(−s/2) and its first two derivatives with respect to β.
fn upper_map_and_derivatives(x: f64, s: f64) -> (f64, f64, f64) {
    let f = norm_cdf(-0.5 * s);
    let w = square(x / s);
    let fp = -0.5 * (0.5 * w).exp();
    let fpp = SQRT_PI_OVER_TWO * (w + 0.125 * s * s).exp() * w / s;
    (f, fp, fpp)
}

/// Normalised vega ∂b/∂s = φ(x/s + s/2)·e^{x/2}, written to avoid overflow.
fn normalised_vega(x: f64, s: f64) -> f64 {
    if x == 0.0 {
        ONE_OVER_SQRT_TWO_PI * (-0.125 * s * s).exp()
    } else if s <= x.abs() * f64::MIN_POSITIVE.sqrt() {
        0.0
    } else {
        ONE_OVER_SQRT_TWO_PI * (-0.5 * (square(x / s) + square(0.5 * s))).exp()
    }
}

/// Normalised intrinsic value of a call, e^{x/2} − e^{−x/2} for x > 0 (a series near 0).
fn normalised_intrinsic_call(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let x2 = x * x;
    if x2 < 98.0 * EPS.sqrt().sqrt() {
        return (x * (1.0 + x2 * (1.0 / 24.0 + x2 * (1.0 / 1920.0 + x2 * (1.0 / 322_560.0 + x2 / 92_897_280.0)))))
            .max(0.0);
    }
    let b_max = (0.5 * x).exp();
    (b_max - 1.0 / b_max).max(0.0)
}

/// The normalised Black call b(x, s) = Φ(x/s + s/2)·e^{x/2} − Φ(x/s − s/2)·e^{−x/2}, to full
/// relative accuracy in every region.
pub fn normalised_black_call(x: f64, s: f64) -> f64 {
    if x > 0.0 {
        return normalised_intrinsic_call(x) + normalised_black_call(-x, s);
    }
    if s <= 0.0 {
        return normalised_intrinsic_call(x);
    }
    // h = x/s < η and t = s/2 < τ + |h| − |η|, without dividing by s.
    if x < s * ETA && 0.5 * s * s + x < s * (TAU + ETA) {
        return asymptotic_expansion(x / s, 0.5 * s);
    }
    if 0.5 * s < TAU {
        return small_t_expansion(x / s, 0.5 * s);
    }
    if x + 0.5 * s * s > s * 0.85 {
        let h = x / s;
        let t = 0.5 * s;
        let b_max = (0.5 * x).exp();
        return (norm_cdf(h + t) * b_max - norm_cdf(h - t) / b_max).max(0.0);
    }
    let (h, t) = (x / s, 0.5 * s);
    (0.5 * (-0.5 * (h * h + t * t)).exp() * (erfcx(-ONE_OVER_SQRT_TWO * (h + t)) - erfcx(-ONE_OVER_SQRT_TWO * (h - t))))
        .max(0.0)
}

/// Binomial coefficients C(2k+1, 2j+1) for the asymptotic expansion's polynomials in e.
const fn expansion_coefficients() -> [[u64; 18]; 18] {
    let mut c = [[0u64; 18]; 18];
    let mut k = 0;
    while k < 18 {
        let n = 2 * k as u64 + 1;
        let mut j = 0;
        while j <= k {
            let m = 2 * j as u64 + 1;
            // C(n, m) by the multiplicative formula, exact in u64 for n ≤ 35.
            let mut value: u64 = 1;
            let mut i: u64 = 1;
            while i <= m {
                value = value * (n - m + i) / i;
                i += 1;
            }
            c[k][j] = value;
            j += 1;
        }
        k += 1;
    }
    c
}

const EXPANSION: [[u64; 18]; 18] = expansion_coefficients();

/// b for very negative h (h < η): Abramowitz-Stegun 26.2.12 for Y(z) = Φ(z)/φ(z), to 17th
/// order in q = (h/r)² with r = (h+t)(h−t), coefficients polynomials in e = (t/h)².
fn asymptotic_expansion(h: f64, t: f64) -> f64 {
    let e = square(t / h);
    let r = (h + t) * (h - t);
    let q = square(h / r);
    let poly = |k: usize| {
        let mut p = 0.0;
        for j in (0..=k).rev() {
            p = p * e + EXPANSION[k][j] as f64;
        }
        2.0 * p
    };
    let mut sum = poly(17);
    for k in (1..=17).rev() {
        sum = poly(k - 1) - (2 * k - 1) as f64 * q * sum;
    }
    (ONE_OVER_SQRT_TWO_PI * (-0.5 * (h * h + t * t)).exp() * (t / r) * sum).max(0.0)
}

/// b for small t = s/2 (t < τ), h ≤ 0: a 12th order expansion of Y(h+t) − Y(h−t) in t.
fn small_t_expansion(h: f64, t: f64) -> f64 {
    // a = 1 + h·Y(h) with Y(h) = √(π/2)·erfcx(−h/√2).
    let a = 1.0 + h * (0.5 * SQRT_TWO_PI) * erfcx(-ONE_OVER_SQRT_TWO * h);
    let w = t * t;
    let h2 = h * h;
    let c6 = (-89_055.0
        + 135_135.0 * a
        + h2 * (-82_845.0
            + 270_270.0 * a
            + h2 * (-20_370.0
                + 135_135.0 * a
                + h2 * (-1_926.0 + 25_740.0 * a + h2 * (-75.0 + 2_145.0 * a + h2 * (-1.0 + 78.0 * a + a * h2))))))
        / 6_227_020_800.0;
    let c5 = (-6_555.0
        + 10_395.0 * a
        + h2 * (-4_680.0
            + 17_325.0 * a
            + h2 * (-840.0 + 6_930.0 * a + h2 * (-52.0 + 990.0 * a + h2 * (-1.0 + 55.0 * a + a * h2)))))
        / 39_916_800.0;
    let c4 =
        (-561.0 + 945.0 * a + h2 * (-285.0 + 1_260.0 * a + h2 * (-33.0 + 378.0 * a + h2 * (-1.0 + 36.0 * a + a * h2))))
            / 362_880.0;
    let c3 = (-57.0 + 105.0 * a + h2 * (-18.0 + 105.0 * a + h2 * (-1.0 + 21.0 * a + a * h2))) / 5_040.0;
    let c2 = (-7.0 + 15.0 * a + h2 * (-1.0 + 10.0 * a + a * h2)) / 120.0;
    let c1 = (-1.0 + 3.0 * a + a * h2) / 6.0;
    let expansion = 2.0 * t * (a + w * (c1 + w * (c2 + w * (c3 + w * (c4 + w * (c5 + w * c6))))));
    (ONE_OVER_SQRT_TWO_PI * (-0.5 * (h * h + t * t)).exp() * expansion).max(0.0)
}

fn norm_pdf(x: f64) -> f64 {
    ONE_OVER_SQRT_TWO_PI * (-0.5 * x * x).exp()
}

/// Φ(z): the asymptotic series below −10, Cody's erfc above.
pub(crate) fn norm_cdf(z: f64) -> f64 {
    if z <= -10.0 {
        let mut sum = 1.0;
        if z >= -1.0 / EPS.sqrt() {
            let zsqr = z * z;
            let (mut i, mut g, mut a) = (1.0_f64, 1.0_f64, f64::MAX);
            loop {
                let last = a;
                let x = (4.0 * i - 3.0) / zsqr;
                let y = x * ((4.0 * i - 1.0) / zsqr);
                a = g * (x - y);
                sum -= a;
                g *= y;
                i += 1.0;
                a = a.abs();
                if !(last > a && a >= (sum * EPS).abs()) {
                    break;
                }
            }
        }
        return -norm_pdf(z) * sum / z;
    }
    0.5 * erfc(-z * ONE_OVER_SQRT_TWO)
}

/// Φ⁻¹(u) by Wichura's AS241 (about 16 digits).
fn inverse_norm_cdf(u: f64) -> f64 {
    if u <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if u >= 1.0 {
        return f64::INFINITY;
    }
    let q = u - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q
            * (((((((2.509_080_928_730_122_7e3 * r + 3.343_057_558_358_813e4) * r + 6.726_577_092_700_87e4) * r
                + 4.592_195_393_154_987e4)
                * r
                + 1.373_169_376_550_946e4)
                * r
                + 1.971_590_950_306_551_3e3)
                * r
                + 1.331_416_678_917_843_8e2)
                * r
                + 3.387_132_872_796_366_5)
            / (((((((5.226_495_278_852_545e3 * r + 2.872_908_573_572_194_3e4) * r + 3.930_789_580_009_271e4) * r
                + 2.121_379_430_158_659_7e4)
                * r
                + 5.394_196_021_424_751e3)
                * r
                + 6.871_870_074_920_579e2)
                * r
                + 4.231_333_070_160_091e1)
                * r
                + 1.0);
    }
    let mut r = if q < 0.0 { u } else { 1.0 - u };
    r = (-r.ln()).sqrt();
    let value = if r < 5.0 {
        r -= 1.6;
        (((((((7.745_450_142_783_414e-4 * r + 2.272_384_498_926_918_4e-2) * r + 2.417_807_251_774_506e-1) * r
            + 1.270_458_252_452_368_4)
            * r
            + 3.647_848_324_763_204_5)
            * r
            + 5.769_497_221_460_691)
            * r
            + 4.630_337_846_156_546)
            * r
            + 1.423_437_110_749_683_5)
            / (((((((1.050_750_071_644_416_9e-9 * r + 5.475_938_084_995_345e-4) * r + 1.519_866_656_361_645_7e-2)
                * r
                + 1.481_039_764_274_800_8e-1)
                * r
                + 6.897_673_349_851e-1)
                * r
                + 1.676_384_830_183_803_8)
                * r
                + 2.053_191_626_637_759)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((2.010_334_399_292_288_1e-7 * r + 2.711_555_568_743_487_6e-5) * r + 1.242_660_947_388_078_4e-3) * r
            + 2.653_218_952_657_612_4e-2)
            * r
            + 2.965_605_718_285_048_7e-1)
            * r
            + 1.784_826_539_917_291_3)
            * r
            + 5.463_784_911_164_114)
            * r
            + 6.657_904_643_501_103)
            / (((((((2.044_263_103_389_939_7e-15 * r + 1.421_511_758_316_446e-7) * r + 1.846_318_317_510_054_8e-5)
                * r
                + 7.868_691_311_456_133e-4)
                * r
                + 1.487_536_129_085_061_5e-2)
                * r
                + 1.369_298_809_227_358e-1)
                * r
                + 5.998_322_065_558_88e-1)
                * r
                + 1.0)
    };
    if q < 0.0 {
        -value
    } else {
        value
    }
}

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 1969.
const CODY_A: [f64; 5] = [
    3.161_123_743_870_565_6,
    113.864_154_151_050_16,
    377.485_237_685_302,
    3_209.377_589_138_469_4,
    0.185_777_706_184_603_15,
];
const CODY_B: [f64; 4] = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.236833439171];
const CODY_C: [f64; 9] = [
    0.564_188_496_988_670_1,
    8.883_149_794_388_377,
    66.119_190_637_141_63,
    298.635_138_197_400_1,
    881.952_221_241_769,
    1_712.047_612_634_070_7,
    2_051.078_377_826_071_6,
    1_230.339_354_797_997_2,
    2.153_115_354_744_038_3e-8,
];
const CODY_D: [f64; 8] = [
    15.744_926_110_709_835,
    117.693_950_891_312_5,
    537.181_101_862_009_9,
    1_621.389_574_566_690_2,
    3_290.799_235_733_459_7,
    4_362.619_090_143_247,
    3_439.367_674_143_721_6,
    1_230.339_354_803_749_5,
];
const CODY_P: [f64; 6] = [
    0.305_326_634_961_232_36,
    0.360_344_899_949_804_45,
    0.125_781_726_111_229_24,
    0.016_083_785_148_742_275,
    6.587_491_615_298_378e-4,
    0.016_315_387_137_302_097,
];
const CODY_Q: [f64; 5] = [
    2.568_520_192_289_822,
    1.872_952_849_923_460_4,
    0.527_905_102_951_428_4,
    0.060_518_341_312_441_32,
    0.002_335_204_976_268_691_8,
];
const ONE_OVER_SQRT_PI: f64 = 0.564_189_583_547_756_3;

/// What Cody's routine returns: erfc or the scaled erfcx.
#[derive(Clone, Copy, PartialEq)]
enum Erf {
    Erfc,
    Erfcx,
}

/// exp(−y²) computed as exp(−y0²)·exp(−(y−y0)(y+y0)) with y0 = y truncated to 1/16, which
/// keeps the relative accuracy for large y; below 2 the rounding of y², at most 4ε in the
/// exponent, costs no more than the split's own second rounding, and one exponential does.
fn exp_minus_square(y: f64) -> f64 {
    if y < 2.0 {
        return (-y * y).exp();
    }
    let y0 = (y * 16.0).trunc() / 16.0;
    let del = (y - y0) * (y + y0);
    (-y0 * y0).exp() * (-del).exp()
}

fn cody(x: f64, what: Erf) -> f64 {
    let y = x.abs();
    let mut result;
    if y <= 0.468_75 {
        let ysq = if y > 1.11e-16 { y * y } else { 0.0 };
        let mut num = CODY_A[4] * ysq;
        let mut den = ysq;
        for i in 0..3 {
            num = (num + CODY_A[i]) * ysq;
            den = (den + CODY_B[i]) * ysq;
        }
        result = 1.0 - x * (num + CODY_A[3]) / (den + CODY_B[3]);
        if what == Erf::Erfcx {
            result *= ysq.exp();
        }
        return result;
    } else if y <= 4.0 {
        let mut num = CODY_C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + CODY_C[i]) * y;
            den = (den + CODY_D[i]) * y;
        }
        result = (num + CODY_C[7]) / (den + CODY_D[7]);
        if what == Erf::Erfc {
            result *= exp_minus_square(y);
        }
    } else {
        result = 0.0;
        let mut done = false;
        if y >= 26.543 {
            if what == Erf::Erfc || y >= 2.53e307 {
                done = true;
            } else if y >= 6.71e7 {
                result = ONE_OVER_SQRT_PI / y;
                done = true;
            }
        }
        if !done {
            let ysq = 1.0 / (y * y);
            let mut num = CODY_P[5] * ysq;
            let mut den = ysq;
            for i in 0..4 {
                num = (num + CODY_P[i]) * ysq;
                den = (den + CODY_Q[i]) * ysq;
            }
            result = ysq * (num + CODY_P[4]) / (den + CODY_Q[4]);
            result = (ONE_OVER_SQRT_PI - result) / y;
            if what == Erf::Erfc {
                result *= exp_minus_square(y);
            }
        }
    }
    // Negative arguments.
    if x < 0.0 {
        match what {
            Erf::Erfc => result = 2.0 - result,
            Erf::Erfcx => {
                if x < -26.628 {
                    result = f64::MAX;
                } else {
                    let y0 = (x * 16.0).trunc() / 16.0;
                    let del = (x - y0) * (x + y0);
                    let e = (y0 * y0).exp() * del.exp();
                    result = (e + e) - result;
                }
            }
        }
    }
    result
}

/// Complementary error function (Cody).
fn erfc(x: f64) -> f64 {
    cody(x, Erf::Erfc)
}

/// Scaled complementary error function exp(x²)·erfc(x) (Cody).
pub(crate) fn erfcx(x: f64) -> f64 {
    cody(x, Erf::Erfcx)
}

// Delbourgo-Gregory shape-preserving rational cubic interpolation.
const MIN_CONTROL: f64 = -(1.0 - 1.490_116_119_384_765_6e-8);
const MAX_CONTROL: f64 = 2.0 / (EPS * EPS);

fn is_zero(x: f64) -> bool {
    x.abs() < f64::MIN_POSITIVE
}

#[allow(clippy::too_many_arguments)]
fn rational_cubic(x: f64, x_l: f64, x_r: f64, y_l: f64, y_r: f64, d_l: f64, d_r: f64, r: f64) -> f64 {
    let h = x_r - x_l;
    if h.abs() <= 0.0 {
        return 0.5 * (y_l + y_r);
    }
    let t = (x - x_l) / h;
    if r.is_nan() || r < MAX_CONTROL {
        let omt = 1.0 - t;
        let (t2, omt2) = (t * t, omt * omt);
        return (y_r * t2 * t + (r * y_r - h * d_r) * t2 * omt + (r * y_l + h * d_l) * t * omt2 + y_l * omt2 * omt)
            / (1.0 + (r - 3.0) * t * omt);
    }
    y_r * t + y_l * (1.0 - t)
}

fn minimum_control(d_l: f64, d_r: f64, s: f64, prefer_shape: bool) -> f64 {
    let monotonic = d_l * s >= 0.0 && d_r * s >= 0.0;
    let convex = d_l <= s && s <= d_r;
    let concave = d_l >= s && s >= d_r;
    if !monotonic && !convex && !concave {
        return MIN_CONTROL;
    }
    let (d_r_m_d_l, d_r_m_s, s_m_d_l) = (d_r - d_l, d_r - s, s - d_l);
    let mut r1 = -f64::MAX;
    let mut r2 = r1;
    if monotonic {
        if !is_zero(s) {
            r1 = (d_r + d_l) / s;
        } else if prefer_shape {
            r1 = MAX_CONTROL;
        }
    }
    if convex || concave {
        if !(is_zero(s_m_d_l) || is_zero(d_r_m_s)) {
            r2 = (d_r_m_d_l / d_r_m_s).abs().max((d_r_m_d_l / s_m_d_l).abs());
        } else if prefer_shape {
            r2 = MAX_CONTROL;
        }
    } else if monotonic && prefer_shape {
        r2 = MAX_CONTROL;
    }
    MIN_CONTROL.max(r1.max(r2))
}

#[allow(clippy::too_many_arguments)]
fn convex_rational_cubic_control_fit_left(
    x_l: f64,
    x_r: f64,
    y_l: f64,
    y_r: f64,
    d_l: f64,
    d_r: f64,
    second_l: f64,
    prefer_shape: bool,
) -> f64 {
    let slope = (y_r - y_l) / (x_r - x_l);
    control_fit(0.5 * (x_r - x_l) * second_l + (d_r - d_l), slope - d_l, d_l, d_r, slope, prefer_shape)
}

#[allow(clippy::too_many_arguments)]
fn convex_rational_cubic_control_fit_right(
    x_l: f64,
    x_r: f64,
    y_l: f64,
    y_r: f64,
    d_l: f64,
    d_r: f64,
    second_r: f64,
    prefer_shape: bool,
) -> f64 {
    let slope = (y_r - y_l) / (x_r - x_l);
    control_fit(0.5 * (x_r - x_l) * second_r + (d_r - d_l), d_r - slope, d_l, d_r, slope, prefer_shape)
}

/// The control parameter that fits a second derivative at one end (`numerator /
/// denominator`, as Jäckel's left and right fits form them), kept at least the minimum that
/// preserves monotonicity and convexity.
fn control_fit(numerator: f64, denominator: f64, d_l: f64, d_r: f64, slope: f64, prefer_shape: bool) -> f64 {
    let r = if is_zero(numerator) {
        0.0
    } else if is_zero(denominator) {
        if numerator > 0.0 {
            MAX_CONTROL
        } else {
            MIN_CONTROL
        }
    } else {
        numerator / denominator
    };
    r.max(minimum_control(d_l, d_r, slope, prefer_shape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::OptionKind;

    #[test]
    fn cody_matches_known_values() {
        // erfc(0.5), erfc(2), erfc(5), erfcx(10) to 15 digits.
        assert!((erfc(0.5) / 0.479_500_122_186_953_5 - 1.0).abs() < 1e-15);
        assert!((erfc(2.0) / 0.004_677_734_981_047_266 - 1.0).abs() < 1e-15);
        assert!((erfc(5.0) / 1.537_459_794_428_034_8e-12 - 1.0).abs() < 1e-14);
        assert!((erfcx(10.0) / 0.05614099274382259 - 1.0).abs() < 1e-15);
        assert!((erfc(-1.0) / 1.842_700_792_949_715 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn inverse_normal_inverts_the_normal() {
        // AS241 is good to about 1e-16 in z; in the far tail that is about 1e-13 relative in u.
        for &u in &[1e-300, 1e-20, 1e-5, 0.01, 0.2, 0.5, 0.7, 0.99, 1.0 - 1e-12] {
            let z = inverse_norm_cdf(u);
            let tolerance = if u < 1e-100 { 1e-12 } else { 1e-13 };
            assert!((norm_cdf(z) / u - 1.0).abs() < tolerance, "u {u}: {}", norm_cdf(z));
        }
    }

    #[test]
    fn the_normalised_black_function_matches_40_digit_values_in_every_region() {
        // b(x, s) computed with mpmath at 50 digits, one case or more per region: the
        // asymptotic expansion, the small-s expansion, the plain formula, the erfcx form.
        let cases = [
            (-0.5, 0.3, 0.00589823261053482),
            (-2.0, 1.0, 0.007697375453146092),
            (0.3, 0.2, 0.3069664734813701),
            (-0.01, 0.05, 0.0153427592373073),
            (-3.0, 0.1, 1.629_922_555_337_748_2e-200),
            (-30.0, 2.0, 2.955_660_855_258_306_4e-52),
        ];
        for (x, s, exact) in cases {
            let b = normalised_black_call(x, s);
            // exp(−(h² + t²)/2) of a large argument: its rounding, ε·(h² + t²)/2, bounds the
            // accuracy of any evaluation (Marsaglia); 1e-13 here, 1e-14 elsewhere.
            let tolerance = 1e-14_f64.max(2.0 * EPS * 0.5 * ((x / s) * (x / s) + 0.25 * s * s));
            assert!((b / exact - 1.0).abs() < tolerance, "x {x} s {s}: {b} vs {exact}");
        }
    }

    /// Relative error of the total volatility recovered from the normalised price b(x, s),
    /// with its condition number κ = b/(s·∂b/∂s): a price known to ε relative gives σ to κ·ε.
    fn round_trip(x: f64, s: f64, theta: f64) -> Option<(f64, f64)> {
        // The call price of moneyness x; a put is the call of −x plus its intrinsic value.
        let (f, k) = ((0.5 * x).exp(), (-0.5 * x).exp());
        let call = normalised_black_call(x, s);
        // The put by reciprocal-strike symmetry: b_put(x, s) = b_call(−x, s).
        let price = if theta > 0.0 { call } else { normalised_black_call(-x, s) };
        let intrinsic = (theta * (f - k)).max(0.0);
        if !(price > intrinsic && price > 0.0) {
            return None;
        }
        let kappa = price / (s * normalised_vega(x, s));
        let f_minus_k = if x >= 0.0 { normalised_intrinsic_call(x) } else { -normalised_intrinsic_call(-x) };
        let implied = total_vol(price, x, 1.0, f_minus_k, theta);
        Some(((implied / s - 1.0).abs(), kappa))
    }

    #[test]
    fn round_trip_error_is_below_1e12_wherever_the_price_carries_the_volatility() {
        let (mut worst, mut tested, mut skipped) = (0.0_f64, 0, 0);
        let days = [1.0, 2.0, 7.0, 30.0, 91.0, 365.0, 1_825.0, 3_650.0, 10_950.0];
        let vols = [0.01, 0.03, 0.1, 0.2, 0.4, 0.8, 1.5, 3.0];
        for &d in &days {
            for &v in &vols {
                let s = v * (d / 365.0_f64).sqrt();
                for m in -50..=50 {
                    // Moneyness from −5 to 5 standard deviations.
                    let x = f64::from(m) / 10.0 * s;
                    for theta in [1.0, -1.0] {
                        let Some((err, kappa)) = round_trip(x, s, theta) else { continue };
                        // Where a rounding of the price moves σ by more than 1e-13, the price
                        // does not carry the volatility to 1e-12.
                        if kappa * EPS > 1e-13 {
                            skipped += 1;
                            continue;
                        }
                        tested += 1;
                        worst = worst.max(err);
                        assert!(err <= 1e-12, "x {x} s {s} theta {theta}: error {err:e}, κ {kappa:e}");
                    }
                }
            }
        }
        // Deep in the money and short-dated the price is almost all intrinsic value: a third
        // or so of the grid is too ill-conditioned to ask 1e-12 of anyone.
        assert!(tested > 10_000 && skipped < tested / 2, "{tested} tested, {skipped} skipped");
        println!("round trip: {tested} cases, max relative error {worst:e}, {skipped} ill-conditioned skipped");
    }

    #[test]
    fn round_trip_holds_over_random_inputs_of_the_public_api() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let mut worst = 0.0_f64;
        let mut tested = 0;
        for _ in 0..20_000 {
            let expiry = (rng.gen_range(0.0..(30.0_f64 * 365.0).ln())).exp() / 365.0;
            let volatility = rng.gen_range(0.01_f64.ln()..3.0_f64.ln()).exp();
            let (rate, dividend) = (rng.gen_range(-0.03..0.12), rng.gen_range(-0.01..0.08));
            let spot = 100.0;
            let s = volatility * f64::sqrt(expiry);
            let z: f64 = rng.gen_range(-5.0..5.0);
            let strike = spot * ((rate - dividend) * expiry - z * s).exp();
            let kind = if rng.gen_bool(0.5) { OptionKind::Call } else { OptionKind::Put };
            let input = crate::options::BsInput { kind, spot, strike, rate, dividend, volatility, expiry };
            let g = crate::options::bsm(&input);
            // The price's own rounding: a few ε, plus ε·(h² + t²)/2 from the exponential of
            // the Black function (h = x/s, t = s/2); through κ = price/(σ·vega) it bounds
            // the attainable accuracy of σ. Where that is above 1e-13, skip.
            let x = (spot / strike).ln() + (rate - dividend) * expiry;
            let rounding = EPS * (2.0 + 0.5 * ((x / s) * (x / s) + 0.25 * s * s));
            if !(g.price > 0.0 && g.vega > 0.0) || g.price / (volatility * g.vega) * rounding > 1e-13 {
                continue;
            }
            let req = ImpliedVolInput { kind, spot, strike, rate, dividend, expiry, price: g.price };
            let Ok(v) = implied_volatility(&req) else { continue };
            let err = (v.volatility / volatility - 1.0).abs();
            assert!(err <= 1e-12, "{input:?}: {} ({err:e})", v.volatility);
            worst = worst.max(err);
            tested += 1;
        }
        assert!(tested > 12_000, "{tested}");
        println!("public round trip: {tested} cases, max relative error {worst:e}");
    }

    #[test]
    fn prices_outside_the_no_arbitrage_bounds_are_errors_naming_the_price() {
        let base = ImpliedVolInput {
            kind: OptionKind::Call,
            spot: 100.0,
            strike: 90.0,
            rate: 0.05,
            dividend: 0.01,
            expiry: 0.5,
            price: 12.0,
        };
        assert!(implied_volatility(&base).is_ok());
        let s_pv = 100.0 * (-0.01_f64 * 0.5).exp();
        let k_pv = 90.0 * (-0.05_f64 * 0.5).exp();
        let cases = [
            (OptionKind::Call, s_pv - k_pv - 0.01),
            (OptionKind::Call, s_pv - k_pv),
            (OptionKind::Call, s_pv),
            (OptionKind::Call, s_pv + 1.0),
            (OptionKind::Call, -1.0),
            (OptionKind::Put, 0.0),
            (OptionKind::Put, k_pv),
            (OptionKind::Put, 1e9),
            (OptionKind::Put, f64::NAN),
            (OptionKind::Put, f64::INFINITY),
        ];
        for (kind, price) in cases {
            let err = implied_volatility(&ImpliedVolInput { kind, price, ..base }).unwrap_err();
            assert!(err.to_string().starts_with("price: "), "{kind:?} {price}: {err}");
        }
        let bad_expiry = implied_volatility(&ImpliedVolInput { expiry: 0.0, ..base }).unwrap_err();
        assert!(bad_expiry.to_string().starts_with("expiry: "));
    }
}
