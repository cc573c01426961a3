//! Requests in flight, stored in a slab so the hot loop never allocates.

use crate::engine::{SimDuration, SimTime};

/// Index of a request slot. Slots are reused; pair with [`Request::generation`]
/// to tell a live request from a stale reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestId(pub u32);

/// Where a request stands from the client's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting for a worker in an instance's accept queue.
    Queued,
    /// Holding a worker (waiting for a core or computing).
    Working,
    /// The client gave up; the server may still be working on it.
    Abandoned,
    /// The slot holds no request.
    Free,
}

/// Where a request holding a worker is on its way through the data tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a core or computing.
    Cpu,
    /// Between steps: its next step starts when its pending delay has passed.
    Moving,
    /// On its way to a server (a network round trip), which it joins on arrival.
    Travelling { server: u16 },
    /// Waiting for a connection of its instance's pool to a server.
    ConnectionWait { server: u16 },
    /// Holding one, waiting for a connection of the server's pooler.
    PoolerWait { server: u16 },
    /// Queued at or served by a server.
    AtServer,
    /// Waiting for another request's fill of the key it missed (tier).
    Coalesced { tier: u16 },
}

#[derive(Clone, Copy, Debug)]
pub struct Request {
    pub arrival: SimTime,
    /// When it reached the load balancer: its arrival, or later by the
    /// edge's time and round trip when it missed a CDN.
    pub reached: SimTime,
    /// When it first got a core (valid once computing).
    pub service_start: SimTime,
    /// CPU demand on a reference core, in seconds.
    pub demand_s: f64,
    pub instance: u32,
    pub client: u32,
    pub key: u64,
    pub class: u16,
    pub pool: u16,
    pub state: RequestState,
    pub generation: u32,
    /// Data-tier progress: the step of its class's path, what it waits on,
    /// when its current call began, the delay before its next step (local
    /// lookups, round trips), the version of the key it read, and the cache
    /// tier whose fill it leads for coalesced misses (`tier + 1`, 0: none).
    pub step: u8,
    pub phase: Phase,
    pub mark: SimTime,
    pub delay: SimDuration,
    pub version: u64,
    pub leading: u16,
    /// A job (a message a consumer processes): the message's slot in its
    /// queue and the receipt it holds; `NO_MESSAGE` for a client's request.
    pub message: u32,
    pub receipt: u32,
    /// Tries its load balancer has made before the current one (retries so far).
    pub tries: u8,
    /// Its load balancer: the traffic's target, or its region's.
    pub lb: u8,
}

/// [`Request::message`] of a client's request.
pub const NO_MESSAGE: u32 = u32::MAX;

impl Request {
    /// A request as it arrives.
    pub fn new(arrival: SimTime, demand_s: f64, client: u32, key: u64, class: u16) -> Request {
        Request {
            arrival,
            reached: arrival,
            service_start: arrival,
            demand_s,
            instance: 0,
            client,
            key,
            class,
            pool: 0,
            state: RequestState::Working,
            generation: 0,
            step: 0,
            phase: Phase::Cpu,
            mark: arrival,
            delay: SimDuration::ZERO,
            version: 0,
            leading: 0,
            message: NO_MESSAGE,
            receipt: 0,
            tries: 0,
            lb: 0,
        }
    }
}

/// A slab of requests with a free list.
#[derive(Default)]
pub struct Requests {
    slots: Vec<Request>,
    free: Vec<u32>,
    live: usize,
}

impl Requests {
    /// Stores `request` and returns its id; its generation is set here.
    #[inline]
    pub fn insert(&mut self, mut request: Request) -> RequestId {
        self.live += 1;
        match self.free.pop() {
            Some(i) => {
                let slot = &mut self.slots[i as usize];
                request.generation = slot.generation;
                *slot = request;
                RequestId(i)
            }
            None => {
                request.generation = 0;
                self.slots.push(request);
                RequestId((self.slots.len() - 1) as u32)
            }
        }
    }

