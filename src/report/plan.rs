//! The review's scaling plan, proven by simulation.
//!
//! For each growth horizon, the changes the first-order analysis calls for
//! are applied to a copy of the scenario, and the copy runs at that
//! horizon's traffic (common random numbers: the seed of today's run). If
//! the SLO does not hold, the run's own analysis names the next bottleneck
//! and its change is added, up to [`MAX_ROUNDS`] rounds. Horizons build on
//! each other: ×2 starts from what ×1.5 needed. Nothing reaches the
//! report that was not run: a horizon shows its rounds, each with its
//! simulated p99, error rate, SLO compliance and cost, and the scenario of
//! its last round is written to `plan/x<growth>.yaml` to rerun or edit.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::metrics::SloSpec;
use crate::metrics::stats::{Estimate, estimate, nan_if_null};
use crate::model::prices;
use crate::model::{RunResult, SystemSpec};
use crate::scenario::SourceFiles;

use super::analysis::{Analysis, Change, Component, analyze, peak};
use super::headroom::slo_text;

/// Rounds of change-and-run per horizon, at most.
pub const MAX_ROUNDS: usize = 6;

/// The share of intervals that must meet the SLO for a round to pass.
pub const COMPLIANCE: f64 = 0.99;

/// Replications each round runs, at least.
pub const MIN_REPLICATIONS: u32 = 3;

/// The plan: `plan.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Plan {
    /// The SLO each round is judged on, in words.
    pub slo: String,
    /// True when the scenario has no SLO and the review's default was used.
    pub slo_assumed: bool,
    pub replications: u32,
    pub horizons: Vec<Horizon>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Horizon {
    pub term: String,
    pub growth: f64,
    /// Peak offered rate at this horizon (replication 0 of its last round).
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_rps: f64,
    /// Every change this horizon makes to the scenario (the previous
    /// horizons' included), in the order they were made.
    pub changes: Vec<Step>,
    pub rounds: Vec<Round>,
    /// Whether its last round passed: the SLO met, nothing saturated.
    pub holds: bool,
    /// When it does not: why the plan stopped.
    pub stopped: Option<String>,
    /// Its last round's scenario, relative to the output folder.
    pub scenario: Option<String>,
}

/// One change, and why it was made.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Step {
    pub change: Change,
    pub text: String,
    /// The component that called for it and its state then.
    pub because: String,
    /// The horizon that made it.
    pub growth: f64,
}

/// One simulated configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Round {
    /// The changes added before this round ran.
    pub added: Vec<String>,
    pub latency_p99_ms: Estimate,
    pub error_rate: Estimate,
    pub compliance: Estimate,
    pub meets_slo: bool,
    /// Components whose demand exceeded their capacity (replication 0): a
    /// round with any does not pass, whatever its SLO (a queue's backlog
    /// grows without bound while requests stay fast).
    pub saturated: Vec<String>,
    /// Whether it passed: the SLO met and nothing saturated.
    pub passed: bool,
    /// Its first component to saturate, in words (replication 0).
    pub bottleneck: Option<String>,
    /// $/month of what it ran (replication 0), and per component.
    #[serde(deserialize_with = "nan_if_null")]
    pub cost_per_month_usd: f64,
    pub costs: Vec<(String, f64)>,
}

/// What the plan works from.
pub struct Inputs<'a> {
    /// The scenario as read, before validation.
    pub doc: &'a Value,
    /// The folder the scenario's relative file references start from.
    pub base: &'a Path,
    pub files: &'a dyn SourceFiles,
    pub spec: &'a SystemSpec,
    pub today: &'a RunResult,
    pub seed: u64,
    pub replications: u32,
}

