//! Service-level objectives and the time a run spends outside them.

use crate::engine::SimDuration;

use super::latency::LatencyRecorder;
use super::recorder::Counters;

/// An SLO on one interval: a latency percentile under a threshold and an
/// error rate under a ceiling (either may be absent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SloSpec {
    /// `(quantile in (0, 1), threshold)`.
    pub latency: Option<(f64, SimDuration)>,
    pub error_rate_max: Option<f64>,
}

impl SloSpec {
    /// Whether an interval with these responses and outcomes breaks the SLO.
    /// An interval with no arrivals and no responses keeps it.
    pub fn violated(&self, latency: &LatencyRecorder, counters: &Counters) -> bool {
        let slow = self
            .latency
            .is_some_and(|(q, threshold)| latency.count() > 0 && latency.quantile_ms(q) > threshold.as_millis_f64());
        let failing = self
            .error_rate_max
            .is_some_and(|max| counters.arrived > 0 && counters.errors() as f64 / counters.arrived as f64 > max);
        slow || failing
    }
}

/// SLO accounting over a run (intervals after the warm-up).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SloSummary {
    pub latency_percentile: Option<f64>,
    pub latency_threshold_ms: Option<f64>,
    pub error_rate_max: Option<f64>,
    pub intervals: u64,
    pub intervals_violated: u64,
    /// Total length of the violating intervals, in minutes.
    pub minutes_lost: f64,
    /// Share of the measured time inside the SLO.
    pub compliance: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_and_errors_each_break_it() {
        let slo = SloSpec {
            latency: Some((0.99, SimDuration::from_millis(100))),
            error_rate_max: Some(0.01),
        };
        let mut fast = LatencyRecorder::default();
        for _ in 0..100 {
            fast.record(50_000_000);
        }
        let ok = Counters {
            arrived: 100,
            completed: 100,
            ..Counters::default()
        };
        assert!(!slo.violated(&fast, &ok));
        let errors = Counters {
            arrived: 100,
            completed: 98,
            timed_out: 2,
            ..Counters::default()
        };
        assert!(slo.violated(&fast, &errors));
        let mut slow = fast.clone();
        for _ in 0..5 {
            slow.record(500_000_000);
        }
        assert!(slo.violated(&slow, &ok));
        assert!(!slo.violated(&LatencyRecorder::default(), &Counters::default()));
    }
}
