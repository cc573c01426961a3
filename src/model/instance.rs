//! Instances and the pools they belong to.
//!
//! An instance has a worker limit (concurrent requests) and CPU cores. A
//! request holds a worker for its whole life on the instance and a core only
//! while it computes; requests beyond the worker limit wait in a bounded
//! accept queue, and requests holding a worker wait for a free core in FIFO
//! order. Cores are not shared: a computing request runs to completion at
//! the type's speed. A request with downstream calls (caches, databases)
//! frees its core when it finishes computing and keeps its worker until
//! its response.

use std::collections::VecDeque;

use crate::engine::{SimDuration, SimTime};
use crate::metrics::TimeIntegral;

use super::autoscaler::aws::{AwsGroup, AwsSpec};
use super::autoscaler::keda::{Keda, KedaSpec};
use super::autoscaler::mixed::{MixedInstances, TerminationPolicy};
use super::autoscaler::schedule::ScheduledAction;
use super::autoscaler::{HpaConfig, PodResources, PoolAutoscaler};
use super::cache::Cache;
use super::data::ConnPool;
use super::deploy::StartupCpu;
use super::distribution::Distribution;
use super::node_pool::{NodePool, NodePoolSpec};
use super::request::{Deadlines, RequestId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InstanceId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PoolId(pub u16);

/// Life cycle of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Launched and billed, not yet serving.
    Booting,
    /// In the load balancer's rotation.
    Ready,
    /// Out of rotation, finishing what it holds.
    Draining,
    /// Gone; no longer billed.
    Stopped,
}

/// A pool's validated configuration.
#[derive(Clone, Debug)]
pub struct PoolSpec {
    pub name: String,
    /// Availability zones it spreads over (indices into the system's zones;
    /// empty: zones are not modelled for it).
    pub zones: Vec<u16>,
    /// Index into the run's instance-type catalogue.
    pub instance_type: usize,
    pub count: u32,
    pub workers: u32,
    pub cores: u32,
    pub queue_capacity: u32,
    /// The client gives up after this long (counted as timed out).
    pub timeout: Option<SimDuration>,
    /// Launch until the process runs (for pods: scheduling, image pull, start).
    pub boot: Distribution,
    /// From running until ready (a readiness probe passing).
    pub readiness_delay: SimDuration,
    /// How long a removed instance may drain before it is stopped.
    pub termination_grace: SimDuration,
    /// Initial instances start ready (true) or boot at time 0 (false).
    pub warm_start: bool,
    /// Requests and memory model (what Resource metrics read).
    pub resources: PodResources,
    pub autoscaler: Option<HpaConfig>,
    pub aws: Option<AwsSpec>,
    pub schedule: Vec<ScheduledAction>,
    /// Nodes the pods run on; with one, nodes are billed instead of pods.
    pub node_pool: Option<NodePoolSpec>,
    /// KEDA's activation loop over the pool's HPA (`autoscaler`).
    pub keda: Option<KedaSpec>,
    /// Vertical resizes: at a time, replace every instance, one at a time.
    pub resizes: Vec<Resize>,
    /// Start-up work of a new instance once ready.
    pub startup_cpu: Option<StartupCpu>,
    /// An Auto Scaling group's mixed instances policy: each launch's market and type.
    pub mixed: Option<MixedInstances>,
    /// An Auto Scaling group's termination policies; empty: capsim's
    /// ReplicaSet-like order (not ready first, then the newest).
    pub termination: Vec<TerminationPolicy>,
}

/// A vertical resize (VPA-like): from `at`, instances are recreated with a
/// new type, cores and workers, evicting one at a time; the next eviction
/// waits until the previous replacement is ready.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resize {
    pub at: SimTime,
    pub instance_type: usize,
    pub cores: u32,
    pub workers: u32,
    pub cpu_request_milli: i64,
}

