//! The run summary: the public contract written as `summary.json`.

use crate::engine::StopReason;

use super::latency::LatencySummary;
use super::recorder::{CapacityRecord, Counters};
use super::slo::SloSummary;

/// Request outcomes over the whole run. `arrived = completed + rejected +
/// timed_out + in_flight` always holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RequestCounts {
    pub arrived: u64,
    pub completed: u64,
    pub rejected_queue_full: u64,
    pub rejected_no_instance: u64,
    pub timed_out: u64,
    pub failed: u64,
    pub failed_downstream: u64,
    pub in_flight: u64,
    /// (rejected + timed out + failed) / arrived.
    pub error_rate: f64,
}

impl RequestCounts {
    pub fn new(c: &Counters, in_flight: u64) -> RequestCounts {
        let error_rate = if c.arrived == 0 {
            0.0
        } else {
            c.errors() as f64 / c.arrived as f64
        };
        RequestCounts {
            arrived: c.arrived,
            completed: c.completed,
            rejected_queue_full: c.rejected_queue_full,
            rejected_no_instance: c.rejected_no_instance,
            timed_out: c.timed_out,
            failed: c.failed,
            failed_downstream: c.failed_downstream,
            in_flight,
            error_rate,
        }
    }

    pub fn conserved(&self) -> bool {
        self.arrived
            == self.completed
                + self.rejected_queue_full
                + self.rejected_no_instance
                + self.timed_out
                + self.failed
                + self.failed_downstream
                + self.in_flight
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PoolSummary {
    pub name: String,
    pub instance_type: String,
    pub instances_initial: u32,
    pub instances_peak: u32,
    /// Time-averaged instances in the pool (any state but stopped).
    pub instances_mean: f64,
    /// Busy core-time over serving core-time across the run.
    pub cpu_utilization: f64,
    /// Time-averaged requests waiting for a worker or a core.
    pub queue_length_mean: f64,
    pub cost_usd: f64,
    /// A mixed group's instances and cost per instance type and market
    /// (empty, and left out, for other pools).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_instance_type: Vec<TypeCost>,
    /// What the pool's autoscaler did (absent for fixed pools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalingSummary>,
    /// The node pool under the pool, when it has one (its nodes are billed, not its pods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<NodeSummary>,
}

/// One instance type of a mixed group: what it ran and what it cost.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TypeCost {
    pub instance_type: String,
    pub market: crate::model::Market,
    pub hourly_usd: f64,
    /// Instances of this type launched over the run (the initial ones included).
    pub launched: u32,
    /// Time-averaged instances of this type (any state but stopped).
    pub instances_mean: f64,
    pub cost_usd: f64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct NodeSummary {
    pub instance_type: String,
    pub pods_per_node: u32,
    pub initial: u32,
    pub peak: u32,
    pub launched: u32,
    pub removed: u32,
}

/// How an autoscaled pool moved.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ScalingSummary {
    pub autoscaler: &'static str,
    /// Evaluations that changed the desired size, up and down.
    pub scale_ups: u32,
    pub scale_downs: u32,
    /// Scale-ups followed by a scale-down or the reverse: flapping.
    pub direction_changes: u32,
    pub direction_changes_per_hour: f64,
    /// Time the desired size sat at max replicas.
    pub time_at_max_s: f64,
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// How long added capacity took to serve, and where the time went.
    pub time_to_capacity: Option<CapacityStats>,
}

/// Time to capacity over the instances an autoscaler added (see `capacity.csv`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CapacityStats {
    pub instances: usize,
    pub mean_s: f64,
    pub max_s: f64,
    pub mean_averaging_s: f64,
    pub mean_pipeline_delay_s: f64,
    pub mean_sync_wait_s: f64,
    pub mean_node_wait_s: f64,
    pub mean_boot_s: f64,
    pub mean_readiness_s: f64,
}

impl CapacityStats {
    pub fn of(records: &[&CapacityRecord]) -> Option<CapacityStats> {
        if records.is_empty() {
            return None;
        }
        let n = records.len() as f64;
        let mean = |f: fn(&CapacityRecord) -> f64| records.iter().map(|r| f(r)).sum::<f64>() / n;
        Some(CapacityStats {
            instances: records.len(),
            mean_s: mean(CapacityRecord::total_s),
            max_s: records.iter().map(|r| r.total_s()).fold(0.0, f64::max),
            mean_averaging_s: mean(|r| r.averaging_s),
            mean_pipeline_delay_s: mean(|r| r.pipeline_delay_s),
            mean_sync_wait_s: mean(|r| r.sync_wait_s),
            mean_node_wait_s: mean(|r| r.node_wait_s),
            mean_boot_s: mean(|r| r.boot_s),
            mean_readiness_s: mean(|r| r.readiness_s),
        })
    }
}

