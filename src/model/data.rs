//! The data tier behind the app instances: caches (in each instance's
//! memory, or a shared cluster of cache nodes), databases (a primary and
//! read replicas that replay its writes) and the connection pools between
//! them.
//!
//! Servers (cache nodes, database primaries and replicas) are FIFO queues
//! in front of a fixed number of threads or cores: an operation waits for
//! one, holds it for its service time, and frees it. What a lookup finds,
//! which version a read returns and how far a replica lags all follow from
//! the operations themselves; see `system/data_path.rs` for how a request
//! walks through them.

use std::collections::{BTreeMap, VecDeque};

use super::fault::When;
use crate::engine::{SimDuration, SimTime, splitmix64};
use crate::metrics::{
    CacheSummary, DataSummary, DatabaseSummary, EdgeSummary, IntervalRow, QueueSummary, ReplicaSummary, ServerSummary,
    ShardSummary, TierSummary, TimeIntegral,
};

use super::cache::{Cache, CacheConfig, CacheStats};
use super::distribution::Distribution;
use super::queue::{MessageQueue, QueueCounts, QueueSpec};
use super::replication::Replica;
use super::request::RequestId;

/// The data tier of a system, validated.
#[derive(Clone, Debug, Default)]
pub struct DataSpec {
    pub caches: Vec<CacheTierSpec>,
    pub databases: Vec<DatabaseSpec>,
    pub queues: Vec<QueueSpec>,
}

impl DataSpec {
    pub fn is_empty(&self) -> bool {
        self.caches.is_empty() && self.databases.is_empty() && self.queues.is_empty()
    }

    /// What each server of the data tier is, in the order [`DataTier::new`]
    /// creates them (the order of `summary.json`'s servers and of
    /// [`DataRow`]'s per-server figures): shared cache nodes, then each
    /// database's shards, each a primary and its replicas.
    pub fn server_roles(&self) -> Vec<ServerRole> {
        let mut roles = Vec::new();
        for (tier, c) in self.caches.iter().enumerate() {
            if let CacheScope::Shared { nodes, .. } = c.scope {
                roles.extend((0..nodes).map(|node| ServerRole::CacheNode { tier, node }));
            }
        }
        for (database, d) in self.databases.iter().enumerate() {
            for shard in 0..d.shards.count {
                roles.push(ServerRole::Primary { database, shard });
                roles.extend((0..d.replicas).map(|replica| ServerRole::Replica {
                    database,
                    shard,
                    replica,
                }));
            }
        }
        roles
    }
}

/// One server of the data tier (0-based indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRole {
    CacheNode { tier: usize, node: u32 },
    Primary { database: usize, shard: u32 },
    Replica { database: usize, shard: u32, replica: u32 },
}

/// The downstream work of a request class. Reads look the key up in each
/// cache in order and, when every one misses, read it from the database and
/// fill the caches they missed; writes write the primary, then update or
/// invalidate each cache. Either kind may then enqueue a message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataPath {
    /// The CDN tier in front of the load balancer, when the class is
    /// cacheable there: reads may be answered at the edge, writes pass
    /// through it and purge their key.
    pub edge: Option<usize>,
    /// The cache tiers behind the app, in lookup order.
    pub caches: Vec<usize>,
    pub database: Option<usize>,
    /// The read must see the latest write: it goes to the primary.
    pub fresh: bool,
    /// The queue it sends a message to (an async job) before answering.
    pub enqueue: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct CacheTierSpec {
    pub name: String,
    pub scope: CacheScope,
    pub mode: CacheMode,
    pub on_write: OnWrite,
    /// Concurrent misses of one key wait for the first one's database read
    /// (single flight) instead of each going to the database.
    pub coalesce: bool,
    pub faults: Vec<CacheFault>,
}

#[derive(Clone, Debug)]
pub enum CacheScope {
    /// In each app instance's memory: a lookup costs `lookup` and never
    /// queues; a new instance starts empty and a stopped one loses it.
    Local { lookup: SimDuration },
    /// A cluster of cache nodes (Redis-like), keys spread over them by
    /// consistent hashing; each node is a server with `threads` threads.
    Shared {
        nodes: u32,
        threads: u32,
        /// Time a node spends on one operation.
        service: Distribution,
        /// Network round trip to a node.
        rtt: SimDuration,
    },
    /// A CDN in front of the load balancer: `pops` points of presence,
    /// each its own cache (capacity is per PoP), every client served by
    /// one of them. A hit is answered at the edge after `latency`; a miss
    /// goes on to the origin, optionally through a shield cache shared by
    /// every PoP, and fills both on its way back.
    Edge {
        pops: u32,
        /// A PoP's time to answer (a hit), or to pass a request on.
        latency: Distribution,
        /// Round trip from a PoP (or the shield) to the origin.
        origin_rtt: SimDuration,
        shield: Option<ShieldSpec>,
    },
}

