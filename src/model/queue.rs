//! A message queue on a broker (SQS-like semantics): producers enqueue
//! messages, a pool of consumers receives them, processes them and deletes
//! (acknowledges) them.
//!
//! A received message is invisible for the visibility timeout. If its
//! consumer deletes it in time, it is gone; if the attempt fails, or the
//! consumer is still busy (or was stopped) when the timeout runs out, the
//! message becomes visible again and is received again. Only the latest
//! receipt can delete a message (SQS: "you must provide the most recently
//! received receipt handle"), so a consumer slower than the timeout does the
//! work twice. A message received more than `max_receives` times goes to the
//! dead-letter queue instead. A bounded queue rejects messages past its
//! maximum depth.
//!
//! This module is the broker's bookkeeping; `system/queues.rs` delivers the
//! messages to consumer instances as jobs.

use std::collections::VecDeque;

use crate::engine::{SimDuration, SimTime};
use crate::metrics::{LatencyRecorder, TimeIntegral};

use super::distribution::Distribution;

/// A queue and the consumers that work it, validated.
#[derive(Clone, Debug)]
pub struct QueueSpec {
    pub name: String,
    /// The pool whose instances consume it: each worker processes one message at a time.
    pub consumers: usize,
    /// CPU demand of processing one message, on a reference core.
    pub job: Distribution,
    /// Producer ↔ broker round trip: what an enqueue costs the producing request.
    pub rtt: SimDuration,
    pub visibility_timeout: SimDuration,
    /// Receives after which a message goes to the dead-letter queue (`None`: never).
    pub max_receives: Option<u32>,
    /// Chance that one processing attempt fails (the message is not deleted).
    pub failure_probability: f64,
    /// Messages the queue holds at most (visible and in flight); more are rejected.
    pub max_depth: Option<u64>,
}

/// A message's slot.
#[derive(Clone, Copy, Debug)]
struct Message {
    enqueued_at: SimTime,
    receives: u32,
    /// The latest receipt (a fresh number per receive; set at enqueue too).
    receipt: u32,
    state: MessageState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MessageState {
    Visible,
    InFlight,
    Free,
}

/// What a consumer's end of processing did to its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Deleted: the message is done, `latency` after it was enqueued.
    Deleted { latency: SimDuration },
    /// The attempt failed: the message stays until its visibility timeout.
    Failed,
    /// The receipt was no longer the latest (the message was received again,
    /// or is gone): the work was wasted.
    Stale,
}

/// A queue's counts over an interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub enqueued: u64,
    /// Enqueues refused because the queue was at its maximum depth.
    pub rejected: u64,
    pub received: u64,
    pub deleted: u64,
    /// Processing attempts that failed.
    pub failed: u64,
    /// Visibility timeouts that made an undeleted message visible again.
    pub timed_out: u64,
    pub dead_lettered: u64,
    /// Processing finished on a receipt that was no longer the latest.
    pub stale: u64,
}

impl QueueCounts {
    pub fn add(&mut self, x: &QueueCounts) {
        self.enqueued += x.enqueued;
        self.rejected += x.rejected;
        self.received += x.received;
        self.deleted += x.deleted;
        self.failed += x.failed;
        self.timed_out += x.timed_out;
        self.dead_lettered += x.dead_lettered;
        self.stale += x.stale;
    }
}

