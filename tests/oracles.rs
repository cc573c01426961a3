//! The formulas other tests use as expected values, checked against values
//! computed independently of them: Che's approximation of an LRU cache's hit
//! ratio (`che_lru_hit_ratio`) against the exact stationary hit ratio of
//! tiny catalogues (every order of the cache enumerated) and against a
//! direct simulation; the TTL cache's renewal formula (`ttl_hit_ratio`)
//! against a direct simulation. The simulations draw from their own fixed
//! generator (SplitMix64), not the engine's streams, so they share no code
//! with what they check but the `Cache` itself.

use capsim::engine::{SimDuration, SimTime};
use capsim::model::cache::{Cache, CacheConfig, Eviction, Lookup, che_lru_hit_ratio, ttl_hit_ratio, zipf_popularity};

/// SplitMix64 (Steele, Lea and Flood, 2014): a fixed, self-contained stream.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on (0, 1).
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Draws keys `0..n` with probabilities `p` by inverting the cumulative sum.
struct Keys(Vec<f64>);

impl Keys {
    fn new(p: &[f64]) -> Keys {
        let mut acc = 0.0;
        Keys(
            p.iter()
                .map(|x| {
                    acc += x;
                    acc
                })
                .collect(),
        )
    }

    fn draw(&self, rng: &mut SplitMix) -> u64 {
        let u = rng.unit() * self.0.last().unwrap();
        self.0.partition_point(|&c| c < u).min(self.0.len() - 1) as u64
    }
}

/// The exact stationary hit ratio of an LRU cache of `capacity` entries
/// under the independent reference model (King, IFIP 1971): the cache's
/// contents from the most recently used, `(i_1, …, i_C)`, have probability
/// `Π_j p_{i_j} / (1 − Σ_{k<j} p_{i_k})`, and a request hits when it names one
/// of them. Every order is enumerated: `n!/(n−C)!` terms, fine for n ≤ 6.
fn exact_lru_hit_ratio(p: &[f64], capacity: usize) -> f64 {
    fn walk(p: &[f64], used: &mut Vec<usize>, left: usize, prob: f64, mass: f64) -> f64 {
        if left == 0 {
            return prob * mass;
        }
        let mut total = 0.0;
        for i in 0..p.len() {
            if used.contains(&i) {
                continue;
            }
            used.push(i);
            total += walk(p, used, left - 1, prob * p[i] / (1.0 - mass), mass + p[i]);
            used.pop();
        }
        total
    }
    walk(p, &mut Vec::new(), capacity.min(p.len()), 1.0, 0.0)
}

/// The engine's LRU `Cache` fed `draws` requests from `p` (each miss fills
/// the key), after `warmup` requests that are not counted: its hit ratio.
fn simulated_lru_hit_ratio(p: &[f64], capacity: u64, warmup: u64, draws: u64, seed: u64) -> f64 {
    let mut cache = Cache::new(CacheConfig {
        capacity,
        eviction: Eviction::Lru,
        ttl: None,
    });
    let (keys, mut rng) = (Keys::new(p), SplitMix(seed));
    for i in 0..warmup + draws {
        if i == warmup {
            cache.take_stats();
        }
        let key = keys.draw(&mut rng);
        if cache.get(SimTime::ZERO, key) == Lookup::Miss {
            cache.put(SimTime::ZERO, key, 0);
        }
    }
    cache.stats.hit_ratio()
}

#[test]
fn the_exact_lru_formula_is_right_where_it_can_be_checked_by_hand() {
    // One slot holds the last key requested: the hit ratio is Σ p².
    let p = [0.5, 0.3, 0.2];
    assert!((exact_lru_hit_ratio(&p, 1) - (0.25 + 0.09 + 0.04)).abs() < 1e-12);
    // Room for every key: every request hits.
    assert!((exact_lru_hit_ratio(&p, 3) - 1.0).abs() < 1e-12);
    // Uniform popularity: C of n keys, whatever the order.
    assert!((exact_lru_hit_ratio(&[0.2; 5], 2) - 0.4).abs() < 1e-12);
}

#[test]
fn the_lru_cache_matches_the_exact_stationary_hit_ratio_of_a_tiny_catalogue() {
    // 10^6 requests: a hit ratio near 0.6 has a binomial standard error of
    // about 0.0005 (successive requests are nearly independent here: a
    // five-key catalogue forgets its state within a few requests). 4 SE.
    for (s, capacity) in [(0.8, 2), (1.2, 3)] {
        let p = zipf_popularity(5, s);
        let exact = exact_lru_hit_ratio(&p, capacity as usize);
        let simulated = simulated_lru_hit_ratio(&p, capacity, 10_000, 1_000_000, 11);
        println!("zipf(5, {s}), C = {capacity}: exact {exact:.5}, simulated {simulated:.5}");
        assert!(
            (simulated - exact).abs() < 0.002,
            "exact {exact}, simulated {simulated}"
        );
    }
}

