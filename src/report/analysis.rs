//! What a run says about capacity: which component saturates first as
//! traffic grows, what each needs, and what that costs. Written as
//! `analysis.json`; the capacity-review report is rendered from it.
//!
//! Everything here is derived from the run's measurements and one stated
//! model: a pool's CPU demand grows in proportion to its traffic. Demand is
//! the work *offered* to the pool (every request sent to it, served or not),
//! not its busy cores, which a saturated pool caps at its size; busy cores
//! count instead where they are higher (a backlog from the interval before
//! draining, work slowed by a fault), except for a queue's consumers, whose
//! backlog is work late, not more work. A pool's
//! *headroom* is the traffic multiple at which its demand at the busiest
//! interval would fill every core it may have (its autoscaler's
//! maximum, else its fixed size): the hard limit. Its *planning ceiling* is
//! the CPU share it is meant to run at (its HPA or target-tracking CPU
//! target, else 70%); sizes are computed to hold the ceiling. `capsim
//! headroom` measures the SLO's limit by simulation instead.

use serde::{Deserialize, Serialize};

use crate::metrics::IntervalRow;
use crate::model::autoscaler::aws::{AwsMetric, AwsPolicy, TargetTrackingPolicy};
use crate::model::autoscaler::{MetricSpec, ResourceName, Target};
use crate::model::data::{CacheScope, DataRow, ServerRole};
use crate::model::{RunResult, SystemSpec};

use super::format::short;

/// The CPU share a pool without a CPU target is planned to run at.
pub const DEFAULT_CEILING: f64 = 0.7;

/// The name of each growth horizon: short, medium and long term for three,
/// else the multiple itself (`×3`).
pub fn term(growth: &[f64], i: usize) -> String {
    match (growth.len(), i) {
        (3, 0) => "short term".into(),
        (3, 1) => "medium term".into(),
        (3, 2) => "long term".into(),
        _ => format!("×{}", growth[i]),
    }
}

const HOURS_PER_MONTH: f64 = 730.0;

use crate::metrics::stats::nan_if_null;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Analysis {
    pub scenario: String,
    /// The busiest interval after the warm-up (by offered load).
    pub peak: Peak,
    pub components: Vec<Component>,
    /// The component with the least headroom: the first to saturate.
    pub bottleneck: Option<usize>,
    /// What each horizon's growth needs, in the order things saturate.
    pub plan: Vec<PlanStep>,
    /// The scenario's whole architecture (CDN, balancers, pools, caches,
    /// databases, queues and their consumers), as lines of a text sketch.
    pub topology: Vec<String>,
    /// What the run assumed: traffic, classes, SLO, run settings (absent
    /// in folders written before it was recorded).
    #[serde(default)]
    pub assumptions: Option<super::assumptions::Assumptions>,
    /// What each autoscaled pool's autoscaler did.
    #[serde(default)]
    pub autoscaling: Vec<super::autoscaling::PoolBehaviour>,
}

impl Analysis {
    /// The component to change when a run broke its SLO: the saturated one
    /// with the least headroom, else an autoscaled pool whose capacity
    /// arrived late (saturated while it scaled, which its peak interval may
    /// not show), else the bottleneck.
    pub fn culprit(&self) -> Option<usize> {
        let saturated = self
            .components
            .iter()
            .enumerate()
            .filter(|(_, c)| c.saturated())
            .min_by(|(_, a), (_, b)| {
                let h = |c: &Component| c.headroom.unwrap_or(f64::INFINITY);
                h(a).total_cmp(&h(b)).then(a.kind.rank().cmp(&b.kind.rank()))
            });
        let late = || {
            self.components
                .iter()
                .enumerate()
                .find(|(_, c)| c.pool.as_ref().is_some_and(|p| p.late.is_some()))
        };
        saturated.or_else(late).map(|(i, _)| i).or(self.bottleneck)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Peak {
    #[serde(deserialize_with = "nan_if_null")]
    pub start_s: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub end_s: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub offered_rps: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub latency_p99_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub error_rate: f64,
}

/// What kind of thing a component is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// App instances: CPU cores.
    Pool,
    /// A database primary (one per shard): its threads.
    Database,
    /// A shard's read replicas together: their threads.
    Replicas,
    /// A shard's replication: each replica's apply threads against the
    /// primary's writes (lag grows without bound past them).
    Replication,
    /// A database's connections: app pools' (or a pooler's) against the
    /// server's `max_connections`.
    Connections,
    /// A cache tier: a shared cluster's busiest node, or a local cache.
    Cache,
    /// A CDN's PoPs.
    Cdn,
    /// A message queue and its consumers' cores.
    Queue,
    /// A load balancer and its nodes.
    Balancer,
    /// A region: its pools behind its balancer.
    Region,
    /// Data transfer out to the internet: priced, with no capacity of its own.
    Transfer,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Pool => "pool",
            Kind::Database => "database",
            Kind::Replicas => "replicas",
            Kind::Replication => "replication",
            Kind::Connections => "connections",
            Kind::Cache => "cache",
            Kind::Cdn => "CDN",
            Kind::Queue => "queue",
            Kind::Balancer => "balancer",
            Kind::Region => "region",
            Kind::Transfer => "data transfer",
        }
    }

    /// Which of two components with the same headroom is named the
    /// bottleneck: the more specific one (a queue before its consumers'
    /// pool, connections before the server they reach).
    fn rank(self) -> u8 {
        match self {
            Kind::Queue => 0,
            Kind::Connections => 1,
            Kind::Database => 2,
            Kind::Replicas => 3,
            Kind::Replication => 3,
            Kind::Cache => 4,
            Kind::Pool => 5,
            Kind::Cdn | Kind::Balancer | Kind::Region | Kind::Transfer => 6,
        }
    }
}

/// One component's load against its capacity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Component {
    pub kind: Kind,
    pub name: String,
    /// What it is and how much of it there is, in words.
    pub capacity: String,
    /// What its demand and capacity are counted in (`cores`, `threads`, `connections`).
    pub unit: String,
    /// The most it may serve at once (at its autoscaler's maximum); null
    /// where the model sets no limit.
    #[serde(deserialize_with = "nan_if_null")]
    pub capacity_units: f64,
    /// Work offered to it per second in its busiest interval after the
    /// warm-up: its demand, served or not.
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_demand: f64,
    /// What it served in that interval (busy cores or threads): at most its capacity.
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_used: f64,
    /// Busy over serving capacity in that interval.
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_utilization: f64,
    /// Its load at that peak, in words.
    pub load: String,
    /// Traffic multiple at which the peak demand fills its capacity (null: no demand or no limit).
    pub headroom: Option<f64>,
    /// The share of its capacity it is planned to run at.
    #[serde(deserialize_with = "nan_if_null")]
    pub ceiling: f64,
    /// Traffic multiple at which the peak demand reaches the ceiling.
    pub ceiling_at: Option<f64>,
    pub verdict: String,
    pub fix: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub cost_per_month_usd: f64,
    /// What a component other than a pool is billed as (`db.r6g.xlarge`,
    /// `3 × cache.r6g.large`, `ALB`); empty for pools and unpriced components.
    #[serde(default)]
    pub cost_basis: String,
    /// App pools (and a queue's consumers): their instances and scaling.
    pub pool: Option<PoolDetail>,
    /// Data-tier components: what a change to them works from.
    pub data: Option<DataDetail>,
}

/// A pool's instances and scaling.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PoolDetail {
    /// The pool's name (for a queue: its consumers').
    pub name: String,
    pub instance_type: String,
    pub cores_per_instance: u32,
    #[serde(deserialize_with = "nan_if_null")]
    pub hourly_usd: f64,
    pub instances_initial: u32,
    pub instances_min: u32,
    pub instances_peak: u32,
    /// The most it may have: the autoscaler's maximum (bounded by its node
    /// pool), else its fixed size.
    pub instances_max: u32,
    /// e.g. `HPA 2–30, CPU 60%`; absent for fixed pools.
    pub autoscaler: Option<String>,
    /// `hpa`, `aws` or `keda`; absent for fixed pools.
    pub scaler: Option<String>,
    /// Its node pool's pods per node and most nodes, when it has one.
    pub node_pool: Option<(u32, u32)>,
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_queue: f64,
    /// How long its autoscaler sat at its maximum.
    #[serde(deserialize_with = "nan_if_null")]
    pub time_at_max_s: f64,
    /// Instances holding today's peak at the ceiling.
    pub instances_needed: u32,
    /// The CPU utilisation (%) its autoscaler tracks: an HPA's CPU
    /// `average_utilization` (of the request) or an AWS target-tracking
    /// policy's CPU target; absent otherwise.
    #[serde(default)]
    pub cpu_target: Option<f64>,
    /// Saturated while it still had room to grow, in intervals that broke
    /// the SLO: its capacity arrived late (autoscaled pools only).
    #[serde(default)]
    pub late: Option<Late>,
}

