//! Faults on app instances and zones, at fixed times or drawn at random: a
//! crash (its requests fail, the pool's controller replaces it once it
//! notices), a slowdown (it computes slower for a while), a spot
//! interruption (notice, drain, termination), a zone outage (every instance
//! in the zone dies and nothing is launched there until it is back). Each
//! occurrence's record follows it to its recovery: the requests it failed,
//! the errors until its pools were whole again, and when that was.

use crate::engine::{Scheduler, SimDuration, SimTime};
use crate::metrics::{EventKind, FaultSummary, RandomFaultSummary};
use crate::model::Market;
use crate::model::fault::{FaultKind, FaultRecord, When};
use crate::model::instance::{Instance, InstanceId, InstanceState, PoolId};

use super::{Event, System};

impl System {
    /// Schedules every fixed-time fault within the run, and the first
    /// outage of each zone that fails at random. (Random faults on
    /// instances are armed as each instance becomes ready.)
    pub(super) fn schedule_faults(&mut self, scheduler: &mut Scheduler<Event>) {
        for f in 0..self.spec.faults.len() {
            let fault = self.spec.faults[f];
            let at = match fault.when {
                When::At(at) => at,
                When::Random { .. } if fault.random_pool().is_none() => self.next_failure(SimTime::ZERO, f),
                When::Random { .. } => continue,
            };
            if at <= self.end {
                scheduler.schedule(at, Event::FaultDue { fault: f as u16 });
            }
        }
    }

    /// When the next failure of random fault `f` comes, counted from `now`.
    fn next_failure(&mut self, now: SimTime, f: usize) -> SimTime {
        let When::Random { mtbf } = self.spec.faults[f].when else {
            unreachable!("only random faults recur")
        };
        now + self.draw_exponential(mtbf)
    }

    /// An exponential draw with mean `mean` (stream `faults.random`).
    pub(super) fn draw_exponential(&mut self, mean: SimDuration) -> SimDuration {
        SimDuration::from_secs_f64(self.random_fault_rng.exp(mean.as_secs_f64()))
    }

    /// How long an occurrence of a fault lasts: its `for` (`mean`) when it
    /// strikes at a fixed time, an exponential draw with that mean when it
    /// recurs at random (any fault: instances', zones', the data tier's).
    pub(super) fn repair_time(&mut self, when: When, mean: SimDuration) -> SimDuration {
        match when {
            When::At(_) => mean,
            When::Random { .. } => self.draw_exponential(mean),
        }
    }

    /// Arms the random faults of a newly ready instance's pool: each draws
    /// the instance's time to its next failure.
    pub(super) fn arm_random_faults(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let pool = self.instances[id.0 as usize].pool.0 as usize;
        for f in 0..self.spec.faults.len() {
            if self.spec.faults[f].random_pool() == Some(pool) {
                self.arm(now, f, id, scheduler);
            }
        }
    }

    fn arm(&mut self, now: SimTime, f: usize, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let at = self.next_failure(now, f);
        if at <= self.end {
            let event = Event::InstanceFaultDue {
                fault: f as u16,
                instance: id,
            };
            scheduler.schedule(at, event);
        }
    }

    /// A random fault's time has come for one instance: it strikes if the
    /// instance is still serving.
    pub(super) fn on_instance_fault_due(
        &mut self,
        now: SimTime,
        f: u16,
        id: InstanceId,
        scheduler: &mut Scheduler<Event>,
    ) {
        if self.instances[id.0 as usize].state == InstanceState::Ready {
            self.strike(now, f, vec![id], scheduler);
        }
    }

    fn ready_of(&self, pool: usize) -> Vec<InstanceId> {
        self.pools[pool]
            .instances
            .iter()
            .copied()
            .filter(|id| self.instances[id.0 as usize].state == InstanceState::Ready)
            .collect()
    }

    /// `n` of `pool`'s ready instances that are `eligible`, drawn without replacement.
    fn draw_ready(&mut self, pool: usize, n: u32, eligible: impl Fn(&Instance) -> bool) -> Vec<InstanceId> {
        let mut ready = self.ready_of(pool);
        ready.retain(|id| eligible(&self.instances[id.0 as usize]));
        self.draw(ready, n)
    }

    /// `n` of `ready`, drawn without replacement.
    fn draw(&mut self, mut ready: Vec<InstanceId>, n: u32) -> Vec<InstanceId> {
        let n = (n as usize).min(ready.len());
        for i in 0..n {
            let j = i + self.fault_rng.below((ready.len() - i) as u64) as usize;
            ready.swap(i, j);
        }
        ready.truncate(n);
        ready
    }

