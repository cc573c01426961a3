//! The latency histograms' bins: HdrHistogram's layout, counted directly.
//!
//! A response is recorded into several histograms (per interval, overall,
//! per class, queueing, service), so recording is on the hot path.
//! `hdrhistogram::Histogram` checks bounds, tracks its minimum and maximum
//! and may resize on every record; these bins are the same bins — the
//! same value lands in the same bin, quantiles read the same values, and
//! [`Bins::to_hdr`] gives the crate's histogram for its serialization —
//! with a record that is an index and an increment. `tests` holds them to
//! the crate's own answers.

/// Values are microseconds from 0 to one day; longer ones are clamped to a
/// day (callers keep their exact maximum apart).
pub const HIGHEST: u64 = 86_400_000_000;
/// The crate's parameters: lowest discernible value 1, 3 significant digits.
pub const LOWEST: u64 = 1;
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Unit resolution up to 2 × 10³ needs 2¹¹ sub-buckets; a bucket's lower
/// half repeats the previous bucket, so each bucket adds 2¹⁰ bins.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 10;
const SUB_BUCKET_MASK: u64 = (1 << (SUB_BUCKET_HALF_MAGNITUDE + 1)) - 1;
/// `64 − unit magnitude (0) − sub-bucket magnitude (11)`.
const LEADING_ZERO_BASE: u32 = 64 - (SUB_BUCKET_HALF_MAGNITUDE + 1);
/// 27 buckets cover a day (2¹¹ × 2²⁶ > 8.64 × 10¹⁰): (27 + 1) × 2¹⁰ bins.
pub const LEN: usize = 28 << SUB_BUCKET_HALF_MAGNITUDE;

/// The bucket a value falls in (0 for values below 2¹¹).
#[inline]
fn bucket_of(value: u64) -> u32 {
    LEADING_ZERO_BASE - (value | SUB_BUCKET_MASK).leading_zeros()
}

/// The bin of `value`, which may lie past [`LEN`] for values over [`HIGHEST`].
#[inline]
fn raw_index(value: u64) -> usize {
    let bucket = bucket_of(value);
    let sub_bucket = (value >> bucket) as usize;
    ((bucket as usize + 1) << SUB_BUCKET_HALF_MAGNITUDE) + sub_bucket - (1 << SUB_BUCKET_HALF_MAGNITUDE)
}

/// The bin `value` is counted in, clamped as `Histogram::saturating_record` clamps.
#[inline]
pub fn index_of(value: u64) -> usize {
    let index = raw_index(value);
    if index < LEN { index } else { raw_index(HIGHEST) }
}

/// The lowest value of bin `index`.
fn value_of(index: usize) -> u64 {
    let half = 1usize << SUB_BUCKET_HALF_MAGNITUDE;
    let bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) as i64 - 1;
    let sub_bucket = (index & (half - 1)) + half;
    if bucket < 0 {
        (sub_bucket - half) as u64
    } else {
        (sub_bucket as u64) << bucket
    }
}

/// The highest value counted in the same bin as `value`.
fn highest_equivalent(value: u64) -> u64 {
    if value == u64::MAX {
        return u64::MAX;
    }
    let bucket = bucket_of(value);
    let lowest = (value >> bucket) << bucket;
    lowest.saturating_add(1 << bucket) - 1
}

/// The lowest value counted in the same bin as `value`.
fn lowest_equivalent(value: u64) -> u64 {
    let bucket = bucket_of(value);
    (value >> bucket) << bucket
}

/// Counts per bin. The total is the caller's (it counts what it records).
///
/// Each count is kept in two parts: its low 16 bits in `low`, the rest in
/// `high`. A record touches only the 2-byte low part (the bins a run's
/// latencies fall in stay in a few kilobytes of cache); a low part that
/// wraps carries one into `high`, which is allocated on the first carry.
/// Counts are exact either way.
#[derive(Clone, Debug)]
pub struct Bins {
    low: Box<[u16; LEN]>,
    /// `count >> 16` per bin; empty until a bin first counts 2¹⁶ values.
    high: Vec<u64>,
}

impl Default for Bins {
    fn default() -> Self {
        Bins {
            low: vec![0; LEN].into_boxed_slice().try_into().expect("a slice of LEN bins"),
            high: Vec::new(),
        }
    }
}

