//! Indexes over a balancer's two rotations (primaries, backups) that let
//! least connections, weighted least connections and smooth weighted round
//! robin choose in O(log n) instead of scanning every backend, with exactly
//! the scan's choice, tie-breaks included.
//!
//! - Least connections: a min tree over instance ids of each backend's
//!   `connections / weight`, compared exactly by cross-multiplication. The
//!   scan from the rotating start keeps the first backend (in id order from
//!   the start, wrapping) whose ratio is the minimum; the tree finds it by
//!   descending to the first leaf at or after the start holding the
//!   minimum, or the first from the beginning. Connection counts are kept
//!   here, updated where they change (the system reports each instance's
//!   held requests; the balancer its tries still connecting).
//! - Smooth weighted round robin: every pick adds each backend's weight to
//!   its current weight, so with `rounds` picks made a backend's current is
//!   `offset + rounds × weight`. Backends are grouped by weight (a pool's
//!   instances share one), each group ordered by offset, so the largest
//!   current (lowest id on ties) is the best of a few group heads; only the
//!   chosen backend's offset changes (it loses the total weight).
//!
//! Backends still in their slow start have a weight that grows with time,
//! not with events: they stay out of both structures, in a short list
//! scanned at each pick, until their ramp is over.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use crate::engine::{SimDuration, SimTime};

/// A backend's weight at `now`: its own, or under slow start (in
/// thousandths then) ramping linearly from 1 to its own until `ramp_until`.
#[inline]
pub(super) fn weight_at(weight: u32, ramp_until: SimTime, now: SimTime, slow_start: SimDuration) -> i64 {
    if slow_start.is_zero() {
        return i64::from(weight);
    }
    let full = i64::from(weight) * 1000;
    if ramp_until <= now {
        return full;
    }
    let left = (ramp_until - now).0 as i128;
    let ramped = i128::from(full) * (i128::from(slow_start.0) - left) / i128::from(slow_start.0);
    (ramped as i64).max(1)
}

/// `n / w`, compared exactly; `w == 0` is an absent backend, above all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ratio {
    n: u64,
    w: u64,
}

impl Ratio {
    const ABSENT: Ratio = Ratio { n: 1, w: 0 };

    #[inline]
    fn less(self, other: Ratio) -> bool {
        if self.w == other.w {
            // Least connections' weights are all 1: no products.
            return self.w != 0 && self.n < other.n;
        }
        u128::from(self.n) * u128::from(other.w) < u128::from(other.n) * u128::from(self.w)
    }

    #[inline]
    fn present(self) -> bool {
        self.w != 0
    }
}

/// A min tree over instance ids (a leaf per id, absent ones above all).
#[derive(Default)]
struct MinTree {
    size: usize,
    nodes: Vec<Ratio>,
}

impl MinTree {
    #[inline]
    fn get(&self, i: usize) -> Ratio {
        if i < self.size {
            self.nodes[self.size + i]
        } else {
            Ratio::ABSENT
        }
    }

    #[inline]
    fn set(&mut self, i: usize, v: Ratio) {
        if i >= self.size {
            if !v.present() {
                return;
            }
            self.grow(i + 1);
        }
        let mut at = self.size + i;
        self.nodes[at] = v;
        while at > 1 {
            at /= 2;
            let (l, r) = (self.nodes[2 * at], self.nodes[2 * at + 1]);
            let m = if r.less(l) { r } else { l };
            if self.nodes[at] == m {
                break;
            }
            self.nodes[at] = m;
        }
    }

    #[cold]
    fn grow(&mut self, len: usize) {
        let size = len.next_power_of_two().max(64);
        let mut nodes = vec![Ratio::ABSENT; 2 * size];
        if self.size > 0 {
            nodes[size..size + self.size].copy_from_slice(&self.nodes[self.size..]);
        }
        for at in (1..size).rev() {
            let (l, r) = (nodes[2 * at], nodes[2 * at + 1]);
            nodes[at] = if r.less(l) { r } else { l };
        }
        self.size = size;
        self.nodes = nodes;
    }

    #[inline]
    fn min(&self) -> Ratio {
        self.nodes.get(1).copied().unwrap_or(Ratio::ABSENT)
    }

    /// The first id at or after `from` whose value is at most `m`.
    fn first_at_most(&self, from: usize, m: Ratio) -> Option<usize> {
        if from >= self.size {
            return None;
        }
        // Up from the leaf, over the subtrees right of it in order, to
        // the first holding such a value...
        let mut at = self.size + from;
        while m.less(self.nodes[at]) {
            while at & 1 == 1 {
                at >>= 1;
                if at == 0 {
                    return None;
                }
            }
            at += 1;
        }
        // ...then down to its first such leaf.
        while at < self.size {
            at *= 2;
            if m.less(self.nodes[at]) {
                at += 1;
            }
        }
        Some(at - self.size)
    }
}

