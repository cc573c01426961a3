//! Billing: what an instance has cost up to a point in time.

use crate::engine::{SimDuration, SimTime};

/// How instance time is billed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Billing {
    /// Per second, with a minimum charge per instance (AWS Linux: 60 s).
    PerSecond { minimum: SimDuration },
    /// Every started hour is billed in full.
    PerHour,
}

/// Hours in a billing month, as AWS prices a month (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

impl Billing {
    /// The billed seconds of an instance launched at `launched` at time
    /// `now`, if it stopped at `stopped` (or is still running).
    ///
    /// A running instance is charged the minimum from the moment it starts,
    /// so cumulative cost never jumps backwards or lands late.
    pub fn billed_seconds(self, launched: SimTime, stopped: Option<SimTime>, now: SimTime) -> f64 {
        let until = match stopped {
            Some(s) if s < now => s,
            _ => now,
        };
        let lived = until.saturating_sub(launched);
        match self {
            Billing::PerSecond { minimum } => {
                // Billing granularity is one second, rounded up.
                let secs = lived.0.div_ceil(1_000_000_000);
                secs.max(minimum.0.div_ceil(1_000_000_000)) as f64
            }
            Billing::PerHour => {
                let hours = lived.0.div_ceil(3_600_000_000_000).max(1);
                (hours * 3600) as f64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_second_has_a_minimum_and_rounds_up() {
        let b = Billing::PerSecond {
            minimum: SimDuration::from_secs(60),
        };
        assert_eq!(b.billed_seconds(SimTime::ZERO, None, SimTime::from_secs(10)), 60.0);
        assert_eq!(b.billed_seconds(SimTime::ZERO, None, SimTime(90_500_000_000)), 91.0);
        let stopped = Some(SimTime::from_secs(100));
        assert_eq!(
            b.billed_seconds(SimTime::ZERO, stopped, SimTime::from_secs(1000)),
            100.0
        );
    }

    #[test]
    fn per_hour_bills_started_hours() {
        let b = Billing::PerHour;
        assert_eq!(b.billed_seconds(SimTime::ZERO, None, SimTime::from_secs(1)), 3600.0);
        assert_eq!(b.billed_seconds(SimTime::ZERO, None, SimTime::from_secs(3601)), 7200.0);
    }
}