impl Bins {
    #[inline]
    pub fn record(&mut self, value: u64) {
        let index = index_of(value);
        let low = &mut self.low[index];
        let (count, wrapped) = low.overflowing_add(1);
        *low = count;
        if wrapped {
            self.carry(index);
        }
    }

    /// The low part of bin `index` wrapped: one more in its high part.
    #[cold]
    #[inline(never)]
    fn carry(&mut self, index: usize) {
        if self.high.is_empty() {
            self.high = vec![0; LEN];
        }
        // At most u64::MAX values in all: `high` never passes 2^48.
        self.high[index] += 1;
    }

    /// The count of bin `index`.
    #[inline]
    fn count(&self, index: usize) -> u64 {
        let high = self.high.get(index).map_or(0, |&high| high << 16);
        high | u64::from(self.low[index])
    }

    /// Sets the count of bin `index`.
    fn set(&mut self, index: usize, count: u64) {
        self.low[index] = count as u16;
        let high = count >> 16;
        if high > 0 && self.high.is_empty() {
            self.high = vec![0; LEN];
        }
        if let Some(slot) = self.high.get_mut(index) {
            *slot = high;
        }
    }

    /// Every bin's count, in order.
    fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        (0..LEN).map(|index| self.count(index))
    }

    /// The value at `quantile` (0..=1) of the `total` values recorded, as
    /// `Histogram::value_at_quantile` reads it: the highest value of the
    /// first bin where the running count reaches `⌈quantile × total⌉` (at
    /// least 1); 0 when empty.
    pub fn value_at_quantile(&self, quantile: f64, total: u64) -> u64 {
        let quantile = if quantile > 1.0 { 1.0 } else { quantile };
        let target = ((quantile * total as f64).ceil() as u64).max(1);
        let mut running = 0u64;
        for (index, count) in self.counts().enumerate() {
            running += count;
            if running >= target {
                let value = value_of(index);
                return if quantile == 0.0 {
                    lowest_equivalent(value)
                } else {
                    highest_equivalent(value)
                };
            }
        }
        0
    }

    /// Adds `other`'s counts bin by bin, where no bin of `other` above the
    /// one of `max` counts anything (a recorder's maximum bounds its bins).
    pub fn add_up_to(&mut self, other: &Bins, max: u64) {
        let end = index_of(max) + 1;
        if self.high.is_empty() && other.high.is_empty() {
            // Low parts alone: add them all, then carry where a sum wrapped
            // (came out below what was added).
            let (ours, theirs) = (&mut self.low[..end], &other.low[..end]);
            let mut wrapped = false;
            for (count, &more) in ours.iter_mut().zip(theirs) {
                *count = count.wrapping_add(more);
                wrapped |= *count < more;
            }
            if wrapped {
                for index in 0..end {
                    if self.low[index] < other.low[index] {
                        self.carry(index);
                    }
                }
            }
            return;
        }
        for index in 0..end {
            let sum = self.count(index).saturating_add(other.count(index));
            self.set(index, sum);
        }
    }

    /// Whether a bin above the one of `max` counts anything.
    pub fn holds_above(&self, max: u64) -> bool {
        (index_of(max) + 1..LEN).any(|index| self.count(index) > 0)
    }

    /// Empties the bins, none of which holds a value above `max` (the
    /// interval histogram is reset often, and latencies use few bins).
    pub fn reset(&mut self, max: u64) {
        let end = index_of(max) + 1;
        self.low[..end].fill(0);
        if let Some(high) = self.high.get_mut(..end) {
            high.fill(0);
        }
    }

    /// The same counts in the crate's histogram (for its serialization).
    pub fn to_hdr(&self) -> hdrhistogram::Histogram<u64> {
        let mut h = new_hdr();
        for (index, count) in self.counts().enumerate() {
            if count > 0 {
                h.record_n(value_of(index), count)
                    .expect("a bin's value is within the histogram's bounds");
            }
        }
        h
    }

    /// The counts of the crate's histogram, which must have these bins'
    /// bounds; `None` when it holds a value beyond them.
    pub fn from_hdr(h: &hdrhistogram::Histogram<u64>) -> Option<Bins> {
        let mut bins = Bins::default();
        for value in h.iter_recorded() {
            let index = raw_index(value.value_iterated_to());
            if index >= LEN {
                return None;
            }
            let count = bins.count(index).saturating_add(value.count_at_value());
            bins.set(index, count);
        }
        Some(bins)
    }
}

