//! Scheduled scaling: changes to a pool's bounds or size at set times,
//! once or every period (AWS scheduled actions; a CronJob patching an HPA).

use crate::engine::{SimDuration, SimTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduledAction {
    pub at: SimTime,
    /// Repeat every this long (e.g. daily).
    pub every: Option<SimDuration>,
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub desired: Option<i32>,
}

impl ScheduledAction {
    /// The size the pool should have after the action, from `current`:
    /// the action's `desired` if it has one, else `current` moved inside the
    /// new bounds when `clamp` (AWS adjusts the desired capacity at once; an
    /// HPA waits for its next sync).
    pub fn size_after(&self, current: i32, min: i32, max: i32, clamp: bool) -> i32 {
        match self.desired {
            Some(d) => d.clamp(min, max),
            None if clamp => current.clamp(min, max),
            None => current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desired_wins_then_bounds() {
        let a = ScheduledAction {
            at: SimTime::ZERO,
            every: None,
            min: Some(5),
            max: None,
            desired: None,
        };
        assert_eq!(a.size_after(3, 5, 20, true), 5);
        assert_eq!(a.size_after(3, 5, 20, false), 3);
        let b = ScheduledAction { desired: Some(30), ..a };
        assert_eq!(b.size_after(3, 5, 20, false), 20);
    }
}
