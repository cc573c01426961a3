//! Latency distributions: an HDR histogram for percentiles, exact sums for
//! the mean and the maximum.

use hdrhistogram::Histogram;

/// Highest latency the histograms resolve, in microseconds (one day);
/// longer values are clamped into the top bucket (the exact max is kept).
const HIGHEST_US: u64 = 86_400_000_000;

/// Records durations (nanoseconds in, milliseconds out).
#[derive(Clone, Debug)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
    count: u64,
    sum_ns: u128,
    max_ns: u64,
}

/// The headline statistics of a latency distribution, in milliseconds.
/// Percentiles carry the histogram's 3 significant digits.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        LatencyRecorder {
            histogram: Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds"),
            count: 0,
            sum_ns: 0,
            max_ns: 0,
        }
    }
}

impl LatencyRecorder {
    #[inline]
    pub fn record(&mut self, ns: u64) {
        // Microseconds, rounded; a zero wait stays zero.
        self.histogram.saturating_record(ns.saturating_add(500) / 1000);
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum_ns as f64 / self.count as f64 / 1e6
        }
    }

    /// The value at `quantile` (0..=1) in milliseconds; NaN when empty.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.max_ns as f64 / 1e6
        }
    }

    pub fn summary(&self) -> LatencySummary {
        if self.count == 0 {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.count,
            mean_ms: self.mean_ms(),
            p50_ms: self.quantile_ms(0.50),
            p90_ms: self.quantile_ms(0.90),
            p95_ms: self.quantile_ms(0.95),
            p99_ms: self.quantile_ms(0.99),
            p999_ms: self.quantile_ms(0.999),
            max_ms: self.max_ms(),
        }
    }

    pub fn reset(&mut self) {
        self.histogram.reset();
        self.count = 0;
        self.sum_ns = 0;
        self.max_ns = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_within_histogram_precision() {
        let mut r = LatencyRecorder::default();
        for ms in 1..=1000u64 {
            r.record(ms * 1_000_000);
        }
        let s = r.summary();
        assert_eq!(s.count, 1000);
        assert!((s.mean_ms - 500.5).abs() < 1e-9);
        assert!((s.p50_ms - 500.0).abs() / 500.0 < 0.002, "{}", s.p50_ms);
        assert!((s.p99_ms - 990.0).abs() / 990.0 < 0.002, "{}", s.p99_ms);
        assert_eq!(s.max_ms, 1000.0);
    }
}