/// A queue's state at run time.
pub struct MessageQueue {
    pub spec: QueueSpec,
    messages: Vec<Message>,
    free: Vec<u32>,
    /// Visible messages in the order they became visible: `(slot, receipt)`;
    /// entries whose message moved on are skipped when reached.
    visible: VecDeque<(u32, u32)>,
    /// Visibility deadlines of receives, in receive order (one timeout for
    /// the queue, so they are sorted): `(deadline, slot, receipt)`.
    deadlines: VecDeque<(SimTime, u32, u32)>,
    next_receipt: u32,
    /// Messages received and neither deleted nor visible again.
    in_flight: u64,
    /// Messages in the queue (visible and in flight), over time.
    pub depth: TimeIntegral,
    pub depth_max: u64,
    /// Messages being processed (stale receipts included), over time.
    pub processing: TimeIntegral,
    pub interval: QueueCounts,
    /// Enqueue to deletion, for messages enqueued after the warm-up.
    pub latency: LatencyRecorder,
    pub warmup: SimTime,
    /// Round robin over the consumer pool's instances.
    pub next_consumer: usize,
    /// Areas of `depth` and `processing` at the last interval's end.
    pub marks: (u128, u128),
}

impl MessageQueue {
    pub fn new(spec: QueueSpec, warmup: SimTime) -> MessageQueue {
        MessageQueue {
            spec,
            messages: Vec::new(),
            free: Vec::new(),
            visible: VecDeque::new(),
            deadlines: VecDeque::new(),
            next_receipt: 0,
            in_flight: 0,
            depth: TimeIntegral::default(),
            depth_max: 0,
            processing: TimeIntegral::default(),
            interval: QueueCounts::default(),
            latency: LatencyRecorder::default(),
            warmup,
            next_consumer: 0,
            marks: (0, 0),
        }
    }

    fn receipt(&mut self) -> u32 {
        self.next_receipt = self.next_receipt.wrapping_add(1);
        self.next_receipt
    }

    /// Messages in the queue, visible or in flight (SQS's
    /// `ApproximateNumberOfMessages` + `…NotVisible`).
    pub fn len(&self) -> u64 {
        self.depth.value()
    }

    /// Messages waiting to be received (SQS's
    /// `ApproximateNumberOfMessagesVisible`).
    pub fn visible(&self) -> u64 {
        self.len() - self.in_flight
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a message; false when the queue is full.
    pub fn enqueue(&mut self, now: SimTime) -> bool {
        if self.spec.max_depth.is_some_and(|max| self.len() >= max) {
            self.interval.rejected += 1;
            return false;
        }
        let receipt = self.receipt();
        let message = Message {
            enqueued_at: now,
            receives: 0,
            receipt,
            state: MessageState::Visible,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.messages[s as usize] = message;
                s
            }
            None => {
                self.messages.push(message);
                (self.messages.len() - 1) as u32
            }
        };
        self.visible.push_back((slot, receipt));
        self.interval.enqueued += 1;
        self.depth.add(now, 1);
        self.depth_max = self.depth_max.max(self.len());
        true
    }

    /// Whether a visible message may be waiting (entries can be stale).
    pub fn has_visible(&self) -> bool {
        !self.visible.is_empty()
    }

    /// Receives the oldest visible message: `(slot, receipt)`. Messages
    /// received `max_receives` times already go to the dead-letter queue.
    /// Returns whether a new visibility deadline heads the deadline queue
    /// (the caller schedules it) along with the message.
    pub fn receive(&mut self, now: SimTime) -> Option<((u32, u32), bool)> {
        while let Some((slot, receipt)) = self.visible.pop_front() {
            let m = self.messages[slot as usize];
            if m.state != MessageState::Visible || m.receipt != receipt {
                continue;
            }
            if self.spec.max_receives.is_some_and(|max| m.receives >= max) {
                self.interval.dead_lettered += 1;
                self.release(now, slot);
                continue;
            }
            let receipt = self.receipt();
            let m = &mut self.messages[slot as usize];
            m.receives += 1;
            m.receipt = receipt;
            m.state = MessageState::InFlight;
            self.in_flight += 1;
            self.interval.received += 1;
            self.processing.add(now, 1);
            let first = self.deadlines.is_empty();
            self.deadlines
                .push_back((now + self.spec.visibility_timeout, slot, receipt));
            return Some(((slot, receipt), first));
        }
        None
    }