/// An autoscaled pool's CPU ran out while it scaled, in intervals that broke
/// the SLO, with fewer instances ready than its maximum: the load came
/// faster than its capacity did. Its peak interval may look fine (by then
/// it had scaled), so this is judged over every interval.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Late {
    /// The first such interval's start (seconds into the run).
    pub at_s: f64,
    /// Its instances ready then, and its CPU utilisation (null: none ready).
    pub ready: u32,
    #[serde(deserialize_with = "nan_if_null")]
    pub utilization: f64,
    /// Requests waiting for its workers or cores then (a time average).
    #[serde(deserialize_with = "nan_if_null")]
    pub waiting: f64,
    /// The most work offered in that spell of late intervals over the
    /// cores ready before it (null: none were): how far the capacity on
    /// hand when the surge came fell short.
    #[serde(deserialize_with = "nan_if_null")]
    pub overload: f64,
    /// How many intervals broke the SLO that way.
    pub intervals: u32,
    /// Whether `at_s` is a time of day (the traffic follows a day).
    pub time_of_day: bool,
}

/// What a change to a data-tier component works from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DataDetail {
    /// The database or cache tier's name.
    pub of: String,
    /// Servers (replicas, cache nodes, shards) and threads each.
    pub servers: u32,
    pub threads: u32,
    /// A primary's share of its work that writes (null elsewhere).
    pub write_share: Option<f64>,
    /// The database's replicas per shard, and whether reads go to them.
    pub replicas: u32,
    pub read_from_replicas: bool,
    /// The share of the database's reads that replicas may serve (not
    /// `fresh`), by the classes' weights.
    #[serde(default)]
    pub replica_readable: f64,
    /// Apply threads per replica.
    #[serde(default)]
    pub appliers: u32,
    pub shards: u32,
    /// Connections: each app instance's pool size per server, the limit
    /// app connections count against (the server's `max_connections`, or
    /// its pooler's client limit when it has one), the app instances that
    /// may open them, and the pooler's server-side pool when there is one.
    pub pool_size: u32,
    pub max_connections: u32,
    pub app_instances_max: u32,
    pub pooler_pool_size: Option<u32>,
    /// Whether connections were refused at that limit in the run (the
    /// pools may open more than it admits).
    #[serde(default)]
    pub clients_refused: bool,
    /// Threads' demand from queries alone (connections: the part that is
    /// server time, not round trips).
    #[serde(deserialize_with = "nan_if_null")]
    pub work_demand: f64,
}

/// A change to the scenario that gives a component the capacity for a
/// demand. Every change is something `capsim` can simulate: the plan
/// applies it to a copy of the scenario and runs it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A fixed pool's size.
    Instances { pool: String, from: u32, to: u32 },
    /// An autoscaler's maximum (and its node pool's, when it bounds it).
    Maximum { pool: String, from: u32, to: u32 },
    /// An autoscaler's minimum (and the pool's initial size, when below it):
    /// capacity that is there before the peak rather than arriving during it.
    Minimum { pool: String, from: u32, to: u32 },
    /// The CPU utilisation (%) an autoscaler tracks, lowered so it scales
    /// sooner and holds more spare capacity when load surges.
    Target { pool: String, from: f64, to: f64 },
    /// Read replicas per shard, with reads sent to them.
    ReadReplicas { database: String, from: u32, to: u32 },
    /// Cores of a database's primaries (and replicas, kept alike).
    DatabaseCores { database: String, from: u32, to: u32 },
    /// Shards, each a primary with its replicas.
    Shards { database: String, from: u32, to: u32 },
    /// A shared cache's nodes.
    CacheNodes { cache: String, from: u32, to: u32 },
    /// More apply threads on each replica (parallel replication).
    Appliers { database: String, from: u32, to: u32 },
    /// Each app instance's connections per server.
    PoolSize { database: String, from: u32, to: u32 },
    /// A transaction pooler in front of each server, with this many server
    /// connections and client connections; `from` is the pooler's
    /// (server, client) connections when the scenario already has one.
    Pooler {
        database: String,
        pool_size: u32,
        max_client_connections: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<[u32; 2]>,
    },
    /// The zones a pool spreads over (the resilience check's N+1 across zones).
    Zones {
        pool: String,
        from: Vec<String>,
        to: Vec<String>,
    },
    /// Replicas per shard to fail over to, reads left where they are.
    Standbys { database: String, from: u32, to: u32 },
    /// A balancer's nodes.
    BalancerNodes { balancer: String, from: u32, to: u32 },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Instances { pool, from, to } => write!(f, "grow pool {pool} from {from} to {to} instances"),
            Change::Maximum { pool, from, to } => {
                write!(f, "raise the autoscaler maximum of pool {pool} from {from} to {to}")
            }
            Change::Minimum { pool, from: 0, to } => write!(
                f,
                "raise the autoscaler minimum of pool {pool} from 0 to {to} (it no longer scales to zero)"
            ),
            Change::Minimum { pool, from, to } => {
                write!(f, "raise the autoscaler minimum of pool {pool} from {from} to {to}")
            }
            Change::Target { pool, from, to } => {
                write!(
                    f,
                    "lower the CPU target of pool {pool}'s autoscaler from {}% to {}% (it scales sooner)",
                    short(*from),
                    short(*to)
                )
            }
            Change::ReadReplicas { database, from, to } if from == to => {
                write!(f, "send the reads of database {database} to its {to} replicas")
            }
            Change::ReadReplicas { database, from, to } => {
                let s = if *to == 1 { "" } else { "s" };
                write!(
                    f,
                    "give database {database} {to} read replica{s} (from {from}) and send reads to them"
                )
            }
            Change::DatabaseCores { database, from, to } => {
                write!(f, "move database {database} to a larger class: {from} → {to} cores")
            }
            Change::Shards { database, from, to } => write!(f, "shard database {database}: {from} → {to} shards"),
            Change::CacheNodes { cache, from, to } => write!(f, "grow cache {cache} from {from} to {to} nodes"),
            Change::Appliers { database, from, to } => write!(
                f,
                "give the replicas of database {database} {to} apply threads each (from {from}): parallel replication"
            ),
            Change::PoolSize { database, from, to } => {
                write!(
                    f,
                    "raise the connection pool to database {database} from {from} to {to} per instance"
                )
            }
            Change::Pooler {
                database,
                pool_size,
                max_client_connections,
                from: Some([server, clients]),
            } => write!(
                f,
                "resize the pooler of database {database}: {pool_size} server connections each (from {server}), \
                 {max_client_connections} client connections (from {clients})"
            ),
            Change::Pooler {
                database,
                pool_size,
                from: None,
                ..
            } => write!(
                f,
                "put a transaction pooler in front of database {database} ({pool_size} server connections each)"
            ),
            Change::Zones { pool, from, to } => {
                write!(
                    f,
                    "spread pool {pool} over zones {} (from {})",
                    to.join(", "),
                    from.join(", ")
                )
            }
            Change::Standbys { database, from, to } => {
                let s = if *to == 1 { "" } else { "s" };
                write!(
                    f,
                    "give database {database} {to} replica{s} to fail over to (from {from}; reads stay where they are)"
                )
            }
            Change::BalancerNodes { balancer, from, to } => {
                write!(f, "grow balancer {balancer} from {from} to {to} nodes")
            }
        }
    }
}

/// The most cores a database class has (db.r7g.16xlarge: 64 vCPU);
/// beyond it, writes are split by sharding.
pub const MAX_DATABASE_CORES: u32 = 64;

impl Component {
    /// The capacity (in its unit) that holds its peak demand grown by
    /// `growth` at its ceiling.
    pub fn required(&self, growth: f64) -> f64 {
        self.peak_demand * growth / self.ceiling
    }

    /// Saturated at its peak: its demand within 5% of its capacity or
    /// beyond, or 95% busy. One rule for the verdict, the plan's rounds and
    /// `headroom`'s culprit.
    pub fn saturated(&self) -> bool {
        self.headroom.is_some_and(|h| h < 1.0 / 0.95) || self.peak_utilization >= 0.95
    }

    /// Instances of its pool that hold the peak demand grown by `growth` at the ceiling.
    pub fn needed(&self, growth: f64) -> u32 {
        let Some(p) = &self.pool else { return 0 };
        // An autoscaler never goes below its minimum; a fixed pool can shrink to one.
        let floor = if p.autoscaler.is_some() { p.instances_min } else { 1 };
        let n = (self.required(growth) / f64::from(p.cores_per_instance) - 1e-9).ceil();
        (n.min(f64::from(u32::MAX)) as u32).max(floor.max(1))
    }