#[test]
fn che_approximates_the_exact_lru_hit_ratio_of_tiny_catalogues() {
    // Che's approximation is asymptotically exact as the catalogue grows
    // (Fricker, Robert and Roberts, ITC 2012) and a few percent off on a
    // handful of keys. Measured here over n = 2..=5 keys, every capacity
    // 1..n, Zipf exponents 0.6, 1.0 and 1.4: at most 0.028 off (n = 2, s = 1.4,
    // C = 1: exactly Σ p² = 0.601 against Che's 0.573). An error in the
    // formula itself (a popularity weight dropped, a slot miscounted) moves
    // it by up to 0.2.
    let mut worst: f64 = 0.0;
    for n in 2..=5u64 {
        for s in [0.6, 1.0, 1.4] {
            let p = zipf_popularity(n, s);
            for capacity in 1..n {
                let exact = exact_lru_hit_ratio(&p, capacity as usize);
                let che = che_lru_hit_ratio(&p, capacity);
                println!("n {n}, s {s}, C {capacity}: exact {exact:.4}, Che {che:.4}");
                worst = worst.max((che - exact).abs());
                assert!(
                    (che - exact).abs() < 0.03,
                    "n {n}, s {s}, C {capacity}: exact {exact}, Che {che}"
                );
            }
            // Room for the whole catalogue: both are exactly 1.
            assert_eq!(che_lru_hit_ratio(&p, n), 1.0);
        }
    }
    println!("worst |Che − exact| = {worst:.4}");
}

#[test]
fn che_matches_a_direct_lru_simulation_of_a_zipf_catalogue() {
    // 1,000 keys, 100 slots, Zipf 0.8 and 1.0: 10^6 requests after 10^5 to
    // fill the cache. The standard error of the simulated ratio is about
    // 0.0006 (binomial, inflated a little by the popular keys' runs); Che's
    // own error at this size is a few tenths of a percent. 0.005 absolute.
    let (keys, capacity) = (1_000, 100);
    for s in [0.8, 1.0] {
        let p = zipf_popularity(keys, s);
        let che = che_lru_hit_ratio(&p, capacity);
        let simulated = simulated_lru_hit_ratio(&p, capacity, 100_000, 1_000_000, 5);
        println!("zipf({keys}, {s}), C = {capacity}: Che {che:.4}, simulated {simulated:.4}");
        assert!((che - simulated).abs() < 0.005, "Che {che}, simulated {simulated}");
    }
}

/// Poisson requests at `rate`/s over keys drawn from `p`, for `draws`
/// requests, against a TTL cache that never evicts (capacity = keys) and
/// does not renew an entry on a hit: the engine's `Cache`, and a direct
/// model of the same (a fill time per key), must agree request by request.
fn simulated_ttl_hit_ratio(p: &[f64], rate: f64, ttl_s: f64, draws: u64, seed: u64) -> f64 {
    let mut cache = Cache::new(CacheConfig {
        capacity: p.len() as u64,
        eviction: Eviction::Lru,
        ttl: Some(SimDuration::from_secs_f64(ttl_s)),
    });
    let (keys, mut rng) = (Keys::new(p), SplitMix(seed));
    let ttl_ns = SimDuration::from_secs_f64(ttl_s).0;
    let mut filled_at: Vec<Option<u64>> = vec![None; p.len()];
    let (mut now_s, mut hits) = (0.0, 0u64);
    for _ in 0..draws {
        now_s += -rng.unit().ln() / rate;
        let now = SimTime(SimDuration::from_secs_f64(now_s).0);
        let key = keys.draw(&mut rng);
        let direct_hit = filled_at[key as usize].is_some_and(|at| now.0 < at + ttl_ns);
        let cache_hit = matches!(cache.get(now, key), Lookup::Hit { .. });
        assert_eq!(direct_hit, cache_hit, "key {key} at {now_s} s");
        if direct_hit {
            hits += 1;
        } else {
            filled_at[key as usize] = Some(now.0);
            cache.put(now, key, 0);
        }
    }
    hits as f64 / draws as f64
}

#[test]
fn the_ttl_formula_matches_a_direct_simulation() {
    // 100 keys, Zipf 0.9, 50 req/s, a 2 s TTL: keys from λ·ttl ≈ 15.6 (the
    // most popular, 94% hits) to ≈ 0.25 (20%); then 100 keys, Zipf 1.2,
    // 10 req/s, a 30 s TTL (λ·ttl from 83 to 0.33). 10^6 requests (about 5.5 hours);
    // the standard error of the ratio is under 0.001 (each key's hits
    // come in runs of mean λ·ttl, so the popular keys count less than
    // their share). 0.004 absolute is 4 SE. A TTL renewed on every hit,
    // or a window of ttl/2, moves it by more than 0.05.
    for (s, rate, ttl) in [(0.9, 50.0, 2.0), (1.2, 10.0, 30.0)] {
        let p = zipf_popularity(100, s);
        let theory = ttl_hit_ratio(&p, rate, ttl);
        let simulated = simulated_ttl_hit_ratio(&p, rate, ttl, 1_000_000, 3);
        println!("zipf(100, {s}), {rate}/s, ttl {ttl} s: formula {theory:.4}, simulated {simulated:.4}");
        assert!(
            (theory - simulated).abs() < 0.004,
            "formula {theory}, simulated {simulated}"
        );
    }
}