impl PoolSpec {
    /// A fixed pool of `count` instances, for tests of the pieces.
    #[cfg(test)]
    pub fn fixed(count: u32, workers: u32, cores: u32, queue_capacity: u32) -> PoolSpec {
        PoolSpec {
            name: "p".into(),
            zones: Vec::new(),
            instance_type: 0,
            count,
            workers,
            cores,
            queue_capacity,
            timeout: None,
            boot: Distribution::constant(0.0),
            readiness_delay: SimDuration::ZERO,
            termination_grace: SimDuration::from_secs(30),
            warm_start: true,
            resources: PodResources {
                cpu_request_milli: i64::from(cores) * 1000,
                memory_request_bytes: 1 << 30,
                memory_baseline_bytes: 1 << 28,
                memory_per_in_flight_bytes: 1 << 20,
            },
            autoscaler: None,
            aws: None,
            schedule: Vec::new(),
            node_pool: None,
            keda: None,
            resizes: Vec::new(),
            startup_cpu: None,
            mixed: None,
            termination: Vec::new(),
        }
    }
}

/// What happened to a request offered to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// It took a worker and a core: start computing now.
    Started,
    /// It took a worker and waits for a core.
    WaitingForCore,
    /// It waits for a worker in the accept queue.
    Queued,
    /// The accept queue is full.
    Rejected,
}

/// One instance.
#[derive(Debug)]
pub struct Instance {
    pub pool: PoolId,
    /// The availability zone it runs in, when its pool spreads over zones.
    pub zone: Option<u16>,
    /// It died with its host unreachable (a zone outage): connections to it
    /// time out rather than being refused.
    pub unreachable: bool,
    /// The pool's version it runs (deploys roll out new versions).
    pub version: u32,
    /// Booted out of rotation (a blue-green deploy's new set before the switch).
    pub held: bool,
    /// Cores its start-up work keeps busy until `StartupEnds`.
    pub startup_cores: u32,
    /// Out of rotation after a blue-green switch, waiting to be removed.
    pub retiring: bool,
    /// Index into the run's instance-type catalogue (a pool's type can change by resize).
    pub instance_type: usize,
    pub state: InstanceState,
    pub cores: u32,
    pub workers: u32,
    pub speed: f64,
    pub queue_capacity: u32,
    /// Requests holding a worker.
    pub working: u32,
    pub busy_cores: u32,
    /// Live requests in the accept queue (abandoned ones are skipped lazily).
    pub queued: u32,
    /// `(request, generation)`: the generation tells a live entry from a reused slot.
    accept_queue: VecDeque<(RequestId, u32)>,
    cpu_queue: VecDeque<RequestId>,
    pub launched_at: SimTime,
    /// When its process started (booted, not yet necessarily ready).
    pub running_at: Option<SimTime>,
    pub ready_at: Option<SimTime>,
    pub stopped_at: Option<SimTime>,
    /// Busy cores over time: usage read by utilization and autoscalers.
    pub busy_core_time: TimeIntegral,
    /// Requests held (working or queued) over time: in-flight load and memory.
    pub outstanding_time: TimeIntegral,
    /// Requests the load balancer sent here (admitted or rejected).
    pub routed: u64,
    /// Why an autoscaler launched it, for the time-to-capacity breakdown.
    pub origin: Option<ScaleUpOrigin>,
    /// Busy core-time, routed requests and requests-held time at the last
    /// CloudWatch minute.
    pub minute_mark: (u128, u64, u128),
    /// The node it runs on (node pools only); `None` while it waits for room.
    pub node: Option<u32>,
    /// When it got a node and started booting (launch time without node pools).
    pub scheduled_at: Option<SimTime>,
    /// Its local caches, by cache tier (`None` for other tiers); empty until ready.
    pub caches: Vec<Option<Cache>>,
    /// Its connection pools, by data-tier server (size 0 for servers it has none to).
    pub connections: Vec<ConnPool>,
}

