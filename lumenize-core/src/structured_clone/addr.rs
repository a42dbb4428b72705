//! Maps keyed by object address (`Rc` pointer), for the encoder's alias bookkeeping and the
//! budgeted walks ([`super::expand`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes object addresses (already unique; only their low alignment bits need mixing away).
#[derive(Default)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        let h = ((n as u64) >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}

pub(crate) type AddrMap<V> = HashMap<usize, V, BuildHasherDefault<AddrHasher>>;