    fn release(&mut self, now: SimTime, slot: u32) {
        if self.messages[slot as usize].state == MessageState::InFlight {
            self.in_flight -= 1;
        }
        self.messages[slot as usize].state = MessageState::Free;
        self.free.push(slot);
        self.depth.sub(now, 1);
    }

    /// A consumer finished processing `(slot, receipt)`; `ok` is whether the
    /// attempt succeeded.
    pub fn complete(&mut self, now: SimTime, slot: u32, receipt: u32, ok: bool) -> Completion {
        self.processing.sub(now, 1);
        let m = self.messages[slot as usize];
        if m.state == MessageState::Free || m.receipt != receipt {
            self.interval.stale += 1;
            return Completion::Stale;
        }
        if !ok {
            self.interval.failed += 1;
            return Completion::Failed;
        }
        // The latest receipt deletes the message, even if its timeout ran
        // out and it waits visible again.
        self.interval.deleted += 1;
        let latency = now - m.enqueued_at;
        if m.enqueued_at >= self.warmup {
            self.latency.record(latency.0);
        }
        self.release(now, slot);
        Completion::Deleted { latency }
    }

    /// A consumer was stopped while processing one of this queue's
    /// messages: it stops counting as processing, and the message waits for
    /// its visibility timeout.
    pub fn abandon(&mut self, now: SimTime) {
        self.processing.sub(now, 1);
    }

    /// Makes visible again the in-flight messages whose deadline has come.
    /// Returns the next deadline to wake up for, if any.
    pub fn expire(&mut self, now: SimTime) -> Option<SimTime> {
        while let Some(&(deadline, slot, receipt)) = self.deadlines.front() {
            let m = &mut self.messages[slot as usize];
            let live = m.state == MessageState::InFlight && m.receipt == receipt;
            if live && deadline > now {
                return Some(deadline);
            }
            self.deadlines.pop_front();
            if live {
                m.state = MessageState::Visible;
                self.in_flight -= 1;
                self.visible.push_back((slot, receipt));
                self.interval.timed_out += 1;
            }
        }
        None
    }