    /// Crashes instances: their requests fail and they leave every rotation.
    fn crash(&mut self, now: SimTime, ids: &[InstanceId], scheduler: &mut Scheduler<Event>) {
        for &id in ids {
            let pool = self.instances[id.0 as usize].pool.0 as usize;
            self.recorder.event(now, EventKind::InstanceCrashed, pool, id.0);
            self.stop_instance(now, id, scheduler);
        }
    }

    /// A fault's (fixed or drawn) time has come: a fault on instances hits
    /// as many of its pool's ready ones as it names, a zone outage the zone.
    pub(super) fn on_fault_due(&mut self, now: SimTime, f: u16, scheduler: &mut Scheduler<Event>) {
        match self.spec.faults[usize::from(f)].kind {
            FaultKind::Crash { pool, instances, .. } | FaultKind::Slowdown { pool, instances, .. } => {
                let hit = self.draw_ready(pool, instances, |_| true);
                self.strike(now, f, hit, scheduler);
            }
            FaultKind::SpotInterruption {
                pool,
                instances,
                instance_type,
                ..
            } => {
                // Only spot instances are reclaimed (of one type, if given).
                let types = &self.spec.instance_types;
                let mut ready = self.ready_of(pool);
                ready.retain(|id| {
                    let i = &self.instances[id.0 as usize];
                    types[i.instance_type].market == Market::Spot && instance_type.is_none_or(|t| t == i.instance_type)
                });
                let hit = self.draw(ready, instances);
                self.strike(now, f, hit, scheduler);
            }
            FaultKind::ZoneOutage {
                zone,
                duration,
                detected_after,
            } => {
                self.zone_down[usize::from(zone)] += 1;
                let pools: Vec<usize> = (0..self.pools.len())
                    .filter(|&p| self.pools[p].spec.zones.contains(&zone))
                    .collect();
                let duration = self.repair_time(self.spec.faults[usize::from(f)].when, duration);
                self.go_dark(now, f, pools, Some(zone), (duration, detected_after), scheduler);
            }
            FaultKind::LbNodeFailure {
                balancer,
                node,
                duration,
                detected_after,
            } => {
                let errors_at_start = self.recorder.totals.errors();
                let duration = self.repair_time(self.spec.faults[usize::from(f)].when, duration);
                let state = &mut self.lb_nodes[usize::from(balancer)][node as usize];
                state.down += 1;
                state.moved_at = now + detected_after;
                self.lb_nodes_down[usize::from(balancer)] += 1;
                scheduler.schedule(now + duration, Event::OutageEnds { fault: f });
                let failed = self.recorder.totals.failed;
                self.record(now, f, Vec::new(), &[], (errors_at_start, failed), Some(now + duration));
            }
            FaultKind::RegionOutage {
                region,
                duration,
                detected_after,
            } => {
                self.region_down[usize::from(region)] += 1;
                let pools = self.region_pools(usize::from(region));
                let duration = self.repair_time(self.spec.faults[usize::from(f)].when, duration);
                self.region_servers(now, usize::from(region), Some(now + duration), scheduler);
                self.go_dark(now, f, pools, None, (duration, detected_after), scheduler);
            }
        }
    }

    /// An outage strikes: every instance of `pools` (in `zone`, if given),
    /// in any state, is lost and its host unreachable; the pools' controllers
    /// notice after `detected_after`; the outage ends after `duration`.
    fn go_dark(
        &mut self,
        now: SimTime,
        f: u16,
        pools: Vec<usize>,
        zone: Option<u16>,
        (duration, detected_after): (SimDuration, SimDuration),
        scheduler: &mut Scheduler<Event>,
    ) {
        let (errors_at_start, failed_before) = (self.recorder.totals.errors(), self.recorder.totals.failed);
        let hit: Vec<InstanceId> = pools
            .iter()
            .flat_map(|&p| self.pools[p].instances.iter().copied())
            .filter(|id| {
                let i = &self.instances[id.0 as usize];
                zone.is_none_or(|z| i.zone == Some(z)) && i.state != InstanceState::Stopped
            })
            .collect();
        for &id in &hit {
            self.instances[id.0 as usize].unreachable = true;
        }
        self.crash(now, &hit, scheduler);
        for &p in &pools {
            let pool = PoolId(p as u16);
            scheduler.schedule(now + detected_after, Event::ReplaceDue { pool });
        }
        scheduler.schedule(now + duration, Event::OutageEnds { fault: f });
        let pools = pools.into_iter().map(|p| (p, self.books[p].ready)).collect();
        self.record(now, f, pools, &hit, (errors_at_start, failed_before), None);
    }

