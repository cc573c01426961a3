//! Validation of `caches`, `databases` and each class's `data` path, with
//! the defaults of the tools they stand for (HikariCP's pool, PostgreSQL's
//! `max_connections`, PgBouncer's pooler), documented in docs/data-tier.md.

use std::collections::BTreeMap;

use crate::engine::SimDuration;
use crate::model::cache::{CacheConfig, Eviction};
use crate::model::data::{
    CacheFault, CacheFaultKind, CacheMode, CacheScope, CacheTierSpec, DataPath, DataSpec, DatabaseSpec, DbFault,
    DbFaultKind, OnWrite, PoolerSpec, ServerSpec, ShardPlacement, Sharding, ShieldSpec,
};
use crate::model::prices::{db_class, db_classes};
use crate::model::queue::QueueSpec;
use crate::model::{Distribution, RequestKind};

use super::raw::*;
use super::validate::{Checker, KeyIndex, check_name, distribution, fault_when, known_list};

pub const DEFAULT_LOCAL_LOOKUP_S: f64 = 20e-6;
pub const DEFAULT_CACHE_THREADS: u32 = 1;
pub const DEFAULT_CACHE_SERVICE_S: f64 = 20e-6;
pub const DEFAULT_CACHE_RTT_S: f64 = 500e-6;
pub const DEFAULT_DB_RTT_S: f64 = 500e-6;
/// PostgreSQL's `max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 100;
/// HikariCP's `maximumPoolSize` and `connectionTimeout`.
pub const DEFAULT_POOL_SIZE: u32 = 10;
pub const DEFAULT_POOL_WAIT_TIMEOUT_S: f64 = 30.0;
/// PgBouncer's `default_pool_size`, `max_client_conn` and `query_wait_timeout`.
pub const DEFAULT_POOLER_POOL_SIZE: u32 = 20;
pub const DEFAULT_POOLER_MAX_CLIENTS: u32 = 100;
pub const DEFAULT_POOLER_WAIT_TIMEOUT_S: f64 = 120.0;
pub const DEFAULT_REPLICATION_DELAY_S: f64 = 1e-3;
/// Cache tiers a scenario may declare (a request tracks its fills in a 16-bit mask).
pub const MAX_CACHES: usize = 16;
pub const MAX_CACHE_NODES: u32 = 1024;
pub const MAX_POPS: u32 = 1024;
pub const MAX_REPLICAS: u32 = 64;
pub const MAX_SHARDS: u32 = 256;
pub const MAX_APPLIERS: u32 = 1024;
/// SQS's default visibility timeout.
pub const DEFAULT_VISIBILITY_TIMEOUT_S: f64 = 30.0;
/// A broker in the same zone.
pub const DEFAULT_QUEUE_RTT_S: f64 = 2e-3;

fn secs(d: Option<super::units::Duration>, default: f64) -> SimDuration {
    SimDuration::from_secs_f64(d.map_or(default, |d| d.0))
}

/// Checks `caches` and `databases`.
pub(super) fn data_tier(c: &mut Checker, raw: &RawScenario) -> DataSpec {
    if raw.caches.len() > MAX_CACHES {
        c.problem("caches", format!("at most {MAX_CACHES} cache tiers are allowed"));
    }
    let caches = raw
        .caches
        .iter()
        .filter_map(|(name, cache)| self::cache(c, name, cache))
        .collect();
    let databases: Vec<DatabaseSpec> = raw
        .databases
        .iter()
        .filter_map(|(name, db)| database(c, name, db))
        .collect();
    let servers: u64 = raw
        .caches
        .values()
        .filter_map(|c| c.shared.as_ref().map(|s| u64::from(s.nodes)))
        .chain(
            raw.databases
                .values()
                .map(|d| u64::from(d.shards.unwrap_or(1)) * (1 + u64::from(d.replicas.unwrap_or(0)))),
        )
        .sum();
    if servers > u64::from(u16::MAX) {
        c.problem("databases", "more than 65535 cache nodes and database servers in all");
    }
    let consumers = Consumers::of(raw);
    let queues = raw
        .queues
        .iter()
        .filter_map(|(name, q)| queue(c, name, q, raw, &consumers))
        .collect();
    DataSpec {
        caches,
        databases,
        queues,
    }
}

