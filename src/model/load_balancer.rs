//! The load balancer: picks a ready instance for each request.
//!
//! It only ever routes to backends in its rotation. The system registers an
//! instance when it becomes ready and deregisters it when it drains or its
//! controller notices it died; in between, the balancer's own checks
//! (active probes, passive failure marking) take backends out and put them
//! back, and its retry policy and budget decide whether a failed try is
//! sent on to the next backend.

use crate::engine::{RngStream, SimDuration, SimTime, splitmix64};

use super::instance::{Instance, InstanceId};

mod index;

use index::{Index, Kind, weight_at};

/// What consistent hashing hashes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashOn {
    Client,
    Key,
}

/// How a backend is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LbPolicy {
    RoundRobin,
    /// Smooth weighted round robin (nginx's algorithm).
    WeightedRoundRobin,
    LeastConnections,
    /// Least `connections / weight`.
    WeightedLeastConnections,
    Random,
    /// Two distinct random backends; the one with fewer connections wins.
    PowerOfTwoChoices,
    /// `hash(client) mod n` over the current rotation.
    IpHash,
    /// A hash ring with `vnodes` points per backend.
    ConsistentHash {
        on: HashOn,
        vnodes: u32,
    },
}

/// A pool behind the load balancer, with its weight.
#[derive(Clone, Debug)]
pub struct LbBackendSpec {
    pub pool: usize,
    pub weight: u32,
    /// Used only while no primary backend is available (nginx `backup`).
    pub backup: bool,
}

/// Active health checks: every `interval` the balancer probes each
/// registered backend; `fails` failed probes in a row take it out of
/// rotation, `passes` passing probes in a row put it back (HAProxy's
/// `inter`/`fall`/`rise`, nginx's `health_check interval fails passes`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthCheck {
    pub interval: SimDuration,
    /// How long a probe to an unreachable backend (or one whose accept
    /// queue is full) waits before it counts as failed.
    pub timeout: SimDuration,
    pub fails: u32,
    pub passes: u32,
}

/// Passive health (nginx `max_fails` / `fail_timeout`): `max_fails` failed
/// tries within `fail_timeout` make a backend unavailable for `fail_timeout`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassiveHealth {
    pub max_fails: u32,
    pub fail_timeout: SimDuration,
}

/// Retries to the next backend when a try fails.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first try (so at most `max + 1` tries).
    pub max: u32,
    /// Retry a try that failed to connect or was refused.
    pub on_error: bool,
    /// Retry a try that outlived `try_timeout`.
    pub on_timeout: bool,
    /// How long one try may take before the balancer gives up on it (the
    /// backend keeps working on it); `None`: no per-try limit.
    pub try_timeout: Option<SimDuration>,
    pub budget: Option<RetryBudgetSpec>,
}

/// A retry budget (Finagle's `RetryBudget`): over the last `window`, retries
/// may number at most `min_per_second × window + ratio × first tries`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryBudgetSpec {
    pub ratio: f64,
    pub min_per_second: f64,
    pub window: SimDuration,
}

/// Upstream connection reuse: each backend keeps up to `idle` idle
/// connections for `idle_timeout`; a try that finds none opens one and
/// pays the `handshake` (TCP, and TLS if any) before it reaches the backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Keepalive {
    pub idle: u32,
    pub handshake: SimDuration,
    pub idle_timeout: SimDuration,
}

#[derive(Clone, Debug)]
pub struct LoadBalancerSpec {
    pub name: String,
    pub policy: LbPolicy,
    pub backends: Vec<LbBackendSpec>,
    pub health_check: Option<HealthCheck>,
    pub passive: Option<PassiveHealth>,
    pub retries: Option<RetryPolicy>,
    /// A backend put in rotation ramps its weight from 0 to its own over this (0: off).
    pub slow_start: SimDuration,
    pub keepalive: Option<Keepalive>,
    /// How long a try to an unreachable backend waits before it fails.
    pub connect_timeout: SimDuration,
    /// Its nodes (an ALB's per-zone nodes, an HAProxy pair): each client
    /// reaches one, and a node's failure fails its clients' requests.
    pub nodes: u32,
}

impl LoadBalancerSpec {
    /// A plain balancer: no health checks, retries, slow start or keepalive.
    pub fn plain(name: &str, policy: LbPolicy, backends: Vec<LbBackendSpec>) -> LoadBalancerSpec {
        LoadBalancerSpec {
            name: name.to_string(),
            policy,
            backends,
            health_check: None,
            passive: None,
            retries: None,
            slow_start: SimDuration::ZERO,
            keepalive: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            nodes: 1,
        }
    }

    /// The node `client` reaches when every node is up: spread evenly.
    pub fn node_of(&self, client: u32) -> u32 {
        (crate::engine::splitmix64(u64::from(client) ^ 0x5851_f42d_4c95_7f2d) % u64::from(self.nodes)) as u32
    }

    /// Whether it reports its own figures (anything beyond plain routing).
    pub fn is_plain(&self) -> bool {
        self.health_check.is_none()
            && self.passive.is_none()
            && self.retries.is_none()
            && self.keepalive.is_none()
            && self.slow_start.is_zero()
            && self.nodes == 1
    }
}

/// Envoy's and HAProxy's usual connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: SimDuration = SimDuration::from_secs(5);

#[derive(Clone, Copy, Debug)]
struct Backend {
    instance: InstanceId,
    weight: u32,
    /// Smooth weighted round robin state.
    current: i64,
    /// End of its slow start (at or before now: full weight).
    ramp_until: SimTime,
}

