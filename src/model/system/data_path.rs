//! A request's way through the data tier, after it has computed.
//!
//! Reads look their key up in each cache of their class's path in order; a
//! hit fills the caches missed before it and answers. When every cache
//! misses, the read goes to the database (a replica unless it must be
//! fresh), fills every cache it missed and answers. Writes go to the
//! primary, commit a new version of the key (replayed by every replica),
//! then update or invalidate each cache on their path. All the while the
//! request holds its worker on the app instance, not a core.
//!
//! Pure delays (a local lookup, a network round trip) accumulate in the
//! request's pending delay and cost one event when the request next needs
//! a server or answers, so a read that hits a shared cache costs two events
//! beyond the app's own, and one that misses into the database four.

use crate::engine::{Scheduler, SimDuration, SimTime};
use crate::model::cache::{Cache, Lookup};
use crate::model::data::{CacheMode, CacheScope, OnWrite, Op, OpKind};
use crate::model::instance::{InstanceId, InstanceState};
use crate::model::request::{Phase, RequestId, RequestState};
use crate::model::traffic::RequestKind;

use super::edge::AT_EDGE;
use super::{Event, System};

/// The step of a request that has its answer.
const DONE: u8 = u8::MAX;

/// What a request does at its current step.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Look the key up in cache tier `tier` (its `index`-th on the path).
    Lookup {
        tier: usize,
        index: usize,
    },
    Read {
        database: usize,
        fresh: bool,
    },
    Write {
        database: usize,
    },
    /// Send a message to queue `queue`.
    Enqueue {
        queue: usize,
    },
    Answer,
}

impl System {
    /// What `id` does next, from its class's path and its step.
    fn step_of(&self, id: RequestId) -> Step {
        let r = self.requests.get(id);
        let class = &self.spec.traffic.classes[usize::from(r.class)];
        let path = class.data.as_ref().expect("only requests with a path get here");
        let step = usize::from(r.step);
        if r.step == DONE {
            return Step::Answer;
        }
        // Reads: lookups, the database read, the enqueue; writes: the write, the enqueue.
        let data_at = match class.kind {
            RequestKind::Read => path.caches.len(),
            RequestKind::Write => 0,
        };
        match (class.kind, path.database, path.enqueue) {
            (RequestKind::Read, ..) if step < data_at => Step::Lookup {
                tier: path.caches[step],
                index: step,
            },
            (RequestKind::Read, Some(database), _) if step == data_at => Step::Read {
                database,
                fresh: path.fresh,
            },
            (RequestKind::Write, Some(database), _) if step == data_at => Step::Write { database },
            (_, _, Some(queue)) if step <= data_at + 1 => Step::Enqueue { queue },
            _ => Step::Answer,
        }
    }

    /// The step after the lookups and the database call of `id`'s class: a
    /// read that hit or read the database, or a write that wrote, goes on there.
    fn past_data(&self, id: RequestId) -> u8 {
        let class = &self.spec.traffic.classes[usize::from(self.requests.get(id).class)];
        match class.kind {
            RequestKind::Read => class.data.as_ref().map_or(0, |p| p.caches.len() as u8) + 1,
            RequestKind::Write => 1,
        }
    }

    /// A request with downstream work finished computing: its core goes to
    /// the next request, its worker stays, and it moves on.
    pub(super) fn after_compute(
        &mut self,
        now: SimTime,
        instance: InstanceId,
        id: RequestId,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.free_core(now, instance, scheduler);
        let r = self.requests.get_mut(id);
        r.phase = Phase::Moving;
        r.mark = now;
        self.advance(now, id, scheduler);
    }

