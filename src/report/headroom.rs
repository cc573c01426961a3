//! The files of `capsim headroom`: `headroom.csv`, `headroom.json`, charts,
//! and today's run (×1) in `base/` with its analysis.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;

use crate::metrics::SloSpec;
use crate::metrics::stats::{Estimate, estimate};
use crate::model::{RunResult, SystemSpec};

use super::analysis::{Analysis, Kind, analyze, peak};
use super::charts::{LineChart, Series, write_chart};
use super::files::write_atomic;
use super::format::{num, short};

/// One multiplier's runs, judged.
pub struct Step {
    pub multiplier: f64,
    pub peak_rps: Estimate,
    pub latency_p99_ms: Estimate,
    pub error_rate: Estimate,
    pub slo_minutes_lost: Estimate,
    pub compliance: Estimate,
    pub meets_slo: bool,
    /// Per pool: CPU utilization in its busiest interval (replication 0).
    pub pool_peak_utilization: Vec<f64>,
    /// Replication 0's analysis (what saturated).
    pub analysis: Analysis,
}

/// Judges each multiplier's replications: the SLO holds where the mean
/// share of intervals inside it reaches `compliance`.
pub fn steps(specs: &[SystemSpec], multipliers: &[f64], runs: &[Vec<RunResult>], compliance: f64) -> Vec<Step> {
    multipliers
        .iter()
        .zip(runs)
        .zip(specs)
        .map(|((&m, runs), spec)| {
            let of = |f: &dyn Fn(&RunResult) -> f64| {
                estimate(&runs.iter().map(f).filter(|x| x.is_finite()).collect::<Vec<_>>())
            };
            let analysis = analyze(spec, &runs[0]);
            let slo = |r: &RunResult| r.summary.slo.as_ref().map_or(f64::NAN, |s| s.compliance);
            let compliance_estimate = of(&slo);
            Step {
                multiplier: m,
                peak_rps: of(&|r| peak(r).offered_rps),
                latency_p99_ms: of(&|r| r.summary.latency.p99_ms),
                error_rate: of(&|r| r.summary.requests.error_rate),
                slo_minutes_lost: of(&|r| r.summary.slo.as_ref().map_or(f64::NAN, |s| s.minutes_lost)),
                compliance: compliance_estimate,
                meets_slo: compliance_estimate.mean >= compliance - 1e-12,
                pool_peak_utilization: analysis
                    .components
                    .iter()
                    .filter(|c| c.kind == Kind::Pool)
                    .map(|c| c.peak_utilization)
                    .collect(),
                analysis,
            }
        })
        .collect()
}

/// What broke the SLO at a step (`Analysis::culprit`): a saturated
/// component, else a pool whose capacity arrived late, else the one with
/// the least headroom, whatever its kind, and why.
pub fn culprit(step: &Step) -> String {
    let a = &step.analysis;
    let Some(i) = a.culprit() else {
        return "nothing carried load".into();
    };
    let c = &a.components[i];
    let saturated = c.headroom.is_some_and(|h| h <= 1.0 / 0.9) || c.peak_utilization >= 0.9;
    if let Some(p) = c.pool.as_ref().filter(|p| !saturated && p.late.is_some()) {
        return format!("pool {}: {}", p.name, c.verdict);
    }
    let Some(p) = c.pool.as_ref().filter(|_| c.kind == Kind::Pool) else {
        return if saturated {
            format!("{}: {}", c.title(), c.load)
        } else {
            format!(
                "nothing saturated (closest: {}, {}); queueing, timeouts or errors broke it",
                c.title(),
                c.load
            )
        };
    };
    let cpu = format!("{:.0}% CPU in its busiest interval", c.peak_utilization * 100.0);
    if saturated && p.instances_peak >= p.instances_max {
        if p.autoscaler.is_some() {
            format!("pool {} at its maximum of {} instances, {cpu}", c.name, p.instances_max)
        } else {
            format!("pool {} on its {} fixed instances, {cpu}", c.name, p.instances_max)
        }
    } else if saturated {
        format!(
            "pool {}: {cpu} with {} of at most {} instances: capacity did not arrive in time",
            c.name, p.instances_peak, p.instances_max
        )
    } else {
        format!(
            "nothing saturated (closest: pool {}, {cpu}); queueing, timeouts or errors broke it",
            c.name
        )
    }
}