/// The decision that launched an instance and the metric it acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleUpOrigin {
    pub decided_at: SimTime,
    /// Timestamp of the newest sample the controller could read.
    pub observed_at: SimTime,
    pub window: SimDuration,
    pub delay: SimDuration,
}

impl Instance {
    pub fn new(pool: PoolId, spec: &PoolSpec, speed: f64, now: SimTime) -> Instance {
        Instance {
            pool,
            zone: None,
            unreachable: false,
            version: 0,
            held: false,
            startup_cores: 0,
            retiring: false,
            instance_type: spec.instance_type,
            state: InstanceState::Booting,
            cores: spec.cores,
            workers: spec.workers,
            speed,
            queue_capacity: spec.queue_capacity,
            working: 0,
            busy_cores: 0,
            queued: 0,
            accept_queue: VecDeque::new(),
            cpu_queue: VecDeque::new(),
            launched_at: now,
            running_at: None,
            ready_at: None,
            stopped_at: None,
            busy_core_time: TimeIntegral::default(),
            outstanding_time: TimeIntegral::default(),
            routed: 0,
            origin: None,
            minute_mark: (0, 0, 0),
            node: None,
            scheduled_at: None,
            caches: Vec::new(),
            connections: Vec::new(),
        }
    }

    /// Requests the instance holds: working or queued. This is the
    /// "connections" count of least-connections balancing.
    #[inline]
    pub fn outstanding(&self) -> u32 {
        self.working + self.queued
    }

    /// Whether a new connection would find its accept queue full.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.working >= self.workers && self.queued >= self.queue_capacity
    }

    /// Requests waiting for a worker or a core.
    #[inline]
    pub fn waiting(&self) -> u32 {
        self.queued + self.cpu_queue.len() as u32
    }

    /// Offers a request to the instance.
    #[inline]
    pub fn admit(&mut self, now: SimTime, id: RequestId, generation: u32) -> Admission {
        self.routed += 1;
        let admission = if self.working < self.workers {
            self.working += 1;
            self.take_core(now, id)
        } else if self.queued < self.queue_capacity {
            self.accept_queue.push_back((id, generation));
            self.queued += 1;
            Admission::Queued
        } else {
            return Admission::Rejected;
        };
        self.outstanding_time.add(now, 1);
        admission
    }

    #[inline]
    fn take_core(&mut self, now: SimTime, id: RequestId) -> Admission {
        if self.busy_cores < self.cores {
            self.busy_cores += 1;
            self.busy_core_time.set(now, u64::from(self.busy_cores));
            Admission::Started
        } else {
            self.cpu_queue.push_back(id);
            Admission::WaitingForCore
        }
    }

    /// A computing request finished and leaves: [`Instance::release_core`]
    /// then [`Instance::release_worker`]. Returns the request that starts
    /// computing now, if any, and the request promoted from the accept queue
    /// to a worker, if any (for the tests of the handoff order).
    ///
    /// `is_live` tells whether a queued request still wants service (its
    /// client may have given up while it waited).
    #[cfg(test)]
    pub fn complete(&mut self, now: SimTime, is_live: impl FnMut(RequestId, u32) -> bool) -> Handoff {
        let from_cpu_queue = self.release_core(now);
        let promoted = self.release_worker(now, is_live);
        Handoff {
            started: from_cpu_queue.or(promoted.filter(|p| p.1).map(|p| p.0)),
            promoted: promoted.map(|p| p.0),
        }
    }

    /// A request finished computing but keeps its worker (it waits on a
    /// downstream call). Returns the request that takes the core, if any.
    #[inline]
    pub fn release_core(&mut self, now: SimTime) -> Option<RequestId> {
        self.busy_cores -= 1;
        let next = self.cpu_queue.pop_front();
        if next.is_some() {
            self.busy_cores += 1;
        }
        self.busy_core_time.set(now, u64::from(self.busy_cores));
        next
    }

    /// A request that no longer computes left: frees its worker for the
    /// first live request of the accept queue. Returns that request and
    /// whether it got a core at once.
    #[inline]
    pub fn release_worker(
        &mut self,
        now: SimTime,
        mut is_live: impl FnMut(RequestId, u32) -> bool,
    ) -> Option<(RequestId, bool)> {
        self.working -= 1;
        self.outstanding_time.sub(now, 1);
        while let Some((next, generation)) = self.accept_queue.pop_front() {
            if !is_live(next, generation) {
                // Abandoned while queued: already uncounted from `queued`.
                continue;
            }
            self.queued -= 1;
            self.working += 1;
            let started = self.take_core(now, next) == Admission::Started;
            return Some((next, started));
        }
        None
    }

    /// A queued request's client gave up: it no longer counts as queued.
    /// Its queue entry is dropped when it reaches the head, or when dead
    /// entries outnumber live ones (so the queue stays bounded by twice its
    /// capacity whatever the timeout pattern).
    pub fn abandon_queued(&mut self, now: SimTime, mut is_live: impl FnMut(RequestId, u32) -> bool) {
        self.queued -= 1;
        self.outstanding_time.sub(now, 1);
        if self.accept_queue.len() > 2 * self.queued as usize + 16 {
            self.accept_queue.retain(|(id, generation)| is_live(*id, *generation));
        }
    }

    /// Whether the instance holds nothing (a draining instance can stop).
    pub fn is_idle(&self) -> bool {
        self.working == 0 && self.queued == 0
    }

    /// Stops the instance at `now`, dropping whatever it holds. The caller
    /// accounts for the requests (see `Requests::held_by`).
    pub fn stop(&mut self, now: SimTime) {
        self.state = InstanceState::Stopped;
        self.stopped_at = Some(now);
        self.working = 0;
        self.queued = 0;
        self.busy_cores = 0;
        self.busy_core_time.set(now, 0);
        self.outstanding_time.set(now, 0);
        self.accept_queue = VecDeque::new();
        self.cpu_queue = VecDeque::new();
        self.caches = Vec::new();
        self.connections = Vec::new();
    }
}

