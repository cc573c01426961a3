//! The files of one `capsim compare`: `compare.csv`, `compare.json` and
//! charts with every scenario overlaid.
//!
//! The scenarios ran on common random numbers: replication `r` of each drew
//! from the same `(seed, r, purpose)` streams, so the same arrivals and
//! service demands met each design. A metric's difference is therefore taken
//! per replication (paired), which cancels the traffic's own noise.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::metrics::IntervalRow;
use crate::metrics::stats::{Estimate, estimate, paired_difference, unpaired_ci95};
use crate::model::RunResult;

use super::charts::{LineChart, Series, write_chart};
use super::files::write_atomic;
use super::format::{num, with_ci};
use super::run::headline;

/// One scenario of a comparison and its replications.
pub struct Contender<'a> {
    /// Unique among the contenders (the scenario's name, made unique).
    pub name: String,
    /// The file it came from, as given.
    pub file: String,
    pub results: &'a [RunResult],
}

/// A scenario's difference from the first (the baseline).
#[derive(Clone, Copy, Debug)]
pub struct Difference {
    /// Mean and 95% CI of the per-replication differences.
    pub paired: Estimate,
    /// The CI the same runs would give unpaired (what pairing saved).
    pub unpaired_ci95: f64,
}

/// One metric across the scenarios.
#[derive(Clone, Debug)]
pub struct MetricComparison {
    pub metric: String,
    /// Per scenario, in order.
    pub values: Vec<Estimate>,
    /// Per scenario after the first: its difference from the first.
    pub differences: Vec<Difference>,
}

/// Compares the metrics every scenario reports (in the first one's order).
pub fn compare(contenders: &[Contender]) -> Vec<MetricComparison> {
    let rows: Vec<Vec<Vec<(String, f64)>>> = contenders
        .iter()
        .map(|c| c.results.iter().map(headline).collect())
        .collect();
    let series = |s: usize, metric: &str| -> Option<Vec<f64>> {
        rows[s]
            .iter()
            .map(|run| run.iter().find(|(n, _)| n == metric).map(|(_, v)| *v))
            .collect()
    };
    rows[0][0]
        .iter()
        .filter_map(|(metric, _)| {
            let all: Vec<Vec<f64>> = (0..contenders.len())
                .map(|s| series(s, metric))
                .collect::<Option<_>>()?;
            let finite = |xs: &[f64]| xs.iter().copied().filter(|x| x.is_finite()).collect::<Vec<_>>();
            Some(MetricComparison {
                metric: metric.clone(),
                values: all.iter().map(|xs| estimate(&finite(xs))).collect(),
                differences: all[1..]
                    .iter()
                    .map(|b| Difference {
                        paired: paired_difference(&all[0], b),
                        unpaired_ci95: unpaired_ci95(&all[0], b),
                    })
                    .collect(),
            })
        })
        .collect()
}

/// `compare.csv`: one row per metric and scenario, with the paired
/// difference from the baseline (empty on the baseline's rows).
pub fn compare_csv(contenders: &[Contender], rows: &[MetricComparison]) -> String {
    let mut out = String::from("metric,scenario,mean,ci95,n,diff_vs_baseline,diff_ci95,diff_n,unpaired_diff_ci95\n");
    for m in rows {
        for (s, (c, e)) in contenders.iter().zip(&m.values).enumerate() {
            let name = super::escape::csv(&c.name);
            write!(out, "{},{name},{},{},{}", m.metric, num(e.mean), num(e.ci95), e.n).unwrap();
            match s.checked_sub(1).map(|i| &m.differences[i]) {
                Some(d) => writeln!(
                    out,
                    ",{},{},{},{}",
                    num(d.paired.mean),
                    num(d.paired.ci95),
                    d.paired.n,
                    num(d.unpaired_ci95)
                )
                .unwrap(),
                None => out.push_str(",,,,\n"),
            }
        }
    }
    out
}

fn estimate_json(e: &Estimate) -> Value {
    json!({ "mean": e.mean, "ci95": e.ci95, "n": e.n })
}

