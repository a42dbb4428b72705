//! The simulator's only source of randomness: PCG streams seeded from the run's seed.

use rand_core::{Rng as _, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// A seeded generator. Ranges come from integer arithmetic only (no floats, no platform
/// behaviour), so a seed gives the same choices on every machine.
pub struct Rng(Pcg64Mcg);

impl Rng {
    /// The generator of `stream` for `seed` (streams keep e.g. the workload's choices
    /// independent of how many fault decisions were drawn).
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng(Pcg64Mcg::seed_from_u64(
            seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ))
    }

    /// 64 random bits.
    pub fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `rate` parts per million.
    pub fn ppm(&mut self, rate: u32) -> bool {
        rate > 0 && self.below(1_000_000) < u64::from(rate)
    }
}

/// FNV-1a: a stable hash of short strings (e.g. to pick per-tag behaviour).
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
