//! One block of paths stepped side by side. Each path draws from its own random stream (one
//! lane of [`Streams`]) in a fixed order every step: one fill of words from every lane (the
//! Box-Muller words for the diffusion normals and, with odd Student-t degrees of freedom, the
//! chi-square's normal, then the uniforms for the chi-square, the jump count, the crash and
//! the next regime; see `Layout`), then the draws whose count varies by path (a jump's size,
//! gamma chi-squares, skewed-t parts, the economy) from that path's lane alone. So a path's
//! numbers do not depend on which block or thread simulates it. The draws and the arithmetic
//! run over arrays of [`BLOCK`] lanes per asset, which the compiler vectorizes; fields read in
//! those loops are copied to locals first where the compiler could not otherwise rule out
//! aliasing (it scalarizes such loops).

use rand::Rng;
use rand_distr::Distribution;

use super::lanes::{self, Lanes, Streams, Words};
use super::{Prepared, Shock};
use crate::distributions::{self, mul_add};
use crate::markov::{cumulative, pick};
pub use crate::rng::path_rng;
use crate::rng::path_seed;
use crate::scenario::EconomyPath;

/// Paths per block: 16 lanes are two 512-bit (or four 256-bit) vectors per operation, which
/// gives the processor two independent chains through every polynomial; 8 left it waiting on
/// latencies (0.45 s against 0.30 s on the benchmark); 24 and 32 were slower again (0.42 s and
/// 0.34 s), short of registers.
pub const BLOCK: usize = 16;

/// How a step's Student-t chi-square is drawn: for whole degrees of freedom up to
/// [`MAX_PRODUCT_NU`] as -2 ln(U_1 ... U_m) (+ Z^2 when odd), which is exact and vectorizes;
/// otherwise from the gamma distribution, lane by lane.
#[derive(Debug, Clone, Copy)]
enum Chi {
    None,
    Product { uniforms: usize, odd: bool },
    Gamma,
}

/// Whole degrees of freedom up to this draw the chi-square as a product of uniforms (30 keeps
/// the product of 15 uniforms, each at least 2^-53, a normal double).
const MAX_PRODUCT_NU: f64 = 30.0;

/// Where a step's vector draws sit among the words it takes from every lane: the normals'
/// pairs first, then the chi-square's uniforms, the jump's, the crash's two and the regime's.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// The first word after the normals' pairs.
    uniforms: usize,
    jump: Option<usize>,
    crash: Option<usize>,
    regime: Option<usize>,
    total: usize,
}

impl Layout {
    fn new(prep: &Prepared, normals: usize, chi: Chi) -> Self {
        let uniforms = 2 * normals.div_ceil(2);
        let mut total = uniforms + if let Chi::Product { uniforms, .. } = chi { uniforms } else { 0 };
        let mut take = |present: bool, count: usize| {
            present.then(|| {
                total += count;
                total - count
            })
        };
        let jump = take(prep.jumps.is_some(), 1);
        let crash = take(prep.crash.is_some(), 2);
        let regime = take(prep.economy.is_none() && prep.transition.len() > 1, 1);
        Self { uniforms, jump, crash, regime, total }
    }
}

/// Up to [`BLOCK`] paths' draws, one step at a time.
pub struct Block<'a> {
    prep: &'a Prepared,
    len: usize,
    streams: Streams,
    /// Where each step's vector draws sit among its words, and the words.
    layout: Layout,
    words: Vec<Words>,
    chi: Chi,
    /// -1 for the antithetic twin of a pair (it replays its partner's stream negated).
    sign: Lanes,
    regime: [usize; BLOCK],
    /// Each path's cumulative transition probabilities out of its current regime (but the
    /// last, which is 1).
    threshold: Vec<Lanes>,
    /// Raw normals per asset, then the chi-square's and the jump's normal when the model has
    /// them, per path; and (skewed-t only) the shocks made from the asset normals, which then
    /// give way to the control variate's normals (see `draw`).
    z: Vec<Lanes>,
    shock: Vec<Lanes>,
    /// Scratch for the Box-Muller radii.
    radius: Vec<Lanes>,
    /// The multivariate t's common scale, the jumps' log-return and the crash's loss.
    scale: Lanes,
    jump: Lanes,
    crash: Lanes,
    /// Each path's per-step drift and volatility per asset in its current regime.
    drift: Vec<Lanes>,
    vol: Vec<Lanes>,
    /// GARCH variance ratios (1 on average).
    h: Vec<Lanes>,
    /// This step's log-returns and gross returns per asset, and the portfolio's gross return,
    /// per path.
    r: Vec<Lanes>,
    gross: Vec<Lanes>,
    portfolio: Lanes,
    /// This step's control-variate increment per path.
    control: Lanes,
    /// The economy's path per path (when the model has one) and its inflation this step.
    economy: Vec<EconomyPath<'a>>,
    inflation: Lanes,
    no_jump: f64,
    jump_rate: f64,
}