/// A backend in its slow start.
#[derive(Clone, Copy, Debug)]
struct Ramp {
    id: u32,
    weight: u32,
    ramp_until: SimTime,
    /// Smooth weighted round robin's current weight.
    current: i64,
}

/// Backends of one weight, as `(Reverse(offset), id)`.
type Group = BTreeSet<(Reverse<i128>, u32)>;

/// One rotation's indexes.
#[derive(Default)]
struct Rotation {
    /// Least connections: `(connections, weight)` of each backend at full weight.
    conns: MinTree,
    /// Smooth weighted round robin: picks made from this rotation; a
    /// grouped backend's current weight is `offset + rounds × weight`.
    rounds: i128,
    /// Backends at full weight by weight: `(weight, {(Reverse(offset), id)})`,
    /// so a group's first has its largest current, the lowest id on ties.
    groups: Vec<(i64, Group)>,
    /// Per instance id: its group's index and its offset, while grouped.
    offsets: Vec<Option<(usize, i128)>>,
    /// The grouped backends' weights, summed.
    total: i64,
    ramping: Vec<Ramp>,
}

/// What the index serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    LeastConnections { weighted: bool },
    SmoothWeighted,
}

/// The indexes of one balancer.
pub(super) struct Index {
    kind: Kind,
    slow_start: SimDuration,
    /// Per instance id: requests it holds as last reported, and those plus
    /// tries connecting to it (least connections' count).
    held: Vec<u32>,
    conns: Vec<u32>,
    rotations: [Rotation; 2],
}

impl Index {
    pub(super) fn new(kind: Kind, slow_start: SimDuration) -> Index {
        Index {
            kind,
            slow_start,
            held: Vec::new(),
            conns: Vec::new(),
            rotations: [Rotation::default(), Rotation::default()],
        }
    }

    /// Debug builds: the connections it counts are those of the instances.
    #[cfg(debug_assertions)]
    pub(super) fn check(&self, actual: impl Iterator<Item = (u32, u32)>) {
        for (id, conns) in actual {
            debug_assert_eq!(self.conns_of(id), conns, "connections of instance {id}");
        }
    }

    /// Whether it counts connections (the system then reports held requests).
    #[inline]
    pub(super) fn counts_connections(&self) -> bool {
        matches!(self.kind, Kind::LeastConnections { .. })
    }

    #[inline]
    fn conns_of(&self, id: u32) -> u32 {
        self.conns.get(id as usize).copied().unwrap_or(0)
    }

    fn slot(&mut self, id: u32) -> usize {
        let i = id as usize;
        if i >= self.conns.len() {
            self.conns.resize(i + 1, 0);
            self.held.resize(i + 1, 0);
        }
        i
    }

    /// An instance now holds `held` requests.
    #[inline]
    pub(super) fn set_held(&mut self, id: u32, held: u32) {
        let i = self.slot(id);
        self.conns[i] = self.conns[i] - self.held[i] + held;
        self.held[i] = held;
        self.refresh(i);
    }

    /// A try started connecting to an instance, or is done connecting.
    #[inline]
    pub(super) fn connecting(&mut self, id: u32, started: bool) {
        let i = self.slot(id);
        if started {
            self.conns[i] += 1;
        } else {
            self.conns[i] -= 1;
        }
        self.refresh(i);
    }

    #[inline]
    fn refresh(&mut self, i: usize) {
        let n = u64::from(self.conns[i]);
        for r in &mut self.rotations {
            let v = r.conns.get(i);
            if v.present() {
                r.conns.set(i, Ratio { n, w: v.w });
            }
        }
    }

    /// A weight that no longer changes with time (its ramp over).
    fn full(&self, weight: u32) -> i64 {
        match self.kind {
            Kind::LeastConnections { weighted: false } => 1,
            _ if self.slow_start.is_zero() => i64::from(weight),
            _ => i64::from(weight) * 1000,
        }
    }

    /// A backend entered rotation `list` (1: the backups) with its weight,
    /// ramping until `ramp_until` under slow start.
    pub(super) fn enter(&mut self, list: usize, id: u32, weight: u32, ramp_until: SimTime) {
        let ramps = !self.slow_start.is_zero()
            && ramp_until > SimTime::ZERO
            && self.kind != Kind::LeastConnections { weighted: false };
        if ramps {
            self.rotations[list].ramping.push(Ramp {
                id,
                weight,
                ramp_until,
                current: 0,
            });
        } else {
            self.settle_one(list, id, weight, 0);
        }
    }