/// The SLO a review judges by: the scenario's, else p99 within twice
/// today's peak p99 and at most 0.1% errors (`true`: assumed).
pub fn review_slo(spec: &SystemSpec, today: &RunResult) -> (SloSpec, bool) {
    if let Some(slo) = spec.slo {
        return (slo, false);
    }
    let p99 = peak(today).latency_p99_ms;
    let threshold = if p99.is_finite() && p99 > 0.0 {
        2.0 * p99
    } else {
        1000.0
    };
    let slo = SloSpec {
        latency: Some((0.99, crate::engine::SimDuration::from_secs_f64(threshold / 1000.0))),
        error_rate_max: Some(0.001),
    };
    (slo, true)
}

/// The file a horizon's scenario is written to, relative to the output folder.
pub fn scenario_file(growth: f64) -> String {
    format!("plan/x{growth}.yaml")
}

/// The scenario files a plan writes: (path under the output folder, YAML or
/// why it could not be written).
pub type PlanFiles = Vec<(String, Result<String, String>)>;

/// Builds the plan. `run` simulates a spec's replications (on the caller's threads).
pub fn prove(
    inputs: &Inputs,
    analysis: &Analysis,
    run: &dyn Fn(&SystemSpec, u64, u32) -> Vec<RunResult>,
) -> (Plan, PlanFiles) {
    let (slo, slo_assumed) = review_slo(inputs.spec, inputs.today);
    let replications = inputs.replications.max(MIN_REPLICATIONS);
    let mut doc = portable(inputs.doc, inputs.base);
    let mut changes: Vec<Step> = Vec::new();
    let mut horizons = Vec::new();
    let mut files = Vec::new();
    // What the next horizon's first-order changes are read from: the
    // analysis of the last run and the growth it ran at.
    let mut last = (analysis.clone(), 1.0);
    let growth = &inputs.spec.growth;
    for (i, &g) in growth.iter().enumerate() {
        let term = super::analysis::term(growth, i);
        let mut rounds = Vec::new();
        let mut stopped = None;
        let mut pending: Vec<Step> = first_order(&last.0, last.1, g);
        let mut holds = false;
        let mut peak_rps = f64::NAN;
        let mut scenario = None;
        for _ in 0..MAX_ROUNDS {
            let added: Vec<String> = pending.iter().map(|s| s.text.clone()).collect();
            for step in pending.drain(..) {
                if let Err(why) = apply(&mut doc, &step.change, inputs.spec) {
                    stopped = Some(format!("{} cannot be applied: {why}", step.text));
                    break;
                }
                changes.push(step);
            }
            if stopped.is_some() {
                break;
            }
            let grown = at_growth(&doc, g);
            let spec = match crate::scenario::load_document(&grown, &scenario_file(g), inputs.files) {
                Ok(s) => s.spec,
                Err(e) => {
                    stopped = Some(format!("the changed scenario is not valid: {e}"));
                    break;
                }
            };
            let mut spec = spec;
            spec.slo = Some(slo);
            let runs = run(&spec, inputs.seed, replications);
            let judged = judge(&spec, &runs, &slo);
            peak_rps = peak(&runs[0]).offered_rps;
            let bottleneck = judged.1.bottleneck.map(|b| &judged.1.components[b]);
            let saturated: Vec<String> = judged
                .1
                .components
                .iter()
                .filter(|c| c.headroom.is_some_and(|h| h < 1.0))
                .map(|c| format!("{}: {}", c.title(), c.load))
                .collect();
            let passed = judged.0.meets && saturated.is_empty();
            rounds.push(Round {
                added,
                latency_p99_ms: judged.0.p99,
                error_rate: judged.0.errors,
                compliance: judged.0.compliance,
                meets_slo: judged.0.meets,
                passed,
                saturated,
                bottleneck: bottleneck.map(|c| format!("{}: {}", c.title(), c.load)),
                cost_per_month_usd: judged.1.components.iter().map(|c| c.cost_per_month_usd).sum(),
                costs: judged
                    .1
                    .components
                    .iter()
                    .filter(|c| c.cost_per_month_usd > 0.0)
                    .map(|c| (c.title(), c.cost_per_month_usd))
                    .collect(),
            });
            scenario = Some(scenario_file(g));
            let header = format!(
                "# {} at ×{g} traffic, with the review's plan applied (capsim run --report).\n# Changes: {}\n",
                inputs.spec.name,
                if changes.is_empty() {
                    "none".to_string()
                } else {
                    changes.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("; ")
                }
            );
            let yaml = serde_saphyr::to_string(&grown).map_err(|e| format!("{e}"));
            files.push((scenario_file(g), yaml.map(|y| header + &y)));
            last = (judged.1.clone(), g);
            if passed {
                holds = true;
                break;
            }
            match bottleneck.and_then(|c| next_change(c).map(|ch| (c, ch))) {
                Some((c, change)) if !changes.iter().any(|s| s.change == change) => pending.push(Step {
                    text: change.to_string(),
                    because: format!("{}: {}", c.title(), c.load),
                    change,
                    growth: g,
                }),
                _ => {
                    stopped = Some(match bottleneck {
                        Some(c) => format!(
                            "the SLO still breaks and {} ({}) has no further change capsim can simulate",
                            c.title(),
                            c.verdict
                        ),
                        None => "the SLO breaks with nothing saturated: queueing, timeouts or errors break it".into(),
                    });
                    break;
                }
            }
        }
        if !holds && stopped.is_none() {
            stopped = Some(format!("the SLO still breaks after {MAX_ROUNDS} rounds of changes"));
        }
        horizons.push(Horizon {
            term,
            growth: g,
            peak_rps,
            changes: changes.clone(),
            rounds,
            holds,
            stopped,
            scenario,
        });
    }
    // Only each horizon's last round is kept on disk.
    let mut kept: Vec<(String, Result<String, String>)> = Vec::new();
    for (name, text) in files {
        kept.retain(|(n, _)| *n != name);
        kept.push((name, text));
    }
    let plan = Plan {
        slo: slo_text(&slo, COMPLIANCE),
        slo_assumed,
        replications,
        horizons,
    };
    (plan, kept)
}

