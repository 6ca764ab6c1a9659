//! [`BLOCK`] random streams stepped side by side: xoshiro256++ on arrays of lanes, uniforms,
//! and standard normals by Box-Muller with a branch-free logarithm, sine and cosine, so that
//! the compiler vectorizes the draws as it does the arithmetic. Each lane is one path's own
//! stream: a vector draw advances every lane by the same number of words, and a lane can also
//! be drawn from alone ([`Streams::lane`], an [`RngCore`]) for draws whose count varies by
//! path, so a path's numbers never depend on its neighbours.

use rand::RngCore;

use crate::distributions::{horner, mul_add};

use super::kernel::BLOCK;

/// One word per lane.
pub(super) type Words = [u64; BLOCK];
/// One number per lane.
pub(super) type Lanes = [f64; BLOCK];

/// xoshiro256++ state, one generator per lane.
#[derive(Debug, Clone)]
pub(super) struct Streams {
    s: [Words; 4],
}

/// SplitMix64: the seeding generator recommended for xoshiro.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One step of xoshiro256++: the output, and the state advanced.
#[inline(always)]
fn xoshiro_next(s0: &mut u64, s1: &mut u64, s2: &mut u64, s3: &mut u64) -> u64 {
    let out = s0.wrapping_add(*s3).rotate_left(23).wrapping_add(*s0);
    let t = *s1 << 17;
    *s2 ^= *s0;
    *s3 ^= *s1;
    *s1 ^= *s2;
    *s0 ^= *s3;
    *s2 ^= t;
    *s3 = s3.rotate_left(45);
    out
}

/// 2^-53: a 53-bit integer times this is a double in [0, 1).
const UNIT: f64 = 1.0 / (1u64 << 53) as f64;

impl Streams {
    /// Each lane's generator from its seed (SplitMix64 fills the 256-bit state).
    pub(super) fn new(seeds: Words) -> Self {
        let mut s = [[0u64; BLOCK]; 4];
        for (k, seed) in seeds.into_iter().enumerate() {
            let mut state = seed;
            for word in &mut s {
                word[k] = splitmix64(&mut state);
            }
        }
        Self { s }
    }

    /// The next `out.len()` words of every lane, in order. The state is stepped in a local
    /// copy, which the compiler keeps in vector registers for the whole fill (stepping it in
    /// place makes it store and reload each lane).
    #[inline(always)]
    pub(super) fn fill(&mut self, out: &mut [Words]) {
        let [mut s0, mut s1, mut s2, mut s3] = self.s;
        for words in out {
            for k in 0..BLOCK {
                words[k] = xoshiro_next(&mut s0[k], &mut s1[k], &mut s2[k], &mut s3[k]);
            }
        }
        self.s = [s0, s1, s2, s3];
    }

    /// Lane `k` alone, as a generator.
    pub(super) fn lane(&mut self, k: usize) -> Lane<'_> {
        Lane { streams: self, k }
    }
}

/// One lane of [`Streams`], drawn from alone.
pub(super) struct Lane<'a> {
    streams: &'a mut Streams,
    k: usize,
}

impl Lane<'_> {
    /// One standard normal (Box-Muller on this lane's next two words; the pair's second
    /// normal is not used).
    pub(super) fn normal(&mut self) -> f64 {
        let radius = unit_open(self.next_u64());
        let (c, _) = cos_sin_turns(self.next_u64() >> 11);
        (-2.0 * ln(radius)).sqrt() * c
    }
}

impl RngCore for Lane<'_> {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.streams.s;
        let k = self.k;
        xoshiro_next(&mut s0[k], &mut s1[k], &mut s2[k], &mut s3[k])
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// A word's top 52 bits as a uniform in (0, 1]: 2 - [1, 2) by bits, exact.
#[inline]
fn unit_open(w: u64) -> f64 {
    2.0 - f64::from_bits((w >> 12) | 0x3FF0_0000_0000_0000)
}

/// The lanes where `f` holds, as bits (lane `k` is bit `k`).
#[inline(always)]
pub(super) fn mask(f: impl Fn(usize) -> bool) -> u32 {
    const _: () = assert!(BLOCK <= 32, "a lane mask is a u32");
    let mut bits = 0;
    for k in 0..BLOCK {
        bits |= u32::from(f(k)) << k;
    }
    bits
}

/// Every lane's word as a uniform in (0, 1] (never 0, so its logarithm is finite).
#[inline(always)]
pub(super) fn uniforms(words: &Words) -> Lanes {
    let mut u = [0.0; BLOCK];
    for k in 0..BLOCK {
        u[k] = unit_open(words[k]);
    }
    u
}