    /// First-order $/month at `growth` × today's traffic: fixed pools sized
    /// to `needed`, autoscaled pools growing with the load above their
    /// minimum; components billed by use (CDN, queue, data transfer) grown
    /// with the traffic; the others at today's cost.
    pub fn cost_at(&self, growth: f64) -> f64 {
        // Billed by use (requests, messages, bytes): it grows with the traffic.
        if matches!(self.kind, Kind::Cdn | Kind::Queue | Kind::Transfer) {
            return self.cost_per_month_usd * growth;
        }
        let Some(p) = &self.pool.as_ref().filter(|_| self.kind == Kind::Pool) else {
            return self.cost_per_month_usd;
        };
        let per_instance = p.hourly_usd * HOURS_PER_MONTH;
        if p.autoscaler.is_some() {
            let floor = f64::from(p.instances_min) * per_instance;
            (self.cost_per_month_usd * growth).max(floor)
        } else if self.needed(growth) > p.instances_initial {
            f64::from(self.needed(growth)) * per_instance
        } else {
            self.cost_per_month_usd
        }
    }

    /// The change that holds its peak demand grown by `growth` at its
    /// ceiling (`None` when it has room, or nothing here can give it more).
    pub fn change(&self, growth: f64) -> Option<Change> {
        let at = self.ceiling_at?;
        if at >= growth {
            return None;
        }
        let required = self.required(growth);
        let count = |per: f64| ((required / per - 1e-9).ceil().min(f64::from(u32::MAX)) as u32).max(1);
        match self.kind {
            Kind::Pool | Kind::Queue => {
                let p = self.pool.as_ref()?;
                let to = self.needed(growth);
                Some(if p.autoscaler.is_some() {
                    Change::Maximum {
                        pool: p.name.clone(),
                        from: p.instances_max,
                        to: to.max(p.instances_max + 1),
                    }
                } else {
                    Change::Instances {
                        pool: p.name.clone(),
                        from: p.instances_initial,
                        to: to.max(p.instances_initial + 1),
                    }
                })
            }
            Kind::Database => {
                let d = self.data.as_ref()?;
                let write = d.write_share.unwrap_or(1.0);
                // Reads replicas may take: not those that must be fresh.
                let movable = (1.0 - write) * d.replica_readable;
                if movable >= 0.5 && !(d.read_from_replicas && d.replicas > 0) {
                    // Read-bound: reads move to replicas, each carrying its share.
                    let reads = self.peak_demand * movable * growth / self.ceiling;
                    let to = ((reads / f64::from(d.threads) - 1e-9).ceil() as u32)
                        .max(d.replicas)
                        .max(1);
                    return Some(Change::ReadReplicas {
                        database: d.of.clone(),
                        from: d.replicas,
                        to,
                    });
                }
                let cores = count(1.0).next_power_of_two();
                if cores <= MAX_DATABASE_CORES {
                    Some(Change::DatabaseCores {
                        database: d.of.clone(),
                        from: d.threads,
                        to: cores.max(d.threads * 2),
                    })
                } else {
                    // The busiest shard's demand spread over more shards.
                    let shards = (f64::from(d.shards) * required / f64::from(d.threads) - 1e-9).ceil();
                    Some(Change::Shards {
                        database: d.of.clone(),
                        from: d.shards,
                        to: (shards.min(f64::from(u32::MAX)) as u32).max(d.shards + 1),
                    })
                }
            }
            Kind::Replicas => {
                let d = self.data.as_ref()?;
                Some(Change::ReadReplicas {
                    database: d.of.clone(),
                    from: d.replicas,
                    to: count(f64::from(d.threads)).max(d.replicas + 1),
                })
            }
            Kind::Replication => {
                let d = self.data.as_ref()?;
                Some(Change::Appliers {
                    database: d.of.clone(),
                    from: d.appliers,
                    to: count(1.0).max(d.appliers + 1),
                })
            }
            Kind::Cache => {
                let d = self.data.as_ref()?;
                // The busiest node's demand spread over more nodes.
                let nodes = (f64::from(d.servers) * required / f64::from(d.threads) - 1e-9).ceil() as u32;
                Some(Change::CacheNodes {
                    cache: d.of.clone(),
                    from: d.servers,
                    to: nodes.max(d.servers + 1),
                })
            }
            Kind::Connections => {
                let d = self.data.as_ref()?;
                // What the app instances may open at most: a pooler's
                // client side must admit them all.
                let may_open = d.pool_size.saturating_mul(d.app_instances_max);
                if let Some(size) = d.pooler_pool_size {
                    return Some(Change::Pooler {
                        database: d.of.clone(),
                        // Refused at the client side, the server side is not what binds.
                        pool_size: if d.clients_refused {
                            size
                        } else {
                            count(1.0).max(size + 1)
                        },
                        max_client_connections: d.max_connections.max(may_open),
                        from: Some([size, d.max_connections]),
                    });
                }
                let per_instance = count(f64::from(d.app_instances_max.max(1)));
                if u64::from(per_instance) * u64::from(d.app_instances_max) <= u64::from(d.max_connections) {
                    Some(Change::PoolSize {
                        database: d.of.clone(),
                        from: d.pool_size,
                        to: per_instance.max(d.pool_size + 1),
                    })
                } else {
                    // The server's limit binds: queries share few server connections.
                    let server_side = ((d.work_demand * growth / self.ceiling - 1e-9).ceil() as u32).max(d.threads);
                    Some(Change::Pooler {
                        database: d.of.clone(),
                        pool_size: server_side,
                        max_client_connections: may_open.max(d.max_connections),
                        from: None,
                    })
                }
            }
            Kind::Cdn | Kind::Balancer | Kind::Region | Kind::Transfer => None,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PlanStep {
    pub term: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub growth: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_rps: f64,
    /// One line per component that needs a change at this growth.
    pub actions: Vec<String>,
    /// Estimated $/month of the whole system at this growth.
    #[serde(deserialize_with = "nan_if_null")]
    pub cost_per_month_usd: f64,
}

fn autoscaler_label(pool: &crate::model::PoolSpec) -> Option<String> {
    if let Some(k) = &pool.keda {
        return Some(format!("KEDA {}–{}", k.min_replica_count, k.max_replica_count));
    }
    if let Some(h) = &pool.autoscaler {
        let metrics: Vec<String> = h
            .metrics
            .iter()
            .map(|m| match m {
                MetricSpec::Resource {
                    target: Target::Utilization(u),
                    ..
                } => format!("{} {u}%", m.label()),
                other => other.label().to_string(),
            })
            .collect();
        return Some(format!(
            "HPA {}–{}, {}",
            h.spec.min_replicas,
            h.spec.max_replicas,
            metrics.join(", ")
        ));
    }
    if let Some(a) = &pool.aws {
        return Some(format!("AWS auto scaling {}–{}", a.min_size, a.max_size));
    }
    None
}

/// The CPU utilisation (%) a pool's autoscaler tracks: an HPA's CPU
/// `average_utilization` (of the CPU request), else an AWS target-tracking
/// policy's CPU target.
fn cpu_target(pool: &crate::model::PoolSpec) -> Option<f64> {
    let from_hpa = pool.autoscaler.as_ref().and_then(|h| {
        h.metrics.iter().find_map(|m| match m {
            MetricSpec::Resource {
                name: ResourceName::Cpu,
                target: Target::Utilization(u),
            } => Some(f64::from(*u)),
            _ => None,
        })
    });
    let from_aws = || {
        pool.aws.as_ref().and_then(|a| {
            a.policies.iter().find_map(|p| match p {
                AwsPolicy::TargetTracking(TargetTrackingPolicy {
                    metric: AwsMetric::CpuUtilization,
                    target,
                    ..
                }) => Some(*target),
                _ => None,
            })
        })
    };
    from_hpa.or_else(from_aws)
}

/// The CPU share of a pool's cores its autoscaler aims for.
fn ceiling(pool: &crate::model::PoolSpec) -> f64 {
    cpu_target(pool)
        .map(|u| {
            // An HPA's utilization is of the CPU request; the ceiling is of the cores.
            let share = if pool.autoscaler.is_some() {
                pool.resources.cpu_request_milli as f64 / 1000.0 / f64::from(pool.cores.max(1))
            } else {
                1.0
            };
            u / 100.0 * share
        })
        .filter(|c| *c > 0.0)
        .map_or(DEFAULT_CEILING, |c| c.min(1.0))
}

/// The intervals that broke the SLO in which an autoscaled pool (`i`) was
/// overloaded while it scaled: work waiting for its cores (at least one
/// request per ready core on average, or 95% busy, or none ready while
/// work was sent to it), with fewer instances ready than `max` and more on
/// the way (booting at its end, or more ready than the interval before, or
/// more by the next). Interval
/// means hide a surge that began partway through one, so a busy share
/// alone would miss it; a queue does not.
fn late_scaling(rows: &[&IntervalRow], i: usize, (cores, max): (u32, u32), time_of_day: bool) -> Option<Late> {
    let late = |k: usize| {
        let (r, p) = (rows[k], &rows[k].pools[i]);
        let ready_at = |k: usize| rows.get(k).map(|r| r.pools[i].ready);
        let growing = p.booting > 0
            || k.checked_sub(1)
                .and_then(ready_at)
                .is_some_and(|before| before < p.ready)
            || ready_at(k + 1).is_some_and(|after| after > p.ready);
        let overloaded = p.cpu_utilization >= 0.95
            || p.queue_length_mean >= f64::from(p.ready * cores)
            || (p.ready == 0 && p.offered_cores > 0.0);
        r.slo_violated == Some(true) && p.ready < max && growing && overloaded
    };
    let first = (0..rows.len()).find(|&k| late(k))?;
    let spell = (first..rows.len()).take_while(|&k| late(k));
    let most = spell.map(|k| rows[k].pools[i].offered_cores).fold(0.0, f64::max);
    // The capacity on hand when the surge came: ready before the spell.
    let before = rows[first.saturating_sub(1)].pools[i].ready;
    let p = &rows[first].pools[i];
    Some(Late {
        at_s: rows[first].start.as_secs_f64(),
        ready: p.ready,
        utilization: p.cpu_utilization,
        waiting: p.queue_length_mean,
        overload: most / f64::from(before * cores),
        intervals: (first..rows.len()).filter(|&k| late(k)).count() as u32,
        time_of_day,
    })
}

fn limits(pool: &crate::model::PoolSpec) -> (u32, u32) {
    let (min, max) = if let Some(k) = &pool.keda {
        (k.min_replica_count, k.max_replica_count)
    } else if let Some(h) = &pool.autoscaler {
        (h.spec.min_replicas, h.spec.max_replicas)
    } else if let Some(a) = &pool.aws {
        (a.min_size as i32, a.max_size as i32)
    } else {
        (pool.count as i32, pool.count as i32)
    };
    let mut max = max.max(0) as u32;
    if let Some(n) = &pool.node_pool {
        max = max.min(n.max * n.pods_per_node);
    }
    (min.max(0) as u32, max)
}

/// The intervals after the warm-up (the last one always, however short the run).
fn measured(result: &RunResult) -> Vec<&IntervalRow> {
    let s = &result.summary;
    result
        .rows
        .iter()
        .filter(|r| r.start.as_secs_f64() >= s.warmup_s || r.end.as_secs_f64() >= s.simulated_s)
        .collect()
}

fn offered(r: &IntervalRow) -> f64 {
    r.counters.arrived as f64 / (r.end - r.start).as_secs_f64().max(1e-9)
}

/// The busiest interval after the warm-up, by offered load.
pub fn peak(result: &RunResult) -> Peak {
    let busiest = measured(result)
        .into_iter()
        .max_by(|a, b| offered(a).total_cmp(&offered(b)));
    busiest.map_or(
        Peak {
            start_s: 0.0,
            end_s: 0.0,
            offered_rps: 0.0,
            latency_p99_ms: f64::NAN,
            error_rate: 0.0,
        },
        |r| Peak {
            start_s: r.start.as_secs_f64(),
            end_s: r.end.as_secs_f64(),
            offered_rps: offered(r),
            latency_p99_ms: r.latency_p99_ms,
            error_rate: if r.counters.arrived == 0 {
                0.0
            } else {
                r.counters.errors() as f64 / r.counters.arrived as f64
            },
        },
    )
}

/// A mixed group's price per instance-hour over the run: its types'
/// prices weighted by the instances each ran (`None` for other pools).
fn mean_hourly(summary: &crate::metrics::PoolSummary) -> Option<f64> {
    let rows = &summary.by_instance_type;
    let hours: f64 = rows.iter().map(|t| t.instances_mean).sum();
    (hours > 0.0).then(|| rows.iter().map(|t| t.hourly_usd * t.instances_mean).sum::<f64>() / hours)
}

/// Per interval after the warm-up, its length in seconds and data row.
fn data_rows<'a>(rows: &[&'a IntervalRow]) -> Vec<(Span, &'a DataRow)> {
    rows.iter()
        .filter_map(|r| {
            let c = &r.counters;
            // Requests turned away before their work ran (a full queue, no
            // instance) never reached the data tier: had they been let in,
            // they would have made the same accesses as those that were.
            let admitted = c.arrived.saturating_sub(c.rejected_queue_full + c.rejected_no_instance);
            let scale = if admitted == 0 {
                1.0
            } else {
                c.arrived as f64 / admitted as f64
            };
            let secs = (r.end - r.start).as_secs_f64().max(1e-9);
            r.data.as_ref().map(|d| (Span { secs, scale }, d))
        })
        .collect()
}

/// An interval's length, and how much more work its requests offered the
/// data tier than reached it (arrived over admitted by the app tier).
#[derive(Clone, Copy, Debug)]
struct Span {
    secs: f64,
    scale: f64,
}

impl Span {
    /// A count in the interval as a rate per second of what was offered:
    /// what the component would have seen had every request been let in.
    fn offered(self, count: f64) -> f64 {
        count * self.scale / self.secs
    }

