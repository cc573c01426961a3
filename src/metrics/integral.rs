//! Time-weighted accumulation of a piecewise-constant quantity.

use crate::engine::SimTime;

/// Integrates a step function over simulated time: busy cores, queue
/// length, requests in the system. Exact (integer nanosecond areas), so
/// utilization read from it is exactly busy core-time over capacity.
#[derive(Clone, Copy, Debug, Default)]
pub struct TimeIntegral {
    value: u64,
    since: SimTime,
    /// Σ value × ns up to `since`.
    area: u128,
}

impl TimeIntegral {
    pub fn value(&self) -> u64 {
        self.value
    }

    /// Sets the value from `now` on.
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.area += u128::from(self.value) * u128::from(now.0 - self.since.0);
        self.since = now;
        self.value = value;
    }

    #[inline]
    pub fn add(&mut self, now: SimTime, delta: u64) {
        self.set(now, self.value + delta);
    }

    #[inline]
    pub fn sub(&mut self, now: SimTime, delta: u64) {
        self.set(now, self.value - delta);
    }

    /// The area (value × ns) from time 0 to `now`.
    pub fn area_until(&self, now: SimTime) -> u128 {
        self.area + u128::from(self.value) * u128::from(now.0.saturating_sub(self.since.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_steps_exactly() {
        let mut i = TimeIntegral::default();
        i.set(SimTime(10), 2); // 0 on [0,10)
        i.add(SimTime(20), 1); // 2 on [10,20)
        i.sub(SimTime(25), 3); // 3 on [20,25)
        assert_eq!(i.area_until(SimTime(40)), 2 * 10 + 3 * 5);
        assert_eq!(i.value(), 0);
    }
}