/// Standard normals per lane by Box-Muller, into every entry of `out`: pair `j` takes word
/// `j` (the radius's uniform) and word `pairs + j` (the angle), and gives `out[2j]` (the
/// cosine's) and `out[2j + 1]` (the sine's, dropped for the last of an odd count). `words`
/// holds `2 pairs` words, `pairs = ceil(out.len() / 2)`, and `radius` is scratch for `pairs`.
/// The radii are one flat loop over all pairs' lanes, so the processor has several independent
/// chains through the logarithm and square root at once.
#[inline(always)]
pub(super) fn box_muller(words: &[Words], radius: &mut [Lanes], out: &mut [Lanes]) {
    let pairs = words.len() / 2;
    let (radii, angles) = words.split_at(pairs);
    let radius = &mut radius[..pairs];
    for (r, w) in radius.as_flattened_mut().iter_mut().zip(radii.as_flattened()) {
        *r = (-2.0 * ln(unit_open(*w))).sqrt();
    }
    for (j, (r, angle)) in radius.iter().zip(angles).enumerate() {
        let (mut a, mut b) = ([0.0; BLOCK], [0.0; BLOCK]);
        for k in 0..BLOCK {
            // Same as Lane::normal, lane by lane.
            let (c, s) = cos_sin_turns(angle[k] >> 11);
            a[k] = r[k] * c;
            b[k] = r[k] * s;
        }
        out[2 * j] = a;
        if let Some(second) = out.get_mut(2 * j + 1) {
            *second = b;
        }
    }
}

/// FreeBSD msun's minimax coefficients (Sun Microsystems, freely distributable): e_log.c's
/// Lg1..Lg7, k_sin.c's S1..S6 and k_cos.c's C1..C6.
const LG: [f64; 7] = [
    6.666_666_666_666_735e-1,
    3.999_999_999_940_942e-1,
    2.857_142_874_366_239e-1,
    2.222_219_843_214_978_4e-1,
    1.818_357_216_161_805e-1,
    1.531_383_769_920_937_3e-1,
    1.479_819_860_511_658_6e-1,
];
const SIN: [f64; 6] = [
    -1.666_666_666_666_663_2e-1,
    8.333_333_333_322_49e-3,
    -1.984_126_982_985_795e-4,
    2.755_731_370_707_006_8e-6,
    -2.505_076_025_340_686_3e-8,
    1.589_690_995_211_55e-10,
];
const COS: [f64; 6] = [
    4.166_666_666_666_66e-2,
    -1.388_888_888_887_411e-3,
    2.480_158_728_947_673e-5,
    -2.755_731_435_139_066_3e-7,
    2.087_572_321_298_175e-9,
    -1.135_964_755_778_819_5e-11,
];