    /// Moves a request along its path until it waits on something or answers.
    pub(super) fn advance(&mut self, now: SimTime, id: RequestId, scheduler: &mut Scheduler<Event>) {
        loop {
            let step = self.step_of(id);
            let r = *self.requests.get(id);
            let needs_time = !matches!(step, Step::Lookup { tier, .. } if self.is_local(tier));
            if needs_time && r.delay > SimDuration::ZERO {
                // The pending delay passes before it talks to a server or answers.
                let r = self.requests.get_mut(id);
                r.phase = Phase::Moving;
                let at = now + std::mem::replace(&mut r.delay, SimDuration::ZERO);
                let generation = r.generation;
                scheduler.schedule(
                    at,
                    Event::DataStepDue {
                        request: id,
                        generation,
                    },
                );
                return;
            }
            match step {
                Step::Answer => return self.answer(now, id, scheduler),
                Step::Lookup { tier, index } => {
                    if self.is_local(tier) {
                        if self.local_lookup(now, id, tier, index) {
                            continue;
                        }
                        return;
                    }
                    let node = self.data.caches[tier]
                        .ring
                        .as_ref()
                        .expect("a shared cache has a ring")
                        .owner(r.key);
                    let server = self.data.caches[tier].servers[node as usize];
                    self.requests.get_mut(id).mark = now;
                    return self.travel(now, id, server, scheduler);
                }
                Step::Read { database, fresh } => {
                    let here = self.region_of(r.instance);
                    let db = &mut self.data.databases[database];
                    let shard = db.shard_of(r.key, r.client);
                    let replicas = db.shard_replicas(shard);
                    let mut server = None;
                    if !fresh && db.spec.read_from_replicas {
                        // Round robin over the replicas serving reads: those
                        // in the instance's region first, when the database
                        // is placed in regions.
                        let local = |k: usize| match (&db.spec.regional, here) {
                            (Some(regional), Some(here)) => regional.replicas[k].0 == here,
                            _ => true,
                        };
                        let prefer_local = db.spec.regional.is_some()
                            && (0..replicas.len()).any(|k| db.replica_up[replicas.start + k] && local(k));
                        for _ in 0..replicas.len() {
                            let next = &mut db.next_replica[shard];
                            *next = (*next + 1) % replicas.len();
                            let k = *next;
                            if db.replica_up[replicas.start + k] && (!prefer_local || local(k)) {
                                server = Some(db.replicas[replicas.start + k]);
                                break;
                            }
                        }
                    }
                    if server.is_none() && db.promoting[shard] {
                        db.interval.unavailable += 1;
                        return self.fail_downstream(now, id, scheduler);
                    }
                    let server = server.unwrap_or(db.primaries[shard]);
                    self.requests.get_mut(id).mark = now;
                    return self.connect(now, id, server, scheduler);
                }
                Step::Write { database } => {
                    let db = &mut self.data.databases[database];
                    let shard = db.shard_of(r.key, r.client);
                    if db.promoting[shard] {
                        db.interval.unavailable += 1;
                        return self.fail_downstream(now, id, scheduler);
                    }
                    let server = db.primaries[shard];
                    self.requests.get_mut(id).mark = now;
                    return self.connect(now, id, server, scheduler);
                }
                Step::Enqueue { queue } => {
                    if !self.enqueue(now, id, queue, scheduler) {
                        return self.fail_downstream(now, id, scheduler);
                    }
                    self.requests.get_mut(id).step = DONE;
                }
            }
        }
    }

    /// The region of an app instance, when the scenario has regions.
    fn region_of(&self, instance: u32) -> Option<usize> {
        let geo = self.spec.geo.as_ref()?;
        geo.pool_region[self.instances[instance as usize].pool.0 as usize]
    }

    /// The round trip between an instance's region and a server's, added
    /// to the server's own.
    fn cross_region(&self, instance: u32, server: usize) -> SimDuration {
        match (
            self.data.server_region[server],
            self.region_of(instance),
            &self.spec.geo,
        ) {
            (Some(there), Some(here), Some(geo)) => geo.between(here, there),
            _ => SimDuration::ZERO,
        }
    }

    fn is_local(&self, tier: usize) -> bool {
        matches!(self.data.caches[tier].spec.scope, CacheScope::Local { .. })
    }

    /// The `index`-th cache tier on the path of `class`.
    fn path_cache(&self, class: u16, index: usize) -> usize {
        self.spec.traffic.classes[usize::from(class)]
            .data
            .as_ref()
            .expect("a path")
            .caches[index]
    }