/// The first-order changes for `horizon` from the analysis of a run at
/// `measured_at` × today's traffic, in the order components reach their ceilings.
fn first_order(analysis: &Analysis, measured_at: f64, horizon: f64) -> Vec<Step> {
    let growth = horizon / measured_at;
    let mut order: Vec<&Component> = analysis
        .components
        .iter()
        .filter(|c| c.ceiling_at.is_some_and(|at| at < growth))
        .collect();
    order.sort_by(|a, b| a.ceiling_at.unwrap().total_cmp(&b.ceiling_at.unwrap()));
    let mut steps: Vec<Step> = Vec::new();
    for c in order {
        let Some(change) = c.change(growth) else { continue };
        // A queue and its consumers' pool ask for the same change.
        if steps.iter().any(|s| s.change == change) {
            continue;
        }
        steps.push(Step {
            text: change.to_string(),
            because: format!(
                "{} reaches its {:.0}% ceiling at ×{:.2} today's traffic",
                c.title(),
                c.ceiling * 100.0,
                c.ceiling_at.unwrap() * measured_at
            ),
            change,
            growth: horizon,
        });
    }
    steps
}

/// The change that gives the bottleneck of a run that broke the SLO more
/// room: its capacity change, or, for an autoscaled pool that had room
/// but was busy at its peak (capacity came late), a higher minimum.
fn next_change(c: &Component) -> Option<Change> {
    c.change(1.0).or_else(|| {
        let p = c.pool.as_ref()?;
        let to = p.instances_needed.min(p.instances_max);
        (p.autoscaler.is_some() && c.peak_utilization >= 0.9 && to > p.instances_min).then(|| Change::Minimum {
            pool: p.name.clone(),
            from: p.instances_min,
            to,
        })
    })
}

/// Simulates each replication and judges the SLO on their mean compliance.
struct Judged {
    p99: Estimate,
    errors: Estimate,
    compliance: Estimate,
    meets: bool,
}