/// One request class's response times.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassSummary {
    pub name: String,
    pub latency: LatencySummary,
}

/// What the run cost. `total_usd`, `per_month_usd` and
/// `per_million_requests_usd` are the app instances' (the pools, and the
/// nodes under them); `system_*` adds every other priced component.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CostSummary {
    pub total_usd: f64,
    /// Total scaled to a 730-hour month at the run's average spend rate.
    pub per_month_usd: f64,
    /// Total per million completed requests (NaN → null when none completed).
    pub per_million_requests_usd: f64,
    /// Every component's cost over the run, and scaled to a 730-hour month.
    pub system_total_usd: f64,
    pub system_per_month_usd: f64,
    /// Whether the monthly figures scale a run shorter than a day (said in `note`).
    pub extrapolated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// One entry per priced component, pools first.
    pub components: Vec<CostComponent>,
}

/// One priced component of a run: what it is billed as and what it cost.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CostComponent {
    /// `pool`, `database`, `replicas`, `cache`, `cdn`, `balancer`, `queue`
    /// or `transfer` (data transfer out to the internet).
    pub kind: &'static str,
    pub name: String,
    /// What is billed, in short (`db.r6g.xlarge`, `ALB`).
    pub item: String,
    /// How many are billed: instances on average, servers, nodes, balancers
    /// or requests (`unit` says which).
    pub quantity: f64,
    pub unit: &'static str,
    /// Hours of the run it is billed for.
    pub hours: f64,
    pub usd: f64,
    /// `usd` scaled to a 730-hour month at the run's average rate.
    pub per_month_usd: f64,
    /// How the cost was computed, in words.
    pub basis: String,
}

/// Everything `summary.json` reports about one run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunSummary {
    pub capsim_version: &'static str,
    pub scenario: String,
    pub seed: u64,
    pub replication: u32,
    /// Requested run length.
    pub duration_s: f64,
    /// Simulated time actually reached.
    pub simulated_s: f64,
    pub warmup_s: f64,
    pub interval_s: f64,
    pub events: u64,
    /// Arrival candidates the rate curve's thinning rejected: work that
    /// made no event, counted against the event budget with the events.
    pub rejected_arrival_draws: u64,
    pub stop_reason: StopReason,
    pub requests: RequestCounts,
    /// Completed requests per second of simulated time.
    pub throughput_rps: f64,
    /// Time-averaged requests in the system over the run.
    pub in_system_mean: f64,
    /// Arrival to response (requests that arrived after the warm-up).
    pub latency: LatencySummary,
    /// Arrival to first core.
    pub queueing: LatencySummary,
    /// First core to response.
    pub service: LatencySummary,
    /// Arrival to response, per request class.
    pub classes: Vec<ClassSummary>,
    pub pools: Vec<PoolSummary>,
    pub cost: CostSummary,
    /// SLO accounting, when the scenario declares an SLO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloSummary>,
    /// What each scheduled fault cost, when the scenario has any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSummary>,
    /// With regions: each region's traffic and DNS status changes, and each
    /// client population's requests.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub populations: Vec<PopulationSummary>,
    /// Faults drawn at random, each over all its occurrences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub random_faults: Vec<RandomFaultSummary>,
    /// What each scheduled deploy cost, when the scenario has any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deploys: Vec<DeploySummary>,
    /// Load balancers with health checks, retries, slow start or keepalive.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LbSummary>,
    /// Caches, databases and their servers, when the scenario has a data tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSummary>,
}