    /// The cache of `tier` that holds `key` for a request on `instance`: the
    /// instance's own for a local tier, the owning node for a shared one
    /// (`None` for a fixed-ratio tier, which keeps no keys).
    fn cache_for(&mut self, tier: usize, instance: u32, key: u64) -> Option<&mut Cache> {
        let t = &mut self.data.caches[tier];
        match t.spec.scope {
            CacheScope::Local { .. } => self.instances[instance as usize]
                .caches
                .get_mut(tier)
                .and_then(Option::as_mut),
            CacheScope::Shared { .. } => {
                let node = t.ring.as_ref().expect("a shared cache has a ring").owner(key);
                t.nodes.get_mut(node as usize)
            }
            // A CDN is never on the path behind the app (see `edge.rs`).
            CacheScope::Edge { .. } => None,
        }
    }

    /// Looks the key up in the instance's own cache. Returns whether the
    /// request moves on at once (a hit answers, a miss goes to the next
    /// step); false when it waits for another request's fill.
    fn local_lookup(&mut self, now: SimTime, id: RequestId, tier: usize, index: usize) -> bool {
        let CacheScope::Local { lookup } = self.data.caches[tier].spec.scope else {
            unreachable!("checked by the caller")
        };
        let r = *self.requests.get(id);
        let hit = self.look_up(now, id, tier);
        let pending = &mut self.requests.get_mut(id).delay;
        *pending = *pending + lookup;
        self.account(tier, lookup.0, r.arrival);
        self.after_lookup(now, id, tier, index, hit, r.instance)
    }

    /// Reads the request's key in `tier`: the version found, or `None` on
    /// a miss. A fixed-ratio tier hits with its probability and returns the
    /// database's latest version (such a cache is never stale).
    fn look_up(&mut self, now: SimTime, id: RequestId, tier: usize) -> Option<u64> {
        let r = *self.requests.get(id);
        if let CacheMode::Fixed { hit_ratio } = self.data.caches[tier].spec.mode {
            let hit = self.data_rng.open01() < hit_ratio;
            let counts = &mut self.data.caches[tier].interval.stats;
            if !hit {
                counts.misses += 1;
                return None;
            }
            counts.hits += 1;
            let database = self.spec.traffic.classes[usize::from(r.class)]
                .data
                .as_ref()
                .and_then(|p| p.database)
                .expect("a class with caches has a database");
            return Some(self.data.databases[database].latest(r.key));
        }
        let cache = self
            .cache_for(tier, r.instance, r.key)
            .expect("emergent caches exist: on every ready instance, on every node");
        match cache.get(now, r.key) {
            Lookup::Hit { version } => Some(version),
            Lookup::Miss => None,
        }
    }

    /// What follows a lookup: a hit fills the caches missed before this one
    /// and answers; a miss goes on, or waits for a fill already under way.
    /// Returns whether the request moves on at once.
    fn after_lookup(
        &mut self,
        now: SimTime,
        id: RequestId,
        tier: usize,
        index: usize,
        hit: Option<u64>,
        instance: u32,
    ) -> bool {
        if let Some(version) = hit {
            let r = self.requests.get_mut(id);
            r.version = version;
            self.fill(now, id, index);
            self.requests.get_mut(id).step = self.past_data(id);
            return true;
        }
        if self.data.caches[tier].spec.coalesce {
            let (key, generation) = (self.requests.get(id).key, self.requests.get(id).generation);
            let scope = if self.is_local(tier) { instance } else { 0 };
            let cache = &mut self.data.caches[tier];
            match cache.filling.get_mut(&(scope, key)) {
                Some(waiters) => {
                    waiters.push((id, generation));
                    cache.interval.coalesced += 1;
                    let r = self.requests.get_mut(id);
                    r.phase = Phase::Coalesced { tier: tier as u16 };
                    r.mark = now;
                    return false;
                }
                None => {
                    cache.filling.insert((scope, key), Vec::new());
                    self.requests.get_mut(id).leading |= 1 << tier;
                }
            }
        }
        self.requests.get_mut(id).step += 1;
        true
    }

