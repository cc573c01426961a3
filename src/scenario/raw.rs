//! The scenario file as written: serde structs mirroring the format, with
//! unknown fields rejected. Nothing here is validated beyond types; see
//! `validate.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::units::{self, Duration, Quantity};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    pub duration: Duration,
    #[serde(default)]
    pub warmup: Option<Duration>,
    #[serde(default)]
    pub interval: Option<Duration>,
    #[serde(default)]
    pub max_events: Option<u64>,
    #[serde(default)]
    pub max_requests_held: Option<u64>,
    #[serde(default)]
    pub billing: Option<RawBilling>,
    #[serde(default)]
    pub instance_types: BTreeMap<String, RawInstanceType>,
    pub traffic: RawTraffic,
    pub load_balancers: BTreeMap<String, RawLoadBalancer>,
    pub pools: BTreeMap<String, RawPool>,
    #[serde(default)]
    pub caches: BTreeMap<String, RawCache>,
    #[serde(default)]
    pub databases: BTreeMap<String, RawDatabase>,
    #[serde(default)]
    pub queues: BTreeMap<String, RawQueue>,
    #[serde(default)]
    pub faults: Vec<RawFault>,
    #[serde(default)]
    pub deploys: Vec<RawDeploy>,
    #[serde(default)]
    pub regions: BTreeMap<String, RawRegion>,
    #[serde(default)]
    pub dns: Option<RawDns>,
    #[serde(default)]
    pub slo: Option<RawSlo>,
    /// Traffic multiples over the run's peak the review plans for.
    #[serde(default)]
    pub growth: Option<Vec<f64>>,
    /// Overrides of the built-in price catalogue (`alb_usd_per_hour: 0.03`,
    /// `db.r6g.xlarge: 0.5`).
    #[serde(default)]
    pub prices: BTreeMap<String, f64>,
}

/// A region: `{ balancer: alb-east }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    pub balancer: String,
    /// Round trips to other regions (each pair given once, on either side).
    #[serde(default)]
    pub rtt: BTreeMap<String, Duration>,
}

/// How clients find a region: `{ ttl: 60s, health_check: {…}, populations: {…} }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    #[serde(default)]
    pub ttl: Option<Duration>,
    #[serde(default)]
    pub health_check: Option<RawDnsCheck>,
    pub populations: BTreeMap<String, RawPopulation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDnsCheck {
    #[serde(default)]
    pub interval: Option<Duration>,
    #[serde(default)]
    pub fails: Option<u32>,
    #[serde(default)]
    pub passes: Option<u32>,
}

/// `{ share: 0.6, rtt: { us-east: 20ms, eu-west: 95ms } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPopulation {
    #[serde(deserialize_with = "units::fraction")]
    pub share: f64,
    pub rtt: BTreeMap<String, Duration>,
}

