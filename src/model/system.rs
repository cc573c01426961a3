//! The system: every component of a run, the event enum, and the one
//! `match` that routes each event to its handler.

mod balancing;
mod costs;
mod data_faults;
mod data_path;
mod deploys;
mod edge;
mod faults;
mod queues;
mod regions;

use crate::engine::{self, Limits, Model, RngStream, RunOutcome, Scheduler, SimDuration, SimTime, StreamId};
use crate::metrics::{
    CapacityRecord, CapacityStats, ClassSummary, EventKind, EventRecord, IntervalRow, LatencyRecorder, NodeSummary,
    PoolRow, PoolSummary, Recorder, RequestCounts, RunSummary, ScalingSummary, SloSpec, SloSummary, TimeIntegral,
    TypeCost,
};

use super::PoolSpec;
use super::autoscaler::ScalerLogRow;
use super::autoscaler::aws;
use super::autoscaler::hpa::{self, PodPhase, ReadyCondition};
use super::autoscaler::keda::KedaAction;
use super::autoscaler::mixed::{Candidate, Member, MixedInstances, choose_terminations};
use super::autoscaler::pipeline::{PodCounters, PodView};
use super::autoscaler::{DecisionRecord, HpaConfig};
use super::cost::Billing;
use super::data::{ConnPool, DataRow, DataSpec, DataTier, DbRow, QueueRow};
use super::deploy::{DeployRecord, DeploySpec};
use super::fault::{FaultRecord, FaultSpec};
use super::instance::{Instance, InstanceId, InstanceState, Pool, PoolId, ScaleUpOrigin};
use super::instance_type::{InstanceType, Market};
use super::load_balancer::{LoadBalancer, LoadBalancerSpec};
use super::node_pool::{Node, NodeState};
use super::region::{Dns, GeoSpec};
use super::request::{Deadlines, NO_MESSAGE, Request, RequestId, RequestState, Requests};
use super::traffic::{ArrivalProcess, ClassPicker, KeyPicker, TrafficSpec};

/// A validated description of a system and how to run it: what the
/// scenario layer produces and the model consumes.
#[derive(Clone, Debug)]
pub struct SystemSpec {
    pub name: String,
    pub duration: SimDuration,
    pub warmup: SimDuration,
    pub interval: SimDuration,
    pub max_events: u64,
    /// The most requests (and their deadlines) a run may hold in memory.
    pub max_requests_held: u64,
    pub billing: Billing,
    pub traffic: TrafficSpec,
    /// The instance types the pools use (pools refer to them by index).
    pub instance_types: Vec<InstanceType>,
    pub load_balancers: Vec<LoadBalancerSpec>,
    pub pools: Vec<PoolSpec>,
    pub data: DataSpec,
    /// Scheduled faults on app instances, in time order.
    pub faults: Vec<FaultSpec>,
    /// Scheduled deploys, in time order.
    pub deploys: Vec<DeploySpec>,
    /// Availability zones the pools spread over (pools refer to them by index).
    pub zones: Vec<String>,
    /// Regions, each behind its own balancer, and the DNS in front of them.
    pub geo: Option<GeoSpec>,
    pub slo: Option<SloSpec>,
    /// Traffic multiples over the run's peak the capacity review plans for
    /// (ascending, each above 1).
    pub growth: Vec<f64>,
    /// What the components around the pools are billed as.
    pub prices: super::prices::PriceSpec,
}

/// Everything that can happen in a run.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// The traffic source's next request arrives.
    ArrivalDue,
    /// A request finished computing on an instance (stale if the request's
    /// generation has moved on: its instance was stopped under it).
    ServiceCompleted {
        instance: InstanceId,
        request: RequestId,
        generation: u32,
    },
    /// The earliest client deadline of a pool has come.
    DeadlinesDue { pool: PoolId },
    /// An instance's process started (it is not ready yet unless it has no readiness delay).
    InstanceBooted { instance: InstanceId },
    /// An instance's readiness delay passed.
    InstanceReadyDue { instance: InstanceId },
    /// A draining instance's grace period ran out.
    DrainDeadlineDue { instance: InstanceId },
    /// The metrics pipeline scrapes a pool's pods.
    MetricsScrapeDue { pool: PoolId },
    /// A pool's autoscaler reconciles.
    AutoscalerSyncDue { pool: PoolId },
    /// A CloudWatch minute ends for an Auto Scaling group; its policies evaluate.
    AwsMinuteDue { pool: PoolId },
    /// A pool's scheduled action is due.
    ScheduledActionDue { pool: PoolId, action: u16 },
    /// A node finished provisioning.
    NodeReady { pool: PoolId, node: u32 },
    /// The node pool's scaling loop looks at pending pods and empty nodes.
    NodeScanDue { pool: PoolId },
    /// KEDA polls a ScaledObject's trigger.
    KedaPollDue { pool: PoolId },
    /// A pool's vertical resize begins.
    ResizeDue { pool: PoolId, resize: u16 },
    /// A data-tier server finished a request's operation.
    ServerDone {
        server: u16,
        request: RequestId,
        generation: u32,
    },
    /// A request's pending delay (local lookups, a round trip) has passed.
    DataStepDue { request: RequestId, generation: u32 },
    /// A request has waited for a connection (of its instance's pool, or of
    /// a pooler) as long as it may.
    ConnectionWaitExpired {
        request: RequestId,
        generation: u32,
        pooler: bool,
    },
    /// A database's scheduled fault begins, or its effect ends (`end`).
    DbFaultDue { database: u16, fault: u16, end: bool },
    /// A shared cache node goes down, or comes back (`end`).
    CacheFaultDue { tier: u16, fault: u16, end: bool },
    /// The earliest visibility deadline of a queue's received messages has come.
    VisibilityDue { queue: u16 },
    /// A CDN's answer (a hit at a PoP or the shield) reaches its client.
    EdgeAnswered { arrival: SimTime, class: u16 },
    /// A request the CDN passed on reaches the load balancer.
    EdgeForwardDue { request: RequestId, generation: u32 },
    /// A fault strikes (at its fixed time, or a zone's drawn one).
    FaultDue { fault: u16 },
    /// A random fault's drawn time for one instance has come.
    InstanceFaultDue { fault: u16, instance: InstanceId },
    /// A pool's controller notices crashed instances and replaces them.
    ReplaceDue { pool: PoolId },
    /// A slowdown of one instance ends.
    SlowdownEnds { fault: u16, instance: InstanceId },
    /// A zone or region outage ends.
    OutageEnds { fault: u16 },
    /// The DNS health checkers probe a region's endpoint.
    DnsCheckDue { region: u16 },
    /// A balancer's active health check probes its backends.
    HealthCheckDue { lb: u16 },
    /// The probes of that check that got no answer time out.
    ProbeTimeoutsDue { lb: u16 },
    /// A try's new upstream connection is open: it reaches its backend.
    TryConnected {
        request: RequestId,
        generation: u32,
        instance: InstanceId,
        lb: u8,
    },
    /// A try's connect to an unreachable backend timed out.
    TryUnreachable {
        request: RequestId,
        generation: u32,
        instance: InstanceId,
        lb: u8,
    },
    /// The earliest try deadline of a balancer has come.
    TryDeadlinesDue { lb: u16 },
    /// A retried request's client deadline has come.
    ClientDeadlineDue { request: RequestId, generation: u32 },
    /// A scheduled deploy starts.
    DeployDue { deploy: u16 },
    /// A blue-green deploy's old set is removed.
    RetireDue { pool: PoolId },
    /// A new instance's start-up work is done.
    StartupEnds { instance: InstanceId },
    /// A time-series interval ends.
    IntervalDue,
}

/// The outcome of one run.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub summary: RunSummary,
    pub rows: Vec<IntervalRow>,
    pub events: Vec<EventRecord>,
    pub decisions: Vec<DecisionRecord>,
    pub pool_names: Vec<String>,
    /// The autoscaler configuration of each autoscaled pool, by name.
    pub autoscalers: Vec<(String, HpaConfig)>,
    pub capacity: Vec<CapacityRecord>,
    pub scaler_rows: Vec<ScalerLogRow>,
    /// Every response after the warm-up, for pooling runs exactly.
    pub latency: LatencyRecorder,
    /// Every occurrence of an instance or zone fault (fixed or random), by kind.
    pub faults: Vec<(SimTime, &'static str)>,
    /// Every instance launched, by id (the `instance` of its events).
    pub instances: Vec<InstanceRecord>,
    /// Requests each balancer took over the run (first tries, retries
    /// not counted): a CDN's hits and other regions' clients do not reach it.
    pub balancer_requests: Vec<u64>,
}

/// What an instance was: its pool, type, market and zone.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceRecord {
    pub pool: usize,
    pub instance_type: String,
    pub market: Market,
    /// Index into the pools' zones (sorted by name), when zones are modelled.
    pub zone: Option<u16>,
}

/// A balancer node's failures: how many hold it down, and when its
/// clients move to the other nodes.
#[derive(Clone, Copy, Debug, Default)]
struct NodeOutage {
    down: u16,
    moved_at: SimTime,
}

impl PoolBook {
    /// A scaler changed the size from `current` to `desired`: counts the
    /// action and a direction change (flapping) when it reverses the last.
    fn record_change(&mut self, current: i64, desired: i64) {
        let direction = if desired > current { 1 } else { -1 };
        if direction > 0 {
            self.scale_ups += 1;
        } else {
            self.scale_downs += 1;
        }
        if self.last_direction != 0 && self.last_direction != direction {
            self.direction_changes += 1;
        }
        self.last_direction = direction;
    }
}

