//! Faults a scenario schedules on its app instances: crashes and
//! slowdowns, with what each cost the system (requests lost, time to
//! recover) recorded as it happens.

use crate::engine::{SimDuration, SimTime};

/// A fault at a fixed time on some instances of a pool.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultSpec {
    pub at: SimTime,
    pub pool: usize,
    /// Ready instances it hits (chosen at random among those ready then;
    /// all of them if fewer are ready).
    pub instances: u32,
    pub kind: FaultKind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// The instance dies: the requests it holds fail, it leaves every
    /// rotation, and the pool's controller launches a replacement once it
    /// notices, `detected_after` later (a Deployment's ReplicaSet at once
    /// for a deleted pod; minutes for a lost node or an EC2 status check).
    Crash { detected_after: SimDuration },
    /// The instance computes `factor` times slower for `duration` (a noisy
    /// neighbour, a bad disk, a GC storm); requests already computing keep
    /// the speed they started with.
    Slowdown { factor: f64, duration: SimDuration },
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash { .. } => "crash",
            FaultKind::Slowdown { .. } => "slowdown",
        }
    }
}

/// What one fault did, filled in as the run goes.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    /// Its index in the scenario's faults.
    pub fault: u16,
    pub at: SimTime,
    pub kind: FaultKind,
    pub pool: usize,
    /// The instances it hit.
    pub hit: Vec<u32>,
    /// The pool's ready instances just before it.
    pub ready_before: u32,
    /// Requests the crashed instances held, failed with them.
    pub requests_failed: u64,
    /// Errors of any kind counted from the fault until its recovery (or the
    /// run's end), and the run's error total when it struck.
    pub errors_at_start: u64,
    pub errors: u64,
    /// When the pool was whole again: as many ready instances as before a
    /// crash, the end of a slowdown.
    pub recovered_at: Option<SimTime>,
}