    /// Takes connections to a database server (the instance's pool, then
    /// the server's pooler), waiting for them if need be, then travels.
    fn connect(&mut self, now: SimTime, id: RequestId, server: usize, scheduler: &mut Scheduler<Event>) {
        let r = *self.requests.get(id);
        let pool = &mut self.instances[r.instance as usize].connections[server];
        if pool.size == 0 {
            // The server refused this instance's connections (max_connections).
            let database = self.database_of(server);
            self.data.databases[database].interval.connection_refused += 1;
            return self.fail_downstream(now, id, scheduler);
        }
        if pool.try_acquire() {
            return self.through_pooler(now, id, server, scheduler);
        }
        pool.wait(id, r.generation);
        self.requests.get_mut(id).phase = Phase::ConnectionWait { server: server as u16 };
        let timeout = self.data.databases[self.database_of(server)].spec.pool_wait_timeout;
        let event = Event::ConnectionWaitExpired {
            request: id,
            generation: r.generation,
            pooler: false,
        };
        scheduler.schedule(now + timeout, event);
    }

    /// Holding an app connection: takes a pooler connection when the server
    /// has a pooler, then travels to the server.
    fn through_pooler(&mut self, now: SimTime, id: RequestId, server: usize, scheduler: &mut Scheduler<Event>) {
        let generation = self.requests.get(id).generation;
        let Some(pooler) = &mut self.data.servers[server].pooler else {
            return self.travel(now, id, server, scheduler);
        };
        if pooler.try_acquire() {
            return self.travel(now, id, server, scheduler);
        }
        pooler.wait(id, generation);
        self.requests.get_mut(id).phase = Phase::PoolerWait { server: server as u16 };
        let database = self.database_of(server);
        let timeout = self.data.databases[database]
            .spec
            .pooler
            .expect("a server with a pooler belongs to a database with one")
            .wait_timeout;
        let event = Event::ConnectionWaitExpired {
            request: id,
            generation,
            pooler: true,
        };
        scheduler.schedule(now + timeout, event);
    }

    fn database_of(&self, server: usize) -> usize {
        self.data.server_database[server].expect("a database server")
    }

    /// Goes to `server`: after the round trip when there is one.
    fn travel(&mut self, now: SimTime, id: RequestId, server: usize, scheduler: &mut Scheduler<Event>) {
        let r = self.requests.get_mut(id);
        if now > r.mark {
            // It waited for a connection.
            let waited = now - r.mark;
            let database = self.database_of(server);
            let counts = &mut self.data.databases[database].interval;
            counts.connection_waits += 1;
            counts.connection_wait_ns += u128::from(waited.0);
        }
        let instance = self.requests.get(id).instance;
        let rtt = self.data.server_rtt[server] + self.cross_region(instance, server);
        let r = self.requests.get_mut(id);
        if rtt == SimDuration::ZERO {
            return self.submit(now, id, server, scheduler);
        }
        r.phase = Phase::Travelling { server: server as u16 };
        let generation = r.generation;
        scheduler.schedule(
            now + rtt,
            Event::DataStepDue {
                request: id,
                generation,
            },
        );
    }