    /// A count in the interval per second, as it happened.
    fn per_second(self, count: f64) -> f64 {
        count / self.secs
    }
}

/// The interval where `demand` peaks, with that demand.
fn busiest<T: Copy>(items: impl Iterator<Item = T>, demand: impl Fn(T) -> f64) -> Option<(T, f64)> {
    items.map(|x| (x, demand(x))).max_by(|a, b| a.1.total_cmp(&b.1))
}

/// A component's headroom and ceiling multiple from its demand and capacity.
fn room(demand: f64, capacity: f64, ceiling: f64) -> (Option<f64>, Option<f64>) {
    if demand > 0.0 && capacity.is_finite() {
        (Some(capacity / demand), Some(capacity * ceiling / demand))
    } else {
        (None, None)
    }
}

/// Analyses the first replication of a run of `spec`.
pub fn analyze(spec: &SystemSpec, result: &RunResult) -> Analysis {
    let s = &result.summary;
    let rows = measured(result);
    let peak = peak(result);
    let months = HOURS_PER_MONTH * 3600.0 / s.simulated_s.max(1e-9);
    let mut components: Vec<Component> = spec
        .pools
        .iter()
        .enumerate()
        .map(|(i, pool)| pool_component(spec, result, &rows, i, pool, months))
        .collect();
    components.extend(data_components(spec, result, &rows, &components));
    components.extend(edge_components(spec, result, &peak, &components[..spec.pools.len()]));
    price(&mut components, &s.cost.components);
    components.extend(transfer_components(&s.cost.components));
    for c in &mut components {
        (c.verdict, c.fix) = judge(c);
    }
    let bottleneck = components
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.headroom.map(|h| (i, h, c.kind.rank())))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)))
        .map(|(i, ..)| i);
    let plan = (0..spec.growth.len())
        .map(|i| plan_step(&term(&spec.growth, i), spec.growth[i], peak.offered_rps, &components))
        .collect();
    let diagram = super::architecture::diagram(spec, peak.offered_rps, &components, bottleneck);
    let topology = super::architecture::sketch(spec, &diagram);
    Analysis {
        scenario: s.scenario.clone(),
        peak,
        components,
        bottleneck,
        plan,
        topology,
        assumptions: Some(super::assumptions::assumptions(spec, result)),
        autoscaling: super::autoscaling::behaviour(result),
    }
}

