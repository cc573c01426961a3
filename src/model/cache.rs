//! A cache with per-key state, so hit ratios emerge from key popularity,
//! capacity, eviction and TTL instead of being assumed.
//!
//! Entries are counted, not sized. Eviction takes the entry with the lowest
//! rank: LRU ranks by last access, FIFO by insertion, LFU by access count
//! (ties by last access). Expiry is lazy, as in Redis and memcached: an
//! expired entry is dropped when it is next read, and until then it holds
//! its place (and can be evicted like any other).

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    Lru,
    Lfu,
    Fifo,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheConfig {
    /// Entries it holds at most (> 0).
    pub capacity: u64,
    pub eviction: Eviction,
    /// How long an entry stays valid after it is written.
    pub ttl: Option<crate::engine::SimDuration>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    rank: (u64, u64),
    expires: Option<SimTime>,
    /// The version of the value it holds (what a write stamped).
    version: u64,
    inserted: u64,
    uses: u64,
}

/// What a read found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Present and fresh, holding this version.
    Hit {
        version: u64,
    },
    Miss,
}

/// Counts since the cache was created (or last [`Cache::take_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub expirations: u64,
    pub invalidations: u64,
}

impl CacheStats {
    pub fn add(&mut self, x: &CacheStats) {
        self.hits += x.hits;
        self.misses += x.misses;
        self.evictions += x.evictions;
        self.expirations += x.expirations;
        self.invalidations += x.invalidations;
    }

    pub fn hit_ratio(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 {
            f64::NAN
        } else {
            self.hits as f64 / reads as f64
        }
    }
}

/// An entry's eviction rank at logical time `clock`: the lowest goes first.
fn rank(eviction: Eviction, clock: u64, e: &Entry) -> (u64, u64) {
    match eviction {
        Eviction::Lru => (clock, 0),
        Eviction::Fifo => (e.inserted, 0),
        Eviction::Lfu => (e.uses, clock),
    }
}

/// Re-ranks `e` (of `key`) after a use at logical time `clock`, in place.
fn touch(order: &mut BTreeSet<((u64, u64), u64)>, eviction: Eviction, clock: u64, key: u64, e: &mut Entry) {
    order.remove(&(e.rank, key));
    e.rank = rank(eviction, clock, e);
    order.insert((e.rank, key));
}

#[derive(Debug)]
pub struct Cache {
    config: CacheConfig,
    entries: BTreeMap<u64, Entry>,
    /// `(rank, key)` of every entry: the first is the next victim.
    order: BTreeSet<((u64, u64), u64)>,
    /// Access sequence number: a logical clock for recency.
    clock: u64,
    pub stats: CacheStats,
}

