//! What each autoscaler did over a run, as the capacity review summarises
//! it: its scale-ups and scale-downs, how long added capacity took to
//! serve, whether it flapped, and how close it came to its limits.
//!
//! The counts and times are the run summary's (`summary.json`'s
//! `pools[].scaling`); flapping within a window is read from the decision
//! logs (`scaling.csv`), which carry the time of every change.

use serde::{Deserialize, Serialize};

use super::format::{duration_words, short};
use crate::metrics::stats::nan_if_null;
use crate::model::RunResult;

/// A change of direction counts as flapping when it comes within this
/// many seconds of the change before it: an autoscaler that adds
/// instances and removes them again within ten minutes (or the reverse)
/// paid for capacity, or lost it, for nothing. Kubernetes' default
/// scale-down stabilization is five minutes, so a well-damped HPA stays
/// outside the window unless the load itself turns.
pub const FLAP_WINDOW_S: f64 = 600.0;

/// One autoscaled pool's behaviour over the run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PoolBehaviour {
    pub pool: String,
    /// `kubernetes_hpa`, `aws_auto_scaling` or `keda` (as `summary.json`).
    pub autoscaler: String,
    /// Changes of the desired size, up and down (as `summary.json` counts them).
    pub scale_ups: u32,
    pub scale_downs: u32,
    /// Every reversal of direction (`summary.json`'s `direction_changes`).
    pub direction_changes: u32,
    /// Reversals within [`FLAP_WINDOW_S`] of the change before: flapping.
    pub flaps: u32,
    #[serde(deserialize_with = "nan_if_null")]
    pub flap_window_s: f64,
    /// Its autoscaler's limits.
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// The fewest live instances (booting or ready) at an interval's end,
    /// and the most at any time.
    pub instances_min: u32,
    pub instances_peak: u32,
    /// How long the desired size sat at its maximum.
    #[serde(deserialize_with = "nan_if_null")]
    pub time_at_max_s: f64,
    /// Instances its autoscaler added that came to serve, and how long
    /// that took from the decision (mean and longest; null without any).
    pub instances_added: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub time_to_capacity_mean_s: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub time_to_capacity_max_s: f64,
}

