//! Shock distributions with zero mean and unit variance: Hansen's (1994) skewed Student-t,
//! with its density, distribution function, moments and a sampler; and a fast exponential
//! for the engine's inner loop.

use rand::Rng;
use rand_distr::{Distribution, Gamma, StandardNormal};
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::gamma::ln_gamma;

/// Hansen's skewed-t with `nu` degrees of freedom (> 2) and skew `lambda` in (-1, 1),
/// standardized to mean 0 and variance 1. With `lambda = 0` it is the Student-t scaled to
/// unit variance; a negative `lambda` puts more mass in the left tail.
///
/// Its density is `b c (1 + ((b z + a) / (1 - lambda))^2 / (nu - 2))^(-(nu + 1) / 2)` left of
/// `-a / b` and the same with `1 + lambda` right of it, where
/// `c = Gamma((nu + 1) / 2) / (sqrt(pi (nu - 2)) Gamma(nu / 2))`,
/// `a = 4 lambda c (nu - 2) / (nu - 1)` and `b^2 = 1 + 3 lambda^2 - a^2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkewedT {
    pub nu: f64,
    pub lambda: f64,
    c: f64,
    a: f64,
    b: f64,
}

impl SkewedT {
    /// `None` unless `nu > 2` and `-1 < lambda < 1`.
    pub fn new(nu: f64, lambda: f64) -> Option<Self> {
        if !(nu > 2.0 && nu.is_finite() && lambda > -1.0 && lambda < 1.0) {
            return None;
        }
        let c = (ln_gamma((nu + 1.0) / 2.0) - ln_gamma(nu / 2.0)).exp() / (std::f64::consts::PI * (nu - 2.0)).sqrt();
        let a = 4.0 * lambda * c * (nu - 2.0) / (nu - 1.0);
        let b = (1.0 + 3.0 * lambda * lambda - a * a).sqrt();
        Some(Self { nu, lambda, c, a, b })
    }

    /// The side's scale: `1 - lambda` left of the mode's split, `1 + lambda` right of it.
    fn side(&self, z: f64) -> f64 {
        if z < -self.a / self.b {
            1.0 - self.lambda
        } else {
            1.0 + self.lambda
        }
    }

    pub fn pdf(&self, z: f64) -> f64 {
        self.ln_pdf(z).exp()
    }

    pub fn ln_pdf(&self, z: f64) -> f64 {
        let y = (self.b * z + self.a) / self.side(z);
        (self.b * self.c).ln() - (self.nu + 1.0) / 2.0 * (y * y / (self.nu - 2.0)).ln_1p()
    }

    pub fn cdf(&self, z: f64) -> f64 {
        let t = StudentsT::new(0.0, 1.0, self.nu).expect("nu > 2");
        let scale = (self.nu / (self.nu - 2.0)).sqrt();
        let l = self.lambda;
        if z < -self.a / self.b {
            (1.0 - l) * t.cdf((self.b * z + self.a) / (1.0 - l) * scale)
        } else {
            (1.0 - l) / 2.0 + (1.0 + l) * (t.cdf((self.b * z + self.a) / (1.0 + l) * scale) - 0.5)
        }
    }

    /// Skewness (needs `nu > 3`) and excess kurtosis (needs `nu > 4`) in closed form
    /// (Jondeau and Rockinger 2003): with `y = b z + a`, `E[y^2] = 1 + 3 lambda^2`,
    /// `E[y^3] = 16 c lambda (1 + lambda^2) (nu - 2)^2 / ((nu - 1) (nu - 3))` and
    /// `E[y^4] = 3 (nu - 2) (1 + 10 lambda^2 + 5 lambda^4) / (nu - 4)`.
    pub fn skewness_kurtosis(&self) -> (f64, f64) {
        let (nu, l, a, b) = (self.nu, self.lambda, self.a, self.b);
        let m2 = 1.0 + 3.0 * l * l;
        let m3 = 16.0 * self.c * l * (1.0 + l * l) * (nu - 2.0).powi(2) / ((nu - 1.0) * (nu - 3.0));
        let m4 = 3.0 * (nu - 2.0) * (1.0 + 10.0 * l * l + 5.0 * l.powi(4)) / (nu - 4.0);
        let skew = (m3 - 3.0 * a * m2 + 2.0 * a.powi(3)) / b.powi(3);
        let kurt = (m4 - 4.0 * a * m3 + 6.0 * a * a * m2 - 3.0 * a.powi(4)) / b.powi(4);
        (skew, kurt - 3.0)
    }

