//! What a run assumed, as the capacity review states it before any
//! result: the traffic curve in words and numbers, each request class's
//! share, CPU and data access, the SLO it is judged by (the scenario's, or
//! the one the review assumes), and the run's settings.

use serde::{Deserialize, Serialize};

use super::format::{clock, duration_words, short};
use super::headroom::slo_text;
use super::plan::{COMPLIANCE, review_slo};
use crate::metrics::SloSpec;
use crate::metrics::stats::nan_if_null;
use crate::model::data::DataSpec;
use crate::model::{ArrivalMode, Distribution, RateCurve, RequestClass, RequestKind, RunResult, SystemSpec};

/// The run's assumptions, recorded in `analysis.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Assumptions {
    /// The rate curve's shape in words (`steps: 30 req/s from 00:00:00, …`).
    pub traffic: String,
    /// The lowest and highest rate the curve asks for over the run, and when
    /// it first reaches its highest (seconds into the run).
    #[serde(deserialize_with = "nan_if_null")]
    pub base_rps: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_rps: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_at_s: f64,
    /// `poisson` or `deterministic`.
    pub arrivals: String,
    /// The curve has a diurnal piece, whose time 0 is midnight: the run's
    /// times are times of day.
    pub time_of_day: bool,
    pub classes: Vec<ClassAssumption>,
    /// The SLO the review judges by, in words, and whether the review
    /// assumed it (the scenario has none).
    pub slo: String,
    pub slo_assumed: bool,
    /// Its error-rate limit, when it has one.
    pub slo_error_rate_max: Option<f64>,
    /// When the review assumed the SLO: the share of today's measured time
    /// inside it (as `summary.json`'s `slo.compliance` is for a scenario's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_compliance_today: Option<f64>,
    #[serde(deserialize_with = "nan_if_null")]
    pub duration_s: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub warmup_s: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub interval_s: f64,
    pub seed: u64,
}

/// One request class as the run assumed it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClassAssumption {
    pub name: String,
    /// `read` or `write`.
    pub kind: String,
    /// Its weight and its share of all arrivals.
    #[serde(deserialize_with = "nan_if_null")]
    pub weight: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub share: f64,
    /// CPU per request on a core of speed 1: the distribution, its mean
    /// and coefficient of variation.
    pub cpu: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub cpu_mean_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub cpu_cv: f64,
    /// Its calls to the data tier in words (`none` without any).
    pub data: String,
}

fn ms(secs: f64) -> String {
    format!("{} ms", short(secs * 1000.0))
}

/// A distribution in words, its parameters in milliseconds.
pub fn distribution_words(d: &Distribution) -> String {
    match d {
        Distribution::Constant(v) => format!("constant {}", ms(*v)),
        Distribution::Exponential { mean } => format!("exponential, mean {}", ms(*mean)),
        Distribution::LogNormal { mean, cv, .. } => format!("log-normal, mean {}, cv {}", ms(*mean), short(*cv)),
        Distribution::Gamma { mean, cv, .. } => format!("gamma, mean {}, cv {}", ms(*mean), short(*cv)),
        Distribution::Uniform { min, max } => format!("uniform {} to {}", ms(*min), ms(*max)),
    }
}

fn rps(x: f64) -> String {
    format!("{} req/s", short(x))
}

pub(crate) fn has_diurnal(curve: &RateCurve) -> bool {
    match curve {
        RateCurve::Diurnal { .. } => true,
        RateCurve::Sum(parts) | RateCurve::Product(parts) => parts.iter().any(has_diurnal),
        _ => false,
    }
}

/// A rate curve in words; times as clocks (of the day with `day`).
pub fn curve_words(curve: &RateCurve, day: bool) -> String {
    let at = |t: f64| clock(t, day);
    match curve {
        RateCurve::Constant(r) => format!("constant {}", rps(*r)),
        RateCurve::Ramp { from, to, start, end } => format!(
            "ramp from {} to {} between {} and {}",
            rps(*from),
            rps(*to),
            at(*start),
            at(*end)
        ),
        RateCurve::Steps(levels) => {
            let shown: Vec<String> = levels
                .iter()
                .take(8)
                .map(|(t, r)| format!("{} from {}", rps(*r), at(*t)))
                .collect();
            let more = if levels.len() > 8 {
                format!(" and {} more", levels.len() - 8)
            } else {
                String::new()
            };
            format!("steps: {}{more}", shown.join(", "))
        }
        RateCurve::Diurnal {
            peak,
            peak_to_trough,
            peak_at,
            period,
        } => format!(
            "diurnal: peak {} at {} of each {} period, trough {} half a period later",
            rps(*peak),
            clock(*peak_at, true),
            duration_words(*period),
            rps(peak / peak_to_trough)
        ),
        RateCurve::Spike {
            start,
            duration,
            rise,
            decay,
            multiplier,
        } => format!(
            "a ×{} spike from {} for {} (rise {}, decay {})",
            short(*multiplier),
            at(*start),
            duration_words(*duration),
            duration_words(*rise),
            duration_words(*decay)
        ),
        RateCurve::Replay { points, linear } => {
            let (lo, hi) = points
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, r)| {
                    (lo.min(*r), hi.max(*r))
                });
            format!(
                "replay of {} recorded points ({}), {} to {}",
                points.len(),
                if *linear { "interpolated" } else { "held between points" },
                rps(lo),
                rps(hi)
            )
        }
        RateCurve::Noise { sd, interval, .. } => format!(
            "noise (sd {}%, redrawn every {})",
            short(sd * 100.0),
            duration_words(*interval)
        ),
        RateCurve::Sum(parts) => {
            let parts: Vec<String> = parts.iter().map(|p| curve_words(p, day)).collect();
            format!("the sum of ({})", parts.join("; "))
        }
        RateCurve::Product(parts) => {
            let parts: Vec<String> = parts.iter().map(|p| curve_words(p, day)).collect();
            parts.join(", times ")
        }
    }
}