/// The component saturated at the first step that still meets the SLO, if
/// any, among work the SLO does not see (a queue's consumers, a replica's
/// apply threads): it can fall behind while requests are answered in time.
fn hidden_saturation(steps: &[Step]) -> Option<(&Step, String)> {
    steps.iter().filter(|s| s.meets_slo).find_map(|s| {
        let a = &s.analysis;
        // Only work no request waits for: a saturated pool or database on
        // the request path is what the SLO measures.
        let c = a
            .components
            .iter()
            .find(|c| matches!(c.kind, Kind::Queue | Kind::Replication) && c.saturated())?;
        Some((s, format!("{} is saturated ({})", c.title(), c.load)))
    })
}

/// The one-paragraph answer.
pub fn verdict(steps: &[Step], slo_text: &str) -> String {
    let at = |s: &Step| format!("×{} ({:.0} req/s at peak)", s.multiplier, s.peak_rps.mean);
    let mut text = slo_verdict(steps, slo_text);
    if let Some((step, what)) = hidden_saturation(steps) {
        text.push_str(&format!(
            " The SLO does not see everything: from {}, where it still holds, {what}.",
            at(step)
        ));
    }
    text
}

fn slo_verdict(steps: &[Step], slo_text: &str) -> String {
    let first_break = steps.iter().position(|s| !s.meets_slo);
    let at = |s: &Step| format!("×{} ({:.0} req/s at peak)", s.multiplier, s.peak_rps.mean);
    match first_break {
        None => format!(
            "The SLO ({slo_text}) holds at every step up to {}: no break in this range.",
            at(steps.last().expect("at least one step"))
        ),
        Some(0) => format!(
            "The SLO ({slo_text}) is already broken at the lowest step, {}: {}.",
            at(&steps[0]),
            culprit(&steps[0])
        ),
        Some(i) => {
            let mut text = format!(
                "The SLO ({slo_text}) holds up to {} and breaks at {}: {}.",
                at(&steps[i - 1]),
                at(&steps[i]),
                culprit(&steps[i])
            );
            if steps[i..].iter().any(|s| s.meets_slo) {
                text.push_str(
                    " A higher step meets it again: the margin is within run-to-run noise; add replications.",
                );
            }
            text
        }
    }
}

pub fn slo_text(slo: &SloSpec, compliance: f64) -> String {
    let mut parts = Vec::new();
    if let Some((q, t)) = slo.latency {
        parts.push(format!("p{} ≤ {} ms", short(q * 100.0), short(t.as_millis_f64())));
    }
    if let Some(e) = slo.error_rate_max {
        parts.push(format!("errors ≤ {}%", short(e * 100.0)));
    }
    format!(
        "{} in at least {}% of intervals",
        parts.join(", "),
        short(compliance * 100.0)
    )
}