    /// A backend at full weight joins its structure; `current`: its smooth
    /// weighted round robin current weight.
    fn settle_one(&mut self, list: usize, id: u32, weight: u32, current: i64) {
        let full = self.full(weight);
        let i = self.slot(id);
        let n = u64::from(self.conns[i]);
        let r = &mut self.rotations[list];
        match self.kind {
            Kind::LeastConnections { .. } => r.conns.set(i, Ratio { n, w: full as u64 }),
            Kind::SmoothWeighted => {
                let g = match r.groups.iter().position(|(w, _)| *w == full) {
                    Some(g) => g,
                    None => {
                        r.groups.push((full, BTreeSet::new()));
                        r.groups.len() - 1
                    }
                };
                let offset = i128::from(current) - r.rounds * i128::from(full);
                r.groups[g].1.insert((Reverse(offset), id));
                if i >= r.offsets.len() {
                    r.offsets.resize(i + 1, None);
                }
                r.offsets[i] = Some((g, offset));
                r.total += full;
            }
        }
    }

    /// A backend left rotation `list`.
    pub(super) fn leave(&mut self, list: usize, id: u32) {
        let i = id as usize;
        let r = &mut self.rotations[list];
        r.conns.set(i, Ratio::ABSENT);
        if let Some(slot) = r.offsets.get_mut(i)
            && let Some((g, offset)) = slot.take()
        {
            let (w, set) = &mut r.groups[g];
            set.remove(&(Reverse(offset), id));
            r.total -= *w;
        }
        if let Some(at) = r.ramping.iter().position(|x| x.id == id) {
            r.ramping.swap_remove(at);
        }
    }

    /// Backends whose ramp is over by `now` join their structure.
    #[inline]
    fn settle(&mut self, list: usize, now: SimTime) {
        if self.rotations[list].ramping.is_empty() {
            return;
        }
        let mut at = 0;
        while at < self.rotations[list].ramping.len() {
            let x = self.rotations[list].ramping[at];
            if x.ramp_until <= now {
                self.rotations[list].ramping.swap_remove(at);
                self.settle_one(list, x.id, x.weight, x.current);
            } else {
                at += 1;
            }
        }
    }

    /// Least (weighted) connections over rotation `list`: the first backend
    /// at or after id `from` (wrapping) with the least connections per weight.
    pub(super) fn least(&mut self, list: usize, now: SimTime, from: u32) -> u32 {
        self.settle(list, now);
        let slow_start = self.slow_start;
        let r = &self.rotations[list];
        let ratio = |x: &Ramp| Ratio {
            n: u64::from(self.conns_of(x.id)),
            w: weight_at(x.weight, x.ramp_until, now, slow_start) as u64,
        };
        let tree_min = r.conns.min();
        let mut m = tree_min;
        for x in &r.ramping {
            let v = ratio(x);
            if v.less(m) {
                m = v;
            }
        }
        let mut best = None;
        if tree_min.present() && !m.less(tree_min) {
            best = r
                .conns
                .first_at_most(from as usize, m)
                .or_else(|| r.conns.first_at_most(0, m))
                .map(|i| i as u32);
        }
        // Order from `from`, wrapping.
        let key = |id: u32| (u64::from(id < from) << 32) | u64::from(id);
        for x in &r.ramping {
            if !m.less(ratio(x)) && best.is_none_or(|b| key(x.id) < key(b)) {
                best = Some(x.id);
            }
        }
        best.expect("a rotation chosen from is not empty")
    }

    /// Smooth weighted round robin over rotation `list`: every weight is
    /// added to its current, the largest current (lowest id on ties) is
    /// chosen and loses the total.
    pub(super) fn smooth(&mut self, list: usize, now: SimTime) -> u32 {
        self.settle(list, now);
        let slow_start = self.slow_start;
        let r = &mut self.rotations[list];
        r.rounds += 1;
        let mut total = r.total;
        // (current, id, where: a ramping index or a group's)
        let mut best: Option<(i128, u32, Result<usize, usize>)> = None;
        let better = |best: &Option<(i128, u32, Result<usize, usize>)>, v: i128, id: u32| {
            best.is_none_or(|(bv, bid, _)| v > bv || (v == bv && id < bid))
        };
        for (k, x) in r.ramping.iter_mut().enumerate() {
            let w = weight_at(x.weight, x.ramp_until, now, slow_start);
            total += w;
            x.current += w;
            if better(&best, i128::from(x.current), x.id) {
                best = Some((i128::from(x.current), x.id, Ok(k)));
            }
        }
        for (g, (w, set)) in r.groups.iter().enumerate() {
            if let Some(&(Reverse(offset), id)) = set.first() {
                let v = offset + r.rounds * i128::from(*w);
                if better(&best, v, id) {
                    best = Some((v, id, Err(g)));
                }
            }
        }
        let (_, id, at) = best.expect("a rotation chosen from is not empty");
        match at {
            Ok(k) => r.ramping[k].current -= total,
            Err(g) => {
                let set = &mut r.groups[g].1;
                let (Reverse(offset), _) = set.pop_first().expect("its head");
                let offset = offset - i128::from(total);
                set.insert((Reverse(offset), id));
                r.offsets[id as usize] = Some((g, offset));
            }
        }
        id
    }
}