fn pool_component(
    spec: &SystemSpec,
    result: &RunResult,
    rows: &[&IntervalRow],
    i: usize,
    pool: &crate::model::PoolSpec,
    months: f64,
) -> Component {
    let summary = &result.summary.pools[i];
    // The pool's own busiest interval: its demand peaks where its traffic does.
    // A queue's consumers are offered what producers send: busy cores above
    // it are a backlog draining (work late, not more work), so they do not
    // size the pool.
    let consumes = spec.data.queues.iter().any(|q| q.consumers == i);
    let demand = |r: &&IntervalRow| {
        let p = &r.pools[i];
        if consumes {
            p.offered_cores
        } else {
            p.offered_cores.max(p.busy_cores)
        }
    };
    let (peak_demand, peak_used, peak_utilization, peak_queue, peak_ready) =
        busiest(rows.iter(), demand).map_or((0.0, 0.0, f64::NAN, 0.0, 0), |(r, d)| {
            let p = &r.pools[i];
            (d, p.busy_cores, p.cpu_utilization, p.queue_length_mean, p.ready)
        });
    let (instances_min, instances_max) = limits(pool);
    let ceiling = ceiling(pool);
    let capacity = f64::from(instances_max) * f64::from(pool.cores);
    let (headroom, ceiling_at) = room(peak_demand, capacity, ceiling);
    let autoscaler = autoscaler_label(pool);
    let scaler = if pool.keda.is_some() {
        Some("keda")
    } else if pool.autoscaler.is_some() {
        Some("hpa")
    } else if pool.aws.is_some() {
        Some("aws")
    } else {
        None
    };
    let detail = PoolDetail {
        name: pool.name.clone(),
        instance_type: summary.instance_type.clone(),
        cores_per_instance: pool.cores,
        hourly_usd: mean_hourly(summary).unwrap_or(spec.instance_types[pool.instance_type].hourly_usd),
        instances_initial: pool.count,
        instances_min,
        instances_peak: summary.instances_peak,
        instances_max,
        scaler: scaler.map(String::from),
        node_pool: pool.node_pool.as_ref().map(|n| (n.pods_per_node, n.max)),
        autoscaler,
        peak_queue,
        time_at_max_s: summary.scaling.as_ref().map_or(0.0, |x| x.time_at_max_s),
        instances_needed: 0,
        cpu_target: cpu_target(pool),
        late: scaler.and_then(|_| {
            let day = super::assumptions::has_diurnal(&spec.traffic.curve);
            late_scaling(rows, i, (pool.cores, instances_max), day)
        }),
    };
    let mut c = Component {
        kind: Kind::Pool,
        name: pool.name.clone(),
        capacity: String::new(),
        unit: "cores".into(),
        capacity_units: capacity,
        peak_demand,
        peak_used,
        peak_utilization,
        // All of it from the one interval; the run's peak size only when it differs.
        load: format!(
            "{} busy cores{}, {} CPU on {} instance{} ready{}",
            short(peak_used),
            if peak_demand > peak_used * 1.05 {
                format!(" of {} offered", short(peak_demand))
            } else {
                String::new()
            },
            pct1(peak_utilization),
            peak_ready,
            if peak_ready == 1 { "" } else { "s" },
            if summary.instances_peak != peak_ready {
                format!(" (peak size {})", summary.instances_peak)
            } else {
                String::new()
            }
        ),
        headroom,
        ceiling,
        ceiling_at,
        verdict: String::new(),
        fix: String::new(),
        cost_per_month_usd: summary.cost_usd * months,
        cost_basis: String::new(),
        pool: Some(detail),
        data: None,
    };
    let needed = c.needed(1.0);
    let p = c.pool.as_mut().expect("a pool");
    p.instances_needed = needed;
    c.capacity = format!(
        "{} × {} ({} core{} each), {}",
        if p.autoscaler.is_some() {
            format!("{}–{}", p.instances_min, p.instances_max)
        } else {
            p.instances_max.to_string()
        },
        p.instance_type,
        p.cores_per_instance,
        if p.cores_per_instance == 1 { "" } else { "s" },
        p.autoscaler.clone().unwrap_or_else(|| "fixed".into())
    );
    c
}
/// The data tier's components: cache tiers, database primaries, replicas
/// and connections, queues.
fn data_components(
    spec: &SystemSpec,
    result: &RunResult,
    rows: &[&IntervalRow],
    pools: &[Component],
) -> Vec<Component> {
    let data = &spec.data;
    let (Some(summary), false) = (result.summary.data.as_ref(), data.is_empty()) else {
        return Vec::new();
    };
    let intervals = rows;
    let rows = data_rows(rows);
    let roles = data.server_roles();
    let threads = |i: usize| summary.servers[i].threads;
    // Threads' worth of work offered to server `i` per second of an interval.
    let work = |(span, d): (Span, &DataRow), i: usize| span.offered(d.server_load[i].work_ns as f64 / 1e9);
    let servers_of = |wanted: &dyn Fn(&ServerRole) -> bool| -> Vec<usize> {
        roles
            .iter()
            .enumerate()
            .filter(|(_, r)| wanted(r))
            .map(|(i, _)| i)
            .collect()
    };
    let app_instances_max: u32 = pools
        .iter()
        .filter_map(|c| c.pool.as_ref())
        .map(|p| p.instances_max)
        .fold(0, u32::saturating_add);
    let mut out = Vec::new();
    for (t, tier) in data.caches.iter().enumerate() {
        let hit = |(_, d): (Span, &DataRow)| d.caches[t].stats.hit_ratio();
        let lookups = |(span, d): (Span, &DataRow)| {
            let s = &d.caches[t].stats;
            span.offered((s.hits + s.misses) as f64)
        };
        let mut c = match &tier.scope {
            CacheScope::Shared {
                nodes, threads: per, ..
            } => {
                let nodes_at = servers_of(&|r| matches!(r, ServerRole::CacheNode { tier, .. } if *tier == t));
                let hottest = |row: (Span, &DataRow)| nodes_at.iter().map(|&i| work(row, i)).fold(0.0, f64::max);
                let at = busiest(rows.iter().copied(), hottest);
                let (demand, used, util, hits, rate) = at.map_or((0.0, 0.0, f64::NAN, f64::NAN, 0.0), |(row, d)| {
                    let node = nodes_at
                        .iter()
                        .copied()
                        .max_by(|&a, &b| work(row, a).total_cmp(&work(row, b)))
                        .expect("a shared cache has nodes");
                    let u = row.1.server_utilization[node];
                    (d, u * f64::from(*per), u, hit(row), lookups(row))
                });
                let capacity = f64::from(*per);
                let (headroom, ceiling_at) = room(demand, capacity, DEFAULT_CEILING);
                Component {
                    capacity: format!("{nodes} node{} × {per} thread{}", plural(*nodes), plural(*per)),
                    unit: "threads (busiest node)".into(),
                    capacity_units: capacity,
                    peak_demand: demand,
                    peak_used: used,
                    peak_utilization: util,
                    load: format!(
                        "busiest node {} busy, hit ratio {}, {} lookups/s",
                        pct1(util),
                        pct1(hits),
                        short(rate)
                    ),
                    headroom,
                    ceiling_at,
                    data: Some(DataDetail {
                        servers: *nodes,
                        threads: *per,
                        ..DataDetail::of(&tier.name)
                    }),
                    ..Component::new(Kind::Cache, &tier.name)
                }
            }
            CacheScope::Local { .. } => {
                let at = busiest(rows.iter().copied(), lookups);
                let (hits, rate) = at.map_or((f64::NAN, 0.0), |(row, r)| (hit(row), r));
                Component {
                    capacity: "in each app instance's memory".into(),
                    load: format!("hit ratio {} at its busiest, {} lookups/s", pct1(hits), short(rate)),
                    ..Component::new(Kind::Cache, &tier.name)
                }
            }
            CacheScope::Edge { pops, shield, .. } => {
                let at = busiest(rows.iter().copied(), lookups);
                let (hits, offload, rate) = at.map_or((f64::NAN, f64::NAN, 0.0), |(row, r)| {
                    (hit(row), row.1.caches[t].offload(), r)
                });
                Component {
                    capacity: format!(
                        "{pops} PoP{}{}",
                        plural(*pops),
                        if shield.is_some() { " and a shield" } else { "" }
                    ),
                    load: format!(
                        "hit ratio {}, offload {} at its busiest, {} req/s",
                        pct1(hits),
                        pct1(offload),
                        short(rate)
                    ),
                    ..Component::new(Kind::Cdn, &tier.name)
                }
            }
        };
        c.ceiling = DEFAULT_CEILING;
        out.push(c);
    }
    for (k, db) in data.databases.iter().enumerate() {
        let sharded = db.shards.count > 1;
        // Reads replicas may serve: those of classes that need no fresh read.
        let reads = spec.traffic.classes.iter().filter_map(|c| {
            let path = c.data.as_ref()?;
            (c.kind == crate::model::RequestKind::Read && path.database == Some(k)).then_some((c.weight, path.fresh))
        });
        let (all, readable) = reads.fold((0.0, 0.0), |(a, r), (w, fresh)| (a + w, if fresh { r } else { r + w }));
        let mut base = DataDetail {
            replicas: db.replicas,
            read_from_replicas: db.read_from_replicas,
            replica_readable: if all > 0.0 { readable / all } else { 0.0 },
            appliers: db.appliers,
            shards: db.shards.count,
            pool_size: db.pool_size,
            max_connections: db
                .pooler
                .map_or(db.primary.max_connections, |p| p.max_client_connections),
            app_instances_max,
            pooler_pool_size: db.pooler.map(|p| p.pool_size),
            ..DataDetail::of(&db.name)
        };
        for shard in 0..db.shards.count {
            let prefix = if sharded {
                format!("{} shard-{}", db.name, shard + 1)
            } else {
                db.name.clone()
            };
            let primary = roles
                .iter()
                .position(|r| *r == ServerRole::Primary { database: k, shard })
                .expect("every shard has a primary");
            let at = busiest(rows.iter().copied(), |row| work(row, primary));
            let (demand, util, write_share, ops) = at.map_or((0.0, f64::NAN, None, 0.0), |(row, d)| {
                let load = &row.1.server_load[primary];
                let share = (load.work_ns > 0).then(|| load.write_ns as f64 / load.work_ns as f64);
                (
                    d,
                    row.1.server_utilization[primary],
                    share,
                    row.0.per_second(load.operations as f64),
                )
            });
            let capacity = f64::from(threads(primary));
            let (headroom, ceiling_at) = room(demand, capacity, DEFAULT_CEILING);
            let split = write_share.map_or(String::new(), |w| {
                format!(", reads {} / writes {} of its work", pct1(1.0 - w), pct1(w))
            });
            out.push(Component {
                capacity: format!("{} core{}", threads(primary), plural(threads(primary))),
                unit: "threads".into(),
                capacity_units: capacity,
                peak_demand: demand,
                peak_used: util * capacity,
                peak_utilization: util,
                load: format!("{} busy{split}, {} queries/s", pct1(util), short(ops)),
                headroom,
                ceiling: DEFAULT_CEILING,
                ceiling_at,
                data: Some(DataDetail {
                    servers: 1,
                    threads: threads(primary),
                    write_share,
                    ..base.clone()
                }),
                ..Component::new(Kind::Database, &format!("{prefix} primary"))
            });
            if db.replicas == 0 {
                continue;
            }
            let replicas: Vec<(usize, usize)> = roles
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match r {
                    ServerRole::Replica {
                        database,
                        shard: s,
                        replica,
                    } if *database == k && *s == shard => Some((i, *replica as usize)),
                    _ => None,
                })
                .collect();
            let total = |row: (Span, &DataRow)| replicas.iter().map(|&(i, _)| work(row, i)).sum::<f64>();
            // The shard's worst replica lag in an interval.
            let lag_in = |row: (Span, &DataRow)| {
                replicas
                    .iter()
                    .map(|&(_, r)| row.1.databases[k].lag_max_ms[shard as usize * db.replicas as usize + r])
                    .fold(0.0, f64::max)
            };
            let at = busiest(rows.iter().copied(), total);
            let capacity: f64 = replicas.iter().map(|&(i, _)| f64::from(threads(i))).sum();
            let (demand, used, lag) = at.map_or((0.0, 0.0, f64::NAN), |(row, d)| {
                let used: f64 = replicas
                    .iter()
                    .map(|&(i, _)| row.1.server_utilization[i] * f64::from(threads(i)))
                    .sum();
                (d, used, lag_in(row))
            });
            let (headroom, ceiling_at) = room(demand, capacity, DEFAULT_CEILING);
            out.push(Component {
                capacity: format!(
                    "{} × {} core{}",
                    db.replicas,
                    db.replica.cores,
                    plural(db.replica.cores)
                ),
                unit: "threads".into(),
                capacity_units: capacity,
                peak_demand: demand,
                peak_used: used,
                peak_utilization: used / capacity,
                load: format!(
                    "{} busy{}, lag at most {} ms",
                    pct1(used / capacity),
                    if db.read_from_replicas {
                        ""
                    } else {
                        " (reads go to the primary)"
                    },
                    short(lag)
                ),
                headroom,
                ceiling: DEFAULT_CEILING,
                ceiling_at,
                data: Some(DataDetail {
                    servers: db.replicas,
                    threads: db.replica.cores,
                    ..base.clone()
                }),
                ..Component::new(Kind::Replicas, &format!("{prefix} replicas"))
            });
            // Each replica replays every write of its shard on `appliers`
            // threads: apply time offered per second, from the write time the
            // primary was sent (writes × mean apply / mean write).
            let (write_mean, apply_mean) = (db.write.mean(), db.apply.mean());
            let apply = |(span, d): (Span, &DataRow)| {
                if write_mean > 0.0 {
                    span.offered(d.server_load[primary].write_ns as f64 / 1e9) * apply_mean / write_mean
                } else {
                    0.0
                }
            };
            let at = busiest(rows.iter().copied(), apply);
            let (demand, lag) = at.map_or((0.0, f64::NAN), |(row, d)| (d, lag_in(row)));
            let capacity = f64::from(db.appliers);
            let (headroom, ceiling_at) = room(demand, capacity, DEFAULT_CEILING);
            let writes = if apply_mean > 0.0 { demand / apply_mean } else { 0.0 };
            out.push(Component {
                capacity: format!("{} apply thread{} per replica", db.appliers, plural(db.appliers)),
                unit: "apply threads".into(),
                capacity_units: capacity,
                peak_demand: demand,
                peak_used: demand.min(capacity),
                peak_utilization: (demand / capacity).min(1.0),
                load: format!(
                    "{} writes/s to replay at {} ms each, {} of its apply threads, lag at most {} ms",
                    short(writes),
                    short(apply_mean * 1e3),
                    pct1(demand / capacity),
                    short(lag)
                ),
                headroom,
                ceiling: DEFAULT_CEILING,
                ceiling_at,
                data: Some(DataDetail {
                    servers: db.replicas,
                    threads: db.appliers,
                    ..base.clone()
                }),
                ..Component::new(Kind::Replication, &format!("{prefix} replication"))
            });
        }
        // Connections: each server's, the tightest against its limit.
        let servers = servers_of(&|r| match r {
            ServerRole::Primary { database, .. } | ServerRole::Replica { database, .. } => *database == k,
            ServerRole::CacheNode { .. } => false,
        });
        let rtt_s = db.rtt.as_secs_f64();
        let capacity = match db.pooler {
            Some(p) => p.pool_size,
            None => db
                .primary
                .max_connections
                .min(db.pool_size.saturating_mul(app_instances_max)),
        };
        let needed = |row: (Span, &DataRow), i: usize| {
            let in_flight = row.0.offered(row.1.server_load[i].operations as f64) * rtt_s;
            // Behind a pooler a server connection is held for the query only.
            work(row, i) + if db.pooler.is_some() { 0.0 } else { in_flight }
        };
        let tightest = |row: (Span, &DataRow)| servers.iter().map(|&i| needed(row, i)).fold(0.0, f64::max);
        let at = busiest(rows.iter().copied(), tightest);
        let (demand, work_demand, waits, timeouts) = at.map_or((0.0, 0.0, 0, 0), |(row, d)| {
            let i = servers
                .iter()
                .copied()
                .max_by(|&a, &b| needed(row, a).total_cmp(&needed(row, b)))
                .expect("a database has servers");
            let c = &row.1.databases[k].counts;
            (
                d,
                work(row, i),
                c.connection_waits,
                c.connection_timeouts + c.connection_refused,
            )
        });
        base.work_demand = work_demand;
        base.threads = db.primary.cores;
        // Refused connections: the pools together may open more than the
        // server (or its pooler's client side) admits, however few are
        // busy. What they may open is the demand that limit refuses.
        let may_open = u64::from(db.pool_size) * u64::from(app_instances_max);
        let (admits, limit) = match db.pooler {
            Some(p) => (p.max_client_connections, "its pooler admits"),
            None => (db.primary.max_connections, "the server takes"),
        };
        let refused =
            rows.iter().any(|(_, d)| d.databases[k].counts.connection_refused > 0) && may_open > u64::from(admits);
        base.clients_refused = refused;
        let (demand, capacity) = if refused {
            (demand.max(may_open as f64), f64::from(admits))
        } else {
            (demand, f64::from(capacity))
        };
        let (headroom, ceiling_at) = room(demand, capacity, DEFAULT_CEILING);
        out.push(Component {
            capacity: match db.pooler {
                Some(p) => format!(
                    "pooler: {} server connections per server, {} client connections",
                    p.pool_size, p.max_client_connections
                ),
                None => format!(
                    "{} per app instance × {} instances at most, max_connections {}",
                    db.pool_size, app_instances_max, db.primary.max_connections
                ),
            },
            unit: "connections (busiest server)".into(),
            capacity_units: capacity,
            peak_demand: demand,
            peak_used: f64::NAN,
            peak_utilization: demand / capacity,
            load: if refused {
                format!(
                    "the pools may open {may_open} connections and {limit} {admits}: refused ones fail \
                     ({timeouts} failures in the busiest interval)"
                )
            } else {
                format!(
                    "{} connections in use or wanted at peak, {waits} waits and {timeouts} failures in that interval",
                    short(demand)
                )
            },
            headroom,
            ceiling: DEFAULT_CEILING,
            ceiling_at,
            data: Some(base),
            ..Component::new(Kind::Connections, &format!("{} connections", db.name))
        });
    }
    for (q, queue) in data.queues.iter().enumerate() {
        let consumers = &pools[queue.consumers];
        let rate = |(span, d): (Span, &DataRow)| span.offered(d.queues[q].counts.enqueued as f64);
        let at = busiest(rows.iter().copied(), rate);
        // The backlog is judged where it is deepest, which is often after
        // the producers' peak (consumers still catching up).
        let deepest = intervals
            .iter()
            .filter_map(|r| r.data.as_ref().map(|d| (r.start.as_secs_f64(), &d.queues[q])))
            .max_by(|a, b| {
                a.1.depth_max
                    .cmp(&b.1.depth_max)
                    .then(a.1.oldest_age_s.total_cmp(&b.1.oldest_age_s))
            });
        let day = super::assumptions::has_diurnal(&spec.traffic.curve);
        let load = at.map_or_else(String::new, |((span, d), r)| {
            let row = &d.queues[q];
            let backlog = deepest.map_or_else(String::new, |(at, deep)| {
                format!(
                    "; deepest backlog {} at {}, oldest message then {} s",
                    deep.depth_max,
                    super::format::clock(at, day),
                    short(deep.oldest_age_s)
                )
            });
            format!(
                "{} msg/s in at peak, {} done, consumers {} busy{backlog}",
                short(r),
                short(span.per_second(row.counts.deleted as f64)),
                pct1(row.consumer_utilization())
            )
        });
        out.push(Component {
            capacity: format!("consumers: pool {}, {}", consumers.name, consumers.capacity),
            unit: "consumer cores".into(),
            capacity_units: consumers.capacity_units,
            peak_demand: consumers.peak_demand,
            peak_used: consumers.peak_used,
            peak_utilization: consumers.peak_utilization,
            load,
            headroom: consumers.headroom,
            ceiling: consumers.ceiling,
            ceiling_at: consumers.ceiling_at,
            pool: consumers.pool.clone(),
            ..Component::new(Kind::Queue, &queue.name)
        });
    }
    out
}