    /// A draw from a standard normal `z`, a `Gamma(nu / 2, 2)` (chi-square) `w` and a uniform
    /// `u`: `|z| sqrt((nu - 2) / w)` is the absolute value of a unit-variance t; it goes left
    /// (scaled by `1 - lambda`) with probability `(1 - lambda) / 2`, right (scaled by
    /// `1 + lambda`) otherwise, and is then standardized by `a` and `b`.
    pub fn from_parts(&self, z: f64, w: f64, u: f64) -> f64 {
        let t = z.abs() * ((self.nu - 2.0) / w).sqrt();
        let y = if u < (1.0 - self.lambda) / 2.0 { -(1.0 - self.lambda) * t } else { (1.0 + self.lambda) * t };
        (y - self.a) / self.b
    }

    /// The chi-square with `nu` degrees of freedom the sampler needs.
    pub fn chi_square(&self) -> Gamma<f64> {
        Gamma::new(self.nu / 2.0, 2.0).expect("nu > 2")
    }

    pub fn sample<R: Rng + ?Sized>(&self, chi: &Gamma<f64>, rng: &mut R) -> f64 {
        let z: f64 = rng.sample(StandardNormal);
        let w = chi.sample(rng);
        self.from_parts(z, w, rng.gen())
    }
}

/// Degrees of freedom estimated from returns, with the standard error from the observed
/// information.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FittedT {
    pub nu: f64,
    pub standard_error: f64,
}

