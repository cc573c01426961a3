//! The CDN in front of the load balancer, for the classes that list it.
//!
//! A read of a cacheable class arrives at the PoP its client is served by.
//! A hit there (or at the shield, when the PoP misses) is answered by the
//! edge: one event, and no request slot, app instance or load balancer
//! involved. A miss takes a request slot and reaches the load balancer
//! after the PoP's time and the round trips to the origin (the shield's
//! too); its answer fills the shield and its PoP. With `coalesce`, misses
//! of a key that is already on its way to a PoP wait for it (request
//! collapsing) and are answered when it comes back. Writes pass through
//! the edge to the origin and purge their key everywhere when they commit.

use crate::engine::{Scheduler, SimDuration, SimTime};
use crate::model::cache::Lookup;
use crate::model::data::{CacheMode, CacheScope};
use crate::model::request::{Phase, Request, RequestId};
use crate::model::traffic::RequestKind;

use super::{Event, System};

/// [`Request::instance`] of a request at the edge, on no app instance yet.
pub(super) const AT_EDGE: u32 = u32::MAX;

impl System {
    /// The round trip from a PoP of CDN `tier` to the origin.
    fn origin_rtt(&self, tier: usize) -> SimDuration {
        match &self.data.caches[tier].spec.scope {
            CacheScope::Edge { origin_rtt, .. } => *origin_rtt,
            _ => unreachable!("a class's edge is a CDN tier"),
        }
    }

    /// A request of a class behind the CDN `tier` has arrived at its PoP.
    pub(super) fn at_edge(
        &mut self,
        now: SimTime,
        mut request: Request,
        tier: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.data.caches[tier].requests += 1;
        let CacheScope::Edge {
            latency,
            origin_rtt,
            shield,
            ..
        } = &self.data.caches[tier].spec.scope
        else {
            unreachable!("a class's edge is a CDN tier")
        };
        let (origin_rtt, shield_rtt) = (*origin_rtt, shield.map(|s| s.rtt));
        let mut at = now + SimDuration::from_secs_f64(latency.sample(&mut self.edge_rng));
        let kind = self.spec.traffic.classes[usize::from(request.class)].kind;
        if kind == RequestKind::Read {
            let pop = self.data.caches[tier].pop_of(request.client);
            let mut found = self.edge_lookup(now, tier, pop, request.key, request.class);
            if found.is_none()
                && let Some(rtt) = shield_rtt
            {
                at += rtt;
                let t = &mut self.data.caches[tier];
                let shield = t.shield.as_mut().expect("a CDN with a shield rtt has a shield");
                if let Lookup::Hit { version } = shield.get(now, request.key) {
                    let expires = shield.expires(request.key);
                    t.nodes[pop as usize].put_until(request.key, version, expires);
                    found = Some(version);
                }
            }
            if let Some(version) = found {
                request.version = version;
                self.count_read_response(&request);
                self.account(tier, (at - now).0, request.arrival);
                let class = request.class;
                scheduler.schedule(
                    at,
                    Event::EdgeAnswered {
                        arrival: request.arrival,
                        class,
                    },
                );
                return;
            }
            let t = &mut self.data.caches[tier];
            if t.spec.coalesce {
                match t.filling.get_mut(&(pop, request.key)) {
                    Some(_) => {
                        // Request collapsing: wait for the fill on its way.
                        t.interval.coalesced += 1;
                        let id = self.requests.insert(Request {
                            instance: AT_EDGE,
                            phase: Phase::Coalesced { tier: tier as u16 },
                            ..request
                        });
                        let generation = self.requests.get(id).generation;
                        let t = &mut self.data.caches[tier];
                        t.filling
                            .get_mut(&(pop, request.key))
                            .expect("found above")
                            .push((id, generation));
                        return;
                    }
                    None => {
                        t.filling.insert((pop, request.key), Vec::new());
                        request.leading |= 1 << tier;
                    }
                }
            }
            self.data.caches[tier].interval.origin += 1;
        }
        let at = at + origin_rtt;
        self.account(tier, (at - now).0, request.arrival);
        let id = self.requests.insert(Request {
            instance: AT_EDGE,
            reached: at,
            ..request
        });
        let generation = self.requests.get(id).generation;
        scheduler.schedule(
            at,
            Event::EdgeForwardDue {
                request: id,
                generation,
            },
        );
    }