/// Per-pool bookkeeping of the system (besides the pool's own state).
struct PoolBook {
    /// Instances by state: booting, ready, draining.
    booting: u32,
    ready: u32,
    draining: u32,
    peak: u32,
    live: TimeIntegral,
    /// Areas at the start of the current interval: busy, serving, waiting.
    marks: (u128, u128, u128),
    /// The pool's offered work at the last interval's end.
    offered_mark: f64,
    /// Serving cores' area at the last interval's end, for a consumer pool's queue.
    queue_mark: u128,
    scale_ups: u32,
    scale_downs: u32,
    direction_changes: u32,
    last_direction: i8,
    /// 1 while the desired size equals max replicas.
    at_max: TimeIntegral,
    /// The size its controller keeps it at (a Deployment's replicas, an
    /// Auto Scaling group's desired capacity): booting + ready, except
    /// while crashed instances wait to be replaced. Autoscalers read it.
    desired: u32,
}

/// A whole simulated system.
pub struct System {
    spec: SystemSpec,
    seed: u64,
    replication: u32,
    end: SimTime,
    arrivals: ArrivalProcess,
    arrival_rng: RngStream,
    class_rng: RngStream,
    client_rng: RngStream,
    key_rng: RngStream,
    service_rng: RngStream,
    boot_rng: RngStream,
    classes: ClassPicker,
    keys: Option<KeyPicker>,
    load_balancers: Vec<LoadBalancer>,
    pools: Vec<Pool>,
    books: Vec<PoolBook>,
    instances: Vec<Instance>,
    requests: Requests,
    recorder: Recorder,
    data: DataTier,
    data_rng: RngStream,
    /// Requests a cache fill woke, moved on once the filler is done.
    pending_wakes: Vec<(RequestId, u32)>,
    queue_rng: RngStream,
    edge_rng: RngStream,
    fault_rng: RngStream,
    /// Times between failures and to repair of random faults.
    random_fault_rng: RngStream,
    fault_records: Vec<FaultRecord>,
    /// The records of crashes and outages whose pools are not whole yet.
    open_faults: Vec<usize>,
    /// Per zone, the outages holding it out of service.
    zone_down: Vec<u16>,
    /// What the DNS answers, with regions.
    dns: Option<Dns>,
    /// Per balancer, the failures holding each of its nodes down and when
    /// their clients move away, and how many of its nodes are down.
    lb_nodes: Vec<Vec<NodeOutage>>,
    lb_nodes_down: Vec<u16>,
    /// Responses from app instances through each balancer, by class
    /// (`balancer × classes + class`): the bytes it processed, for the
    /// ALB's capacity units.
    lb_responses: Vec<u64>,
    /// Per region, the outages holding it dark, and what happened to it.
    region_down: Vec<u16>,
    region_books: Vec<regions::RegionBook>,
    population_books: Vec<regions::PopulationBook>,
    /// Per pool, the queue its instances consume (if any).
    consumer_queue: Vec<Option<usize>>,
    /// Per balancer, the probes of its last health check still waiting for an answer.
    probe_timeouts: Vec<Vec<InstanceId>>,
    /// Per balancer, its tries' deadlines in the order they were sent.
    try_deadlines: Vec<Deadlines>,
    /// Retries decided during the current event (a fresh try each, and the
    /// backend to avoid), sent once it is handled.
    pending_retries: Vec<(RequestId, InstanceId)>,
    /// Per pool, the deploy under way (an index into `deploy_records`).
    rollouts: Vec<Option<usize>>,
    deploy_records: Vec<DeployRecord>,
}

impl System {
    /// Builds the system at time 0 and schedules its first events.
    pub fn new(spec: &SystemSpec, seed: u64, replication: u32, scheduler: &mut Scheduler<Event>) -> System {
        let stream = |purpose: &str| RngStream::new(StreamId::new(seed, replication, purpose));
        let end = SimTime::ZERO + spec.duration;
        let mut curve = spec.traffic.curve.clone();
        curve.bind_noise(StreamId::new(seed, replication, "traffic.noise").key());
        let load_balancers = spec
            .load_balancers
            .iter()
            .map(|lb| LoadBalancer::new(lb.clone(), stream(&format!("load_balancer.{}", lb.name))))
            .collect();
        let mut system = System {
            spec: spec.clone(),
            seed,
            replication,
            end,
            arrivals: ArrivalProcess::new(curve, spec.traffic.arrivals, spec.duration.as_secs_f64())
                .with_budget(spec.max_events),
            arrival_rng: stream("traffic.arrivals"),
            class_rng: stream("traffic.classes"),
            client_rng: stream("traffic.clients"),
            key_rng: stream("traffic.keys"),
            service_rng: stream("service"),
            boot_rng: stream("instances.boot"),
            classes: ClassPicker::new(&spec.traffic.classes),
            keys: spec.traffic.keys.as_ref().map(KeyPicker::new),
            load_balancers,
            pools: spec.pools.iter().cloned().map(Pool::new).collect(),
            books: spec
                .pools
                .iter()
                .map(|_| PoolBook {
                    booting: 0,
                    ready: 0,
                    draining: 0,
                    peak: 0,
                    live: TimeIntegral::default(),
                    marks: (0, 0, 0),
                    offered_mark: 0.0,
                    queue_mark: 0,
                    scale_ups: 0,
                    scale_downs: 0,
                    direction_changes: 0,
                    last_direction: 0,
                    at_max: TimeIntegral::default(),
                    desired: 0,
                })
                .collect(),
            instances: Vec::new(),
            requests: Requests::default(),
            data: DataTier::new(&spec.data, SimTime::ZERO + spec.warmup),
            data_rng: stream("data"),
            pending_wakes: Vec::new(),
            queue_rng: stream("queues"),
            edge_rng: stream("edge"),
            fault_rng: stream("faults"),
            random_fault_rng: stream("faults.random"),
            fault_records: Vec::new(),
            open_faults: Vec::new(),
            zone_down: vec![0; spec.zones.len()],
            dns: spec.geo.clone().map(Dns::new),
            lb_nodes: spec
                .load_balancers
                .iter()
                .map(|lb| vec![NodeOutage::default(); lb.nodes as usize])
                .collect(),
            lb_nodes_down: vec![0; spec.load_balancers.len()],
            lb_responses: vec![0; spec.load_balancers.len() * spec.traffic.classes.len()],
            region_down: vec![0; spec.geo.as_ref().map_or(0, |g| g.regions.len())],
            region_books: vec![Default::default(); spec.geo.as_ref().map_or(0, |g| g.regions.len())],
            population_books: vec![Default::default(); spec.geo.as_ref().map_or(0, |g| g.populations.len())],
            consumer_queue: (0..spec.pools.len())
                .map(|p| spec.data.queues.iter().position(|q| q.consumers == p))
                .collect(),
            probe_timeouts: vec![Vec::new(); spec.load_balancers.len()],
            try_deadlines: (0..spec.load_balancers.len()).map(|_| Deadlines::default()).collect(),
            pending_retries: Vec::new(),
            rollouts: vec![None; spec.pools.len()],
            deploy_records: Vec::new(),
            recorder: Recorder::new(
                spec.interval,
                SimTime::ZERO + spec.warmup,
                spec.traffic.classes.len(),
                spec.slo,
            ),
        };
        // The initial fleet: already serving (warm start, no events), or booting from time 0.
        for p in 0..system.pools.len() {
            let pool = PoolId(p as u16);
            system.books[p].desired = system.pools[p].spec.count;
            for _ in 0..system.pools[p].spec.count {
                if system.pools[p].spec.warm_start {
                    let id = system.add_instance(SimTime::ZERO, pool);
                    // Validation guarantees the initial nodes hold the initial pods.
                    let node = system.pools[p].nodes.as_mut().and_then(|n| n.place());
                    let instance = &mut system.instances[id.0 as usize];
                    instance.node = node;
                    instance.scheduled_at = Some(SimTime::ZERO);
                    system.make_ready(SimTime::ZERO, id, scheduler);
                } else {
                    system.launch(SimTime::ZERO, pool, scheduler);
                }
            }
        }
        if let Some(t) = system.arrivals.next(&mut system.arrival_rng) {
            scheduler.schedule(SimTime::ZERO + SimDuration::from_secs_f64(t), Event::ArrivalDue);
        }
        scheduler.schedule(system.next_interval_end(SimTime::ZERO), Event::IntervalDue);
        system.schedule_data_faults(scheduler);
        system.schedule_faults(scheduler);
        system.schedule_dns_checks(scheduler);
        system.schedule_health_checks(scheduler);
        system.schedule_deploys(scheduler);
        // Autoscaled pools: the pipeline scrapes from time 0 and the
        // controller's first reconcile (which records the initial size) is at 0 too.
        for (p, pool) in system.pools.iter().enumerate() {
            for (k, r) in pool.spec.resizes.iter().enumerate() {
                if r.at <= system.end {
                    scheduler.schedule(
                        r.at,
                        Event::ResizeDue {
                            pool: PoolId(p as u16),
                            resize: k as u16,
                        },
                    );
                }
            }
            if pool.keda.is_some() {
                scheduler.schedule(SimTime::ZERO, Event::KedaPollDue { pool: PoolId(p as u16) });
            }
            if let Some(nodes) = &pool.nodes {
                let scan = nodes.spec.scan_interval;
                scheduler.schedule(SimTime::ZERO + scan, Event::NodeScanDue { pool: PoolId(p as u16) });
            }
            for (k, action) in pool.spec.schedule.iter().enumerate() {
                if action.at <= system.end {
                    let event = Event::ScheduledActionDue {
                        pool: PoolId(p as u16),
                        action: k as u16,
                    };
                    scheduler.schedule(action.at, event);
                }
            }
            if pool.aws.is_some() {
                let pool = PoolId(p as u16);
                scheduler.schedule(SimTime::from_secs(60), Event::AwsMinuteDue { pool });
            }
            if let Some(a) = &pool.autoscaler {
                let offset = a.config.offset;
                let pool = PoolId(p as u16);
                scheduler.schedule(SimTime::ZERO + offset, Event::MetricsScrapeDue { pool });
                scheduler.schedule(SimTime::ZERO, Event::AutoscalerSyncDue { pool });
            }
        }
        system
    }

