//! The load balancer: picks a ready instance for each request.
//!
//! It only ever routes to instances in its rotation; the system adds an
//! instance when it becomes ready and removes it when it drains or stops.

use crate::engine::{RngStream, splitmix64};

use super::instance::{Instance, InstanceId};

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
}

#[derive(Clone, Debug)]
pub struct LoadBalancerSpec {
    pub name: String,
    pub policy: LbPolicy,
    pub backends: Vec<LbBackendSpec>,
}

#[derive(Clone, Copy, Debug)]
struct Backend {
    instance: InstanceId,
    weight: u32,
    /// Smooth weighted round robin state.
    current: i64,
}

/// A load balancer's runtime state.
pub struct LoadBalancer {
    pub spec: LoadBalancerSpec,
    backends: Vec<Backend>,
    next: usize,
    ring: Vec<(u64, InstanceId)>,
    rng: RngStream,
}

impl LoadBalancer {
    pub fn new(spec: LoadBalancerSpec, rng: RngStream) -> LoadBalancer {
        LoadBalancer {
            spec,
            backends: Vec::new(),
            next: 0,
            ring: Vec::new(),
            rng,
        }
    }

    /// The weight this balancer gives instances of `pool`, if it serves it.
    pub fn weight_for(&self, pool: usize) -> Option<u32> {
        self.spec.backends.iter().find(|b| b.pool == pool).map(|b| b.weight)
    }

    pub fn rotation_len(&self) -> usize {
        self.backends.len()
    }

    /// Puts an instance in rotation (kept sorted by id, so the order never
    /// depends on the order events happened to arrive in).
    pub fn add(&mut self, instance: InstanceId, weight: u32) {
        let at = self.backends.partition_point(|b| b.instance < instance);
        if self.backends.get(at).is_some_and(|b| b.instance == instance) {
            return;
        }
        self.backends.insert(
            at,
            Backend {
                instance,
                weight,
                current: 0,
            },
        );
        self.rebuild_ring();
    }

    /// Takes an instance out of rotation.
    pub fn remove(&mut self, instance: InstanceId) {
        if let Ok(at) = self.backends.binary_search_by(|b| b.instance.cmp(&instance)) {
            self.backends.remove(at);
            if self.next > at {
                self.next -= 1;
            }
            self.rebuild_ring();
        }
    }

    fn rebuild_ring(&mut self) {
        let LbPolicy::ConsistentHash { vnodes, .. } = self.spec.policy else {
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

    /// Chooses a backend for a request, or `None` when nothing is in rotation.
    #[inline]
    pub fn choose(&mut self, client: u32, key: u64, instances: &[Instance]) -> Option<InstanceId> {
        let n = self.backends.len();
        if n == 0 {
            return None;
        }
        let conns = |id: InstanceId| instances[id.0 as usize].outstanding();
        let chosen = match self.spec.policy {
            LbPolicy::RoundRobin => {
                let i = self.next % n;
                self.next = i + 1;
                i
            }
            LbPolicy::WeightedRoundRobin => {
                // nginx: add each weight to its current, pick the largest, subtract the total.
                let total: i64 = self.backends.iter().map(|b| i64::from(b.weight)).sum();
                let mut best = 0;
                for i in 0..n {
                    let b = &mut self.backends[i];
                    b.current += i64::from(b.weight);
                    if b.current > self.backends[best].current {
                        best = i;
                    }
                }
                self.backends[best].current -= total;
                best
            }
            LbPolicy::LeastConnections | LbPolicy::WeightedLeastConnections => {
                let weighted = self.spec.policy == LbPolicy::WeightedLeastConnections;
                // Scan from a rotating start so ties are shared round robin.
                let start = self.next % n;
                let mut best = start;
                for step in 1..n {
                    let i = (start + step) % n;
                    let (a, b) = (&self.backends[i], &self.backends[best]);
                    let less = if weighted {
                        u64::from(conns(a.instance)) * u64::from(b.weight)
                            < u64::from(conns(b.instance)) * u64::from(a.weight)
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
                    let (ca, cb) = (conns(self.backends[a].instance), conns(self.backends[b].instance));
                    if cb < ca { b } else { a }
                }
            }
            LbPolicy::IpHash => (splitmix64(u64::from(client)) % n as u64) as usize,
            LbPolicy::ConsistentHash { on, .. } => {
                let h = splitmix64(match on {
                    HashOn::Client => u64::from(client),
                    HashOn::Key => key ^ 0x5bd1_e995,
                });
                let at = self.ring.partition_point(|(point, _)| *point < h);
                let instance = self.ring[at % self.ring.len()].1;
                return Some(instance);
            }
        };
        Some(self.backends[chosen].instance)
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
        let spec = LoadBalancerSpec {
            name: "lb".into(),
            policy,
            backends: vec![],
        };
        let mut lb = LoadBalancer::new(spec, RngStream::new(StreamId::new(1, 0, "lb")));
        for i in 0..n {
            lb.add(InstanceId(i), weights.get(i as usize).copied().unwrap_or(1));
        }
        lb
    }

    fn picks(lb: &mut LoadBalancer, inst: &[Instance], k: usize) -> Vec<u32> {
        (0..k).map(|c| lb.choose(c as u32, c as u64, inst).unwrap().0).collect()
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
        assert_eq!(lb.choose(0, 0, &inst), Some(InstanceId(2)));
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
        let a = lb.choose(77, 0, &inst);
        assert!((0..10).all(|_| lb.choose(77, 0, &inst) == a));
    }
}