/// Natural logarithm of a positive, normal, finite `x`, branch-free: x = m 2^e with m in
/// [√½, √2), ln m = 2 atanh((m − 1)/(m + 1)) by a minimax polynomial. Relative error below
/// 4e-16 (the tests check it against the library's).
#[inline]
pub(super) fn ln(x: f64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let bits = x.to_bits();
    // Mantissa in [1, 2), then halved (and the exponent raised) when above √2.
    let m1 = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    let big = m1 > std::f64::consts::SQRT_2;
    let m = if big { m1 * 0.5 } else { m1 };
    let e = f64::from_bits((bits >> 52) | TWO_52.to_bits()) - TWO_52 - 1023.0 + if big { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    // ln m = 2 atanh(s) = 2s + s R(z), R by FreeBSD msun's minimax polynomial (e_log.c's Lg1 to
    // Lg7; |error| below 2^-58.45 on this range), Horner's rule.
    let p = horner(z, &LG);
    let log_m = mul_add(s * z, p, 2.0 * s);
    mul_add(e, LN2_HI, mul_add(e, LN2_LO, log_m))
}

/// cos and sin of 2π·v/2^53 for a 53-bit integer `v`, branch-free: the turn is split into a
/// quarter-turn index and a remainder within ±1/8 turn (±π/4), where msun's minimax
/// polynomials are exact to about an ulp.
#[inline]
pub(super) fn cos_sin_turns(v: u64) -> (f64, f64) {
    // Nearest quarter turn: q = round(4 v / 2^53), in 0..=4.
    let q = (v + (1 << 50)) >> 51;
    // v - q 2^51 is within ±2^50 (±1/8 turn): offset by 2^51 it is a 52-bit integer, turned into
    // a double by bits.
    const OFFSET: f64 = 6_755_399_441_055_744.0; // 2^52 + 2^51
    let f = (f64::from_bits((v + (1 << 51) - (q << 51)) | 0x4330_0000_0000_0000) - OFFSET) * UNIT;
    let a = std::f64::consts::TAU * f;
    let a2 = a * a;
    // FreeBSD msun's minimax polynomials for |a| <= pi/4 (k_sin.c's S1 to S6, k_cos.c's C1 to
    // C6), Horner's rule.
    let s = horner(a2, &SIN);
    let s = mul_add(a * a2, s, a);
    let c = horner(a2, &COS);
    let c = mul_add(a2 * a2, c, mul_add(a2, -0.5, 1.0));
    // Rotate by q quarter turns: (c, s), (−s, c), (−c, −s), (s, −c).
    let odd = q & 1 == 1;
    let (x, y) = if odd { (s, c) } else { (c, s) };
    let cos_sign = ((q + 1) & 2) << 62;
    let sin_sign = (q & 2) << 62;
    (f64::from_bits(x.to_bits() ^ cos_sign), f64::from_bits(y.to_bits() ^ sin_sign))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    impl Streams {
        fn next_words(&mut self) -> Words {
            let mut words = [[0; BLOCK]];
            self.fill(&mut words);
            words[0]
        }
    }

    #[test]
    fn ln_is_accurate_to_rounding() {
        let mut s = Streams::new([7; BLOCK]);
        let mut worst: f64 = 0.0;
        for _ in 0..20_000 {
            for x in uniforms(&s.next_words()) {
                for y in [x, x * 1e-300, x * 3.7e5, 1.0 / x] {
                    let (ours, std) = (ln(y), y.ln());
                    worst = worst.max((ours - std).abs() / std.abs().max(1e-300));
                }
            }
        }
        assert!(worst < 4e-16, "worst relative error {worst:e}");
        assert_eq!(ln(1.0), 0.0);
        assert!((ln(2.0_f64.powi(-53)) - (-53.0 * std::f64::consts::LN_2)).abs() < 1e-13);
    }

    #[test]
    fn cos_sin_match_the_library_over_the_whole_turn() {
        let mut s = Streams::new([3; BLOCK]);
        let mut worst: f64 = 0.0;
        let mut check = |v: u64| {
            let turn = v as f64 * UNIT;
            let (c, si) = cos_sin_turns(v);
            let (sin, cos) = (std::f64::consts::TAU * turn).sin_cos();
            worst = worst.max((c - cos).abs()).max((si - sin).abs());
        };
        for _ in 0..20_000 {
            for w in s.next_words() {
                check(w >> 11);
            }
        }
        for v in [0, 1, (1 << 51) - 1, 1 << 51, 1 << 52, 3 << 51, (1 << 53) - 1, (1 << 50) - 1, 1 << 50] {
            check(v);
        }
        assert!(worst < 2e-15, "worst absolute error {worst:e}");
    }

    #[test]
    fn open_uniforms_exclude_zero_and_reach_one() {
        assert_eq!(unit_open(0), 1.0);
        assert_eq!(unit_open(u64::MAX), 2f64.powi(-52));
        assert_eq!(unit_open(1 << 63), 0.5);
    }

    #[test]
    fn lanes_are_independent_xoshiro_streams() {
        // A lane drawn alone follows the same stream as the vector draws.
        let mut a = Streams::new(std::array::from_fn(|k| k as u64 + 1));
        let mut b = a.clone();
        let vector: Vec<Words> = (0..5).map(|_| a.next_words()).collect();
        for k in 0..BLOCK {
            let mut lane = b.lane(k);
            for w in &vector {
                assert_eq!(lane.next_u64(), w[k]);
            }
        }
        // xoshiro256++'s published first output for the state {1, 2, 3, 4}.
        let mut x = Streams { s: [[1; BLOCK], [2; BLOCK], [3; BLOCK], [4; BLOCK]] };
        assert_eq!(x.next_words()[0], 41_943_041);
        // Different seeds, different streams.
        assert_ne!(vector[0][0], vector[0][1]);
        let _: f64 = b.lane(0).gen();
    }

    #[test]
    fn normals_have_the_standard_moments_and_tails() {
        let mut s = Streams::new(std::array::from_fn(|k| k as u64 + 11));
        let n_draws = 200_000 * BLOCK;
        let mut out = [[0.0; BLOCK]; 5];
        let (mut m1, mut m2, mut m4, mut beyond3) = (0.0, 0.0, 0.0, 0usize);
        for _ in 0..40_000 {
            let mut words = [[0; BLOCK]; 6];
            s.fill(&mut words);
            box_muller(&words, &mut [[0.0; BLOCK]; 3], &mut out);
            for z in out.iter().flatten() {
                m1 += z;
                m2 += z * z;
                m4 += z * z * z * z;
                beyond3 += usize::from(z.abs() > 3.0);
            }
        }
        let n = n_draws as f64;
        let (m1, m2, m4) = (m1 / n, m2 / n, m4 / n);
        // Five standard errors: sd of the mean 1/√n, of m2 √2/√n, of m4 √96/√n.
        assert!(m1.abs() < 5.0 / n.sqrt(), "mean {m1}");
        assert!((m2 - 1.0).abs() < 5.0 * 2f64.sqrt() / n.sqrt(), "variance {m2}");
        assert!((m4 - 3.0).abs() < 5.0 * 96f64.sqrt() / n.sqrt(), "fourth moment {m4}");
        let p3 = 0.002_699_796_063_260_2; // P(|Z| > 3)
        let expected = p3 * n;
        assert!((beyond3 as f64 - expected).abs() < 5.0 * expected.sqrt(), "{beyond3} beyond 3 vs {expected}");
    }
}