/// The result of [`Instance::complete`].
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handoff {
    /// Starts computing now (from the core queue, or the promoted request).
    pub started: Option<RequestId>,
    /// Moved from the accept queue to a worker.
    pub promoted: Option<RequestId>,
}

/// A pool's runtime state: its instances and pool-wide accumulators.
#[derive(Debug)]
pub struct Pool {
    pub spec: PoolSpec,
    /// Every instance ever launched in the pool, in launch order.
    pub instances: Vec<InstanceId>,
    pub busy_cores: TimeIntegral,
    /// Cores of instances that can compute (ready or draining).
    pub serving_cores: TimeIntegral,
    /// Requests waiting for a worker or a core.
    pub waiting: TimeIntegral,
    /// Client deadlines in arrival order: `(deadline, request, generation)`.
    pub deadlines: Deadlines,
    /// Requests routed to the pool's instances.
    pub routed: u64,
    /// CPU work (core-seconds at the instances' speed) of everything sent
    /// to the pool, served or not: the demand its busy cores would show if
    /// nothing capped them.
    pub offered_work_s: f64,
    pub autoscaler: Option<PoolAutoscaler>,
    pub aws: Option<AwsGroup>,
    pub nodes: Option<NodePool>,
    pub keda: Option<Keda>,
    /// The replacement a resize is waiting on, and the instances left to replace.
    pub resizing: Option<InstanceId>,
    pub to_replace: VecDeque<InstanceId>,
    /// The version new instances run.
    pub version: u32,
}