/// The data tier over the measured part of a run (after the warm-up).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DataSummary {
    /// Where a request's time goes: the app instances first, then each
    /// cache tier and database.
    pub tiers: Vec<TierSummary>,
    pub caches: Vec<CacheSummary>,
    pub databases: Vec<DatabaseSummary>,
    /// Every cache node and database server.
    pub servers: Vec<ServerSummary>,
    pub queues: Vec<QueueSummary>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct QueueSummary {
    pub name: String,
    /// The pool whose instances consume it.
    pub consumers: String,
    pub enqueued: u64,
    /// Enqueues refused at the maximum depth (the producing request failed).
    pub rejected: u64,
    pub received: u64,
    pub deleted: u64,
    /// Processing attempts that failed, and visibility timeouts that made a
    /// message visible again (failed, slow or stopped consumers).
    pub failed: u64,
    pub timed_out: u64,
    pub dead_lettered: u64,
    /// Processing that ended on a receipt no longer the latest: work done twice.
    pub stale: u64,
    /// Messages in the queue (visible and in flight), time-averaged and at most.
    pub depth_mean: f64,
    pub depth_max: u64,
    /// The largest age of the oldest message at an interval's end (s).
    pub oldest_age_max_s: f64,
    /// Messages being processed over the consumers' workers.
    pub consumer_utilization: f64,
    /// Enqueue to deletion, for messages enqueued after the warm-up.
    pub end_to_end: LatencySummary,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TierSummary {
    pub name: String,
    /// `app`, `local_cache`, `shared_cache` or `database`.
    pub kind: &'static str,
    /// Time spent in the tier per completed request (ms), the stacked breakdown.
    pub ms_per_request: f64,
    /// Each call to the tier, from issue to result (connection waits and
    /// round trips included); absent for the app tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_call: Option<LatencySummary>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CacheSummary {
    pub name: String,
    pub scope: &'static str,
    pub hits: u64,
    pub misses: u64,
    /// hits / (hits + misses); null when nothing was looked up.
    pub hit_ratio: f64,
    pub evictions: u64,
    pub expirations: u64,
    pub invalidations: u64,
    /// Misses that waited for another request's fill of the same key.
    pub coalesced: u64,
    /// A CDN's shield and origin traffic (for `scope: edge`; the counts
    /// above are its PoPs').
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeSummary>,
}

/// One deploy and what it cost.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DeploySummary {
    pub at_s: f64,
    pub pool: String,
    /// `rolling` or `blue_green`.
    pub strategy: &'static str,
    /// The version it rolled out (the pool starts at 0).
    pub version: u32,
    /// From its start until no old instance was left; null if not by the run's end.
    pub duration_s: Option<f64>,
    /// Blue-green: from its start until traffic moved to the new set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switched_after_s: Option<f64>,
    /// The pool's desired size when it began, and the most its autoscaler
    /// asked for from then until 10 minutes after its end (above
    /// `desired_before` with steady traffic: the deploy inflated it).
    pub desired_before: u32,
    pub desired_peak: u32,
    /// Live instances (booting, ready, draining) at most: the surge's cost.
    pub instances_peak: u32,
    /// Ready instances at least: the capacity dip.
    pub ready_min: u32,
    /// Errors of every kind from its start to its end (or the run's end).
    pub errors: u64,
}

/// What a load balancer's checks, retries and connections did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LbSummary {
    pub name: String,
    /// Tries sent to backends: first tries and retries.
    pub tries: u64,
    pub retries: u64,
    /// Failed tries the retry budget kept from being retried.
    pub retries_over_budget: u64,
    /// Tries per client request: the load amplification of retries.
    pub tries_per_request: f64,
    /// Failed tries by cause: a dead backend refused (or reset) them, an
    /// unreachable one let the connect time out, a full accept queue
    /// refused them, the try timeout ran out.
    pub failed_tries_refused: u64,
    pub failed_tries_unreachable: u64,
    pub failed_tries_queue_full: u64,
    pub failed_tries_timeout: u64,
    /// Backends the active checks took out, and put back.
    pub marked_down: u64,
    pub marked_up: u64,
    /// Backends passive marking took out for `fail_timeout`.
    pub ejected: u64,
    /// Tries that opened a new upstream connection (keepalive misses).
    pub new_connections: u64,
    /// Requests whose client reached a failed node before moving away.
    pub failed_at_dead_node: u64,
}

/// One scheduled fault and what it cost.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FaultSummary {
    pub at_s: f64,
    pub kind: &'static str,
    /// The pools it hit, and for a zone outage the zone.
    pub pools: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Instances it hit (fewer than asked when fewer were ready).
    pub instances: u32,
    /// Requests the crashed instances held, failed with them.
    pub requests_failed: u64,
    /// Errors of every kind from the fault until the pool was whole again
    /// (or the run's end, if it never was).
    pub errors_until_recovered: u64,
    /// From the fault until every pool it hit had its ready instances back
    /// (a crash, a zone outage) or the slowdown ended; null if not by the
    /// run's end.
    pub time_to_recover_s: Option<f64>,
}