/// A mid-tier cache every PoP asks before the origin (origin shield).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShieldSpec {
    pub config: CacheConfig,
    /// Round trip from a PoP to the shield.
    pub rtt: SimDuration,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CacheMode {
    /// Per-key state: the hit ratio emerges from popularity, capacity,
    /// eviction and TTL. Capacity is per node for a shared cache.
    Emergent(CacheConfig),
    /// Each lookup hits with this probability (a quick what-if).
    Fixed { hit_ratio: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnWrite {
    /// The write deletes the key (cache-aside; a purge at every PoP of a
    /// CDN); the next read refills it.
    Delete,
    /// The write stores the new value (write-through).
    Update,
}

/// A database server's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerSpec {
    /// Queries it runs at once; more wait in FIFO order.
    pub cores: u32,
    /// Connections it accepts in all.
    pub max_connections: u32,
}

#[derive(Clone, Debug)]
pub struct DatabaseSpec {
    pub name: String,
    pub primary: ServerSpec,
    pub replicas: u32,
    pub replica: ServerSpec,
    /// Service time of a read query and of a write on a core.
    pub read: Distribution,
    pub write: Distribution,
    /// Network round trip from an app instance.
    pub rtt: SimDuration,
    /// Reads go to the replicas (round robin) unless a class needs fresh reads.
    pub read_from_replicas: bool,
    /// Primary to replica, then the replica's apply queue.
    pub replication_delay: SimDuration,
    pub apply: Distribution,
    pub appliers: u32,
    /// Each app instance's pool: connections per server and how long a
    /// query may wait for one before it fails.
    pub pool_size: u32,
    pub pool_wait_timeout: SimDuration,
    /// A transaction pooler (PgBouncer-like) in front of each server: app
    /// connections end at the pooler and queries share `pool_size` server
    /// connections per server.
    pub pooler: Option<PoolerSpec>,
    pub shards: Sharding,
    /// Scheduled failures, in time order.
    pub faults: Vec<DbFault>,
    /// Where its servers are, when the scenario has regions and places it.
    pub regional: Option<Regional>,
}

/// A database placed in regions: its primaries (and first replicas) in its
/// home region, read replicas in others replicating over the link between.
#[derive(Clone, Debug, PartialEq)]
pub struct Regional {
    pub home: usize,
    /// Per replica of a shard, in order (the home ones first): its region
    /// and the one-way network time its replication stream adds.
    pub replicas: Vec<(usize, SimDuration)>,
}

/// A failure a scenario schedules on a database shard.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DbFault {
    pub when: When,
    pub shard: u32,
    pub kind: DbFaultKind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DbFaultKind {
    /// Replica `replica` (0-based) stops for `duration`: its queries fail,
    /// reads go to the other replicas, it catches up on return.
    ReplicaDown { replica: u32, duration: SimDuration },
    /// Replica `replica` stops applying writes for `duration` (a long query
    /// holding back replay, a vacuum conflict, a stalled disk) but keeps
    /// serving reads: its lag grows with the write rate, its reads go
    /// stale, and it catches up afterwards.
    ReplicaLag { replica: u32, duration: SimDuration },
    /// The primary fails; after `promotion` its first healthy replica is
    /// the primary (writes not yet applied there are lost). Meanwhile
    /// writes and fresh reads fail. Without a healthy replica the primary
    /// restarts after `promotion`.
    PrimaryFailover { promotion: SimDuration },
}

/// A failure a scenario schedules on a cache tier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheFault {
    pub when: When,
    pub kind: CacheFaultKind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CacheFaultKind {
    /// A shared cache node goes down for a while: it loses its keys, and
    /// the ring sends them to the other nodes until it is back (empty).
    NodeDown { node: u32, duration: SimDuration },
    /// Every copy the tier holds is gone at once (a `FLUSHALL`, a restart
    /// of every node, a CDN purge-all): every node, every instance's local
    /// cache, every PoP and the shield start empty.
    Flush,
}

/// How a database's keys are spread over its shards, each a primary with
/// its own replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sharding {
    pub count: u32,
    pub placement: ShardPlacement,
    /// Shard on the client id (all of a user's rows together) instead of the key.
    pub by_client: bool,
}

impl Sharding {
    pub const NONE: Sharding = Sharding {
        count: 1,
        placement: ShardPlacement::Modulo,
        by_client: false,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardPlacement {
    /// `hash(id) mod N`: adding a shard moves most ids.
    Modulo,
    /// A ring with `CACHE_VNODES` points per shard: adding one moves about 1/(N+1).
    ConsistentHash,
}

/// Where ids land among `n` shards.
#[derive(Clone, Debug)]
pub enum ShardMap {
    Modulo(u32),
    Ring(HashRing),
}

impl ShardMap {
    pub fn new(placement: ShardPlacement, n: u32) -> ShardMap {
        match placement {
            ShardPlacement::Modulo => ShardMap::Modulo(n),
            ShardPlacement::ConsistentHash => ShardMap::Ring(HashRing::new(0..n, CACHE_VNODES)),
        }
    }

    #[inline]
    pub fn shard(&self, id: u64) -> usize {
        match self {
            ShardMap::Modulo(1) => 0,
            ShardMap::Modulo(n) => (splitmix64(id ^ 0x5bd1_e995) % u64::from(*n)) as usize,
            ShardMap::Ring(ring) => ring.owner(id) as usize,
        }
    }
}

/// What adding one shard would move: the fraction of ids, and of traffic
/// (ids weighted by popularity), that change shard under each placement.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Resharding {
    pub from_shards: u32,
    pub to_shards: u32,
    pub ids_moved_modulo: f64,
    pub ids_moved_consistent_hash: f64,
    pub traffic_moved_modulo: f64,
    pub traffic_moved_consistent_hash: f64,
}

impl Resharding {
    /// Over ids `0..weights.len()` with the given popularity weights.
    pub fn of(n: u32, weights: &[f64]) -> Resharding {
        let total: f64 = weights.iter().sum();
        let moved = |placement| {
            let (a, b) = (ShardMap::new(placement, n), ShardMap::new(placement, n + 1));
            let (mut ids, mut traffic) = (0u64, 0.0);
            for (id, w) in weights.iter().enumerate() {
                if a.shard(id as u64) != b.shard(id as u64) {
                    ids += 1;
                    traffic += w;
                }
            }
            (ids as f64 / weights.len() as f64, traffic / total)
        };
        let (ids_m, traffic_m) = moved(ShardPlacement::Modulo);
        let (ids_c, traffic_c) = moved(ShardPlacement::ConsistentHash);
        Resharding {
            from_shards: n,
            to_shards: n + 1,
            ids_moved_modulo: ids_m,
            ids_moved_consistent_hash: ids_c,
            traffic_moved_modulo: traffic_m,
            traffic_moved_consistent_hash: traffic_c,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoolerSpec {
    pub pool_size: u32,
    /// Connections the pooler accepts from app instances (per server).
    pub max_client_connections: u32,
    pub wait_timeout: SimDuration,
}

/// What a server is doing for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// A lookup on the node of `tier` that owns the request's key.
    CacheGet {
        tier: u16,
    },
    Read {
        database: u16,
        replica: Option<u16>,
    },
    Write {
        database: u16,
    },
}

/// One operation on a server.
#[derive(Clone, Copy, Debug)]
pub struct Op {
    pub request: RequestId,
    pub generation: u32,
    pub kind: OpKind,
    pub service: SimDuration,
    pub queued_at: SimTime,
    /// The instance that sent it, and whether it holds a connection of that
    /// instance's pool and of the server's pooler (released when it ends).
    pub instance: u32,
    pub holds_connection: bool,
    pub holds_pooler: bool,
}

/// A FIFO queue in front of `threads` threads.
#[derive(Debug)]
pub struct Server {
    pub name: String,
    pub threads: u32,
    /// Operations being served (at most `threads`) and waiting.
    in_service: Vec<Op>,
    queue: VecDeque<Op>,
    /// Busy threads over time, and its area at the last interval's end.
    pub busy_time: TimeIntegral,
    pub busy_mark: u128,
    pub ops: u64,
    /// Σ time operations waited for a thread, in ns.
    pub wait_ns: u128,
    pub max_connections: u32,
    pub open_connections: u32,
    /// A transaction pooler in front of it (database servers only).
    pub pooler: Option<ConnPool>,
    /// Failed (a scheduled fault): it takes no operations.
    pub down: bool,
    /// Work sent to it since the last interval's end.
    pub interval: ServerLoad,
}

/// The work sent to a server over an interval: its demand, served or not.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ServerLoad {
    pub operations: u64,
    /// Σ service time of the operations sent (ns).
    pub work_ns: u128,
    /// The part of it that writes (database servers).
    pub write_ns: u128,
}

impl Server {
    pub fn new(name: String, threads: u32, max_connections: u32) -> Server {
        Server {
            name,
            threads,
            in_service: Vec::new(),
            queue: VecDeque::new(),
            busy_time: TimeIntegral::default(),
            busy_mark: 0,
            ops: 0,
            wait_ns: 0,
            max_connections,
            open_connections: 0,
            pooler: None,
            down: false,
            interval: ServerLoad::default(),
        }
    }

