//! Seeded random streams.
//!
//! Every random draw in a run comes from a stream derived from
//! `(base seed, replication, purpose)`. The purpose is a stable name such as
//! `"traffic.arrivals"` or `"lb.edge"`, hashed with FNV-1a, so adding a
//! component never shifts the draws of another, and the thread that runs a
//! replication cannot change what it draws.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The identity of one random stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamId {
    pub seed: u64,
    pub replication: u32,
    pub purpose: u64,
}

impl StreamId {
    pub fn new(seed: u64, replication: u32, purpose: &str) -> StreamId {
        StreamId {
            seed,
            replication,
            purpose: stable_hash(purpose.as_bytes()),
        }
    }

    /// A 64-bit key mixing all three parts; distinct ids give unrelated keys.
    pub fn key(self) -> u64 {
        let a = splitmix64(self.seed ^ 0x6a09_e667_f3bc_c908);
        let b = splitmix64(a ^ u64::from(self.replication).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        splitmix64(b ^ self.purpose)
    }
}

/// One random stream: Xoshiro256++ seeded through SplitMix64.
#[derive(Clone, Debug)]
pub struct RngStream(Xoshiro256PlusPlus);

impl RngStream {
    pub fn new(id: StreamId) -> RngStream {
        RngStream(Xoshiro256PlusPlus::seed_from_u64(id.key()))
    }

    /// A uniform draw in the open interval (0, 1): never 0, so `ln(u)` is finite.
    #[inline]
    pub fn open01(&mut self) -> f64 {
        // 53 random bits, offset by half an ulp.
        ((self.0.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// An exponential draw with the given mean.
    #[inline]
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * self.open01().ln()
    }

    /// A uniform integer in `0..n` (Lemire's nearly-divisionless method).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let mut m = u128::from(self.0.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.0.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    pub fn inner(&mut self) -> &mut Xoshiro256PlusPlus {
        &mut self.0
    }
}

/// FNV-1a, 64-bit: a hash that never changes between builds or platforms.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h = StableHasher::default();
    h.bytes(bytes);
    h.0
}

/// [`stable_hash`] of everything written to it, in order: hashes a value's
/// `Debug` text without building it.
pub struct StableHasher(pub u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl StableHasher {
    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

impl std::fmt::Write for StableHasher {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let id = StreamId::new(42, 0, "traffic.arrivals");
        let a: Vec<u64> = (0..4)
            .map({
                let mut s = RngStream::new(id);
                move |_| s.below(1_000_000)
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut s = RngStream::new(id);
                move |_| s.below(1_000_000)
            })
            .collect();
        assert_eq!(a, b);
        let other = [
            StreamId::new(43, 0, "traffic.arrivals"),
            StreamId::new(42, 1, "traffic.arrivals"),
            StreamId::new(42, 0, "traffic.classes"),
        ];
        for o in other {
            assert_ne!(o.key(), id.key());
        }
    }

    #[test]
    fn stable_hash_is_fnv1a() {
        // Reference values of FNV-1a 64.
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn open01_and_below_stay_in_range() {
        let mut s = RngStream::new(StreamId::new(1, 0, "t"));
        for _ in 0..10_000 {
            let u = s.open01();
            assert!(u > 0.0 && u < 1.0);
            assert!(s.below(7) < 7);
        }
    }
}
