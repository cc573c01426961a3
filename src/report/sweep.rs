//! The files of one `capsim sweep`: `sweep.csv`, `sweep.json`, `runs.json`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::metrics::stats::{Estimate, estimate};
use crate::model::RunResult;
use crate::sweep::grid::{Point, RawObjective};

use super::files::write_atomic;
use super::run::headline;

/// One point's headline metrics over its replications.
pub struct PointSummary<'a> {
    pub point: &'a Point,
    pub seed: u64,
    pub metrics: Vec<(String, Estimate)>,
}

/// Aggregates each point's replications, serially and in order.
pub fn summarize<'a>(points: &'a [Point], seeds: &[u64], results: &[Vec<RunResult>]) -> Vec<PointSummary<'a>> {
    points
        .iter()
        .zip(seeds)
        .zip(results)
        .map(|((point, seed), runs)| {
            let per_run: Vec<Vec<(String, f64)>> = runs.iter().map(headline).collect();
            let metrics = per_run[0]
                .iter()
                .enumerate()
                .map(|(i, (name, _))| {
                    let xs: Vec<f64> = per_run.iter().map(|m| m[i].1).filter(|x| x.is_finite()).collect();
                    (name.clone(), estimate(&xs))
                })
                .collect();
            PointSummary {
                point,
                seed: *seed,
                metrics,
            }
        })
        .collect()
}

fn metric(p: &PointSummary, name: &str) -> Option<f64> {
    p.metrics.iter().find(|(n, _)| n == name).map(|(_, e)| e.mean)
}

/// The point that minimizes the objective among those meeting every constraint.
pub fn recommend<'a>(points: &'a [PointSummary<'a>], objective: &RawObjective) -> Option<&'a PointSummary<'a>> {
    points
        .iter()
        .filter(|p| {
            objective.constraints.iter().all(|c| {
                metric(p, &c.metric).is_some_and(|v| c.max.is_none_or(|m| v <= m) && c.min.is_none_or(|m| v >= m))
            })
        })
        .filter(|p| metric(p, &objective.minimize).is_some_and(f64::is_finite))
        .min_by(|a, b| {
            metric(a, &objective.minimize)
                .unwrap()
                .total_cmp(&metric(b, &objective.minimize).unwrap())
        })
}

fn num(x: f64) -> String {
    if x.is_finite() { format!("{x}") } else { String::new() }
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `sweep.csv`: one row per point: its settings, then each metric's mean and 95% CI.
pub fn sweep_csv(points: &[PointSummary]) -> String {
    let mut paths: Vec<&str> = Vec::new();
    for p in points {
        for (path, _) in &p.point.settings {
            if !paths.contains(&path.as_str()) {
                paths.push(path);
            }
        }
    }
    let mut out = String::from("point,name");
    for path in &paths {
        write!(out, ",{path}").unwrap();
    }
    for (name, _) in &points[0].metrics {
        write!(out, ",{name}_mean,{name}_ci95").unwrap();
    }
    out.push('\n');
    for p in points {
        write!(out, "{},\"{}\"", p.point.index, p.point.name.replace('"', "'")).unwrap();
        for path in &paths {
            let v = p
                .point
                .settings
                .iter()
                .find(|(s, _)| s == path)
                .map(|(_, v)| cell(v))
                .unwrap_or_default();
            write!(out, ",\"{}\"", v.replace('"', "'")).unwrap();
        }
        for (_, e) in &p.metrics {
            write!(out, ",{},{}", num(e.mean), num(e.ci95)).unwrap();
        }
        out.push('\n');
    }
    out
}

/// Writes `sweep.csv`, `sweep.json` and `runs.json` into `dir`.
pub fn write_sweep(
    dir: &Path,
    base: &str,
    replications: u32,
    crn: bool,
    points: &[PointSummary],
    objective: Option<&RawObjective>,
) -> Result<Option<usize>> {
    fs::create_dir_all(dir).with_context(|| format!("creating output folder {}", dir.display()))?;
    write_atomic(&dir.join("sweep.csv"), sweep_csv(points).as_bytes())?;
    let recommended = objective.and_then(|o| recommend(points, o));
    let settings = |p: &Point| Value::Object(p.settings.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    let json_points: Vec<Value> = points
        .iter()
        .map(|p| {
            let metrics: serde_json::Map<String, Value> = p
                .metrics
                .iter()
                .map(|(n, e)| (n.clone(), json!({ "mean": e.mean, "ci95": e.ci95, "n": e.n })))
                .collect();
            json!({ "point": p.point.index, "name": p.point.name, "settings": settings(p.point), "metrics": metrics })
        })
        .collect();
    let objective_json = objective.map(|o| {
        json!({
            "minimize": o.minimize,
            "constraints": o.constraints.iter().map(|c| json!({ "metric": c.metric, "max": c.max, "min": c.min })).collect::<Vec<_>>(),
        })
    });
    let doc = json!({
        "capsim_version": env!("CARGO_PKG_VERSION"),
        "base": base,
        "replications": replications,
        "common_random_numbers": crn,
        "objective": objective_json,
        "recommendation": recommended.map(|p| json!({ "point": p.point.index, "name": p.point.name, "settings": settings(p.point) })),
        "points": json_points,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("serializes");
    text.push('\n');
    write_atomic(&dir.join("sweep.json"), text.as_bytes())?;
    let runs: Vec<Value> = points
        .iter()
        .flat_map(|p| {
            (0..replications).map(move |r| json!({ "point": p.point.index, "replication": r, "seed": p.seed, "settings": settings(p.point) }))
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&runs).expect("serializes");
    text.push('\n');
    write_atomic(&dir.join("runs.json"), text.as_bytes())?;
    Ok(recommended.map(|p| p.point.index))
}