impl<'a> Block<'a> {
    /// Paths `first .. first + len`. With `antithetic`, paths `2k` and `2k + 1` share stream
    /// `k`, the second negating its diffusion normals (and taking the other side of the
    /// skewed-t's coin).
    pub fn new(prep: &'a Prepared, seed: u64, first: u64, len: usize, antithetic: bool) -> Self {
        assert!(len <= BLOCK);
        let (mut seeds, mut sign) = ([0u64; BLOCK], [1.0; BLOCK]);
        for k in 0..len {
            let path = first + k as u64;
            seeds[k] = if antithetic { path_seed(seed, path / 2) } else { path_seed(seed, path) };
            if antithetic && path % 2 == 1 {
                sign[k] = -1.0;
            }
        }
        let mut streams = Streams::new(seeds);
        let (mut regime, mut economy) = ([0; BLOCK], Vec::new());
        let start = cumulative(&prep.stationary);
        for (k, regime) in regime.iter_mut().enumerate().take(len) {
            let lane = &mut streams.lane(k);
            match &prep.economy {
                Some(e) => {
                    let path = EconomyPath::new(e, lane);
                    *regime = path.regime();
                    economy.push(path);
                }
                None => *regime = pick(&start, lane.gen()),
            }
        }
        let n = prep.n;
        let chi = match prep.shock {
            Shock::T { nu, .. } if nu.fract() == 0.0 && nu <= MAX_PRODUCT_NU => {
                Chi::Product { uniforms: (nu / 2.0) as usize, odd: nu % 2.0 == 1.0 }
            }
            Shock::T { .. } => Chi::Gamma,
            _ => Chi::None,
        };
        let extra = usize::from(matches!(chi, Chi::Product { odd: true, .. }));
        let layout = Layout::new(prep, n + extra, chi);
        let jump_rate = prep.jumps.map_or(0.0, |j| j.intensity * prep.dt);
        let mut block = Self {
            prep,
            len,
            streams,
            layout,
            words: vec![[0; BLOCK]; layout.total],
            chi,
            sign,
            regime,
            threshold: vec![[0.0; BLOCK]; prep.transition.first().map_or(0, |row| row.len().saturating_sub(1))],
            z: vec![[0.0; BLOCK]; n + extra],
            shock: vec![[0.0; BLOCK]; n],
            radius: vec![[0.0; BLOCK]; layout.uniforms / 2],
            scale: [1.0; BLOCK],
            jump: [0.0; BLOCK],
            crash: [0.0; BLOCK],
            drift: vec![[0.0; BLOCK]; n],
            vol: vec![[0.0; BLOCK]; n],
            h: vec![[1.0; BLOCK]; n],
            r: vec![[0.0; BLOCK]; n],
            gross: vec![[0.0; BLOCK]; n],
            portfolio: [0.0; BLOCK],
            control: [0.0; BLOCK],
            economy,
            inflation: [0.0; BLOCK],
            no_jump: (-jump_rate).exp(),
            jump_rate,
        };
        for k in 0..BLOCK {
            block.set_regime(k, block.regime[k]);
        }
        block
    }

    /// Path `k`'s regime for the coming step.
    pub fn regime(&self, k: usize) -> usize {
        self.regime[k]
    }

    /// Path `k`'s log-return of asset `i` in the last step.
    pub fn log_return(&self, k: usize, i: usize) -> f64 {
        self.r[i][k]
    }

