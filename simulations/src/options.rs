//! Options: Black-Scholes-Merton prices and Greeks with a continuous dividend yield, implied
//! volatility ([`implied`], Jäckel's "Let's Be Rational"), American options ([`american`],
//! Bjerksund-Stensland) and option strategies with a selector ([`strategy`]).

pub mod american;
pub mod implied;
pub mod strategy;

use serde::{Deserialize, Serialize};

use crate::{invalid, SimError};

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionKind {
    Call,
    Put,
}

/// A European option under Black-Scholes-Merton: rates continuously compounded, expiry in
/// years; no dividend yield when `dividend` is absent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a request object")]
pub struct BsInput {
    pub kind: OptionKind,
    pub spot: f64,
    pub strike: f64,
    pub rate: f64,
    #[serde(default)]
    pub dividend: f64,
    pub volatility: f64,
    pub expiry: f64,
}

/// Price and Greeks per unit change: vega per 1.00 of volatility, theta per year, rho per
/// 1.00 of the rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Greeks {
    pub price: f64,
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
    pub rho: f64,
}

/// Standard normal distribution function, to full relative accuracy in both tails (Cody's
/// `erfc`, and the asymptotic series below −10).
pub fn norm_cdf(x: f64) -> f64 {
    implied::norm_cdf(x)
}

/// Standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Checks the market inputs shared by every pricer: spot and strike positive, rate and
/// dividend finite, expiry positive.
pub fn check_market(spot: f64, strike: f64, rate: f64, dividend: f64, expiry: f64) -> Result<(), SimError> {
    if !(spot.is_finite() && spot > 0.0) {
        return Err(invalid("spot", "must be a positive number"));
    }
    if !(strike.is_finite() && strike > 0.0) {
        return Err(invalid("strike", "must be a positive number"));
    }
    if !rate.is_finite() {
        return Err(invalid("rate", "must be a finite number"));
    }
    if !dividend.is_finite() {
        return Err(invalid("dividend", "must be a finite number"));
    }
    if !(expiry.is_finite() && expiry > 0.0) {
        return Err(invalid("expiry", "must be a positive number of years"));
    }
    Ok(())
}

/// Black-Scholes-Merton price and Greeks, after checking the input.
pub fn black_scholes(input: &BsInput) -> Result<Greeks, SimError> {
    check_market(input.spot, input.strike, input.rate, input.dividend, input.expiry)?;
    if !(input.volatility.is_finite() && input.volatility > 0.0) {
        return Err(invalid("volatility", "must be a positive number"));
    }
    finite(bsm(input))
}

/// The Greeks when all are finite numbers; extreme inputs (a rate of 1,500%, a volatility
/// of 1e200) can overflow them.
pub fn finite(g: Greeks) -> Result<Greeks, SimError> {
    if [g.price, g.delta, g.gamma, g.vega, g.theta, g.rho].iter().all(|v| v.is_finite()) {
        Ok(g)
    } else {
        Err(invalid("rate", "with this dividend, volatility and expiry the price or a Greek is not a finite number"))
    }
}

