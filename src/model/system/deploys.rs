//! Deploys: a rolling update driven as the Deployment controller drives
//! one (scale the new version up within `maxSurge`, the old one down while
//! at least `desired − maxUnavailable` are ready, again whenever an
//! instance becomes ready), or a blue-green switch (a whole new set booted
//! out of rotation, traffic moved once it is ready, the old set removed
//! after a delay). While a deploy runs, every change of the pool's size
//! (an autoscaler, a crash's replacement) goes through it. New instances'
//! start-up CPU is here too: it is what makes an HPA overreact to a deploy.

use crate::engine::{Scheduler, SimDuration, SimTime};
use crate::metrics::{DeploySummary, EventKind};
use crate::model::deploy::{DeployRecord, Strategy};
use crate::model::instance::{InstanceId, InstanceState, PoolId};

use super::{Event, System};

/// How long after a deploy its pool's desired size is still its doing: the
/// HPA's 5-minute scale-down stabilization plus its 5-minute CPU
/// initialization period.
const SETTLE: SimDuration = SimDuration::from_secs(600);

/// A pool's instances in service (booting or ready, not draining) by version.
#[derive(Default)]
struct Census {
    new_live: u32,
    new_ready: u32,
    old_ready: Vec<InstanceId>,
    old_booting: Vec<InstanceId>,
    /// New instances, not ready first, then the newest.
    new: Vec<InstanceId>,
}

impl System {
    pub(super) fn schedule_deploys(&self, scheduler: &mut Scheduler<Event>) {
        for (d, deploy) in self.spec.deploys.iter().enumerate() {
            if deploy.at <= self.end {
                scheduler.schedule(deploy.at, Event::DeployDue { deploy: d as u16 });
            }
        }
    }

    /// A deploy starts: the pool's new instances run a new version.
    pub(super) fn on_deploy_due(&mut self, now: SimTime, d: u16, scheduler: &mut Scheduler<Event>) {
        let deploy = self.spec.deploys[usize::from(d)];
        let p = deploy.pool;
        if let Some(r) = self.rollouts[p] {
            // A deploy over one under way replaces it (its target moves on).
            self.deploy_records[r].finished_at = Some(now);
        }
        self.pools[p].version += 1;
        let book = &self.books[p];
        self.deploy_records.push(DeployRecord {
            deploy: d,
            at: now,
            version: self.pools[p].version,
            desired_before: book.desired,
            desired_peak: book.desired,
            live_peak: book.booting + book.ready + book.draining,
            ready_min: book.ready,
            errors_at_start: self.recorder.totals.errors(),
            errors: 0,
            switched_at: None,
            finished_at: None,
        });
        self.rollouts[p] = Some(self.deploy_records.len() - 1);
        self.recorder.event(now, EventKind::DeployStarted, p, u32::from(d));
        self.rollout_step(now, PoolId(p as u16), scheduler);
    }

    fn census(&self, p: usize) -> Census {
        let version = self.pools[p].version;
        let mut c = Census::default();
        for &id in &self.pools[p].instances {
            let i = &self.instances[id.0 as usize];
            let ready = i.state == InstanceState::Ready;
            if !matches!(i.state, InstanceState::Booting | InstanceState::Ready) || i.retiring {
                continue;
            }
            if i.version == version {
                c.new_live += 1;
                c.new_ready += u32::from(ready);
                c.new.push(id);
            } else if ready {
                c.old_ready.push(id);
            } else {
                c.old_booting.push(id);
            }
        }
        // As a ReplicaSet scales down: not ready first, then the most recently ready.
        let instances = &self.instances;
        c.new.sort_by_key(|id| {
            let i = &instances[id.0 as usize];
            (
                i.state == InstanceState::Ready,
                std::cmp::Reverse(i.ready_at.unwrap_or(i.launched_at)),
                std::cmp::Reverse(id.0),
            )
        });
        c.old_ready.sort_by_key(|id| {
            let i = &instances[id.0 as usize];
            (
                std::cmp::Reverse(i.ready_at.unwrap_or(i.launched_at)),
                std::cmp::Reverse(id.0),
            )
        });
        c
    }

    /// The controller's reconcile, repeated until it changes nothing.
    /// Returns the instances it launched or removed.
    pub(super) fn rollout_step(
        &mut self,
        now: SimTime,
        pool: PoolId,
        scheduler: &mut Scheduler<Event>,
    ) -> Vec<InstanceId> {
        let mut changed = Vec::new();
        loop {
            let before = changed.len();
            self.rollout_round(now, pool, &mut changed, scheduler);
            if changed.len() == before {
                break;
            }
        }
        self.track_deploy(now, pool.0 as usize);
        changed
    }