fn judge(spec: &SystemSpec, runs: &[RunResult], _slo: &SloSpec) -> (Judged, Analysis) {
    let of =
        |f: &dyn Fn(&RunResult) -> f64| estimate(&runs.iter().map(f).filter(|x| x.is_finite()).collect::<Vec<_>>());
    let compliance = of(&|r| r.summary.slo.as_ref().map_or(f64::NAN, |s| s.compliance));
    let judged = Judged {
        p99: of(&|r| r.summary.latency.p99_ms),
        errors: of(&|r| r.summary.requests.error_rate),
        meets: compliance.mean >= COMPLIANCE - 1e-12,
        compliance,
    };
    (judged, analyze(spec, &runs[0]))
}

/// `doc` at `growth` × its traffic, named for it.
fn at_growth(doc: &Value, growth: f64) -> Value {
    let mut grown = doc.clone();
    if growth != 1.0 {
        let rate = grown["traffic"]["rate"].take();
        grown["traffic"]["rate"] = json!({ "product": [rate, { "constant": growth }] });
    }
    if let Some(name) = grown["name"].as_str() {
        // A name is letters, digits, `-` and `_`: ×1.5 is `x1_5`.
        let suffix = format!("x{growth}").replace('.', "_");
        grown["name"] = Value::String(format!("{name}-{suffix}"));
    }
    grown
}

/// `doc` with its file references (replays, manifests) made absolute, so
/// that a copy written elsewhere still finds them.
fn portable(doc: &Value, base: &Path) -> Value {
    fn walk(v: &mut Value, base: &Path) {
        match v {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match (key.as_str(), &*child) {
                        ("manifest", Value::String(file)) => {
                            *child = Value::String(absolute(base, file));
                        }
                        ("replay", Value::Object(r)) if r.get("file").is_some_and(Value::is_string) => {
                            let file = r["file"].as_str().expect("a string").to_string();
                            child["file"] = Value::String(absolute(base, &file));
                        }
                        _ => walk(child, base),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|x| walk(x, base)),
            _ => {}
        }
    }
    let mut doc = doc.clone();
    walk(&mut doc, base);
    doc
}

fn absolute(base: &Path, file: &str) -> String {
    let joined = base.join(file);
    std::path::absolute(&joined).unwrap_or(joined).display().to_string()
}

/// The object at `path` in `doc`, made (as an empty mapping) where missing.
fn object<'a>(doc: &'a mut Value, path: &[&str]) -> Result<&'a mut serde_json::Map<String, Value>, String> {
    let mut node = doc;
    for (i, key) in path.iter().enumerate() {
        let map = node
            .as_object_mut()
            .ok_or_else(|| format!("`{}` is not a mapping", path[..i].join(".")))?;
        node = map.entry(key.to_string()).or_insert_with(|| json!({}));
    }
    node.as_object_mut()
        .ok_or_else(|| format!("`{}` is not a mapping", path.join(".")))
}

/// Gives a database server at least `to` cores. A server named by its
/// `class` moves up its family to the smallest class with that many vCPUs
/// (its cores follow the class); past the family's largest, the class is
/// dropped and the cores are priced as the smallest class that has them.
/// A price the scenario gave (`hourly_usd`) scales with the list price, or
/// with the cores without a class, so a negotiated discount carries over.
fn resize_server(server: &mut serde_json::Map<String, Value>, to: u32) {
    let class = server.get("class").and_then(Value::as_str).and_then(prices::db_class);
    let hourly = server.get("hourly_usd").and_then(Value::as_f64);
    let cores = server.get("cores").and_then(Value::as_u64);
    match class.map(|k| (k, prices::db_class_in_family_with(k.name, to))) {
        Some((old, Some(new))) => {
            server.insert("class".into(), json!(new.name));
            server.remove("cores");
            if let Some(h) = hourly {
                server.insert("hourly_usd".into(), json!(h * new.hourly_usd / old.hourly_usd));
            }
        }
        Some((old, None)) => {
            server.remove("class");
            server.insert("cores".into(), json!(to));
            if let Some(h) = hourly {
                server.insert("hourly_usd".into(), json!(h * f64::from(to) / f64::from(old.vcpu)));
            }
        }
        None => {
            server.insert("cores".into(), json!(to));
            if let (Some(h), Some(c)) = (hourly, cores.filter(|&c| c > 0)) {
                server.insert("hourly_usd".into(), json!(h * f64::from(to) / c as f64));
            }
        }
    }
}