    /// A fault on instances strikes `hit`, all of one pool.
    fn strike(&mut self, now: SimTime, f: u16, hit: Vec<InstanceId>, scheduler: &mut Scheduler<Event>) {
        let (errors_at_start, failed_before) = (self.recorder.totals.errors(), self.recorder.totals.failed);
        let mut recovered_at = None;
        let pool = match self.spec.faults[usize::from(f)].kind {
            FaultKind::Crash {
                pool, detected_after, ..
            } => {
                let before = self.books[pool].ready;
                self.crash(now, &hit, scheduler);
                let event = Event::ReplaceDue {
                    pool: PoolId(pool as u16),
                };
                scheduler.schedule(now + detected_after, event);
                (pool, before)
            }
            FaultKind::Slowdown {
                pool, factor, duration, ..
            } => {
                let before = self.books[pool].ready;
                let duration = self.repair_time(self.spec.faults[usize::from(f)].when, duration);
                for &id in &hit {
                    self.recorder.event(now, EventKind::InstanceSlowed, pool, id.0);
                    self.instances[id.0 as usize].speed /= factor;
                    scheduler.schedule(now + duration, Event::SlowdownEnds { fault: f, instance: id });
                }
                recovered_at = Some(now + duration);
                (pool, before)
            }
            FaultKind::SpotInterruption { pool, notice, .. } => {
                let before = self.books[pool].ready;
                for &id in &hit {
                    self.recorder.event(now, EventKind::InstanceInterrupted, pool, id.0);
                    self.drain_within(now, id, notice, scheduler);
                }
                self.on_replace_due(now, PoolId(pool as u16), scheduler);
                (pool, before)
            }
            FaultKind::ZoneOutage { .. } | FaultKind::RegionOutage { .. } | FaultKind::LbNodeFailure { .. } => {
                unreachable!("an outage strikes a zone, a region or a balancer's node")
            }
        };
        self.record(now, f, vec![pool], &hit, (errors_at_start, failed_before), recovered_at);
    }

    /// Opens the record of an occurrence of fault `f`, with the error and
    /// failure totals from just before it struck.
    fn record(
        &mut self,
        now: SimTime,
        f: u16,
        pools: Vec<(usize, u32)>,
        hit: &[InstanceId],
        (errors_at_start, failed_before): (u64, u64),
        recovered_at: Option<SimTime>,
    ) {
        if recovered_at.is_none() {
            self.open_faults.push(self.fault_records.len());
        }
        self.fault_records.push(FaultRecord {
            fault: f,
            at: now,
            kind: self.spec.faults[usize::from(f)].kind,
            pools,
            hit: hit.iter().map(|id| id.0).collect(),
            replaced: 0,
            requests_failed: self.recorder.totals.failed - failed_before,
            errors_at_start,
            errors: 0,
            recovered_at,
        });
        self.check_recovery(now, None);
    }

    /// A draining instance's grace ran out: it stops, and what it still
    /// held fails with it — on its fault's account when it was a spot
    /// instance whose notice ran out.
    pub(super) fn stop_drained(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let failed_before = self.recorder.totals.failed;
        self.stop_instance(now, id, scheduler);
        let failed = self.recorder.totals.failed - failed_before;
        if let Some(r) = self
            .fault_records
            .iter_mut()
            .rev()
            .find(|r| matches!(r.kind, FaultKind::SpotInterruption { .. }) && r.hit.contains(&id.0))
        {
            r.requests_failed += failed;
        }
    }

    /// Whether `pool` may launch an instance: its region is not dark, and
    /// it has no zones or one is up.
    pub(super) fn can_launch(&self, pool: usize) -> bool {
        let zones = &self.pools[pool].spec.zones;
        !self.region_dark(pool) && (zones.is_empty() || zones.iter().any(|&z| self.zone_down[usize::from(z)] == 0))
    }