    #[inline]
    pub fn get(&self, id: RequestId) -> &Request {
        &self.slots[id.0 as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, id: RequestId) -> &mut Request {
        &mut self.slots[id.0 as usize]
    }

    /// Frees a slot and bumps its generation, so every `(id, generation)`
    /// reference to the removed request is stale from now on.
    #[inline]
    pub fn remove(&mut self, id: RequestId) {
        let slot = &mut self.slots[id.0 as usize];
        slot.generation = slot.generation.wrapping_add(1);
        slot.state = RequestState::Free;
        self.live -= 1;
        self.free.push(id.0);
    }

    /// Whether `(id, generation)` still names a stored request.
    #[inline]
    pub fn is_current(&self, id: RequestId, generation: u32) -> bool {
        self.slots[id.0 as usize].generation == generation
    }

    /// Whether `(id, generation)`'s client no longer waits on it: it is
    /// gone or abandoned. Once true, true for good.
    #[inline]
    pub fn settled(&self, id: RequestId, generation: u32) -> bool {
        !self.is_current(id, generation) || self.get(id).state == RequestState::Abandoned
    }

    /// Whether `(id, generation)` is still on its instance, queued or
    /// working. Once false, false for good (a retry is a new request).
    #[inline]
    pub fn on_instance(&self, id: RequestId, generation: u32) -> bool {
        self.is_current(id, generation) && matches!(self.get(id).state, RequestState::Queued | RequestState::Working)
    }

    /// Slots in use.
    pub fn live(&self) -> usize {
        self.live
    }

    /// The requests an instance holds (queued or working), in slot order.
    /// A scan of the slab: only for rare events such as an instance stopping.
    pub fn held_by(&self, instance: u32) -> Vec<RequestId> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].instance == instance && self.slots[i].state != RequestState::Free)
            .map(|i| RequestId(i as u32))
            .collect()
    }
}

/// Requests' deadlines in the order they were set, for deadlines that all
/// last as long (a pool's client timeout, a balancer's try timeout), so the
/// earliest is always at the front and one scheduled event at a time
/// serves the whole queue. Most requests finish long before their deadline:
/// the queue is compacted (entries of settled requests dropped, the order
/// kept) each time it has doubled since it last was, so it holds about as
/// many entries as requests still in flight, not every request of the last
/// timeout. The front is never dropped here: the event for it is already
/// scheduled, and whoever handles that event pops settled entries as before,
/// so the events and their times are the same as with no compaction.
#[derive(Debug, Default)]
pub struct Deadlines {
    queue: std::collections::VecDeque<(SimTime, RequestId, u32)>,
    /// The length at which the next push compacts.
    compact_at: usize,
}

impl Deadlines {
    /// The smallest queue worth compacting.
    const COMPACT_MIN: usize = 1024;

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn front(&self) -> Option<&(SimTime, RequestId, u32)> {
        self.queue.front()
    }

    pub fn pop_front(&mut self) -> Option<(SimTime, RequestId, u32)> {
        self.queue.pop_front()
    }

    /// Adds a deadline no earlier than any already queued. `settled(id,
    /// generation)` says whether a queued entry's request no longer needs
    /// its deadline; it must stay true once true.
    pub fn push_back(&mut self, entry: (SimTime, RequestId, u32), settled: impl Fn(RequestId, u32) -> bool) {
        if self.queue.len() >= self.compact_at.max(Self::COMPACT_MIN) {
            let mut index = 0;
            self.queue.retain(|&(_, id, generation)| {
                index += 1;
                index == 1 || !settled(id, generation)
            });
            self.compact_at = 2 * self.queue.len();
        }
        self.queue.push_back(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request::new(SimTime::ZERO, 1.0, 0, 0, 0)
    }

    #[test]
    fn reused_slots_get_a_new_generation() {
        let mut r = Requests::default();
        let a = r.insert(req());
        let gen_a = r.get(a).generation;
        r.remove(a);
        let b = r.insert(req());
        assert_eq!(a, b);
        assert_ne!(r.get(b).generation, gen_a);
        assert!(!r.is_current(a, gen_a));
        assert_eq!(r.live(), 1);
    }

    /// A long timeout at a high rate: the queue stays near what is in
    /// flight, keeps its front and every unsettled entry, in order.
    #[test]
    fn deadlines_hold_about_what_is_in_flight() {
        let mut d = Deadlines::default();
        let at = |i: u32| SimTime(u64::from(i));
        // Request 0 is settled but at the front; one in a hundred others
        // never finishes, the rest have finished by the next push.
        let settled = |id: RequestId, _: u32| id.0 % 100 != 7;
        for i in 0..1_000_000 {
            d.push_back((at(i), RequestId(i), 0), settled);
        }
        let unsettled = 1_000_000 / 100;
        assert!(d.len() <= 2 * unsettled + Deadlines::COMPACT_MIN, "{}", d.len());
        assert_eq!(d.front(), Some(&(at(0), RequestId(0), 0)));
        let (mut last, mut kept) = (None, 0);
        while let Some((t, id, _)) = d.pop_front() {
            assert!(last < Some(t));
            kept += usize::from(!settled(id, 0));
            last = Some(t);
        }
        assert_eq!(kept, unsettled);
    }
}
