//! Data-tier failures, at fixed times or drawn at random: a replica down
//! for a while, a replica that stops applying writes for a while, a
//! primary failing over to a replica, a shared cache node lost and brought
//! back, a cache flushed.

use crate::engine::{Scheduler, SimTime};
use crate::metrics::EventKind;
use crate::model::data::{CacheFaultKind, DbFaultKind};
use crate::model::fault::When;

use super::{Event, System};

impl System {
    /// Schedules the first start of every fault within the run.
    pub(super) fn schedule_data_faults(&mut self, scheduler: &mut Scheduler<Event>) {
        for d in 0..self.data.databases.len() {
            for f in 0..self.data.databases[d].spec.faults.len() {
                let when = self.data.databases[d].spec.faults[f].when;
                let event = Event::DbFaultDue {
                    database: d as u16,
                    fault: f as u16,
                    end: false,
                };
                self.schedule_data_fault(SimTime::ZERO, when, event, scheduler);
            }
        }
        for t in 0..self.data.caches.len() {
            for f in 0..self.data.caches[t].spec.faults.len() {
                let when = self.data.caches[t].spec.faults[f].when;
                let event = Event::CacheFaultDue {
                    tier: t as u16,
                    fault: f as u16,
                    end: false,
                };
                self.schedule_data_fault(SimTime::ZERO, when, event, scheduler);
            }
        }
    }

    /// Schedules a data-tier fault's (next) start: its fixed time, seen from
    /// the start of the run, or an exponential draw from `now` for one that
    /// recurs at random.
    fn schedule_data_fault(&mut self, now: SimTime, when: When, event: Event, scheduler: &mut Scheduler<Event>) {
        let at = match when {
            When::At(at) if now == SimTime::ZERO => at,
            When::At(_) => return,
            When::Random { mtbf } => now + self.draw_exponential(mtbf),
        };
        if at <= self.end {
            scheduler.schedule(at, event);
        }
    }

    pub(super) fn on_db_fault(
        &mut self,
        now: SimTime,
        database: u16,
        fault: u16,
        end: bool,
        scheduler: &mut Scheduler<Event>,
    ) {
        let d = usize::from(database);
        let spec = self.data.databases[d].spec.faults[usize::from(fault)];
        let shard = spec.shard as usize;
        let ends = Event::DbFaultDue {
            database,
            fault,
            end: true,
        };
        if end && matches!(spec.when, When::Random { .. }) {
            let next = Event::DbFaultDue {
                database,
                fault,
                end: false,
            };
            self.schedule_data_fault(now, spec.when, next, scheduler);
        }
        let kind = match spec.kind {
            DbFaultKind::ReplicaDown { replica, duration } if !end => DbFaultKind::ReplicaDown {
                replica,
                duration: self.repair_time(spec.when, duration),
            },
            DbFaultKind::ReplicaLag { replica, duration } if !end => DbFaultKind::ReplicaLag {
                replica,
                duration: self.repair_time(spec.when, duration),
            },
            kind => kind,
        };
        match kind {
            DbFaultKind::ReplicaDown { replica, duration } => {
                let db = &mut self.data.databases[d];
                let k = db.shard_replicas(shard).start + replica as usize;
                let server = db.replicas[k];
                if db.primaries.contains(&server) {
                    return; // Promoted to primary meanwhile: no longer a replica.
                }
                if end {
                    self.data.servers[server].down = false;
                    db.replica_up[k] = true;
                    self.recorder.server_event(now, EventKind::ServerUp, server);
                    return;
                }
                if !db.replica_up[k] {
                    return; // Already down.
                }
                db.replica_up[k] = false;
                db.replication[k].pause_until(now + duration);
                self.recorder.server_event(now, EventKind::ServerDown, server);
                self.fail_server(now, server, scheduler);
                scheduler.schedule(now + duration, ends);
            }
            DbFaultKind::ReplicaLag { replica, duration } => {
                let db = &mut self.data.databases[d];
                let k = db.shard_replicas(shard).start + replica as usize;
                let server = db.replicas[k];
                if end {
                    self.recorder.server_event(now, EventKind::ApplyResumed, server);
                    return;
                }
                db.replication[k].pause_until(now + duration);
                self.recorder.server_event(now, EventKind::ApplyPaused, server);
                scheduler.schedule(now + duration, ends);
            }
            DbFaultKind::PrimaryFailover { promotion } => {
                let db = &mut self.data.databases[d];
                if !end {
                    if db.promoting[shard] {
                        return;
                    }
                    db.promoting[shard] = true;
                    let primary = db.primaries[shard];
                    self.recorder.server_event(now, EventKind::ServerDown, primary);
                    self.fail_server(now, primary, scheduler);
                    scheduler.schedule(now + promotion, ends);
                    return;
                }
                db.promoting[shard] = false;
                let candidate = db.shard_replicas(shard).find(|&k| db.replica_up[k]);
                let Some(k) = candidate else {
                    // No replica to promote: the primary restarts.
                    let primary = db.primaries[shard];
                    self.data.servers[primary].down = false;
                    self.recorder.server_event(now, EventKind::ServerUp, primary);
                    return;
                };
                // Writes it had not applied are lost: their keys go back to
                // the version it holds.
                db.lost_writes += db.replication[k].backlog(now) as u64;
                for (key, version) in db.replication[k].unapplied(now) {
                    if version == 0 {
                        db.versions.remove(&key);
                    } else {
                        db.versions.insert(key, version);
                    }
                }
                db.primaries[shard] = db.replicas[k];
                db.replica_up[k] = false;
                self.recorder
                    .server_event(now, EventKind::ServerPromoted, db.replicas[k]);
            }
        }
    }