/// Black-Scholes-Merton price and Greeks; the input is taken as valid.
pub fn bsm(input: &BsInput) -> Greeks {
    let BsInput { kind, spot: s, strike: k, rate: r, dividend: q, volatility: v, expiry: t } = *input;
    let sqrt_t = t.sqrt();
    let vol_t = v * sqrt_t;
    // Log-moneyness of the forward, x = ln(F/K); near the money from S − K (exact there) so
    // that x keeps its relative accuracy.
    let x = if (s - k).abs() < 0.5 * k { ((s - k) / k).ln_1p() } else { (s / k).ln() } + (r - q) * t;
    let d1 = x / vol_t + 0.5 * vol_t;
    let d2 = d1 - vol_t;
    let dq = (-q * t).exp();
    let dr = (-r * t).exp();
    let fwd = s * dq;
    let strike_pv = k * dr;
    let n1 = norm_pdf(d1);
    let gamma = dq * n1 / (s * vol_t);
    let vega = fwd * n1 * sqrt_t;
    let decay = -fwd * n1 * v / (2.0 * sqrt_t);
    // The price from the normalised Black function √(F·K)·b(±x, σ√T), discounted: out of the
    // money it keeps full relative accuracy where F·Φ(d1) − K·Φ(d2) cancels, and in the money
    // it is the intrinsic value plus the time value, each exact, so that the time value (all
    // that the volatility moves) is not lost in the rounding of F·Φ(d1). Out of the money with
    // Φ(d1) above Φ(0.85) the plain formula loses nothing (Jäckel's region 3) and reuses the
    // Greeks' Φ(d1), Φ(d2).
    let normalised = |m: f64| strike_pv * (0.5 * x).exp() * implied::normalised_black_call(m, vol_t);
    match kind {
        OptionKind::Call => {
            let (nd1, nd2) = (norm_cdf(d1), norm_cdf(d2));
            Greeks {
                price: if x <= 0.0 && d1 > 0.85 { fwd * nd1 - strike_pv * nd2 } else { normalised(x) },
                delta: dq * nd1,
                gamma,
                vega,
                theta: decay - r * strike_pv * nd2 + q * fwd * nd1,
                rho: t * strike_pv * nd2,
            }
        }
        OptionKind::Put => {
            let (nd1, nd2) = (norm_cdf(-d1), norm_cdf(-d2));
            Greeks {
                price: if x >= 0.0 && -d2 > 0.85 { strike_pv * nd2 - fwd * nd1 } else { normalised(-x) },
                delta: -dq * nd1,
                gamma,
                vega,
                theta: decay + r * strike_pv * nd2 - q * fwd * nd1,
                rho: -t * strike_pv * nd2,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: OptionKind) -> BsInput {
        BsInput { kind, spot: 100.0, strike: 95.0, rate: 0.05, dividend: 0.02, volatility: 0.25, expiry: 0.75 }
    }

    #[test]
    fn put_call_parity_holds() {
        let c = bsm(&input(OptionKind::Call));
        let p = bsm(&input(OptionKind::Put));
        let i = input(OptionKind::Call);
        let parity = i.spot * (-i.dividend * i.expiry).exp() - i.strike * (-i.rate * i.expiry).exp();
        assert!((c.price - p.price - parity).abs() < 1e-12, "{} vs {}", c.price - p.price, parity);
        assert!((c.delta - p.delta - (-i.dividend * i.expiry).exp()).abs() < 1e-14);
        assert_eq!(c.gamma, p.gamma);
        assert_eq!(c.vega, p.vega);
    }

    #[test]
    fn greeks_match_finite_differences() {
        let base = input(OptionKind::Call);
        let g = bsm(&base);
        let h = 1e-5;
        let bump = |f: &dyn Fn(&mut BsInput, f64)| {
            let (mut up, mut down) = (base, base);
            f(&mut up, h);
            f(&mut down, -h);
            (bsm(&up).price - bsm(&down).price) / (2.0 * h)
        };
        assert!((bump(&|i, d| i.spot += d) - g.delta).abs() < 1e-7);
        assert!((bump(&|i, d| i.volatility += d) - g.vega).abs() < 1e-5);
        assert!((bump(&|i, d| i.rate += d) - g.rho).abs() < 1e-5);
        // Theta is the derivative with respect to calendar time: minus d/d(expiry).
        assert!((-bump(&|i, d| i.expiry += d) - g.theta).abs() < 1e-5);
    }

    #[test]
    fn bad_input_names_the_field() {
        let mut i = input(OptionKind::Put);
        i.volatility = 0.0;
        assert_eq!(black_scholes(&i).unwrap_err().to_string(), "volatility: must be a positive number");
        i.volatility = 0.2;
        i.expiry = -1.0;
        assert!(black_scholes(&i).unwrap_err().to_string().starts_with("expiry:"));
    }
}