/// Gives each component around the pools its monthly cost from the run's
/// cost entries (summary.json `cost.components`): a sharded database's
/// primaries and replicas split their entry evenly over the shards.
fn price(components: &mut [Component], costs: &[crate::metrics::CostComponent]) {
    for c in components.iter_mut() {
        let (kind, of) = match (c.kind, &c.data) {
            (Kind::Database, Some(d)) => ("database", d.of.as_str()),
            (Kind::Replicas, Some(d)) => ("replicas", d.of.as_str()),
            (Kind::Cache, _) => ("cache", c.name.as_str()),
            (Kind::Cdn, _) => ("cdn", c.name.as_str()),
            (Kind::Balancer, _) => ("balancer", c.name.as_str()),
            (Kind::Queue, _) => ("queue", c.name.as_str()),
            _ => continue,
        };
        let Some(entry) = costs.iter().find(|e| e.kind == kind && e.name == of) else {
            continue;
        };
        let (share, count) = match (&c.data, c.kind) {
            (Some(d), Kind::Database) => (f64::from(d.shards.max(1)), 1),
            (Some(d), Kind::Replicas) => (f64::from(d.shards.max(1)), d.replicas),
            (Some(d), Kind::Cache) => (1.0, d.servers),
            _ => (1.0, 1),
        };
        c.cost_per_month_usd = entry.per_month_usd / share;
        c.cost_basis = if count > 1 {
            format!("{count} × {}", entry.item)
        } else {
            entry.item.clone()
        };
    }
}