/// The lowest and highest rate over `[0, end]`, and when the highest is
/// first reached: sampled every second (at most 100,000 samples) and at
/// every step and replay point, where a curve jumps.
fn extremes(curve: &RateCurve, end: f64) -> (f64, f64, f64) {
    let n = (end.ceil() as usize).clamp(1, 100_000);
    let mut times: Vec<f64> = (0..=n).map(|i| end * i as f64 / n as f64).collect();
    fn corners(c: &RateCurve, out: &mut Vec<f64>) {
        match c {
            RateCurve::Steps(levels) => out.extend(levels.iter().map(|l| l.0)),
            RateCurve::Replay { points, .. } => out.extend(points.iter().map(|p| p.0)),
            RateCurve::Ramp { start, end, .. } => out.extend([*start, *end]),
            RateCurve::Diurnal { peak_at, .. } => out.push(*peak_at),
            RateCurve::Spike {
                start, duration, rise, ..
            } => out.extend([start + rise, start + duration]),
            RateCurve::Sum(parts) | RateCurve::Product(parts) => parts.iter().for_each(|p| corners(p, out)),
            RateCurve::Constant(_) | RateCurve::Noise { .. } => {}
        }
    }
    corners(curve, &mut times);
    times.retain(|t| t.is_finite() && (0.0..=end).contains(t));
    times.sort_by(f64::total_cmp);
    let (mut lo, mut hi, mut hi_at) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for t in times {
        let r = curve.rate_at(t);
        lo = lo.min(r);
        if r > hi {
            (hi, hi_at) = (r, t);
        }
    }
    (lo, hi, hi_at)
}

