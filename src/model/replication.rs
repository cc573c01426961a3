//! A read replica applying the primary's write stream, so replication lag
//! emerges from write load instead of being assumed.
//!
//! Each write committed on the primary reaches the replica after a network
//! delay and waits in the replica's apply queue; `workers` appliers (1 by
//! default: MySQL's and PostgreSQL's single replay thread) take writes in
//! commit order, each for its apply time. When writes arrive faster than
//! they are applied, the queue grows and so does the lag; when load falls,
//! it drains.
//!
//! The component is pure bookkeeping over times (it schedules nothing):
//! [`Replica::commit`] returns when the write becomes visible there, and the
//! caller asks about visibility and lag at any later time.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use std::cmp::Reverse;

use crate::engine::{SimDuration, SimTime};

pub struct Replica {
    network_delay: SimDuration,
    /// When each applier is next free (min-heap).
    appliers: BinaryHeap<Reverse<SimTime>>,
    /// `(commit time, applied time)` of writes not yet known to be applied,
    /// in commit order (applied times are non-decreasing with one applier).
    in_flight: VecDeque<(SimTime, SimTime)>,
    /// Per key: the newest version committed on the primary and when it
    /// becomes visible here, and the version visible before it.
    keys: BTreeMap<u64, KeyState>,
}

#[derive(Clone, Copy, Debug)]
struct KeyState {
    latest: u64,
    latest_visible_at: SimTime,
    previous: u64,
}

impl Replica {
    pub fn new(network_delay: SimDuration, workers: u32) -> Replica {
        assert!(workers > 0, "validated: at least one applier");
        Replica {
            network_delay,
            appliers: (0..workers).map(|_| Reverse(SimTime::ZERO)).collect(),
            in_flight: VecDeque::new(),
            keys: BTreeMap::new(),
        }
    }

    /// A write of `key` at `version` committed on the primary at `now`,
    /// taking `apply` to replay here. Returns when it becomes visible.
    /// Commits must come in time order.
    pub fn commit(&mut self, now: SimTime, key: u64, version: u64, apply: SimDuration) -> SimTime {
        let arrives = now + self.network_delay;
        let Reverse(free) = self.appliers.pop().expect("at least one applier");
        let applied = arrives.max(free) + apply;
        self.appliers.push(Reverse(applied));
        self.in_flight.push_back((now, applied));
        let entry = self.keys.entry(key).or_insert(KeyState {
            latest: 0,
            latest_visible_at: SimTime::ZERO,
            previous: 0,
        });
        // The version visible before this write is the newest one already applied.
        if entry.latest_visible_at <= now {
            entry.previous = entry.latest;
        }
        entry.latest = version;
        entry.latest_visible_at = applied;
        applied
    }

    /// The version of `key` a read here at `now` sees (0: never written),
    /// and whether the primary holds a newer one (a stale read). With
    /// several writes of one key in flight, the version reported is the one
    /// visible before the newest (the stale flag is exact either way).
    pub fn read(&self, now: SimTime, key: u64) -> (u64, bool) {
        match self.keys.get(&key) {
            None => (0, false),
            Some(k) if k.latest_visible_at <= now => (k.latest, false),
            Some(k) => (k.previous, true),
        }
    }

    /// Replication lag at `now`: how old the oldest write committed on the
    /// primary but not yet visible here is (zero when caught up).
    pub fn lag(&mut self, now: SimTime) -> SimDuration {
        while let Some(&(commit, applied)) = self.in_flight.front() {
            if applied > now {
                // (A write committed after `now` is not lag yet.)
                return if commit <= now { now - commit } else { SimDuration::ZERO };
            }
            self.in_flight.pop_front();
        }
        SimDuration::ZERO
    }

    /// The replica is down until `until`: what it had not started applying
    /// waits for it (writes already under way keep their times).
    pub fn pause_until(&mut self, until: SimTime) {
        self.appliers = self.appliers.drain().map(|Reverse(t)| Reverse(t.max(until))).collect();
    }

    /// Keys with a write not yet visible here at `now`, and the version
    /// visible here: what promoting this replica would lose.
    pub fn unapplied(&self, now: SimTime) -> Vec<(u64, u64)> {
        self.keys
            .iter()
            .filter(|(_, k)| k.latest_visible_at > now)
            .map(|(&key, k)| (key, k.previous))
            .collect()
    }