    /// How long the oldest message in the queue has waited (SQS's
    /// `ApproximateAgeOfOldestMessage`); a scan, for interval ends.
    pub fn oldest_age(&self, now: SimTime) -> SimDuration {
        self.messages
            .iter()
            .filter(|m| m.state != MessageState::Free)
            .map(|m| now - m.enqueued_at)
            .max()
            .unwrap_or(SimDuration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(max_receives: Option<u32>, max_depth: Option<u64>) -> MessageQueue {
        let spec = QueueSpec {
            name: "jobs".into(),
            consumers: 0,
            job: Distribution::constant(0.1),
            rtt: SimDuration::ZERO,
            visibility_timeout: SimDuration::from_secs(30),
            max_receives,
            failure_probability: 0.0,
            max_depth,
        };
        MessageQueue::new(spec, SimTime::ZERO)
    }

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn a_deleted_message_is_gone_with_its_latency() {
        let mut q = queue(None, None);
        assert!(q.enqueue(t(0)));
        let ((slot, receipt), first) = q.receive(t(2)).expect("a message");
        assert!(first);
        assert_eq!(q.len(), 1);
        assert_eq!(
            q.complete(t(5), slot, receipt, true),
            Completion::Deleted {
                latency: SimDuration::from_secs(5)
            }
        );
        assert!(q.is_empty());
        assert_eq!(q.expire(t(40)), None);
        assert!(q.receive(t(40)).is_none());
    }

    #[test]
    fn an_undeleted_message_comes_back_after_the_visibility_timeout() {
        let mut q = queue(None, None);
        q.enqueue(t(0));
        let ((slot, r1), _) = q.receive(t(0)).expect("a message");
        assert_eq!(q.complete(t(1), slot, r1, false), Completion::Failed);
        assert!(q.receive(t(10)).is_none(), "invisible until 30 s");
        assert_eq!(q.expire(t(29)), Some(t(30)));
        assert_eq!(q.expire(t(30)), None);
        let ((_, r2), _) = q.receive(t(30)).expect("visible again");
        assert_ne!(r1, r2);
        assert_eq!(q.interval.timed_out, 1);
    }

    #[test]
    fn a_slow_consumer_loses_its_receipt_and_the_work_is_done_twice() {
        let mut q = queue(None, None);
        q.enqueue(t(0));
        let ((slot, r1), _) = q.receive(t(0)).expect("a message");
        q.expire(t(30));
        let ((_, r2), _) = q.receive(t(31)).expect("received again");
        // The first consumer finishes at 40 s: too late, its receipt is stale.
        assert_eq!(q.complete(t(40), slot, r1, true), Completion::Stale);
        assert_eq!(q.len(), 1);
        assert!(matches!(q.complete(t(45), slot, r2, true), Completion::Deleted { .. }));
        assert_eq!((q.interval.stale, q.interval.deleted), (1, 1));
    }

    #[test]
    fn the_latest_receipt_deletes_a_message_that_timed_out_but_was_not_received_again() {
        let mut q = queue(None, None);
        q.enqueue(t(0));
        let ((slot, r1), _) = q.receive(t(0)).expect("a message");
        q.expire(t(30));
        assert!(matches!(q.complete(t(35), slot, r1, true), Completion::Deleted { .. }));
        assert!(q.receive(t(36)).is_none(), "its visible entry is skipped");
    }

    #[test]
    fn messages_past_max_receives_are_dead_lettered() {
        let mut q = queue(Some(2), None);
        q.enqueue(t(0));
        for k in 0..2 {
            let ((slot, r), _) = q.receive(t(30 * k)).expect("a receive");
            q.complete(t(30 * k + 1), slot, r, false);
            q.expire(t(30 * k + 30));
        }
        assert!(q.receive(t(60)).is_none());
        assert_eq!(q.interval.dead_lettered, 1);
        assert!(q.is_empty());
    }

    #[test]
    fn a_full_queue_rejects() {
        let mut q = queue(None, Some(2));
        assert!(q.enqueue(t(0)));
        assert!(q.enqueue(t(0)));
        assert!(!q.enqueue(t(0)));
        let ((slot, r), _) = q.receive(t(1)).expect("a message");
        assert!(!q.enqueue(t(1)), "in-flight messages count toward the depth");
        q.complete(t(2), slot, r, true);
        assert!(q.enqueue(t(2)));
        assert_eq!(q.interval.rejected, 2);
        assert_eq!(q.depth_max, 2);
    }

    #[test]
    fn visible_messages_leave_out_those_in_flight() {
        // SQS: ApproximateNumberOfMessagesVisible counts what can be received;
        // a received message is not visible until its timeout brings it back.
        let mut q = queue(None, None);
        for s in 0..3 {
            q.enqueue(t(s));
        }
        assert_eq!((q.len(), q.visible()), (3, 3));
        let ((slot, r1), _) = q.receive(t(3)).expect("a message");
        let ((slot2, r2), _) = q.receive(t(3)).expect("a message");
        assert_eq!((q.len(), q.visible()), (3, 1));
        q.complete(t(4), slot, r1, true);
        assert_eq!((q.len(), q.visible()), (2, 1));
        // The other attempt fails: in flight until its timeout, then visible.
        q.complete(t(4), slot2, r2, false);
        assert_eq!(q.visible(), 1);
        q.expire(t(33));
        assert_eq!((q.len(), q.visible()), (2, 2));
    }

    #[test]
    fn the_oldest_age_counts_in_flight_messages() {
        let mut q = queue(None, None);
        q.enqueue(t(0));
        q.enqueue(t(5));
        q.receive(t(6));
        assert_eq!(q.oldest_age(t(10)), SimDuration::from_secs(10));
    }
}
