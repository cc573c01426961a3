//! Message queues at run time: producers' enqueues, delivery to consumer
//! instances as jobs, deletion or retry when a job ends, visibility timeouts.
//!
//! A consumer instance takes a message only when it has a free worker (its
//! concurrency is its pool's `workers`), so jobs never wait in an accept
//! queue; they may wait for a core. A job computes on its instance like a
//! request, and its end deletes the message (or fails the attempt). Jobs
//! are not client requests: they appear in the queue's figures and in the
//! consumer pool's utilization, not in the request counts or latency.

use crate::engine::{Scheduler, SimTime};
use crate::model::instance::{Admission, InstanceId, InstanceState};
use crate::model::request::{Request, RequestId};

use super::{Event, System};

impl System {
    /// Sends `id`'s message to queue `q`: false when the queue is full.
    pub(super) fn enqueue(&mut self, now: SimTime, id: RequestId, q: usize, scheduler: &mut Scheduler<Event>) -> bool {
        let r = *self.requests.get(id);
        let queue = &mut self.data.queues[q];
        let rtt = queue.spec.rtt;
        let accepted = queue.enqueue(now);
        if accepted {
            // The consumers' demand is what producers send, whether or not
            // a worker is free to take it: a job's mean CPU at the pool's speed.
            let pool = &mut self.pools[queue.spec.consumers];
            let speed = self.spec.instance_types[pool.spec.instance_type].speed;
            pool.offered_work_s += queue.spec.job.mean() / speed;
        }
        self.account(self.data.queue_tier(q), rtt.0, r.arrival);
        // The producer waits for the broker's confirmation.
        let pending = &mut self.requests.get_mut(id).delay;
        *pending = *pending + rtt;
        if accepted {
            self.dispatch(now, q, scheduler);
        }
        accepted
    }

    /// Hands visible messages of queue `q` to consumers with a free worker.
    pub(super) fn dispatch(&mut self, now: SimTime, q: usize, scheduler: &mut Scheduler<Event>) {
        let pool = self.data.queues[q].spec.consumers;
        while self.data.queues[q].has_visible() {
            let Some(instance) = self.free_consumer(q) else { return };
            let queue = &mut self.data.queues[q];
            let Some(((message, receipt), first)) = queue.receive(now) else {
                return;
            };
            if first {
                let event = Event::VisibilityDue { queue: q as u16 };
                scheduler.schedule(now + queue.spec.visibility_timeout, event);
            }
            let demand_s = queue.spec.job.sample(&mut self.queue_rng);
            let id = self.requests.insert(Request {
                instance: instance.0,
                pool: pool as u16,
                message,
                receipt,
                ..Request::new(now, demand_s, 0, 0, 0)
            });
            let generation = self.requests.get(id).generation;
            let consumer = &mut self.instances[instance.0 as usize];
            let speed = consumer.speed;
            let admission = consumer.admit(now, id, generation);
            self.held_changed(instance);
            match admission {
                Admission::Started => {
                    self.pools[pool].busy_cores.add(now, 1);
                    self.start_service(now, instance, id, speed, scheduler);
                }
                Admission::WaitingForCore => self.pools[pool].waiting.add(now, 1),
                Admission::Queued | Admission::Rejected => {
                    unreachable!("a consumer takes a message only with a free worker")
                }
            }
        }
    }

    /// The next ready consumer of queue `q` with a free worker, round robin.
    fn free_consumer(&mut self, q: usize) -> Option<InstanceId> {
        let pool = &self.pools[self.data.queues[q].spec.consumers];
        let n = pool.instances.len();
        let start = self.data.queues[q].next_consumer;
        for k in 0..n {
            let at = (start + k) % n;
            let id = pool.instances[at];
            let i = &self.instances[id.0 as usize];
            if i.state == InstanceState::Ready && i.working < i.workers {
                self.data.queues[q].next_consumer = at + 1;
                return Some(id);
            }
        }
        None
    }

    /// A job finished computing: its message is deleted (or the attempt
    /// failed), its worker takes the next visible message.
    pub(super) fn on_job_done(
        &mut self,
        now: SimTime,
        instance: InstanceId,
        id: RequestId,
        scheduler: &mut Scheduler<Event>,
    ) {
        let r = *self.requests.get(id);
        let q = self.consumer_queue[usize::from(r.pool)].expect("a job runs on a consumer pool");
        let p = self.data.queues[q].spec.failure_probability;
        let ok = p == 0.0 || self.queue_rng.open01() >= p;
        self.data.queues[q].complete(now, r.message, r.receipt, ok);
        self.requests.remove(id);
        self.free_core(now, instance, scheduler);
        self.free_worker(now, instance, scheduler);
        self.dispatch(now, q, scheduler);
    }

    /// Visibility deadlines of queue `q` came: undeleted messages are
    /// visible again and go to free consumers.
    pub(super) fn on_visibility_due(&mut self, now: SimTime, q: usize, scheduler: &mut Scheduler<Event>) {
        if let Some(next) = self.data.queues[q].expire(now) {
            scheduler.schedule(next, Event::VisibilityDue { queue: q as u16 });
        }
        self.dispatch(now, q, scheduler);
    }

    /// Every queue's current depth in milli-messages (External metrics).
    pub(super) fn queue_depths(&self) -> Vec<i64> {
        self.data.queues.iter().map(|q| q.len() as i64 * 1000).collect()
    }
}