/// One region over the whole run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RegionSummary {
    pub name: String,
    pub balancer: String,
    /// Requests the DNS sent here, and their share of all.
    pub requests: u64,
    pub share: f64,
    /// Of them, sent while it was dark: their clients could not connect.
    pub lost_while_dark: u64,
    /// When the DNS health checks took it out, and put it back.
    pub dns_marked_down_at_s: Vec<f64>,
    pub dns_marked_up_at_s: Vec<f64>,
}

/// One client population over the whole run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PopulationSummary {
    pub name: String,
    pub requests: u64,
    /// Sent to a region other than its nearest (failed over).
    pub not_nearest: u64,
    /// The round trip its requests' response times include.
    pub rtt_mean_ms: f64,
}

/// A fault drawn at random, over all its occurrences in the run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RandomFaultSummary {
    pub kind: &'static str,
    /// Mean time between failures, per instance (per zone for an outage).
    pub mtbf_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub occurrences: u64,
    /// Instances hit, over all occurrences.
    pub instances: u64,
    pub requests_failed: u64,
    /// Summed over occurrences (errors while two overlap count for both).
    pub errors_until_recovered: u64,
    /// Occurrences not recovered by the run's end.
    pub not_recovered: u64,
    /// Over the recovered occurrences; null if none recovered.
    pub time_to_recover_mean_s: Option<f64>,
    pub time_to_recover_max_s: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EdgeSummary {
    pub pops: u32,
    /// Lookups at the shield after a PoP miss (all zero without one).
    pub shield_hits: u64,
    pub shield_misses: u64,
    pub shield_hit_ratio: f64,
    /// Reads the edge sent on to the origin.
    pub origin_requests: u64,
    /// 1 − origin requests / lookups: the share of cacheable reads the
    /// origin never saw.
    pub offload: f64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DatabaseSummary {
    pub name: String,
    pub reads: u64,
    pub replica_reads: u64,
    pub writes: u64,
    /// Database reads per completed request (what the caches in front save).
    pub reads_per_request: f64,
    /// Replica reads of a key whose latest write had not been applied there.
    pub stale_reads: u64,
    /// stale_reads / replica_reads.
    pub stale_read_rate: f64,
    /// Read responses (from any cache or a replica) older than the primary's latest.
    pub stale_responses: u64,
    /// stale_responses / read responses.
    pub stale_response_rate: f64,
    /// Reads that returned an older version of a key than the same client had written.
    pub read_your_writes_violations: u64,
    pub connection_waits: u64,
    pub connection_wait_mean_ms: f64,
    pub connection_timeouts: u64,
    pub connection_refused: u64,
    /// Queries failed by a down server or a primary being replaced (scheduled faults).
    pub unavailable: u64,
    /// Writes committed on a failed primary that its promoted replica had not applied.
    pub lost_writes: u64,
    pub replicas: Vec<ReplicaSummary>,
    /// Each shard's load and call time (sharded databases only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardSummary>,
    /// What adding one more shard would move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resharding: Option<crate::model::data::Resharding>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ShardSummary {
    pub name: String,
    pub reads: u64,
    pub writes: u64,
    /// This shard's part of the database's queries (1/N when balanced).
    pub share: f64,
    pub primary_utilization: f64,
    /// Each query on the shard, from issue to result.
    pub per_call: LatencySummary,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ReplicaSummary {
    pub name: String,
    /// Mean of the lag at each interval's end, and the largest lag seen.
    pub lag_mean_ms: f64,
    pub lag_max_ms: f64,
    /// Each write's delay from commit on the primary to visible on this
    /// replica (writes committed after the warm-up): what "replication
    /// lag" means to a reader.
    pub replication_delay: crate::metrics::LatencySummary,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ServerSummary {
    pub name: String,
    pub threads: u32,
    /// Busy threads over threads (measured part of the run).
    pub utilization: f64,
    /// Operations over the whole run and their mean wait for a thread.
    pub operations: u64,
    pub wait_mean_ms: f64,
    pub connections_open: u32,
    pub max_connections: Option<u32>,
    /// Its region, for a database placed in regions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}