    /// The request reaches `server` and queues for a thread.
    fn submit(&mut self, now: SimTime, id: RequestId, server: usize, scheduler: &mut Scheduler<Event>) {
        let r = *self.requests.get(id);
        let kind = match self.step_of(id) {
            Step::Lookup { tier, .. } => OpKind::CacheGet { tier: tier as u16 },
            Step::Read { database, .. } => {
                let replicas = &self.data.databases[database].replicas;
                OpKind::Read {
                    database: database as u16,
                    replica: replicas.iter().position(|&s| s == server).map(|k| k as u16),
                }
            }
            Step::Write { database } => OpKind::Write {
                database: database as u16,
            },
            Step::Enqueue { .. } | Step::Answer => unreachable!("an answered request calls no server"),
        };
        let service_s = match kind {
            OpKind::CacheGet { tier, .. } => match &self.data.caches[usize::from(tier)].spec.scope {
                CacheScope::Shared { service, .. } => service.sample(&mut self.data_rng),
                CacheScope::Local { .. } | CacheScope::Edge { .. } => unreachable!("only shared caches have servers"),
            },
            OpKind::Read { database, .. } => self.data.databases[usize::from(database)]
                .spec
                .read
                .sample(&mut self.data_rng),
            OpKind::Write { database } => self.data.databases[usize::from(database)]
                .spec
                .write
                .sample(&mut self.data_rng),
        };
        let is_query = !matches!(kind, OpKind::CacheGet { .. });
        if is_query && self.data.servers[server].down {
            // It failed while the request was on its way: the query fails.
            let op = Op {
                request: id,
                generation: r.generation,
                kind,
                service: SimDuration::ZERO,
                queued_at: now,
                instance: r.instance,
                holds_connection: true,
                holds_pooler: self.data.servers[server].pooler.is_some(),
            };
            return self.drop_op(now, server, op, scheduler);
        }
        let op = Op {
            request: id,
            generation: r.generation,
            kind,
            service: SimDuration::from_secs_f64(service_s),
            queued_at: now,
            instance: r.instance,
            holds_connection: is_query,
            holds_pooler: is_query && self.data.servers[server].pooler.is_some(),
        };
        self.requests.get_mut(id).phase = Phase::AtServer;
        if let Some(op) = self.data.servers[server].submit(now, op) {
            schedule_done(now, server, op, scheduler);
        }
    }

    /// A server finished an operation: its thread takes the next one, the
    /// connections it held go to whoever waits for them, and the request
    /// (if it still exists) acts on the result.
    pub(super) fn on_server_done(
        &mut self,
        now: SimTime,
        server: u16,
        id: RequestId,
        generation: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        let s = usize::from(server);
        let Some((op, next)) = self.data.servers[s].finish(now, id, generation) else {
            return; // The server failed under it.
        };
        if let Some(next) = next {
            schedule_done(now, s, next, scheduler);
        }
        self.release_op(now, s, &op, scheduler);
        if !self.requests.is_current(id, generation) {
            return; // Its instance stopped under it.
        }
        let r = *self.requests.get(id);
        match op.kind {
            OpKind::CacheGet { tier } => {
                let tier = usize::from(tier);
                let hit = self.look_up(now, id, tier);
                self.account(tier, (now - r.mark).0, r.arrival);
                let index = usize::from(r.step);
                if self.after_lookup(now, id, tier, index, hit, r.instance) {
                    self.requests.get_mut(id).phase = Phase::Moving;
                    self.advance(now, id, scheduler);
                }
            }
            OpKind::Read { database, replica } => {
                let d = usize::from(database);
                let db = &mut self.data.databases[d];
                let version = match replica {
                    Some(k) => {
                        let k = usize::from(k);
                        let lag = db.replication[k].lag(now);
                        db.lag_max[k] = db.lag_max[k].max(lag.0);
                        let (version, stale) = db.replication[k].read(now, r.key);
                        db.interval.replica_reads += 1;
                        db.interval.stale_reads += u64::from(stale);
                        version
                    }
                    None => db.latest(r.key),
                };
                db.interval.reads += 1;
                let shard = db.shard_of(r.key, r.client);
                if r.arrival >= self.recorder.warmup {
                    db.shard_reads[shard] += 1;
                    db.shard_calls[shard].record((now - r.mark).0);
                }
                let tier = self.data.db_tier(d);
                self.account(tier, (now - r.mark).0, r.arrival);
                let request = self.requests.get_mut(id);
                request.version = version;
                // Every cache on the path missed: fill them all.
                let missed = usize::from(request.step);
                self.fill(now, id, missed);
                let next = self.past_data(id);
                let request = self.requests.get_mut(id);
                request.step = next;
                request.phase = Phase::Moving;
                self.advance(now, id, scheduler);
            }
            OpKind::Write { database } => {
                let d = usize::from(database);
                let shard = self.data.databases[d].shard_of(r.key, r.client);
                let replicas = self.data.databases[d].shard_replicas(shard);
                let apply: Vec<f64> = replicas
                    .clone()
                    .map(|_| self.data.databases[d].spec.apply.sample(&mut self.data_rng))
                    .collect();
                let db = &mut self.data.databases[d];
                db.next_version += 1;
                let version = db.next_version;
                db.versions.insert(r.key, version);
                for (k, apply) in replicas.zip(apply) {
                    let replica = &mut db.replication[k];
                    let visible = replica.commit(now, r.key, version, SimDuration::from_secs_f64(apply));
                    db.lag_max[k] = db.lag_max[k].max(replica.lag(now).0);
                    if now >= self.recorder.warmup {
                        db.replication_delay[k].record((visible - now).0);
                    }
                }
                if r.arrival >= self.recorder.warmup {
                    db.shard_writes[shard] += 1;
                    db.shard_calls[shard].record((now - r.mark).0);
                }
                db.last_write.insert(r.client, (r.key, version));
                db.interval.writes += 1;
                let tier = self.data.db_tier(d);
                self.account(tier, (now - r.mark).0, r.arrival);
                self.requests.get_mut(id).version = version;
                self.apply_write(now, id);
                let next = self.past_data(id);
                let request = self.requests.get_mut(id);
                request.step = next;
                request.phase = Phase::Moving;
                self.advance(now, id, scheduler);
            }
        }
    }