/// An empty histogram of the crate with these bins' bounds.
pub fn new_hdr() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(LOWEST, HIGHEST, SIGNIFICANT_DIGITS).expect("valid histogram bounds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RngStream, StreamId};

    /// Values spread over every bucket, the edges of bins and the clamp.
    fn values(n: usize) -> Vec<u64> {
        let mut rng = RngStream::new(StreamId::new(3, 0, "bins"));
        let mut v: Vec<u64> = (0..n)
            .map(|_| {
                let magnitude = rng.below(40);
                rng.below(1 << magnitude) + rng.below(2)
            })
            .collect();
        v.extend([
            0,
            1,
            2047,
            2048,
            2049,
            4095,
            4096,
            HIGHEST - 1,
            HIGHEST,
            HIGHEST + 1,
            u64::MAX,
        ]);
        v
    }

    #[test]
    fn the_layout_is_the_crates() {
        let h = new_hdr();
        assert_eq!(h.distinct_values(), LEN);
        for value in values(20_000) {
            let clamped = if raw_index(value) < LEN { value } else { HIGHEST };
            assert_eq!(highest_equivalent(clamped), h.highest_equivalent(clamped), "{value}");
            assert_eq!(lowest_equivalent(clamped), h.lowest_equivalent(clamped), "{value}");
            assert_eq!(
                lowest_equivalent(value_of(index_of(value))),
                h.lowest_equivalent(clamped),
                "{value}"
            );
        }
    }

    #[test]
    fn quantiles_and_serialization_are_the_crates() {
        use hdrhistogram::serialization::{Serializer as _, V2Serializer};
        let mut h = new_hdr();
        let mut bins = Bins::default();
        for value in values(20_000) {
            h.saturating_record(value);
            bins.record(value);
        }
        for q in [0.0, 1e-6, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0, 1.5, f64::NAN] {
            assert_eq!(bins.value_at_quantile(q, h.len()), h.value_at_quantile(q), "{q}");
        }
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        V2Serializer::new().serialize(&bins.to_hdr(), &mut ours).unwrap();
        V2Serializer::new().serialize(&h, &mut theirs).unwrap();
        assert_eq!(ours, theirs);
        let back = Bins::from_hdr(&h).unwrap();
        assert!(back.counts().eq(bins.counts()));
        assert_eq!(
            Bins::default().value_at_quantile(0.5, 0),
            new_hdr().value_at_quantile(0.5)
        );
    }

    /// Bins counting past 2¹⁶ (carries into the high parts), recorded,
    /// added and reset, against the crate's histogram.
    #[test]
    fn counts_past_sixteen_bits_are_exact() {
        let mut h = new_hdr();
        let mut bins = Bins::default();
        for i in 0..300_000u64 {
            // Most in one bin, some in a neighbour, a few spread out.
            let value = match i % 10 {
                0..=6 => 5_000,
                7 | 8 => 5_100,
                _ => i,
            };
            h.saturating_record(value);
            bins.record(value);
        }
        assert_eq!(bins.count(index_of(5_000)), 210_000);
        for q in [0.1, 0.5, 0.7, 0.75, 0.9, 0.95, 1.0] {
            assert_eq!(bins.value_at_quantile(q, h.len()), h.value_at_quantile(q), "{q}");
        }
        // Added to an empty set of bins, to itself, and to one with carries.
        let mut sum = Bins::default();
        sum.add_up_to(&bins, HIGHEST);
        assert!(sum.counts().eq(bins.counts()));
        sum.add_up_to(&bins, HIGHEST);
        let mut small = Bins::default();
        small.record(5_000);
        small.add_up_to(&sum, 299_999);
        h.add(h.clone()).unwrap();
        h.saturating_record(5_000);
        assert!(small.counts().eq(Bins::from_hdr(&h).unwrap().counts()));
        assert_eq!(small.to_hdr(), h);
        // Low parts alone wrapping in an add.
        let (mut a, mut b) = (Bins::default(), Bins::default());
        for _ in 0..40_000 {
            a.record(7);
            b.record(7);
        }
        a.add_up_to(&b, 7);
        assert_eq!(a.count(index_of(7)), 80_000);
        assert!(!a.holds_above(299_999));
        assert!(a.holds_above(6));
        small.reset(299_999);
        assert!(small.counts().all(|count| count == 0));
    }
}
