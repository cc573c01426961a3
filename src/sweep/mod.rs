//! Running many simulations: replications of one scenario, and sweeps over
//! scenario fields, in parallel, collected in index order and reduced
//! serially so the thread count never changes a result.

pub mod grid;
pub mod headroom;

use rayon::prelude::*;

use crate::engine::{SimDuration, SimTime, splitmix64};
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
/// comes back in the units' order. `advanced` hears each unit's simulated
/// time as it goes (every 65,536 events), in steps that add up to the
/// unit's duration, a run stopped early included; it must not influence
/// the runs.
pub fn run_units_with<T: Send>(
    specs: &[(SystemSpec, u64)],
    units: &[(usize, u32)],
    advanced: &(dyn Fn(SimDuration) + Sync),
    finish: &(dyn Fn((usize, u32), RunResult) -> T + Sync),
) -> Vec<T> {
    units
        .par_iter()
        .map(|&(p, r)| {
            let (spec, seed) = &specs[p];
            let mut reached = SimTime::ZERO;
            let result = simulate(spec, *seed, r, &mut |t| {
                advanced(t.saturating_sub(reached));
                reached = t;
            });
            let whole = SimTime::ZERO + spec.duration;
            advanced(whole.saturating_sub(reached));
            finish((p, r), result)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The progress hook moves during a run, adds up to every unit's
    /// duration, and leaves the results as they are without it.
    #[test]
    fn units_report_simulated_time_as_they_go() {
        let yaml = "name: busy\nduration: 5m\ntraffic:\n  rate: { constant: 1000 }\n  \
                    classes: [ { name: a, cpu: { exponential: { mean: 2ms } } } ]\n  target: lb\n\
                    load_balancers:\n  lb: { policy: round_robin, pool: web }\n\
                    pools:\n  web: { instance_type: c6i.large, count: 2 }\n";
        let scenario = crate::scenario::load(
            yaml,
            "busy.yaml",
            crate::scenario::Format::Yaml,
            &crate::scenario::NoFiles,
        )
        .expect("valid");
        let specs = vec![(scenario.spec, 7)];
        let units = [(0, 0), (0, 1)];
        let steps = std::sync::Mutex::new(Vec::new());
        let with = run_units_with(&specs, &units, &|step| steps.lock().unwrap().push(step.0), &|_, r| {
            (r.summary.events, r.summary.throughput_rps.to_bits())
        });
        let without = run_units_with(&specs, &units, &|_| {}, &|_, r| {
            (r.summary.events, r.summary.throughput_rps.to_bits())
        });
        assert_eq!(with, without);
        let steps = steps.into_inner().unwrap();
        assert_eq!(steps.iter().sum::<u64>(), 2 * specs[0].0.duration.0);
        // 300,000 requests a run: several reports before each run ends.
        assert!(steps.iter().filter(|&&s| s > 0).count() > 2 * 3, "{steps:?}");
    }

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