    /// The server fails: every operation it holds is dropped and returned.
    pub fn fail(&mut self, now: SimTime) -> Vec<Op> {
        self.down = true;
        let mut lost: Vec<Op> = std::mem::take(&mut self.in_service);
        lost.extend(self.queue.drain(..));
        self.busy_time.set(now, 0);
        lost
    }

    /// Queues `op`; returns it back when a thread takes it at once.
    #[inline]
    pub fn submit(&mut self, now: SimTime, op: Op) -> Option<Op> {
        self.ops += 1;
        self.interval.operations += 1;
        self.interval.work_ns += u128::from(op.service.0);
        if matches!(op.kind, OpKind::Write { .. }) {
            self.interval.write_ns += u128::from(op.service.0);
        }
        if (self.in_service.len() as u32) < self.threads {
            self.in_service.push(op);
            self.busy_time.set(now, self.in_service.len() as u64);
            Some(op)
        } else {
            self.queue.push_back(op);
            None
        }
    }

    /// The operation of `(request, generation)` finished: returns it and
    /// the operation its thread takes next, if any.
    #[inline]
    /// `None` when the operation is gone (the server failed under it).
    pub fn finish(&mut self, now: SimTime, request: RequestId, generation: u32) -> Option<(Op, Option<Op>)> {
        let at = self
            .in_service
            .iter()
            .position(|o| o.request == request && o.generation == generation)?;
        let done = self.in_service.swap_remove(at);
        let next = self.queue.pop_front();
        if let Some(op) = next {
            self.wait_ns += u128::from((now - op.queued_at).0);
            self.in_service.push(op);
        }
        self.busy_time.set(now, self.in_service.len() as u64);
        Some((done, next))
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Closes `count` connections.
    pub fn close(&mut self, count: u32) {
        self.open_connections -= count;
    }

    /// Opens up to `wanted` connections; returns how many it got.
    pub fn open(&mut self, wanted: u32) -> u32 {
        let got = wanted.min(self.max_connections - self.open_connections);
        self.open_connections += got;
        got
    }
}

/// A pool of connections: a semaphore with a FIFO of waiters.
#[derive(Clone, Debug, Default)]
pub struct ConnPool {
    pub size: u32,
    pub in_use: u32,
    /// Waiting requests; those that gave up are skipped when reached.
    waiters: VecDeque<(RequestId, u32)>,
}

impl ConnPool {
    pub fn new(size: u32) -> ConnPool {
        ConnPool {
            size,
            ..ConnPool::default()
        }
    }

    /// Takes a connection if one is free.
    #[inline]
    pub fn try_acquire(&mut self) -> bool {
        if self.in_use < self.size {
            self.in_use += 1;
            true
        } else {
            false
        }
    }

    pub fn wait(&mut self, request: RequestId, generation: u32) {
        self.waiters.push_back((request, generation));
    }

    /// Returns a connection: the first live waiter takes it (returned).
    #[inline]
    pub fn release(&mut self, mut is_live: impl FnMut(RequestId, u32) -> bool) -> Option<RequestId> {
        while let Some((request, generation)) = self.waiters.pop_front() {
            if is_live(request, generation) {
                return Some(request);
            }
        }
        self.in_use -= 1;
        None
    }
}

/// Consistent hashing: `vnodes` points per member on a 64-bit ring.
#[derive(Clone, Debug)]
pub struct HashRing {
    points: Vec<(u64, u32)>,
}

impl HashRing {
    pub fn new(members: impl IntoIterator<Item = u32>, vnodes: u32) -> HashRing {
        let mut points: Vec<(u64, u32)> = members
            .into_iter()
            .flat_map(|m| (0..vnodes).map(move |v| (splitmix64((u64::from(m) << 32) | u64::from(v)), m)))
            .collect();
        points.sort_unstable();
        HashRing { points }
    }

