//! The files of one `capsim sweep`: `sweep.csv`, `sweep.json`, `runs.json`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use serde_json::{Value, json};

use crate::engine::SimDuration;
use crate::metrics::LatencyRecorder;
use crate::metrics::stats::Estimate;
use crate::model::SystemSpec;
use crate::sweep::grid::{Point, RawObjective};

use super::charts::{Heatmap, LineChart, Series, write_chart};
use super::escape;
use super::files::write_atomic;
use super::format::num;
use super::run::{estimates, value_of};
use super::shard::ShardUnit;

/// One point's headline metrics over its replications.
#[derive(Clone)]
pub struct PointSummary<'a> {
    pub point: &'a Point,
    pub seed: u64,
    pub metrics: Vec<(String, Estimate)>,
}

/// Aggregates each point's runs (in replication order), serially: each
/// headline metric's mean and CI over replications, then the latency
/// percentiles of every response of every replication, pooled exactly by
/// merging the runs' histograms (`pooled_latency_*`; no CI: one value).
pub fn summarize<'a>(points: &'a [Point], seeds: &[u64], units: &[Vec<&ShardUnit>]) -> Result<Vec<PointSummary<'a>>> {
    points
        .iter()
        .zip(seeds)
        .zip(units)
        .map(|((point, seed), runs)| {
            let per_run: Vec<Vec<(String, f64)>> = runs.iter().map(|u| u.headline()).collect();
            let mut metrics = estimates(&per_run);
            let mut pooled = LatencyRecorder::default();
            for u in runs {
                let latency = LatencyRecorder::decode(&u.latency)
                    .map_err(|e| anyhow!("point {} replication {}: {e}", u.point, u.replication))?;
                pooled.merge(&latency);
            }
            for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p999", 0.999)] {
                let value = Estimate {
                    mean: pooled.quantile_ms(q),
                    ci95: f64::NAN,
                    n: runs.len(),
                };
                metrics.push((format!("pooled_latency_{name}_ms"), value));
            }
            Ok(PointSummary {
                point,
                seed: *seed,
                metrics,
            })
        })
        .collect()
}

/// Every metric a point of `specs` can report: the headline metrics of a
/// run of no length (so the names are the runs' own), those only a fault
/// or deploy that happened adds, and the pooled latency percentiles.
pub fn possible_metrics(specs: &[(SystemSpec, u64)]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (spec, seed) in specs {
        let mut none = spec.clone();
        none.duration = SimDuration::ZERO;
        none.warmup = SimDuration::ZERO;
        let run = crate::model::simulate(&none, *seed, 0, &mut |_| {});
        names.extend(super::run::headline(&run).into_iter().map(|(name, _)| name));
        if !spec.faults.is_empty() {
            names.extend(["faults.errors_until_recovered", "faults.time_to_recover_max_s"].map(String::from));
        }
        for k in 0..spec.deploys.len() {
            names.extend([format!("deploys.{k}.desired_peak"), format!("deploys.{k}.errors")]);
        }
    }
    names.extend(["p50", "p99", "p999"].map(|q| format!("pooled_latency_{q}_ms")));
    names
}

/// The objective's metrics no point can report, each with the names it
/// could use: found before anything runs, not after the sweep.
pub fn objective_problems(objective: &RawObjective, known: &BTreeSet<String>) -> Vec<String> {
    let named = std::iter::once(("objective.minimize".to_string(), &objective.minimize)).chain(
        objective
            .constraints
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("objective.constraints[{i}].metric"), &c.metric)),
    );
    named
        .filter(|(_, metric)| !known.contains(*metric))
        .map(|(path, metric)| {
            format!(
                "{path}: no metric `{metric}`; the metrics of this sweep's points are {}",
                crate::scenario::known_list(metric, known.iter())
            )
        })
        .collect()
}

fn metric(p: &PointSummary, name: &str) -> Option<f64> {
    p.metrics.iter().find(|(n, _)| n == name).map(|(_, e)| e.mean)
}

/// The sweep's answer: the point that minimizes the objective among those
/// meeting every constraint, and how sure that choice is.
pub struct Recommendation<'a> {
    pub point: &'a PointSummary<'a>,
    /// Other points meeting every constraint whose objective's 95% CI
    /// overlaps the recommendation's: the sweep cannot tell them apart on
    /// the objective.
    pub tied: Vec<usize>,
    /// Other points whose every metric is exactly the recommendation's: the
    /// settings they differ in did not change the run.
    pub identical: Vec<usize>,
}

