//! Traffic: the offered-rate curve, arrivals, request classes, clients and keys.

use std::f64::consts::TAU;

use crate::engine::{RngStream, splitmix64};

use super::distribution::Distribution;

/// Offered load in requests per second as a function of simulated time (in
/// seconds). Built from pieces, summed or multiplied; every piece is
/// non-negative, so every combination is too.
#[derive(Clone, Debug)]
pub enum RateCurve {
    Constant(f64),
    /// `from` until `start`, linear to `to` at `end`, `to` after.
    Ramp {
        from: f64,
        to: f64,
        start: f64,
        end: f64,
    },
    /// Piecewise constant: each `(at, rate)` holds from `at` until the next;
    /// 0 before the first.
    Steps(Vec<(f64, f64)>),
    /// A cosine day: `peak` at `peak_at` (seconds into each period),
    /// `peak / peak_to_trough` half a period later.
    Diurnal {
        peak: f64,
        peak_to_trough: f64,
        peak_at: f64,
        period: f64,
    },
    /// A flash-crowd multiplier: 1 outside the spike; rises linearly over
    /// `rise` from `start` to `multiplier`, holds until `start + duration`,
    /// then falls linearly back to 1 over `decay`.
    Spike {
        start: f64,
        duration: f64,
        rise: f64,
        decay: f64,
        multiplier: f64,
    },
    /// A recorded curve: `(time, rate)` points sorted by time, held (step) or
    /// interpolated (linear) between points, 0 before the first and equal
    /// to the last after it.
    Replay {
        points: Vec<(f64, f64)>,
        linear: bool,
    },
    /// A random multiplier, constant over each `interval`: `max(0, 1 + sd·z)`
    /// with `z` standard normal, drawn from a hash of `(key, interval index)`
    /// so that any instant can be evaluated without state.
    Noise {
        sd: f64,
        interval: f64,
        key: u64,
    },
    Sum(Vec<RateCurve>),
    Product(Vec<RateCurve>),
}

impl RateCurve {
    /// The rate at `t` seconds.
    pub fn rate_at(&self, t: f64) -> f64 {
        match self {
            RateCurve::Constant(r) => *r,
            RateCurve::Ramp { from, to, start, end } => {
                if t <= *start {
                    *from
                } else if t >= *end {
                    *to
                } else {
                    from + (to - from) * (t - start) / (end - start)
                }
            }
            RateCurve::Steps(levels) => {
                let i = levels.partition_point(|(at, _)| *at <= t);
                if i == 0 { 0.0 } else { levels[i - 1].1 }
            }
            RateCurve::Diurnal {
                peak,
                peak_to_trough,
                peak_at,
                period,
            } => {
                let trough = peak / peak_to_trough;
                let mid = (peak + trough) / 2.0;
                let amplitude = (peak - trough) / 2.0;
                (mid + amplitude * (TAU * (t - peak_at) / period).cos()).max(0.0)
            }
            RateCurve::Spike {
                start,
                duration,
                rise,
                decay,
                multiplier,
            } => {
                let peak_end = start + duration;
                if t <= *start || t >= peak_end + decay {
                    1.0
                } else if t < start + rise {
                    1.0 + (multiplier - 1.0) * (t - start) / rise
                } else if t <= peak_end {
                    *multiplier
                } else {
                    multiplier + (1.0 - multiplier) * (t - peak_end) / decay
                }
            }
            RateCurve::Replay { points, linear } => replay_at(points, *linear, t),
            RateCurve::Noise { sd, interval, key } => noise_factor(*key, *sd, (t / interval).floor()),
            RateCurve::Sum(parts) => parts.iter().map(|p| p.rate_at(t)).sum(),
            RateCurve::Product(parts) => parts.iter().map(|p| p.rate_at(t)).product(),
        }
    }