/// Writes the headroom files into `dir`; returns the verdict.
#[allow(clippy::too_many_arguments)]
pub fn write_headroom(
    dir: &Path,
    scenario: &str,
    pools: &[String],
    (from, to, step): (f64, f64, f64),
    replications: u32,
    seed: u64,
    slo_text: &str,
    steps: &[Step],
) -> Result<String> {
    fs::create_dir_all(dir).with_context(|| format!("creating output folder {}", dir.display()))?;
    let mut csv = String::from(
        "multiplier,peak_rps,latency_p99_ms,latency_p99_ci95,error_rate,slo_minutes_lost,compliance,meets_slo",
    );
    for p in pools {
        write!(csv, ",{p}.peak_cpu_utilization").unwrap();
    }
    csv.push('\n');
    for s in steps {
        write!(
            csv,
            "{},{},{},{},{},{},{},{}",
            s.multiplier,
            num(s.peak_rps.mean),
            num(s.latency_p99_ms.mean),
            num(s.latency_p99_ms.ci95),
            num(s.error_rate.mean),
            num(s.slo_minutes_lost.mean),
            num(s.compliance.mean),
            u8::from(s.meets_slo)
        )
        .unwrap();
        for u in &s.pool_peak_utilization {
            write!(csv, ",{}", num(*u)).unwrap();
        }
        csv.push('\n');
    }
    write_atomic(&dir.join("headroom.csv"), csv.as_bytes())?;
    let verdict = verdict(steps, slo_text);
    let first_break = steps.iter().position(|s| !s.meets_slo);
    let est = |e: &Estimate| json!({ "mean": e.mean, "ci95": e.ci95, "n": e.n });
    let doc = json!({
        "capsim_version": env!("CARGO_PKG_VERSION"),
        "scenario": scenario,
        "seed": seed,
        "replications": replications,
        "from": from,
        "to": to,
        "step": step,
        "slo": slo_text,
        "pools": pools,
        "holds_up_to": first_break.map_or(steps.last().map(|s| s.multiplier), |i| i.checked_sub(1).map(|j| steps[j].multiplier)),
        "breaks_at": first_break.map(|i| steps[i].multiplier),
        "broken_by": first_break.map(|i| culprit(&steps[i])),
        "verdict": verdict,
        "steps": steps.iter().map(|s| json!({
            "multiplier": s.multiplier,
            "peak_rps": s.peak_rps.mean,
            "latency_p99_ms": s.latency_p99_ms.mean,
            "latency_p99": est(&s.latency_p99_ms),
            "error_rate": s.error_rate.mean,
            "slo_minutes_lost": s.slo_minutes_lost.mean,
            "compliance": est(&s.compliance),
            "meets_slo": s.meets_slo,
            "pool_peak_utilization": s.pool_peak_utilization,
        })).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("serializes");
    text.push('\n');
    write_atomic(&dir.join("headroom.json"), text.as_bytes())?;

    let xs = |f: &dyn Fn(&Step) -> f64| steps.iter().map(|s| (s.multiplier, f(s))).collect::<Vec<_>>();
    let failing: Vec<(f64, f64)> = steps
        .iter()
        .filter(|s| !s.meets_slo)
        .map(|s| (s.multiplier, s.latency_p99_ms.mean))
        .collect();
    let latency = LineChart {
        title: format!("{scenario}: p99 as traffic grows"),
        x_label: "traffic multiplier".into(),
        y_label: "latency p99 (ms), mean over replications".into(),
        series: vec![
            Series {
                name: "p99".into(),
                points: xs(&|s| s.latency_p99_ms.mean),
            },
            Series {
                name: "95% CI upper".into(),
                points: xs(&|s| s.latency_p99_ms.mean + s.latency_p99_ms.ci95.max(0.0)),
            },
        ],
        markers: [Series {
            name: "SLO broken".into(),
            points: failing,
        }]
        .into_iter()
        .filter(|s| !s.points.is_empty())
        .collect(),
        secondary: None,
        ..LineChart::default()
    };
    write_chart(dir, "headroom-latency", &latency)?;
    let utilization = LineChart {
        title: "CPU in each pool's busiest interval as traffic grows".into(),
        x_label: "traffic multiplier".into(),
        y_label: "busy / serving core-time (%)".into(),
        series: pools
            .iter()
            .enumerate()
            .map(|(i, p)| Series {
                name: p.clone(),
                points: xs(&|s| s.pool_peak_utilization[i] * 100.0),
            })
            .collect(),
        ..LineChart::default()
    };
    write_chart(dir, "headroom-utilization", &utilization)?;
    Ok(verdict)
}