    /// The zone a new instance of `pool` goes to: the one of its zones that
    /// is up and has the fewest of its live instances (first on ties), as
    /// an Auto Scaling group balances its zones and a topology spread
    /// constraint spreads pods.
    pub(super) fn zone_for(&self, pool: usize) -> Option<u16> {
        let zones = &self.pools[pool].spec.zones;
        let live = |z: u16| {
            self.pools[pool]
                .instances
                .iter()
                .filter(|id| {
                    let i = &self.instances[id.0 as usize];
                    i.zone == Some(z) && i.state != InstanceState::Stopped
                })
                .count()
        };
        zones
            .iter()
            .copied()
            .filter(|&z| self.zone_down[usize::from(z)] == 0)
            .min_by_key(|&z| live(z))
    }

    /// The pool's controller notices its lost instances and brings the
    /// pool back to the size it wants (where it can launch).
    pub(super) fn on_replace_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        self.deregister_dead(pool);
        let desired = self.books[pool.0 as usize].desired;
        self.scale_pool(now, pool, desired, None, scheduler);
    }

    /// A zone or region outage ends (the zone or region is back once no
    /// other outage holds it out): pools that could not launch there fill up
    /// again. A zone or region that fails at random draws its next outage.
    pub(super) fn on_outage_ends(&mut self, now: SimTime, f: u16, scheduler: &mut Scheduler<Event>) {
        let zone = match self.spec.faults[usize::from(f)].kind {
            FaultKind::ZoneOutage { zone, .. } => zone,
            FaultKind::RegionOutage { region, .. } => {
                self.rearm_outage(now, f, scheduler);
                return self.region_back(now, usize::from(region), scheduler);
            }
            FaultKind::LbNodeFailure { balancer, node, .. } => {
                self.rearm_outage(now, f, scheduler);
                let errors = self.recorder.totals.errors();
                if let Some(r) = self.fault_records.iter_mut().rev().find(|r| r.fault == f) {
                    r.errors = errors - r.errors_at_start;
                }
                self.lb_nodes[usize::from(balancer)][node as usize].down -= 1;
                self.lb_nodes_down[usize::from(balancer)] -= 1;
                return;
            }
            _ => unreachable!("only outages end"),
        };
        self.rearm_outage(now, f, scheduler);
        self.zone_down[usize::from(zone)] -= 1;
        if self.zone_down[usize::from(zone)] > 0 {
            return;
        }
        for p in 0..self.pools.len() {
            if self.pools[p].spec.zones.contains(&zone) {
                self.on_replace_due(now, PoolId(p as u16), scheduler);
            }
        }
    }

    fn rearm_outage(&mut self, now: SimTime, f: u16, scheduler: &mut Scheduler<Event>) {
        if self.spec.faults[usize::from(f)].is_random() {
            let at = self.next_failure(now, usize::from(f));
            if at <= self.end {
                scheduler.schedule(at, Event::FaultDue { fault: f });
            }
        }
    }

    /// A slowdown of one instance ends; an instance that slows down at
    /// random draws its next slowdown.
    pub(super) fn on_slowdown_ends(&mut self, now: SimTime, f: u16, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let FaultKind::Slowdown { factor, .. } = self.spec.faults[usize::from(f)].kind else {
            unreachable!("only slowdowns end")
        };
        let errors = self.recorder.totals.errors();
        if let Some(r) = self
            .fault_records
            .iter_mut()
            .rev()
            .find(|r| r.fault == f && r.hit.contains(&id.0))
        {
            r.errors = errors - r.errors_at_start;
        }
        let instance = &mut self.instances[id.0 as usize];
        if instance.state != InstanceState::Stopped {
            instance.speed *= factor;
            let pool = instance.pool.0 as usize;
            self.recorder.event(now, EventKind::InstanceRestored, pool, id.0);
            if self.spec.faults[usize::from(f)].is_random() {
                self.arm(now, usize::from(f), id, scheduler);
            }
        }
    }

    /// Credits a newly `ready` instance to the oldest open fault of its pool
    /// that struck before its launch and is still short of replacements,
    /// then closes the records of crashes and outages that are over: as many
    /// instances replaced as they hit, or every pool they hit as large as
    /// its controller now wants (it may want fewer than before). A pool's
    /// ready count alone cannot tell: when faults overlap, an earlier one's
    /// replacement would close a later one.
    pub(super) fn check_recovery(&mut self, now: SimTime, ready: Option<InstanceId>) {
        let errors = self.recorder.totals.errors();
        let (books, records) = (&self.books, &mut self.fault_records);
        if let Some(id) = ready {
            let instance = &self.instances[id.0 as usize];
            let (pool, launched) = (instance.pool.0 as usize, instance.launched_at);
            if let Some(&k) = self.open_faults.iter().find(|&&k| {
                let r = &records[k];
                r.at <= launched && (r.replaced as usize) < r.hit.len() && r.pools.iter().any(|&(p, _)| p == pool)
            }) {
                records[k].replaced += 1;
            }
        }
        self.open_faults.retain(|&k| {
            let r = &mut records[k];
            let whole =
                r.replaced as usize >= r.hit.len() || r.pools.iter().all(|&(p, _)| books[p].ready >= books[p].desired);
            if whole {
                r.recovered_at = Some(now);
                r.errors = errors - r.errors_at_start;
            }
            !whole
        });
    }

    /// An occurrence's errors until it recovered (or until `end`), and the
    /// time it took (`None` if not by `end`).
    fn cost(&self, r: &FaultRecord, end: SimTime) -> (u64, Option<f64>) {
        let closed = r.recovered_at.is_some_and(|t| t <= end);
        let errors = if closed {
            r.errors
        } else {
            self.recorder.totals.errors() - r.errors_at_start
        };
        (
            errors,
            r.recovered_at.filter(|_| closed).map(|t| (t - r.at).as_secs_f64()),
        )
    }

    fn zone_name(&self, kind: FaultKind) -> Option<String> {
        match kind {
            FaultKind::ZoneOutage { zone, .. } => Some(self.spec.zones[usize::from(zone)].clone()),
            _ => None,
        }
    }

    fn region_name(&self, kind: FaultKind) -> Option<String> {
        match (kind, &self.spec.geo) {
            (FaultKind::RegionOutage { region, .. }, Some(geo)) => Some(geo.regions[usize::from(region)].name.clone()),
            _ => None,
        }
    }

    /// The fixed-time faults' part of `summary.json`, one entry each.
    pub(super) fn fault_summaries(&self, end: SimTime) -> Vec<FaultSummary> {
        self.fault_records
            .iter()
            .filter(|r| !self.spec.faults[usize::from(r.fault)].is_random())
            .map(|r| {
                let (errors, recover) = self.cost(r, end);
                FaultSummary {
                    at_s: r.at.as_secs_f64(),
                    kind: r.kind.name(),
                    pools: r.pools.iter().map(|&(p, _)| self.spec.pools[p].name.clone()).collect(),
                    zone: self.zone_name(r.kind),
                    region: self.region_name(r.kind),
                    instances: r.hit.len() as u32,
                    requests_failed: r.requests_failed,
                    errors_until_recovered: errors,
                    time_to_recover_s: recover,
                }
            })
            .collect()
    }

    /// The random faults' part of `summary.json`: one entry per fault, over
    /// all its occurrences.
    pub(super) fn random_fault_summaries(&self, end: SimTime) -> Vec<RandomFaultSummary> {
        let mut out = Vec::new();
        for (f, spec) in self.spec.faults.iter().enumerate() {
            let When::Random { mtbf } = spec.when else { continue };
            let mut s = RandomFaultSummary {
                kind: spec.kind.name(),
                mtbf_s: mtbf.as_secs_f64(),
                pool: spec.random_pool().map(|p| self.spec.pools[p].name.clone()),
                zone: self.zone_name(spec.kind),
                region: self.region_name(spec.kind),
                occurrences: 0,
                instances: 0,
                requests_failed: 0,
                errors_until_recovered: 0,
                not_recovered: 0,
                time_to_recover_mean_s: None,
                time_to_recover_max_s: None,
            };
            let mut recover_total = 0.0;
            for r in self.fault_records.iter().filter(|r| usize::from(r.fault) == f) {
                let (errors, recover) = self.cost(r, end);
                s.occurrences += 1;
                s.instances += r.hit.len() as u64;
                s.requests_failed += r.requests_failed;
                s.errors_until_recovered += errors;
                match recover {
                    Some(t) => {
                        recover_total += t;
                        s.time_to_recover_max_s = Some(s.time_to_recover_max_s.map_or(t, |m: f64| m.max(t)));
                    }
                    None => s.not_recovered += 1,
                }
            }
            let recovered = s.occurrences - s.not_recovered;
            if recovered > 0 {
                s.time_to_recover_mean_s = Some(recover_total / recovered as f64);
            }
            out.push(s);
        }
        out
    }
}