    /// An upper bound on the rate over `[t0, t1]`, exact for single pieces.
    /// Used as the thinning bound, so it must never be below the true maximum.
    pub fn max_over(&self, t0: f64, t1: f64) -> f64 {
        match self {
            RateCurve::Constant(r) => *r,
            RateCurve::Steps(levels) => {
                // The new levels that start inside the window, found by search:
                // a long list is not scanned for every window.
                let mut m = self.rate_at(t0).max(self.rate_at(t1));
                let from = levels.partition_point(|(at, _)| *at <= t0);
                for (at, rate) in &levels[from..] {
                    if *at >= t1 {
                        break;
                    }
                    m = m.max(*rate);
                }
                m
            }
            RateCurve::Ramp { .. } | RateCurve::Spike { .. } => {
                // Piecewise linear or constant: the maximum is at an end or a breakpoint.
                let mut m = self.rate_at(t0).max(self.rate_at(t1));
                for b in self.breakpoints() {
                    if b > t0 && b < t1 {
                        // A step's new level starts exactly at its breakpoint.
                        m = m.max(self.rate_at(b));
                    }
                }
                if let RateCurve::Spike {
                    start,
                    duration,
                    multiplier,
                    ..
                } = self
                {
                    // A spike without rise or decay jumps at its edges, where
                    // the curve takes its base value: a window that holds any of
                    // its plateau, even one that starts or ends on an edge, has
                    // the multiplier as its supremum.
                    if t1 > *start && t0 <= start + duration {
                        m = m.max(*multiplier);
                    }
                }
                m
            }
            RateCurve::Diurnal {
                peak, peak_at, period, ..
            } => {
                // Is a peak instant peak_at + k·period inside [t0, t1]?
                let k = ((t0 - peak_at) / period).ceil();
                if peak_at + k * period <= t1 {
                    *peak
                } else {
                    self.rate_at(t0).max(self.rate_at(t1))
                }
            }
            RateCurve::Replay { points, linear } => {
                let mut m = replay_at(points, *linear, t0).max(replay_at(points, *linear, t1));
                let from = points.partition_point(|(at, _)| *at <= t0);
                for (at, rate) in &points[from..] {
                    if *at > t1 {
                        break;
                    }
                    m = m.max(*rate);
                }
                m
            }
            RateCurve::Noise { sd, interval, key } => {
                let first = (t0 / interval).floor();
                let last = (t1 / interval).floor();
                let mut m = 0.0f64;
                let mut i = first;
                while i <= last {
                    m = m.max(noise_factor(*key, *sd, i));
                    i += 1.0;
                }
                m
            }
            RateCurve::Sum(parts) => parts.iter().map(|p| p.max_over(t0, t1)).sum(),
            RateCurve::Product(parts) => parts.iter().map(|p| p.max_over(t0, t1)).product(),
        }
    }

    fn breakpoints(&self) -> Vec<f64> {
        match self {
            RateCurve::Ramp { start, end, .. } => vec![*start, *end],
            RateCurve::Spike {
                start,
                duration,
                rise,
                decay,
                ..
            } => {
                vec![*start, start + rise, start + duration, start + duration + decay]
            }
            _ => Vec::new(),
        }
    }

    /// An upper bound on the rate at any time, without scanning time (as
    /// [`RateCurve::max_over`] does).
    pub fn peak_bound(&self) -> f64 {
        let highest = |rates: &mut dyn Iterator<Item = f64>| rates.fold(0.0, f64::max);
        match self {
            RateCurve::Constant(r) => *r,
            RateCurve::Ramp { from, to, .. } => from.max(*to),
            RateCurve::Steps(levels) => highest(&mut levels.iter().map(|l| l.1)),
            RateCurve::Diurnal { peak, .. } => *peak,
            RateCurve::Spike { multiplier, .. } => multiplier.max(1.0),
            RateCurve::Replay { points, .. } => highest(&mut points.iter().map(|p| p.1)),
            // The largest normal draw `noise_factor` can make: its smallest u1 is 2⁻⁵⁴.
            RateCurve::Noise { sd, .. } => 1.0 + sd * (-2.0 * (0.5f64 / (1u64 << 53) as f64).ln()).sqrt(),
            RateCurve::Sum(parts) => parts.iter().map(RateCurve::peak_bound).sum(),
            RateCurve::Product(parts) => parts.iter().map(RateCurve::peak_bound).product(),
        }
    }

    /// Gives every noise piece its own key derived from `base`, so noise is
    /// part of the run's seeded randomness.
    pub fn bind_noise(&mut self, base: u64) {
        let mut counter = 0u64;
        self.bind_noise_inner(base, &mut counter);
    }

    fn bind_noise_inner(&mut self, base: u64, counter: &mut u64) {
        match self {
            RateCurve::Noise { key, .. } => {
                *key = splitmix64(base ^ splitmix64(*counter));
                *counter += 1;
            }
            RateCurve::Sum(parts) | RateCurve::Product(parts) => {
                for p in parts {
                    p.bind_noise_inner(base, counter);
                }
            }
            _ => {}
        }
    }
}