    fn rollout_round(
        &mut self,
        now: SimTime,
        pool: PoolId,
        changed: &mut Vec<InstanceId>,
        scheduler: &mut Scheduler<Event>,
    ) {
        let p = pool.0 as usize;
        let Some(r) = self.rollouts[p] else { return };
        let strategy = self.spec.deploys[usize::from(self.deploy_records[r].deploy)].strategy;
        let desired = self.books[p].desired;
        let c = self.census(p);
        let old_live = (c.old_ready.len() + c.old_booting.len()) as u32;
        if let Strategy::BlueGreen { scale_down_delay } = strategy {
            if self.deploy_records[r].switched_at.is_none() {
                for _ in c.new_live..desired {
                    if !self.can_launch(p) {
                        break;
                    }
                    let id = self.launch(now, pool, scheduler);
                    self.instances[id.0 as usize].held = true;
                    changed.push(id);
                }
                if c.new_ready >= desired {
                    self.switch(now, p, &c, scheduler);
                    scheduler.schedule(now + scale_down_delay, Event::RetireDue { pool });
                    changed.extend(c.old_booting.iter().copied());
                }
                return;
            }
            // After the switch the pool is sized like any other (the old
            // set goes when its delay is up).
            self.resize_new(now, pool, &c, desired, changed, scheduler);
            return;
        }
        let (surge, unavailable) = strategy.fenceposts(desired);
        // Scale the new version up within the surge...
        let room = (desired + surge).saturating_sub(c.new_live + old_live);
        let up = room.min(desired.saturating_sub(c.new_live));
        for _ in 0..up {
            if !self.can_launch(p) {
                break;
            }
            changed.push(self.launch(now, pool, scheduler));
        }
        if c.new_live > desired {
            self.resize_new(now, pool, &c, desired, changed, scheduler);
        }
        // ...and the old one down: unready instances first (they serve
        // nothing), then ready ones while enough stay ready.
        for &id in &c.old_booting {
            self.remove_instance(now, id, scheduler);
            changed.push(id);
        }
        let ready = c.new_ready + c.old_ready.len() as u32;
        let spare = ready.saturating_sub(desired.saturating_sub(unavailable));
        for &id in c.old_ready.iter().take(spare as usize) {
            self.remove_instance(now, id, scheduler);
            changed.push(id);
        }
    }

    /// Brings the new version to `desired` (launching or removing).
    fn resize_new(
        &mut self,
        now: SimTime,
        pool: PoolId,
        c: &Census,
        desired: u32,
        changed: &mut Vec<InstanceId>,
        scheduler: &mut Scheduler<Event>,
    ) {
        for _ in c.new_live..desired {
            if !self.can_launch(pool.0 as usize) {
                break;
            }
            changed.push(self.launch(now, pool, scheduler));
        }
        for &id in c.new.iter().take(c.new_live.saturating_sub(desired) as usize) {
            self.remove_instance(now, id, scheduler);
            changed.push(id);
        }
    }

    /// Blue-green: the new set enters every rotation, the old one leaves
    /// (it stays up, idle, until its scale-down delay is over).
    fn switch(&mut self, now: SimTime, p: usize, c: &Census, scheduler: &mut Scheduler<Event>) {
        for &id in &c.new {
            let instance = &mut self.instances[id.0 as usize];
            instance.held = false;
            if instance.state == InstanceState::Ready {
                self.register(now, id);
            }
        }
        for &id in &c.old_ready {
            self.instances[id.0 as usize].retiring = true;
            for lb in &mut self.load_balancers {
                lb.remove(id);
            }
        }
        for &id in &c.old_booting {
            self.remove_instance(now, id, scheduler);
        }
        if let Some(r) = self.rollouts[p] {
            self.deploy_records[r].switched_at = Some(now);
        }
        self.recorder.event(now, EventKind::DeploySwitched, p, 0);
    }

    /// A blue-green deploy's old set is removed.
    pub(super) fn on_retire_due(&mut self, now: SimTime, pool: PoolId, scheduler: &mut Scheduler<Event>) {
        let p = pool.0 as usize;
        let retiring: Vec<InstanceId> = self.pools[p]
            .instances
            .iter()
            .copied()
            .filter(|id| {
                let i = &self.instances[id.0 as usize];
                i.retiring && i.state == InstanceState::Ready
            })
            .collect();
        for id in retiring {
            self.remove_instance(now, id, scheduler);
        }
        self.track_deploy(now, p);
    }

