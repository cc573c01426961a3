//! The load balancer's side of a request: each try's choice of backend,
//! the connection it opens or reuses, its admission, and what happens when
//! it fails — refused by a dead backend, unreachable, refused by a full
//! accept queue, or past its try timeout: the balancer's passive checks
//! see it, and the request is retried on another backend if the retry
//! policy and budget allow, or fails to its client. Active health checks
//! probe every registered backend on their interval.

use crate::engine::{Scheduler, SimTime};
use crate::metrics::{EventKind, LbSummary};
use crate::model::instance::{Admission, InstanceId, InstanceState, PoolId};
use crate::model::load_balancer::{Probe, Transition};
use crate::model::request::{Request, RequestId, RequestState};

use super::edge::AT_EDGE;
use super::{Event, System};

/// Why a try failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TryFailure {
    /// The backend was dead: the connection was refused, or reset under
    /// the request when its instance died.
    Refused,
    /// The backend's host was unreachable: the connect timed out.
    Unreachable,
    /// The backend's accept queue was full.
    QueueFull,
    /// The try outlived the balancer's try timeout.
    Timeout,
}

impl System {
    /// A client's request reaches its load balancer (the traffic's target,
    /// or its region's): its first try.
    pub(super) fn route(&mut self, now: SimTime, id: RequestId, scheduler: &mut Scheduler<Event>) {
        let l = usize::from(self.requests.get(id).lb);
        if self.lb_nodes_down[l] > 0 && !self.node_reachable(now, l, self.requests.get(id).client) {
            // Its client's node is dead and it has not moved yet: the
            // connection fails.
            self.load_balancers[l].counters.dead_node += 1;
            self.recorder.failed(now);
            self.release_fills(now, id);
            self.requests.remove(id);
            return;
        }
        self.load_balancers[l].first_try(now);
        self.send_try(now, id, None, scheduler);
    }

    /// Whether `client` reaches a live node of balancer `l`: its own node,
    /// or, once that one's failure is detected, any other that is up.
    fn node_reachable(&self, now: SimTime, l: usize, client: u32) -> bool {
        let nodes = &self.lb_nodes[l];
        let own = nodes[self.load_balancers[l].spec.node_of(client) as usize];
        own.down == 0 || (now >= own.moved_at && nodes.iter().any(|n| n.down == 0))
    }

    /// Sends one try of a request to the backend its balancer chooses
    /// (`avoid`: the one its previous try failed on).
    fn send_try(&mut self, now: SimTime, id: RequestId, avoid: Option<InstanceId>, scheduler: &mut Scheduler<Event>) {
        let r = self.requests.get(id);
        let (client, key, generation, l) = (r.client, r.key, r.generation, r.lb);
        let lb = &mut self.load_balancers[usize::from(l)];
        let Some(instance_id) = lb.choose(now, client, key, &self.instances, avoid) else {
            // A balancer in front of one pool still counts the request as
            // offered to it: what a scaler from zero reads.
            if let [only] = lb.spec.backends.as_slice() {
                let pool = &mut self.pools[only.pool];
                pool.routed += 1;
                let r = self.requests.get(id);
                if r.tries == 0 {
                    let speed = self.spec.instance_types[pool.spec.instance_type].speed;
                    pool.offered_work_s += r.demand_s / speed;
                }
            }
            self.recorder.rejected(now, true);
            self.release_fills(now, id);
            self.requests.remove(id);
            return;
        };
        let instance = &self.instances[instance_id.0 as usize];
        let pool_id = instance.pool;
        let pool = &mut self.pools[pool_id.0 as usize];
        pool.routed += 1;
        if r.tries == 0 {
            // Retries are the system's own amplification, not demand.
            pool.offered_work_s += r.demand_s / instance.speed;
        }
        let r = self.requests.get_mut(id);
        r.pool = pool_id.0;
        if instance.state == InstanceState::Stopped {
            // Still registered: nothing has told the balancer it died.
            if instance.unreachable {
                r.instance = AT_EDGE;
                lb.connecting(instance_id, true);
                let event = Event::TryUnreachable {
                    request: id,
                    generation,
                    instance: instance_id,
                    lb: l,
                };
                scheduler.schedule(now + lb.spec.connect_timeout, event);
            } else {
                self.try_failed(now, id, instance_id, TryFailure::Refused, scheduler);
            }
            return;
        }
        let outstanding = instance.outstanding();
        if lb.connect(now, instance_id, outstanding) {
            let handshake = lb.spec.keepalive.map(|k| k.handshake).unwrap_or_default();
            r.instance = AT_EDGE;
            lb.connecting(instance_id, true);
            let event = Event::TryConnected {
                request: id,
                generation,
                instance: instance_id,
                lb: l,
            };
            scheduler.schedule(now + handshake, event);
            return;
        }
        self.deliver(now, id, instance_id, scheduler);
    }