fn replay_at(points: &[(f64, f64)], linear: bool, t: f64) -> f64 {
    let i = points.partition_point(|(at, _)| *at <= t);
    if i == 0 {
        return 0.0;
    }
    let (t_a, r_a) = points[i - 1];
    if !linear || i == points.len() {
        return r_a;
    }
    let (t_b, r_b) = points[i];
    r_a + (r_b - r_a) * (t - t_a) / (t_b - t_a)
}

/// `max(0, 1 + sd·z)` for a standard normal `z` drawn from `(key, index)` by Box–Muller.
fn noise_factor(key: u64, sd: f64, index: f64) -> f64 {
    let h1 = splitmix64(key ^ (index as i64 as u64));
    let h2 = splitmix64(h1);
    let u1 = ((h1 >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let u2 = ((h2 >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let z = (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos();
    (1.0 + sd * z).max(0.0)
}

/// How arrival instants are drawn from the rate curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrivalMode {
    /// Non-homogeneous Poisson process, by thinning (Lewis–Shedler) against
    /// the exact maximum of the curve over short windows.
    Poisson,
    /// One arrival every `1/λ(t)` seconds (exact for a constant rate; for a
    /// varying rate the gap is taken at the rate at the previous arrival).
    Deterministic,
}

/// Window over which the thinning bound is computed. Shorter windows waste
/// fewer candidate draws on a steep curve; longer ones recompute less often.
const WINDOW_S: f64 = 10.0;

/// Generates arrival instants (in seconds) following a rate curve.
pub struct ArrivalProcess {
    curve: RateCurve,
    mode: ArrivalMode,
    horizon: f64,
    t: f64,
    window_end: f64,
    bound: f64,
    /// `1 / bound`: the mean gap between candidates in the window.
    mean_gap: f64,
    /// Candidates thinning rejected and windows skipped: work that makes
    /// no arrival. It counts against the run's event budget, and the
    /// process stops once it reaches `budget` (a curve whose bound is far
    /// above its rate would otherwise spin without an event).
    pub wasted: u64,
    budget: u64,
}

impl ArrivalProcess {
    pub fn new(curve: RateCurve, mode: ArrivalMode, horizon_s: f64) -> ArrivalProcess {
        ArrivalProcess {
            curve,
            mode,
            horizon: horizon_s,
            t: 0.0,
            window_end: 0.0,
            bound: 0.0,
            mean_gap: f64::INFINITY,
            wasted: 0,
            budget: u64::MAX,
        }
    }

    /// Stops the process (no more arrivals) once `budget` draws were wasted.
    pub fn with_budget(mut self, budget: u64) -> ArrivalProcess {
        self.budget = budget;
        self
    }

    pub fn curve(&self) -> &RateCurve {
        &self.curve
    }

    /// The next arrival instant, or `None` past the horizon.
    pub fn next(&mut self, rng: &mut RngStream) -> Option<f64> {
        loop {
            if self.t >= self.horizon || self.wasted >= self.budget {
                return None;
            }
            if self.t >= self.window_end {
                self.window_end = (self.t + WINDOW_S).min(self.horizon);
                self.bound = self.curve.max_over(self.t, self.window_end);
                self.mean_gap = 1.0 / self.bound;
            }
            if self.bound <= 0.0 {
                self.t = self.window_end;
                self.wasted += 1;
                continue;
            }
            match self.mode {
                ArrivalMode::Poisson => {
                    let candidate = self.t + rng.exp(self.mean_gap);
                    if candidate >= self.window_end {
                        // Memorylessness: restarting at the window edge keeps the process exact.
                        self.t = self.window_end;
                        continue;
                    }
                    self.t = candidate;
                    // A constant curve is its bound: every candidate is
                    // accepted (u < 1), though u is drawn all the same.
                    let u = rng.open01();
                    if matches!(self.curve, RateCurve::Constant(_)) || u * self.bound <= self.curve.rate_at(candidate) {
                        return Some(candidate);
                    }
                    self.wasted += 1;
                }
                ArrivalMode::Deterministic => {
                    let rate = self.curve.rate_at(self.t);
                    if rate <= 0.0 {
                        // Skip ahead to where the curve is positive again.
                        self.t = self.window_end;
                        self.wasted += 1;
                        continue;
                    }
                    let at = self.t;
                    self.t += 1.0 / rate;
                    return Some(at);
                }
            }
        }
    }
}

/// Whether a request reads or writes (used by the data tier).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Read,
    Write,
}

/// One kind of request with its share of traffic and its CPU cost.
#[derive(Clone, Debug)]
pub struct RequestClass {
    pub name: String,
    pub weight: f64,
    pub kind: RequestKind,
    /// CPU seconds on a core of speed 1.0.
    pub cpu: Distribution,
    /// Its calls to the data tier after it computed, if any.
    pub data: Option<super::data::DataPath>,
    /// Mean size of a response in bytes, when given: what its responses
    /// are billed as data transfer out (a mean suffices: the bill is linear).
    pub response_bytes: Option<f64>,
    /// Share of its CPU that need not finish before the answer (`0 < f < 1`):
    /// not simulated as such, the review's plan may move it to a queue.
    pub deferrable: Option<f64>,
}

/// Key popularity: `count` keys, Zipf with exponent `s` (0 = uniform).
#[derive(Clone, Debug)]
pub struct KeySpace {
    pub count: u64,
    pub zipf_s: f64,
}

/// Everything about the offered load, validated.
#[derive(Clone, Debug)]
pub struct TrafficSpec {
    pub curve: RateCurve,
    pub arrivals: ArrivalMode,
    pub classes: Vec<RequestClass>,
    /// Distinct client identities, drawn uniformly (for IP hash and sessions).
    pub clients: u64,
    pub keys: Option<KeySpace>,
    /// Index of the load balancer that receives the traffic.
    pub target: usize,
}

/// Picks a class by weight.
pub struct ClassPicker {
    cumulative: Vec<f64>,
}

impl ClassPicker {
    pub fn new(classes: &[RequestClass]) -> ClassPicker {
        let total: f64 = classes.iter().map(|c| c.weight).sum();
        let mut acc = 0.0;
        let cumulative = classes
            .iter()
            .map(|c| {
                acc += c.weight / total;
                acc
            })
            .collect();
        ClassPicker { cumulative }
    }

    #[inline]
    pub fn pick(&self, rng: &mut RngStream) -> usize {
        if self.cumulative.len() == 1 {
            return 0;
        }
        let u = rng.open01();
        // The first share above `u`, by search: a scenario may have thousands of classes.
        self.cumulative
            .partition_point(|c| *c <= u)
            .min(self.cumulative.len() - 1)
    }
}

/// Draws keys by popularity rank (0 is the most popular).
pub struct KeyPicker {
    count: u64,
    zipf: Option<rand_distr::Zipf<f64>>,
}

impl KeyPicker {
    pub fn new(keys: &KeySpace) -> KeyPicker {
        let zipf = (keys.zipf_s > 0.0)
            .then(|| rand_distr::Zipf::new(keys.count as f64, keys.zipf_s).expect("validated key space"));
        KeyPicker {
            count: keys.count,
            zipf,
        }
    }

    #[inline]
    pub fn pick(&self, rng: &mut RngStream) -> u64 {
        use rand_distr::Distribution as _;
        match &self.zipf {
            Some(z) => (z.sample(rng.inner()) as u64).clamp(1, self.count) - 1,
            None => rng.below(self.count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StreamId;

    fn count_arrivals(curve: RateCurve, horizon: f64, seed: u64) -> Vec<f64> {
        let mut p = ArrivalProcess::new(curve, ArrivalMode::Poisson, horizon);
        let mut rng = RngStream::new(StreamId::new(seed, 0, "arrivals"));
        std::iter::from_fn(|| p.next(&mut rng)).collect()
    }

    #[test]
    fn pieces_evaluate_as_documented() {
        let ramp = RateCurve::Ramp {
            from: 10.0,
            to: 30.0,
            start: 100.0,
            end: 200.0,
        };
        assert_eq!(ramp.rate_at(0.0), 10.0);
        assert_eq!(ramp.rate_at(150.0), 20.0);
        assert_eq!(ramp.rate_at(500.0), 30.0);
        let steps = RateCurve::Steps(vec![(0.0, 5.0), (60.0, 50.0)]);
        assert_eq!(steps.rate_at(59.9), 5.0);
        assert_eq!(steps.rate_at(60.0), 50.0);
        let day = RateCurve::Diurnal {
            peak: 100.0,
            peak_to_trough: 4.0,
            peak_at: 3600.0,
            period: 86400.0,
        };
        assert!((day.rate_at(3600.0) - 100.0).abs() < 1e-9);
        assert!((day.rate_at(3600.0 + 43200.0) - 25.0).abs() < 1e-9);
        let spike = RateCurve::Spike {
            start: 10.0,
            duration: 20.0,
            rise: 5.0,
            decay: 10.0,
            multiplier: 3.0,
        };
        assert_eq!(spike.rate_at(5.0), 1.0);
        assert_eq!(spike.rate_at(12.5), 2.0);
        assert_eq!(spike.rate_at(20.0), 3.0);
        assert_eq!(spike.rate_at(35.0), 2.0);
        assert_eq!(spike.rate_at(41.0), 1.0);
        let replay = RateCurve::Replay {
            points: vec![(0.0, 10.0), (10.0, 20.0)],
            linear: true,
        };
        assert_eq!(replay.rate_at(5.0), 15.0);
        assert_eq!(replay.rate_at(50.0), 20.0);
    }

    #[test]
    fn bounds_are_never_below_the_curve() {
        let mut curve = RateCurve::Product(vec![
            RateCurve::Sum(vec![
                RateCurve::Diurnal {
                    peak: 100.0,
                    peak_to_trough: 3.0,
                    peak_at: 500.0,
                    period: 2000.0,
                },
                RateCurve::Steps(vec![(0.0, 1.0), (333.0, 40.0), (777.0, 2.0)]),
            ]),
            RateCurve::Spike {
                start: 900.0,
                duration: 50.0,
                rise: 7.0,
                decay: 30.0,
                multiplier: 5.0,
            },
            RateCurve::Noise {
                sd: 0.2,
                interval: 13.0,
                key: 0,
            },
        ]);
        curve.bind_noise(99);
        let mut t0 = 0.0;
        while t0 < 3000.0 {
            let t1 = t0 + 10.0;
            let bound = curve.max_over(t0, t1);
            for k in 0..=100 {
                let t = t0 + (t1 - t0) * k as f64 / 100.0;
                assert!(
                    curve.rate_at(t) <= bound + 1e-9,
                    "t={t}: {} > {bound}",
                    curve.rate_at(t)
                );
            }
            t0 = t1;
        }
    }

    /// A spike that jumps (no rise, no decay) on the edges of a thinning
    /// window: the window's bound must be the spike's, or arrivals ignore it.
    #[test]
    fn a_spike_that_jumps_on_window_edges_raises_arrivals() {
        let spike = || RateCurve::Spike {
            start: 60.0,
            duration: 10.0,
            rise: 0.0,
            decay: 0.0,
            multiplier: 1.1,
        };
        assert_eq!(spike().max_over(60.0, 70.0), 1.1);
        assert_eq!(spike().max_over(50.0, 60.0), 1.0);
        let curve = RateCurve::Product(vec![RateCurve::Constant(3600.0), spike()]);
        let arrivals = count_arrivals(curve, 120.0, 5);
        let inside = arrivals.iter().filter(|t| (60.0..70.0).contains(*t)).count() as f64;
        // 39,600 expected (36,000 without the spike); Poisson sd ≈ 199.
        assert!((inside - 39_600.0).abs() < 4.0 * 39_600f64.sqrt(), "{inside}");
    }

    #[test]
    fn poisson_counts_follow_the_integral_of_the_curve() {
        // Rate 50/s for 100 s, then 200/s for 100 s: 25,000 expected arrivals.
        let curve = RateCurve::Steps(vec![(0.0, 50.0), (100.0, 200.0)]);
        let arrivals = count_arrivals(curve, 200.0, 3);
        let first = arrivals.iter().filter(|t| **t < 100.0).count() as f64;
        let second = arrivals.len() as f64 - first;
        // Poisson counts: sd = sqrt(mean); allow 4 sd.
        assert!((first - 5000.0).abs() < 4.0 * 5000f64.sqrt(), "first {first}");
        assert!((second - 20000.0).abs() < 4.0 * 20000f64.sqrt(), "second {second}");
        assert!(arrivals.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn deterministic_arrivals_are_evenly_spaced() {
        let mut p = ArrivalProcess::new(RateCurve::Constant(4.0), ArrivalMode::Deterministic, 2.0);
        let mut rng = RngStream::new(StreamId::new(1, 0, "a"));
        let ts: Vec<f64> = std::iter::from_fn(|| p.next(&mut rng)).collect();
        assert_eq!(ts, vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]);
    }

    #[test]
    fn zipf_keys_favour_low_ranks() {
        let picker = KeyPicker::new(&KeySpace {
            count: 1000,
            zipf_s: 1.0,
        });
        let mut rng = RngStream::new(StreamId::new(1, 0, "keys"));
        let mut top = 0;
        for _ in 0..10_000 {
            let k = picker.pick(&mut rng);
            assert!(k < 1000);
            if k == 0 {
                top += 1;
            }
        }
        // P(rank 1) = 1/H(1000) ≈ 0.1336.
        assert!((top as f64 / 10_000.0 - 0.1336).abs() < 0.015, "top {top}");
    }
}