    /// The member owning `key`: the first point clockwise of its hash.
    #[inline]
    pub fn owner(&self, key: u64) -> u32 {
        let h = splitmix64(key ^ 0x9e37_79b9_7f4a_7c15);
        let at = self.points.partition_point(|(p, _)| *p < h);
        self.points[at % self.points.len()].1
    }
}

/// Points per cache node on the ring.
pub const CACHE_VNODES: u32 = 160;

/// A cache tier's runtime state.
pub struct CacheTier {
    pub spec: CacheTierSpec,
    /// A shared cache's nodes or a CDN's PoPs (their per-key state), and
    /// a shared cache's servers.
    pub nodes: Vec<Cache>,
    /// A CDN's shield, when it has one.
    pub shield: Option<Cache>,
    pub servers: Vec<usize>,
    pub ring: Option<HashRing>,
    /// Nodes taken down by a fault (their keys go to the others).
    pub down: Vec<bool>,
    /// Keys being filled after a miss: `(scope, key)` → waiters, where the
    /// scope is the instance for a local cache and 0 for a shared one.
    pub filling: BTreeMap<(u32, u64), Vec<(RequestId, u32)>>,
    /// This interval's counts.
    pub interval: TierCounts,
    /// Requests that reached a CDN's PoPs over the whole run, reads and
    /// writes: what the CDN bills per request.
    pub requests: u64,
}

/// A cache tier's counts over an interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierCounts {
    pub stats: CacheStats,
    /// Misses that waited for another request's fill instead of reading the database.
    pub coalesced: u64,
    /// A CDN's shield lookups (after a PoP miss), and the reads it sent on
    /// to the origin (neither a PoP nor the shield had the key, and none
    /// was already on its way).
    pub shield: CacheStats,
    pub origin: u64,
}

impl TierCounts {
    pub fn add(&mut self, x: &TierCounts) {
        self.stats.add(&x.stats);
        self.coalesced += x.coalesced;
        self.shield.add(&x.shield);
        self.origin += x.origin;
    }

    /// The fraction of a CDN's read lookups answered at the edge (a PoP
    /// or the shield) or by a fill already on its way: what it spares the origin.
    pub fn offload(&self) -> f64 {
        let lookups = self.stats.hits + self.stats.misses;
        if lookups == 0 {
            f64::NAN
        } else {
            1.0 - self.origin as f64 / lookups as f64
        }
    }
}

impl CacheTier {
    pub fn new(spec: CacheTierSpec, first_server: usize) -> CacheTier {
        let (nodes, servers, ring) = match (&spec.scope, spec.mode) {
            (CacheScope::Shared { nodes, .. }, mode) => {
                let caches = match mode {
                    CacheMode::Emergent(config) => (0..*nodes).map(|_| Cache::new(config)).collect(),
                    CacheMode::Fixed { .. } => Vec::new(),
                };
                let servers = (0..*nodes as usize).map(|n| first_server + n).collect();
                (caches, servers, Some(HashRing::new(0..*nodes, CACHE_VNODES)))
            }
            (CacheScope::Edge { pops, .. }, CacheMode::Emergent(config)) => {
                ((0..*pops).map(|_| Cache::new(config)).collect(), Vec::new(), None)
            }
            (CacheScope::Local { .. } | CacheScope::Edge { .. }, _) => (Vec::new(), Vec::new(), None),
        };
        let shield = match &spec.scope {
            CacheScope::Edge { shield: Some(s), .. } => Some(Cache::new(s.config)),
            _ => None,
        };
        let count = servers.len();
        CacheTier {
            spec,
            nodes,
            shield,
            servers,
            ring,
            down: vec![false; count],
            filling: BTreeMap::new(),
            interval: TierCounts::default(),
            requests: 0,
        }
    }

    /// Takes node `node` down (it loses its keys) or brings it back (empty);
    /// the ring spreads keys over the nodes that are up.
    pub fn set_down(&mut self, node: usize, down: bool) {
        self.down[node] = down;
        if down && let Some(cache) = self.nodes.get_mut(node) {
            cache.clear();
        }
        let up: Vec<u32> = (0..self.down.len() as u32)
            .filter(|&n| !self.down[n as usize])
            .collect();
        // With every node down, keys stay where they were (and find them empty).
        if !up.is_empty() {
            self.ring = Some(HashRing::new(up, CACHE_VNODES));
        }
    }

    /// The PoP serving `client` (clients are spread evenly over the PoPs).
    #[inline]
    pub fn pop_of(&self, client: u32) -> u32 {
        match self.spec.scope {
            CacheScope::Edge { pops, .. } => {
                (splitmix64(u64::from(client) ^ 0x2545_f491_4f6c_dd1d) % u64::from(pops)) as u32
            }
            _ => 0,
        }
    }

