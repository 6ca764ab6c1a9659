//! The random streams: every path of a run has its own xoshiro256++ generator, seeded from the
//! run's seed and the path number, so a path's numbers never depend on the thread that draws
//! them. Shared by the Monte Carlo engine and the economic scenario generator.

use rand::{Rng as _, SeedableRng as _};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A generator for path `path` of a run with seed `seed`, for the economic scenario
/// generator run alone: the seed and the path number mixed by SplitMix64 (inside
/// `seed_from_u64`) into xoshiro256++'s state.
pub fn path_rng(seed: u64, path: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(path_seed(seed, path))
}

/// The seed of path `path`'s stream.
pub fn path_seed(seed: u64, path: u64) -> u64 {
    let mut mix = Xoshiro256PlusPlus::seed_from_u64(seed);
    let base: u64 = mix.gen();
    base ^ path.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