/// What the balancer knows of one registered backend.
#[derive(Clone, Copy, Debug, Default)]
struct Member {
    registered: bool,
    backup: bool,
    weight: u32,
    /// Taken out by active checks.
    down: bool,
    /// Consecutive probes against its current state (fails while up, passes while down).
    streak: u32,
    /// Passive: failed tries since `fails_since`, and out of rotation until `out_until`.
    fails: u32,
    fails_since: SimTime,
    out_until: Option<SimTime>,
    /// Keepalive: connections open to it, and when one was last taken.
    open: u32,
    last_used: SimTime,
}

/// What the balancer's own figures count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LbCounters {
    /// Tries sent to a backend (first tries and retries).
    pub tries: u64,
    pub retries: u64,
    /// Retries the budget refused (the try's failure went to the client).
    pub retries_over_budget: u64,
    /// Failed tries, by cause: refused by a dead backend, unreachable
    /// (connect timeout), accept queue full, try timeout.
    pub refused: u64,
    pub unreachable: u64,
    pub queue_full: u64,
    pub try_timeouts: u64,
    /// Active checks taking backends out and putting them back.
    pub marked_down: u64,
    pub marked_up: u64,
    /// Passive marking taking a backend out for `fail_timeout`.
    pub ejected: u64,
    /// Tries that opened a new connection (and paid its handshake).
    pub handshakes: u64,
    /// Requests whose client reached a failed node before its clients
    /// moved to the others.
    pub dead_node: u64,
}

/// How a probe of a backend went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    Pass,
    Fail,
}

/// A backend's health changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Down,
    Up,
    Ejected,
}

/// A load balancer's runtime state.
pub struct LoadBalancer {
    pub spec: LoadBalancerSpec,
    /// The policy applied: round robin and least connections become
    /// their weighted forms under slow start.
    policy: LbPolicy,
    /// Primaries in rotation, and backups in rotation (used when no primary is).
    backends: Vec<Backend>,
    backups: Vec<Backend>,
    next: usize,
    ring: Vec<(u64, InstanceId)>,
    rng: RngStream,
    members: Vec<Member>,
    /// How many members are registered.
    registered: usize,
    /// Per instance, tries connecting to it (a handshake, or a connect to an
    /// unreachable host): connections least-connections counts too.
    connecting: Vec<u32>,
    /// Backends passively out, and the earliest time one comes back.
    passive_out: Vec<InstanceId>,
    next_return: SimTime,
    budget: Option<RetryBudget>,
    /// Least connections' and smooth weighted round robin's indexes over
    /// the rotations (`None`: other policies, or the plain scans the tests
    /// hold the indexes to).
    index: Option<Index>,
    pub counters: LbCounters,
}

impl LoadBalancer {
    pub fn new(spec: LoadBalancerSpec, rng: RngStream) -> LoadBalancer {
        let policy = match spec.policy {
            LbPolicy::RoundRobin if !spec.slow_start.is_zero() => LbPolicy::WeightedRoundRobin,
            LbPolicy::LeastConnections if !spec.slow_start.is_zero() => LbPolicy::WeightedLeastConnections,
            p => p,
        };
        let kind = match policy {
            LbPolicy::LeastConnections => Some(Kind::LeastConnections { weighted: false }),
            LbPolicy::WeightedLeastConnections => Some(Kind::LeastConnections { weighted: true }),
            LbPolicy::WeightedRoundRobin => Some(Kind::SmoothWeighted),
            _ => None,
        };
        LoadBalancer {
            budget: spec.retries.and_then(|r| r.budget).map(RetryBudget::new),
            index: kind.map(|k| Index::new(k, spec.slow_start)),
            spec,
            policy,
            backends: Vec::new(),
            backups: Vec::new(),
            next: 0,
            ring: Vec::new(),
            rng,
            members: Vec::new(),
            registered: 0,
            connecting: Vec::new(),
            passive_out: Vec::new(),
            next_return: SimTime::MAX,
            counters: LbCounters::default(),
        }
    }

    /// The weight and backup flag this balancer gives instances of `pool`, if it serves it.
    pub fn serves(&self, pool: usize) -> Option<(u32, bool)> {
        self.spec
            .backends
            .iter()
            .find(|b| b.pool == pool)
            .map(|b| (b.weight, b.backup))
    }

    pub fn rotation_len(&self) -> usize {
        self.backends.len() + self.backups.len()
    }

    fn member(&mut self, instance: InstanceId) -> &mut Member {
        let i = instance.0 as usize;
        if i >= self.members.len() {
            self.members.resize(i + 1, Member::default());
        }
        &mut self.members[i]
    }

    /// Whether `instance` is registered here (in rotation or held out by its checks).
    pub fn is_registered(&self, instance: InstanceId) -> bool {
        self.members.get(instance.0 as usize).is_some_and(|m| m.registered)
    }

    /// Registers an instance that became ready and puts it in rotation;
    /// `ramp`: it starts its slow start now (not for the initial fleet).
    pub fn add(&mut self, now: SimTime, instance: InstanceId, weight: u32, backup: bool, ramp: bool) {
        if !self.is_registered(instance) {
            self.registered += 1;
        }
        *self.member(instance) = Member {
            registered: true,
            backup,
            weight,
            last_used: now,
            ..Member::default()
        };
        let ramp_until = if ramp {
            now + self.spec.slow_start
        } else {
            SimTime::ZERO
        };
        self.enter(instance, ramp_until);
    }