/// Who takes work from each pool, looked up once for every queue.
struct Consumers<'a> {
    pools: KeyIndex<'a>,
    /// Each pool behind a load balancer: the first balancer (by name) that sends to it.
    balanced: BTreeMap<&'a str, &'a String>,
    /// Each consumer pool: the first queue (by name) it consumes.
    first_queue: BTreeMap<&'a str, &'a String>,
}

impl<'a> Consumers<'a> {
    fn of(scenario: &'a RawScenario) -> Consumers<'a> {
        let mut balanced = BTreeMap::new();
        for (name, lb) in &scenario.load_balancers {
            let backends = lb.backends.iter().flatten().map(|b| b.pool.as_str());
            for pool in lb.pool.as_deref().into_iter().chain(backends) {
                balanced.entry(pool).or_insert(name);
            }
        }
        let mut first_queue = BTreeMap::new();
        for (name, q) in &scenario.queues {
            first_queue.entry(q.consumers.as_str()).or_insert(name);
        }
        Consumers {
            pools: KeyIndex::of(&scenario.pools),
            balanced,
            first_queue,
        }
    }
}

/// A queue and its consumers: a pool that takes no traffic from a load
/// balancer and consumes no other queue.
fn queue(
    c: &mut Checker,
    name: &str,
    raw: &RawQueue,
    scenario: &RawScenario,
    consumers: &Consumers,
) -> Option<QueueSpec> {
    let path = format!("queues.{name}");
    let before = c.problems.len();
    check_name(c, &path, name);
    let consumer_pool = consumers.pools.get(&raw.consumers);
    match consumer_pool {
        None => c.problem(
            format!("{path}.consumers"),
            format!(
                "unknown pool `{}`; known: {}",
                raw.consumers,
                known_list(&raw.consumers, scenario.pools.keys())
            ),
        ),
        Some(_) => {
            let pool = raw.consumers.as_str();
            if let Some(lb) = consumers.balanced.get(pool) {
                c.problem(
                    format!("{path}.consumers"),
                    format!(
                        "pool `{pool}` is behind load balancer `{lb}`: a consumer pool takes its work from the queue only"
                    ),
                );
            }
            if let Some(other) = consumers.first_queue.get(pool).filter(|other| other.as_str() < name) {
                c.problem(
                    format!("{path}.consumers"),
                    format!("pool `{pool}` already consumes queue `{other}`: a pool consumes one queue"),
                );
            }
        }
    }
    let job = distribution(c, &format!("{path}.job"), &raw.job);
    let visibility_timeout = secs(raw.visibility_timeout, DEFAULT_VISIBILITY_TIMEOUT_S);
    if visibility_timeout == SimDuration::ZERO {
        c.problem(
            format!("{path}.visibility_timeout"),
            "must be > 0 (SQS's default is 30s)",
        );
    }
    if raw.max_receives == Some(0) {
        c.problem(
            format!("{path}.max_receives"),
            "must be ≥ 1 (leave it out to retry without a dead-letter queue)",
        );
    }
    let failure_probability = raw.failure_probability.unwrap_or(0.0);
    if !(0.0..1.0).contains(&failure_probability) {
        c.problem(
            format!("{path}.failure_probability"),
            format!("must be a probability in [0, 1), got {failure_probability}"),
        );
    }
    if raw.max_depth == Some(0) {
        c.problem(
            format!("{path}.max_depth"),
            "must be ≥ 1 (leave it out for an unbounded queue)",
        );
    }
    if c.problems.len() > before {
        return None;
    }
    Some(QueueSpec {
        name: name.to_string(),
        consumers: consumer_pool?,
        job: job?,
        rtt: secs(raw.rtt, DEFAULT_QUEUE_RTT_S),
        visibility_timeout,
        max_receives: raw.max_receives,
        failure_probability,
        max_depth: raw.max_depth,
    })
}

fn cache(c: &mut Checker, name: &str, raw: &RawCache) -> Option<CacheTierSpec> {
    let path = format!("caches.{name}");
    let before = c.problems.len();
    check_name(c, &path, name);
    let places = [raw.local.is_some(), raw.shared.is_some(), raw.edge.is_some()];
    match places.iter().filter(|&&p| p).count() {
        0 => {
            c.problem(
                &path,
                "say where the cache lives: `local: {}` (in each app instance), `shared: {nodes: N}` \
                 or `edge: {pops: N, latency, origin_rtt}` (a CDN in front of the load balancer)",
            );
            return None;
        }
        1 => {}
        _ => {
            c.problem(&path, "give one of `local`, `shared` or `edge`, not several");
            return None;
        }
    }
    let scope = match (&raw.local, &raw.shared, &raw.edge) {
        (Some(local), ..) => {
            let lookup = secs(local.lookup, DEFAULT_LOCAL_LOOKUP_S);
            CacheScope::Local { lookup }
        }
        (_, Some(shared), _) => {
            let spath = format!("{path}.shared");
            if !(1..=MAX_CACHE_NODES).contains(&shared.nodes) {
                c.problem(
                    format!("{spath}.nodes"),
                    format!("must be between 1 and {MAX_CACHE_NODES}, got {}", shared.nodes),
                );
            }
            let threads = shared.threads.unwrap_or(DEFAULT_CACHE_THREADS);
            if threads == 0 {
                c.problem(format!("{spath}.threads"), "must be ≥ 1 (Redis serves commands on 1)");
            }
            let service = match &shared.service {
                Some(d) => distribution(c, &format!("{spath}.service"), d),
                None => Some(Distribution::constant(DEFAULT_CACHE_SERVICE_S)),
            };
            CacheScope::Shared {
                nodes: shared.nodes,
                threads,
                service: service.unwrap_or(Distribution::constant(0.0)),
                rtt: secs(shared.rtt, DEFAULT_CACHE_RTT_S),
            }
        }
        (_, _, Some(edge)) => {
            let epath = format!("{path}.edge");
            if !(1..=MAX_POPS).contains(&edge.pops) {
                c.problem(
                    format!("{epath}.pops"),
                    format!("must be between 1 and {MAX_POPS}, got {}", edge.pops),
                );
            }
            let latency = distribution(c, &format!("{epath}.latency"), &edge.latency);
            CacheScope::Edge {
                pops: edge.pops,
                latency: latency.unwrap_or(Distribution::constant(0.0)),
                origin_rtt: SimDuration::from_secs_f64(edge.origin_rtt.0),
                // Filled in below, once the PoPs' eviction and TTL are known.
                shield: None,
            }
        }
        (None, None, None) => unreachable!("counted above"),
    };
    let mode = match (raw.capacity, raw.hit_ratio) {
        (Some(capacity), None) => {
            if capacity == 0 {
                c.problem(format!("{path}.capacity"), "must be ≥ 1 entry");
            }
            if let Some(ttl) = raw.ttl
                && ttl.0 <= 0.0
            {
                c.problem(format!("{path}.ttl"), "must be > 0 (leave it out for no expiry)");
            }
            CacheMode::Emergent(CacheConfig {
                capacity: capacity.max(1),
                eviction: match raw.eviction {
                    None | Some(RawEviction::Lru) => Eviction::Lru,
                    Some(RawEviction::Lfu) => Eviction::Lfu,
                    Some(RawEviction::Fifo) => Eviction::Fifo,
                },
                ttl: raw.ttl.map(|t| SimDuration::from_secs_f64(t.0)),
            })
        }
        (None, Some(hit_ratio)) => {
            if !(0.0..=1.0).contains(&hit_ratio) {
                c.problem(
                    format!("{path}.hit_ratio"),
                    format!("must be a fraction between 0 and 1, got {hit_ratio}"),
                );
            }
            for (field, given) in [("eviction", raw.eviction.is_some()), ("ttl", raw.ttl.is_some())] {
                if given {
                    c.problem(
                        format!("{path}.{field}"),
                        "only applies to a cache with per-key state (`capacity`), not a fixed `hit_ratio`",
                    );
                }
            }
            CacheMode::Fixed { hit_ratio }
        }
        (Some(_), Some(_)) => {
            c.problem(
                &path,
                "give either `capacity` (hit ratio emerges from the keys) or a fixed `hit_ratio`, not both",
            );
            return None;
        }
        (None, None) => {
            c.problem(
                &path,
                "give a `capacity` in entries (hit ratio emerges) or a fixed `hit_ratio` (e.g. 0.9)",
            );
            return None;
        }
    };
    let mut scope = scope;
    if let (CacheScope::Edge { shield, .. }, Some(raw_shield)) =
        (&mut scope, raw.edge.as_ref().and_then(|e| e.shield.as_ref()))
    {
        let spath = format!("{path}.edge.shield");
        match mode {
            CacheMode::Emergent(config) => {
                if raw_shield.capacity == 0 {
                    c.problem(format!("{spath}.capacity"), "must be ≥ 1 entry");
                }
                *shield = Some(ShieldSpec {
                    config: CacheConfig {
                        capacity: raw_shield.capacity.max(1),
                        ..config
                    },
                    rtt: SimDuration::from_secs_f64(raw_shield.rtt.0),
                });
            }
            CacheMode::Fixed { .. } => c.problem(
                &spath,
                "a shield keeps per-key state: give the CDN a `capacity` per PoP, or fold the shield into one fixed `hit_ratio`",
            ),
        }
    }
    if matches!(scope, CacheScope::Edge { .. }) && raw.on_write == Some(RawOnWrite::Update) {
        c.problem(
            format!("{path}.on_write"),
            "a CDN is purged, not written to: `delete` (a write purges its key at every PoP)",
        );
    }
    let nodes = match scope {
        CacheScope::Shared { nodes, .. } => nodes,
        CacheScope::Local { .. } | CacheScope::Edge { .. } => 0,
    };
    let mut faults = Vec::new();
    for (i, f) in raw.faults.iter().enumerate() {
        let fpath = format!("{path}.faults[{i}]");
        let kind = match (f.node_down, f.duration, f.flush) {
            (None, None, true) if matches!(mode, CacheMode::Fixed { .. }) => {
                c.problem(
                    format!("{fpath}.flush"),
                    "a cache with a fixed `hit_ratio` keeps no keys to flush",
                );
                continue;
            }
            (None, None, true) => CacheFaultKind::Flush,
            (Some(node), Some(duration), false) => {
                if nodes == 0 {
                    c.problem(&fpath, "only a shared cache has nodes to lose");
                    break;
                }
                if !(1..=nodes).contains(&node) {
                    c.problem(
                        format!("{fpath}.node_down"),
                        format!("must be between 1 and the cache's {nodes} node(s), got {node}"),
                    );
                }
                CacheFaultKind::NodeDown {
                    node: node.saturating_sub(1),
                    duration: positive_duration(c, &format!("{fpath}.for"), duration),
                }
            }
            _ => {
                c.problem(
                    &fpath,
                    "give `node_down: <node>, for: <time>` (a shared cache node lost) or `flush: true` (every copy gone)",
                );
                continue;
            }
        };
        let Some(when) = fault_when(c, &fpath, f.at, f.mtbf, None) else {
            continue;
        };
        faults.push(CacheFault { when, kind });
    }
    (c.problems.len() == before).then(|| CacheTierSpec {
        name: name.to_string(),
        scope,
        mode,
        on_write: match raw.on_write {
            None | Some(RawOnWrite::Delete) => OnWrite::Delete,
            Some(RawOnWrite::Update) => OnWrite::Update,
        },
        coalesce: raw.coalesce.unwrap_or(false),
        faults,
    })
}

fn positive_duration(c: &mut Checker, path: &str, d: super::units::Duration) -> SimDuration {
    if d.0 <= 0.0 {
        c.problem(path, "must be > 0");
    }
    SimDuration::from_secs_f64(d.0.max(0.0))
}

fn db_faults(c: &mut Checker, path: &str, raw: &RawDatabase, shards: u32, replicas: u32) -> Vec<DbFault> {
    let mut faults: Vec<DbFault> = Vec::new();
    for (i, f) in raw.faults.iter().enumerate() {
        let fpath = format!("{path}.faults[{i}]");
        let Some(when) = fault_when(c, &fpath, f.at, f.mtbf, None) else {
            continue;
        };
        let shard = f.shard.unwrap_or(1);
        if !(1..=shards).contains(&shard) {
            c.problem(
                format!("{fpath}.shard"),
                format!("must be between 1 and the database's {shards} shard(s), got {shard}"),
            );
        }
        let replica = |c: &mut Checker, field: &str, r: &super::raw::RawReplicaDown| {
            if !(1..=replicas).contains(&r.replica) {
                c.problem(
                    format!("{fpath}.{field}.replica"),
                    format!(
                        "must be between 1 and the shard's {replicas} replica(s), got {}",
                        r.replica
                    ),
                );
            }
            let duration = positive_duration(c, &format!("{fpath}.{field}.for"), r.duration);
            (r.replica.saturating_sub(1), duration)
        };
        let kind = match (&f.replica_down, &f.replica_lag, &f.primary_failover) {
            (Some(r), None, None) => {
                let (replica, duration) = replica(c, "replica_down", r);
                DbFaultKind::ReplicaDown { replica, duration }
            }
            (None, Some(r), None) => {
                let (replica, duration) = replica(c, "replica_lag", r);
                DbFaultKind::ReplicaLag { replica, duration }
            }
            (None, None, Some(p)) => DbFaultKind::PrimaryFailover {
                promotion: positive_duration(c, &format!("{fpath}.primary_failover.promotion"), p.promotion),
            },
            _ => {
                c.problem(
                    &fpath,
                    "give exactly one of `replica_down`, `replica_lag` or `primary_failover`",
                );
                continue;
            }
        };
        faults.push(DbFault {
            when,
            shard: shard.saturating_sub(1),
            kind,
        });
    }
    faults
}

fn server(c: &mut Checker, path: &str, raw: &RawDbServer) -> ServerSpec {
    let class = raw.class.as_deref().map(|name| (name, db_class(name)));
    let cores = match (raw.cores, class) {
        (cores, Some((name, None))) => {
            c.problem(
                format!("{path}.class"),
                format!("unknown database class `{name}`; known: {}", db_class_names()),
            );
            cores.unwrap_or(1)
        }
        (Some(cores), Some((name, Some(class)))) => {
            if cores != class.vcpu {
                c.problem(
                    format!("{path}.cores"),
                    format!(
                        "{cores} conflicts with `class: {name}`, which has {} vCPUs: leave `cores` out \
                         (the class gives it) or name a class with {cores}",
                        class.vcpu
                    ),
                );
            }
            cores
        }
        (None, Some((_, Some(class)))) => class.vcpu,
        (Some(cores), None) => cores,
        (None, None) => {
            c.problem(
                path,
                "give `cores` (queries it runs at once) or an instance `class` (e.g. `class: db.r6g.xlarge`)",
            );
            1
        }
    };
    if cores == 0 {
        c.problem(format!("{path}.cores"), "must be ≥ 1");
    }
    let max_connections = raw.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections == 0 {
        c.problem(format!("{path}.max_connections"), "must be ≥ 1");
    }
    ServerSpec { cores, max_connections }
}

/// Every database class of the catalogue, for a problem.
pub(super) fn db_class_names() -> String {
    db_classes().iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

fn database(c: &mut Checker, name: &str, raw: &RawDatabase) -> Option<DatabaseSpec> {
    let path = format!("databases.{name}");
    let before = c.problems.len();
    check_name(c, &path, name);
    let primary = server(c, &format!("{path}.primary"), &raw.primary);
    let shards = raw.shards.unwrap_or(1);
    if !(1..=MAX_SHARDS).contains(&shards) {
        c.problem(
            format!("{path}.shards"),
            format!("must be between 1 and {MAX_SHARDS}, got {shards}"),
        );
    }
    let replicas = raw.replicas.unwrap_or(0);
    if replicas > MAX_REPLICAS {
        c.problem(
            format!("{path}.replicas"),
            format!("must be at most {MAX_REPLICAS}, got {replicas}"),
        );
    }
    let replica = match &raw.replica {
        Some(r) => {
            if replicas == 0 {
                c.problem(format!("{path}.replica"), "describes replicas, but `replicas` is 0");
            }
            server(c, &format!("{path}.replica"), r)
        }
        None => primary,
    };
    let read = distribution(c, &format!("{path}.read"), &raw.read);
    let write = distribution(c, &format!("{path}.write"), &raw.write);
    let read_from_replicas = match raw.read_from {
        Some(RawReadFrom::Replicas) if replicas == 0 => {
            c.problem(format!("{path}.read_from"), "`replicas` needs at least one replica");
            false
        }
        Some(RawReadFrom::Primary) => false,
        _ => replicas > 0,
    };
    let replication = raw.replication.as_ref();
    if replication.is_some() && replicas == 0 {
        c.problem(format!("{path}.replication"), "describes replicas, but `replicas` is 0");
    }
    let apply = match replication.and_then(|r| r.apply.as_ref()) {
        Some(d) => distribution(c, &format!("{path}.replication.apply"), d),
        None => write.clone(),
    };
    let appliers = replication.and_then(|r| r.appliers).unwrap_or(1);
    if !(1..=MAX_APPLIERS).contains(&appliers) {
        c.problem(
            format!("{path}.replication.appliers"),
            format!("must be between 1 and {MAX_APPLIERS} (MySQL's replica_parallel_workers at most), got {appliers}"),
        );
    }
    let pool_size = raw.pool.as_ref().and_then(|p| p.size).unwrap_or(DEFAULT_POOL_SIZE);
    if pool_size == 0 {
        c.problem(format!("{path}.pool.size"), "must be ≥ 1");
    }
    let pool_wait_timeout = secs(
        raw.pool.as_ref().and_then(|p| p.wait_timeout),
        DEFAULT_POOL_WAIT_TIMEOUT_S,
    );
    if pool_wait_timeout == SimDuration::ZERO {
        c.problem(format!("{path}.pool.wait_timeout"), "must be > 0 (e.g. 30s)");
    }
    let pooler = raw.pooler.as_ref().map(|p| {
        let pool_size = p.pool_size.unwrap_or(DEFAULT_POOLER_POOL_SIZE);
        let smallest = if replicas > 0 {
            primary.max_connections.min(replica.max_connections)
        } else {
            primary.max_connections
        };
        if pool_size == 0 || pool_size > smallest {
            c.problem(
                format!("{path}.pooler.pool_size"),
                format!("must be between 1 and the servers' max_connections ({smallest}), got {pool_size}"),
            );
        }
        let max_client_connections = p.max_client_connections.unwrap_or(DEFAULT_POOLER_MAX_CLIENTS);
        if max_client_connections == 0 {
            c.problem(format!("{path}.pooler.max_client_connections"), "must be ≥ 1");
        }
        let wait_timeout = secs(p.wait_timeout, DEFAULT_POOLER_WAIT_TIMEOUT_S);
        if wait_timeout == SimDuration::ZERO {
            c.problem(format!("{path}.pooler.wait_timeout"), "must be > 0 (e.g. 120s)");
        }
        PoolerSpec {
            pool_size,
            max_client_connections,
            wait_timeout,
        }
    });
    if c.problems.len() != before {
        return None;
    }
    Some(DatabaseSpec {
        name: name.to_string(),
        primary,
        replicas,
        replica,
        read: read?,
        write: write?,
        rtt: secs(raw.rtt, DEFAULT_DB_RTT_S),
        read_from_replicas,
        replication_delay: secs(replication.and_then(|r| r.delay), DEFAULT_REPLICATION_DELAY_S),
        apply: apply?,
        appliers,
        pool_size,
        pool_wait_timeout,
        pooler,
        faults: db_faults(c, &path, raw, shards.max(1), replicas),
        shards: Sharding {
            count: shards.max(1),
            placement: match raw.sharding {
                None | Some(RawSharding::Modulo) => ShardPlacement::Modulo,
                Some(RawSharding::ConsistentHash) => ShardPlacement::ConsistentHash,
            },
            by_client: raw.shard_by == Some(RawShardBy::Client),
        },
        regional: None,
    })
}

/// The data tier's names, indexed once for every class's path.
pub(super) struct DataNames<'a> {
    caches: KeyIndex<'a>,
    databases: KeyIndex<'a>,
    queues: KeyIndex<'a>,
}

impl<'a> DataNames<'a> {
    pub(super) fn of(scenario: &'a RawScenario) -> DataNames<'a> {
        DataNames {
            caches: KeyIndex::of(&scenario.caches),
            databases: KeyIndex::of(&scenario.databases),
            queues: KeyIndex::of(&scenario.queues),
        }
    }
}

/// Checks a class's `data` path against the declared caches and databases.
pub(super) fn data_path(
    c: &mut Checker,
    path: &str,
    raw: &RawDataPath,
    kind: RequestKind,
    scenario: &RawScenario,
    names: &DataNames,
) -> Option<DataPath> {
    let before = c.problems.len();
    if raw.caches.is_empty() && raw.database.is_none() && raw.enqueue.is_none() {
        c.problem(
            path,
            "give the `caches` it looks up, the `database` it uses, the queue it `enqueue`s to, or several",
        );
    }
    let keyed = !raw.caches.is_empty() || raw.database.is_some();
    if keyed && scenario.traffic.keys.is_none() {
        c.problem(
            path,
            "the data tier works on keys: declare `traffic.keys` (count, and a zipf exponent for popularity)",
        );
    }
    let mut caches = Vec::new();
    let mut listed = std::collections::BTreeSet::new();
    let mut edge = None;
    for (i, name) in raw.caches.iter().enumerate() {
        match names.caches.get(name) {
            Some(k) if !listed.insert(k) => {
                c.problem(format!("{path}.caches[{i}]"), format!("`{name}` is listed twice"))
            }
            Some(k) if scenario.caches[name].edge.is_some() => {
                if i == 0 {
                    edge = Some(k);
                } else {
                    c.problem(
                        format!("{path}.caches[{i}]"),
                        format!("`{name}` is a CDN, in front of the load balancer: list it first"),
                    );
                }
            }
            Some(k) => caches.push(k),
            None => c.problem(
                format!("{path}.caches[{i}]"),
                format!(
                    "unknown cache `{name}`; known: {}",
                    known_list(name, scenario.caches.keys())
                ),
            ),
        }
    }
    let database = raw.database.as_ref().and_then(|name| match names.databases.get(name) {
        Some(d) => Some(d),
        None => {
            c.problem(
                format!("{path}.database"),
                format!(
                    "unknown database `{name}`; known: {}",
                    known_list(name, scenario.databases.keys())
                ),
            );
            None
        }
    });
    if !caches.is_empty() && raw.database.is_none() {
        c.problem(
            format!("{path}.database"),
            "a class that uses caches needs the database behind them (where misses read and writes go)",
        );
    } else if edge.is_some() && kind == RequestKind::Write && raw.database.is_none() {
        c.problem(
            format!("{path}.database"),
            "a write behind a CDN purges the key it writes: give the `database` it writes to",
        );
    }
    let fresh = raw.fresh.unwrap_or(false);
    if fresh && kind == RequestKind::Write {
        c.problem(
            format!("{path}.fresh"),
            "only applies to reads (writes always go to the primary)",
        );
    }
    let enqueue = raw.enqueue.as_ref().and_then(|name| match names.queues.get(name) {
        Some(q) => Some(q),
        None => {
            c.problem(
                format!("{path}.enqueue"),
                format!(
                    "unknown queue `{name}`; known: {}",
                    known_list(name, scenario.queues.keys())
                ),
            );
            None
        }
    });
    (c.problems.len() == before).then_some(DataPath {
        edge,
        caches,
        database,
        fresh,
        enqueue,
    })
}