    fn next_interval_end(&self, now: SimTime) -> SimTime {
        (now + self.spec.interval).min(self.end)
    }

    /// Adds an instance to `pool` in the booting state.
    fn add_instance(&mut self, now: SimTime, pool: PoolId) -> InstanceId {
        let zone = self.zone_for(pool.0 as usize);
        let instance_type = self.launch_type(pool.0 as usize, zone);
        let p = &mut self.pools[pool.0 as usize];
        let speed = self.spec.instance_types[instance_type].speed;
        let id = InstanceId(self.instances.len() as u32);
        let mut instance = Instance::new(pool, &p.spec, speed, now);
        instance.instance_type = instance_type;
        instance.zone = zone;
        instance.version = p.version;
        self.instances.push(instance);
        p.instances.push(id);
        let book = &mut self.books[pool.0 as usize];
        book.booting += 1;
        let live = book.booting + book.ready + book.draining;
        book.peak = book.peak.max(live);
        book.live.set(now, u64::from(live));
        id
    }

    /// The instance type of `pool`'s next launch into `zone`: its mixed
    /// instances policy's choice from the instances it has (booting or
    /// ready), or the pool's type.
    fn launch_type(&self, pool: usize, zone: Option<u16>) -> usize {
        let spec = &self.pools[pool].spec;
        let Some(mixed) = &spec.mixed else {
            return spec.instance_type;
        };
        let live: Vec<Member> = self.pools[pool]
            .instances
            .iter()
            .map(|id| &self.instances[id.0 as usize])
            .filter(|i| matches!(i.state, InstanceState::Booting | InstanceState::Ready))
            .map(|i| self.member(mixed, i))
            .collect();
        let (market, slot) = mixed.launch(&live, zone);
        let o = &mixed.overrides[slot];
        match market {
            Market::OnDemand => o.on_demand,
            Market::Spot => o.spot.expect("spot launches use overrides with a spot type"),
        }
    }

    /// How a mixed instances policy sees one of its group's instances.
    fn member(&self, mixed: &MixedInstances, i: &Instance) -> Member {
        let market = self.spec.instance_types[i.instance_type].market;
        let slot = mixed
            .overrides
            .iter()
            .position(|o| o.on_demand == i.instance_type || o.spot == Some(i.instance_type))
            .unwrap_or(0);
        Member {
            zone: i.zone,
            market,
            slot,
        }
    }

    /// Launches an instance: it boots for a sampled time before it serves,
    /// once a node has room for it when the pool runs on a node pool.
    fn launch(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) -> InstanceId {
        let id = self.add_instance(now, pool);
        self.recorder
            .event(now, EventKind::InstanceLaunched, pool.0 as usize, id.0);
        match &mut self.pools[pool.0 as usize].nodes {
            None => self.start_boot(now, id, None, scheduler),
            Some(nodes) => match nodes.place() {
                Some(node) => self.start_boot(now, id, Some(node), scheduler),
                None => nodes.pending.push_back(id.0),
            },
        }
        id
    }

    /// An instance has its node (if any): the boot begins.
    fn start_boot(&mut self, now: SimTime, id: InstanceId, node: Option<u32>, scheduler: &mut Scheduler<Event>) {
        let instance = &mut self.instances[id.0 as usize];
        instance.node = node;
        instance.scheduled_at = Some(now);
        let boot = self.pools[instance.pool.0 as usize]
            .spec
            .boot
            .sample(&mut self.boot_rng);
        scheduler.schedule(
            now + SimDuration::from_secs_f64(boot),
            Event::InstanceBooted { instance: id },
        );
    }

    /// Gives waiting pods the room there is, oldest first.
    fn schedule_pending(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        loop {
            let Some(nodes) = &mut self.pools[p].nodes else { return };
            let Some(&id) = nodes.pending.front() else { return };
            if self.instances[id as usize].state == InstanceState::Stopped {
                nodes.pending.pop_front();
                continue;
            }
            let Some(node) = nodes.place() else { return };
            nodes.pending.pop_front();
            self.start_boot(now, InstanceId(id), Some(node), scheduler);
        }
    }

    fn on_node_ready(&mut self, now: SimTime, pool: PoolId, node: u32, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        if let Some(nodes) = &mut self.pools[p].nodes {
            let n = &mut nodes.nodes[node as usize];
            n.state = NodeState::Ready;
            n.empty_since = Some(now);
        }
        self.recorder.event(now, EventKind::NodeReady, p, node);
        self.schedule_pending(now, pool, scheduler);
    }

    /// A vertical resize: new instances get the new shape; the old ones are
    /// evicted one at a time, each replaced at once (a capacity dip while it boots).
    fn on_resize_due(&mut self, now: SimTime, pool: PoolId, k: u16, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        let r = self.pools[p].spec.resizes[usize::from(k)];
        let spec = &mut self.pools[p].spec;
        spec.instance_type = r.instance_type;
        spec.cores = r.cores;
        spec.workers = r.workers;
        spec.resources.cpu_request_milli = r.cpu_request_milli;
        if let Some(a) = &mut self.pools[p].autoscaler {
            a.resources.cpu_request_milli = r.cpu_request_milli;
        }
        self.recorder.event(now, EventKind::ResizeStarted, p, u32::from(k));
        let old: std::collections::VecDeque<InstanceId> = self.pools[p]
            .instances
            .iter()
            .copied()
            .filter(|id| {
                let i = &self.instances[id.0 as usize];
                matches!(i.state, InstanceState::Booting | InstanceState::Ready) && i.instance_type != r.instance_type
            })
            .collect();
        self.pools[p].to_replace = old;
        self.replace_next(now, pool, scheduler);
    }

    /// Evicts the next old instance of a resize and launches its replacement.
    fn replace_next(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        self.pools[p].resizing = None;
        while let Some(old) = self.pools[p].to_replace.pop_front() {
            if !matches!(
                self.instances[old.0 as usize].state,
                InstanceState::Booting | InstanceState::Ready
            ) {
                continue; // Already removed by scaling.
            }
            if !self.can_launch(p) {
                return; // No zone to launch in: keep the old one for now.
            }
            self.remove_instance(now, old, scheduler);
            let new = self.launch(now, pool, scheduler);
            self.pools[p].resizing = Some(new);
            return;
        }
    }