    /// Draws every path's random numbers for one step; returns the next regimes.
    // Lane loops index several arrays by the same lane; iterator chains would hide that.
    #[allow(clippy::needless_range_loop)]
    fn draw(&mut self) -> [usize; BLOCK] {
        let p = self.prep;
        let n = p.n;
        let layout = self.layout;
        let words = &mut self.words[..layout.total];
        self.streams.fill(words);
        let words = &self.words[..layout.total];
        lanes::box_muller(&words[..layout.uniforms], &mut self.radius, &mut self.z);
        // Local copies of fields read in lane loops that write through a vector: the compiler
        // cannot tell that they do not alias, and would otherwise reload them lane by lane.
        let sign = self.sign;
        for z in &mut self.z[..n] {
            for k in 0..BLOCK {
                z[k] *= sign[k];
            }
        }
        let extra = n;
        // The Student-t's common scale sqrt((nu - 2) / chi-square).
        match (self.chi, &p.shock) {
            (Chi::Product { uniforms, odd }, Shock::T { nu, .. }) => {
                let mut product = [1.0; BLOCK];
                for w in &words[layout.uniforms..layout.uniforms + uniforms] {
                    let u = lanes::uniforms(w);
                    for k in 0..BLOCK {
                        product[k] *= u[k];
                    }
                }
                let squared = if odd { self.z[extra] } else { [0.0; BLOCK] };
                let excess = nu - 2.0;
                let mut scale = [0.0; BLOCK];
                for k in 0..BLOCK {
                    scale[k] = (excess / (squared[k] * squared[k] - 2.0 * lanes::ln(product[k]))).sqrt();
                }
                self.scale = scale;
            }
            (Chi::Gamma, Shock::T { nu, chi }) => {
                for k in 0..self.len {
                    self.scale[k] = ((nu - 2.0) / chi.sample(&mut self.streams.lane(k))).sqrt();
                }
            }
            _ => {}
        }
        if let (Some(j), Some(at)) = (p.jumps, layout.jump) {
            // Poisson by inversion (most steps have none, and most blocks no jump at all); the
            // sum of `count` normal jump sizes is one normal with `count` times the mean and
            // variance, drawn from the path's lane only when it jumps.
            let u = lanes::uniforms(&words[at]);
            self.jump = [0.0; BLOCK];
            let mut jumped = lanes::mask(|k| u[k] > self.no_jump);
            while jumped != 0 {
                let k = jumped.trailing_zeros() as usize;
                jumped &= jumped - 1;
                let (mut count, mut term, mut cumulative) = (0u32, self.no_jump, self.no_jump);
                while u[k] > cumulative && count < 1000 {
                    count += 1;
                    term *= self.jump_rate / f64::from(count);
                    cumulative += term;
                }
                let c = f64::from(count);
                self.jump[k] = c * j.mean + c.sqrt() * j.volatility * self.streams.lane(k).normal();
            }
        }
        if let (Some((probability, min, max)), Some(at)) = (p.crash, layout.crash) {
            let (hit, size) = (lanes::uniforms(&words[at]), lanes::uniforms(&words[at + 1]));
            for k in 0..BLOCK {
                self.crash[k] = if hit[k] <= probability { min + (max - min) * size[k] } else { 0.0 };
            }
        }
        let mut next = self.regime;
        if let Some(at) = layout.regime {
            // The next regime is the first whose cumulative probability exceeds the uniform:
            // the number of cumulative thresholds (but the last) at or below it.
            let u = lanes::uniforms(&words[at]);
            let mut index = [0.0; BLOCK];
            for threshold in &self.threshold {
                for k in 0..BLOCK {
                    index[k] += if u[k] >= threshold[k] { 1.0 } else { 0.0 };
                }
            }
            for k in 0..BLOCK {
                next[k] = index[k] as usize;
            }
        }
        // Draws whose number varies by path, from each path's own lane.
        for k in 0..self.len {
            if let Shock::Skewed { dist, chi } = &p.shock {
                let lane = &mut self.streams.lane(k);
                for i in 0..n {
                    let w = chi.sample(lane);
                    let u: f64 = lane.gen();
                    let u = if self.sign[k] < 0.0 { 1.0 - u } else { u };
                    let z = self.z[i][k];
                    self.shock[i][k] = dist.from_parts(z, w, u);
                    // The control variate's normal: |z| to the side of a fair coin on the same
                    // uniform. Still exactly standard normal (so the control's mean stays 1), it
                    // keeps the shock's sign but where u falls between (1 - lambda) / 2 and 1/2;
                    // z itself, whose sign the shock drops, is nearly uncorrelated with it.
                    self.z[i][k] = if u < 0.5 { -z.abs() } else { z.abs() };
                }
            }
            if let Some(path) = self.economy.get_mut(k) {
                self.inflation[k] = path.step(&mut self.streams.lane(k)).inflation;
                next[k] = path.regime();
            }
        }
        next
    }

