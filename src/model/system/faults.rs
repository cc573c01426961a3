//! Scheduled faults on app instances: a crash (its requests fail, the
//! pool's controller replaces it once it notices), a slowdown (it computes
//! slower for a while), a zone outage (every instance in the zone dies and
//! nothing is launched there until it is back). Each fault's record
//! follows it to its recovery: the requests it failed, the errors until
//! its pools were whole again, and when that was.

use crate::engine::{Scheduler, SimTime};
use crate::metrics::{EventKind, FaultSummary};
use crate::model::fault::{FaultKind, FaultRecord};
use crate::model::instance::{InstanceId, InstanceState, PoolId};

use super::{Event, System};

impl System {
    /// Schedules every fault within the run.
    pub(super) fn schedule_faults(&self, scheduler: &mut Scheduler<Event>) {
        for (f, fault) in self.spec.faults.iter().enumerate() {
            if fault.at <= self.end {
                scheduler.schedule(fault.at, Event::FaultDue { fault: f as u16 });
            }
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

    /// `n` of `pool`'s ready instances, drawn without replacement.
    fn draw_ready(&mut self, pool: usize, n: u32) -> Vec<InstanceId> {
        let mut ready = self.ready_of(pool);
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

    pub(super) fn on_fault_due(&mut self, now: SimTime, f: u16, scheduler: &mut Scheduler<Event>) {
        let kind = self.spec.faults[usize::from(f)].kind;
        let totals = &self.recorder.totals;
        let (errors_at_start, failed_before) = (totals.errors(), totals.failed);
        let (pools, hit, recovered_at) = match kind {
            FaultKind::Crash {
                pool,
                instances,
                detected_after,
            } => {
                let before = self.books[pool].ready;
                let hit = self.draw_ready(pool, instances);
                self.crash(now, &hit, scheduler);
                let event = Event::ReplaceDue {
                    pool: PoolId(pool as u16),
                };
                scheduler.schedule(now + detected_after, event);
                (vec![(pool, before)], hit, None)
            }
            FaultKind::Slowdown {
                pool,
                instances,
                factor,
                duration,
            } => {
                let before = self.books[pool].ready;
                let hit = self.draw_ready(pool, instances);
                for &id in &hit {
                    self.recorder.event(now, EventKind::InstanceSlowed, pool, id.0);
                    self.instances[id.0 as usize].speed /= factor;
                    scheduler.schedule(now + duration, Event::SlowdownEnds { fault: f, instance: id });
                }
                (vec![(pool, before)], hit, Some(now + duration))
            }
            FaultKind::SpotInterruption {
                pool,
                instances,
                notice,
            } => {
                let before = self.books[pool].ready;
                let hit = self.draw_ready(pool, instances);
                for &id in &hit {
                    self.recorder.event(now, EventKind::InstanceInterrupted, pool, id.0);
                    self.drain_within(now, id, notice, scheduler);
                }
                self.on_replace_due(now, PoolId(pool as u16), scheduler);
                (vec![(pool, before)], hit, None)
            }
            FaultKind::ZoneOutage {
                zone,
                duration,
                detected_after,
            } => {
                self.zone_down[usize::from(zone)] = true;
                let pools: Vec<(usize, u32)> = (0..self.pools.len())
                    .filter(|&p| self.pools[p].spec.zones.contains(&zone))
                    .map(|p| (p, self.books[p].ready))
                    .collect();
                // Every instance there, in any state, is lost, its host unreachable.
                let hit: Vec<InstanceId> = pools
                    .iter()
                    .flat_map(|&(p, _)| self.pools[p].instances.iter().copied())
                    .filter(|id| {
                        let i = &self.instances[id.0 as usize];
                        i.zone == Some(zone) && i.state != InstanceState::Stopped
                    })
                    .collect();
                for &id in &hit {
                    self.instances[id.0 as usize].unreachable = true;
                }
                self.crash(now, &hit, scheduler);
                for &(p, _) in &pools {
                    let pool = PoolId(p as u16);
                    scheduler.schedule(now + detected_after, Event::ReplaceDue { pool });
                }
                scheduler.schedule(now + duration, Event::ZoneBack { zone });
                (pools, hit, None)
            }
        };
        self.fault_records.push(FaultRecord {
            fault: f,
            at: now,
            kind,
            pools,
            hit: hit.iter().map(|id| id.0).collect(),
            requests_failed: self.recorder.totals.failed - failed_before,
            errors_at_start,
            errors: 0,
            recovered_at,
        });
        self.check_recovery(now);
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

    /// Whether `pool` may launch an instance: it has no zones, or one is up.
    pub(super) fn can_launch(&self, pool: usize) -> bool {
        let zones = &self.pools[pool].spec.zones;
        zones.is_empty() || zones.iter().any(|&z| !self.zone_down[usize::from(z)])
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
            .filter(|&z| !self.zone_down[usize::from(z)])
            .min_by_key(|&z| live(z))
    }

    /// The pool's controller notices its lost instances and brings the
    /// pool back to the size it wants (where it can launch).
    pub(super) fn on_replace_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        self.deregister_dead(pool);
        let desired = self.books[pool.0 as usize].desired;
        self.scale_pool(now, pool, desired, None, scheduler);
    }

    /// A zone is back: pools that could not launch there fill up again.
    pub(super) fn on_zone_back(&mut self, now: SimTime, zone: u16, scheduler: &mut Scheduler<Event>) {
        self.zone_down[usize::from(zone)] = false;
        for p in 0..self.pools.len() {
            if self.pools[p].spec.zones.contains(&zone) {
                self.on_replace_due(now, PoolId(p as u16), scheduler);
            }
        }
    }

    pub(super) fn on_slowdown_ends(&mut self, now: SimTime, f: u16, id: InstanceId) {
        let FaultKind::Slowdown { factor, .. } = self.spec.faults[usize::from(f)].kind else {
            unreachable!("only slowdowns end")
        };
        let errors = self.recorder.totals.errors();
        if let Some(r) = self.fault_records.iter_mut().find(|r| r.fault == f) {
            r.errors = errors - r.errors_at_start;
        }
        let instance = &mut self.instances[id.0 as usize];
        if instance.state != InstanceState::Stopped {
            instance.speed *= factor;
            let pool = instance.pool.0 as usize;
            self.recorder.event(now, EventKind::InstanceRestored, pool, id.0);
        }
    }

    /// Closes the records of crashes and outages whose pools are all whole
    /// again: as many ready instances as before, or as their controllers
    /// now want if that is fewer.
    pub(super) fn check_recovery(&mut self, now: SimTime) {
        let errors = self.recorder.totals.errors();
        let books = &self.books;
        for r in &mut self.fault_records {
            let whole = r
                .pools
                .iter()
                .all(|&(p, before)| books[p].ready >= before.min(books[p].desired));
            if r.recovered_at.is_none() && whole {
                r.recovered_at = Some(now);
                r.errors = errors - r.errors_at_start;
            }
        }
    }

    /// The faults' part of `summary.json`.
    pub(super) fn fault_summaries(&self, end: SimTime) -> Vec<FaultSummary> {
        let errors = self.recorder.totals.errors();
        self.fault_records
            .iter()
            .map(|r| {
                let closed = r.recovered_at.is_some_and(|t| t <= end);
                FaultSummary {
                    at_s: r.at.as_secs_f64(),
                    kind: r.kind.name(),
                    pools: r.pools.iter().map(|&(p, _)| self.spec.pools[p].name.clone()).collect(),
                    zone: match r.kind {
                        FaultKind::ZoneOutage { zone, .. } => Some(self.spec.zones[usize::from(zone)].clone()),
                        _ => None,
                    },
                    instances: r.hit.len() as u32,
                    requests_failed: r.requests_failed,
                    errors_until_recovered: if closed { r.errors } else { errors - r.errors_at_start },
                    time_to_recover_s: r.recovered_at.filter(|_| closed).map(|t| (t - r.at).as_secs_f64()),
                }
            })
            .collect()
    }
}