    /// Puts a registered backend in its rotation (kept sorted by id, so the
    /// order never depends on the order events happened to arrive in).
    fn enter(&mut self, instance: InstanceId, ramp_until: SimTime) {
        let m = self.members[instance.0 as usize];
        let list = if m.backup {
            &mut self.backups
        } else {
            &mut self.backends
        };
        let at = list.partition_point(|b| b.instance < instance);
        if list.get(at).is_some_and(|b| b.instance == instance) {
            return;
        }
        list.insert(
            at,
            Backend {
                instance,
                weight: m.weight,
                current: 0,
                ramp_until,
            },
        );
        if let Some(index) = &mut self.index {
            index.enter(usize::from(m.backup), instance.0, m.weight, ramp_until);
        }
        if !m.backup {
            self.rebuild_ring();
        }
    }

    /// Takes a backend out of its rotation (it stays registered).
    fn leave(&mut self, instance: InstanceId) {
        let backup = self.members.get(instance.0 as usize).is_some_and(|m| m.backup);
        let list = if backup { &mut self.backups } else { &mut self.backends };
        if let Ok(at) = list.binary_search_by(|b| b.instance.cmp(&instance)) {
            list.remove(at);
            if let Some(index) = &mut self.index {
                index.leave(usize::from(backup), instance.0);
            }
            if !backup {
                if self.next > at {
                    self.next -= 1;
                }
                self.rebuild_ring();
            }
        }
    }

    /// Deregisters an instance: it leaves the rotation and the checks forget it.
    pub fn remove(&mut self, instance: InstanceId) {
        if !self.is_registered(instance) {
            return;
        }
        self.leave(instance);
        self.passive_out.retain(|&i| i != instance);
        self.members[instance.0 as usize] = Member::default();
        self.registered -= 1;
    }

    fn rebuild_ring(&mut self) {
        let LbPolicy::ConsistentHash { vnodes, .. } = self.policy else {
            return;
        };
        self.ring.clear();
        for b in &self.backends {
            for v in 0..vnodes {
                let point = splitmix64((u64::from(b.instance.0) << 32) | u64::from(v));
                self.ring.push((point, b.instance));
            }
        }
        self.ring.sort_unstable();
    }

    /// Backends whose passive `fail_timeout` has run out go back in rotation.
    #[inline]
    fn return_passive(&mut self, now: SimTime) {
        if now < self.next_return {
            return;
        }
        self.return_passive_now(now);
    }

    #[cold]
    fn return_passive_now(&mut self, now: SimTime) {
        let mut next = SimTime::MAX;
        let mut back = Vec::new();
        self.passive_out.retain(|&i| {
            let m = &self.members[i.0 as usize];
            match m.out_until {
                Some(t) if t <= now => {
                    back.push(i);
                    false
                }
                Some(t) => {
                    next = next.min(t);
                    true
                }
                None => false,
            }
        });
        self.next_return = next;
        for i in back {
            let m = &mut self.members[i.0 as usize];
            m.out_until = None;
            m.fails = 0;
            if !m.down {
                self.enter(i, SimTime::ZERO);
            }
        }
    }

    /// A try to `instance` failed: passive marking counts it, and takes the
    /// backend out for `fail_timeout` at `max_fails` within that time.
    pub fn try_failed(&mut self, now: SimTime, instance: InstanceId) -> Option<Transition> {
        let passive = self.spec.passive?;
        // nginx never marks the only server of a group unavailable.
        if self.registered <= 1 || !self.is_registered(instance) {
            return None;
        }
        let m = self.member(instance);
        if m.out_until.is_some() {
            return None;
        }
        if now >= m.fails_since + passive.fail_timeout || m.fails == 0 {
            m.fails = 0;
            m.fails_since = now;
        }
        m.fails += 1;
        if m.fails < passive.max_fails {
            return None;
        }
        let until = now + passive.fail_timeout;
        m.out_until = Some(until);
        let down = m.down;
        self.passive_out.push(instance);
        self.next_return = self.next_return.min(until);
        if !down {
            self.leave(instance);
        }
        self.counters.ejected += 1;
        Some(Transition::Ejected)
    }

    /// Registered instances, for the active checks to probe.
    pub fn registered(&self) -> Vec<InstanceId> {
        (0..self.members.len())
            .filter(|&i| self.members[i].registered)
            .map(|i| InstanceId(i as u32))
            .collect()
    }

    /// Applies one probe's result under the active checks' thresholds.
    pub fn probed(&mut self, now: SimTime, instance: InstanceId, probe: Probe) -> Option<Transition> {
        let check = self.spec.health_check?;
        if !self.is_registered(instance) {
            return None;
        }
        let slow_start = self.spec.slow_start;
        let m = self.member(instance);
        let against = (probe == Probe::Fail) != m.down;
        m.streak = if against { m.streak + 1 } else { 0 };
        if m.down && m.streak >= check.passes {
            m.down = false;
            m.streak = 0;
            let passive_out = m.out_until.is_some();
            self.counters.marked_up += 1;
            if !passive_out {
                self.enter(instance, now + slow_start);
            }
            return Some(Transition::Up);
        }
        if !m.down && m.streak >= check.fails {
            m.down = true;
            m.streak = 0;
            let passive_out = m.out_until.is_some();
            self.counters.marked_down += 1;
            if !passive_out {
                self.leave(instance);
            }
            return Some(Transition::Down);
        }
        None
    }

    /// A try starts connecting to `instance` (`true`) or is done connecting (`false`).
    pub fn connecting(&mut self, instance: InstanceId, started: bool) {
        let i = instance.0 as usize;
        if i >= self.connecting.len() {
            self.connecting.resize(i + 1, 0);
        }
        if started {
            self.connecting[i] += 1;
        } else {
            self.connecting[i] -= 1;
        }
        if let Some(index) = &mut self.index
            && index.counts_connections()
        {
            index.connecting(instance.0, started);
        }
    }