    /// Writes committed but not yet visible here at `now`.
    pub fn backlog(&mut self, now: SimTime) -> usize {
        self.lag(now);
        self.in_flight
            .iter()
            .filter(|(commit, applied)| *commit <= now && *applied > now)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> SimDuration {
        SimDuration::from_millis(x)
    }

    #[test]
    fn lag_builds_under_a_burst_and_drains() {
        // 1 ms network, 2 ms per write, one applier; 5 writes in the same instant.
        let mut r = Replica::new(ms(1), 1);
        let t0 = SimTime::ZERO + ms(100);
        let visible: Vec<SimTime> = (1..=5).map(|v| r.commit(t0, v, v, ms(2))).collect();
        assert_eq!(visible, (1..=5).map(|i| t0 + ms(1 + 2 * i)).collect::<Vec<_>>());
        assert_eq!(r.lag(t0 + ms(4)), ms(4));
        assert_eq!(r.backlog(t0 + ms(4)), 4);
        assert_eq!(r.lag(t0 + ms(11)), SimDuration::ZERO);
        assert_eq!(r.backlog(t0 + ms(11)), 0);
    }

    #[test]
    fn a_read_before_the_write_is_applied_is_stale() {
        let mut r = Replica::new(ms(1), 1);
        let t = SimTime::ZERO;
        r.commit(t, 42, 1, ms(1));
        assert_eq!(r.read(t + ms(2), 42), (1, false));
        r.commit(t + ms(10), 42, 2, ms(1));
        assert_eq!(r.read(t + ms(11), 42), (1, true));
        assert_eq!(r.read(t + ms(12), 42), (2, false));
        assert_eq!(r.read(t, 7), (0, false));
    }

    #[test]
    fn a_paused_replica_applies_nothing_until_it_is_back() {
        // 1 ms network, 10 ms per write; down until 100 ms.
        let mut r = Replica::new(ms(1), 1);
        let t = SimTime::ZERO;
        r.pause_until(t + ms(100));
        // Arrives at 1 ms, waits for the replica, applied 10 ms after it is back.
        assert_eq!(r.commit(t, 1, 1, ms(10)), t + ms(110));
        assert_eq!(r.lag(t + ms(50)), ms(50));
        assert_eq!(r.read(t + ms(109), 1), (0, true));
        assert_eq!(r.read(t + ms(110), 1), (1, false));
        // A write already under way keeps its time; the next waits for the pause.
        let mut r = Replica::new(SimDuration::ZERO, 1);
        assert_eq!(r.commit(t, 1, 1, ms(10)), t + ms(10));
        r.pause_until(t + ms(5));
        assert_eq!(r.commit(t, 2, 1, ms(10)), t + ms(20));
        r.pause_until(t + ms(50));
        assert_eq!(r.commit(t + ms(1), 3, 1, ms(10)), t + ms(60));
    }

    #[test]
    fn promotion_loses_exactly_the_writes_not_yet_visible() {
        // No network delay, 10 ms per write, one applier.
        let mut r = Replica::new(SimDuration::ZERO, 1);
        let t = SimTime::ZERO;
        r.commit(t, 7, 1, ms(10)); // visible at 10 ms
        r.commit(t, 8, 1, ms(10)); // 20 ms
        r.commit(t + ms(12), 7, 2, ms(10)); // 30 ms; version 1 of key 7 visible before it
        // (Asked, like every query, no earlier than the last commit.)
        assert_eq!(r.unapplied(t + ms(12)), vec![(7, 1), (8, 0)]);
        // At the instant a write becomes visible it is no longer lost.
        assert_eq!(r.unapplied(t + ms(20)), vec![(7, 1)]);
        assert_eq!(r.unapplied(t + ms(29)), vec![(7, 1)]);
        assert_eq!(r.unapplied(t + ms(30)), vec![]);
    }

    #[test]
    fn parallel_appliers_share_the_stream() {
        let mut r = Replica::new(SimDuration::ZERO, 2);
        let t = SimTime::ZERO;
        let v: Vec<SimTime> = (0..4).map(|k| r.commit(t, k, 1, ms(10))).collect();
        assert_eq!(v, vec![t + ms(10), t + ms(10), t + ms(20), t + ms(20)]);
        // Two appliers finish out of commit order: a write visible at the
        // very instant asked about is not backlog, wherever it sits.
        let mut r = Replica::new(SimDuration::ZERO, 2);
        assert_eq!(r.commit(t, 1, 1, ms(20)), t + ms(20));
        assert_eq!(r.commit(t, 2, 1, ms(10)), t + ms(10));
        assert_eq!(r.backlog(t + ms(10)), 1);
        assert_eq!(r.lag(t + ms(10)), ms(10));
    }
}