/// A fault at a fixed time, `{ at: 5m, crash: { pool: web } }`, or drawn
/// at random, `{ mtbf: 30d, crash: { pool: web } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    #[serde(default)]
    pub at: Option<Duration>,
    #[serde(default)]
    pub mtbf: Option<Duration>,
    #[serde(default)]
    pub crash: Option<RawCrash>,
    #[serde(default)]
    pub slowdown: Option<RawSlowdown>,
    #[serde(default)]
    pub zone_outage: Option<RawZoneOutage>,
    #[serde(default)]
    pub spot_interruption: Option<RawSpotInterruption>,
    #[serde(default)]
    pub region_outage: Option<RawRegionOutage>,
    #[serde(default)]
    pub lb_node_failure: Option<RawLbNodeFailure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLbNodeFailure {
    pub balancer: String,
    /// 1-based; the first when left out.
    #[serde(default)]
    pub node: Option<u32>,
    #[serde(rename = "for")]
    pub duration: Duration,
    #[serde(default)]
    pub detected_after: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegionOutage {
    pub region: String,
    #[serde(rename = "for")]
    pub duration: Duration,
    #[serde(default)]
    pub detected_after: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpotInterruption {
    pub pool: String,
    #[serde(default)]
    pub instances: Option<u32>,
    #[serde(default)]
    pub notice: Option<Duration>,
    /// Only spot instances of this type (a mixed group's spot pool).
    #[serde(default)]
    pub instance_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZoneOutage {
    pub zone: String,
    #[serde(rename = "for")]
    pub duration: Duration,
    #[serde(default)]
    pub detected_after: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrash {
    pub pool: String,
    #[serde(default)]
    pub instances: Option<u32>,
    #[serde(default)]
    pub detected_after: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlowdown {
    pub pool: String,
    #[serde(default)]
    pub instances: Option<u32>,
    pub factor: f64,
    #[serde(rename = "for")]
    pub duration: Duration,
}

/// A message queue and the pool that consumes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    pub consumers: String,
    /// CPU demand of processing one message on a consumer.
    pub job: RawDistribution,
    #[serde(default)]
    pub rtt: Option<Duration>,
    #[serde(default)]
    pub visibility_timeout: Option<Duration>,
    #[serde(default)]
    pub max_receives: Option<u32>,
    #[serde(default, deserialize_with = "units::some_fraction")]
    pub failure_probability: Option<f64>,
    #[serde(default)]
    pub max_depth: Option<u64>,
}

/// A cache tier: where it lives (`local`, `shared` or at the `edge`) and
/// either per-key state (`capacity`, …) or a fixed `hit_ratio`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    #[serde(default)]
    pub local: Option<RawLocalCache>,
    #[serde(default)]
    pub shared: Option<RawSharedCache>,
    #[serde(default)]
    pub edge: Option<RawEdgeCache>,
    #[serde(default)]
    pub capacity: Option<u64>,
    #[serde(default)]
    pub eviction: Option<RawEviction>,
    #[serde(default)]
    pub ttl: Option<Duration>,
    #[serde(default, deserialize_with = "units::some_fraction")]
    pub hit_ratio: Option<f64>,
    #[serde(default)]
    pub on_write: Option<RawOnWrite>,
    #[serde(default)]
    pub coalesce: Option<bool>,
    #[serde(default)]
    pub faults: Vec<RawCacheFault>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocalCache {
    #[serde(default)]
    pub lookup: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSharedCache {
    pub nodes: u32,
    /// A node type of the catalogue (`cache.r6g.large`): what a node is billed as.
    #[serde(default)]
    pub node_type: Option<String>,
    /// A node's price, over the node type's.
    #[serde(default)]
    pub hourly_usd: Option<f64>,
    #[serde(default)]
    pub threads: Option<u32>,
    #[serde(default)]
    pub service: Option<RawDistribution>,
    #[serde(default)]
    pub rtt: Option<Duration>,
}

/// A CDN in front of the load balancer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEdgeCache {
    pub pops: u32,
    /// A PoP's time to answer a hit (or pass a request on).
    pub latency: RawDistribution,
    /// Round trip from a PoP (or the shield) to the origin.
    pub origin_rtt: Duration,
    #[serde(default)]
    pub shield: Option<RawShield>,
}

/// An origin shield: one cache every PoP asks before the origin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShield {
    pub capacity: u64,
    pub rtt: Duration,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum RawEviction {
    Lru,
    Lfu,
    Fifo,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawOnWrite {
    Delete,
    Update,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub primary: RawDbServer,
    #[serde(default)]
    pub replicas: Option<u32>,
    #[serde(default)]
    pub replica: Option<RawDbServer>,
    pub read: RawDistribution,
    pub write: RawDistribution,
    #[serde(default)]
    pub rtt: Option<Duration>,
    #[serde(default)]
    pub read_from: Option<RawReadFrom>,
    #[serde(default)]
    pub replication: Option<RawReplication>,
    #[serde(default)]
    pub pool: Option<RawConnPool>,
    #[serde(default)]
    pub pooler: Option<RawPooler>,
    /// Shards, each a primary with its own replicas.
    #[serde(default)]
    pub shards: Option<u32>,
    #[serde(default)]
    pub sharding: Option<RawSharding>,
    #[serde(default)]
    pub shard_by: Option<RawShardBy>,
    #[serde(default)]
    pub faults: Vec<RawDbFault>,
    /// With regions: where its primaries (and `replicas`) are, and read
    /// replicas per shard in other regions.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub regional_replicas: BTreeMap<String, u32>,
    /// Provisioned storage of each server, billed per GB-month (gp3).
    #[serde(default)]
    pub storage_gb: Option<f64>,
    /// A standby for the primary in another zone: its instance and storage are billed twice.
    #[serde(default)]
    pub multi_az: Option<bool>,
}

/// One scheduled database failure: exactly one of the kinds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDbFault {
    #[serde(default)]
    pub at: Option<Duration>,
    #[serde(default)]
    pub mtbf: Option<Duration>,
    /// 1-based; the first shard when left out.
    #[serde(default)]
    pub shard: Option<u32>,
    #[serde(default)]
    pub replica_down: Option<RawReplicaDown>,
    #[serde(default)]
    pub replica_lag: Option<RawReplicaDown>,
    #[serde(default)]
    pub primary_failover: Option<RawFailover>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReplicaDown {
    /// 1-based, as the server names show it.
    pub replica: u32,
    #[serde(rename = "for")]
    pub duration: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFailover {
    pub promotion: Duration,
}

/// A shared cache node taken down for a while.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCacheFault {
    #[serde(default)]
    pub at: Option<Duration>,
    #[serde(default)]
    pub mtbf: Option<Duration>,
    /// 1-based, as the server names show it.
    #[serde(default)]
    pub node_down: Option<u32>,
    #[serde(default, rename = "for")]
    pub duration: Option<Duration>,
    #[serde(default)]
    pub flush: bool,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawSharding {
    Modulo,
    ConsistentHash,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawShardBy {
    Key,
    Client,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDbServer {
    /// Queries it runs at once; the class's vCPUs when a `class` is given.
    #[serde(default)]
    pub cores: Option<u32>,
    /// An instance class of the catalogue (`db.r6g.xlarge`).
    #[serde(default)]
    pub class: Option<String>,
    /// Its price, over the class's.
    #[serde(default)]
    pub hourly_usd: Option<f64>,
    #[serde(default)]
    pub max_connections: Option<u32>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawReadFrom {
    Replicas,
    Primary,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReplication {
    #[serde(default)]
    pub delay: Option<Duration>,
    #[serde(default)]
    pub apply: Option<RawDistribution>,
    #[serde(default)]
    pub appliers: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnPool {
    #[serde(default)]
    pub size: Option<u32>,
    #[serde(default)]
    pub wait_timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPooler {
    #[serde(default)]
    pub pool_size: Option<u32>,
    #[serde(default)]
    pub max_client_connections: Option<u32>,
    #[serde(default)]
    pub wait_timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    #[serde(default)]
    pub latency: Option<RawLatencySlo>,
    #[serde(default, deserialize_with = "units::some_fraction")]
    pub error_rate: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLatencySlo {
    #[serde(deserialize_with = "units::percentile")]
    pub percentile: f64,
    pub threshold: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawBilling {
    PerSecond {
        #[serde(default)]
        minimum: Option<Duration>,
    },
    PerHour {},
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstanceType {
    pub vcpu: u32,
    pub memory_gib: f64,
    #[serde(default)]
    pub speed: Option<f64>,
    pub hourly_usd: f64,
    #[serde(default)]
    pub market: Option<RawMarket>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum RawMarket {
    OnDemand,
    Spot,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub rate: RawRate,
    #[serde(default)]
    pub arrivals: Option<RawArrivals>,
    pub classes: Vec<RawClass>,
    #[serde(default)]
    pub clients: Option<u64>,
    #[serde(default)]
    pub keys: Option<RawKeys>,
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawArrivals {
    Poisson,
    Deterministic,
}

/// A rate curve piece or combination.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawRate {
    Constant(f64),
    Ramp {
        from: f64,
        to: f64,
        start: Duration,
        end: Duration,
    },
    Steps(Vec<RawStep>),
    Diurnal {
        peak: f64,
        peak_to_trough: f64,
        peak_at: Duration,
        #[serde(default)]
        period: Option<Duration>,
    },
    Spike {
        start: Duration,
        duration: Duration,
        multiplier: f64,
        #[serde(default)]
        rise: Option<Duration>,
        #[serde(default)]
        decay: Option<Duration>,
    },
    Replay {
        file: String,
        #[serde(default)]
        interpolate: Option<RawInterpolate>,
    },
    Noise {
        sd: f64,
        interval: Duration,
    },
    Sum(Vec<RawRate>),
    Product(Vec<RawRate>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub at: Duration,
    pub rate: f64,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawInterpolate {
    Step,
    Linear,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    pub name: String,
    #[serde(default)]
    pub weight: Option<f64>,
    #[serde(default)]
    pub kind: Option<RawKind>,
    pub cpu: RawDistribution,
    #[serde(default)]
    pub data: Option<RawDataPath>,
    /// Mean size of a response, in KiB (prices data transfer out).
    #[serde(default)]
    pub response_kib: Option<f64>,
    /// Share of its CPU that need not finish before the answer (sending a
    /// mail, a thumbnail): what the review may move to a queue.
    #[serde(default, deserialize_with = "units::some_fraction")]
    pub deferrable: Option<f64>,
}

/// `{ caches: [local, redis], database: orders, fresh: false }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataPath {
    #[serde(default)]
    pub caches: Vec<String>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub fresh: Option<bool>,
    #[serde(default)]
    pub enqueue: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum RawKind {
    Read,
    Write,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeys {
    pub count: u64,
    #[serde(default)]
    pub zipf: Option<f64>,
}

/// A distribution of durations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawDistribution {
    Constant(Duration),
    Exponential {
        mean: Duration,
    },
    Lognormal {
        mean: Duration,
        #[serde(deserialize_with = "units::fraction")]
        cv: f64,
    },
    Gamma {
        mean: Duration,
        #[serde(deserialize_with = "units::fraction")]
        cv: f64,
    },
    Uniform {
        min: Duration,
        max: Duration,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoadBalancer {
    #[serde(default)]
    pub policy: Option<RawPolicy>,
    #[serde(default)]
    pub pool: Option<String>,
    #[serde(default)]
    pub backends: Option<Vec<RawBackend>>,
    #[serde(default)]
    pub health_check: Option<RawHealthCheck>,
    #[serde(default)]
    pub passive: Option<RawPassive>,
    #[serde(default)]
    pub retries: Option<RawRetries>,
    #[serde(default)]
    pub slow_start: Option<Duration>,
    #[serde(default)]
    pub keepalive: Option<RawKeepalive>,
    #[serde(default)]
    pub connect_timeout: Option<Duration>,
    #[serde(default)]
    pub nodes: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    #[serde(default)]
    pub interval: Option<Duration>,
    #[serde(default)]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub fails: Option<u32>,
    #[serde(default)]
    pub passes: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPassive {
    #[serde(default)]
    pub max_fails: Option<u32>,
    #[serde(default)]
    pub fail_timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    #[serde(default)]
    pub max: Option<u32>,
    #[serde(default)]
    pub on: Option<Vec<RawRetryOn>>,
    #[serde(default)]
    pub try_timeout: Option<Duration>,
    #[serde(default)]
    pub budget: Option<RawRetryBudget>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawRetryOn {
    Error,
    Timeout,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetryBudget {
    #[serde(default, deserialize_with = "units::some_fraction")]
    pub ratio: Option<f64>,
    #[serde(default)]
    pub min_per_second: Option<f64>,
    #[serde(default)]
    pub window: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeepalive {
    #[serde(default)]
    pub idle: Option<u32>,
    pub handshake: Duration,
    #[serde(default)]
    pub idle_timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawPolicy {
    RoundRobin,
    WeightedRoundRobin,
    LeastConnections,
    WeightedLeastConnections,
    Random,
    PowerOfTwoChoices,
    IpHash,
    ConsistentHash {
        on: RawHashOn,
        #[serde(default)]
        vnodes: Option<u32>,
    },
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawHashOn {
    Client,
    Key,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackend {
    pub pool: String,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub backup: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub instance_type: String,
    pub count: u32,
    #[serde(default)]
    pub cores: Option<u32>,
    #[serde(default)]
    pub workers: Option<u32>,
    #[serde(default)]
    pub queue_capacity: Option<u32>,
    #[serde(default)]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub boot_time: Option<RawDistribution>,
    #[serde(default)]
    pub warm_start: Option<bool>,
    #[serde(default)]
    pub readiness_delay: Option<Duration>,
    #[serde(default)]
    pub termination_grace: Option<Duration>,
    #[serde(default)]
    pub requests: Option<RawRequests>,
    #[serde(default)]
    pub memory_model: Option<RawMemoryModel>,
    #[serde(default)]
    pub autoscaler: Option<RawAutoscaler>,
    #[serde(default)]
    pub schedule: Vec<RawScheduledAction>,
    #[serde(default)]
    pub node_pool: Option<RawNodePool>,
    #[serde(default)]
    pub resize: Vec<RawResize>,
    /// Availability zones its instances spread over.
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    #[serde(default)]
    pub startup_cpu: Option<RawStartupCpu>,
}

/// `{ cores: 1, for: 2m }`: a new instance's start-up work once ready.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStartupCpu {
    pub cores: u32,
    #[serde(rename = "for")]
    pub duration: Duration,
}

/// A deploy at a fixed time: `{ at: 20m, pool: web, rolling: { max_surge: 25% } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeploy {
    pub at: Duration,
    pub pool: String,
    #[serde(default)]
    pub rolling: Option<RawRolling>,
    #[serde(default)]
    pub blue_green: Option<RawBlueGreen>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRolling {
    #[serde(default)]
    pub max_surge: Option<RawShare>,
    #[serde(default)]
    pub max_unavailable: Option<RawShare>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlueGreen {
    #[serde(default)]
    pub scale_down_delay: Option<Duration>,
}

/// A count (`2`) or a percentage of the desired size (`25%`).
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum RawShare {
    Count(u32),
    Text(String),
}

/// `{ at: 2h, instance_type: c6i.2xlarge, cores: 8, workers: 32 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResize {
    pub at: Duration,
    pub instance_type: String,
    #[serde(default)]
    pub cores: Option<u32>,
    #[serde(default)]
    pub workers: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNodePool {
    pub instance_type: String,
    pub pods_per_node: u32,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub min: Option<u32>,
    pub max: u32,
    #[serde(default)]
    pub provisioning_time: Option<RawDistribution>,
    #[serde(default)]
    pub scale_down_delay: Option<Duration>,
    #[serde(default)]
    pub scan_interval: Option<Duration>,
}

/// `{ at: 8h, every: 1d, min: 4, max: 20, desired: 6 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScheduledAction {
    pub at: Duration,
    #[serde(default)]
    pub every: Option<Duration>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub desired: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequests {
    #[serde(default)]
    pub cpu: Option<Quantity>,
    #[serde(default)]
    pub memory: Option<Quantity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMemoryModel {
    #[serde(default)]
    pub baseline: Option<Quantity>,
    #[serde(default)]
    pub per_in_flight: Option<Quantity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawAutoscaler {
    Hpa(Box<RawHpa>),
    Aws(RawAws),
    Keda(RawKeda),
}

/// A KEDA ScaledObject with one trigger on the pool's request rate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeda {
    #[serde(default)]
    pub min_replica_count: Option<i64>,
    #[serde(default)]
    pub max_replica_count: Option<i64>,
    #[serde(default)]
    pub polling_interval: Option<Duration>,
    #[serde(default)]
    pub cooldown_period: Option<Duration>,
    #[serde(default)]
    pub initial_cooldown_period: Option<Duration>,
    pub trigger: RawKedaTrigger,
    /// `advanced.horizontalPodAutoscalerConfig.behavior`.
    #[serde(default)]
    pub behavior: Option<RawBehavior>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKedaTrigger {
    pub metric: RawExternalMetric,
    /// The queue of a `queue_depth` trigger.
    #[serde(default)]
    pub queue: Option<String>,
    /// The target value (per replica for `average_value`).
    pub target: Quantity,
    #[serde(default)]
    pub metric_type: Option<RawKedaMetricType>,
    #[serde(default)]
    pub activation_threshold: Option<Quantity>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawKedaMetricType {
    AverageValue,
    Value,
}

/// An EC2 Auto Scaling group's scaling settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAws {
    pub min_size: i64,
    pub max_size: i64,
    #[serde(default)]
    pub default_cooldown: Option<Duration>,
    #[serde(default)]
    pub instance_warmup: Option<Duration>,
    #[serde(default)]
    pub metric_delay: Option<Duration>,
    pub policies: Vec<RawAwsPolicy>,
    #[serde(default)]
    pub predictive: Option<RawPredictive>,
    /// `MixedInstancesPolicy`: on-demand and spot over several instance types.
    #[serde(default)]
    pub mixed_instances: Option<RawMixedInstances>,
    /// `TerminationPolicies`, applied in order.
    #[serde(default)]
    pub termination_policies: Option<Vec<RawTerminationPolicy>>,
}

/// A mixed instances policy: the `InstancesDistribution` and the overrides'
/// instance types, in priority order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMixedInstances {
    #[serde(default)]
    pub on_demand_base_capacity: Option<i64>,
    #[serde(default)]
    pub on_demand_percentage_above_base_capacity: Option<i64>,
    #[serde(default)]
    pub on_demand_allocation_strategy: Option<RawOnDemandAllocation>,
    #[serde(default)]
    pub spot_allocation_strategy: Option<RawSpotAllocation>,
    #[serde(default)]
    pub spot_instance_pools: Option<i64>,
    pub instance_types: Vec<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RawOnDemandAllocation {
    Prioritized,
    LowestPrice,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RawSpotAllocation {
    LowestPrice,
    CapacityOptimized,
    PriceCapacityOptimized,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawTerminationPolicy {
    Default,
    AllocationStrategy,
    OldestInstance,
    NewestInstance,
    OldestLaunchTemplate,
    ClosestToNextInstanceHour,
}

/// `{ target: 50, period: 1d, lead: 10m }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPredictive {
    pub target: f64,
    #[serde(default)]
    pub period: Option<Duration>,
    #[serde(default)]
    pub lead: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawAwsPolicy {
    Simple {
        alarm: RawAlarm,
        adjustment_type: RawAdjustmentType,
        adjustment: f64,
        #[serde(default)]
        cooldown: Option<Duration>,
    },
    Step {
        alarm: RawAlarm,
        adjustment_type: RawAdjustmentType,
        steps: Vec<RawStepAdjustment>,
        #[serde(default)]
        min_adjustment_magnitude: Option<i64>,
    },
    TargetTracking {
        metric: RawAwsMetric,
        /// The queue of a `backlog_per_instance` metric.
        #[serde(default)]
        queue: Option<String>,
        target: f64,
        #[serde(default)]
        disable_scale_in: Option<bool>,
        #[serde(default)]
        scale_out_datapoints: Option<usize>,
        #[serde(default)]
        scale_in_datapoints: Option<usize>,
        #[serde(default, deserialize_with = "units::some_fraction")]
        scale_in_ratio: Option<f64>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlarm {
    pub metric: RawAwsMetric,
    /// The queue of a `backlog_per_instance` metric.
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub statistic: Option<RawStatistic>,
    #[serde(default)]
    pub period: Option<Duration>,
    #[serde(default)]
    pub evaluation_periods: Option<usize>,
    #[serde(default)]
    pub datapoints_to_alarm: Option<usize>,
    pub threshold: f64,
    pub comparison: RawComparison,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawAwsMetric {
    CpuUtilization,
    RequestCountPerTarget,
    /// Requests each instance holds, averaged over the minute.
    ActiveConnections,
    /// A queue's visible messages over the instances in service.
    BacklogPerInstance,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawStatistic {
    Average,
    Maximum,
    Minimum,
    Sum,
    SampleCount,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawComparison {
    GreaterThanOrEqual,
    GreaterThan,
    LessThan,
    LessThanOrEqual,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawAdjustmentType {
    ChangeInCapacity,
    ExactCapacity,
    PercentChangeInCapacity,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStepAdjustment {
    #[serde(default)]
    pub lower: Option<f64>,
    #[serde(default)]
    pub upper: Option<f64>,
    pub adjustment: f64,
}

/// A Kubernetes HPA (autoscaling/v2) in capsim's spelling.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHpa {
    /// A Kubernetes HPA manifest supplying min/max, metrics, behavior and
    /// the object's names: a file, or the manifest itself inline.
    #[serde(default)]
    pub manifest: Option<RawManifest>,
    /// The HPA object's `metadata` (default: named after the pool).
    #[serde(default)]
    pub metadata: Option<RawObjectMeta>,
    /// `spec.scaleTargetRef` (default: the Deployment named after the pool).
    #[serde(default)]
    pub scale_target_ref: Option<RawScaleTargetRef>,
    #[serde(default)]
    pub min_replicas: Option<i64>,
    #[serde(default)]
    pub max_replicas: Option<i64>,
    #[serde(default)]
    pub metrics: Option<Vec<RawMetric>>,
    #[serde(default)]
    pub behavior: Option<RawBehavior>,
    #[serde(default)]
    pub sync_period: Option<Duration>,
    #[serde(default, deserialize_with = "units::some_fraction")]
    pub tolerance: Option<f64>,
    #[serde(default)]
    pub cpu_initialization_period: Option<Duration>,
    #[serde(default)]
    pub initial_readiness_delay: Option<Duration>,
    #[serde(default)]
    pub downscale_stabilization: Option<Duration>,
    /// The legacy scale-up cap's factor (`scaleUpLimitFactor`, 2); only without `behavior`.
    #[serde(default)]
    pub scale_up_limit_factor: Option<f64>,
    /// The legacy scale-up cap's floor (`scaleUpLimitMinimum`, 4); only without `behavior`.
    #[serde(default)]
    pub scale_up_limit_minimum: Option<f64>,
    #[serde(default)]
    pub metrics_resolution: Option<Duration>,
    #[serde(default)]
    pub metrics_delay: Option<Duration>,
    #[serde(default)]
    pub metrics_offset: Option<Duration>,
}

/// `manifest:` names a file (relative to the scenario) or holds the
/// manifest as a mapping.
#[derive(Debug, Clone)]
pub enum RawManifest {
    File(String),
    Inline(serde_json::Value),
}

impl<'de> Deserialize<'de> for RawManifest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawManifest;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a manifest file's path, or the manifest as a mapping")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawManifest, E> {
                Ok(RawManifest::File(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawManifest, A::Error> {
                let value = serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawManifest::Inline(value))
            }
        }
        d.deserialize_any(V)
    }
}

/// An HPA object's `metadata`, in capsim's spelling.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RawObjectMeta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// `spec.scaleTargetRef`, in capsim's spelling; each field defaults.
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RawScaleTargetRef {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum RawMetric {
    Resource {
        name: RawResourceName,
        target: RawTarget,
    },
    Pods {
        name: RawPodMetric,
        target: RawTarget,
    },
    External {
        name: RawExternalMetric,
        target: RawTarget,
        #[serde(default)]
        queue: Option<String>,
    },
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawResourceName {
    Cpu,
    Memory,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawPodMetric {
    RequestsPerSecond,
    InFlight,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawExternalMetric {
    RequestsPerSecond,
    /// Messages in a queue (visible and in flight), named by `queue`.
    QueueDepth,
}

/// Exactly one of the three, as in the Kubernetes API.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    #[serde(default, deserialize_with = "units::some_whole_percent")]
    pub average_utilization: Option<i64>,
    #[serde(default)]
    pub average_value: Option<Quantity>,
    #[serde(default)]
    pub value: Option<Quantity>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawBehavior {
    #[serde(default)]
    pub scale_up: Option<RawScalingRules>,
    #[serde(default)]
    pub scale_down: Option<RawScalingRules>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawScalingRules {
    #[serde(default)]
    pub stabilization_window: Option<Duration>,
    #[serde(default)]
    pub select_policy: Option<RawSelectPolicy>,
    #[serde(default)]
    pub policies: Option<Vec<RawScalingPolicy>>,
    #[serde(default, deserialize_with = "units::some_fraction")]
    pub tolerance: Option<f64>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawSelectPolicy {
    Max,
    Min,
    Disabled,
}

/// One scaling policy: `{ type: pods | percent, value, period }`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawScalingPolicy {
    #[serde(rename = "type")]
    pub kind: RawPolicyKind,
    pub value: i64,
    pub period: Duration,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawPolicyKind {
    Pods,
    Percent,
}
