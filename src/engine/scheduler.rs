//! The event list: a binary min-heap of events keyed by `(time, insertion
//! sequence)`, each event stored beside its key.

use super::time::SimTime;

/// Pending events of one run. Events at equal times pop in the order they
/// were scheduled, so a run is a pure function of its inputs.
///
/// Each pending event is one entry of the heap: a `u128` key — its time in
/// the high 64 bits, its sequence number in the low 64 — and the event
/// itself. Ordering the keys as integers orders the events by time, then
/// by scheduling order; keys are unique. The event travels with its key
/// (a model's events are small plain values), so scheduling and popping
/// touch nothing but the heap.
///
/// Popping leaves the root vacant rather than refilling it at once: a
/// handler almost always schedules a follow-up, which then takes the root
/// and sinks once, instead of the last leaf sinking from the root and the
/// follow-up rising from a new leaf. The heap holds the same keys either
/// way, and keys are unique, so the order events pop in is the same.
///
/// Cancellation is not supported on purpose: components that may need to
/// revoke an event carry a generation number in it and ignore stale ones.
pub struct Scheduler<E> {
    /// A min-heap by key; `heap[0]` is stale while `vacant`.
    heap: Vec<Entry<E>>,
    vacant: bool,
    /// 64 bits of sequence never run out (at 10⁹ events a second, they
    /// would last five centuries).
    next_seq: u64,
    now: SimTime,
}

#[derive(Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

const TIME_SHIFT: u32 = 64;

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Scheduler<E> {
    pub fn new() -> Self {
        Scheduler {
            heap: Vec::with_capacity(1024),
            vacant: false,
            next_seq: 0,
            now: SimTime::ZERO,
        }
    }

    /// The time of the event being handled (or of the last one popped).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `time`. Scheduling in the past is a model bug.
    #[inline]
    pub fn schedule(&mut self, time: SimTime, event: E) {
        assert!(
            time >= self.now,
            "event scheduled in the past: {time} < now {}",
            self.now
        );
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            key: (u128::from(time.0) << TIME_SHIFT) | u128::from(seq),
            event,
        };
        if self.vacant {
            self.vacant = false;
            self.sink(0, entry);
        } else {
            self.heap.push(entry);
            self.rise(self.heap.len() - 1, entry);
        }
    }

    /// The time of the next event, if any.
    #[inline]
    pub fn next_time(&mut self) -> Option<SimTime> {
        self.fill_root();
        self.heap.first().map(|entry| SimTime((entry.key >> TIME_SHIFT) as u64))
    }

    /// Removes the next event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.fill_root();
        let &Entry { key, event } = self.heap.first()?;
        self.vacant = true;
        let time = SimTime((key >> TIME_SHIFT) as u64);
        self.now = time;
        Some((time, event))
    }

    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.vacant)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refills a vacant root with the last leaf.
    #[inline]
    fn fill_root(&mut self) {
        if self.vacant {
            self.refill_root();
        }
    }

    /// Kept out of line: most vacancies are filled by `schedule`, and the
    /// check above is inlined where the run loop calls it.
    #[inline(never)]
    fn refill_root(&mut self) {
        self.vacant = false;
        let last = self.heap.pop().expect("a vacant root is in the heap");
        if !self.heap.is_empty() {
            self.sink(0, last);
        }
    }

    /// Puts `entry` at `pos` and moves it down below every smaller key.
    #[inline]
    fn sink(&mut self, mut pos: usize, entry: Entry<E>) {
        let heap = &mut self.heap[..];
        let n = heap.len();
        loop {
            let left = 2 * pos + 1;
            if left >= n {
                break;
            }
            // The smaller child, chosen without a branch: which one it is
            // is a coin toss the branch predictor would lose.
            let child = if left + 1 < n {
                left + usize::from(heap[left + 1].key < heap[left].key)
            } else {
                left
            };
            if entry.key <= heap[child].key {
                break;
            }
            heap[pos] = heap[child];
            pos = child;
        }
        heap[pos] = entry;
    }

    /// Puts `entry` at `pos` and moves it up above every larger key.
    #[inline]
    fn rise(&mut self, mut pos: usize, entry: Entry<E>) {
        let heap = &mut self.heap[..];
        while pos > 0 {
            let parent = (pos - 1) / 2;
            if heap[parent].key <= entry.key {
                break;
            }
            heap[pos] = heap[parent];
            pos = parent;
        }
        heap[pos] = entry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut s = Scheduler::new();
        s.schedule(SimTime(20), 'c');
        s.schedule(SimTime(10), 'a');
        s.schedule(SimTime(20), 'd');
        s.schedule(SimTime(10), 'b');
        let order: Vec<char> = std::iter::from_fn(|| s.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
        assert_eq!(s.now(), SimTime(20));
    }

    #[test]
    fn pops_what_was_scheduled_round_after_round() {
        let mut s = Scheduler::new();
        for round in 0..100u64 {
            s.schedule(SimTime(round), round);
            s.schedule(SimTime(round), round + 1000);
            assert_eq!(s.pop(), Some((SimTime(round), round)));
            assert_eq!(s.pop(), Some((SimTime(round), round + 1000)));
        }
        assert!(s.heap.len() <= 2);
        assert!(s.is_empty());
    }

    /// Random interleavings of schedules and pops, many at equal times,
    /// against a plain heap of `(time, sequence)`.
    #[test]
    fn pops_what_a_plain_heap_of_time_and_sequence_pops() {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut rng = crate::engine::RngStream::new(crate::engine::StreamId::new(7, 0, "scheduler"));
        let mut s = Scheduler::new();
        let mut reference = BinaryHeap::new();
        let mut seq = 0u64;
        for _ in 0..200_000 {
            if rng.below(5) < 3 || reference.is_empty() {
                // A small range of delays makes equal times common.
                let time = SimTime(s.now().0 + rng.below(8));
                s.schedule(time, seq);
                reference.push(Reverse((time, seq)));
                seq += 1;
            } else {
                let Reverse((time, event)) = reference.pop().expect("not empty");
                assert_eq!(s.next_time(), Some(time));
                assert_eq!(s.pop(), Some((time, event)));
            }
            assert_eq!(s.len(), reference.len());
        }
    }

    #[test]
    #[should_panic(expected = "scheduled in the past")]
    fn refuses_the_past() {
        let mut s = Scheduler::new();
        s.schedule(SimTime(10), ());
        s.pop();
        s.schedule(SimTime(5), ());
    }
}