/// The times and directions (+1 up, -1 down) of every change an
/// autoscaler made to pool `p`'s desired size, in time order.
fn changes(result: &RunResult, p: usize) -> Vec<(f64, i8)> {
    let direction = |current: i64, desired: i64| if desired > current { 1 } else { -1 };
    let mut out: Vec<(f64, i8)> = result
        .decisions
        .iter()
        .filter(|r| r.pool == p && r.decision.desired != r.decision.current)
        .map(|r| {
            (
                r.time.as_secs_f64(),
                direction(i64::from(r.decision.current), i64::from(r.decision.desired)),
            )
        })
        .chain(
            result
                .scaler_rows
                .iter()
                .filter(|r| r.pool == p && r.desired != r.current)
                .map(|r| (r.time.as_secs_f64(), direction(r.current, r.desired))),
        )
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Reversals of direction within `window_s` of the change before.
pub fn flaps(changes: &[(f64, i8)], window_s: f64) -> u32 {
    changes
        .windows(2)
        .filter(|w| w[0].1 != w[1].1 && w[1].0 - w[0].0 <= window_s)
        .count() as u32
}

/// Every autoscaled pool's behaviour, in the pools' order.
pub fn behaviour(result: &RunResult) -> Vec<PoolBehaviour> {
    result
        .summary
        .pools
        .iter()
        .enumerate()
        .filter_map(|(p, pool)| {
            let s = pool.scaling.as_ref()?;
            let instances_min = result
                .rows
                .iter()
                .filter_map(|r| r.pools.get(p))
                .map(|row| row.booting + row.ready)
                .min()
                .unwrap_or(pool.instances_initial)
                .min(pool.instances_initial);
            let capacity = s.time_to_capacity.as_ref();
            Some(PoolBehaviour {
                pool: pool.name.clone(),
                autoscaler: s.autoscaler.to_string(),
                scale_ups: s.scale_ups,
                scale_downs: s.scale_downs,
                direction_changes: s.direction_changes,
                flaps: flaps(&changes(result, p), FLAP_WINDOW_S),
                flap_window_s: FLAP_WINDOW_S,
                min_replicas: s.min_replicas,
                max_replicas: s.max_replicas,
                instances_min,
                instances_peak: pool.instances_peak,
                time_at_max_s: s.time_at_max_s,
                instances_added: capacity.map_or(0, |c| c.instances),
                time_to_capacity_mean_s: capacity.map_or(f64::NAN, |c| c.mean_s),
                time_to_capacity_max_s: capacity.map_or(f64::NAN, |c| c.max_s),
            })
        })
        .collect()
}

/// An autoscaler's kind as people name it.
fn autoscaler_name(kind: &str) -> &str {
    match kind {
        "kubernetes_hpa" => "HPA",
        "aws_auto_scaling" => "AWS auto scaling",
        "keda" => "KEDA",
        other => other,
    }
}

/// The behaviour of every autoscaled pool as a table: header, then a row
/// per pool; `run_s` is the simulated time (for the share at maximum).
pub fn table(pools: &[PoolBehaviour], run_s: f64) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "pool",
        "autoscaler (limits)",
        "scale-ups",
        "scale-downs",
        "time to capacity (mean / max)",
        "flapping",
        "instances (fewest – most)",
        "at its maximum",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows = pools
        .iter()
        .map(|b| {
            let capacity = if b.instances_added == 0 {
                "no instance added".to_string()
            } else {
                format!(
                    "{} / {} over {} instance{}",
                    duration_words(b.time_to_capacity_mean_s),
                    duration_words(b.time_to_capacity_max_s),
                    b.instances_added,
                    if b.instances_added == 1 { "" } else { "s" }
                )
            };
            let flapping = format!(
                "{} reversal{} within {} ({} in all)",
                b.flaps,
                if b.flaps == 1 { "" } else { "s" },
                duration_words(b.flap_window_s),
                b.direction_changes
            );
            let mut instances = format!("{} – {}", b.instances_min, b.instances_peak);
            let at_min = i64::from(b.instances_min) <= i64::from(b.min_replicas);
            let at_max = i64::from(b.instances_peak) >= i64::from(b.max_replicas);
            match (at_min, at_max) {
                (true, true) => instances.push_str(" (reached its minimum and its maximum)"),
                (true, false) => instances.push_str(" (reached its minimum)"),
                (false, true) => instances.push_str(" (reached its maximum)"),
                (false, false) => {}
            }
            let at_max = if b.time_at_max_s > 0.0 {
                let share = if run_s > 0.0 {
                    format!(" ({}% of the run)", short(b.time_at_max_s / run_s * 100.0))
                } else {
                    String::new()
                };
                format!("{}{share}", duration_words(b.time_at_max_s))
            } else {
                "never".to_string()
            };
            vec![
                b.pool.clone(),
                format!(
                    "{} {}–{}",
                    autoscaler_name(&b.autoscaler),
                    b.min_replicas,
                    b.max_replicas
                ),
                b.scale_ups.to_string(),
                b.scale_downs.to_string(),
                capacity,
                flapping,
                instances,
                at_max,
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flapping_is_a_reversal_inside_the_window() {
        // Up, down 5 min later (a flap), down again (no reversal), up 20
        // min later (a reversal outside the window), down 1 min later (a flap).
        let changes = [(0.0, 1), (300.0, -1), (400.0, -1), (1600.0, 1), (1660.0, -1)];
        assert_eq!(flaps(&changes, 600.0), 2);
        assert_eq!(flaps(&changes, 60.0), 1);
        assert_eq!(flaps(&changes, 10_000.0), 3);
        assert_eq!(flaps(&[], 600.0), 0);
    }
}