/// The Student-t degrees of freedom of `returns` by maximum likelihood: the returns are
/// standardized by their sample mean and standard deviation, and the unit-variance t's
/// log-likelihood is maximized over `nu` in (2.05, 1000) by golden-section search on
/// `ln(nu - 2)` (the profile is unimodal in practice). Needs 30 finite returns that vary.
pub fn fit_student_t(returns: &[f64]) -> Result<FittedT, String> {
    if returns.len() < 30 || returns.iter().any(|r| !r.is_finite()) {
        return Err("needs at least 30 finite returns".into());
    }
    let (mean, sd) = match (crate::risk::mean(returns), crate::risk::sample_sd(returns)) {
        (Ok(mean), Ok(sd)) if sd > 0.0 => (mean, sd),
        (Err(e), _) | (_, Err(e)) => return Err(e.to_string()),
        _ => return Err("the returns do not vary".into()),
    };
    let z: Vec<f64> = returns.iter().map(|r| (r - mean) / sd).collect();
    let loglik = |nu: f64| {
        let t = SkewedT::new(nu, 0.0).expect("nu > 2");
        z.iter().map(|z| t.ln_pdf(*z)).sum::<f64>()
    };
    let of = |s: f64| 2.0 + s.exp();
    let (mut lo, mut hi) = (0.05f64.ln(), 998.0f64.ln());
    let golden = (5.0f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (hi - golden * (hi - lo), lo + golden * (hi - lo));
    let (mut fa, mut fb) = (loglik(of(a)), loglik(of(b)));
    while hi - lo > 1e-9 {
        if fa > fb {
            (hi, b, fb) = (b, a, fa);
            a = hi - golden * (hi - lo);
            fa = loglik(of(a));
        } else {
            (lo, a, fa) = (a, b, fb);
            b = lo + golden * (hi - lo);
            fb = loglik(of(b));
        }
    }
    let nu = of((lo + hi) / 2.0);
    // Observed information: the log-likelihood's curvature at the maximum (central difference).
    let h = 1e-3 * nu;
    let curvature = (loglik(nu + h) - 2.0 * loglik(nu) + loglik(nu - h)) / (h * h);
    let standard_error = if curvature < 0.0 { (-1.0 / curvature).sqrt() } else { f64::INFINITY };
    Ok(FittedT { nu, standard_error })
}

/// `a * b + c` with one rounding where the build targets a processor with fused multiply-add
/// (the native build does), else a multiply and an add: there `f64::mul_add` would call the
/// library's `fma`, exact but a function call per number, which stops the loops around it
/// from vectorizing (a portable build ran the Monte Carlo benchmark 20x slower that way).
#[inline(always)]
pub(crate) fn mul_add(a: f64, b: f64, c: f64) -> f64 {
    #[cfg(any(target_feature = "fma", target_arch = "aarch64"))]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(any(target_feature = "fma", target_arch = "aarch64")))]
    {
        a * b + c
    }
}

/// The polynomial `c[0] + c[1] x + c[2] x^2 + ...` by Horner's rule with [`mul_add`]. With a
/// constant array of coefficients it unrolls to one multiply-add a term.
#[inline(always)]
pub(crate) fn horner(x: f64, c: &[f64]) -> f64 {
    c.iter().rev().copied().reduce(|p, c| mul_add(x, p, c)).unwrap_or(0.0)
}

/// 1/k! for k = 0 to 13: the Taylor coefficients of e^r.
const EXP_TAYLOR: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `e^x` for `x` in about [-708, 709] (clamped outside), within about one unit in the last
/// place, without branches or table lookups so that loops over arrays of it vectorize. Range
/// reduction `x = m ln 2 + r` with `|r| <= ln 2 / 2` (ln 2 split in two so that `m` times its
/// high part is exact), `e^x = 2^m e^r`, and a degree-13 Taylor polynomial for `e^r`
/// (truncation below 5e-18).
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer.
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let x = x.clamp(-708.0, 709.0);
    let t = x * LOG2_E + SHIFT;
    let m = t - SHIFT;
    let r = mul_add(-m, LN2_LO, mul_add(-m, LN2_HI, x));
    let p = horner(r, &EXP_TAYLOR);
    // The biased exponent m + 1023 is in 1..=2046 on the clamped range.
    let n = t.to_bits().wrapping_sub(SHIFT.to_bits()) as i64;
    p * f64::from_bits(((n + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;

    /// The fitted degrees of freedom of unit-variance t draws are within five standard errors
    /// (observed information) of the truth, for fat and thinner tails; normal draws give a
    /// large value; too few returns are refused.
    #[test]
    fn student_t_degrees_of_freedom_are_fitted_by_maximum_likelihood() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        for nu in [4.0, 8.0] {
            let t = SkewedT::new(nu, 0.0).unwrap();
            let chi = t.chi_square();
            let draws: Vec<f64> = (0..20_000).map(|_| 0.001 + 0.02 * t.sample(&chi, &mut rng)).collect();
            let fit = fit_student_t(&draws).unwrap();
            assert!((fit.nu - nu).abs() < 5.0 * fit.standard_error, "{fit:?} vs {nu}");
            assert!(fit.standard_error < nu / 4.0, "20,000 draws pin it down: {fit:?}");
        }
        let normal: Vec<f64> = (0..20_000).map(|_| rng.sample::<f64, _>(StandardNormal)).collect();
        assert!(fit_student_t(&normal).unwrap().nu > 30.0);
        assert!(fit_student_t(&normal[..10]).is_err());
        assert!(fit_student_t(&[0.01; 40]).is_err());
    }

    #[test]
    fn the_fast_exponential_agrees_with_the_library_one() {
        let mut worst = 0.0f64;
        for i in -700_000..=700_000 {
            let x = f64::from(i) * 1.0e-3 + 1.0e-7;
            let (fast, exact) = (exp(x), x.exp());
            worst = worst.max(((fast - exact) / exact).abs());
        }
        assert!(worst < 5.0e-16, "largest relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1000.0), (-708.0f64).exp().max(exp(-708.0)));
    }

    /// The density integrates to 1 with mean 0, variance 1 and the closed-form skewness and
    /// kurtosis (trapezoid rule on a fine grid; the tails beyond +-60 hold under 1e-9 of the
    /// fourth moment for nu = 10), and the distribution function is the density's integral.
    #[test]
    fn skewed_t_moments_match_the_closed_forms() {
        let d = SkewedT::new(10.0, -0.3).unwrap();
        let (h, mut m) = (1.0e-3, [0.0f64; 5]);
        let mut z = -60.0;
        while z <= 60.0 {
            let f = d.pdf(z) * h;
            for (k, mk) in m.iter_mut().enumerate() {
                *mk += f * z.powi(k as i32);
            }
            z += h;
        }
        let (skew, excess) = d.skewness_kurtosis();
        assert!((m[0] - 1.0).abs() < 1e-6, "mass {}", m[0]);
        assert!(m[1].abs() < 1e-6, "mean {}", m[1]);
        assert!((m[2] - 1.0).abs() < 1e-6, "variance {}", m[2]);
        assert!((m[3] - skew).abs() < 1e-5, "skewness {} vs {skew}", m[3]);
        assert!((m[4] - 3.0 - excess).abs() < 1e-4, "excess kurtosis {} vs {excess}", m[4] - 3.0);
        assert!(skew < 0.0, "a negative lambda skews left");
        let integral: f64 = (0..60_500).map(|i| d.pdf(-60.0 + (f64::from(i) + 0.5) * h) * h).sum();
        assert!((integral - d.cdf(0.5)).abs() < 1e-6, "{integral} vs {}", d.cdf(0.5));
        let symmetric = SkewedT::new(6.0, 0.0).unwrap();
        assert!(symmetric.skewness_kurtosis().0.abs() < 1e-15);
        assert!((symmetric.skewness_kurtosis().1 - 6.0 / (6.0 - 4.0)).abs() < 1e-12);
    }

    /// Draws have mean 0, variance 1 and the closed-form skewness, each within five standard
    /// errors estimated from the draws themselves, and the distribution function at several
    /// points within five binomial standard errors.
    #[test]
    fn skewed_t_draws_follow_the_distribution() {
        let d = SkewedT::new(8.0, 0.4).unwrap();
        let chi = d.chi_square();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let n = 1_000_000usize;
        let draws: Vec<f64> = (0..n).map(|_| d.sample(&chi, &mut rng)).collect();
        let nf = n as f64;
        let moment = |k: i32| draws.iter().map(|z| z.powi(k)).sum::<f64>() / nf;
        let se = |k: i32| ((moment(2 * k) - moment(k).powi(2)) / nf).sqrt();
        let (skew, _) = d.skewness_kurtosis();
        assert!(moment(1).abs() < 5.0 * se(1), "mean {}", moment(1));
        assert!((moment(2) - 1.0).abs() < 5.0 * se(2), "variance {}", moment(2));
        assert!((moment(3) - skew).abs() < 5.0 * se(3), "third moment {} vs {skew}", moment(3));
        for x in [-2.0, -1.0, -0.2, 0.0, 0.7, 1.5, 3.0] {
            let p = d.cdf(x);
            let share = draws.iter().filter(|z| **z <= x).count() as f64 / nf;
            assert!((share - p).abs() < 5.0 * (p * (1.0 - p) / nf).sqrt(), "F({x}): {share} vs {p}");
        }
    }
}
