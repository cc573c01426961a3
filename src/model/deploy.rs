//! Deploys a scenario schedules: a rolling update (Kubernetes Deployment
//! `maxSurge` / `maxUnavailable`) or a blue-green switch, and what each
//! cost (extra instances, the dip in ready capacity, errors, how far the
//! autoscaler moved meanwhile).

use crate::engine::{SimDuration, SimTime};

/// A deploy of a new version of one pool at a fixed time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeploySpec {
    pub at: SimTime,
    pub pool: usize,
    pub strategy: Strategy,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// New instances replace old ones a few at a time: at most `max_surge`
    /// above the desired size, at most `max_unavailable` below it ready.
    Rolling { max_surge: Share, max_unavailable: Share },
    /// A whole new set boots out of rotation; once it is all ready, traffic
    /// switches to it and the old set is removed `scale_down_delay` later.
    BlueGreen { scale_down_delay: SimDuration },
}

/// A count or a percentage of the desired size (Kubernetes' IntOrString).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Share {
    Count(u32),
    Percent(f64),
}

impl Share {
    /// Its value for `desired` instances: percentages round up for the
    /// surge and down for unavailability, as the Deployment controller does.
    pub fn of(self, desired: u32, round_up: bool) -> u32 {
        match self {
            Share::Count(n) => n,
            Share::Percent(p) => {
                let exact = f64::from(desired) * p / 100.0;
                (if round_up { exact.ceil() } else { exact.floor() }) as u32
            }
        }
    }
}

impl Strategy {
    /// The surge and unavailability a rolling update allows at `desired`
    /// (both zero makes unavailability 1, as Kubernetes resolves it).
    pub fn fenceposts(self, desired: u32) -> (u32, u32) {
        match self {
            Strategy::Rolling {
                max_surge,
                max_unavailable,
            } => {
                let surge = max_surge.of(desired, true);
                let unavailable = max_unavailable.of(desired, false).min(desired);
                if surge == 0 && unavailable == 0 {
                    (0, 1)
                } else {
                    (surge, unavailable)
                }
            }
            Strategy::BlueGreen { .. } => (desired, 0),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Rolling { .. } => "rolling",
            Strategy::BlueGreen { .. } => "blue_green",
        }
    }
}

/// A new instance's start-up work: for `duration` after it becomes ready
/// it also keeps `cores` cores busy (JIT compilation, cache warming).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StartupCpu {
    pub cores: u32,
    pub duration: SimDuration,
}

/// A deploy under way or done.
#[derive(Clone, Debug)]
pub struct DeployRecord {
    pub deploy: u16,
    pub at: SimTime,
    /// The version it rolls out (the pool's versions count from 0).
    pub version: u32,
    /// The pool's desired size when it began, and the most it reached meanwhile.
    pub desired_before: u32,
    pub desired_peak: u32,
    /// Live (booting + ready + draining) instances at most, and ready ones at least.
    pub live_peak: u32,
    pub ready_min: u32,
    pub errors_at_start: u64,
    pub errors: u64,
    /// Blue-green: when traffic moved to the new set.
    pub switched_at: Option<SimTime>,
    pub finished_at: Option<SimTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_rounds_surge_up_and_unavailability_down() {
        let rolling = |s, u| Strategy::Rolling {
            max_surge: s,
            max_unavailable: u,
        };
        // The defaults, 25% / 25%, at 10 replicas: 3 surge, 2 unavailable.
        let default = rolling(Share::Percent(25.0), Share::Percent(25.0));
        assert_eq!(default.fenceposts(10), (3, 2));
        // At 1 replica: 1 surge, 0 unavailable.
        assert_eq!(default.fenceposts(1), (1, 0));
        // Both zero resolves to one unavailable.
        assert_eq!(rolling(Share::Count(0), Share::Percent(10.0)).fenceposts(5), (0, 1));
        assert_eq!(rolling(Share::Count(2), Share::Count(9)).fenceposts(4), (2, 4));
    }
}