/// A class's calls to the data tier in words.
fn data_words(class: &RequestClass, data: &DataSpec) -> String {
    let Some(path) = &class.data else {
        return "none".into();
    };
    let mut parts = Vec::new();
    if let Some(t) = path.edge {
        parts.push(format!("CDN {}", data.caches[t].name));
    }
    if !path.caches.is_empty() {
        let names: Vec<&str> = path.caches.iter().map(|&t| data.caches[t].name.as_str()).collect();
        parts.push(format!("cache {}", names.join(" then ")));
    }
    if let Some(d) = path.database {
        let db = &data.databases[d];
        let verb = match class.kind {
            RequestKind::Write => "writes",
            RequestKind::Read => "reads",
        };
        let at = if class.kind == RequestKind::Read && !path.fresh && db.read_from_replicas && db.replicas > 0 {
            "replicas"
        } else {
            "primary"
        };
        parts.push(format!(
            "{verb} database {}{} ({at})",
            db.name,
            if path.fresh { ", fresh" } else { "" }
        ));
    }
    if let Some(q) = path.enqueue {
        parts.push(format!("enqueues to {}", data.queues[q].name));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// What the run of `spec` that gave `result` assumed.
pub fn assumptions(spec: &SystemSpec, result: &RunResult) -> Assumptions {
    let day = has_diurnal(&spec.traffic.curve);
    let end = spec.duration.as_secs_f64();
    let (base_rps, peak_rps, peak_at_s) = extremes(&spec.traffic.curve, end);
    let total: f64 = spec.traffic.classes.iter().map(|c| c.weight).sum();
    let classes = spec
        .traffic
        .classes
        .iter()
        .map(|c| ClassAssumption {
            name: c.name.clone(),
            kind: match c.kind {
                RequestKind::Read => "read".into(),
                RequestKind::Write => "write".into(),
            },
            weight: c.weight,
            share: c.weight / total,
            cpu: distribution_words(&c.cpu),
            cpu_mean_ms: c.cpu.mean() * 1000.0,
            cpu_cv: c.cpu.scv().sqrt(),
            data: data_words(c, &spec.data),
        })
        .collect();
    let (slo, slo_assumed) = review_slo(spec, result);
    Assumptions {
        traffic: curve_words(&spec.traffic.curve, day),
        base_rps,
        peak_rps,
        peak_at_s,
        arrivals: match spec.traffic.arrivals {
            ArrivalMode::Poisson => "poisson".into(),
            ArrivalMode::Deterministic => "deterministic".into(),
        },
        time_of_day: day,
        classes,
        slo: slo_text(&slo, COMPLIANCE),
        slo_assumed,
        slo_error_rate_max: slo.error_rate_max,
        slo_compliance_today: slo_assumed.then(|| compliance(result, &slo, spec.warmup.as_secs_f64())),
        duration_s: end,
        warmup_s: spec.warmup.as_secs_f64(),
        interval_s: spec.interval.as_secs_f64(),
        seed: result.summary.seed,
    }
}

/// The share of a run's measured time (intervals from the warm-up on)
/// inside `slo`, judged on each interval's p99 and error rate as a run
/// with that SLO judges it (`slo`'s percentile is the review's 99th).
fn compliance(result: &RunResult, slo: &SloSpec, warmup_s: f64) -> f64 {
    let (mut total, mut lost) = (0.0, 0.0);
    for row in result.rows.iter().filter(|r| r.start.as_secs_f64() >= warmup_s) {
        let span = (row.end - row.start).as_secs_f64();
        let slow = slo
            .latency
            .is_some_and(|(_, t)| row.latency_p99_ms.is_finite() && row.latency_p99_ms > t.as_millis_f64());
        let c = &row.counters;
        let failing = slo
            .error_rate_max
            .is_some_and(|max| c.arrived > 0 && c.errors() as f64 / c.arrived as f64 > max);
        total += span;
        if slow || failing {
            lost += span;
        }
    }
    if total > 0.0 { 1.0 - lost / total } else { f64::NAN }
}

/// The traffic, the SLO and the run's settings as the review lists them;
/// `replications` is the run's.
pub fn lines(a: &Assumptions, replications: u64) -> Vec<String> {
    let at = |t: f64| clock(t, a.time_of_day);
    vec![
        format!(
            "Traffic: {} ({} arrivals); from {} at its lowest to {} at its highest, first reached at {}{}.",
            a.traffic,
            a.arrivals,
            rps(a.base_rps),
            rps(a.peak_rps),
            at(a.peak_at_s),
            if a.time_of_day {
                " (time of day: the diurnal curve's time 0 is midnight)"
            } else {
                " into the run"
            }
        ),
        format!(
            "SLO: {}{}.",
            a.slo,
            if a.slo_assumed {
                " — assumed by the review (the scenario has none): p99 within twice today's peak p99 and at most 0.1% errors"
            } else {
                ", as the scenario defines it"
            }
        ),
        format!(
            "Run: {} simulated, the first {} a warm-up left out of the measurements, intervals of {}, {} replication{}, seed {}.",
            duration_words(a.duration_s),
            duration_words(a.warmup_s),
            duration_words(a.interval_s),
            replications,
            if replications == 1 { "" } else { "s" },
            a.seed
        ),
    ]
}

/// The request classes as a table: header, then a row per class.
pub fn class_table(a: &Assumptions) -> (Vec<String>, Vec<Vec<String>>) {
    let header = [
        "class",
        "kind",
        "weight (share)",
        "CPU per request",
        "CPU mean",
        "CPU cv",
        "data access",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let rows = a
        .classes
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.kind.clone(),
                format!("{} ({}%)", short(c.weight), short(c.share * 100.0)),
                c.cpu.clone(),
                format!("{} ms", short(c.cpu_mean_ms)),
                short(c.cpu_cv),
                c.data.clone(),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_read_in_words_with_their_extremes() {
        let curve = RateCurve::Product(vec![
            RateCurve::Steps(vec![(0.0, 30.0), (600.0, 60.0)]),
            RateCurve::Spike {
                start: 900.0,
                duration: 300.0,
                rise: 60.0,
                decay: 60.0,
                multiplier: 2.0,
            },
        ]);
        assert_eq!(
            curve_words(&curve, false),
            "steps: 30 req/s from 00:00:00, 60 req/s from 00:10:00, times a ×2 spike from 00:15:00 for 5 min \
             (rise 1 min, decay 1 min)"
        );
        let (lo, hi, at) = extremes(&curve, 1800.0);
        assert_eq!((lo, hi, at), (30.0, 120.0, 960.0));
        let day = RateCurve::Diurnal {
            peak: 800.0,
            peak_to_trough: 4.0,
            peak_at: 14.0 * 3600.0,
            period: 86_400.0,
        };
        assert!(has_diurnal(&RateCurve::Sum(vec![day.clone()])));
        assert_eq!(
            curve_words(&day, true),
            "diurnal: peak 800 req/s at 14:00:00 of each 1 d period, trough 200 req/s half a period later"
        );
    }
}