    /// `instance` now holds `held` requests (working or queued): the system
    /// reports every change, for least connections' index.
    #[inline]
    pub fn held(&mut self, instance: InstanceId, held: u32) {
        if let Some(index) = &mut self.index
            && index.counts_connections()
        {
            index.set_held(instance.0, held);
        }
    }

    /// The plain scans instead of the indexes (the reference they are tested against).
    #[cfg(test)]
    fn scanning(mut self) -> LoadBalancer {
        self.index = None;
        self
    }

    /// Takes a connection to `instance` for a try: `true` when none was
    /// idle and the try must open one (and pay the handshake).
    #[inline]
    pub fn connect(&mut self, now: SimTime, instance: InstanceId, outstanding: u32) -> bool {
        let Some(k) = self.spec.keepalive else { return false };
        let m = self.member(instance);
        // Idle connections beyond the cache size closed when they were
        // freed; after the idle timeout all of them have.
        let idle = if now >= m.last_used + k.idle_timeout {
            0
        } else {
            m.open.saturating_sub(outstanding).min(k.idle)
        };
        m.last_used = now;
        if idle > 0 {
            m.open = outstanding + idle;
            false
        } else {
            m.open = outstanding + 1;
            self.counters.handshakes += 1;
            true
        }
    }

    /// A client's request arrives (a deposit in the retry budget).
    #[inline]
    pub fn first_try(&mut self, now: SimTime) {
        self.counters.tries += 1;
        if let Some(b) = &mut self.budget {
            b.deposit(now);
        }
    }

    /// Whether a failed try may be retried: the policy covers the failure,
    /// tries remain and the budget allows one (which it then spends).
    pub fn may_retry(&mut self, now: SimTime, tries: u32, timeout: bool) -> bool {
        let Some(r) = self.spec.retries else { return false };
        let covered = if timeout { r.on_timeout } else { r.on_error };
        if !covered || tries > r.max {
            return false;
        }
        if let Some(b) = &mut self.budget
            && !b.withdraw(now)
        {
            self.counters.retries_over_budget += 1;
            return false;
        }
        self.counters.retries += 1;
        self.counters.tries += 1;
        true
    }

    /// Chooses a backend for a try, or `None` when nothing is in rotation
    /// (all passive marks are then cleared, as nginx does, for the next
    /// request). `avoid`: the backend the previous try of this request failed on.
    #[inline]
    pub fn choose(
        &mut self,
        now: SimTime,
        client: u32,
        key: u64,
        instances: &[Instance],
        avoid: Option<InstanceId>,
    ) -> Option<InstanceId> {
        self.return_passive(now);
        if self.backends.is_empty() && self.backups.is_empty() {
            if !self.passive_out.is_empty() {
                self.next_return = now;
                for &i in &self.passive_out {
                    self.members[i.0 as usize].out_until = Some(now);
                }
                self.return_passive(now);
            }
            return None;
        }
        let first = self.pick(now, client, key, instances);
        match avoid {
            Some(a) if first == a && self.rotation_len() > 1 => {
                // The next one along (nginx's next upstream): choose again;
                // a hash choosing the same backend takes the next on the ring.
                let again = self.pick(now, client, key, instances);
                if again != a {
                    return Some(again);
                }
                let list = if self.backends.is_empty() {
                    &self.backups
                } else {
                    &self.backends
                };
                let at = list.partition_point(|b| b.instance <= a);
                Some(list[at % list.len()].instance)
            }
            _ => Some(first),
        }
    }

    #[inline]
    fn pick(&mut self, now: SimTime, client: u32, key: u64, instances: &[Instance]) -> InstanceId {
        let use_backups = self.backends.is_empty();
        let slow_start = self.spec.slow_start;
        let list = if use_backups {
            &mut self.backups
        } else {
            &mut self.backends
        };
        let n = list.len();
        let connecting = &self.connecting;
        let conns = |id: InstanceId| {
            instances[id.0 as usize].outstanding() + connecting.get(id.0 as usize).copied().unwrap_or(0)
        };
        // A backend's weight, ramping under slow start (in thousandths then).
        let weight = |b: &Backend| weight_at(b.weight, b.ramp_until, now, slow_start);
        if let Some(index) = &mut self.index {
            let rotation = usize::from(use_backups);
            let id = if index.counts_connections() {
                #[cfg(debug_assertions)]
                index.check(list.iter().map(|b| (b.instance.0, conns(b.instance))));
                // The first (from the rotating start) with the least
                // connections per weight, as the scan below finds it.
                let from = list[self.next % n].instance.0;
                let id = index.least(rotation, now, from);
                let at = list.binary_search_by(|b| b.instance.0.cmp(&id));
                self.next = at.expect("the index holds what the rotation does") + 1;
                id
            } else {
                index.smooth(rotation, now)
            };
            return InstanceId(id);
        }
        let chosen = match self.policy {
            LbPolicy::RoundRobin => {
                // `next` passes `n` only when the rotation shrank: most
                // picks need no division.
                let i = if self.next < n { self.next } else { self.next % n };
                self.next = i + 1;
                i
            }
            LbPolicy::WeightedRoundRobin => {
                // nginx: add each weight to its current, pick the largest, subtract the total.
                let mut total = 0i64;
                let mut best = 0;
                for i in 0..n {
                    let w = weight(&list[i]);
                    total += w;
                    list[i].current += w;
                    if list[i].current > list[best].current {
                        best = i;
                    }
                }
                list[best].current -= total;
                best
            }
            LbPolicy::LeastConnections | LbPolicy::WeightedLeastConnections => {
                let weighted = self.policy == LbPolicy::WeightedLeastConnections;
                // Scan from a rotating start so ties are shared round robin.
                let start = self.next % n;
                let mut best = start;
                for step in 1..n {
                    let i = (start + step) % n;
                    let (a, b) = (&list[i], &list[best]);
                    let less = if weighted {
                        i128::from(conns(a.instance)) * i128::from(weight(b))
                            < i128::from(conns(b.instance)) * i128::from(weight(a))
                    } else {
                        conns(a.instance) < conns(b.instance)
                    };
                    if less {
                        best = i;
                    }
                }
                self.next = best + 1;
                best
            }
            LbPolicy::Random => self.rng.below(n as u64) as usize,
            LbPolicy::PowerOfTwoChoices => {
                if n == 1 {
                    0
                } else {
                    let a = self.rng.below(n as u64) as usize;
                    let mut b = self.rng.below(n as u64 - 1) as usize;
                    if b >= a {
                        b += 1;
                    }
                    let (ca, cb) = (conns(list[a].instance), conns(list[b].instance));
                    if cb < ca { b } else { a }
                }
            }
            LbPolicy::IpHash => (splitmix64(u64::from(client)) % n as u64) as usize,
            LbPolicy::ConsistentHash { on, .. } => {
                if use_backups {
                    // Backups have no ring: spread by hash over them.
                    (splitmix64(u64::from(client) ^ key) % n as u64) as usize
                } else {
                    let h = splitmix64(match on {
                        HashOn::Client => u64::from(client),
                        HashOn::Key => key ^ 0x5bd1_e995,
                    });
                    let at = self.ring.partition_point(|(point, _)| *point < h);
                    return self.ring[at % self.ring.len()].1;
                }
            }
        };
        list[chosen].instance
    }
}