    /// Looks `key` up at PoP `pop`: the version found, or `None`. A
    /// fixed-ratio CDN hits with its probability and returns the latest
    /// version (from the class's database, 0 without one).
    fn edge_lookup(&mut self, now: SimTime, tier: usize, pop: u32, key: u64, class: u16) -> Option<u64> {
        let t = &mut self.data.caches[tier];
        match t.spec.mode {
            CacheMode::Fixed { hit_ratio } => {
                let hit = self.edge_rng.open01() < hit_ratio;
                if !hit {
                    t.interval.stats.misses += 1;
                    return None;
                }
                t.interval.stats.hits += 1;
                let database = self.spec.traffic.classes[usize::from(class)]
                    .data
                    .as_ref()
                    .and_then(|p| p.database);
                Some(database.map_or(0, |d| self.data.databases[d].latest(key)))
            }
            CacheMode::Emergent(_) => match t.nodes[pop as usize].get(now, key) {
                Lookup::Hit { version } => Some(version),
                Lookup::Miss => None,
            },
        }
    }

    /// A request the edge passed on reaches the load balancer.
    pub(super) fn on_edge_forward_due(
        &mut self,
        now: SimTime,
        id: RequestId,
        generation: u32,
        scheduler: &mut Scheduler<Event>,
    ) {
        if !self.requests.is_current(id, generation) {
            return;
        }
        self.requests.get_mut(id).phase = Phase::Cpu;
        self.route(now, id, scheduler);
    }

    /// The origin answered a read that missed the edge: the shield and the
    /// client's PoP keep the version it carries, and the reads collapsed
    /// onto it get it too.
    pub(super) fn fill_edge(&mut self, now: SimTime, id: RequestId, tier: usize) {
        let r = *self.requests.get(id);
        let t = &mut self.data.caches[tier];
        let pop = t.pop_of(r.client) as usize;
        if let Some(cache) = t.nodes.get_mut(pop) {
            cache.put(now, r.key, r.version);
        }
        if let Some(shield) = &mut t.shield {
            shield.put(now, r.key, r.version);
        }
        self.filled(now, id, tier);
    }

    /// A read collapsed at the edge gets the version its leader brought
    /// back (answered now), or, when the leader failed, goes to the origin
    /// itself (once the event at hand is handled).
    pub(super) fn woken_at_edge(&mut self, now: SimTime, w: RequestId, tier: usize, version: Option<u64>) {
        let waiter = *self.requests.get(w);
        match version {
            Some(v) => {
                let answered = Request { version: v, ..waiter };
                self.count_read_response(&answered);
                self.account(tier, (now - waiter.arrival).0, waiter.arrival);
                self.recorder.responded(now, waiter.arrival, usize::from(waiter.class));
                self.requests.remove(w);
            }
            None => {
                self.data.caches[tier].interval.origin += 1;
                self.requests.get_mut(w).phase = Phase::Moving;
                self.pending_wakes.push((w, waiter.generation));
            }
        }
    }

    /// Sends a collapsed read whose leader failed on to the origin.
    pub(super) fn forward_from_edge(&mut self, now: SimTime, id: RequestId, scheduler: &mut Scheduler<Event>) {
        let r = *self.requests.get(id);
        let tier = self.spec.traffic.classes[usize::from(r.class)]
            .data
            .as_ref()
            .and_then(|p| p.edge)
            .expect("a request at the edge has a CDN on its path");
        let at = now + self.origin_rtt(tier);
        self.account(tier, (at - r.arrival).0, r.arrival);
        let req = self.requests.get_mut(id);
        req.reached = at;
        scheduler.schedule(
            at,
            Event::EdgeForwardDue {
                request: id,
                generation: r.generation,
            },
        );
    }

    /// A write committed: every PoP and the shield drop their copy of `key`.
    pub(super) fn purge(&mut self, tier: usize, key: u64) {
        let t = &mut self.data.caches[tier];
        for cache in t.nodes.iter_mut().chain(t.shield.as_mut()) {
            cache.invalidate(key);
        }
    }
}