    /// A new instance's (empty) local cache, when this tier keeps per-key state.
    pub fn local_cache(&self) -> Option<Cache> {
        match (&self.spec.scope, self.spec.mode) {
            (CacheScope::Local { .. }, CacheMode::Emergent(config)) => Some(Cache::new(config)),
            _ => None,
        }
    }
}

/// A database's runtime state.
pub struct Database {
    pub spec: DatabaseSpec,
    /// Server indices: each shard's primary; the replicas, shard after shard.
    pub primaries: Vec<usize>,
    pub replicas: Vec<usize>,
    pub replication: Vec<Replica>,
    pub shard_map: ShardMap,
    /// Per shard, after the warm-up: reads, writes and each query's call time.
    pub shard_reads: Vec<u64>,
    pub shard_writes: Vec<u64>,
    pub shard_calls: Vec<crate::metrics::LatencyRecorder>,
    /// The newest committed version of every key written.
    pub versions: BTreeMap<u64, u64>,
    pub next_version: u64,
    /// Round robin over each shard's replicas.
    pub next_replica: Vec<usize>,
    /// Each client's last write: `(key, version)`.
    pub last_write: BTreeMap<u32, (u64, u64)>,
    pub interval: DbCounts,
    /// Per replica, the largest lag seen by an operation this interval (ns).
    pub lag_max: Vec<u64>,
    /// Per replica, each write's delay from commit on the primary to
    /// visible there (writes committed after the warm-up).
    pub replication_delay: Vec<crate::metrics::LatencyRecorder>,
    /// Per replica: serving reads (not down, not promoted to primary).
    pub replica_up: Vec<bool>,
    /// Per shard: its primary failed and no new one serves yet.
    pub promoting: Vec<bool>,
    /// Writes the primary committed that a promoted replica had not applied.
    pub lost_writes: u64,
}

/// A database's counts over an interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbCounts {
    pub reads: u64,
    /// Read responses of classes using this database, and those older
    /// (from a cache or a replica) than the primary's latest.
    pub read_responses: u64,
    pub stale_responses: u64,
    pub replica_reads: u64,
    pub writes: u64,
    /// Replica reads of a key whose latest write was not applied there yet.
    pub stale_reads: u64,
    /// Reads returning an older version of a key than the client itself wrote.
    pub read_your_writes_violations: u64,
    /// Queries that waited for a connection (app pool or pooler), and how long in all.
    pub connection_waits: u64,
    pub connection_wait_ns: u128,
    /// Queries that failed: no connection in time, or none could be opened.
    pub connection_timeouts: u64,
    pub connection_refused: u64,
    /// Queries that failed because their server was down or being replaced.
    pub unavailable: u64,
}

impl DbCounts {
    pub fn add(&mut self, x: &DbCounts) {
        self.reads += x.reads;
        self.read_responses += x.read_responses;
        self.stale_responses += x.stale_responses;
        self.replica_reads += x.replica_reads;
        self.writes += x.writes;
        self.stale_reads += x.stale_reads;
        self.read_your_writes_violations += x.read_your_writes_violations;
        self.connection_waits += x.connection_waits;
        self.connection_wait_ns += x.connection_wait_ns;
        self.connection_timeouts += x.connection_timeouts;
        self.connection_refused += x.connection_refused;
        self.unavailable += x.unavailable;
    }
}

impl Database {
    /// A database whose servers start at index `first`: per shard, its
    /// primary then its replicas.
    pub fn new(spec: DatabaseSpec, first: usize) -> Database {
        let (shards, per) = (spec.shards.count as usize, spec.replicas as usize);
        let n = shards * per;
        Database {
            primaries: (0..shards).map(|s| first + s * (per + 1)).collect(),
            replicas: (0..shards)
                .flat_map(|s| (1..=per).map(move |k| first + s * (per + 1) + k))
                .collect(),
            replication: (0..n)
                .map(|k| {
                    let link = spec
                        .regional
                        .as_ref()
                        .map_or(SimDuration::ZERO, |r| r.replicas[k % per].1);
                    Replica::new(spec.replication_delay + link, spec.appliers)
                })
                .collect(),
            shard_map: ShardMap::new(spec.shards.placement, spec.shards.count),
            shard_reads: vec![0; shards],
            shard_writes: vec![0; shards],
            shard_calls: vec![crate::metrics::LatencyRecorder::default(); shards],
            versions: BTreeMap::new(),
            next_version: 0,
            next_replica: vec![0; shards],
            last_write: BTreeMap::new(),
            interval: DbCounts::default(),
            lag_max: vec![0; n],
            replication_delay: vec![crate::metrics::LatencyRecorder::default(); n],
            replica_up: vec![true; n],
            promoting: vec![false; shards],
            lost_writes: 0,
            spec,
        }
    }

    /// The latest committed version of `key` (0: never written).
    #[inline]
    pub fn latest(&self, key: u64) -> u64 {
        self.versions.get(&key).copied().unwrap_or(0)
    }

    /// The shard holding a request's rows.
    #[inline]
    pub fn shard_of(&self, key: u64, client: u32) -> usize {
        let id = if self.spec.shards.by_client {
            u64::from(client)
        } else {
            key
        };
        self.shard_map.shard(id)
    }