/// Data transfer out, where the run priced it (classes that give `response_kib`).
fn transfer_components(costs: &[crate::metrics::CostComponent]) -> Vec<Component> {
    costs
        .iter()
        .filter(|e| e.kind == "transfer")
        .map(|e| Component {
            capacity: "no limit modelled".into(),
            load: format!("{:.3} GB over the run", e.quantity),
            cost_per_month_usd: e.per_month_usd,
            cost_basis: e.item.clone(),
            ..Component::new(Kind::Transfer, &format!("out to the {}", e.name))
        })
        .collect()
}

/// Balancers and regions: where the model sets no capacity of their own.
fn edge_components(spec: &SystemSpec, result: &RunResult, peak: &Peak, pools: &[Component]) -> Vec<Component> {
    let mut out = Vec::new();
    let arrived = result.summary.requests.arrived;
    for (l, lb) in spec.load_balancers.iter().enumerate() {
        let backends: Vec<&str> = lb.backends.iter().map(|b| spec.pools[b.pool].name.as_str()).collect();
        // The requests it took (first tries) over the run's arrivals: a
        // CDN's hits and another region's clients never reach it.
        let share = match result.balancer_requests.get(l) {
            Some(&n) if arrived > 0 => n as f64 / arrived as f64,
            _ => 0.0,
        };
        let rps = peak.offered_rps * share;
        let load = if rps > 0.0 {
            format!(
                "{} req/s at peak{}{}",
                short(rps),
                if share < 0.9995 {
                    format!(" ({} of the requests over the run reached it)", pct(share))
                } else {
                    String::new()
                },
                if lb.nodes > 1 {
                    format!(", {} per node", short(rps / f64::from(lb.nodes)))
                } else {
                    String::new()
                }
            )
        } else {
            String::new()
        };
        out.push(Component {
            capacity: format!(
                "{} node{}, {}, to {}",
                lb.nodes,
                plural(lb.nodes),
                super::architecture::policy_name(lb.policy),
                backends.join(", ")
            ),
            load,
            ..Component::new(Kind::Balancer, &lb.name)
        });
    }
    if let Some(geo) = &spec.geo {
        for (g, region) in geo.regions.iter().enumerate() {
            let first = pools
                .iter()
                .enumerate()
                .filter(|(p, c)| geo.pool_region[*p] == Some(g) && c.headroom.is_some())
                .min_by(|a, b| a.1.headroom.unwrap().total_cmp(&b.1.headroom.unwrap()));
            out.push(Component {
                capacity: format!("balancer {}", spec.load_balancers[region.balancer].name),
                load: first.map_or_else(String::new, |(_, c)| {
                    format!(
                        "first to saturate in it: pool {} at ×{:.2}",
                        c.name,
                        c.headroom.unwrap()
                    )
                }),
                ..Component::new(Kind::Region, &region.name)
            });
        }
    }
    out
}

impl Component {
    /// A component with no capacity of its own in the model (fields to fill in).
    pub(crate) fn new(kind: Kind, name: &str) -> Component {
        Component {
            kind,
            name: name.to_string(),
            capacity: String::new(),
            unit: String::new(),
            capacity_units: f64::NAN,
            peak_demand: f64::NAN,
            peak_used: f64::NAN,
            peak_utilization: f64::NAN,
            load: String::new(),
            headroom: None,
            ceiling: DEFAULT_CEILING,
            ceiling_at: None,
            verdict: String::new(),
            fix: String::new(),
            cost_per_month_usd: 0.0,
            cost_basis: String::new(),
            pool: None,
            data: None,
        }
    }

    /// `pool web`, `database orders primary`: how the review names it.
    pub fn title(&self) -> String {
        let kind = match self.kind {
            Kind::Replicas | Kind::Replication | Kind::Connections => "database",
            other => other.label(),
        };
        format!("{kind} {}", self.name)
    }
}