    /// KEDA's loop: activation from zero and the cooldown to zero; the HPA
    /// it created scales in between.
    fn on_keda_poll_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        let replicas = self.books[p].desired as i32;
        let queue_depths = self.queue_depths();
        let value = self.pools[p]
            .autoscaler
            .as_ref()
            .and_then(|a| a.trigger_value(now, &queue_depths));
        let label = self.pools[p]
            .autoscaler
            .as_ref()
            .and_then(|a| a.config.metrics.first())
            .map_or("-", |m| m.label());
        let Some(keda) = &mut self.pools[p].keda else { return };
        let polling = keda.spec.polling_interval;
        let action = keda.poll(now, value, replicas);
        let target = match action {
            KedaAction::Activate(n) | KedaAction::Deactivate(n) | KedaAction::RaiseToMin(n) => Some(n),
            KedaAction::Hold | KedaAction::CoolingDown => None,
        };
        if let Some(n) = target {
            let shown = value.map_or("-".to_string(), |v| (v as f64 / 1000.0).to_string());
            self.recorder.scaler_rows.push(ScalerLogRow {
                time: now,
                pool: p,
                current: i64::from(replicas),
                policies: format!("keda {label}={shown}"),
                desired: i64::from(n),
                reason: action.as_str(),
            });
            self.books[p].record_change(i64::from(replicas), i64::from(n));
            self.scale_pool(now, pool, n.max(0) as u32, None, scheduler);
        }
        if now + polling <= self.end {
            scheduler.schedule(now + polling, Event::KedaPollDue { pool });
        }
    }

    /// The cluster-autoscaler loop: nodes for pending pods, empty nodes removed.
    fn on_node_scan_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        let Some(nodes) = &mut self.pools[p].nodes else { return };
        let instances = &self.instances;
        let pending = nodes
            .pending
            .iter()
            .filter(|id| instances[**id as usize].state != InstanceState::Stopped)
            .count();
        let add = nodes.to_add(pending as u32);
        let mut launched = Vec::new();
        for _ in 0..add {
            let delay = nodes.spec.provisioning.sample(&mut self.boot_rng);
            nodes.nodes.push(Node {
                state: NodeState::Provisioning,
                pods: 0,
                launched_at: now,
                stopped_at: None,
                empty_since: None,
            });
            let node = (nodes.nodes.len() - 1) as u32;
            scheduler.schedule(now + SimDuration::from_secs_f64(delay), Event::NodeReady { pool, node });
            launched.push(node);
        }
        let removed = nodes.removable(now);
        for &node in &removed {
            let n = &mut nodes.nodes[node as usize];
            n.state = NodeState::Stopped;
            n.stopped_at = Some(now);
        }
        let scan = nodes.spec.scan_interval;
        for node in launched {
            self.recorder.event(now, EventKind::NodeLaunched, p, node);
        }
        for node in removed {
            self.recorder.event(now, EventKind::NodeRemoved, p, node);
        }
        if now + scan <= self.end {
            scheduler.schedule(now + scan, Event::NodeScanDue { pool });
        }
    }

    /// Puts a booting instance in service: in every rotation that serves its pool.
    fn make_ready(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let instance = &mut self.instances[id.0 as usize];
        instance.running_at.get_or_insert(now);
        instance.state = InstanceState::Ready;
        instance.ready_at = Some(now);
        let pool = instance.pool.0 as usize;
        let cores = u64::from(instance.cores);
        let book = &mut self.books[pool];
        book.booting -= 1;
        book.ready += 1;
        self.pools[pool].serving_cores.add(now, cores);
        if !self.spec.data.is_empty() {
            // Its local caches start empty; its pools open what the servers allow.
            let caches = self.data.caches.iter().map(|t| t.local_cache()).collect();
            let connections = (0..self.data.servers.len())
                .map(|s| match self.data.pool_size(s) {
                    Some(size) => ConnPool::new(self.data.servers[s].open(size)),
                    None => ConnPool::new(0),
                })
                .collect();
            let instance = &mut self.instances[id.0 as usize];
            instance.caches = caches;
            instance.connections = connections;
        }
        // A blue-green deploy's new set waits for its switch.
        if !self.instances[id.0 as usize].held {
            self.register(now, id);
        }
        if !self.open_faults.is_empty() {
            self.check_recovery(now, Some(id));
        }
        self.arm_random_faults(now, id, scheduler);
    }

    /// Registers a ready instance with every balancer that serves its pool.
    /// The initial fleet is in rotation from the start; later instances
    /// ramp up under slow start.
    fn register(&mut self, now: SimTime, id: InstanceId) {
        let instance = &self.instances[id.0 as usize];
        let (pool, ramp) = (instance.pool.0 as usize, instance.launched_at > SimTime::ZERO);
        for lb in &mut self.load_balancers {
            if let Some((weight, backup)) = lb.serves(pool) {
                lb.add(now, id, weight, backup, ramp);
            }
        }
    }

    fn on_instance_booted(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let instance = &mut self.instances[id.0 as usize];
        if instance.state != InstanceState::Booting {
            return; // Removed while booting.
        }
        instance.running_at = Some(now);
        let pool = instance.pool.0 as usize;
        if let Some(aws) = &mut self.pools[pool].aws {
            aws.settled(now, id.0);
        }
        let delay = self.pools[pool].spec.readiness_delay;
        if delay == SimDuration::ZERO {
            self.on_instance_ready_due(now, id, scheduler);
        } else {
            self.recorder.event(now, EventKind::InstanceRunning, pool, id.0);
            scheduler.schedule(now + delay, Event::InstanceReadyDue { instance: id });
        }
    }

    fn on_instance_ready_due(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        if self.instances[id.0 as usize].state != InstanceState::Booting {
            return;
        }
        self.make_ready(now, id, scheduler);
        self.start_up(now, id, scheduler);
        let instance = &self.instances[id.0 as usize];
        let pool = instance.pool.0 as usize;
        self.recorder.event(now, EventKind::InstanceReady, pool, id.0);
        if self.rollouts[pool].is_some() {
            self.rollout_step(now, PoolId(pool as u16), scheduler);
        }
        if self.pools[pool].resizing == Some(id) {
            self.replace_next(now, PoolId(pool as u16), scheduler);
        }
        if let Some(q) = self.consumer_queue[pool] {
            self.dispatch(now, q, scheduler);
        }
        let instance = &self.instances[id.0 as usize];
        if let Some(o) = instance.origin {
            let running = instance.running_at.unwrap_or(now);
            let scheduled = instance.scheduled_at.unwrap_or(instance.launched_at);
            self.recorder.capacity.push(CapacityRecord {
                pool,
                instance: id.0,
                decided_at: o.decided_at,
                ready_at: now,
                averaging_s: o.window.as_secs_f64() / 2.0,
                pipeline_delay_s: o.delay.as_secs_f64(),
                sync_wait_s: (o.decided_at - (o.observed_at + o.delay)).as_secs_f64(),
                node_wait_s: (scheduled - instance.launched_at).as_secs_f64(),
                boot_s: (running - scheduled).as_secs_f64(),
                readiness_s: (now - running).as_secs_f64(),
            });
        }
    }

    /// Changes a pool's size to `desired`: launches the difference, or
    /// removes instances in the order a ReplicaSet picks them (not ready
    /// before ready, then the most recently ready or launched first).
    /// Returns the instances launched or removed.
    fn scale_pool(
        &mut self,
        now: SimTime,
        pool: PoolId,
        desired: u32,
        origin: Option<ScaleUpOrigin>,
        scheduler: &mut Scheduler<Event>,
    ) -> Vec<InstanceId> {
        let p = pool.0 as usize;
        self.books[p].desired = desired;
        if !self.deploy_records.is_empty() {
            self.note_desired(now, p);
        }
        if self.rollouts[p].is_some() {
            // A deploy under way sizes both versions.
            return self.rollout_step(now, pool, scheduler);
        }
        let book = &self.books[p];
        let current = book.booting + book.ready;
        if desired > current {
            let mut launched = Vec::new();
            for _ in current..desired {
                if !self.can_launch(p) {
                    break; // Every zone of the pool is out: it stays short.
                }
                let id = self.launch(now, pool, scheduler);
                self.instances[id.0 as usize].origin = origin;
                launched.push(id);
            }
            return launched;
        }
        let mut candidates: Vec<InstanceId> = self.pools[p]
            .instances
            .iter()
            .copied()
            .filter(|id| {
                matches!(
                    self.instances[id.0 as usize].state,
                    InstanceState::Booting | InstanceState::Ready
                )
            })
            .collect();
        let spec = &self.pools[p].spec;
        if spec.termination.is_empty() {
            candidates.sort_by_key(|id| {
                let i = &self.instances[id.0 as usize];
                let ready = i.state == InstanceState::Ready;
                let since = i.ready_at.unwrap_or(i.launched_at);
                (ready, std::cmp::Reverse(since), std::cmp::Reverse(id.0))
            });
            candidates.truncate((current - desired) as usize);
        } else {
            // The Auto Scaling group's termination policies.
            let group: Vec<Candidate> = candidates
                .iter()
                .map(|id| {
                    let i = &self.instances[id.0 as usize];
                    let m = spec.mixed.as_ref().map(|m| self.member(m, i));
                    Candidate {
                        id: id.0,
                        zone: i.zone,
                        market: self.spec.instance_types[i.instance_type].market,
                        slot: m.map_or(0, |m| m.slot),
                        launched_at: i.launched_at,
                        version: i.version,
                    }
                })
                .collect();
            let chosen = choose_terminations(
                &group,
                (current - desired) as usize,
                &spec.termination,
                spec.mixed.as_ref(),
                now,
            );
            candidates = chosen.into_iter().map(InstanceId).collect();
        }
        for &id in &candidates {
            self.remove_instance(now, id, scheduler);
        }
        candidates
    }

    /// Takes an instance out: a booting one stops at once; a ready one
    /// leaves every rotation and drains until idle or its grace period ends.
    fn remove_instance(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let grace = self.pools[self.instances[id.0 as usize].pool.0 as usize]
            .spec
            .termination_grace;
        self.drain_within(now, id, grace, scheduler);
    }

    /// `remove_instance` with a given grace period (a spot notice).
    fn drain_within(&mut self, now: SimTime, id: InstanceId, grace: SimDuration, scheduler: &mut Scheduler<Event>) {
        let instance = &mut self.instances[id.0 as usize];
        let pool = instance.pool.0 as usize;
        if instance.state == InstanceState::Booting {
            self.stop_instance(now, id, scheduler);
            return;
        }
        instance.state = InstanceState::Draining;
        let idle = instance.is_idle();
        let book = &mut self.books[pool];
        book.ready -= 1;
        book.draining += 1;
        for lb in &mut self.load_balancers {
            lb.remove(id);
        }
        self.recorder.event(now, EventKind::InstanceDraining, pool, id.0);
        if idle {
            self.stop_instance(now, id, scheduler);
        } else {
            scheduler.schedule(now + grace, Event::DrainDeadlineDue { instance: id });
        }
    }

    fn on_drain_deadline_due(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        if self.instances[id.0 as usize].state == InstanceState::Draining {
            self.stop_drained(now, id, scheduler);
        }
    }

    /// Stops an instance: it stops billing, and every request it still
    /// holds is lost (retried by the balancer if its policy allows, counted
    /// as failed otherwise, unless its client already gave up). It stays
    /// registered with the balancers until they or its controller notice.
    fn stop_instance(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let instance = &self.instances[id.0 as usize];
        let pool = instance.pool.0 as usize;
        let (state, cores, busy, waiting) = (instance.state, instance.cores, instance.busy_cores, instance.waiting());
        if !instance.is_idle() {
            for r in self.requests.held_by(id.0) {
                let request = *self.requests.get(r);
                if request.message != NO_MESSAGE {
                    // A job's message waits for its visibility timeout.
                    let q = self.consumer_queue[pool].expect("a job runs on a consumer pool");
                    self.data.queues[q].abandon(now);
                } else if request.state != RequestState::Abandoned {
                    self.held_try_failed(now, &request, id, balancing::TryFailure::Refused);
                }
                self.release_fills(now, r);
                self.requests.remove(r);
            }
        }
        // Its connections close; its local caches are lost.
        let instance = &mut self.instances[id.0 as usize];
        for (s, pool) in instance.connections.iter().enumerate() {
            self.data.servers[s].close(pool.size);
        }
        self.data.gather_local(instance);
        let book = &mut self.books[pool];
        match state {
            InstanceState::Booting => book.booting -= 1,
            InstanceState::Ready => book.ready -= 1,
            InstanceState::Draining => book.draining -= 1,
            InstanceState::Stopped => unreachable!("instance {} stopped twice", id.0),
        }
        book.live.set(now, u64::from(book.booting + book.ready + book.draining));
        let p = &mut self.pools[pool];
        if matches!(state, InstanceState::Ready | InstanceState::Draining) {
            p.serving_cores.sub(now, u64::from(cores));
        }
        p.busy_cores.sub(now, u64::from(busy));
        p.waiting.sub(now, u64::from(waiting));
        let node = self.instances[id.0 as usize].node;
        self.instances[id.0 as usize].stop(now);
        self.held_changed(id);
        self.recorder.event(now, EventKind::InstanceStopped, pool, id.0);
        if let (Some(node), Some(nodes)) = (node, &mut self.pools[pool].nodes) {
            nodes.release(now, node);
            self.schedule_pending(now, PoolId(pool as u16), scheduler);
        }
        if let Some(aws) = &mut self.pools[pool].aws {
            aws.settled(now, id.0);
        }
    }

    fn on_metrics_scrape_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = &self.pools[pool.0 as usize];
        let Some(autoscaler) = &p.autoscaler else { return };
        let resolution = autoscaler.pipeline.resolution;
        let counters: Vec<PodCounters> = p
            .instances
            .iter()
            .map(|id| (id, &self.instances[id.0 as usize]))
            .filter(|(_, i)| i.state != InstanceState::Stopped)
            .map(|(id, i)| PodCounters {
                instance: id.0,
                running_since: i.running_at,
                busy_area: i.busy_core_time.area_until(now),
                outstanding_area: i.outstanding_time.area_until(now),
                routed: i.routed,
            })
            .collect();
        let routed = p.routed;
        let p = &mut self.pools[pool.0 as usize];
        if let Some(autoscaler) = &mut p.autoscaler {
            autoscaler.pipeline.scrape(now, &counters, routed);
        }
        if now + resolution <= self.end {
            scheduler.schedule(now + resolution, Event::MetricsScrapeDue { pool });
        }
    }

    fn on_scheduled_action_due(&mut self, now: SimTime, pool: PoolId, k: u16, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        let action = self.pools[p].spec.schedule[usize::from(k)];
        self.recorder.event(now, EventKind::ScheduledAction, p, u32::from(k));
        let current = self.books[p].desired as i32;
        let pool_state = &mut self.pools[p];
        let size = if let Some(a) = &mut pool_state.autoscaler {
            a.set_bounds(action.min, action.max);
            let s = &a.config.spec;
            action.size_after(current, s.min_replicas, s.max_replicas, false)
        } else if let Some(a) = &mut pool_state.aws {
            a.set_bounds(action.min, action.max);
            action.size_after(current, a.spec.min_size as i32, a.spec.max_size as i32, true)
        } else {
            action.desired.unwrap_or(current)
        };
        if size != current {
            self.scale_pool(now, pool, size.max(0) as u32, None, scheduler);
        }
        if let Some(every) = action.every
            && now + every <= self.end
        {
            scheduler.schedule(now + every, Event::ScheduledActionDue { pool, action: k });
        }
    }

    /// A CloudWatch minute: per-instance samples of the warm instances, then
    /// the group's policies.
    fn on_aws_minute_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        let Some(aws) = &self.pools[p].aws else { return };
        let warmup = aws.spec.instance_warmup;
        let mut sample = aws::MinuteSample {
            end: now,
            ..aws::MinuteSample::default()
        };
        let (mut warm, mut launching) = (0i64, 0i64);
        let mut busy_cores = 0.0;
        let mut routed = 0u64;
        for id in &self.pools[p].instances {
            let i = &mut self.instances[id.0 as usize];
            match i.state {
                InstanceState::Stopped => continue,
                InstanceState::Booting => launching += 1,
                InstanceState::Ready => sample.in_service += 1,
                InstanceState::Draining => {}
            }
            let busy = i.busy_core_time.area_until(now);
            let held = i.outstanding_time.area_until(now);
            let (busy0, routed0, held0) = i.minute_mark;
            i.minute_mark = (busy, i.routed, held);
            busy_cores += (busy - busy0) as f64 / 60e9;
            routed += i.routed - routed0;
            // In service and past its warm-up for the whole minute.
            let is_warm = i.state == InstanceState::Ready
                && i.running_at
                    .is_some_and(|r| r + warmup + SimDuration::from_secs(60) <= now);
            if is_warm {
                warm += 1;
                sample
                    .cpu
                    .push((busy - busy0) as f64 / (f64::from(i.cores) * 60e9) * 100.0);
                sample.requests.push((i.routed - routed0) as f64);
                sample.connections.push((held - held0) as f64 / 60e9);
            }
        }
        sample.queue_visible = self.data.queues.iter().map(|q| q.visible() as f64).collect();
        let desired = i64::from(self.books[p].desired);
        let group = aws::GroupState {
            desired,
            warm,
            warming: desired - warm,
            launching,
        };
        let aws = self.pools[p].aws.as_mut().expect("checked");
        aws.record_minute(sample);
        aws.record_load(now, routed as f64, busy_cores);
        let (new_desired, simple, row) = aws.evaluate(now, p, group);
        let cooldown = simple.map(|i| aws.cooldown_of(i));
        if row.desired != row.current || row.reason != "NoAlarm" {
            self.recorder.scaler_rows.push(row);
        }
        if new_desired != desired {
            let max = self.pools[p].aws.as_ref().map_or(0, |a| a.spec.max_size);
            let book = &mut self.books[p];
            book.record_change(desired, new_desired);
            book.at_max.set(now, u64::from(new_desired == max));
            // The newest minute CloudWatch had: it ended `metric_delay` ago.
            let delay = self.pools[p]
                .aws
                .as_ref()
                .map_or(SimDuration::ZERO, |a| a.spec.metric_delay);
            let origin = ScaleUpOrigin {
                decided_at: now,
                observed_at: SimTime(now.0.saturating_sub(delay.0)),
                window: SimDuration::from_secs(60),
                delay,
            };
            let changed = self.scale_pool(now, pool, new_desired as u32, Some(origin), scheduler);
            if let (Some(cooldown), Some(aws)) = (cooldown, self.pools[p].aws.as_mut()) {
                // Instances stopped inside the scale call (idle ones, at once)
                // have settled already: the activity waits only for the rest.
                let instances = &self.instances;
                let unsettled = changed
                    .iter()
                    .filter(|id| instances[id.0 as usize].state != InstanceState::Stopped)
                    .map(|id| id.0)
                    .collect();
                aws.start_activity(now, unsettled, cooldown);
            }
        }
        if now + SimDuration::from_secs(60) <= self.end {
            scheduler.schedule(now + SimDuration::from_secs(60), Event::AwsMinuteDue { pool });
        }
    }

    fn on_autoscaler_sync_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        let views: Vec<PodView> = self.pools[p]
            .instances
            .iter()
            .map(|id| &self.instances[id.0 as usize])
            .zip(&self.pools[p].instances)
            .filter(|(i, _)| i.state != InstanceState::Stopped)
            .map(|(i, id)| PodView {
                instance: id.0,
                pod: hpa::Pod {
                    phase: if i.running_at.is_some() {
                        PodPhase::Running
                    } else {
                        PodPhase::Pending
                    },
                    deleting: i.state == InstanceState::Draining,
                    ready: Some(ReadyCondition {
                        ready: i.state == InstanceState::Ready,
                        last_transition: i.ready_at.unwrap_or(i.launched_at),
                    }),
                    start_time: Some(i.launched_at),
                    request_milli: 0,
                },
            })
            .collect();
        let current = self.books[p].desired as i32;
        let queue_depths = self.queue_depths();
        let Some(autoscaler) = &mut self.pools[p].autoscaler else {
            return;
        };
        let sync = autoscaler.config.spec.controller.sync_period;
        let max = autoscaler.config.spec.max_replicas;
        let record = autoscaler.evaluate(now, p, &views, current, &queue_depths);
        let d = record.decision;
        let noteworthy = d.rescale()
            || (d.reason != hpa::Reason::ScalingDisabled
                && (d.proposed != Some(current) || d.reason != hpa::Reason::DesiredWithinRange));
        if noteworthy {
            self.recorder.decisions.push(record);
        }
        if d.rescale() {
            let book = &mut self.books[p];
            book.record_change(i64::from(current), i64::from(d.desired));
            book.at_max.set(now, u64::from(d.desired == max));
            let origin = self.pools[p].autoscaler.as_ref().and_then(|a| {
                let observed_at = a.pipeline.newest_visible(now)?;
                Some(ScaleUpOrigin {
                    decided_at: now,
                    observed_at,
                    window: a.pipeline.resolution,
                    delay: a.pipeline.delay,
                })
            });
            self.scale_pool(now, pool, d.desired.max(0) as u32, origin, scheduler);
        } else if self.books[p].at_max.value() != u64::from(current == max) {
            self.books[p].at_max.set(now, u64::from(current == max));
        }
        if now + sync <= self.end {
            scheduler.schedule(now + sync, Event::AutoscalerSyncDue { pool });
        }
    }

    fn on_arrival_due(&mut self, now: SimTime, scheduler: &mut Scheduler<Event>) {
        let class = self.classes.pick(&mut self.class_rng);
        let client = self.client_rng.below(self.spec.traffic.clients) as u32;
        let key = match &self.keys {
            Some(k) => k.pick(&mut self.key_rng),
            None => 0,
        };
        let demand_s = self.spec.traffic.classes[class].cpu.sample(&mut self.service_rng);
        if let Some(t) = self.arrivals.next(&mut self.arrival_rng) {
            scheduler.schedule(SimTime::ZERO + SimDuration::from_secs_f64(t), Event::ArrivalDue);
        }
        self.recorder.arrived(now);
        let mut request = Request::new(now, demand_s, client, key, class as u16);
        request.lb = self.spec.traffic.target as u8;
        if !self.geo_route(now, &mut request) {
            return;
        }
        if let Some(tier) = self.spec.traffic.classes[class].data.as_ref().and_then(|p| p.edge) {
            return self.at_edge(now, request, tier, scheduler);
        }
        let id = self.requests.insert(request);
        self.route(now, id, scheduler);
    }

    #[inline]
    fn start_service(
        &mut self,
        now: SimTime,
        instance: InstanceId,
        id: RequestId,
        speed: f64,
        scheduler: &mut Scheduler<Event>,
    ) {
        let request = self.requests.get_mut(id);
        request.service_start = now;
        let service = SimDuration::from_secs_f64(request.demand_s / speed);
        let generation = request.generation;
        scheduler.schedule(
            now + service,
            Event::ServiceCompleted {
                instance,
                request: id,
                generation,
            },
        );
    }

    fn on_service_completed(
        &mut self,
        now: SimTime,
        instance_id: InstanceId,
        id: RequestId,
        generation: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        if !self.requests.is_current(id, generation) {
            return; // Its instance was stopped and the request already accounted for.
        }
        let request = *self.requests.get(id);
        if request.message != NO_MESSAGE {
            return self.on_job_done(now, instance_id, id, scheduler);
        }
        if !self.spec.data.is_empty() {
            self.data.app_ns += u128::from((now - request.reached).0);
            if self.spec.traffic.classes[usize::from(request.class)].data.is_some() {
                self.after_compute(now, instance_id, id, scheduler);
                return;
            }
        }
        if request.state == RequestState::Working {
            self.recorder.completed(
                now,
                request.arrival,
                request.reached,
                request.service_start,
                usize::from(request.class),
            );
            self.lb_responses
                [usize::from(request.lb) * self.spec.traffic.classes.len() + usize::from(request.class)] += 1;
        }
        self.requests.remove(id);
        self.free_core(now, instance_id, scheduler);
        self.free_worker(now, instance_id, scheduler);
    }

    /// An instance's held requests (working or queued) changed: the
    /// balancers counting connections learn it (every change is reported).
    #[inline]
    fn held_changed(&mut self, id: InstanceId) {
        let held = self.instances[id.0 as usize].outstanding();
        for lb in &mut self.load_balancers {
            lb.held(id, held);
        }
    }

    /// A request stopped computing: its core goes to the first request waiting for one.
    #[inline]
    fn free_core(&mut self, now: SimTime, instance_id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let instance = &mut self.instances[instance_id.0 as usize];
        let next = instance.release_core(now);
        let speed = instance.speed;
        let pool = &mut self.pools[instance.pool.0 as usize];
        match next {
            Some(next) => {
                pool.waiting.sub(now, 1);
                self.start_service(now, instance_id, next, speed, scheduler);
            }
            None => pool.busy_cores.sub(now, 1),
        }
    }

    /// A request left its instance: its worker goes to the first live
    /// request of the accept queue, and a draining instance left idle stops.
    #[inline]
    fn free_worker(&mut self, now: SimTime, instance_id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let requests = &self.requests;
        let instance = &mut self.instances[instance_id.0 as usize];
        let promoted = instance.release_worker(now, |r, g| {
            requests.is_current(r, g) && requests.get(r).state == RequestState::Queued
        });
        let (speed, state, idle, pool) = (instance.speed, instance.state, instance.is_idle(), instance.pool);
        self.held_changed(instance_id);
        let pool = &mut self.pools[pool.0 as usize];
        if let Some((next, started)) = promoted {
            // Out of the accept queue: it waits for a core unless it got one.
            self.requests.get_mut(next).state = RequestState::Working;
            if started {
                pool.waiting.sub(now, 1);
                pool.busy_cores.add(now, 1);
                self.start_service(now, instance_id, next, speed, scheduler);
            }
        }
        if state == InstanceState::Draining && idle {
            self.stop_instance(now, instance_id, scheduler);
        }
    }

    fn on_deadlines_due(&mut self, now: SimTime, pool_id: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = pool_id.0 as usize;
        while let Some(&(deadline, id, generation)) = self.pools[p].deadlines.front() {
            if self.requests.settled(id, generation) {
                // Most requests finish long before their deadline: drop them
                // here so the next event waits for the oldest request still
                // pending, not for every request's deadline in turn.
                self.pools[p].deadlines.pop_front();
                continue;
            }
            if deadline > now {
                scheduler.schedule(deadline, Event::DeadlinesDue { pool: pool_id });
                break;
            }
            self.pools[p].deadlines.pop_front();
            self.recorder.timed_out(now);
            // The server keeps working on one it holds a worker for; the
            // response will be discarded.
            self.abandon(now, id);
        }
    }

    fn on_interval_due(&mut self, now: SimTime, scheduler: &mut Scheduler<Event>) {
        self.close_interval(now);
        if now < self.end {
            scheduler.schedule(self.next_interval_end(now), Event::IntervalDue);
        }
    }

    fn close_interval(&mut self, now: SimTime) {
        let start = self.recorder.interval_start();
        if now <= start {
            return;
        }
        let instances = &self.instances;
        let rows = self
            .pools
            .iter()
            .zip(&mut self.books)
            .map(|(pool, book)| {
                let busy = pool.busy_cores.area_until(now);
                let serving = pool.serving_cores.area_until(now);
                let waiting = pool.waiting.area_until(now);
                let (b0, s0, w0) = book.marks;
                book.marks = (busy, serving, waiting);
                let offered = pool.offered_work_s - std::mem::replace(&mut book.offered_mark, pool.offered_work_s);
                let span = (now - start).0 as f64;
                let (nodes, pods_pending) = pool.nodes.as_ref().map_or((0, 0), |n| {
                    (
                        n.live(),
                        n.pending
                            .iter()
                            .filter(|id| instances[**id as usize].state != InstanceState::Stopped)
                            .count() as u32,
                    )
                });
                PoolRow {
                    nodes,
                    pods_pending,
                    booting: book.booting,
                    ready: book.ready,
                    draining: book.draining,
                    cpu_utilization: if serving > s0 {
                        (busy - b0) as f64 / (serving - s0) as f64
                    } else {
                        f64::NAN
                    },
                    busy_cores: (busy - b0) as f64 / span,
                    offered_cores: offered / (span / 1e9),
                    queue_length_mean: (waiting - w0) as f64 / span,
                }
            })
            .collect();
        let mid = (start.as_secs_f64() + now.as_secs_f64()) / 2.0;
        let target = self.arrivals.curve().rate_at(mid);
        let cost = self.cost_until(now, None);
        let data = (!self.spec.data.is_empty()).then(|| self.data_row(now, start));
        self.recorder.close_interval(now, target, rows, cost, data);
    }

    /// The data tier's figures for the interval from `start` to `now`,
    /// resetting its per-interval counts.
    fn data_row(&mut self, now: SimTime, start: SimTime) -> DataRow {
        let completed = self.recorder.current().completed.max(1) as f64;
        let per_request = |ns: u128| ns as f64 / 1e6 / completed;
        // Local caches live on the instances: gather their counts.
        for instance in &mut self.instances {
            self.data.gather_local(instance);
        }
        let span = (now - start).0 as f64;
        let data = &mut self.data;
        let caches = data
            .caches
            .iter_mut()
            .map(|tier| {
                for node in &mut tier.nodes {
                    tier.interval.stats.add(&node.take_stats());
                }
                if let Some(shield) = &mut tier.shield {
                    tier.interval.shield.add(&shield.take_stats());
                }
                std::mem::take(&mut tier.interval)
            })
            .collect();
        let databases = data
            .databases
            .iter_mut()
            .map(|db| {
                let lag_ms: Vec<f64> = db.replication.iter_mut().map(|r| r.lag(now).as_millis_f64()).collect();
                let lag_max_ms = db
                    .lag_max
                    .iter_mut()
                    .zip(&lag_ms)
                    .map(|(max, end)| (std::mem::take(max) as f64 / 1e6).max(*end))
                    .collect();
                DbRow {
                    counts: std::mem::take(&mut db.interval),
                    lag_ms,
                    lag_max_ms,
                }
            })
            .collect();
        let server_utilization = data
            .servers
            .iter_mut()
            .map(|s| {
                let area = s.busy_time.area_until(now);
                let used = area - std::mem::replace(&mut s.busy_mark, area);
                used as f64 / (span * f64::from(s.threads))
            })
            .collect();
        let queues = data
            .queues
            .iter_mut()
            .map(|q| {
                let (depth, processing) = (q.depth.area_until(now), q.processing.area_until(now));
                let (d0, p0) = std::mem::replace(&mut q.marks, (depth, processing));
                let depth_now = q.len();
                let pool = &self.pools[q.spec.consumers];
                let serving = pool.serving_cores.area_until(now);
                let workers_per_core = f64::from(pool.spec.workers) / f64::from(pool.spec.cores);
                let book = &mut self.books[q.spec.consumers];
                let serving_cores = (serving - book.queue_mark) as f64 / span;
                book.queue_mark = serving;
                QueueRow {
                    counts: std::mem::take(&mut q.interval),
                    depth: depth_now,
                    depth_mean: (depth - d0) as f64 / span,
                    depth_max: std::mem::replace(&mut q.depth_max, depth_now),
                    oldest_age_s: q.oldest_age(now).as_secs_f64(),
                    processing_mean: (processing - p0) as f64 / span,
                    workers_mean: serving_cores * workers_per_core,
                }
            })
            .collect();
        DataRow {
            queues,
            app_ms: per_request(std::mem::take(&mut data.app_ns)),
            tier_ms: data
                .tier_ns
                .iter_mut()
                .map(|ns| per_request(std::mem::take(ns)))
                .collect(),
            caches,
            databases,
            server_utilization,
            server_queue: data.servers.iter().map(|s| s.queued()).collect(),
            server_load: data
                .servers
                .iter_mut()
                .map(|s| std::mem::take(&mut s.interval))
                .collect(),
        }
    }

    /// Cumulative cost at `now`, of one pool or of all.
    fn cost_until(&self, now: SimTime, pool: Option<usize>) -> f64 {
        let mut total = 0.0;
        let billing = self.spec.billing;
        // Pools on a node pool pay for their nodes, not their pods.
        for (p, pool_state) in self.pools.iter().enumerate() {
            let Some(nodes) = &pool_state.nodes else { continue };
            if pool.is_some_and(|only| only != p) {
                continue;
            }
            let price = self.spec.instance_types[nodes.spec.instance_type].hourly_usd;
            for n in &nodes.nodes {
                total += price / 3600.0 * billing.billed_seconds(n.launched_at, n.stopped_at, now);
            }
        }
        for instance in &self.instances {
            if pool.is_some_and(|p| p != instance.pool.0 as usize) {
                continue;
            }
            if self.pools[instance.pool.0 as usize].nodes.is_some() {
                continue;
            }
            let price = self.spec.instance_types[instance.instance_type].hourly_usd;
            total += price / 3600.0
                * self
                    .spec
                    .billing
                    .billed_seconds(instance.launched_at, instance.stopped_at, now);
        }
        total
    }

    /// A mixed group's instances and cost per instance type, in the
    /// catalogue's order; empty for other pools.
    fn type_costs(&self, now: SimTime, pool: usize) -> Vec<TypeCost> {
        if self.pools[pool].spec.mixed.is_none() {
            return Vec::new();
        }
        let span_ns = now.0.max(1) as f64;
        let mut rows: Vec<(usize, TypeCost)> = Vec::new();
        for id in &self.pools[pool].instances {
            let i = &self.instances[id.0 as usize];
            let t = &self.spec.instance_types[i.instance_type];
            let k = match rows.iter().position(|(k, _)| *k == i.instance_type) {
                Some(k) => k,
                None => {
                    rows.push((
                        i.instance_type,
                        TypeCost {
                            instance_type: t.name.clone(),
                            market: t.market,
                            hourly_usd: t.hourly_usd,
                            launched: 0,
                            instances_mean: 0.0,
                            cost_usd: 0.0,
                        },
                    ));
                    rows.len() - 1
                }
            };
            let row = &mut rows[k].1;
            row.launched += 1;
            let until = i.stopped_at.map_or(now, |s| s.min(now));
            row.instances_mean += until.saturating_sub(i.launched_at).0 as f64 / span_ns;
            row.cost_usd += t.hourly_usd / 3600.0 * self.spec.billing.billed_seconds(i.launched_at, i.stopped_at, now);
        }
        rows.sort_by_key(|(k, _)| *k);
        rows.into_iter().map(|(_, r)| r).collect()
    }

    /// Closes the books at the time the run reached and builds the result.
    pub fn finish(mut self, outcome: RunOutcome) -> RunResult {
        let now = outcome.reached;
        self.close_interval(now);
        let span_ns = now.0.max(1) as f64;
        let rec = &self.recorder;
        let latency = rec.latency();
        let in_flight = rec.in_system.value();
        let requests = RequestCounts::new(&rec.totals, in_flight);
        assert!(requests.conserved(), "request conservation broken: {requests:?}");
        let pools: Vec<PoolSummary> = self
            .pools
            .iter()
            .enumerate()
            .map(|(i, pool)| {
                let busy = pool.busy_cores.area_until(now);
                let serving = pool.serving_cores.area_until(now);
                let book = &self.books[i];
                PoolSummary {
                    name: pool.spec.name.clone(),
                    instance_type: self.spec.instance_types[pool.spec.instance_type].name.clone(),
                    instances_initial: pool.spec.count,
                    instances_peak: book.peak,
                    instances_mean: book.live.area_until(now) as f64 / span_ns,
                    cpu_utilization: if serving > 0 {
                        busy as f64 / serving as f64
                    } else {
                        f64::NAN
                    },
                    queue_length_mean: pool.waiting.area_until(now) as f64 / span_ns,
                    cost_usd: self.cost_until(now, Some(i)),
                    by_instance_type: self.type_costs(now, i),
                    nodes: pool.nodes.as_ref().map(|n| {
                        // Peak nodes alive: replay launches and stops in time order.
                        let mut changes: Vec<(SimTime, i32)> = n
                            .nodes
                            .iter()
                            .flat_map(|node| {
                                std::iter::once((node.launched_at, 1)).chain(node.stopped_at.map(|t| (t, -1)))
                            })
                            .collect();
                        changes.sort();
                        let (mut live, mut peak) = (0i32, 0i32);
                        for (_, d) in changes {
                            live += d;
                            peak = peak.max(live);
                        }
                        NodeSummary {
                            instance_type: self.spec.instance_types[n.spec.instance_type].name.clone(),
                            pods_per_node: n.spec.pods_per_node,
                            initial: n.spec.initial,
                            peak: peak as u32,
                            launched: n.nodes.len() as u32 - n.spec.initial,
                            removed: n.nodes.iter().filter(|node| node.stopped_at.is_some()).count() as u32,
                        }
                    }),
                    scaling: {
                        let bounds = match (&pool.autoscaler, &pool.aws) {
                            (Some(_), _) if pool.keda.is_some() => pool
                                .keda
                                .as_ref()
                                .map(|k| ("keda", k.spec.min_replica_count, k.spec.max_replica_count)),
                            (Some(a), _) => {
                                Some(("kubernetes_hpa", a.config.spec.min_replicas, a.config.spec.max_replicas))
                            }
                            (None, Some(a)) => {
                                Some(("aws_auto_scaling", a.spec.min_size as i32, a.spec.max_size as i32))
                            }
                            (None, None) => None,
                        };
                        bounds.map(|(autoscaler, min_replicas, max_replicas)| ScalingSummary {
                            autoscaler,
                            scale_ups: book.scale_ups,
                            scale_downs: book.scale_downs,
                            direction_changes: book.direction_changes,
                            direction_changes_per_hour: f64::from(book.direction_changes) / (span_ns / 3.6e12),
                            time_at_max_s: book.at_max.area_until(now) as f64 / 1e9,
                            min_replicas,
                            max_replicas,
                            time_to_capacity: CapacityStats::of(
                                &rec.capacity.iter().filter(|c| c.pool == i).collect::<Vec<_>>(),
                            ),
                        })
                    },
                }
            })
            .collect();
        let cost = self.cost_summary(now, &pools, &requests);
        let (regions, populations) = self.region_summaries();
        let region_names: Vec<String> = regions.iter().map(|r| r.name.clone()).collect();
        let summary = RunSummary {
            capsim_version: env!("CARGO_PKG_VERSION"),
            scenario: self.spec.name.clone(),
            seed: self.seed,
            replication: self.replication,
            duration_s: self.spec.duration.as_secs_f64(),
            simulated_s: now.as_secs_f64(),
            warmup_s: self.spec.warmup.as_secs_f64(),
            interval_s: self.spec.interval.as_secs_f64(),
            events: outcome.events,
            rejected_arrival_draws: self.arrivals.wasted,
            stop_reason: outcome.stop_reason,
            throughput_rps: requests.completed as f64 / now.as_secs_f64().max(f64::MIN_POSITIVE),
            requests,
            in_system_mean: rec.in_system.area_until(now) as f64 / span_ns,
            latency: latency.summary(),
            queueing: rec.queueing.summary(),
            service: rec.service.summary(),
            classes: self
                .spec
                .traffic
                .classes
                .iter()
                .zip(&rec.class_latency)
                .map(|(class, latency)| ClassSummary {
                    name: class.name.clone(),
                    latency: latency.summary(),
                })
                .collect(),
            pools,
            cost,
            slo: self.spec.slo.map(|slo| {
                let warmup = SimTime::ZERO + self.spec.warmup;
                let measured = rec.rows.iter().filter(|r| r.start >= warmup);
                let (mut intervals, mut violated, mut total_s, mut lost_s) = (0u64, 0u64, 0.0, 0.0);
                for row in measured {
                    let span = (row.end - row.start).as_secs_f64();
                    intervals += 1;
                    total_s += span;
                    if row.slo_violated == Some(true) {
                        violated += 1;
                        lost_s += span;
                    }
                }
                SloSummary {
                    latency_percentile: slo.latency.map(|(q, _)| q * 100.0),
                    latency_threshold_ms: slo.latency.map(|(_, t)| t.as_millis_f64()),
                    error_rate_max: slo.error_rate_max,
                    intervals,
                    intervals_violated: violated,
                    minutes_lost: lost_s / 60.0,
                    // No measured interval: nothing to be compliant with.
                    compliance: if total_s > 0.0 {
                        1.0 - lost_s / total_s
                    } else {
                        f64::NAN
                    },
                }
            }),
            faults: self.fault_summaries(now),
            random_faults: self.random_fault_summaries(now),
            deploys: self.deploy_summaries(now),
            load_balancers: self.lb_summaries(),
            regions,
            populations,
            data: (!self.spec.data.is_empty()).then(|| {
                let names: Vec<String> = self.spec.pools.iter().map(|p| p.name.clone()).collect();
                self.data.summarize(
                    &rec.rows,
                    SimTime::ZERO + self.spec.warmup,
                    &names,
                    &self.spec.traffic,
                    &region_names,
                )
            }),
        };
        let faults = self.fault_records.iter().map(|r| (r.at, r.kind.name())).collect();
        let instances = self
            .instances
            .iter()
            .map(|i| {
                let t = &self.spec.instance_types[i.instance_type];
                InstanceRecord {
                    pool: i.pool.0 as usize,
                    instance_type: t.name.clone(),
                    market: t.market,
                    zone: i.zone,
                }
            })
            .collect();
        let balancer_requests = self
            .load_balancers
            .iter()
            .map(|lb| lb.counters.tries - lb.counters.retries)
            .collect();
        let recorder = self.recorder;
        RunResult {
            balancer_requests,
            faults,
            instances,
            summary,
            rows: recorder.rows,
            events: recorder.events,
            decisions: recorder.decisions,
            capacity: recorder.capacity,
            scaler_rows: recorder.scaler_rows,
            latency,
            autoscalers: self
                .spec
                .pools
                .iter()
                .filter_map(|p| p.autoscaler.clone().map(|a| (p.name.clone(), a)))
                .collect(),
            pool_names: self.spec.pools.iter().map(|p| p.name.clone()).collect(),
        }
    }
}

