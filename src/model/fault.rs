//! Faults a scenario schedules on its app instances and zones — crashes,
//! slowdowns, spot interruptions, zone outages — at fixed times or drawn at
//! random, with what each cost the system (requests lost, time to recover)
//! recorded as it happens.

use crate::engine::{SimDuration, SimTime};

/// A fault and when it strikes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultSpec {
    pub when: When,
    pub kind: FaultKind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum When {
    /// Once, at a fixed time.
    At(SimTime),
    /// Over and over, with exponential times between failures of mean
    /// `mtbf`: each instance of the pool independently from its readiness
    /// (so a pool of n fails n times as often), or the zone from the start
    /// of the run and again from each recovery. A duration (`for`) is then
    /// the mean time to repair, each one an exponential draw.
    Random { mtbf: SimDuration },
}

impl FaultSpec {
    pub fn is_random(&self) -> bool {
        matches!(self.when, When::Random { .. })
    }

    /// The pool whose instances it strikes one by one, for a random fault
    /// on instances.
    pub fn random_pool(&self) -> Option<usize> {
        match (self.when, self.kind) {
            (When::At(_), _)
            | (_, FaultKind::ZoneOutage { .. } | FaultKind::RegionOutage { .. } | FaultKind::LbNodeFailure { .. }) => {
                None
            }
            (_, FaultKind::Crash { pool, .. })
            | (_, FaultKind::Slowdown { pool, .. })
            | (_, FaultKind::SpotInterruption { pool, .. }) => Some(pool),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// `instances` ready instances of `pool` (drawn at random; all of them
    /// if fewer are ready) die: the requests they hold fail, they leave
    /// every rotation, and the pool's controller launches replacements once
    /// it notices, `detected_after` later (a Deployment's ReplicaSet at
    /// once for a deleted pod; minutes for a lost node or an EC2 status check).
    Crash {
        pool: usize,
        instances: u32,
        detected_after: SimDuration,
    },
    /// `instances` ready instances of `pool` compute `factor` times slower
    /// for `duration` (a noisy neighbour, a bad disk, a GC storm); requests
    /// already computing keep the speed they started with.
    Slowdown {
        pool: usize,
        instances: u32,
        factor: f64,
        duration: SimDuration,
    },
    /// `instances` ready spot instances of `pool` get an interruption
    /// notice: they leave the rotation and drain at once, the controller
    /// launches their replacements at once, and whatever they still hold
    /// when the `notice` runs out (two minutes on EC2) fails with them.
    /// On-demand instances of a mixed group are never hit; with
    /// `instance_type` (an index into the run's catalogue), only spot
    /// instances of that type are (one spot pool reclaimed).
    SpotInterruption {
        pool: usize,
        instances: u32,
        notice: SimDuration,
        instance_type: Option<usize>,
    },
    /// Every instance in `zone`, of every pool, dies; for `duration` no
    /// instance is launched there, so replacements (after `detected_after`)
    /// go to the pools' other zones.
    ZoneOutage {
        zone: u16,
        duration: SimDuration,
        detected_after: SimDuration,
    },
    /// The whole region goes dark for `duration`: its balancer cannot be
    /// reached, every instance of its pools dies, nothing launches there;
    /// the DNS health checks move its clients to the next region.
    RegionOutage {
        region: u16,
        duration: SimDuration,
        detected_after: SimDuration,
    },
    /// Node `node` of balancer `balancer` fails for `duration`: requests
    /// of the clients that reach it fail until, `detected_after` later
    /// (the balancer's DNS drops the node and cached answers expire), they
    /// move to its other nodes.
    LbNodeFailure {
        balancer: u16,
        node: u32,
        duration: SimDuration,
        detected_after: SimDuration,
    },
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash { .. } => "crash",
            FaultKind::Slowdown { .. } => "slowdown",
            FaultKind::SpotInterruption { .. } => "spot_interruption",
            FaultKind::ZoneOutage { .. } => "zone_outage",
            FaultKind::RegionOutage { .. } => "region_outage",
            FaultKind::LbNodeFailure { .. } => "lb_node_failure",
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
    /// The pools it hit, each with its ready instances just before.
    pub pools: Vec<(usize, u32)>,
    /// The instances it hit.
    pub hit: Vec<u32>,
    /// Instances of its pools launched after it that have become ready,
    /// each credited to the oldest open fault still short of replacements.
    pub replaced: u32,
    /// Requests the crashed (or interrupted, at the notice's end) instances
    /// held, failed with them.
    pub requests_failed: u64,
    /// The run's error total when it struck, and the errors counted from
    /// then until its recovery.
    pub errors_at_start: u64,
    pub errors: u64,
    /// When every pool it hit was whole again (as many ready instances as
    /// before, or as its controller then wanted if fewer) or as many
    /// instances as it hit were replaced, whichever came first; or when a
    /// slowdown ended.
    pub recovered_at: Option<SimTime>,
}