    /// Every path's inflation (annual rate) in the last step, when an economy drives the model.
    pub(super) fn inflation(&self) -> Option<&Lanes> {
        (!self.economy.is_empty()).then_some(&self.inflation)
    }

    /// One step for every path: draws, then log-returns, GARCH variances and gross returns.
    /// After the draws every loop runs over all [`BLOCK`] lanes (lanes past `len` compute on
    /// zeros and are never read), so it vectorizes without bounds checks.
    // Lane loops index several arrays by the same lane; iterator chains would hide that.
    #[allow(clippy::needless_range_loop)]
    pub fn step(&mut self) {
        let next = self.draw();
        let p = self.prep;
        let n = p.n;
        let source = if matches!(p.shock, Shock::Skewed { .. }) { &self.shock } else { &self.z };
        let mut row = 0;
        for i in 0..n {
            let mut e = [0.0; BLOCK];
            for (c, z) in p.chol[row..=row + i].iter().zip(source) {
                for k in 0..BLOCK {
                    e[k] = mul_add(*c, z[k], e[k]);
                }
            }
            row += i + 1;
            let (drift, mut sd) = (self.drift[i], self.vol[i]);
            for k in 0..BLOCK {
                e[k] *= self.scale[k];
            }
            if let Some(g) = p.garch {
                let h = &mut self.h[i];
                for k in 0..BLOCK {
                    sd[k] *= h[k].sqrt();
                    h[k] = (1.0 - g.alpha - g.beta) + g.alpha * h[k] * e[k] * e[k] + g.beta * h[k];
                }
            }
            let mut r = [0.0; BLOCK];
            for k in 0..BLOCK {
                r[k] = mul_add(sd[k], e[k], drift[k]) + self.jump[k];
            }
            if p.crash.is_some() {
                // ln(1 - 0) is exactly 0 on the lanes without a crash.
                let exposure = p.exposure[i];
                for k in 0..BLOCK {
                    r[k] += lanes::ln(1.0 - self.crash[k] * exposure);
                }
            }
            self.r[i] = r;
        }
        // The exponentials in one flat loop after the one above, so all assets' run side by side.
        for (g, r) in self.gross.as_flattened_mut().iter_mut().zip(self.r.as_flattened()) {
            *g = distributions::exp(*r);
        }
        let mut portfolio = [0.0; BLOCK];
        for (gross, w) in self.gross.iter().zip(&p.weights) {
            for k in 0..BLOCK {
                portfolio[k] = mul_add(*w, gross[k], portfolio[k]);
            }
        }
        self.portfolio = portfolio;
        let mut control = [0.0; BLOCK];
        for (c, z) in p.control.iter().zip(&self.z) {
            for k in 0..BLOCK {
                control[k] = mul_add(*c, z[k], control[k]);
            }
        }
        self.control = control;
        let mut changed = lanes::mask(|k| next[k] != self.regime[k]) & lanes::mask(|k| k < self.len);
        while changed != 0 {
            let k = changed.trailing_zeros() as usize;
            changed &= changed - 1;
            self.set_regime(k, next[k]);
        }
    }

    /// Moves path `k` to `regime`, with its drifts and volatilities.
    #[inline]
    fn set_regime(&mut self, k: usize, regime: usize) {
        let n = self.prep.n;
        self.regime[k] = regime;
        for i in 0..n {
            self.drift[i][k] = self.prep.drift[regime * n + i];
            self.vol[i][k] = self.prep.vol[regime * n + i];
        }
        if let Some(row) = self.prep.transition.get(regime) {
            for (threshold, c) in self.threshold.iter_mut().zip(row) {
                threshold[k] = *c;
            }
        }
    }

    /// Every path's portfolio gross return over the last step (rebalanced to the weights).
    pub(super) fn portfolio_gross(&self) -> &Lanes {
        &self.portfolio
    }

    /// Every path's control-variate increment in the last step.
    pub(super) fn controls(&self) -> &Lanes {
        &self.control
    }
}