impl DataDetail {
    fn of(name: &str) -> DataDetail {
        DataDetail {
            of: name.to_string(),
            servers: 0,
            threads: 0,
            write_share: None,
            replicas: 0,
            read_from_replicas: false,
            replica_readable: 0.0,
            appliers: 0,
            shards: 1,
            pool_size: 0,
            max_connections: 0,
            app_instances_max: 0,
            pooler_pool_size: None,
            clients_refused: false,
            work_demand: f64::NAN,
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn pct1(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        "n/a".into()
    }
}

/// The verdict on a component at today's peak and the change it needs.
fn judge(c: &Component) -> (String, String) {
    if c.kind == Kind::Pool {
        return judge_pool(c);
    }
    let Some(headroom) = c.headroom else {
        return if c.capacity_units.is_finite() {
            ("idle".into(), "none: it saw no load".into())
        } else {
            ("no capacity limit in the model".into(), "none".into())
        };
    };
    let at = c.ceiling_at.unwrap_or(f64::INFINITY);
    let fix = || {
        c.change(1.0).map_or_else(
            || "none that capsim can simulate".to_string(),
            |ch| format!("{ch} (holds the peak at {} of its capacity)", pct(c.ceiling)),
        )
    };
    if c.saturated() {
        let what = match c.kind {
            Kind::Queue => format!("consumers saturated at peak ({} busy)", pct(c.peak_utilization)),
            Kind::Connections => format!("out of connections at peak ({} of them wanted)", pct(1.0 / headroom)),
            _ => format!(
                "saturated at peak ({} busy)",
                pct(c.peak_utilization.max(1.0 / headroom).min(1.0))
            ),
        };
        return (what, fix());
    }
    if at < 1.0 {
        return (format!("above its {} ceiling at peak", pct(c.ceiling)), fix());
    }
    (
        "within its ceiling".into(),
        format!("none at this load; reaches its ceiling at ×{at:.2} traffic"),
    )
}

/// The fix for an autoscaled pool whose capacity arrived late.
const SCALE_SOONER: &str = "scale sooner (a lower CPU target, a higher minimum, a shorter stabilization window or faster boot); \
     its maximum holds the peak";

/// A pool's verdict: its instances against its autoscaler's limits.
fn judge_pool(c: &Component) -> (String, String) {
    let Some(headroom) = c.headroom else {
        return ("idle".into(), "none: it saw no load".into());
    };
    let p = c.pool.as_ref().expect("a pool has its detail");
    let need = p.instances_needed;
    let scaled = p.autoscaler.is_some();
    if scaled && headroom >= 1.0 / 0.95 && c.peak_utilization >= 0.95 && need <= p.instances_max {
        // Busy at its peak size while its maximum would hold the load.
        return (
            format!(
                "saturated at peak ({} CPU) on {} of at most {} instances: capacity arrived late",
                pct(c.peak_utilization),
                p.instances_peak,
                p.instances_max
            ),
            SCALE_SOONER.into(),
        );
    }
    if c.saturated() {
        let fix = if scaled {
            format!(
                "raise the maximum from {} to at least {need} (holds the peak at {} CPU)",
                p.instances_max,
                pct(c.ceiling)
            )
        } else {
            format!(
                "grow from {} to {need} instances, or autoscale it (holds the peak at {} CPU)",
                p.instances_initial,
                pct(c.ceiling)
            )
        };
        return (format!("saturated at peak ({} CPU)", pct(c.peak_utilization)), fix);
    }
    if scaled && p.time_at_max_s > 0.0 {
        return (
            format!("autoscaler at its maximum for {:.0} s", p.time_at_max_s),
            format!(
                "raise the maximum from {} to {}",
                p.instances_max,
                need.max(p.instances_max + 1)
            ),
        );
    }
    if need > p.instances_max {
        let fix = if scaled {
            format!("raise the maximum from {} to {need}", p.instances_max)
        } else {
            format!("grow from {} to {need} instances", p.instances_initial)
        };
        return (format!("above its {} ceiling at peak", pct(c.ceiling)), fix);
    }
    if let Some(late) = &p.late {
        let state = if late.ready == 0 {
            format!("no instance of at most {} ready while work came", p.instances_max)
        } else {
            let cpu = if late.utilization.is_finite() {
                format!("{} CPU, ", pct(late.utilization))
            } else {
                String::new()
            };
            format!(
                "{} of at most {} instances ready, {cpu}{} requests waiting",
                late.ready,
                p.instances_max,
                short(late.waiting)
            )
        };
        return (
            format!(
                "overloaded while it scaled: at {}, {state}; the SLO broke in {} like it: capacity arrived late",
                super::format::clock(late.at_s, late.time_of_day),
                super::format::count(late.intervals as usize, "interval")
            ),
            SCALE_SOONER.into(),
        );
    }
    // Shrunk, it still holds the peak with one instance lost (N+1): never
    // below two, so the advice does not make a single point of failure.
    let keep = (need + 1).max(2);
    if !scaled && need * 2 <= p.instances_initial && keep < p.instances_initial {
        let saved = f64::from(p.instances_initial - keep) * p.hourly_usd * HOURS_PER_MONTH;
        return (
            format!("over-provisioned ({} CPU at peak)", pct(c.peak_utilization)),
            format!(
                "shrink from {} to {keep} instances ({} the peak at {} CPU, one more holds it with an instance lost; \
                 saves ${saved:.0}/month), or autoscale it; an estimate from this run, not simulated",
                p.instances_initial,
                if need == 1 {
                    "1 holds".to_string()
                } else {
                    format!("{need} hold")
                },
                pct(c.ceiling)
            ),
        );
    }
    (
        "within its ceiling".into(),
        format!(
            "none at this load; reaches its ceiling at ×{:.2} traffic",
            c.ceiling_at.unwrap_or(f64::INFINITY)
        ),
    )
}

/// First order: what each component needs at `growth`, in the order they
/// reach their ceilings. An estimate from today's run; the review's plan
/// simulates it (`report::plan`).
fn plan_step(term: &str, growth: f64, peak_rps: f64, components: &[Component]) -> PlanStep {
    let mut order: Vec<&Component> = components
        .iter()
        .filter(|c| c.ceiling_at.is_some_and(|at| at < growth))
        .collect();
    order.sort_by(|a, b| a.ceiling_at.unwrap().total_cmp(&b.ceiling_at.unwrap()));
    let actions = order
        .iter()
        .filter_map(|c| {
            let change = c.change(growth)?;
            let at = c.ceiling_at.unwrap();
            let when = if at < 1.0 {
                "already past its ceiling today".to_string()
            } else {
                format!("reaches its ceiling at ×{at:.2} ({:.0} req/s)", peak_rps * at)
            };
            let larger = match (&c.pool, &change) {
                (Some(p), Change::Instances { to, .. } | Change::Maximum { to, .. })
                    if *to > 100 && p.cores_per_instance < 16 =>
                {
                    "; at this count, consider larger instances (fewer, bigger nodes)"
                }
                _ => "",
            };
            Some(format!("{}: {when}; {change}{larger}", c.title()))
        })
        .collect();
    PlanStep {
        term: term.into(),
        growth,
        peak_rps: peak_rps * growth,
        actions,
        cost_per_month_usd: components.iter().map(|c| c.cost_at(growth)).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A primary busy with reads at twice its ceiling.
    fn primary(write_share: f64, replica_readable: f64) -> Component {
        Component {
            capacity_units: 4.0,
            peak_demand: 5.6,
            headroom: Some(4.0 / 5.6),
            ceiling: 0.7,
            ceiling_at: Some(0.5),
            data: Some(DataDetail {
                servers: 1,
                threads: 4,
                write_share: Some(write_share),
                replica_readable,
                ..DataDetail::of("db")
            }),
            ..Component::new(Kind::Database, "db primary")
        }
    }

    #[test]
    fn reads_go_to_replicas_only_when_replicas_may_serve_them() {
        assert!(matches!(
            primary(0.1, 1.0).change(1.0),
            Some(Change::ReadReplicas { to: 2, .. })
        ));
        // Every read must be fresh: replicas would serve nothing.
        assert!(matches!(
            primary(0.1, 0.0).change(1.0),
            Some(Change::DatabaseCores { from: 4, to: 8, .. })
        ));
        // Half the reads fresh: 45% of the work could move, not enough.
        assert!(matches!(
            primary(0.1, 0.5).change(1.0),
            Some(Change::DatabaseCores { .. })
        ));
    }

    #[test]
    fn shards_are_sized_from_the_busiest_shards_demand() {
        // 91 cores of writes on one 64-core primary: ⌈91 / 0.7 / 64⌉ = 3 shards.
        let c = Component {
            capacity_units: 64.0,
            peak_demand: 91.0,
            headroom: Some(64.0 / 91.0),
            ceiling: 0.7,
            ceiling_at: Some(0.7 * 64.0 / 91.0),
            data: Some(DataDetail {
                servers: 1,
                threads: 64,
                write_share: Some(1.0),
                ..DataDetail::of("ledger")
            }),
            ..Component::new(Kind::Database, "ledger primary")
        };
        assert!(matches!(c.change(1.0), Some(Change::Shards { from: 1, to: 3, .. })));
        assert!(c.saturated());
    }

    /// A fixed pool of `initial` one-core instances with `demand` cores of
    /// work at its peak and a 70% ceiling.
    fn fixed_pool(initial: u32, demand: f64) -> Component {
        let mut c = Component {
            capacity_units: f64::from(initial),
            peak_demand: demand,
            peak_used: demand,
            peak_utilization: demand / f64::from(initial),
            headroom: Some(f64::from(initial) / demand),
            ceiling: 0.7,
            ceiling_at: Some(0.7 * f64::from(initial) / demand),
            pool: Some(PoolDetail {
                name: "web".into(),
                instance_type: "c6i.large".into(),
                cores_per_instance: 1,
                hourly_usd: 0.1,
                instances_initial: initial,
                instances_min: initial,
                instances_peak: initial,
                instances_max: initial,
                autoscaler: None,
                scaler: None,
                node_pool: None,
                peak_queue: 0.0,
                time_at_max_s: 0.0,
                instances_needed: 0,
                cpu_target: None,
                late: None,
            }),
            ..Component::new(Kind::Pool, "web")
        };
        let needed = c.needed(1.0);
        c.pool.as_mut().unwrap().instances_needed = needed;
        c
    }

    #[test]
    fn a_minimum_raised_from_zero_says_it_ends_scaling_to_zero() {
        let change = |from| Change::Minimum {
            pool: "reports".into(),
            from,
            to: 11,
        };
        assert_eq!(
            change(0).to_string(),
            "raise the autoscaler minimum of pool reports from 0 to 11 (it no longer scales to zero)"
        );
        assert_eq!(
            change(2).to_string(),
            "raise the autoscaler minimum of pool reports from 2 to 11"
        );
    }

    #[test]
    fn shrinking_keeps_one_instance_to_lose() {
        // 0.5 cores of work: one instance holds it at 50%; shrunk to two,
        // losing one still holds it.
        let (verdict, fix) = judge(&fixed_pool(4, 0.5));
        assert!(verdict.starts_with("over-provisioned"), "{verdict}");
        assert!(
            fix.starts_with("shrink from 4 to 2 instances (1 holds the peak at 70% CPU"),
            "{fix}"
        );
        assert!(fix.contains("saves $146/month"), "{fix}");
        // Two hold 1.2 cores; three keep one to lose.
        let (_, fix) = judge(&fixed_pool(8, 1.2));
        assert!(fix.starts_with("shrink from 8 to 3 instances (2 hold"), "{fix}");
        // Never to one, and not when N+1 is all it has.
        assert_eq!(judge(&fixed_pool(2, 0.3)).0, "within its ceiling");
        assert_eq!(judge(&fixed_pool(3, 1.2)).0, "within its ceiling");
    }
}