    /// A new connection's handshake is done: the try reaches its backend,
    /// unless it died meanwhile.
    pub(super) fn on_try_connected(
        &mut self,
        now: SimTime,
        (id, generation): (RequestId, u32),
        instance: InstanceId,
        l: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        let i = &self.instances[instance.0 as usize];
        if i.state == InstanceState::Stopped && i.unreachable {
            // Its host went dark during the handshake: it waits out the
            // rest of the connect timeout.
            let lb = &self.load_balancers[l];
            let handshake = lb.spec.keepalive.map(|k| k.handshake).unwrap_or_default();
            let left = crate::engine::SimDuration(lb.spec.connect_timeout.0.saturating_sub(handshake.0));
            let event = Event::TryUnreachable {
                request: id,
                generation,
                instance,
                lb: l as u8,
            };
            scheduler.schedule(now + left, event);
            return;
        }
        let dead = i.state == InstanceState::Stopped;
        self.load_balancers[l].connecting(instance, false);
        if !self.requests.is_current(id, generation) {
            return;
        }
        if dead {
            self.try_failed(now, id, instance, TryFailure::Refused, scheduler);
        } else {
            self.deliver(now, id, instance, scheduler);
        }
    }

    /// A try's connect to an unreachable backend timed out.
    pub(super) fn on_try_unreachable(
        &mut self,
        now: SimTime,
        (id, generation): (RequestId, u32),
        instance: InstanceId,
        l: usize,
        scheduler: &mut Scheduler<Event>,
    ) {
        self.load_balancers[l].connecting(instance, false);
        if self.requests.is_current(id, generation) {
            self.try_failed(now, id, instance, TryFailure::Unreachable, scheduler);
        }
    }

    /// A try reaches its instance, which admits it or refuses it.
    fn deliver(&mut self, now: SimTime, id: RequestId, instance_id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let generation = self.requests.get(id).generation;
        let instance = &mut self.instances[instance_id.0 as usize];
        let (pool_id, speed) = (instance.pool, instance.speed);
        let waiting_before = instance.waiting();
        let admission = instance.admit(now, id, generation);
        let waiting_after = instance.waiting();
        if admission == Admission::Rejected {
            return self.try_failed(now, id, instance_id, TryFailure::QueueFull, scheduler);
        }
        self.held_changed(instance_id);
        let r = self.requests.get_mut(id);
        r.instance = instance_id.0;
        let retried = r.tries > 0;
        let reached = r.reached;
        let pool = &mut self.pools[pool_id.0 as usize];
        match admission {
            Admission::Started => {
                pool.busy_cores.add(now, 1);
                self.start_service(now, instance_id, id, speed, scheduler);
            }
            Admission::WaitingForCore => {}
            Admission::Queued => self.requests.get_mut(id).state = RequestState::Queued,
            Admission::Rejected => unreachable!("handled above"),
        }
        let pool = &mut self.pools[pool_id.0 as usize];
        if waiting_after != waiting_before {
            pool.waiting.add(now, u64::from(waiting_after - waiting_before));
        }
        if let Some(timeout) = pool.spec.timeout {
            if retried {
                // Its client's clock started with its first try: the
                // deadline is out of the pool's arrival order.
                let at = (reached + timeout).max(now);
                scheduler.schedule(
                    at,
                    Event::ClientDeadlineDue {
                        request: id,
                        generation,
                    },
                );
            } else {
                if pool.deadlines.is_empty() {
                    scheduler.schedule(now + timeout, Event::DeadlinesDue { pool: pool_id });
                }
                let requests = &self.requests;
                pool.deadlines
                    .push_back((now + timeout, id, generation), |id, generation| {
                        requests.settled(id, generation)
                    });
            }
        }
        let lb = usize::from(self.requests.get(id).lb);
        if let Some(limit) = self.spec.load_balancers[lb].retries.and_then(|r| r.try_timeout) {
            let deadlines = &mut self.try_deadlines[lb];
            if deadlines.is_empty() {
                scheduler.schedule(now + limit, Event::TryDeadlinesDue { lb: lb as u16 });
            }
            let requests = &self.requests;
            deadlines.push_back((now + limit, id, generation), |id, generation| {
                !requests.on_instance(id, generation)
            });
        }
    }