    /// The indices (into `replicas` and `replication`) of `shard`'s replicas.
    pub fn shard_replicas(&self, shard: usize) -> std::ops::Range<usize> {
        let per = self.spec.replicas as usize;
        shard * per..(shard + 1) * per
    }
}

/// The data tier of a running system.
pub struct DataTier {
    pub caches: Vec<CacheTier>,
    pub databases: Vec<Database>,
    pub queues: Vec<MessageQueue>,
    pub servers: Vec<Server>,
    /// Per server: the round trip to it, the database it belongs to, and
    /// its region (for a database placed in regions).
    pub server_rtt: Vec<SimDuration>,
    pub server_database: Vec<Option<usize>>,
    pub server_region: Vec<Option<usize>>,
    /// Time spent in each tier this interval (ns): caches, databases, then queues;
    /// and on the app instances (arrival to the end of computing).
    pub tier_ns: Vec<u128>,
    pub app_ns: u128,
    /// Calls to each tier, and their latency (after the warm-up).
    pub tier_calls: Vec<crate::metrics::LatencyRecorder>,
}

impl DataTier {
    pub fn new(spec: &DataSpec, warmup: SimTime) -> DataTier {
        let mut servers = Vec::new();
        let mut server_rtt = Vec::new();
        let mut server_database = Vec::new();
        let mut server_region = Vec::new();
        let caches = spec
            .caches
            .iter()
            .map(|c| {
                let tier = CacheTier::new(c.clone(), servers.len());
                if let CacheScope::Shared {
                    nodes, threads, rtt, ..
                } = c.scope
                {
                    for n in 0..nodes {
                        servers.push(Server::new(format!("{}-{}", c.name, n + 1), threads, u32::MAX));
                        server_rtt.push(rtt);
                        server_database.push(None);
                        server_region.push(None);
                    }
                }
                tier
            })
            .collect();
        let databases = spec
            .databases
            .iter()
            .enumerate()
            .map(|(index, d)| {
                let db = Database::new(d.clone(), servers.len());
                let sharded = d.shards.count > 1;
                let region = |k: Option<usize>| {
                    let r = d.regional.as_ref()?;
                    Some(k.map_or(r.home, |k| r.replicas[k].0))
                };
                let shapes = (1..=d.shards.count).flat_map(|s| {
                    let prefix = if sharded { format!("shard-{s}.") } else { String::new() };
                    std::iter::once((format!("{prefix}primary"), d.primary, region(None))).chain(
                        (1..=d.replicas)
                            .map(move |k| (format!("{prefix}replica-{k}"), d.replica, region(Some(k as usize - 1)))),
                    )
                });
                for (role, shape, region) in shapes {
                    server_region.push(region);
                    let mut server = Server::new(format!("{}.{role}", d.name), shape.cores, shape.max_connections);
                    // With a pooler, app connections end there: its client
                    // limit is what they count against.
                    if let Some(p) = d.pooler {
                        server.pooler = Some(ConnPool::new(p.pool_size));
                        server.max_connections = p.max_client_connections;
                    }
                    servers.push(server);
                    server_rtt.push(d.rtt);
                    server_database.push(Some(index));
                }
                db
            })
            .collect();
        let queues = spec
            .queues
            .iter()
            .map(|q| MessageQueue::new(q.clone(), warmup))
            .collect();
        let tiers = spec.caches.len() + spec.databases.len() + spec.queues.len();
        DataTier {
            caches,
            databases,
            queues,
            servers,
            server_rtt,
            server_database,
            server_region,
            tier_ns: vec![0; tiers],
            app_ns: 0,
            tier_calls: vec![crate::metrics::LatencyRecorder::default(); tiers],
        }
    }

    /// The pool size an app instance asks of `server`, for database servers.
    pub fn pool_size(&self, server: usize) -> Option<u32> {
        self.server_database[server].map(|d| self.databases[d].spec.pool_size)
    }

    /// Adds the counts of an instance's local caches to their tiers' interval.
    pub fn gather_local(&mut self, instance: &mut super::instance::Instance) {
        for (tier, cache) in instance.caches.iter_mut().enumerate() {
            if let Some(cache) = cache {
                self.caches[tier].interval.stats.add(&cache.take_stats());
            }
        }
    }

    /// The tier index of database `d` (caches come first).
    pub fn db_tier(&self, d: usize) -> usize {
        self.caches.len() + d
    }

    /// The tier index of queue `q` (after the caches and databases).
    pub fn queue_tier(&self, q: usize) -> usize {
        self.caches.len() + self.databases.len() + q
    }
}

/// The data tier over one interval of the time series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataRow {
    /// Time spent per completed request (ms): on the app instances, then in
    /// each cache tier and database.
    pub app_ms: f64,
    pub tier_ms: Vec<f64>,
    pub caches: Vec<TierCounts>,
    pub databases: Vec<DbRow>,
    /// Busy threads over threads, per server.
    pub server_utilization: Vec<f64>,
    /// Operations waiting at each server at the interval's end.
    pub server_queue: Vec<usize>,
    /// Work sent to each server in the interval.
    pub server_load: Vec<ServerLoad>,
    pub queues: Vec<QueueRow>,
}

/// A message queue over one interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueRow {
    pub counts: QueueCounts,
    /// Messages in the queue at the interval's end, on average and at most.
    pub depth: u64,
    pub depth_mean: f64,
    pub depth_max: u64,
    /// Age of the oldest message at the interval's end (s).
    pub oldest_age_s: f64,
    /// Messages being processed, and the consumers' workers in service, time-averaged.
    pub processing_mean: f64,
    pub workers_mean: f64,
}

