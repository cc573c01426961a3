//! Latency distributions: an HDR histogram for percentiles, exact sums for
//! the mean and the maximum.

use std::fmt::Write as _;

use hdrhistogram::serialization::Serializer as _;

use super::histogram::Bins;

/// Records durations (nanoseconds in, milliseconds out). The histogram
/// resolves microseconds up to one day; longer values are clamped into the
/// top bucket (the exact max is kept).
#[derive(Clone, Debug, Default)]
pub struct LatencyRecorder {
    histogram: Bins,
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

impl LatencyRecorder {
    #[inline]
    pub fn record(&mut self, ns: u64) {
        self.histogram.record(micros(ns));
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
    /// The histogram answers with the top of a bucket, which may lie above
    /// every value recorded: no percentile is reported above the maximum.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let bucket_top = self.histogram.value_at_quantile(quantile, self.count) as f64 / 1000.0;
        bucket_top.min(self.max_ms())
    }

    pub fn max_ms(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.max_ns as f64 / 1e6
        }
    }

    /// The headline statistics; with no response, every one is undefined
    /// (NaN, `null` in JSON) but the count.
    pub fn summary(&self) -> LatencySummary {
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

    /// Adds every response of `other`: the histogram counts bucket by
    /// bucket (exact, not an average of percentiles), the sums and the max.
    pub fn merge(&mut self, other: &LatencyRecorder) {
        // Every value `other` recorded is at most its maximum.
        self.histogram.add_up_to(&other.histogram, micros(other.max_ns));
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// The whole recorder as text that [`LatencyRecorder::decode`] restores
    /// exactly: count, sum and max, then the histogram in HdrHistogram's V2
    /// encoding as hex.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::new();
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&self.histogram.to_hdr(), &mut bytes)
            .expect("serializing into memory cannot fail");
        let mut text = format!("{} {} {} ", self.count, self.sum_ns, self.max_ns);
        text.reserve(2 * bytes.len());
        for b in bytes {
            write!(text, "{b:02x}").expect("writing to a String cannot fail");
        }
        text
    }

    pub fn decode(text: &str) -> Result<LatencyRecorder, String> {
        let bad = || "not an encoded latency histogram".to_string();
        let mut parts = text.split(' ');
        let mut field = || parts.next().ok_or_else(bad);
        let count: u64 = field()?.parse().map_err(|_| bad())?;
        let sum_ns: u128 = field()?.parse().map_err(|_| bad())?;
        let max_ns: u64 = field()?.parse().map_err(|_| bad())?;
        let hex = field()?;
        if hex.len() % 2 != 0 || !hex.is_ascii() {
            return Err(bad());
        }
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let decoded: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| format!("latency histogram: {e:?}"))?;
        if decoded.len() != count {
            return Err(bad());
        }
        let histogram = Bins::from_hdr(&decoded).ok_or_else(bad)?;
        // Every value recorded is at most the maximum (`reset` relies on it).
        if histogram.holds_above(micros(max_ns)) {
            return Err(bad());
        }
        Ok(LatencyRecorder {
            histogram,
            count,
            sum_ns,
            max_ns,
        })
    }

    pub fn reset(&mut self) {
        self.histogram.reset(micros(self.max_ns));
        self.count = 0;
        self.sum_ns = 0;
        self.max_ns = 0;
    }
}

/// What the histogram counts: microseconds, rounded (a zero wait stays zero).
#[inline]
fn micros(ns: u64) -> u64 {
    ns.saturating_add(500) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_percentile_is_above_the_maximum() {
        // 143,982.66 ms falls in a bucket whose top is 144,048.13 ms: that
        // was printed as the p99.9 beside a max of 143,982.66.
        let mut r = LatencyRecorder::default();
        for _ in 0..1000 {
            r.record(143_982_660_000);
        }
        let s = r.summary();
        assert_eq!(s.max_ms, 143_982.66);
        assert_eq!((s.p50_ms, s.p99_ms, s.p999_ms), (s.max_ms, s.max_ms, s.max_ms));
        // Below the maximum, the bucket's top is still the answer.
        r.record(1_000_000);
        r.record(200_000_000_000);
        assert!(
            r.quantile_ms(0.5) > 143_982.66 && r.quantile_ms(0.5) < r.max_ms(),
            "{}",
            r.quantile_ms(0.5)
        );
    }

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

    #[test]
    fn merging_pools_the_responses_and_encoding_round_trips() {
        let (mut a, mut b, mut all) = (
            LatencyRecorder::default(),
            LatencyRecorder::default(),
            LatencyRecorder::default(),
        );
        for ms in 1..=900u64 {
            a.record(ms * 1_000_000);
            all.record(ms * 1_000_000);
        }
        for ms in 901..=1000u64 {
            b.record(ms * 7_000_000);
            all.record(ms * 7_000_000);
        }
        // The pooled p99 is not the mean of the two p99s.
        let averaged = (a.quantile_ms(0.99) + b.quantile_ms(0.99)) / 2.0;
        let back = LatencyRecorder::decode(&a.encode()).unwrap();
        assert_eq!(back.summary(), a.summary());
        a.merge(&LatencyRecorder::decode(&b.encode()).unwrap());
        assert_eq!(a.summary(), all.summary());
        assert!((a.quantile_ms(0.99) - averaged).abs() > 100.0);
        assert!(LatencyRecorder::decode("3 4 5 zz").is_err());
        assert!(LatencyRecorder::decode("").is_err());
    }
}