/// Makes `change` in the scenario document.
fn apply(doc: &mut Value, change: &Change, _spec: &SystemSpec) -> Result<(), String> {
    let scaler = |doc: &mut Value, pool: &str| -> Result<String, String> {
        let autoscaler = object(doc, &["pools", pool, "autoscaler"])?;
        ["hpa", "aws", "keda"]
            .into_iter()
            .find(|k| autoscaler.contains_key(*k))
            .map(String::from)
            .ok_or_else(|| format!("pool {pool} has no autoscaler"))
    };
    match change {
        Change::Instances { pool, to, .. } => {
            object(doc, &["pools", pool])?.insert("count".into(), json!(to));
        }
        Change::Maximum { pool, to, .. } => {
            let kind = scaler(doc, pool)?;
            let field = match kind.as_str() {
                "hpa" => "max_replicas",
                "aws" => "max_size",
                _ => "max_replica_count",
            };
            object(doc, &["pools", pool, "autoscaler", &kind])?.insert(field.into(), json!(to));
            // A node pool too small for the new maximum grows with it.
            let pool_map = object(doc, &["pools", pool])?;
            if let Some(nodes) = pool_map.get_mut("node_pool").and_then(Value::as_object_mut) {
                let per = nodes.get("pods_per_node").and_then(Value::as_u64).unwrap_or(1).max(1);
                let max = nodes.get("max").and_then(Value::as_u64).unwrap_or(0);
                let wanted = u64::from(*to).div_ceil(per);
                if wanted > max {
                    nodes.insert("max".into(), json!(wanted));
                }
            }
        }
        Change::Minimum { pool, to, .. } => {
            let kind = scaler(doc, pool)?;
            let field = match kind.as_str() {
                "hpa" => "min_replicas",
                "aws" => "min_size",
                _ => "min_replica_count",
            };
            object(doc, &["pools", pool, "autoscaler", &kind])?.insert(field.into(), json!(to));
            let pool_map = object(doc, &["pools", pool])?;
            let count = pool_map.get("count").and_then(Value::as_u64).unwrap_or(0);
            if count < u64::from(*to) {
                pool_map.insert("count".into(), json!(to));
            }
        }
        Change::ReadReplicas { database, to, .. } => {
            let db = object(doc, &["databases", database])?;
            db.insert("replicas".into(), json!(to));
            db.insert("read_from".into(), json!("replicas"));
        }
        Change::DatabaseCores { database, to, .. } => {
            resize_server(object(doc, &["databases", database, "primary"])?, *to);
            let db = object(doc, &["databases", database])?;
            if let Some(replica) = db.get_mut("replica").and_then(Value::as_object_mut) {
                resize_server(replica, *to);
            }
        }
        Change::Shards { database, to, .. } => {
            object(doc, &["databases", database])?.insert("shards".into(), json!(to));
        }
        Change::CacheNodes { cache, to, .. } => {
            object(doc, &["caches", cache, "shared"])?.insert("nodes".into(), json!(to));
        }
        Change::PoolSize { database, to, .. } => {
            object(doc, &["databases", database, "pool"])?.insert("size".into(), json!(to));
        }
        Change::Pooler {
            database,
            pool_size,
            max_client_connections,
        } => {
            let pooler = object(doc, &["databases", database, "pooler"])?;
            pooler.insert("pool_size".into(), json!(pool_size));
            pooler.insert("max_client_connections".into(), json!(max_client_connections));
        }
    }
    Ok(())
}