impl QueueRow {
    /// Busy consumer workers over workers in service (NaN without consumers).
    pub fn consumer_utilization(&self) -> f64 {
        if self.workers_mean > 0.0 {
            self.processing_mean / self.workers_mean
        } else {
            f64::NAN
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DbRow {
    pub counts: DbCounts,
    /// Per replica: lag at the interval's end and the largest seen in it (ms).
    pub lag_ms: Vec<f64>,
    pub lag_max_ms: Vec<f64>,
}

impl DataTier {
    /// The data tier's part of `summary.json`, from the intervals after the warm-up.
    /// `pool_names` name the queues' consumers; `traffic` gives the key
    /// space and the clients that sharded databases spread.
    pub fn summarize(
        &self,
        rows: &[IntervalRow],
        warmup: SimTime,
        pool_names: &[String],
        traffic: &super::traffic::TrafficSpec,
        region_names: &[String],
    ) -> DataSummary {
        let measured: Vec<(&IntervalRow, &DataRow)> = rows
            .iter()
            .filter(|r| r.start >= warmup)
            .filter_map(|r| r.data.as_ref().map(|d| (r, d)))
            .collect();
        let completed: u64 = measured.iter().map(|(r, _)| r.counters.completed).sum();
        let per_request = |f: &dyn Fn(&DataRow) -> f64| {
            let total: f64 = measured.iter().map(|(r, d)| f(d) * r.counters.completed as f64).sum();
            ratio(total, completed)
        };
        let mut tiers = vec![TierSummary {
            name: "app".into(),
            kind: "app",
            ms_per_request: per_request(&|d| d.app_ms),
            per_call: None,
        }];
        for (t, cache) in self.caches.iter().enumerate() {
            tiers.push(TierSummary {
                name: cache.spec.name.clone(),
                kind: match cache.spec.scope {
                    CacheScope::Local { .. } => "local_cache",
                    CacheScope::Shared { .. } => "shared_cache",
                    CacheScope::Edge { .. } => "edge",
                },
                ms_per_request: per_request(&|d| d.tier_ms[t]),
                per_call: Some(self.tier_calls[t].summary()),
            });
        }
        for (k, db) in self.databases.iter().enumerate() {
            let t = self.db_tier(k);
            tiers.push(TierSummary {
                name: db.spec.name.clone(),
                kind: "database",
                ms_per_request: per_request(&|d| d.tier_ms[t]),
                per_call: Some(self.tier_calls[t].summary()),
            });
        }
        for (k, q) in self.queues.iter().enumerate() {
            let t = self.queue_tier(k);
            tiers.push(TierSummary {
                name: q.spec.name.clone(),
                kind: "queue",
                ms_per_request: per_request(&|d| d.tier_ms[t]),
                per_call: Some(self.tier_calls[t].summary()),
            });
        }
        let caches = self
            .caches
            .iter()
            .enumerate()
            .map(|(t, cache)| {
                let mut sum = TierCounts::default();
                for (_, d) in &measured {
                    sum.add(&d.caches[t]);
                }
                let s = sum.stats;
                CacheSummary {
                    name: cache.spec.name.clone(),
                    scope: match cache.spec.scope {
                        CacheScope::Local { .. } => "local",
                        CacheScope::Shared { .. } => "shared",
                        CacheScope::Edge { .. } => "edge",
                    },
                    hits: s.hits,
                    misses: s.misses,
                    hit_ratio: s.hit_ratio(),
                    evictions: s.evictions,
                    expirations: s.expirations,
                    invalidations: s.invalidations,
                    coalesced: sum.coalesced,
                    edge: match cache.spec.scope {
                        CacheScope::Edge { pops, .. } => Some(EdgeSummary {
                            pops,
                            shield_hits: sum.shield.hits,
                            shield_misses: sum.shield.misses,
                            shield_hit_ratio: sum.shield.hit_ratio(),
                            origin_requests: sum.origin,
                            offload: sum.offload(),
                        }),
                        _ => None,
                    },
                }
            })
            .collect();
        let databases = self
            .databases
            .iter()
            .enumerate()
            .map(|(k, db)| {
                let mut c = DbCounts::default();
                for (_, d) in &measured {
                    c.add(&d.databases[k].counts);
                }
                DatabaseSummary {
                    name: db.spec.name.clone(),
                    reads: c.reads,
                    replica_reads: c.replica_reads,
                    writes: c.writes,
                    reads_per_request: ratio(c.reads as f64, completed),
                    stale_reads: c.stale_reads,
                    stale_read_rate: ratio(c.stale_reads as f64, c.replica_reads),
                    stale_responses: c.stale_responses,
                    stale_response_rate: ratio(c.stale_responses as f64, c.read_responses),
                    read_your_writes_violations: c.read_your_writes_violations,
                    connection_waits: c.connection_waits,
                    connection_wait_mean_ms: ratio(c.connection_wait_ns as f64 / 1e6, c.connection_waits),
                    connection_timeouts: c.connection_timeouts,
                    connection_refused: c.connection_refused,
                    unavailable: c.unavailable,
                    lost_writes: db.lost_writes,
                    shards: self.shard_summaries(db, &measured),
                    resharding: (db.spec.shards.count > 1).then(|| {
                        let weights = if db.spec.shards.by_client {
                            vec![1.0; traffic.clients.min(RESHARDING_IDS) as usize]
                        } else {
                            let keys = traffic.keys.as_ref().map_or(1, |k| k.count);
                            let s = traffic.keys.as_ref().map_or(0.0, |k| k.zipf_s);
                            (1..=keys.min(RESHARDING_IDS)).map(|k| (k as f64).powf(-s)).collect()
                        };
                        Resharding::of(db.spec.shards.count, &weights)
                    }),
                    replicas: (0..db.replicas.len())
                        .map(|i| ReplicaSummary {
                            name: self.servers[db.replicas[i]].name.clone(),
                            lag_mean_ms: ratio(
                                measured.iter().map(|(_, d)| d.databases[k].lag_ms[i]).sum(),
                                measured.len() as u64,
                            ),
                            lag_max_ms: measured
                                .iter()
                                .map(|(_, d)| d.databases[k].lag_max_ms[i])
                                .fold(0.0, f64::max),
                            replication_delay: db.replication_delay[i].summary(),
                        })
                        .collect(),
                }
            })
            .collect();
        let span: f64 = measured.iter().map(|(r, _)| (r.end - r.start).0 as f64).sum();
        let servers = self
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| ServerSummary {
                name: s.name.clone(),
                threads: s.threads,
                utilization: if span > 0.0 {
                    measured
                        .iter()
                        .map(|(r, d)| d.server_utilization[i] * (r.end - r.start).0 as f64)
                        .sum::<f64>()
                        / span
                } else {
                    f64::NAN
                },
                operations: s.ops,
                wait_mean_ms: ratio(s.wait_ns as f64 / 1e6, s.ops),
                connections_open: s.open_connections,
                max_connections: self.server_database[i].map(|_| s.max_connections),
                region: self.server_region[i].map(|r| region_names[r].clone()),
            })
            .collect();
        let queues = self
            .queues
            .iter()
            .enumerate()
            .map(|(k, q)| {
                let mut c = QueueCounts::default();
                let (mut depth_area, mut busy_area, mut workers_area) = (0.0, 0.0, 0.0);
                for (r, d) in &measured {
                    let row = &d.queues[k];
                    let span = (r.end - r.start).0 as f64;
                    c.add(&row.counts);
                    depth_area += row.depth_mean * span;
                    busy_area += row.processing_mean * span;
                    workers_area += row.workers_mean * span;
                }
                let rows = || measured.iter().map(|(_, d)| &d.queues[k]);
                QueueSummary {
                    name: q.spec.name.clone(),
                    consumers: pool_names[q.spec.consumers].clone(),
                    enqueued: c.enqueued,
                    rejected: c.rejected,
                    received: c.received,
                    deleted: c.deleted,
                    failed: c.failed,
                    timed_out: c.timed_out,
                    dead_lettered: c.dead_lettered,
                    stale: c.stale,
                    depth_mean: if span > 0.0 { depth_area / span } else { f64::NAN },
                    depth_max: rows().map(|r| r.depth_max).max().unwrap_or(0),
                    oldest_age_max_s: rows().map(|r| r.oldest_age_s).fold(0.0, f64::max),
                    consumer_utilization: if workers_area > 0.0 {
                        busy_area / workers_area
                    } else {
                        f64::NAN
                    },
                    end_to_end: q.latency.summary(),
                }
            })
            .collect();
        DataSummary {
            tiers,
            caches,
            databases,
            servers,
            queues,
        }
    }
}

/// Ids over which resharding is measured (the most popular keys first).
pub const RESHARDING_IDS: u64 = 1_000_000;

impl DataTier {
    fn shard_summaries(&self, db: &Database, measured: &[(&IntervalRow, &DataRow)]) -> Vec<ShardSummary> {
        if db.spec.shards.count == 1 {
            return Vec::new();
        }
        let total: u64 = db.shard_reads.iter().chain(&db.shard_writes).sum();
        let span: f64 = measured.iter().map(|(r, _)| (r.end - r.start).0 as f64).sum();
        (0..db.primaries.len())
            .map(|s| {
                let server = db.primaries[s];
                let busy: f64 = measured
                    .iter()
                    .map(|(r, d)| d.server_utilization[server] * (r.end - r.start).0 as f64)
                    .sum();
                ShardSummary {
                    name: format!("shard-{}", s + 1),
                    reads: db.shard_reads[s],
                    writes: db.shard_writes[s],
                    share: ratio((db.shard_reads[s] + db.shard_writes[s]) as f64, total),
                    primary_utilization: if span > 0.0 { busy / span } else { f64::NAN },
                    per_call: db.shard_calls[s].summary(),
                }
            })
            .collect()
    }
}

/// `total / count`, NaN (null in JSON) when nothing was counted.
fn ratio(total: f64, count: u64) -> f64 {
    if count == 0 { f64::NAN } else { total / count as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(i: u32, at: SimTime) -> Op {
        Op {
            request: RequestId(i),
            generation: 0,
            kind: OpKind::Write { database: 0 },
            service: SimDuration::from_millis(1),
            queued_at: at,
            instance: 0,
            holds_connection: false,
            holds_pooler: false,
        }
    }

    #[test]
    fn a_server_runs_threads_then_queues_in_order() {
        let mut s = Server::new("db".into(), 2, 10);
        let t = SimTime::ZERO;
        assert!(s.submit(t, op(0, t)).is_some());
        assert!(s.submit(t, op(1, t)).is_some());
        assert!(s.submit(t, op(2, t)).is_none());
        assert!(s.submit(t, op(3, t)).is_none());
        // Every operation sent counts as demand, served at once or queued.
        assert_eq!(s.interval.operations, 4);
        assert_eq!((s.interval.work_ns, s.interval.write_ns), (4_000_000, 4_000_000));
        let t1 = SimTime(1_000_000);
        let next = |done: Option<(Op, Option<Op>)>| done.expect("in service").1.map(|o| o.request);
        assert_eq!(next(s.finish(t1, RequestId(1), 0)), Some(RequestId(2)));
        assert_eq!(next(s.finish(t1, RequestId(0), 0)), Some(RequestId(3)));
        assert_eq!(next(s.finish(SimTime(2_000_000), RequestId(3), 0)), None);
        assert_eq!(s.wait_ns, 2_000_000);
        // Two threads busy for 1 ms, then one more for 1 ms; one more later.
        assert_eq!(s.busy_time.area_until(SimTime(2_000_000)), 4_000_000);
        // A failed server drops what it holds; a later end finds nothing.
        let t2 = SimTime(2_000_000);
        assert!(s.submit(t2, op(4, t2)).is_some());
        assert_eq!(s.fail(t2).len(), 2, "request 2 and request 4");
        assert!(s.finish(SimTime(3_000_000), RequestId(4), 0).is_none());
    }

    #[test]
    fn a_pool_hands_connections_to_live_waiters_first() {
        let mut p = ConnPool::new(1);
        assert!(p.try_acquire());
        assert!(!p.try_acquire());
        p.wait(RequestId(1), 0);
        p.wait(RequestId(2), 0);
        // Request 1 gave up.
        assert_eq!(p.release(|r, _| r != RequestId(1)), Some(RequestId(2)));
        assert_eq!(p.in_use, 1);
        assert_eq!(p.release(|_, _| true), None);
        assert_eq!(p.in_use, 0);
    }

    #[test]
    fn connections_stop_at_max_connections() {
        let mut s = Server::new("db".into(), 4, 25);
        assert_eq!(s.open(10), 10);
        assert_eq!(s.open(10), 10);
        assert_eq!(s.open(10), 5);
        assert_eq!(s.open(10), 0);
    }

    #[test]
    fn consistent_hashing_moves_a_fraction_of_keys() {
        let three = HashRing::new(0..3, CACHE_VNODES);
        let four = HashRing::new(0..4, CACHE_VNODES);
        let n = 100_000u64;
        let moved = (0..n).filter(|&k| three.owner(k) != four.owner(k)).count() as f64 / n as f64;
        // Ideal: 1/4 of the keys move to the new node, none between old ones.
        assert!((moved - 0.25).abs() < 0.04, "moved {moved}");
        assert!((0..n).all(|k| three.owner(k) == four.owner(k) || four.owner(k) == 3));
    }
}