    /// A server fails: the operations it held fail with their requests.
    pub(super) fn fail_server(&mut self, now: SimTime, server: usize, scheduler: &mut Scheduler<Event>) {
        for op in self.data.servers[server].fail(now) {
            self.drop_op(now, server, op, scheduler);
        }
    }

    pub(super) fn on_cache_fault(
        &mut self,
        now: SimTime,
        tier: u16,
        fault: u16,
        end: bool,
        scheduler: &mut Scheduler<Event>,
    ) {
        let spec = self.data.caches[usize::from(tier)].spec.faults[usize::from(fault)];
        // A random fault draws its next start when this one is over (a
        // flush is over at once).
        if matches!(spec.when, When::Random { .. }) && (end || spec.kind == CacheFaultKind::Flush) {
            let next = Event::CacheFaultDue {
                tier,
                fault,
                end: false,
            };
            self.schedule_data_fault(now, spec.when, next, scheduler);
        }
        let t = &mut self.data.caches[usize::from(tier)];
        match spec.kind {
            CacheFaultKind::NodeDown { node, duration } => {
                let duration = if end {
                    duration
                } else {
                    self.repair_time(spec.when, duration)
                };
                let t = &mut self.data.caches[usize::from(tier)];
                t.set_down(node as usize, !end);
                let kind = if end {
                    EventKind::ServerUp
                } else {
                    EventKind::ServerDown
                };
                self.recorder.server_event(now, kind, t.servers[node as usize]);
                if !end {
                    let event = Event::CacheFaultDue { tier, fault, end: true };
                    scheduler.schedule(now + duration, event);
                }
            }
            CacheFaultKind::Flush => {
                for node in &mut t.nodes {
                    node.clear();
                }
                if let Some(shield) = &mut t.shield {
                    shield.clear();
                }
                let t = usize::from(tier);
                for instance in &mut self.instances {
                    if let Some(Some(cache)) = instance.caches.get_mut(t) {
                        cache.clear();
                    }
                }
                self.recorder.cache_event(now, EventKind::CacheFlushed, t);
            }
        }
    }
}
