//! One block of paths stepped side by side: each path's draws come from its own stream, in a
//! fixed order (diffusion normals; the shock's chi-square and side; jumps; a crash; the next
//! regime), so a path's numbers do not depend on which block or thread simulates it. The
//! arithmetic after the draws runs over arrays of [`BLOCK`] lanes per asset, which the
//! compiler vectorizes.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{pick, Prepared, Shock};
use crate::distributions;
use crate::scenario::EconomyPath;

/// Paths per block.
pub const BLOCK: usize = 8;

/// A path's generator: the seed and the path number mixed by SplitMix64 (inside
/// `seed_from_u64`) into xoshiro256++'s state.
pub fn path_rng(seed: u64, path: u64) -> Xoshiro256PlusPlus {
    let mut mix = Xoshiro256PlusPlus::seed_from_u64(seed);
    let base: u64 = mix.gen();
    Xoshiro256PlusPlus::seed_from_u64(base ^ path.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Up to [`BLOCK`] paths' draws, one step at a time.
pub struct Block<'a> {
    prep: &'a Prepared,
    len: usize,
    rng: Vec<Xoshiro256PlusPlus>,
    /// -1 for the antithetic twin of a pair (it replays its partner's stream negated).
    sign: [f64; BLOCK],
    regime: [usize; BLOCK],
    /// Raw normals and (skewed-t only) the shocks made from them, per asset, per path.
    z: Vec<[f64; BLOCK]>,
    shock: Vec<[f64; BLOCK]>,
    /// The multivariate t's common scale, the jumps' log-return and the crash's loss.
    scale: [f64; BLOCK],
    jump: [f64; BLOCK],
    crash: [f64; BLOCK],
    /// GARCH variance ratios (1 on average).
    h: Vec<[f64; BLOCK]>,
    /// This step's log-returns per asset, and the portfolio's gross return, per path.
    r: Vec<[f64; BLOCK]>,
    portfolio: [f64; BLOCK],
    /// This step's control-variate increment per path.
    control: [f64; BLOCK],
    /// The economy's path per path (when the model has one) and its inflation this step.
    economy: Vec<EconomyPath<'a>>,
    inflation: [f64; BLOCK],
    no_jump: f64,
    jump_rate: f64,
}

impl<'a> Block<'a> {
    /// Paths `first .. first + len`. With `antithetic`, paths `2k` and `2k + 1` share stream
    /// `k`, the second negating its diffusion normals (and taking the other side of the
    /// skewed-t's coin).
    pub fn new(prep: &'a Prepared, seed: u64, first: u64, len: usize, antithetic: bool) -> Self {
        assert!(len <= BLOCK);
        let (mut rng, mut sign, mut regime) = (Vec::with_capacity(len), [1.0; BLOCK], [0; BLOCK]);
        let mut economy = Vec::new();
        let start = super::cumulative(&prep.stationary);
        for k in 0..len {
            let path = first + k as u64;
            let mut r = if antithetic { path_rng(seed, path / 2) } else { path_rng(seed, path) };
            if antithetic && path % 2 == 1 {
                sign[k] = -1.0;
            }
            match &prep.economy {
                Some(e) => {
                    let path = EconomyPath::new(e, &mut r);
                    regime[k] = path.regime();
                    economy.push(path);
                }
                None => regime[k] = pick(&start, r.gen()),
            }
            rng.push(r);
        }
        let n = prep.n;
        let jump_rate = prep.jumps.map_or(0.0, |j| j.intensity * prep.dt);
        Self {
            prep,
            len,
            rng,
            sign,
            regime,
            z: vec![[0.0; BLOCK]; n],
            shock: vec![[0.0; BLOCK]; n],
            scale: [1.0; BLOCK],
            jump: [0.0; BLOCK],
            crash: [0.0; BLOCK],
            h: vec![[1.0; BLOCK]; n],
            r: vec![[0.0; BLOCK]; n],
            portfolio: [0.0; BLOCK],
            control: [0.0; BLOCK],
            economy,
            inflation: [0.0; BLOCK],
            no_jump: (-jump_rate).exp(),
            jump_rate,
        }
    }

    /// Path `k`'s regime for the coming step.
    pub fn regime(&self, k: usize) -> usize {
        self.regime[k]
    }

    /// Path `k`'s log-return of asset `i` in the last step.
    pub fn log_return(&self, k: usize, i: usize) -> f64 {
        self.r[i][k]
    }

    /// Path `k`'s control-variate increment in the last step.
    pub fn control(&self, k: usize) -> f64 {
        self.control[k]
    }

    /// Draws path `k`'s random numbers for one step; returns the next regime.
    fn draw(&mut self, k: usize) -> usize {
        let p = self.prep;
        let rng = &mut self.rng[k];
        let sign = self.sign[k];
        for i in 0..p.n {
            self.z[i][k] = sign * rng.sample::<f64, _>(StandardNormal);
        }
        self.scale[k] = match &p.shock {
            Shock::Normal => 1.0,
            Shock::T { nu, chi } => ((nu - 2.0) / chi.sample(rng)).sqrt(),
            Shock::Skewed { dist, chi } => {
                for i in 0..p.n {
                    let w = chi.sample(rng);
                    let u: f64 = rng.gen();
                    let u = if sign < 0.0 { 1.0 - u } else { u };
                    self.shock[i][k] = dist.from_parts(self.z[i][k], w, u);
                }
                1.0
            }
        };
        self.jump[k] = match p.jumps {
            Some(j) if self.jump_rate > 0.0 => {
                // Poisson by inversion: most steps have no jump and cost one uniform.
                let u: f64 = rng.gen();
                let (mut count, mut term, mut cumulative) = (0u32, self.no_jump, self.no_jump);
                while u > cumulative && count < 1000 {
                    count += 1;
                    term *= self.jump_rate / f64::from(count);
                    cumulative += term;
                }
                (0..count).map(|_| j.mean + j.volatility * rng.sample::<f64, _>(StandardNormal)).sum()
            }
            _ => 0.0,
        };
        self.crash[k] = match p.crash {
            Some((probability, min, max)) if rng.gen::<f64>() < probability => min + (max - min) * rng.gen::<f64>(),
            _ => 0.0,
        };
        if let Some(path) = self.economy.get_mut(k) {
            self.inflation[k] = path.step(rng).inflation;
            path.regime()
        } else if p.transition.len() > 1 {
            pick(&p.transition[self.regime[k]], rng.gen())
        } else {
            0
        }
    }

    /// Path `k`'s inflation (annual rate) in the last step, when an economy drives the model.
    pub fn inflation(&self, k: usize) -> Option<f64> {
        self.economy.get(k).map(|_| self.inflation[k])
    }

    /// One step for every path: draws, then log-returns, GARCH variances and gross returns.
    /// After the draws every loop runs over all [`BLOCK`] lanes (lanes past `len` compute on
    /// zeros and are never read), so it vectorizes without bounds checks.
    // Lane loops index several arrays by the same lane; iterator chains would hide that.
    #[allow(clippy::needless_range_loop)]
    pub fn step(&mut self) {
        let mut next = [0usize; BLOCK];
        for (k, next) in next.iter_mut().enumerate().take(self.len) {
            *next = self.draw(k);
        }
        let p = self.prep;
        let n = p.n;
        let source = if matches!(p.shock, Shock::Skewed { .. }) { &self.shock } else { &self.z };
        self.portfolio = [0.0; BLOCK];
        let mut row = 0;
        for i in 0..n {
            let mut e = [0.0; BLOCK];
            for (c, z) in p.chol[row..=row + i].iter().zip(source) {
                for k in 0..BLOCK {
                    e[k] += c * z[k];
                }
            }
            row += i + 1;
            let (mut drift, mut sd) = ([0.0; BLOCK], [0.0; BLOCK]);
            for k in 0..BLOCK {
                e[k] *= self.scale[k];
                let at = self.regime[k] * n + i;
                drift[k] = p.drift[at];
                sd[k] = p.vol[at];
            }
            if let Some(g) = p.garch {
                let h = &mut self.h[i];
                for k in 0..BLOCK {
                    sd[k] *= h[k].sqrt();
                    h[k] = (1.0 - g.alpha - g.beta) + g.alpha * h[k] * e[k] * e[k] + g.beta * h[k];
                }
            }
            let r = &mut self.r[i];
            for k in 0..BLOCK {
                r[k] = drift[k] + sd[k] * e[k] + self.jump[k];
                if self.crash[k] > 0.0 {
                    r[k] += (1.0 - self.crash[k] * p.exposure[i]).ln();
                }
            }
            let w = p.weights[i];
            for k in 0..BLOCK {
                self.portfolio[k] += w * distributions::exp(r[k]);
            }
        }
        self.control = [0.0; BLOCK];
        for (c, z) in p.control.iter().zip(&self.z) {
            for k in 0..BLOCK {
                self.control[k] += c * z[k];
            }
        }
        self.regime[..self.len].copy_from_slice(&next[..self.len]);
    }

    /// Path `k`'s portfolio gross return over the last step (rebalanced to the weights).
    pub fn portfolio_gross(&self, k: usize) -> f64 {
        self.portfolio[k]
    }
}