/// `compare.json`: the scenarios and, per metric, each one's estimate and
/// its paired difference from the baseline.
pub fn compare_json(seed: u64, replications: u32, contenders: &[Contender], rows: &[MetricComparison]) -> String {
    let metrics: Vec<Value> = rows
        .iter()
        .map(|m| {
            json!({
                "metric": m.metric,
                "values": contenders.iter().zip(&m.values).map(|(c, e)| {
                    json!({ "scenario": c.name, "estimate": estimate_json(e) })
                }).collect::<Vec<_>>(),
                "differences": contenders[1..].iter().zip(&m.differences).map(|(c, d)| {
                    json!({
                        "scenario": c.name,
                        "paired": estimate_json(&d.paired),
                        "unpaired_ci95": d.unpaired_ci95,
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "capsim_version": env!("CARGO_PKG_VERSION"),
        "seed": seed,
        "replications": replications,
        "common_random_numbers": true,
        "baseline": contenders[0].name,
        "scenarios": contenders.iter().map(|c| json!({ "name": c.name, "file": c.file, "folder": c.name })).collect::<Vec<_>>(),
        "metrics": metrics,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("serializes");
    text.push('\n');
    text
}

/// The table printed on the terminal.
pub fn compare_table(contenders: &[Contender], rows: &[MetricComparison]) -> String {
    let mut header = vec!["metric".to_string()];
    header.extend(contenders.iter().map(|c| c.name.clone()));
    header.extend(
        contenders[1..]
            .iter()
            .map(|c| format!("{} − {}", c.name, contenders[0].name)),
    );
    let mut table = vec![header];
    for m in rows {
        let mut line = vec![m.metric.clone()];
        line.extend(m.values.iter().map(|e| with_ci(e, false)));
        line.extend(m.differences.iter().map(|d| with_ci(&d.paired, true)));
        table.push(line);
    }
    let widths: Vec<usize> = (0..table[0].len())
        .map(|i| table.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in &table {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end()).unwrap();
    }
    out
}

/// The headline of a difference, e.g. `p99 −38 ms ± 6 ms, cost +$412/month ± $3`.
pub fn difference_line(rows: &[MetricComparison], i: usize) -> String {
    let find = |name: &str| rows.iter().find(|m| m.metric == name).map(|m| m.differences[i].paired);
    let scaled = |e: Estimate, k: f64| Estimate {
        mean: e.mean * k,
        ci95: e.ci95 * k,
        n: e.n,
    };
    let mut parts = Vec::new();
    if let Some(d) = find("latency_p99_ms") {
        parts.push(format!("p99 {} ms", with_ci(&d, true)));
    }
    if let Some(d) = find("error_rate") {
        parts.push(format!("errors {} percentage points", with_ci(&scaled(d, 100.0), true)));
    }
    if let Some(d) = find("slo_minutes_lost") {
        parts.push(format!("SLO minutes lost {}", with_ci(&d, true)));
    }
    if let Some(d) = find("faults.errors_until_recovered") {
        parts.push(format!("errors from faults {}", with_ci(&d, true)));
    }
    if let Some(d) = find("cost_per_month_usd") {
        parts.push(format!("cost {} $/month", with_ci(&d, true)));
    }
    parts.join(", ")
}

/// Writes `compare.csv`, `compare.json` and the overlaid charts into `dir`.
pub fn write_compare(
    dir: &Path,
    seed: u64,
    replications: u32,
    contenders: &[Contender],
) -> Result<Vec<MetricComparison>> {
    fs::create_dir_all(dir).with_context(|| format!("creating output folder {}", dir.display()))?;
    let rows = compare(contenders);
    write_atomic(&dir.join("compare.csv"), compare_csv(contenders, &rows).as_bytes())?;
    write_atomic(
        &dir.join("compare.json"),
        compare_json(seed, replications, contenders, &rows).as_bytes(),
    )?;
    for (base, chart) in overlaid_charts(contenders) {
        write_chart(dir, base, &chart)?;
    }
    Ok(rows)
}

/// Each scenario's first replication as one line per chart.
fn overlaid_charts(contenders: &[Contender]) -> Vec<(&'static str, LineChart)> {
    let minutes = |r: &IntervalRow| r.end.as_secs_f64() / 60.0;
    let span = |r: &IntervalRow| (r.end - r.start).as_secs_f64();
    let lines = |f: &dyn Fn(&IntervalRow) -> f64| -> Vec<Series> {
        contenders
            .iter()
            .map(|c| Series {
                name: c.name.clone(),
                points: c.results[0].rows.iter().map(|r| (minutes(r), f(r))).collect(),
            })
            .collect()
    };
    let x_label = "simulated time (min)".to_string();
    let chart = |title: &str, y_label: &str, series| LineChart {
        title: title.into(),
        x_label: x_label.clone(),
        y_label: y_label.into(),
        series,
        ..LineChart::default()
    };
    vec![
        (
            "compare-p99",
            chart(
                "p99 response time per interval",
                "latency p99 (ms)",
                lines(&|r| r.latency_p99_ms),
            ),
        ),
        (
            "compare-errors",
            chart(
                "Errors (rejected, timed out, failed) per interval",
                "errors per second",
                lines(&|r| r.counters.errors() as f64 / span(r)),
            ),
        ),
        (
            "compare-instances",
            chart(
                "Ready instances (all pools)",
                "instances",
                lines(&|r| r.pools.iter().map(|p| f64::from(p.ready)).sum()),
            ),
        ),
        (
            "compare-cost",
            chart("Cumulative cost", "US dollars", lines(&|r| r.cost_cumulative_usd)),
        ),
    ]
}