/// Finagle's retry budget over a sliding window of one-second buckets.
struct RetryBudget {
    spec: RetryBudgetSpec,
    /// `(second, deposits, withdrawals)`, oldest first.
    buckets: std::collections::VecDeque<(u64, u64, u64)>,
}

impl RetryBudget {
    fn new(spec: RetryBudgetSpec) -> RetryBudget {
        RetryBudget {
            spec,
            buckets: std::collections::VecDeque::new(),
        }
    }

    fn bucket(&mut self, now: SimTime) -> &mut (u64, u64, u64) {
        let second = now.0 / 1_000_000_000;
        let window = self.spec.window.0.div_ceil(1_000_000_000).max(1);
        while self.buckets.front().is_some_and(|b| b.0 + window <= second) {
            self.buckets.pop_front();
        }
        if self.buckets.back().is_none_or(|b| b.0 != second) {
            self.buckets.push_back((second, 0, 0));
        }
        self.buckets.back_mut().expect("just pushed")
    }

    fn deposit(&mut self, now: SimTime) {
        self.bucket(now).1 += 1;
    }

    /// Spends one retry if the window's balance allows it.
    fn withdraw(&mut self, now: SimTime) -> bool {
        self.bucket(now);
        let (deposits, withdrawals) = self.buckets.iter().fold((0, 0), |(d, w), b| (d + b.1, w + b.2));
        let allowance = self.spec.min_per_second * self.spec.window.as_secs_f64() + self.spec.ratio * deposits as f64;
        if (withdrawals as f64) + 1.0 > allowance {
            return false;
        }
        self.bucket(now).2 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimTime, StreamId};
    use crate::model::instance::{PoolId, PoolSpec};
    use crate::model::request::RequestId;

    fn instances(n: usize) -> Vec<Instance> {
        let spec = PoolSpec::fixed(n as u32, 100, 100, 0);
        (0..n)
            .map(|_| Instance::new(PoolId(0), &spec, 1.0, SimTime::ZERO))
            .collect()
    }

    fn lb(policy: LbPolicy, n: u32, weights: &[u32]) -> LoadBalancer {
        with(LoadBalancerSpec::plain("lb", policy, vec![]), n, weights)
    }

    fn with(spec: LoadBalancerSpec, n: u32, weights: &[u32]) -> LoadBalancer {
        let mut lb = LoadBalancer::new(spec, RngStream::new(StreamId::new(1, 0, "lb")));
        for i in 0..n {
            let weight = weights.get(i as usize).copied().unwrap_or(1);
            lb.add(SimTime::ZERO, InstanceId(i), weight, false, false);
        }
        lb
    }

    fn picks(lb: &mut LoadBalancer, inst: &[Instance], k: usize) -> Vec<u32> {
        picks_at(lb, inst, k, SimTime::ZERO)
    }

    fn picks_at(lb: &mut LoadBalancer, inst: &[Instance], k: usize, now: SimTime) -> Vec<u32> {
        (0..k)
            .map(|c| lb.choose(now, c as u32, c as u64, inst, None).unwrap().0)
            .collect()
    }

