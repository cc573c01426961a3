//! Emergent cache hit ratios against Che's approximation.
//!
//! Independent requests for Zipf(s)-popular keys (the independent reference
//! model) go through an LRU cache of `capacity` entries; after a warm-up the
//! measured hit ratio must agree with Che's approximation within 2%
//! (relative). Run with `--nocapture` to see the table.

use capsim::engine::{RngStream, SimTime, StreamId};
use capsim::model::KeySpace;
use capsim::model::cache::{Cache, CacheConfig, Eviction, Lookup, che_lru_hit_ratio, zipf_popularity};
use capsim::model::traffic::KeyPicker;

fn measured_lru(keys: u64, s: f64, capacity: u64, seed: u64) -> f64 {
    let picker = KeyPicker::new(&KeySpace { count: keys, zipf_s: s });
    let mut rng = RngStream::new(StreamId::new(seed, 0, "keys"));
    let mut cache = Cache::new(CacheConfig {
        capacity,
        eviction: Eviction::Lru,
        ttl: None,
    });
    let t = SimTime::ZERO;
    let mut read = |cache: &mut Cache| {
        let key = picker.pick(&mut rng);
        if cache.get(t, key) == Lookup::Miss {
            cache.put(t, key, 0);
        }
    };
    // Warm up until the cache has long been full, then measure.
    for _ in 0..400_000 {
        read(&mut cache);
    }
    cache.take_stats();
    for _ in 0..1_600_000 {
        read(&mut cache);
    }
    cache.stats.hit_ratio()
}

#[test]
fn lru_hit_ratio_agrees_with_che() {
    let keys = 10_000;
    println!("keys  s     capacity  Che      measured  error");
    for (capacity, s) in [(100, 0.8), (1_000, 0.8), (500, 1.0), (2_000, 1.2), (1_000, 0.6)] {
        let che = che_lru_hit_ratio(&zipf_popularity(keys, s), capacity);
        let measured = measured_lru(keys, s, capacity, 11);
        let error = (measured - che) / che;
        println!(
            "{keys} {s:<5} {capacity:<9} {che:.4}   {measured:.4}    {:+.2}%",
            error * 100.0
        );
        assert!(
            error.abs() < 0.02,
            "capacity {capacity}, s {s}: Che {che:.4}, measured {measured:.4}"
        );
    }
}