/// Whether `p` meets `c` at the far end of its 95% confidence interval
/// (`mean + ci95 ≤ max`, `mean − ci95 ≥ min`), so that a point is not
/// chosen on a mean the replications cannot vouch for; with one
/// replication (no interval) the mean decides.
pub fn meets(p: &PointSummary, c: &crate::sweep::grid::RawConstraint) -> bool {
    let Some(e) = estimate(p, &c.metric) else {
        return false;
    };
    let half = if e.ci95.is_finite() { e.ci95 } else { 0.0 };
    e.mean.is_finite() && c.max.is_none_or(|m| e.mean + half <= m) && c.min.is_none_or(|m| e.mean - half >= m)
}

fn estimate<'p>(p: &'p PointSummary, name: &str) -> Option<&'p Estimate> {
    p.metrics.iter().find(|(n, _)| n == name).map(|(_, e)| e)
}

/// The recommendation: among the points meeting every constraint (at its
/// interval's bound, [`meets`]), the lowest mean of `minimize`, the first in
/// the sweep's order where means are equal; `None` when no point qualifies.
pub fn recommend<'a>(points: &'a [PointSummary<'a>], objective: &RawObjective) -> Option<Recommendation<'a>> {
    let feasible: Vec<&PointSummary> = points
        .iter()
        .filter(|p| objective.constraints.iter().all(|c| meets(p, c)))
        .filter(|p| metric(p, &objective.minimize).is_some_and(f64::is_finite))
        .collect();
    let best = *feasible.iter().min_by(|a, b| {
        metric(a, &objective.minimize)
            .unwrap()
            .total_cmp(&metric(b, &objective.minimize).unwrap())
    })?;
    let goal = estimate(best, &objective.minimize)?;
    let half = |e: &Estimate| if e.ci95.is_finite() { e.ci95 } else { 0.0 };
    let others = || feasible.iter().filter(|p| p.point.index != best.point.index);
    let tied = others()
        .filter(|p| {
            estimate(p, &objective.minimize).is_some_and(|e| (e.mean - goal.mean).abs() <= half(e) + half(goal))
        })
        .map(|p| p.point.index)
        .collect();
    let identical = points
        .iter()
        .filter(|p| p.point.index != best.point.index && same_metrics(p, best))
        .map(|p| p.point.index)
        .collect();
    Some(Recommendation {
        point: best,
        tied,
        identical,
    })
}

fn same_metrics(a: &PointSummary, b: &PointSummary) -> bool {
    a.metrics.len() == b.metrics.len()
        && a.metrics
            .iter()
            .zip(&b.metrics)
            .all(|((na, ea), (nb, eb))| na == nb && ea.mean.to_bits() == eb.mean.to_bits())
}

/// The swept paths that never changed a run: wherever two points differ
/// only in that path's value, their metrics are identical. A parameter
/// that never binds (a maximum never reached, a window longer than the run)
/// is reported so that its value is not read as a choice.
pub fn never_binding(points: &[PointSummary]) -> Vec<String> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    first
        .point
        .settings
        .iter()
        .map(|(path, _)| path)
        .filter(|path| {
            let others = |p: &PointSummary| -> Vec<(String, Value)> {
                p.point.settings.iter().filter(|(q, _)| q != *path).cloned().collect()
            };
            let mut compared = false;
            for (i, a) in points.iter().enumerate() {
                for b in &points[i + 1..] {
                    if others(a) == others(b) {
                        compared = true;
                        if !same_metrics(a, b) {
                            return false;
                        }
                    }
                }
            }
            compared
        })
        .cloned()
        .collect()
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `sweep.csv`: one row per point: its settings, then each metric's mean
/// and 95% CI, by name (a point without a metric, where points report
/// different ones, leaves its cells empty).
pub fn sweep_csv(points: &[PointSummary]) -> String {
    let mut paths: Vec<&str> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut seen = BTreeSet::new();
    for p in points {
        for (path, _) in &p.point.settings {
            if !paths.contains(&path.as_str()) {
                paths.push(path);
            }
        }
        for (name, _) in &p.metrics {
            if seen.insert(name.as_str()) {
                names.push(name);
            }
        }
    }
    let mut out = String::from("point,name");
    for path in &paths {
        write!(out, ",{}", escape::csv(path)).unwrap();
    }
    for name in &names {
        write!(out, ",{}", escape::csv(&format!("{name}_mean"))).unwrap();
        write!(out, ",{}", escape::csv(&format!("{name}_ci95"))).unwrap();
    }
    out.push('\n');
    for p in points {
        write!(out, "{},{}", p.point.index, escape::csv(&p.point.name)).unwrap();
        for path in &paths {
            let v = p
                .point
                .settings
                .iter()
                .find(|(s, _)| s == path)
                .map(|(_, v)| cell(v))
                .unwrap_or_default();
            write!(out, ",{}", escape::csv(&v)).unwrap();
        }
        for (i, name) in names.iter().enumerate() {
            match value_of(&p.metrics, i, name) {
                Some(e) => write!(out, ",{},{}", num(e.mean), num(e.ci95)).unwrap(),
                None => out.push_str(",,"),
            }
        }
        out.push('\n');
    }
    out
}

fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Sweep charts: each headline metric against the first parameter (other
/// parameters at their first value) with its 95% CI as bounds, a heatmap over
/// the first two parameters, and cost against p99 with the Pareto front and
/// the recommended point.
fn sweep_charts(dir: &Path, points: &[PointSummary], recommended: Option<usize>) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let mut params: Vec<(String, Vec<Value>)> = Vec::new();
    for p in points {
        for (path, v) in &p.point.settings {
            match params.iter_mut().find(|(q, _)| q == path) {
                Some((_, vals)) => {
                    if !vals.contains(v) {
                        vals.push(v.clone());
                    }
                }
                None => params.push((path.clone(), vec![v.clone()])),
            }
        }
    }
    let varied: Vec<&(String, Vec<Value>)> = params.iter().filter(|(_, v)| v.len() > 1).collect();
    let setting =
        |p: &PointSummary, path: &str| p.point.settings.iter().find(|(q, _)| q == path).map(|(_, v)| v.clone());
    // Points where every varied parameter but `keep` sits at its first value.
    let slice = |keep: &[&str]| -> Vec<&PointSummary> {
        points
            .iter()
            .filter(|p| {
                varied
                    .iter()
                    .all(|(path, vals)| keep.contains(&path.as_str()) || setting(p, path).as_ref() == Some(&vals[0]))
            })
            .collect()
    };
    let short = |path: &str| path.rsplit('.').next().unwrap_or(path).to_string();
    if let Some((first, _)) = varied
        .first()
        .filter(|(_, vals)| vals.iter().all(|v| numeric(v).is_some()))
    {
        let line = slice(&[first.as_str()]);
        for (metric, label, base) in [
            ("latency_p99_ms", "p99 latency (ms)", "sweep-p99"),
            ("cost_total_usd", "cost (US dollars)", "sweep-cost"),
        ] {
            let pick = |f: &dyn Fn(&Estimate) -> f64| -> Vec<(f64, f64)> {
                line.iter()
                    .filter_map(|p| {
                        let x = numeric(&setting(p, first)?)?;
                        let e = p.metrics.iter().find(|(n, _)| n == metric)?.1;
                        Some((x, f(&e)))
                    })
                    .collect()
            };
            let chart = LineChart {
                title: format!("{label} against {}", short(first)),
                x_label: short(first),
                y_label: label.into(),
                series: vec![
                    Series {
                        name: "mean".into(),
                        points: pick(&|e| e.mean),
                    },
                    Series {
                        name: "95% CI upper".into(),
                        points: pick(&|e| e.mean + e.ci95),
                    },
                    Series {
                        name: "95% CI lower".into(),
                        points: pick(&|e| e.mean - e.ci95),
                    },
                ],
                ..LineChart::default()
            };
            write_chart(dir, base, &chart)?;
            written.push(base.to_string());
        }
    }
    if let [(xp, xv), (yp, yv), ..] = varied.as_slice() {
        let grid = slice(&[xp.as_str(), yp.as_str()]);
        for (name, label, base) in [
            ("latency_p99_ms", "p99 latency (ms)", "heatmap-p99"),
            ("cost_total_usd", "cost (US dollars)", "heatmap-cost"),
        ] {
            let cells: Vec<Vec<f64>> = yv
                .iter()
                .map(|y| {
                    xv.iter()
                        .map(|x| {
                            grid.iter()
                                .find(|p| setting(p, xp).as_ref() == Some(x) && setting(p, yp).as_ref() == Some(y))
                                .and_then(|p| metric(p, name))
                                .unwrap_or(f64::NAN)
                        })
                        .collect()
                })
                .collect();
            let map = Heatmap {
                title: format!("{label} by {} and {}", short(xp), short(yp)),
                x_label: short(xp),
                y_label: short(yp),
                x_values: xv.iter().map(cell).collect(),
                y_values: yv.iter().map(cell).collect(),
                cells,
            };
            write_chart(dir, base, &map)?;
            written.push(base.to_string());
        }
    }
    // Cost against p99 for every point; the front holds the points no other beats on both.
    let xy: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((metric(p, "cost_total_usd")?, metric(p, "latency_p99_ms")?)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let mut front: Vec<(f64, f64)> = xy
        .iter()
        .copied()
        .filter(|a| !xy.iter().any(|b| b.0 <= a.0 && b.1 <= a.1 && (b.0 < a.0 || b.1 < a.1)))
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut markers = vec![Series {
        name: "points".into(),
        points: xy.clone(),
    }];
    if let Some(r) = recommended.and_then(|i| points.iter().find(|p| p.point.index == i))
        && let (Some(x), Some(y)) = (metric(r, "cost_total_usd"), metric(r, "latency_p99_ms"))
    {
        markers.push(Series {
            name: "recommended".into(),
            points: vec![(x, y)],
        });
    }
    let pareto = LineChart {
        title: "Cost against p99 latency (Pareto front)".into(),
        x_label: "cost (US dollars)".into(),
        y_label: "p99 latency (ms)".into(),
        series: vec![Series {
            name: "Pareto front".into(),
            points: front,
        }],
        markers,
        secondary: None,
        ..LineChart::default()
    };
    write_chart(dir, "pareto", &pareto)?;
    written.push("pareto".into());
    Ok(written)
}

/// Writes `sweep.csv`, `sweep.json` and `runs.json` into `dir`.
pub fn write_sweep(
    dir: &Path,
    base: &str,
    replications: u32,
    crn: bool,
    points: &[PointSummary],
    manifests: &[Vec<(String, String)>],
    objective: Option<&RawObjective>,
) -> Result<SweepAnswer> {
    fs::create_dir_all(dir).with_context(|| format!("creating output folder {}", dir.display()))?;
    write_atomic(&dir.join("sweep.csv"), sweep_csv(points).as_bytes())?;
    let recommendation = objective.and_then(|o| recommend(points, o));
    let inert = never_binding(points);
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
        "recommendation": recommendation.as_ref().map(|r| json!({
            "point": r.point.point.index,
            "name": r.point.point.name,
            "settings": settings(r.point.point),
            "tied": r.tied,
            "identical": r.identical,
        })),
        "never_binding": inert,
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
    let recommended = recommendation.as_ref().map(|r| r.point.point.index);
    // The recommended point's HPA, ready to apply.
    if let Some(i) = recommended {
        for (pool, yaml) in manifests.get(i).into_iter().flatten() {
            write_atomic(&dir.join(format!("recommended-hpa-{pool}.yaml")), yaml.as_bytes())?;
        }
    }
    if points.len() > 1 {
        sweep_charts(dir, points, recommended)?;
    }
    Ok(SweepAnswer {
        recommended,
        tied: recommendation.as_ref().map(|r| r.tied.clone()).unwrap_or_default(),
        identical: recommendation.map(|r| r.identical).unwrap_or_default(),
        never_binding: inert,
    })
}

/// What [`write_sweep`] found, for the terminal.
pub struct SweepAnswer {
    pub recommended: Option<usize>,
    pub tied: Vec<usize>,
    pub identical: Vec<usize>,
    pub never_binding: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::grid::RawConstraint;

    fn point(index: usize, max_replicas: i64, window: i64) -> Point {
        Point {
            index,
            name: format!("p{index}"),
            settings: vec![
                ("max".to_string(), json!(max_replicas)),
                ("window".to_string(), json!(window)),
            ],
            document: Value::Null,
        }
    }

    fn summary<'a>(point: &'a Point, metrics: &[(&str, f64, f64)]) -> PointSummary<'a> {
        PointSummary {
            point,
            seed: 1,
            metrics: metrics
                .iter()
                .map(|&(n, mean, ci95)| (n.to_string(), Estimate { mean, ci95, n: 5 }))
                .collect(),
        }
    }

    fn objective(max_p99: Option<f64>, min_p99: Option<f64>) -> RawObjective {
        RawObjective {
            minimize: "cost_usd".into(),
            constraints: vec![RawConstraint {
                metric: "p99_ms".into(),
                max: max_p99,
                min: min_p99,
            }],
        }
    }

    #[test]
    fn a_constraint_must_hold_at_its_intervals_bound() {
        let pts = [point(0, 4, 60), point(1, 8, 60), point(2, 16, 60)];
        let s = [
            // Mean 190 meets ≤ 200, but its interval reaches 215: not chosen.
            summary(&pts[0], &[("cost_usd", 10.0, 0.5), ("p99_ms", 190.0, 25.0)]),
            summary(&pts[1], &[("cost_usd", 12.0, 0.5), ("p99_ms", 150.0, 10.0)]),
            summary(&pts[2], &[("cost_usd", 20.0, 0.5), ("p99_ms", 100.0, 5.0)]),
        ];
        let r = recommend(&s, &objective(Some(200.0), None)).unwrap();
        assert_eq!(r.point.point.index, 1);
        // Exactly at the bound is inside.
        let r = recommend(&s, &objective(Some(215.0), None)).unwrap();
        assert_eq!(r.point.point.index, 0);
        // A minimum is held at the interval's lower end: 150 − 10 = 140 ≥ 140.
        let r = recommend(&s, &objective(None, Some(140.0))).unwrap();
        assert_eq!(r.point.point.index, 0);
        // 190 − 25 = 165 < 166, though its mean is above: none qualifies.
        assert!(recommend(&s, &objective(None, Some(166.0))).is_none());
        // The cheapest of those that qualify, whatever their order.
        let reversed = [s[2].clone(), s[1].clone(), s[0].clone()];
        let r = recommend(&reversed, &objective(Some(200.0), None)).unwrap();
        assert_eq!(r.point.point.index, 1);
    }

    #[test]
    fn one_replication_has_no_interval_and_its_mean_decides() {
        let pts = [point(0, 4, 60), point(1, 8, 60)];
        let s = [
            summary(&pts[0], &[("cost_usd", 10.0, f64::NAN), ("p99_ms", 200.0, f64::NAN)]),
            summary(&pts[1], &[("cost_usd", 12.0, f64::NAN), ("p99_ms", 150.0, f64::NAN)]),
        ];
        assert_eq!(
            recommend(&s, &objective(Some(200.0), None)).unwrap().point.point.index,
            0
        );
        assert_eq!(
            recommend(&s, &objective(Some(199.9), None)).unwrap().point.point.index,
            1
        );
        // A NaN metric never meets a constraint.
        let nan = [summary(&pts[0], &[("cost_usd", 1.0, 0.0), ("p99_ms", f64::NAN, 0.0)])];
        assert!(recommend(&nan, &objective(Some(1e9), None)).is_none());
    }

    #[test]
    fn ties_and_identical_points_are_named() {
        let pts = [point(0, 4, 60), point(1, 8, 60), point(2, 16, 60), point(3, 16, 300)];
        let s = [
            summary(&pts[0], &[("cost_usd", 10.0, 1.0), ("p99_ms", 150.0, 5.0)]),
            // 11.5 − 1.0 = 10.5 ≤ 10 + 1: the intervals overlap.
            summary(&pts[1], &[("cost_usd", 11.5, 1.0), ("p99_ms", 140.0, 5.0)]),
            // 12.1 − 1.0 = 11.1 > 11: apart.
            summary(&pts[2], &[("cost_usd", 12.1, 1.0), ("p99_ms", 130.0, 5.0)]),
            summary(&pts[3], &[("cost_usd", 10.0, 1.0), ("p99_ms", 150.0, 5.0)]),
        ];
        let r = recommend(&s, &objective(Some(200.0), None)).unwrap();
        // Equal means: the first in the sweep's order.
        assert_eq!(r.point.point.index, 0);
        assert_eq!(r.tied, [1, 3]);
        assert_eq!(r.identical, [3]);
    }

    #[test]
    fn a_parameter_that_never_changes_a_run_is_found() {
        let pts = [point(0, 4, 60), point(1, 4, 300), point(2, 8, 60), point(3, 8, 300)];
        let m = |cost: f64| [("cost_usd", cost, 0.5), ("p99_ms", 100.0, 1.0)];
        let s = [
            summary(&pts[0], &m(10.0)),
            summary(&pts[1], &m(10.0)),
            summary(&pts[2], &m(12.0)),
            summary(&pts[3], &m(12.0)),
        ];
        assert_eq!(never_binding(&s), ["window"]);
        // One pair that differs is enough for it to bind.
        let s = [
            summary(&pts[0], &m(10.0)),
            summary(&pts[1], &m(10.0)),
            summary(&pts[2], &m(12.0)),
            summary(&pts[3], &m(12.5)),
        ];
        assert!(never_binding(&s).is_empty());
        // A parameter never compared (one point) is not called inert.
        assert!(never_binding(&s[..1]).is_empty());
    }
}