impl Cache {
    pub fn new(config: CacheConfig) -> Cache {
        assert!(config.capacity > 0, "validated: capacity > 0");
        Cache {
            config,
            entries: BTreeMap::new(),
            order: BTreeSet::new(),
            clock: 0,
            stats: CacheStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reads `key` at `now`, counting a hit or a miss.
    pub fn get(&mut self, now: SimTime, key: u64) -> Lookup {
        self.clock += 1;
        let Some(e) = self.entries.get_mut(&key) else {
            self.stats.misses += 1;
            return Lookup::Miss;
        };
        if e.expires.is_some_and(|t| t <= now) {
            let rank = e.rank;
            self.entries.remove(&key);
            self.order.remove(&(rank, key));
            self.stats.expirations += 1;
            self.stats.misses += 1;
            return Lookup::Miss;
        }
        e.uses += 1;
        touch(&mut self.order, self.config.eviction, self.clock, key, e);
        self.stats.hits += 1;
        let version = e.version;
        Lookup::Hit { version }
    }

    /// Writes `key` (a fill after a miss, or an update on write), evicting
    /// the lowest-ranked entry when full. It expires its TTL from now.
    pub fn put(&mut self, now: SimTime, key: u64, version: u64) {
        let expires = self.config.ttl.map(|ttl| now + ttl);
        self.put_until(key, version, expires);
    }

    /// When `key`'s entry expires (`None`: absent, or no TTL).
    pub fn expires(&self, key: u64) -> Option<SimTime> {
        self.entries.get(&key).and_then(|e| e.expires)
    }

    /// Writes `key` with a given expiry: a copy of another cache's entry
    /// that keeps its age (HTTP's `Age`: a CDN's PoP filled from its shield
    /// holds the object only as long as the shield would).
    pub fn put_until(&mut self, key: u64, version: u64, expires: Option<SimTime>) {
        self.clock += 1;
        if let Some(e) = self.entries.get_mut(&key) {
            e.version = e.version.max(version);
            e.expires = expires;
            e.uses += 1;
            touch(&mut self.order, self.config.eviction, self.clock, key, e);
            return;
        }
        if self.entries.len() as u64 >= self.config.capacity
            && let Some((rank, victim)) = self.order.pop_first()
        {
            debug_assert_eq!(self.entries[&victim].rank, rank);
            self.entries.remove(&victim);
            self.stats.evictions += 1;
        }
        let mut e = Entry {
            rank: (0, 0),
            expires,
            version,
            inserted: self.clock,
            uses: 1,
        };
        e.rank = rank(self.config.eviction, self.clock, &e);
        self.order.insert((e.rank, key));
        self.entries.insert(key, e);
    }

    /// Drops `key` (invalidation on write). Returns whether it was present.
    pub fn invalidate(&mut self, key: u64) -> bool {
        match self.entries.remove(&key) {
            Some(e) => {
                self.order.remove(&(e.rank, key));
                self.stats.invalidations += 1;
                true
            }
            None => false,
        }
    }

    /// Loses every entry (a flush, or the node holding them failed).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    /// The counts so far, resetting them (per-interval hit ratios).
    pub fn take_stats(&mut self) -> CacheStats {
        std::mem::take(&mut self.stats)
    }
}

/// Che's approximation of an LRU cache's hit ratio under the independent
/// reference model: with popularities `p` (summing to 1) and `capacity`
/// entries, the characteristic time `T` solves `Σ (1 − e^(−p_i T)) = C`,
/// and the hit ratio is `Σ p_i (1 − e^(−p_i T))`.
/// (Che, Tung and Wang, IEEE JSAC 20(7), 2002; Fricker, Robert and Roberts, ITC 2012.)
pub fn che_lru_hit_ratio(p: &[f64], capacity: u64) -> f64 {
    let c = capacity as f64;
    if c >= p.len() as f64 {
        return 1.0;
    }
    let filled = |t: f64| p.iter().map(|pi| 1.0 - (-pi * t).exp()).sum::<f64>();
    let (mut lo, mut hi) = (0.0, 1.0);
    while filled(hi) < c {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if filled(mid) < c {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let t = 0.5 * (lo + hi);
    p.iter().map(|pi| pi * (1.0 - (-pi * t).exp())).sum()
}

/// The hit ratio of a TTL cache of unlimited capacity whose entries live
/// `ttl` seconds from their fill (a hit does not renew them), for Poisson
/// requests at `rate` per second with popularities `p`. A key requested at
/// `λ = rate·p_k` alternates a TTL window (λ·ttl hits on average) with an
/// exponential wait for the miss that refills it (mean 1/λ), so its hit
/// ratio is `λ·ttl / (1 + λ·ttl)`: a renewal argument, exact for Poisson
/// requests (Jung, Berger and Balakrishnan, INFOCOM 2003, for HTTP caches
/// and DNS). Spreading `rate` over N CDN PoPs divides λ by N.
pub fn ttl_hit_ratio(p: &[f64], rate: f64, ttl: f64) -> f64 {
    p.iter()
        .map(|pi| {
            let x = rate * pi * ttl;
            pi * x / (1.0 + x)
        })
        .sum()
}

/// Zipf popularities `p_k ∝ k^(−s)` for ranks `1..=n`.
pub fn zipf_popularity(n: u64, s: f64) -> Vec<f64> {
    let w: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|x| x / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;

    fn cache(capacity: u64, eviction: Eviction, ttl: Option<SimDuration>) -> Cache {
        Cache::new(CacheConfig {
            capacity,
            eviction,
            ttl,
        })
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let t = SimTime::ZERO;
        let mut c = cache(2, Eviction::Lru, None);
        c.put(t, 1, 0);
        c.put(t, 2, 0);
        assert_eq!(c.get(t, 1), Lookup::Hit { version: 0 });
        c.put(t, 3, 0); // evicts 2, not the just-read 1
        assert_eq!(c.get(t, 2), Lookup::Miss);
        assert_eq!(c.get(t, 1), Lookup::Hit { version: 0 });
        assert_eq!(c.stats.evictions, 1);
    }

    #[test]
    fn fifo_ignores_reads_and_lfu_keeps_the_popular() {
        let t = SimTime::ZERO;
        let mut fifo = cache(2, Eviction::Fifo, None);
        let mut lfu = cache(2, Eviction::Lfu, None);
        for c in [&mut fifo, &mut lfu] {
            c.put(t, 1, 0);
            c.put(t, 2, 0);
            for _ in 0..3 {
                c.get(t, 1);
            }
            c.get(t, 2);
            c.put(t, 3, 0);
        }
        // FIFO drops the oldest insert (1) despite its reads; LFU drops the rarer (2).
        assert_eq!(fifo.get(t, 1), Lookup::Miss);
        assert_eq!(lfu.get(t, 2), Lookup::Miss);
        assert!(matches!(lfu.get(t, 1), Lookup::Hit { .. }));
    }

    #[test]
    fn ttl_expires_lazily_and_invalidation_drops() {
        let mut c = cache(10, Eviction::Lru, Some(SimDuration::from_secs(60)));
        c.put(SimTime::ZERO, 7, 3);
        assert_eq!(c.get(SimTime::from_secs(59), 7), Lookup::Hit { version: 3 });
        assert_eq!(c.get(SimTime::from_secs(60), 7), Lookup::Miss);
        assert_eq!(c.stats.expirations, 1);
        c.put(SimTime::from_secs(60), 8, 1);
        assert!(c.invalidate(8));
        assert!(!c.invalidate(8));
        assert_eq!(c.get(SimTime::from_secs(61), 8), Lookup::Miss);
        assert!(c.is_empty());
    }

    #[test]
    fn che_is_exact_at_the_edges() {
        let p = zipf_popularity(100, 0.8);
        assert_eq!(che_lru_hit_ratio(&p, 100), 1.0);
        // One slot under uniform popularity: T solves n(1 − e^(−T/n)) = 1.
        let uniform = vec![0.01; 100];
        assert!((che_lru_hit_ratio(&uniform, 50) - 0.5).abs() < 1e-9);
    }
}