    /// A try that holds no place on any instance failed: retried in place,
    /// or the request fails to its client.
    fn try_failed(
        &mut self,
        now: SimTime,
        id: RequestId,
        instance: InstanceId,
        cause: TryFailure,
        scheduler: &mut Scheduler<Event>,
    ) {
        let r = self.requests.get(id);
        let (tries, lb) = (u32::from(r.tries) + 1, usize::from(r.lb));
        if self.retry_allowed(now, lb, tries, instance, cause) {
            self.requests.get_mut(id).tries += 1;
            self.send_try(now, id, Some(instance), scheduler);
        } else {
            self.fail_to_client(now, cause);
            self.release_fills(now, id);
            self.requests.remove(id);
        }
    }

    /// A try still held by an instance failed (its instance died under it,
    /// or it timed out): the caller ends that try; a retry, if allowed, is
    /// a fresh copy of the request sent once the current event is done.
    pub(super) fn held_try_failed(&mut self, now: SimTime, r: &Request, instance: InstanceId, cause: TryFailure) {
        let tries = u32::from(r.tries) + 1;
        if self.retry_allowed(now, usize::from(r.lb), tries, instance, cause) {
            let mut copy = Request::new(r.arrival, r.demand_s, r.client, r.key, r.class);
            copy.reached = r.reached;
            copy.tries = r.tries + 1;
            copy.lb = r.lb;
            let id = self.requests.insert(copy);
            self.pending_retries.push((id, instance));
        } else {
            self.fail_to_client(now, cause);
        }
    }

    /// Counts a failed try, lets passive health see it, and says whether the
    /// request gets another try.
    fn retry_allowed(&mut self, now: SimTime, l: usize, tries: u32, instance: InstanceId, cause: TryFailure) -> bool {
        let lb = &mut self.load_balancers[l];
        let c = &mut lb.counters;
        match cause {
            TryFailure::Refused => c.refused += 1,
            TryFailure::Unreachable => c.unreachable += 1,
            TryFailure::QueueFull => c.queue_full += 1,
            TryFailure::Timeout => c.try_timeouts += 1,
        }
        if let Some(t) = lb.try_failed(now, instance) {
            self.record_transition(now, l, instance, t);
        }
        let lb = &mut self.load_balancers[l];
        lb.may_retry(now, tries, cause == TryFailure::Timeout)
    }

    /// The request's last try failed: its client gets the error.
    fn fail_to_client(&mut self, now: SimTime, cause: TryFailure) {
        match cause {
            TryFailure::Refused | TryFailure::Unreachable => self.recorder.failed(now),
            TryFailure::QueueFull => self.recorder.rejected(now, false),
            TryFailure::Timeout => self.recorder.timed_out(now),
        }
    }

    /// Sends the retries decided during the event just handled.
    pub(super) fn run_pending_retries(&mut self, now: SimTime, scheduler: &mut Scheduler<Event>) {
        for (id, avoid) in std::mem::take(&mut self.pending_retries) {
            self.send_try(now, id, Some(avoid), scheduler);
        }
    }

    /// The earliest try deadlines of a balancer have come: each try still
    /// on its backend is given up (the backend keeps working on it).
    pub(super) fn on_try_deadlines_due(&mut self, now: SimTime, lb: u16, scheduler: &mut Scheduler<Event>) {
        let l = usize::from(lb);
        while let Some(&(deadline, id, generation)) = self.try_deadlines[l].front() {
            if !self.requests.on_instance(id, generation) {
                self.try_deadlines[l].pop_front();
                continue;
            }
            if deadline > now {
                scheduler.schedule(deadline, Event::TryDeadlinesDue { lb });
                break;
            }
            self.try_deadlines[l].pop_front();
            let request = *self.requests.get(id);
            self.abandon(now, id);
            self.held_try_failed(now, &request, InstanceId(request.instance), TryFailure::Timeout);
        }
    }

    /// A retried request's client deadline (its first try's) has come.
    pub(super) fn on_client_deadline_due(&mut self, now: SimTime, id: RequestId, generation: u32) {
        if self.requests.on_instance(id, generation) {
            self.recorder.timed_out(now);
            self.abandon(now, id);
        }
    }

    /// Gives up a request on its instance: a queued one leaves the accept
    /// queue; one holding a worker is left to finish, its response discarded.
    pub(super) fn abandon(&mut self, now: SimTime, id: RequestId) {
        let request = *self.requests.get(id);
        if request.state == RequestState::Queued {
            // Mark it dead before freeing, so the accept queue skips it.
            self.release_fills(now, id);
            self.requests.get_mut(id).state = RequestState::Abandoned;
            self.requests.remove(id);
            let requests = &self.requests;
            self.instances[request.instance as usize].abandon_queued(now, |r, g| {
                requests.is_current(r, g) && requests.get(r).state == RequestState::Queued
            });
            self.held_changed(InstanceId(request.instance));
            self.pools[usize::from(request.pool)].waiting.sub(now, 1);
        } else {
            self.requests.get_mut(id).state = RequestState::Abandoned;
        }
    }

