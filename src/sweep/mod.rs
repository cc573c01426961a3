//! Running many simulations: independent replications of one scenario, in
//! parallel, collected in index order so the thread count never changes a
//! result.

use rayon::prelude::*;

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