impl Pool {
    pub fn new(spec: PoolSpec) -> Pool {
        let autoscaler = spec
            .autoscaler
            .clone()
            .map(|config| PoolAutoscaler::new(config, spec.resources));
        let aws = spec.aws.clone().map(AwsGroup::new);
        let nodes = spec.node_pool.clone().map(NodePool::new);
        let keda = spec.keda.map(Keda::new);
        Pool {
            spec,
            instances: Vec::new(),
            busy_cores: TimeIntegral::default(),
            serving_cores: TimeIntegral::default(),
            waiting: TimeIntegral::default(),
            deadlines: Deadlines::default(),
            routed: 0,
            offered_work_s: 0.0,
            aws,
            nodes,
            keda,
            resizing: None,
            to_replace: VecDeque::new(),
            version: 0,
            autoscaler,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(workers: u32, cores: u32, queue: u32) -> PoolSpec {
        PoolSpec::fixed(1, workers, cores, queue)
    }

    #[test]
    fn workers_then_queue_then_reject() {
        let mut i = Instance::new(PoolId(0), &spec(2, 1, 1), 1.0, SimTime::ZERO);
        let t = SimTime::ZERO;
        assert_eq!(i.admit(t, RequestId(0), 0), Admission::Started);
        assert_eq!(i.admit(t, RequestId(1), 0), Admission::WaitingForCore);
        assert_eq!(i.admit(t, RequestId(2), 0), Admission::Queued);
        assert_eq!(i.admit(t, RequestId(3), 0), Admission::Rejected);
        assert_eq!(i.outstanding(), 3);
        // Request 0 finishes: 1 takes the core, 2 takes the worker and waits for a core.
        let h = i.complete(SimTime(10), |_, _| true);
        assert_eq!(
            h,
            Handoff {
                started: Some(RequestId(1)),
                promoted: Some(RequestId(2))
            }
        );
        assert_eq!(i.waiting(), 1);
        let h = i.complete(SimTime(20), |_, _| true);
        assert_eq!(
            h,
            Handoff {
                started: Some(RequestId(2)),
                promoted: None
            }
        );
        assert_eq!(i.busy_core_time.area_until(SimTime(30)), 30);
    }

    #[test]
    fn a_request_waiting_downstream_keeps_its_worker_not_its_core() {
        let mut i = Instance::new(PoolId(0), &spec(2, 1, 1), 1.0, SimTime::ZERO);
        let t = SimTime::ZERO;
        assert_eq!(i.admit(t, RequestId(0), 0), Admission::Started);
        assert_eq!(i.admit(t, RequestId(1), 0), Admission::WaitingForCore);
        assert_eq!(i.admit(t, RequestId(2), 0), Admission::Queued);
        // 0 computed and calls a database: 1 takes the core, 2 still has no worker.
        assert_eq!(i.release_core(SimTime(10)), Some(RequestId(1)));
        assert_eq!((i.working, i.busy_cores, i.queued), (2, 1, 1));
        // 0's answer: its worker goes to 2, which waits for the core 1 holds.
        assert_eq!(i.release_worker(SimTime(20), |_, _| true), Some((RequestId(2), false)));
        assert_eq!((i.working, i.queued, i.waiting()), (2, 0, 1));
        assert_eq!(i.busy_core_time.area_until(SimTime(30)), 30);
    }

    #[test]
    fn abandoned_queue_entries_are_skipped() {
        let mut i = Instance::new(PoolId(0), &spec(1, 1, 4), 1.0, SimTime::ZERO);
        let t = SimTime::ZERO;
        i.admit(t, RequestId(0), 0);
        i.admit(t, RequestId(1), 0);
        i.admit(t, RequestId(2), 0);
        let live = |id: RequestId, _| id != RequestId(1);
        i.abandon_queued(t, live); // request 1 gave up
        let h = i.complete(SimTime(5), live);
        assert_eq!(
            h,
            Handoff {
                started: Some(RequestId(2)),
                promoted: Some(RequestId(2))
            }
        );
        assert_eq!(i.queued, 0);
    }
}