    /// The pool's desired size changed: the latest deploy of the pool counts
    /// it while it runs and for `SETTLE` after (an HPA's reaction to the new
    /// instances' start-up comes after the rollout).
    pub(super) fn note_desired(&mut self, now: SimTime, p: usize) {
        let desired = self.books[p].desired;
        let latest = self
            .deploy_records
            .iter_mut()
            .rev()
            .find(|r| self.spec.deploys[usize::from(r.deploy)].pool == p);
        if let Some(r) = latest
            && r.finished_at.is_none_or(|t| now <= t + SETTLE)
        {
            r.desired_peak = r.desired_peak.max(desired);
        }
    }

    /// Follows a deploy's figures and closes it when no old instance is left.
    pub(super) fn track_deploy(&mut self, now: SimTime, p: usize) {
        let Some(r) = self.rollouts[p] else { return };
        let book = &self.books[p];
        let version = self.pools[p].version;
        let mut old_left = false;
        let mut new_ready = 0;
        for id in &self.pools[p].instances {
            let i = &self.instances[id.0 as usize];
            let live = matches!(i.state, InstanceState::Booting | InstanceState::Ready);
            old_left |= live && i.version != version;
            new_ready += u32::from(i.version == version && i.state == InstanceState::Ready);
        }
        let record = &mut self.deploy_records[r];
        record.desired_peak = record.desired_peak.max(book.desired);
        record.live_peak = record.live_peak.max(book.booting + book.ready + book.draining);
        record.ready_min = record.ready_min.min(book.ready);
        let rolling = matches!(
            self.spec.deploys[usize::from(record.deploy)].strategy,
            Strategy::Rolling { .. }
        );
        // Complete as Kubernetes counts it: every instance updated and available.
        if !old_left && new_ready >= book.desired && (rolling || record.switched_at.is_some()) {
            record.finished_at = Some(now);
            record.errors = self.recorder.totals.errors() - record.errors_at_start;
            let deploy = record.deploy;
            self.rollouts[p] = None;
            self.recorder
                .event(now, EventKind::DeployFinished, p, u32::from(deploy));
        }
    }

    /// A new instance is ready: its start-up work begins.
    pub(super) fn start_up(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let instance = &mut self.instances[id.0 as usize];
        let pool = instance.pool.0 as usize;
        let Some(startup) = self.pools[pool].spec.startup_cpu else {
            return;
        };
        let cores = startup.cores.min(instance.cores - instance.busy_cores);
        if cores == 0 {
            return;
        }
        instance.startup_cores = cores;
        instance.busy_cores += cores;
        instance.busy_core_time.set(now, u64::from(instance.busy_cores));
        self.pools[pool].busy_cores.add(now, u64::from(cores));
        scheduler.schedule(now + startup.duration, Event::StartupEnds { instance: id });
    }

    /// Its start-up work is done: the cores go to requests waiting for one.
    pub(super) fn on_startup_ends(&mut self, now: SimTime, id: InstanceId, scheduler: &mut Scheduler<Event>) {
        let instance = &mut self.instances[id.0 as usize];
        if instance.state == InstanceState::Stopped {
            return;
        }
        for _ in 0..std::mem::take(&mut instance.startup_cores) {
            self.free_core(now, id, scheduler);
        }
    }

    /// The deploys' part of `summary.json`.
    pub(super) fn deploy_summaries(&self, end: SimTime) -> Vec<DeploySummary> {
        let errors = self.recorder.totals.errors();
        self.deploy_records
            .iter()
            .map(|r| {
                let spec = self.spec.deploys[usize::from(r.deploy)];
                let finished = r.finished_at.filter(|&t| t <= end);
                DeploySummary {
                    at_s: r.at.as_secs_f64(),
                    pool: self.spec.pools[spec.pool].name.clone(),
                    strategy: spec.strategy.name(),
                    version: r.version,
                    duration_s: finished.map(|t| (t - r.at).as_secs_f64()),
                    switched_after_s: r.switched_at.map(|t| (t - r.at).as_secs_f64()),
                    desired_before: r.desired_before,
                    desired_peak: r.desired_peak,
                    instances_peak: r.live_peak,
                    ready_min: r.ready_min,
                    errors: if finished.is_some() {
                        r.errors
                    } else {
                        errors - r.errors_at_start
                    },
                }
            })
            .collect()
    }
}
