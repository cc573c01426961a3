//! Scheduled faults on app instances: a crash (its requests fail, the
//! pool's controller replaces it once it notices) and a slowdown (it
//! computes slower for a while). Each fault's record follows it to its
//! recovery: the requests it failed, the errors until the pool was whole
//! again, and when that was.

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

    pub(super) fn on_fault_due(&mut self, now: SimTime, f: u16, scheduler: &mut Scheduler<Event>) {
        let spec = self.spec.faults[usize::from(f)];
        let p = spec.pool;
        // The instances it hits: drawn without replacement among the ready ones.
        let mut ready: Vec<InstanceId> = self.pools[p]
            .instances
            .iter()
            .copied()
            .filter(|id| self.instances[id.0 as usize].state == InstanceState::Ready)
            .collect();
        let ready_before = ready.len() as u32;
        let n = (spec.instances as usize).min(ready.len());
        for i in 0..n {
            let j = i + self.fault_rng.below((ready.len() - i) as u64) as usize;
            ready.swap(i, j);
        }
        ready.truncate(n);
        let totals = &self.recorder.totals;
        let (errors_at_start, failed_before) = (totals.errors(), totals.failed);
        match spec.kind {
            FaultKind::Crash { detected_after } => {
                for &id in &ready {
                    self.recorder.event(now, EventKind::InstanceCrashed, p, id.0);
                    self.stop_instance(now, id, scheduler);
                }
                scheduler.schedule(now + detected_after, Event::ReplaceDue { pool: PoolId(p as u16) });
            }
            FaultKind::Slowdown { factor, duration } => {
                for &id in &ready {
                    self.recorder.event(now, EventKind::InstanceSlowed, p, id.0);
                    self.instances[id.0 as usize].speed /= factor;
                    scheduler.schedule(now + duration, Event::SlowdownEnds { fault: f, instance: id });
                }
            }
        }
        self.fault_records.push(FaultRecord {
            fault: f,
            at: now,
            kind: spec.kind,
            pool: p,
            hit: ready.iter().map(|id| id.0).collect(),
            ready_before,
            requests_failed: self.recorder.totals.failed - failed_before,
            errors_at_start,
            errors: 0,
            recovered_at: match spec.kind {
                FaultKind::Slowdown { duration, .. } => Some(now + duration),
                FaultKind::Crash { .. } => None,
            },
        });
        self.check_recovery(now, p);
    }

    /// The pool's controller notices its lost instances and brings the
    /// pool back to the size it wants.
    pub(super) fn on_replace_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let book = &self.books[pool.0 as usize];
        let live = book.booting + book.ready;
        for _ in live..book.desired {
            self.launch(now, pool, scheduler);
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

    /// Closes the crash records of `pool` whose pool is whole again: as
    /// many ready instances as before the crash, or as its controller now
    /// wants if that is fewer.
    pub(super) fn check_recovery(&mut self, now: SimTime, pool: usize) {
        let book = &self.books[pool];
        let errors = self.recorder.totals.errors();
        for r in &mut self.fault_records {
            if r.pool == pool && r.recovered_at.is_none() && book.ready >= r.ready_before.min(book.desired) {
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
                    pool: self.spec.pools[r.pool].name.clone(),
                    instances: r.hit.len() as u32,
                    requests_failed: r.requests_failed,
                    errors_until_recovered: if closed { r.errors } else { errors - r.errors_at_start },
                    time_to_recover_s: r.recovered_at.filter(|_| closed).map(|t| (t - r.at).as_secs_f64()),
                }
            })
            .collect()
    }
}