    /// Gives back the connections an operation on `server` held: to the
    /// server's pooler, and to its instance's pool.
    fn release_op(&mut self, now: SimTime, s: usize, op: &Op, scheduler: &mut Scheduler<Event>) {
        let server = s as u16;
        if op.holds_pooler {
            let requests = &self.requests;
            let waiting = |r: RequestId, g: u32| {
                requests.is_current(r, g) && requests.get(r).phase == Phase::PoolerWait { server }
            };
            let pooler = self.data.servers[s].pooler.as_mut().expect("held");
            if let Some(w) = pooler.release(waiting) {
                self.travel(now, w, s, scheduler);
            }
        }
        // A stopped instance's pool went with it.
        if op.holds_connection && self.instances[op.instance as usize].state != InstanceState::Stopped {
            self.release_connection(now, op.instance, s, scheduler);
        }
    }

    /// An operation lost to a failed server: its connections go back and
    /// its request (if it still exists) fails.
    pub(super) fn drop_op(&mut self, now: SimTime, server: usize, op: Op, scheduler: &mut Scheduler<Event>) {
        self.release_op(now, server, &op, scheduler);
        if self.requests.is_current(op.request, op.generation) {
            let database = self.database_of(server);
            self.data.databases[database].interval.unavailable += 1;
            self.fail_downstream(now, op.request, scheduler);
        }
    }

    /// Continues a request after its pending delay.
    pub(super) fn on_data_step_due(
        &mut self,
        now: SimTime,
        id: RequestId,
        generation: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        if !self.requests.is_current(id, generation) {
            return;
        }
        match self.requests.get(id).phase {
            Phase::Travelling { server } => self.submit(now, id, usize::from(server), scheduler),
            _ => self.advance(now, id, scheduler),
        }
    }

    /// Returns a connection of `instance`'s pool to `server`: the first
    /// request still waiting for one takes it and moves on.
    fn release_connection(&mut self, now: SimTime, instance: u32, server: usize, scheduler: &mut Scheduler<Event>) {
        let requests = &self.requests;
        let tag = server as u16;
        let waiting = |r: RequestId, g: u32| {
            requests.is_current(r, g) && requests.get(r).phase == Phase::ConnectionWait { server: tag }
        };
        if let Some(w) = self.instances[instance as usize].connections[server].release(waiting) {
            self.through_pooler(now, w, server, scheduler);
        }
    }