    fn secs(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn round_robin_cycles() {
        let inst = instances(3);
        let mut lb = lb(LbPolicy::RoundRobin, 3, &[]);
        assert_eq!(picks(&mut lb, &inst, 7), vec![0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn smooth_weighted_round_robin_matches_nginx() {
        // nginx's documented sequence for weights 5, 1, 1: a a b a c a a.
        let inst = instances(3);
        let mut lb = lb(LbPolicy::WeightedRoundRobin, 3, &[5, 1, 1]);
        assert_eq!(picks(&mut lb, &inst, 7), vec![0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn least_connections_prefers_the_idle() {
        let mut inst = instances(3);
        inst[0].admit(SimTime::ZERO, RequestId(0), 0);
        inst[1].admit(SimTime::ZERO, RequestId(1), 0);
        let mut lb = lb(LbPolicy::LeastConnections, 3, &[]);
        lb.held(InstanceId(0), 1);
        lb.held(InstanceId(1), 1);
        assert_eq!(lb.choose(SimTime::ZERO, 0, 0, &inst, None), Some(InstanceId(2)));
    }

    #[test]
    fn power_of_two_never_picks_the_busiest_of_two() {
        let mut inst = instances(2);
        for r in 0..5 {
            inst[1].admit(SimTime::ZERO, RequestId(r), 0);
        }
        let mut lb = lb(LbPolicy::PowerOfTwoChoices, 2, &[]);
        assert!(picks(&mut lb, &inst, 50).iter().all(|&i| i == 0));
    }

    #[test]
    fn power_of_two_picks_the_idle_one_whenever_it_is_drawn() {
        // Backends 0 and 1 hold 10 requests, 2 none: 2 is chosen exactly
        // when it is one of the two distinct backends drawn, 2/3 of picks.
        let mut inst = instances(3);
        for r in 0..20 {
            inst[(r / 10) as usize].admit(SimTime::ZERO, RequestId(r), 0);
        }
        let mut lb = lb(LbPolicy::PowerOfTwoChoices, 3, &[]);
        let n = 3000;
        let idle = picks(&mut lb, &inst, n).iter().filter(|&&i| i == 2).count();
        // 2000 ± 4 standard errors (√(3000 · 2/3 · 1/3) ≈ 25.8).
        assert!((1897..=2103).contains(&idle), "{idle} of {n}");
    }

    #[test]
    fn round_robin_keeps_going_when_its_rotation_shrinks() {
        let inst = instances(4);
        let mut lb = lb(LbPolicy::RoundRobin, 4, &[]);
        assert_eq!(picks(&mut lb, &inst, 3), vec![0, 1, 2]);
        lb.remove(InstanceId(1));
        lb.remove(InstanceId(2));
        // Its place (3) is past the two left: it wraps, 3 % 2.
        assert_eq!(picks(&mut lb, &inst, 3), vec![3, 0, 3]);
    }

    #[test]
    fn consistent_hash_moves_few_keys_when_a_backend_leaves() {
        let inst = instances(10);
        let mut lb = lb(
            LbPolicy::ConsistentHash {
                on: HashOn::Key,
                vnodes: 100,
            },
            10,
            &[],
        );
        let before = picks(&mut lb, &inst, 10_000);
        lb.remove(InstanceId(3));
        let after = picks(&mut lb, &inst, 10_000);
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        // Only keys that lived on backend 3 move: about a tenth.
        assert!(moved == before.iter().filter(|&&b| b == 3).count(), "moved {moved}");
        assert!((700..1300).contains(&moved), "moved {moved}");
    }

    #[test]
    fn ip_hash_is_sticky() {
        let inst = instances(4);
        let mut lb = lb(LbPolicy::IpHash, 4, &[]);
        let a = lb.choose(SimTime::ZERO, 77, 0, &inst, None);
        assert!((0..10).all(|_| lb.choose(SimTime::ZERO, 77, 0, &inst, None) == a));
    }

    #[test]
    fn active_checks_take_a_backend_out_after_fails_and_back_after_passes() {
        let inst = instances(3);
        let mut spec = LoadBalancerSpec::plain("lb", LbPolicy::RoundRobin, vec![]);
        spec.health_check = Some(HealthCheck {
            interval: SimDuration::from_secs(2),
            timeout: SimDuration::from_secs(1),
            fails: 3,
            passes: 2,
        });
        let mut lb = with(spec, 3, &[]);
        let one = InstanceId(1);
        assert_eq!(lb.probed(secs(2), one, Probe::Fail), None);
        assert_eq!(lb.probed(secs(4), one, Probe::Fail), None);
        // A pass in between restarts the count.
        assert_eq!(lb.probed(secs(6), one, Probe::Pass), None);
        assert_eq!(lb.probed(secs(8), one, Probe::Fail), None);
        assert_eq!(lb.probed(secs(10), one, Probe::Fail), None);
        assert_eq!(lb.probed(secs(12), one, Probe::Fail), Some(Transition::Down));
        assert!(picks(&mut lb, &inst, 10).iter().all(|&i| i != 1));
        assert_eq!(lb.probed(secs(14), one, Probe::Pass), None);
        assert_eq!(lb.probed(secs(16), one, Probe::Pass), Some(Transition::Up));
        assert!(picks(&mut lb, &inst, 3).contains(&1));
        assert_eq!((lb.counters.marked_down, lb.counters.marked_up), (1, 1));
    }

    #[test]
    fn passive_marking_ejects_for_fail_timeout_within_its_window() {
        let inst = instances(3);
        let mut spec = LoadBalancerSpec::plain("lb", LbPolicy::RoundRobin, vec![]);
        spec.passive = Some(PassiveHealth {
            max_fails: 2,
            fail_timeout: SimDuration::from_secs(10),
        });
        let mut lb = with(spec, 3, &[]);
        let two = InstanceId(2);
        // Two failures more than fail_timeout apart do not add up.
        assert_eq!(lb.try_failed(secs(0), two), None);
        assert_eq!(lb.try_failed(secs(11), two), None);
        assert_eq!(lb.try_failed(secs(12), two), Some(Transition::Ejected));
        assert!(picks_at(&mut lb, &inst, 10, secs(13)).iter().all(|&i| i != 2));
        // Back after fail_timeout.
        assert!(picks_at(&mut lb, &inst, 3, secs(22)).contains(&2));
    }

    #[test]
    fn with_every_backend_passively_out_the_request_fails_and_all_come_back() {
        let inst = instances(2);
        let mut spec = LoadBalancerSpec::plain("lb", LbPolicy::RoundRobin, vec![]);
        spec.passive = Some(PassiveHealth {
            max_fails: 1,
            fail_timeout: SimDuration::from_secs(10),
        });
        let mut lb = with(spec, 2, &[]);
        lb.try_failed(secs(1), InstanceId(0));
        lb.try_failed(secs(1), InstanceId(1));
        // nginx: "no live upstreams" for this request, then every mark is cleared.
        assert_eq!(lb.choose(secs(2), 0, 0, &inst, None), None);
        assert!(lb.choose(secs(2), 0, 0, &inst, None).is_some());
        assert_eq!(lb.rotation_len(), 2);
    }

    #[test]
    fn backups_serve_only_while_no_primary_can() {
        let inst = instances(3);
        let mut spec = LoadBalancerSpec::plain("lb", LbPolicy::RoundRobin, vec![]);
        spec.health_check = Some(HealthCheck {
            interval: SimDuration::from_secs(1),
            timeout: SimDuration::from_secs(1),
            fails: 1,
            passes: 1,
        });
        let mut lb = LoadBalancer::new(spec, RngStream::new(StreamId::new(1, 0, "lb")));
        lb.add(SimTime::ZERO, InstanceId(0), 1, false, false);
        lb.add(SimTime::ZERO, InstanceId(1), 1, false, false);
        lb.add(SimTime::ZERO, InstanceId(2), 1, true, false);
        assert!(picks(&mut lb, &inst, 10).iter().all(|&i| i != 2));
        lb.probed(secs(1), InstanceId(0), Probe::Fail);
        assert!(picks(&mut lb, &inst, 10).iter().all(|&i| i == 1));
        lb.probed(secs(1), InstanceId(1), Probe::Fail);
        assert!(picks(&mut lb, &inst, 10).iter().all(|&i| i == 2));
        lb.probed(secs(2), InstanceId(0), Probe::Pass);
        assert!(picks(&mut lb, &inst, 10).iter().all(|&i| i == 0));
    }

    #[test]
    fn a_retry_avoids_the_backend_that_failed() {
        let inst = instances(4);
        let mut lb = lb(
            LbPolicy::ConsistentHash {
                on: HashOn::Client,
                vnodes: 50,
            },
            4,
            &[],
        );
        let first = lb.choose(SimTime::ZERO, 7, 0, &inst, None).unwrap();
        let retry = lb.choose(SimTime::ZERO, 7, 0, &inst, Some(first)).unwrap();
        assert_ne!(first, retry);
    }

    #[test]
    fn slow_start_ramps_a_new_backends_share_linearly() {
        let inst = instances(2);
        let mut spec = LoadBalancerSpec::plain("lb", LbPolicy::RoundRobin, vec![]);
        spec.slow_start = SimDuration::from_secs(100);
        let mut lb = LoadBalancer::new(spec, RngStream::new(StreamId::new(1, 0, "lb")));
        lb.add(SimTime::ZERO, InstanceId(0), 1, false, false);
        lb.add(SimTime::ZERO, InstanceId(1), 1, false, true);
        // A quarter of the way in it has a quarter of the weight: 1/5 of picks.
        let share = |lb: &mut LoadBalancer, t| {
            let p = picks_at(lb, &inst, 1000, secs(t));
            p.iter().filter(|&&i| i == 1).count()
        };
        assert_eq!(share(&mut lb, 25), 200);
        assert_eq!(share(&mut lb, 50), 333);
        assert_eq!(share(&mut lb, 100), 500);
    }

    #[test]
    fn keepalive_reuses_idle_connections_and_forgets_them_after_the_idle_timeout() {
        let mut spec = LoadBalancerSpec::plain("lb", LbPolicy::RoundRobin, vec![]);
        spec.keepalive = Some(Keepalive {
            idle: 2,
            handshake: SimDuration::from_millis(3),
            idle_timeout: SimDuration::from_secs(60),
        });
        let mut lb = with(spec, 1, &[]);
        let i = InstanceId(0);
        // Three at once open three; when all are done two stay idle.
        assert!(lb.connect(secs(1), i, 0));
        assert!(lb.connect(secs(1), i, 1));
        assert!(lb.connect(secs(1), i, 2));
        assert!(!lb.connect(secs(2), i, 0));
        assert!(!lb.connect(secs(2), i, 1));
        assert!(lb.connect(secs(2), i, 2));
        assert!(lb.connect(secs(100), i, 0));
        assert_eq!(lb.counters.handshakes, 5);
    }

    #[test]
    fn the_retry_budget_allows_min_per_second_plus_a_ratio_of_requests() {
        let mut spec = LoadBalancerSpec::plain("lb", LbPolicy::RoundRobin, vec![]);
        spec.retries = Some(RetryPolicy {
            max: 3,
            on_error: true,
            on_timeout: false,
            try_timeout: None,
            budget: Some(RetryBudgetSpec {
                ratio: 0.2,
                min_per_second: 1.0,
                window: SimDuration::from_secs(10),
            }),
        });
        let mut lb = with(spec, 2, &[]);
        for _ in 0..100 {
            lb.first_try(secs(1));
        }
        // 1/s × 10 s + 20% of 100 = 30 retries in the window.
        let allowed = (0..50).filter(|_| lb.may_retry(secs(2), 1, false)).count();
        assert_eq!(allowed, 30);
        assert_eq!(lb.counters.retries_over_budget, 20);
        // Not on timeouts, and never beyond `max` retries.
        assert!(!lb.may_retry(secs(30), 1, true));
        assert!(!lb.may_retry(secs(30), 4, false));
        // The window slides: ten seconds later the old tries and retries are gone.
        assert!(lb.may_retry(secs(30), 1, false));
    }

    /// One step of a random history a balancer lives through.
    #[derive(Clone, Debug)]
    enum Step {
        Add {
            id: u32,
            weight: u32,
            backup: bool,
            ramp: bool,
        },
        Remove(u32),
        Probe(u32, bool),
        TryFailed(u32),
        Held(u32, u32),
        Connecting(u32, bool),
        Choose {
            client: u32,
            avoid: Option<u32>,
        },
        Wait(u64),
    }

    fn step(ids: u32) -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            2 => (0..ids, 1u32..4, proptest::bool::weighted(0.2), any::<bool>())
                .prop_map(|(id, weight, backup, ramp)| Step::Add { id, weight, backup, ramp }),
            1 => (0..ids).prop_map(Step::Remove),
            1 => (0..ids, any::<bool>()).prop_map(|(id, pass)| Step::Probe(id, pass)),
            1 => (0..ids).prop_map(Step::TryFailed),
            4 => (0..ids, 0u32..6).prop_map(|(id, held)| Step::Held(id, held)),
            1 => (0..ids, any::<bool>()).prop_map(|(id, started)| Step::Connecting(id, started)),
            6 => (0u32..1000, proptest::option::weighted(0.2, 0..ids))
                .prop_map(|(client, avoid)| Step::Choose { client, avoid }),
            1 => (0u64..4000).prop_map(Step::Wait),
        ]
    }

    /// Plays `steps` on the indexed balancer and on the plain scans; every
    /// choice must be the same.
    fn same_choices(policy: LbPolicy, slow_start_s: u64, ids: u32, steps: &[Step]) {
        let mut spec = LoadBalancerSpec::plain("lb", policy, vec![]);
        spec.slow_start = SimDuration::from_secs(slow_start_s);
        spec.passive = Some(PassiveHealth {
            max_fails: 2,
            fail_timeout: SimDuration::from_secs(3),
        });
        spec.health_check = Some(HealthCheck {
            interval: SimDuration::from_secs(1),
            timeout: SimDuration::from_secs(1),
            fails: 2,
            passes: 1,
        });
        let rng = || RngStream::new(StreamId::new(1, 0, "lb"));
        let mut fast = LoadBalancer::new(spec.clone(), rng());
        let mut scan = LoadBalancer::new(spec, rng()).scanning();
        assert!(fast.index.is_some());
        let mut inst = instances(ids as usize);
        let mut weights = vec![None; ids as usize];
        let mut connecting = vec![0u32; ids as usize];
        let mut now = SimTime::ZERO;
        for (k, s) in steps.iter().enumerate() {
            match *s {
                Step::Add {
                    id,
                    weight,
                    backup,
                    ramp,
                } => {
                    // A pool's weight and role do not change.
                    let (weight, backup) = *weights[id as usize].get_or_insert((weight, backup));
                    for lb in [&mut fast, &mut scan] {
                        lb.add(now, InstanceId(id), weight, backup, ramp);
                    }
                }
                Step::Remove(id) => {
                    fast.remove(InstanceId(id));
                    scan.remove(InstanceId(id));
                }
                Step::Probe(id, pass) => {
                    let probe = if pass { Probe::Pass } else { Probe::Fail };
                    let a = fast.probed(now, InstanceId(id), probe);
                    assert_eq!(a, scan.probed(now, InstanceId(id), probe));
                }
                Step::TryFailed(id) => {
                    let a = fast.try_failed(now, InstanceId(id));
                    assert_eq!(a, scan.try_failed(now, InstanceId(id)));
                }
                Step::Held(id, held) => {
                    inst[id as usize].working = held;
                    fast.held(InstanceId(id), held);
                }
                Step::Connecting(id, started) => {
                    let c = &mut connecting[id as usize];
                    if started || *c > 0 {
                        *c = if started { *c + 1 } else { *c - 1 };
                        fast.connecting(InstanceId(id), started);
                        scan.connecting(InstanceId(id), started);
                    }
                }
                Step::Choose { client, avoid } => {
                    let avoid = avoid.map(InstanceId);
                    let a = fast.choose(now, client, u64::from(client), &inst, avoid);
                    let b = scan.choose(now, client, u64::from(client), &inst, avoid);
                    assert_eq!(a, b, "step {k}: {s:?} at {now:?}");
                }
                Step::Wait(ms) => now += SimDuration::from_millis(ms),
            }
        }
        assert_eq!(fast.counters, scan.counters);
    }

    fn policies() -> impl proptest::strategy::Strategy<Value = (LbPolicy, u64)> {
        use proptest::prelude::*;
        (
            prop_oneof![
                Just(LbPolicy::LeastConnections),
                Just(LbPolicy::WeightedLeastConnections),
                Just(LbPolicy::WeightedRoundRobin),
                Just(LbPolicy::RoundRobin),
            ],
            prop_oneof![Just(0u64), Just(10u64)],
        )
            .prop_filter("round robin has an index only under slow start", |(p, s)| {
                *p != LbPolicy::RoundRobin || *s > 0
            })
    }

    proptest::proptest! {
        #[test]
        fn indexed_choices_match_the_scans_on_a_few_backends(
            (policy, slow) in policies(),
            steps in proptest::collection::vec(step(8), 1..400),
        ) {
            same_choices(policy, slow, 8, &steps);
        }

        #[test]
        fn indexed_choices_match_the_scans_on_many_backends(
            (policy, slow) in policies(),
            steps in proptest::collection::vec(step(300), 1..1500),
        ) {
            same_choices(policy, slow, 300, &steps);
        }
    }
}
