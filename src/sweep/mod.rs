//! Running many simulations: replications of one scenario, and sweeps over
//! scenario fields, in parallel, collected in index order and reduced
//! serially so the thread count never changes a result.

pub mod grid;
pub mod headroom;

use rayon::prelude::*;

use crate::engine::splitmix64;
use crate::model::{RunResult, SystemSpec, simulate};

/// Runs replications `0..count` of `spec` in parallel (rayon's pool) and
/// returns them in replication order. Each replication draws from streams
/// derived from `(seed, replication, purpose)`.
pub fn replicate(spec: &SystemSpec, seed: u64, count: u32) -> Vec<RunResult> {
    (0..count)
        .into_par_iter()
        .map(|r| simulate(spec, seed, r, &mut |_| {}))
        .collect()
}

/// The seed of one point: the sweep's seed with common random numbers (every
/// point sees the same traffic for a replication), else one derived from the
/// point's index.
pub fn point_seed(seed: u64, point: usize, common_random_numbers: bool) -> u64 {
    if common_random_numbers {
        seed
    } else {
        splitmix64(seed ^ splitmix64(point as u64))
    }
}

/// The HPA manifests `(pool, YAML)` of the pools whose autoscaler a sweep
/// point's settings touch.
pub fn swept_hpa(spec: &SystemSpec, settings: &[(String, serde_json::Value)]) -> Vec<(String, String)> {
    spec.pools
        .iter()
        .filter_map(|pool| {
            let prefix = format!("pools.{}.autoscaler", pool.name);
            let swept = settings.iter().any(|(path, _)| path.starts_with(&prefix));
            let hpa = pool.autoscaler.as_ref().filter(|_| swept)?;
            Some((
                pool.name.clone(),
                crate::report::manifest::hpa_manifest(&pool.name, hpa),
            ))
        })
        .collect()
}

/// The `(point, replication)` units of shard `index` of `count`: every
/// `count`-th unit in point-then-replication order, so the union of the
/// shards is the whole sweep and no seed depends on the sharding.
pub fn shard_units(points: usize, replications: u32, index: usize, count: usize) -> Vec<(usize, u32)> {
    (0..points)
        .flat_map(|p| (0..replications).map(move |r| (p, r)))
        .enumerate()
        .filter(|(u, _)| u % count == index)
        .map(|(_, unit)| unit)
        .collect()
}

/// Runs the given `(spec index, replication)` units in parallel and hands
/// each result to `finish` on the worker thread as it comes (the caller
/// ticks a progress bar, checkpoints, or keeps only what it needs, so a
/// large sweep never holds every run's time series). What `finish` returns
/// comes back in the units' order.
pub fn run_units_with<T: Send>(
    specs: &[(SystemSpec, u64)],
    units: &[(usize, u32)],
    finish: &(dyn Fn((usize, u32), RunResult) -> T + Sync),
) -> Vec<T> {
    units
        .par_iter()
        .map(|&(p, r)| finish((p, r), simulate(&specs[p].0, specs[p].1, r, &mut |_| {})))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_units() {
        let all: Vec<(usize, u32)> = (0..3).flat_map(|i| shard_units(5, 2, i, 3)).collect();
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert_eq!(all.len(), 10);
        assert_eq!(shard_units(5, 2, 1, 3), vec![(0, 1), (2, 0), (3, 1)]);
    }
}