    /// A request waited too long for a connection: it fails.
    pub(super) fn on_connection_wait_expired(
        &mut self,
        now: SimTime,
        id: RequestId,
        generation: u32,
        pooler: bool,
        scheduler: &mut Scheduler<Event>,
    ) {
        if !self.requests.is_current(id, generation) {
            return;
        }
        let r = *self.requests.get(id);
        let server = match (r.phase, pooler) {
            (Phase::ConnectionWait { server }, false) => usize::from(server),
            (Phase::PoolerWait { server }, true) => {
                // It gives back the app connection it held.
                self.release_connection(now, r.instance, usize::from(server), scheduler);
                usize::from(server)
            }
            _ => return, // It got its connection in time.
        };
        let database = self.database_of(server);
        self.data.databases[database].interval.connection_timeouts += 1;
        self.fail_downstream(now, id, scheduler);
    }

    /// Stores the value the request read in the caches before its
    /// `index`-th (those it missed), waking requests waiting on those fills.
    fn fill(&mut self, now: SimTime, id: RequestId, index: usize) {
        let r = *self.requests.get(id);
        for i in 0..index {
            let tier = self.path_cache(r.class, i);
            if let Some(cache) = self.cache_for(tier, r.instance, r.key) {
                cache.put(now, r.key, r.version);
            }
            self.filled(now, id, tier);
        }
    }

    /// When `id` leads the fill of `tier`, hands the version it carries to
    /// the requests waiting on it.
    pub(super) fn filled(&mut self, now: SimTime, id: RequestId, tier: usize) {
        let r = self.requests.get_mut(id);
        if r.leading & (1 << tier) != 0 {
            r.leading &= !(1 << tier);
            let version = r.version;
            self.wake(now, id, tier, Some(version));
        }
    }

    /// Hands the value `id` fetched to the requests waiting on its fill of
    /// `tier` (or, with `None`, sends them on to fetch it themselves).
    pub(super) fn wake(&mut self, now: SimTime, id: RequestId, tier: usize, version: Option<u64>) {
        let r = *self.requests.get(id);
        let scope = match self.data.caches[tier].spec.scope {
            CacheScope::Local { .. } => r.instance,
            CacheScope::Shared { .. } => 0,
            CacheScope::Edge { .. } => self.data.caches[tier].pop_of(r.client),
        };
        let waiters = self.data.caches[tier]
            .filling
            .remove(&(scope, r.key))
            .unwrap_or_default();
        for (w, generation) in waiters {
            if !self.requests.is_current(w, generation)
                || self.requests.get(w).phase != (Phase::Coalesced { tier: tier as u16 })
            {
                continue;
            }
            let waiter = *self.requests.get(w);
            if waiter.instance == AT_EDGE {
                self.woken_at_edge(now, w, tier, version);
                continue;
            }
            self.account(tier, (now - waiter.mark).0, waiter.arrival);
            self.requests.get_mut(w).phase = Phase::Moving;
            match version {
                Some(v) => {
                    self.requests.get_mut(w).version = v;
                    self.fill(now, w, usize::from(waiter.step));
                    self.requests.get_mut(w).step = self.past_data(w);
                }
                None => self.requests.get_mut(w).step += 1,
            }
            self.pending_wakes.push((w, generation));
        }
    }

    /// A write updates or invalidates every cache on its path (a local
    /// cache only on its own instance: other instances keep what they hold
    /// until it expires).
    fn apply_write(&mut self, now: SimTime, id: RequestId) {
        let r = *self.requests.get(id);
        if let Some(edge) = self.spec.traffic.classes[usize::from(r.class)]
            .data
            .as_ref()
            .and_then(|p| p.edge)
        {
            self.purge(edge, r.key);
        }
        let path = self.spec.traffic.classes[usize::from(r.class)].data.as_ref();
        for i in 0..path.map_or(0, |p| p.caches.len()) {
            let tier = self.path_cache(r.class, i);
            let on_write = self.data.caches[tier].spec.on_write;
            if let Some(cache) = self.cache_for(tier, r.instance, r.key) {
                match on_write {
                    OnWrite::Delete => {
                        cache.invalidate(r.key);
                    }
                    OnWrite::Update => cache.put(now, r.key, r.version),
                }
            }
        }
    }