impl Model for System {
    type Event = Event;

    fn wasted_work(&self) -> u64 {
        self.arrivals.wasted
    }

    /// Requests stored, and the deadlines kept for them (a pool keeps one
    /// per request admitted within its timeout, answered or not).
    fn held(&self) -> u64 {
        let deadlines: usize = self.pools.iter().map(|p| p.deadlines.len()).sum::<usize>()
            + self.try_deadlines.iter().map(|d| d.len()).sum::<usize>();
        (self.requests.live() + deadlines) as u64
    }

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event, scheduler: &mut Scheduler<Event>) {
        match event {
            Event::ArrivalDue => self.on_arrival_due(now, scheduler),
            Event::ServiceCompleted {
                instance,
                request,
                generation,
            } => self.on_service_completed(now, instance, request, generation, scheduler),
            Event::DeadlinesDue { pool } => self.on_deadlines_due(now, pool, scheduler),
            Event::InstanceBooted { instance } => self.on_instance_booted(now, instance, scheduler),
            Event::InstanceReadyDue { instance } => self.on_instance_ready_due(now, instance, scheduler),
            Event::DrainDeadlineDue { instance } => self.on_drain_deadline_due(now, instance, scheduler),
            Event::MetricsScrapeDue { pool } => self.on_metrics_scrape_due(now, pool, scheduler),
            Event::AutoscalerSyncDue { pool } => self.on_autoscaler_sync_due(now, pool, scheduler),
            Event::AwsMinuteDue { pool } => self.on_aws_minute_due(now, pool, scheduler),
            Event::ScheduledActionDue { pool, action } => self.on_scheduled_action_due(now, pool, action, scheduler),
            Event::NodeReady { pool, node } => self.on_node_ready(now, pool, node, scheduler),
            Event::NodeScanDue { pool } => self.on_node_scan_due(now, pool, scheduler),
            Event::KedaPollDue { pool } => self.on_keda_poll_due(now, pool, scheduler),
            Event::ResizeDue { pool, resize } => self.on_resize_due(now, pool, resize, scheduler),
            Event::ServerDone {
                server,
                request,
                generation,
            } => self.on_server_done(now, server, request, generation, scheduler),
            Event::DataStepDue { request, generation } => self.on_data_step_due(now, request, generation, scheduler),
            Event::ConnectionWaitExpired {
                request,
                generation,
                pooler,
            } => self.on_connection_wait_expired(now, request, generation, pooler, scheduler),
            Event::DbFaultDue { database, fault, end } => self.on_db_fault(now, database, fault, end, scheduler),
            Event::CacheFaultDue { tier, fault, end } => self.on_cache_fault(now, tier, fault, end, scheduler),
            Event::VisibilityDue { queue } => self.on_visibility_due(now, usize::from(queue), scheduler),
            Event::EdgeAnswered { arrival, class } => self.recorder.responded(now, arrival, usize::from(class)),
            Event::EdgeForwardDue { request, generation } => {
                self.on_edge_forward_due(now, request, generation, scheduler)
            }
            Event::FaultDue { fault } => self.on_fault_due(now, fault, scheduler),
            Event::ReplaceDue { pool } => self.on_replace_due(now, pool, scheduler),
            Event::InstanceFaultDue { fault, instance } => self.on_instance_fault_due(now, fault, instance, scheduler),
            Event::SlowdownEnds { fault, instance } => self.on_slowdown_ends(now, fault, instance, scheduler),
            Event::OutageEnds { fault } => self.on_outage_ends(now, fault, scheduler),
            Event::DnsCheckDue { region } => self.on_dns_check(now, region, scheduler),
            Event::HealthCheckDue { lb } => self.on_health_check_due(now, lb, scheduler),
            Event::ProbeTimeoutsDue { lb } => self.on_probe_timeouts_due(now, lb),
            Event::TryConnected {
                request,
                generation,
                instance,
                lb,
            } => self.on_try_connected(now, (request, generation), instance, usize::from(lb), scheduler),
            Event::TryUnreachable {
                request,
                generation,
                instance,
                lb,
            } => self.on_try_unreachable(now, (request, generation), instance, usize::from(lb), scheduler),
            Event::TryDeadlinesDue { lb } => self.on_try_deadlines_due(now, lb, scheduler),
            Event::ClientDeadlineDue { request, generation } => self.on_client_deadline_due(now, request, generation),
            Event::DeployDue { deploy } => self.on_deploy_due(now, deploy, scheduler),
            Event::RetireDue { pool } => self.on_retire_due(now, pool, scheduler),
            Event::StartupEnds { instance } => self.on_startup_ends(now, instance, scheduler),
            Event::IntervalDue => self.on_interval_due(now, scheduler),
        }
        // Requests a cache fill woke (in any handler: a stopped instance's
        // requests give up their fills too) move on once the event is done.
        if !self.pending_wakes.is_empty() {
            self.run_pending_wakes(now, scheduler);
        }
        if !self.pending_retries.is_empty() {
            self.run_pending_retries(now, scheduler);
        }
    }
}

/// Runs one replication of `spec` to its end time and returns what it recorded.
///
/// `progress` receives the simulated time every 65,536 events.
pub fn simulate(spec: &SystemSpec, seed: u64, replication: u32, progress: &mut dyn FnMut(SimTime)) -> RunResult {
    let mut scheduler = Scheduler::new();
    let mut system = System::new(spec, seed, replication, &mut scheduler);
    let limits = Limits {
        end: SimTime::ZERO + spec.duration,
        max_events: spec.max_events,
        max_held: spec.max_requests_held,
        // A budget that would run out before the first interval closes
        // would leave no interval to report.
        min_reach: SimTime::ZERO + spec.interval.min(spec.duration),
    };
    let outcome = engine::run(&mut system, &mut scheduler, limits, progress);
    system.finish(outcome)
}