    /// Schedules each balancer's first health check.
    pub(super) fn schedule_health_checks(&self, scheduler: &mut Scheduler<Event>) {
        for (l, lb) in self.spec.load_balancers.iter().enumerate() {
            if let Some(check) = lb.health_check
                && SimTime::ZERO + check.interval <= self.end
            {
                scheduler.schedule(SimTime::ZERO + check.interval, Event::HealthCheckDue { lb: l as u16 });
            }
        }
    }

    /// A balancer probes every registered backend: a live one passes
    /// unless its accept queue is full; a dead one refuses at once; an
    /// unreachable one, or a full one, fails when the probe times out.
    pub(super) fn on_health_check_due(&mut self, now: SimTime, lb: u16, scheduler: &mut Scheduler<Event>) {
        let l = usize::from(lb);
        let Some(check) = self.spec.load_balancers[l].health_check else {
            return;
        };
        let mut late = Vec::new();
        for id in self.load_balancers[l].registered() {
            let i = &self.instances[id.0 as usize];
            let probe = match i.state {
                InstanceState::Stopped if !i.unreachable => Probe::Fail,
                InstanceState::Stopped => {
                    late.push(id);
                    continue;
                }
                _ if i.is_full() => {
                    late.push(id);
                    continue;
                }
                _ => Probe::Pass,
            };
            if let Some(t) = self.load_balancers[l].probed(now, id, probe) {
                self.record_transition(now, l, id, t);
            }
        }
        if !late.is_empty() {
            self.probe_timeouts[l] = late;
            scheduler.schedule(now + check.timeout, Event::ProbeTimeoutsDue { lb });
        }
        if now + check.interval <= self.end {
            scheduler.schedule(now + check.interval, Event::HealthCheckDue { lb });
        }
    }

    /// The probes that got no answer time out.
    pub(super) fn on_probe_timeouts_due(&mut self, now: SimTime, lb: u16) {
        let l = usize::from(lb);
        for id in std::mem::take(&mut self.probe_timeouts[l]) {
            if let Some(t) = self.load_balancers[l].probed(now, id, Probe::Fail) {
                self.record_transition(now, l, id, t);
            }
        }
    }

    fn record_transition(&mut self, now: SimTime, lb: usize, id: InstanceId, t: Transition) {
        let pool = self.instances[id.0 as usize].pool.0 as usize;
        let kind = match t {
            Transition::Down => EventKind::BackendDown,
            Transition::Up => EventKind::BackendUp,
            Transition::Ejected => EventKind::BackendEjected,
        };
        self.recorder.event(now, kind, pool, id.0);
        if t == Transition::Down && self.instances[id.0 as usize].state == InstanceState::Stopped {
            // A dead backend never passes again: the balancer forgets it.
            self.load_balancers[lb].remove(id);
        }
    }

    /// The pool's controller noticed its dead instances: it deregisters
    /// them from every balancer (service discovery, a target group).
    pub(super) fn deregister_dead(&mut self, pool: PoolId) {
        for &id in &self.pools[pool.0 as usize].instances {
            if self.instances[id.0 as usize].state == InstanceState::Stopped {
                for lb in &mut self.load_balancers {
                    lb.remove(id);
                }
            }
        }
    }

    /// The balancers' part of `summary.json`: those with health checks,
    /// retries, slow start or keepalive.
    pub(super) fn lb_summaries(&self) -> Vec<LbSummary> {
        self.load_balancers
            .iter()
            .filter(|lb| !lb.spec.is_plain())
            .map(|lb| {
                let c = lb.counters;
                let first = c.tries - c.retries;
                LbSummary {
                    name: lb.spec.name.clone(),
                    tries: c.tries,
                    retries: c.retries,
                    retries_over_budget: c.retries_over_budget,
                    tries_per_request: if first > 0 {
                        c.tries as f64 / first as f64
                    } else {
                        f64::NAN
                    },
                    failed_tries_refused: c.refused,
                    failed_tries_unreachable: c.unreachable,
                    failed_tries_queue_full: c.queue_full,
                    failed_tries_timeout: c.try_timeouts,
                    marked_down: c.marked_down,
                    marked_up: c.marked_up,
                    ejected: c.ejected,
                    new_connections: c.handshakes,
                    failed_at_dead_node: c.dead_node,
                }
            })
            .collect()
    }
}