    /// The request has its answer: the client gets it (unless it gave up)
    /// and the worker goes to the next request.
    fn answer(&mut self, now: SimTime, id: RequestId, scheduler: &mut Scheduler<Event>) {
        let r = *self.requests.get(id);
        let class = &self.spec.traffic.classes[usize::from(r.class)];
        if class.kind == RequestKind::Read {
            if let Some(edge) = class.data.as_ref().and_then(|p| p.edge) {
                self.fill_edge(now, id, edge);
            }
            self.count_read_response(&r);
        }
        if r.state == RequestState::Working {
            self.recorder
                .completed(now, r.arrival, r.reached, r.service_start, usize::from(r.class));
            self.lb_responses[usize::from(r.lb) * self.spec.traffic.classes.len() + usize::from(r.class)] += 1;
        }
        self.requests.remove(id);
        self.free_worker(now, InstanceId(r.instance), scheduler);
    }

    /// The data tier failed the request (no connection, or none in time).
    fn fail_downstream(&mut self, now: SimTime, id: RequestId, scheduler: &mut Scheduler<Event>) {
        let r = *self.requests.get(id);
        if r.state == RequestState::Working {
            self.recorder.failed_downstream(now);
        }
        self.release_fills(now, id);
        self.requests.remove(id);
        self.free_worker(now, InstanceId(r.instance), scheduler);
    }

    /// A request that will not fill the caches it missed (it failed, or its
    /// instance stopped) sends those waiting on its fills on to fetch the
    /// value themselves.
    pub(super) fn release_fills(&mut self, now: SimTime, id: RequestId) {
        let leading = self.requests.get(id).leading;
        for tier in 0..self.data.caches.len() {
            if leading & (1 << tier) != 0 {
                self.wake(now, id, tier, None);
            }
        }
        self.requests.get_mut(id).leading = 0;
    }

    /// Moves on the requests woken by a fill once the event that woke them
    /// is handled (see `handle`).
    pub(super) fn run_pending_wakes(&mut self, now: SimTime, scheduler: &mut Scheduler<Event>) {
        while let Some((w, generation)) = self.pending_wakes.pop() {
            if !self.requests.is_current(w, generation) {
                continue;
            }
            if self.requests.get(w).instance == AT_EDGE {
                self.forward_from_edge(now, w, scheduler);
            } else {
                self.advance(now, w, scheduler);
            }
        }
    }

    /// Counts a read's response against its class's database: stale when
    /// the version it returns is older than the latest write, a
    /// read-your-writes violation when that write was its own client's.
    pub(super) fn count_read_response(&mut self, r: &crate::model::request::Request) {
        let class = &self.spec.traffic.classes[usize::from(r.class)];
        let Some(d) = class.data.as_ref().and_then(|p| p.database) else {
            return;
        };
        let db = &mut self.data.databases[d];
        let stale = r.version < db.latest(r.key);
        let own_write_missed = db
            .last_write
            .get(&r.client)
            .is_some_and(|&(key, version)| key == r.key && r.version < version);
        db.interval.read_responses += 1;
        db.interval.stale_responses += u64::from(stale);
        db.interval.read_your_writes_violations += u64::from(own_write_missed);
    }

    /// Adds a call's time to its tier.
    pub(super) fn account(&mut self, tier: usize, ns: u64, arrival: SimTime) {
        self.data.tier_ns[tier] += u128::from(ns);
        if arrival >= self.recorder.warmup {
            self.data.tier_calls[tier].record(ns);
        }
    }
}

fn schedule_done(now: SimTime, server: usize, op: Op, scheduler: &mut Scheduler<Event>) {
    scheduler.schedule(
        now + op.service,
        Event::ServerDone {
            server: server as u16,
            request: op.request,
            generation: op.generation,
        },
    );
}
