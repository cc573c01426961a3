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

use super::analysis::{Analysis, Change, Component, Kind, analyze, peak};
use super::format::duration_text;
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
    /// The pools it grew, scaled up instead of out, each simulated.
    #[serde(default)]
    pub alternatives: Vec<Alternative>,
}

/// Another design for what a horizon changed, simulated like its last
/// round with everything else the same: a pool the horizon grew run on
/// fewer, larger instances (`scale_up`); a read-bound database given a
/// cache tier instead of read replicas (`cache_tier`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Alternative {
    /// `scale_up` or `cache_tier`.
    pub kind: String,
    /// The question it answers, e.g. `Scale up or out? Pool web`.
    pub question: String,
    /// The two designs' names: the plan's, then this one's.
    pub designs: [String; 2],
    /// What it does instead, e.g. `3 × c6i.4xlarge instead of 12 × c6i.xlarge`.
    pub text: String,
    pub round: Round,
    /// For a pool: the share of its largest size one instance is, in the
    /// plan and here — what one failure takes.
    pub one_instance_share: Option<[f64; 2]>,
    /// Its scenario, relative to the output folder.
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
    /// The changes taken out before this round ran: once a horizon holds,
    /// each of its changes is tried without, and dropped when the SLO
    /// still holds (empty for other rounds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
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
    /// What each priced component other than a pool was billed as
    /// (`db.r6g.xlarge`, `3 × cache.r6g.large`), by its title.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cost_bases: Vec<(String, String)>,
    /// The oldest message any queue held after the warm-up (s), over the
    /// replications: how far consumers fell behind, which a request's
    /// latency does not show (absent without queues).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_message_s: Option<Estimate>,
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

/// Writes the SLO a review assumed into a scenario document that has none,
/// so a changed scenario rerun on its own is judged as the review judged
/// it.
pub(crate) fn carry_assumed_slo(doc: &mut Value, slo: &SloSpec) {
    let Some(map) = doc.as_object_mut() else { return };
    if map.contains_key("slo") {
        return;
    }
    let mut out = serde_json::Map::new();
    if let Some((q, threshold)) = slo.latency {
        out.insert(
            "latency".into(),
            json!({ "percentile": (q * 1e11).round() / 1e9, "threshold": duration_text(threshold.as_secs_f64()) }),
        );
    }
    if let Some(max) = slo.error_rate_max {
        out.insert("error_rate".into(), json!(max));
    }
    map.insert("slo".into(), Value::Object(out));
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
    if slo_assumed {
        carry_assumed_slo(&mut doc, &slo);
    }
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
        let (start, start_doc) = (changes.len(), doc.clone());
        for _ in 0..MAX_ROUNDS {
            let before = changes.len();
            for step in pending.drain(..) {
                if let Err(why) = apply(&mut doc, &step.change) {
                    stopped = Some(format!("{} cannot be applied: {why}", step.text));
                    break;
                }
                changes.push(step);
            }
            for step in pooler_follow_ups(&doc, &changes, g) {
                if let Err(why) = apply(&mut doc, &step.change) {
                    stopped = Some(format!("{} cannot be applied: {why}", step.text));
                    break;
                }
                changes.push(step);
            }
            let added: Vec<String> = changes[before..].iter().map(|s| s.text.clone()).collect();
            if stopped.is_some() {
                break;
            }
            let grown = at_growth(&doc, g);
            let (round, analysis, peak_at) = match simulate(&grown, &scenario_file(g), inputs, slo, replications, run) {
                Ok(ran) => ran,
                Err(why) => {
                    stopped = Some(why);
                    break;
                }
            };
            let passed = round.passed;
            peak_rps = peak_at;
            rounds.push(Round { added, ..round });
            // What broke the SLO: a saturated component, else a pool whose
            // capacity arrived late, else the first to saturate.
            let culprit = analysis.culprit().map(|b| &analysis.components[b]);
            scenario = Some(scenario_file(g));
            let yaml = serde_saphyr::to_string(&grown).map_err(|e| format!("{e}"));
            files.push((scenario_file(g), yaml.map(|y| header(inputs, g, &changes) + &y)));
            last = (analysis.clone(), g);
            if passed {
                holds = true;
                break;
            }
            match culprit.and_then(|c| next_change(c, &doc, &changes).map(|ch| (c, ch))) {
                Some((c, change)) if !changes.iter().any(|s| s.change == change) => pending.push(Step {
                    text: change.to_string(),
                    because: match change {
                        // Its capacity came late: the verdict says when, not its peak.
                        Change::Target { .. } | Change::Minimum { .. } => format!("{}: {}", c.title(), c.verdict),
                        _ => format!("{}: {}", c.title(), c.load),
                    },
                    change,
                    growth: g,
                }),
                _ => {
                    stopped = Some(match culprit {
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
        if holds {
            let grown = |doc: &Value| at_growth(doc, g);
            let mut sim = |doc: &Value| simulate(&grown(doc), &scenario_file(g), inputs, slo, replications, run).ok();
            let pruned = prune(&start_doc, (&doc, &last.0), &changes[start..], &mut sim);
            if pruned.kept != changes[start..] {
                changes.truncate(start);
                changes.extend(pruned.kept);
                doc = start_doc.clone();
                for step in &changes[start..] {
                    apply(&mut doc, &step.change).expect("applied before");
                }
                let yaml = serde_saphyr::to_string(&grown(&doc)).map_err(|e| format!("{e}"));
                files.push((scenario_file(g), yaml.map(|y| header(inputs, g, &changes) + &y)));
            }
            for (round, analysis) in pruned.trials {
                rounds.push(round);
                last = (analysis, g);
            }
        }
        let mut alternatives = Vec::new();
        if holds {
            let made: Vec<&Change> = changes.iter().filter(|s| s.growth == g).map(|s| &s.change).collect();
            for alt in candidates(&doc, &made, inputs, &last.0) {
                let file = format!("plan/x{g}-{}.yaml", alt.file);
                let grown = at_growth(&alt.doc, g);
                // A changed scenario that does not validate is not an alternative.
                let Ok((round, _, _)) = simulate(&grown, &file, inputs, slo, replications, run) else {
                    continue;
                };
                let header = format!(
                    "# {} at ×{g} traffic, with the review's plan applied, except: {}.\n",
                    inputs.spec.name, alt.text
                );
                let safe = alt
                    .file
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                let scenario = safe.then(|| {
                    let yaml = serde_saphyr::to_string(&grown).map_err(|e| format!("{e}"));
                    files.push((file.clone(), yaml.map(|y| header + &y)));
                    file
                });
                alternatives.push(Alternative {
                    kind: alt.kind,
                    question: alt.question,
                    designs: alt.designs,
                    round: Round {
                        added: vec![alt.text.clone()],
                        ..round
                    },
                    text: alt.text,
                    one_instance_share: alt.one_instance_share,
                    scenario,
                });
            }
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
            alternatives,
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

/// The comment a plan scenario file starts with.
fn header(inputs: &Inputs, g: f64, changes: &[Step]) -> String {
    format!(
        "# {} at ×{g} traffic, with the review's plan applied (capsim run --report).\n# Changes: {}\n",
        inputs.spec.name,
        if changes.is_empty() {
            "none".to_string()
        } else {
            changes.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("; ")
        }
    )
}

/// A simulated scenario: its round, the analysis of replication 0 and its
/// peak offered rate.
type Simulated = (Round, Analysis, f64);

/// What pruning a horizon left: each passing trial (its round and
/// analysis) and the changes kept, in order.
struct Pruned {
    trials: Vec<(Round, Analysis)>,
    kept: Vec<Step>,
}

/// `later` starting from `earlier`'s value, when both set the same field
/// (the same variant of the same pool, database, cache or balancer).
fn merged(earlier: &Change, later: &Change) -> Option<Change> {
    macro_rules! same {
        ($($variant:ident { $key:ident }),*) => {
            match (earlier, later) {
                $((Change::$variant { $key: a, from, .. }, Change::$variant { $key: b, to, .. }) if a == b => {
                    Some(Change::$variant { $key: a.clone(), from: *from, to: *to })
                })*
                (Change::Target { pool: a, from, .. }, Change::Target { pool: b, to, .. }) if a == b => {
                    Some(Change::Target { pool: a.clone(), from: *from, to: *to })
                }
                _ => None,
            }
        };
    }
    same!(
        Instances { pool },
        Maximum { pool },
        Minimum { pool },
        ReadReplicas { database },
        DatabaseCores { database },
        Shards { database },
        CacheNodes { cache },
        Appliers { database },
        PoolSize { database },
        Standbys { database },
        BalancerNodes { balancer }
    )
}

/// Takes out of a horizon that holds the changes it does not need. Each
/// change (`made`, applied in order to `start` to give `now`, whose run's
/// analysis is `now.1`) is tried without, earliest first: the others are
/// applied to `start` and the result simulated (`sim`); when it still
/// passes and leaves no component past its planning ceiling that was
/// within it (the margin a first-order change keeps), the change is
/// dropped for good. Taking out a pooler takes out the resizes of it that
/// follow. A change whose removal leaves the scenario as it is was
/// overridden by a later one: the two become one, from the first's value
/// to the last's, without a run. A trial that cannot be applied is skipped.
///
/// Then, where a lowered CPU target was dropped, the minimum and maximum
/// the plan raised after it (sized for instances running at that lower
/// target) are tried scaled to the target kept (`× lowered / kept`,
/// rounded up; the maximum at least one above the minimum), and kept so
/// when that passes the same way.
fn prune(
    start: &Value,
    now: (&Value, &Analysis),
    made: &[Step],
    sim: &mut dyn FnMut(&Value) -> Option<Simulated>,
) -> Pruned {
    let over = |a: &Analysis| -> Vec<String> {
        let past = a.components.iter().filter(|c| c.ceiling_at.is_some_and(|at| at < 1.0));
        past.map(|c| c.title()).collect()
    };
    let build = |kept: &[(usize, Step)]| -> Option<Value> {
        let mut doc = start.clone();
        kept.iter()
            .all(|(_, s)| apply(&mut doc, &s.change).is_ok())
            .then_some(doc)
    };
    // Each change with its place in `made`: what was decided after what.
    let mut kept: Vec<(usize, Step)> = made.iter().cloned().enumerate().collect();
    let mut current = now.0.clone();
    let mut over_now = over(now.1);
    let mut trials = Vec::new();
    let mut dropped_targets = Vec::new();
    let mut i = 0;
    while kept.len() > 1 && i < kept.len() {
        let out_of = |k: usize, s: &Step| {
            k == i
                || (k > i
                    && matches!((&kept[i].1.change, &s.change),
                        (Change::Pooler { database: a, .. }, Change::Pooler { database: b, .. }) if a == b))
        };
        let (dropped, trial): (Vec<_>, Vec<_>) =
            kept.iter().cloned().enumerate().partition(|(k, (_, s))| out_of(*k, s));
        let trial: Vec<(usize, Step)> = trial.into_iter().map(|(_, x)| x).collect();
        let Some(doc) = build(&trial) else {
            i += 1;
            continue;
        };
        if doc == current {
            // Overridden: merged into the next change of the same field,
            // or, with none, a change that changed nothing.
            let first = kept.remove(i).1;
            if let Some((_, later)) = kept[i..]
                .iter_mut()
                .find(|(_, s)| merged(&first.change, &s.change).is_some())
            {
                let change = merged(&first.change, &later.change).expect("found");
                later.text = change.to_string();
                later.change = change;
            }
            continue;
        }
        match sim(&doc) {
            Some((round, analysis, _)) if round.passed && over(&analysis).iter().all(|c| over_now.contains(c)) => {
                let removed = dropped.iter().map(|(_, (_, s))| s.text.clone()).collect();
                dropped_targets.extend(dropped.iter().filter_map(|(_, (at, s))| match &s.change {
                    Change::Target { pool, from, to } if to < from => Some((*at, pool.clone(), to / from)),
                    _ => None,
                }));
                kept = trial;
                current = doc;
                over_now = over(&analysis);
                trials.push((Round { removed, ..round }, analysis));
            }
            _ => i += 1,
        }
    }
    for (at, pool, ratio) in dropped_targets {
        let scaled = |n: u32| (f64::from(n) * ratio).ceil() as u32;
        let mut resized = kept.clone();
        let mut minimum = None;
        for (_, s) in resized.iter_mut().filter(|(k, _)| *k > at) {
            if let Change::Minimum { pool: p, from, to } = &s.change
                && *p == pool
            {
                let to = scaled(*to).max(from + 1);
                minimum = Some(to);
                s.change = Change::Minimum {
                    pool: p.clone(),
                    from: *from,
                    to,
                };
            }
        }
        for (_, s) in resized.iter_mut().filter(|(k, _)| *k > at) {
            if let Change::Maximum { pool: p, from, to } = &s.change
                && *p == pool
            {
                let to = scaled(*to).max(*from).max(minimum.map_or(0, |m| m + 1));
                s.change = Change::Maximum {
                    pool: p.clone(),
                    from: *from,
                    to,
                };
            }
        }
        let (added, removed): (Vec<String>, Vec<String>) = resized
            .iter()
            .zip(&kept)
            .filter(|((_, new), (_, old))| new.change != old.change)
            .map(|((_, new), (_, old))| (new.change.to_string(), old.text.clone()))
            .unzip();
        let Some(doc) = build(&resized) else { continue };
        if added.is_empty() || doc == current {
            continue;
        }
        if let Some((round, analysis, _)) = sim(&doc)
            && round.passed
            && over(&analysis).iter().all(|c| over_now.contains(c))
        {
            for (_, s) in &mut resized {
                s.text = s.change.to_string();
            }
            kept = resized;
            current = doc;
            over_now = over(&analysis);
            trials.push((
                Round {
                    added,
                    removed,
                    ..round
                },
                analysis,
            ));
        }
    }
    Pruned {
        trials,
        kept: kept.into_iter().map(|(_, s)| s).collect(),
    }
}

fn simulate(
    grown: &Value,
    file: &str,
    inputs: &Inputs,
    slo: SloSpec,
    replications: u32,
    run: &dyn Fn(&SystemSpec, u64, u32) -> Vec<RunResult>,
) -> Result<Simulated, String> {
    let mut spec = crate::scenario::load_document(grown, file, inputs.files)
        .map_err(|e| format!("the changed scenario is not valid: {e}"))?
        .spec;
    spec.slo = Some(slo);
    let runs = run(&spec, inputs.seed, replications);
    let (judged, analysis) = judge(&spec, &runs, &slo);
    let saturated: Vec<String> = analysis
        .components
        .iter()
        .filter(|c| c.saturated())
        .map(|c| format!("{}: {}", c.title(), c.load))
        .collect();
    let round = Round {
        added: Vec::new(),
        removed: Vec::new(),
        latency_p99_ms: judged.p99,
        error_rate: judged.errors,
        compliance: judged.compliance,
        meets_slo: judged.meets,
        passed: judged.meets && saturated.is_empty(),
        saturated,
        bottleneck: analysis
            .bottleneck
            .map(|b| &analysis.components[b])
            .map(|c| format!("{}: {}", c.title(), c.load)),
        cost_per_month_usd: analysis.components.iter().map(|c| c.cost_per_month_usd).sum(),
        costs: analysis
            .components
            .iter()
            .filter(|c| c.cost_per_month_usd > 0.0)
            .map(|c| (c.title(), c.cost_per_month_usd))
            .collect(),
        cost_bases: analysis
            .components
            .iter()
            .filter(|c| c.cost_per_month_usd > 0.0 && !c.cost_basis.is_empty())
            .map(|c| (c.title(), c.cost_basis.clone()))
            .collect(),
        oldest_message_s: (!spec.data.queues.is_empty()).then_some(judged.oldest_message),
    };
    Ok((round, analysis, peak(&runs[0]).offered_rps))
}

/// A pool document's autoscaler (`hpa`, `aws` or `keda`) and the names of
/// its minimum and maximum fields, when it has one.
fn scaler_fields(pool: &serde_json::Map<String, Value>) -> Option<(&'static str, &'static str, &'static str)> {
    let autoscaler = pool.get("autoscaler")?;
    [
        ("hpa", "min_replicas", "max_replicas"),
        ("aws", "min_size", "max_size"),
        ("keda", "min_replica_count", "max_replica_count"),
    ]
    .into_iter()
    .find(|(k, ..)| autoscaler.get(*k).is_some())
}

/// A pool scaled up: the document, what changed in words, and the share
/// one instance is of the pool's largest size before and after.
struct ScaleUp {
    doc: Value,
    text: String,
    one_instance_share: [f64; 2],
}

/// `doc` with `pool` on fewer, larger instances of its built-in type's
/// family: `k` times the cores each (a power of two, leaving at least two
/// instances where it had four or more), `⌈n / k⌉` instances, its workers
/// and autoscaler limits scaled alike. `None` when the pool's type is not
/// a built-in one (a scenario's own type, a pod size) or it runs on a node
/// pool or a mixed group, where a size is not the pool's own choice.
fn scale_up(doc: &Value, pool: &str) -> Option<ScaleUp> {
    let p = doc["pools"][pool].as_object()?;
    let kind = p["instance_type"].as_str()?;
    if doc["instance_types"].get(kind).is_some() || p.contains_key("node_pool") || p.contains_key("mixed_instances") {
        return None;
    }
    let fields = scaler_fields(p);
    let scaler = fields.map(|f| f.0);
    let (min_field, max_field) = fields.map_or(("count", "count"), |(_, min, max)| (min, max));
    let limits = |field: &str| match scaler {
        Some(k) => p["autoscaler"][k][field].as_u64(),
        None => p["count"].as_u64(),
    };
    let most = limits(max_field)?;
    let floor = if most >= 4 { 2 } else { 1 };
    let mut k = 1u64;
    while (most / (k * 2)) >= floor && k < 64 {
        k *= 2;
    }
    let big = loop {
        if k < 2 {
            return None;
        }
        if let Some(t) = crate::model::instance_type::larger_builtin(kind, k as u32) {
            break t;
        }
        k /= 2;
    };
    let shrink = |n: u64| if n == 0 { 0 } else { n.div_ceil(k) };
    let mut doc = doc.clone();
    let q = doc["pools"][pool].as_object_mut()?;
    q.insert("instance_type".into(), json!(big.name));
    if let Some(count) = q.get("count").and_then(Value::as_u64) {
        q.insert("count".into(), json!(shrink(count)));
    }
    if let Some(workers) = q.get("workers").and_then(Value::as_u64) {
        q.insert("workers".into(), json!(workers * k));
    }
    if let Some(k_name) = scaler {
        let a = q.get_mut("autoscaler")?.get_mut(k_name)?.as_object_mut()?;
        for field in [min_field, max_field] {
            if let Some(n) = a.get(field).and_then(Value::as_u64) {
                a.insert(field.into(), json!(shrink(n)));
            }
        }
    }
    // A balancer that weighs this pool against others gives each larger
    // instance k times the weight, so the pool keeps its share of the traffic.
    if let Some(balancers) = doc.get_mut("load_balancers").and_then(Value::as_object_mut) {
        for balancer in balancers.values_mut() {
            let Some(backends) = balancer.get_mut("backends").and_then(Value::as_array_mut) else {
                continue;
            };
            for backend in backends.iter_mut().filter(|b| b["pool"].as_str() == Some(pool)) {
                let weight = backend.get("weight").and_then(Value::as_u64).unwrap_or(1);
                backend["weight"] = json!(weight * k);
            }
        }
    }
    let up = shrink(most);
    let at_most = if scaler.is_some() { "at most " } else { "" };
    Some(ScaleUp {
        text: format!("{at_most}{up} × {} instead of {at_most}{most} × {kind}", big.name),
        one_instance_share: [1.0 / most as f64, 1.0 / up as f64],
        doc,
    })
}

/// An alternative design, before it is simulated.
struct Candidate {
    kind: String,
    /// Its scenario's file name under `plan/`, after the growth.
    file: String,
    question: String,
    designs: [String; 2],
    text: String,
    doc: Value,
    one_instance_share: Option<[f64; 2]>,
}

/// The alternatives to what a horizon changed (`made`), in `doc` (the
/// scenario with the plan's changes so far).
fn candidates(doc: &Value, made: &[&Change], inputs: &Inputs, analysis: &Analysis) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for change in made {
        match change {
            Change::Instances { pool, from, to } | Change::Maximum { pool, from, to } => {
                if out
                    .iter()
                    .any(|c| c.kind == "scale_up" && c.file.ends_with(pool.as_str()))
                {
                    continue;
                }
                if let Some((doc, text)) = deferred_to_queue(doc, pool, [*from, *to], inputs, analysis) {
                    out.push(Candidate {
                        kind: "queue".into(),
                        file: format!("queue-{pool}"),
                        question: format!("More instances, or the deferrable work on a queue? Pool {pool}"),
                        designs: ["more instances (the plan)".into(), "deferrable work on a queue".into()],
                        text,
                        doc,
                        one_instance_share: None,
                    });
                }
                if let Some(up) = scale_up(doc, pool) {
                    out.push(Candidate {
                        kind: "scale_up".into(),
                        file: format!("scale-up-{pool}"),
                        question: format!("Scale up or out? Pool {pool}"),
                        designs: ["scale out (the plan)".into(), "scale up".into()],
                        text: format!("pool {pool} on {}", up.text),
                        doc: up.doc,
                        one_instance_share: Some(up.one_instance_share),
                    });
                }
            }
            Change::ReadReplicas { database, from, .. } => {
                if let Some((doc, text)) = cache_tier(doc, database, *from, inputs) {
                    out.push(Candidate {
                        kind: "cache_tier".into(),
                        file: format!("cache-{database}"),
                        question: format!("Read replicas or a cache? Database {database}"),
                        designs: ["read replicas (the plan)".into(), "a cache tier instead".into()],
                        text,
                        doc,
                        one_instance_share: None,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

/// A distribution of durations in a scenario document with every duration
/// multiplied by `k` (its coefficient of variation kept). `None` for a
/// form it does not know.
fn scaled_distribution(dist: &Value, k: f64) -> Option<Value> {
    let seconds = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => crate::scenario::units::parse_duration(s).ok(),
        _ => None,
    };
    let scaled = |v: &Value| seconds(v).map(|s| duration_text(s * k));
    let (form, body) = dist.as_object().filter(|o| o.len() == 1)?.iter().next()?;
    let body = match form.as_str() {
        "constant" => scaled(body)?,
        "exponential" | "lognormal" | "gamma" | "uniform" => {
            let mut out = body.as_object()?.clone();
            for field in ["mean", "min", "max"] {
                if let Some(v) = out.get(field) {
                    let v = scaled(v)?;
                    out.insert(field.into(), v);
                }
            }
            Value::Object(out)
        }
        _ => return None,
    };
    Some(json!({ form.as_str(): body }))
}

/// A name made from `text` that a scenario accepts for a pool or a queue:
/// other characters become `-`, cut to leave room for `suffix`.
fn name_from(text: &str, suffix: &str) -> String {
    let base: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64 - suffix.len())
        .collect();
    format!("{base}{suffix}")
}

/// `doc` with the deferrable work of the classes that declare it
/// (`deferrable`) taken off the request path instead of growing `pool`
/// to `to`: each such class keeps the rest of its CPU, enqueues a message
/// to a queue of its own (`<class>-jobs`, whose job is the deferred share
/// of its CPU), consumed by a fixed pool of `pool`'s instance type
/// (`<class>-workers`, one message a core at once) sized to run that work
/// at `pool`'s ceiling at the horizon's peak. `pool` is sized for the work
/// left on it the same way, at most the `to` the plan gave it and at least
/// two where it had two or more (`from`). Taken from `analysis` (the plan's last
/// round at this horizon): the pool's offered cores, cores per instance and
/// ceiling; the classes' shares of its CPU from their weights and mean CPU.
/// `None` when no class declares deferrable work, or `pool` is not the one
/// pool client traffic reaches, or runs on a node pool, a mixed group or in
/// regions (where the workers would run is not the plan's to choose).
fn deferred_to_queue(
    doc: &Value,
    pool: &str,
    [from, to]: [u32; 2],
    inputs: &Inputs,
    analysis: &Analysis,
) -> Option<(Value, String)> {
    let classes = &inputs.spec.traffic.classes;
    let deferred: Vec<(usize, f64)> = classes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.deferrable.map(|f| (i, f)))
        .collect();
    if deferred.is_empty() || doc.get("geo").is_some() {
        return None;
    }
    let p = doc["pools"][pool].as_object()?;
    if p.contains_key("node_pool") || p.contains_key("mixed_instances") {
        return None;
    }
    // Every balancer sends to this pool alone, so every class's CPU is its.
    let balancers = doc["load_balancers"].as_object()?;
    let only_this = balancers
        .values()
        .all(|b| match b.get("backends").and_then(Value::as_array) {
            Some(backends) => backends.iter().all(|x| x["pool"].as_str() == Some(pool)),
            None => b["pool"].as_str() == Some(pool),
        });
    if balancers.is_empty() || !only_this {
        return None;
    }
    let c = analysis
        .components
        .iter()
        .find(|c| c.kind == Kind::Pool && c.name == pool)?;
    let cores = f64::from(c.pool.as_ref()?.cores_per_instance);
    let per_instance = cores * c.ceiling;
    if !(c.peak_demand.is_finite() && per_instance > 0.0) {
        return None;
    }
    let cpu = |i: usize| classes[i].weight * classes[i].cpu.mean();
    let total: f64 = (0..classes.len()).map(cpu).sum();
    if total <= 0.0 {
        return None;
    }
    let instances = |demand: f64| ((demand / per_instance).ceil() as u32).max(1);
    let mut doc = doc.clone();
    let kind = p["instance_type"].clone();
    let zones = p.get("zones").cloned();
    let mut moved = Vec::new();
    let mut left = c.peak_demand;
    for (i, f) in deferred {
        let class = &classes[i].name;
        // A name of the class's own where it has letters or digits to give
        // one, numbered where that is taken.
        let base = if class.chars().any(|c| c.is_ascii_alphanumeric()) {
            class.clone()
        } else {
            format!("class{i}")
        };
        let taken = |doc: &Value, q: &str, w: &str| doc["queues"].get(q).is_some() || doc["pools"].get(w).is_some();
        let (mut queue, mut workers) = (name_from(&base, "-jobs"), name_from(&base, "-workers"));
        if taken(&doc, &queue, &workers) {
            queue = name_from(&base, &format!("-{i}-jobs"));
            workers = name_from(&base, &format!("-{i}-workers"));
            if taken(&doc, &queue, &workers) {
                return None;
            }
        }
        let share = cpu(i) * f / total;
        left -= c.peak_demand * share;
        let n = instances(c.peak_demand * share);
        let entry = &mut doc["traffic"]["classes"][i];
        let job = scaled_distribution(&entry["cpu"], f)?;
        entry["cpu"] = scaled_distribution(&entry["cpu"], 1.0 - f)?;
        let class_doc = entry.as_object_mut()?;
        class_doc.remove("deferrable");
        let data = class_doc.entry("data").or_insert_with(|| json!({}));
        data.as_object_mut()?.insert("enqueue".into(), json!(queue));
        let mut consumers = json!({ "instance_type": kind, "count": n, "workers": cores as u32 });
        if let Some(z) = &zones {
            consumers["zones"] = z.clone();
        }
        object(&mut doc, &["pools"]).ok()?.insert(workers.clone(), consumers);
        object(&mut doc, &["queues"])
            .ok()?
            .insert(queue.clone(), json!({ "consumers": workers, "job": job }));
        moved.push(format!(
            "{:.0}% of class {class}'s CPU to queue {queue}, consumed by pool {workers} ({n} × {})",
            f * 100.0,
            kind.as_str().unwrap_or("?")
        ));
    }
    // Never below two where it had two or more: one to lose (N+1).
    let size = instances(left).max(from.min(2)).min(to);
    let q = doc["pools"][pool].as_object_mut()?;
    let mut minimum = String::new();
    let at_most = match scaler_fields(q) {
        Some((k, min, max)) => {
            let a = q.get_mut("autoscaler")?.get_mut(k)?.as_object_mut()?;
            a.insert(max.into(), json!(size));
            // A minimum raised to hold the peak holds the work left: scaled
            // alike, one below the maximum.
            if let Some(m) = a.get(min).and_then(Value::as_u64).filter(|&m| m >= u64::from(size)) {
                let kept = ((m as f64 * left / c.peak_demand).ceil() as u64).min(u64::from(size).saturating_sub(1));
                a.insert(min.into(), json!(kept));
                minimum = format!(", its minimum {kept} (from {m})");
            }
            if q.get("count")
                .and_then(Value::as_u64)
                .is_some_and(|n| n > u64::from(size))
            {
                q.insert("count".into(), json!(size));
            }
            "at most "
        }
        None => {
            q.insert("count".into(), json!(size));
            ""
        }
    };
    let text = format!(
        "pool {pool} on {at_most}{size} instance{} (the plan: {at_most}{to}){minimum}, and the deferrable work moved \
         off the request path: {}",
        if size == 1 { "" } else { "s" },
        moved.join("; ")
    );
    Some((doc, text))
}

/// Zipf exponent from which a key space is skewed enough for a cache to
/// take most reads off a database (s = 0.8 over 100,000 keys: the hottest
/// 10% draw about 60% of lookups).
const CACHE_SKEW: f64 = 0.8;

/// `doc` with the read replicas the plan gave `database` taken back to
/// `replicas_before` (and where reads went restored), and a shared cache
/// in front of it instead: every class that uses the database looks its
/// key up there first (writes delete their key, cache-aside). Sized for
/// the horizon: nodes of one thread at 25 µs a lookup, 70% busy at the
/// horizon's peak of those classes; a fifth of the key space held.
/// `None` when keys are not skewed (s < 0.8) or a class already has a cache
/// in front of it.
fn cache_tier(doc: &Value, database: &str, replicas_before: u32, inputs: &Inputs) -> Option<(Value, String)> {
    let keys = inputs.spec.traffic.keys.as_ref()?;
    if keys.zipf_s < CACHE_SKEW {
        return None;
    }
    let classes = doc["traffic"]["classes"].as_array()?;
    let users: Vec<usize> = classes
        .iter()
        .enumerate()
        .filter(|(_, c)| c["data"]["database"].as_str() == Some(database))
        .map(|(i, _)| i)
        .collect();
    if users.is_empty() || users.iter().any(|&i| classes[i]["data"].get("caches").is_some()) {
        return None;
    }
    let name = format!("{database}-cache");
    if doc["caches"].get(&name).is_some() {
        return None;
    }
    // The classes' share of today's peak, grown to the last horizon at most.
    let spec = inputs.spec;
    let total: f64 = spec.traffic.classes.iter().map(|c| c.weight).sum();
    let share: f64 = users
        .iter()
        .filter_map(|&i| spec.traffic.classes.get(i))
        .map(|c| c.weight)
        .sum::<f64>()
        / total;
    let growth = spec.growth.iter().copied().fold(1.0, f64::max);
    let lookups = peak(inputs.today).offered_rps * share * growth;
    let nodes = ((lookups * 25e-6 / super::analysis::DEFAULT_CEILING).ceil() as u64).max(1);
    let capacity = (keys.count / 5 / nodes).max(1);
    let mut doc = doc.clone();
    let db = object(&mut doc, &["databases", database]).ok()?;
    db.insert("replicas".into(), json!(replicas_before));
    let original = inputs.doc["databases"][database].get("read_from").cloned();
    match original {
        Some(v) => db.insert("read_from".into(), v),
        None => db.remove("read_from"),
    };
    object(&mut doc, &["caches"]).ok()?.insert(
        name.clone(),
        json!({
            "shared": { "nodes": nodes, "threads": 1, "service": { "constant": "25us" }, "rtt": "400us" },
            "capacity": capacity,
            "ttl": "5m",
        }),
    );
    for i in users {
        let data = doc["traffic"]["classes"][i]["data"].as_object_mut()?;
        data.insert("caches".into(), json!([name]));
    }
    let text = format!(
        "a shared cache {name} ({nodes} node{} of {capacity} entries, 5 min TTL, writes delete their key) in front of \
         database {database}, {}",
        if nodes == 1 { "" } else { "s" },
        match replicas_before {
            0 => "and no read replica".to_string(),
            1 => "keeping its 1 read replica".to_string(),
            n => format!("keeping its {n} read replicas"),
        },
    );
    Some((doc, text))
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

/// The lowest CPU target (%) the plan lowers an autoscaler's to: below it,
/// a minimum that holds the surge is the cheaper way to have capacity on hand.
const LOWEST_TARGET: f64 = 30.0;

/// The change that gives the component that broke a run's SLO more room:
/// its capacity change, or, for an autoscaled pool whose maximum had room
/// (capacity came late: the SLO broke while it scaled), a way to have
/// capacity on hand sooner. `made` is what the plan has changed so far.
///
/// A lower CPU target comes first when the surge fits under it (the ready
/// instances, run at the lower target before it, would have held the work
/// offered when they ran out) and the plan has not lowered it yet; else a
/// higher minimum, sized for the peak and kept below the maximum so the
/// autoscaler still has room to act.
fn next_change(c: &Component, doc: &Value, made: &[Step]) -> Option<Change> {
    if let Some(change) = c.change(1.0) {
        return Some(change);
    }
    let p = c.pool.as_ref()?;
    p.autoscaler.as_ref()?;
    if p.time_at_max_s > 0.0 {
        // It sat at its maximum: more room, as its verdict says.
        return Some(Change::Maximum {
            pool: p.name.clone(),
            from: p.instances_max,
            to: p.instances_needed.max(p.instances_max + 1),
        });
    }
    let lowered = made
        .iter()
        .any(|s| matches!(&s.change, Change::Target { pool, .. } if *pool == p.name));
    let surge = p.late.as_ref().map(|l| l.overload).filter(|x| x.is_finite());
    if let (Some(from), Some(surge), false) = (p.cpu_target, surge, lowered) {
        // The target at which the instances ready before the surge had
        // the spare capacity it took, rounded down to a multiple of 5.
        let to = ((from / surge.max(1.0)).min(from - 5.0) / 5.0).floor() * 5.0;
        if to >= LOWEST_TARGET && cpu_target(doc, &p.name).is_some() {
            return Some(Change::Target {
                pool: p.name.clone(),
                from,
                to,
            });
        }
    }
    let to = p.instances_needed.min(p.instances_max.saturating_sub(1));
    (to > p.instances_min).then(|| Change::Minimum {
        pool: p.name.clone(),
        from: p.instances_min,
        to,
    })
}

/// The poolers the plan added (`made`), resized where the app instances
/// the scenario now allows could open more client connections than the
/// pooler admits (each instance's pool size × every pool's most
/// instances): a pooler sized for one horizon's instances must not refuse
/// the next horizon's.
fn pooler_follow_ups(doc: &Value, made: &[Step], growth: f64) -> Vec<Step> {
    let instances: u64 = doc["pools"]
        .as_object()
        .into_iter()
        .flat_map(|pools| pools.values())
        .filter_map(|p| {
            let p = p.as_object()?;
            match scaler_fields(p) {
                Some((kind, _, max)) => p["autoscaler"][kind][max].as_u64(),
                None => p.get("count").and_then(Value::as_u64),
            }
        })
        .sum();
    let mut out = Vec::new();
    for step in made {
        let Change::Pooler { database, .. } = &step.change else {
            continue;
        };
        if out
            .iter()
            .any(|s: &Step| matches!(&s.change, Change::Pooler { database: d, .. } if d == database))
        {
            continue;
        }
        let db = &doc["databases"][database.as_str()];
        let per_instance = db["pool"]["size"]
            .as_u64()
            .unwrap_or(u64::from(crate::scenario::DEFAULT_POOL_SIZE));
        let Some(admits) = db["pooler"]["max_client_connections"].as_u64() else {
            continue;
        };
        let wanted = per_instance.saturating_mul(instances);
        if wanted <= admits {
            continue;
        }
        let to = u32::try_from(wanted).unwrap_or(u32::MAX);
        let pool_size = db["pooler"]["pool_size"].as_u64().map_or(0, |n| n as u32);
        out.push(Step {
            text: format!(
                "let the pooler of database {database} admit {to} client connections (from {admits}): \
                 {per_instance} from each of the {instances} app instances the scenario now allows"
            ),
            because: format!("database {database}'s pooler would refuse the app instances the plan added"),
            change: Change::Pooler {
                database: database.clone(),
                pool_size,
                max_client_connections: to,
                from: Some([pool_size, u32::try_from(admits).unwrap_or(u32::MAX)]),
            },
            growth,
        });
    }
    out
}

/// Where the CPU target of `pool`'s autoscaler is in a scenario document,
/// as a JSON pointer: an HPA's CPU `average_utilization` or an AWS
/// target-tracking policy's CPU `target` (`None` when it has neither, e.g.
/// an HPA from a manifest).
fn cpu_target(doc: &Value, pool: &str) -> Option<String> {
    let scaler = &doc.get("pools")?.get(pool)?.get("autoscaler")?;
    let at = |path: String| {
        Some(format!(
            "/pools/{}/autoscaler/{path}",
            pool.replace('~', "~0").replace('/', "~1")
        ))
    };
    if let Some(hpa) = scaler.get("hpa") {
        let i = hpa.get("metrics")?.as_array()?.iter().position(|m| {
            m["resource"]["name"].as_str() == Some("cpu")
                && m["resource"]["target"].get("average_utilization").is_some()
        })?;
        return at(format!("hpa/metrics/{i}/resource/target/average_utilization"));
    }
    let i = scaler.get("aws")?.get("policies")?.as_array()?.iter().position(|p| {
        p["target_tracking"]["metric"].as_str() == Some("cpu_utilization")
            && p["target_tracking"].get("target").is_some()
    })?;
    at(format!("aws/policies/{i}/target_tracking/target"))
}

/// Simulates each replication and judges the SLO on their mean compliance.
struct Judged {
    p99: Estimate,
    errors: Estimate,
    compliance: Estimate,
    meets: bool,
    oldest_message: Estimate,
}

/// The oldest message any queue held in a run's intervals after the
/// warm-up (s; NaN without queues).
fn oldest_message(r: &RunResult) -> f64 {
    r.rows
        .iter()
        .filter(|row| row.start.as_secs_f64() >= r.summary.warmup_s)
        .filter_map(|row| row.data.as_ref())
        .flat_map(|d| d.queues.iter().map(|q| q.oldest_age_s))
        .fold(f64::NAN, f64::max)
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
        oldest_message: of(&oldest_message),
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
pub(crate) fn portable(doc: &Value, base: &Path) -> Value {
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
pub(crate) fn apply(doc: &mut Value, change: &Change) -> Result<(), String> {
    // The pool's autoscaler and its (minimum, maximum) field names.
    let scaler = |doc: &mut Value, pool: &str| -> Result<(&'static str, &'static str, &'static str), String> {
        scaler_fields(object(doc, &["pools", pool])?).ok_or_else(|| format!("pool {pool} has no autoscaler"))
    };
    match change {
        Change::Instances { pool, to, .. } => {
            object(doc, &["pools", pool])?.insert("count".into(), json!(to));
        }
        Change::Maximum { pool, to, .. } => {
            let (kind, _, field) = scaler(doc, pool)?;
            object(doc, &["pools", pool, "autoscaler", kind])?.insert(field.into(), json!(to));
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
            let (kind, field, _) = scaler(doc, pool)?;
            object(doc, &["pools", pool, "autoscaler", kind])?.insert(field.into(), json!(to));
            let pool_map = object(doc, &["pools", pool])?;
            let count = pool_map.get("count").and_then(Value::as_u64).unwrap_or(0);
            if count < u64::from(*to) {
                pool_map.insert("count".into(), json!(to));
            }
        }
        Change::Target { pool, to, .. } => {
            let target = cpu_target(doc, pool)
                .and_then(|at| doc.pointer_mut(&at))
                .ok_or_else(|| format!("pool {pool}'s autoscaler tracks no CPU target"))?;
            // An HPA's utilization is a whole percentage.
            *target = if target.is_u64() { json!(*to as u64) } else { json!(to) };
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
        Change::Appliers { database, to, .. } => {
            object(doc, &["databases", database, "replication"])?.insert("appliers".into(), json!(to));
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
            ..
        } => {
            let pooler = object(doc, &["databases", database, "pooler"])?;
            pooler.insert("pool_size".into(), json!(pool_size));
            pooler.insert("max_client_connections".into(), json!(max_client_connections));
        }
        Change::Zones { pool, to, .. } => {
            object(doc, &["pools", pool])?.insert("zones".into(), json!(to));
        }
        Change::Standbys { database, to, .. } => {
            let db = object(doc, &["databases", database])?;
            db.insert("replicas".into(), json!(to));
            // Replicas take the reads by default: a standby must not.
            db.entry("read_from").or_insert_with(|| json!("primary"));
        }
        Change::BalancerNodes { balancer, to, .. } => {
            object(doc, &["load_balancers", balancer])?.insert("nodes".into(), json!(to));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_up_divides_an_autoscalers_limits_and_multiplies_workers() {
        let doc = json!({
            "pools": { "api": {
                "instance_type": "c6i.large", "count": 6, "workers": 16,
                "autoscaler": { "hpa": { "min_replicas": 6, "max_replicas": 30 } }
            } }
        });
        let up = scale_up(&doc, "api").unwrap();
        // 30 → at most 8× per instance, leaving at least two: c6i.4xlarge.
        assert_eq!(up.doc["pools"]["api"]["instance_type"], "c6i.4xlarge");
        assert_eq!(up.doc["pools"]["api"]["count"], 1);
        assert_eq!(up.doc["pools"]["api"]["workers"], 128);
        assert_eq!(up.doc["pools"]["api"]["autoscaler"]["hpa"]["min_replicas"], 1);
        assert_eq!(up.doc["pools"]["api"]["autoscaler"]["hpa"]["max_replicas"], 4);
        assert_eq!(up.text, "at most 4 × c6i.4xlarge instead of at most 30 × c6i.large");
        assert_eq!(up.one_instance_share, [1.0 / 30.0, 0.25]);
    }

    #[test]
    fn scaling_up_a_weighted_backend_multiplies_its_weight() {
        let doc = json!({
            "load_balancers": { "lb": { "policy": "weighted_round_robin", "backends": [
                { "pool": "api", "weight": 3 }, { "pool": "old" }
            ] } },
            "pools": {
                "api": { "instance_type": "c6i.large", "count": 8 },
                "old": { "instance_type": "m5.large", "count": 2 }
            }
        });
        let up = scale_up(&doc, "api").unwrap();
        // 8 → 2 × c6i.2xlarge: each instance 4× the cores and 4× the weight.
        assert_eq!(up.doc["pools"]["api"]["instance_type"], "c6i.2xlarge");
        let backends = &up.doc["load_balancers"]["lb"]["backends"];
        assert_eq!(backends[0]["weight"], 12);
        assert_eq!(backends[1], json!({ "pool": "old" }));
    }

    #[test]
    fn a_pooler_the_plan_added_admits_the_instances_later_horizons_allow() {
        let mut doc = json!({
            "pools": {
                "api": { "instance_type": "c6i.large", "count": 6,
                         "autoscaler": { "hpa": { "min_replicas": 6, "max_replicas": 41 } } },
                "jobs": { "instance_type": "c6i.large", "count": 2 }
            },
            "databases": { "db": { "pool": { "size": 16 },
                                   "pooler": { "pool_size": 20, "max_client_connections": 688 } } }
        });
        let added = Step {
            text: String::new(),
            because: String::new(),
            change: Change::Pooler {
                database: "db".into(),
                pool_size: 20,
                max_client_connections: 688,
                from: None,
            },
            growth: 1.5,
        };
        // 16 × (41 + 2) = 688: it admits them all.
        assert!(pooler_follow_ups(&doc, std::slice::from_ref(&added), 2.0).is_empty());
        // The next horizon raises the maximum to 48: 16 × 50 = 800.
        doc["pools"]["api"]["autoscaler"]["hpa"]["max_replicas"] = json!(48);
        let follow = pooler_follow_ups(&doc, &[added], 2.0);
        assert_eq!(follow.len(), 1);
        assert_eq!(
            follow[0].change,
            Change::Pooler {
                database: "db".into(),
                pool_size: 20,
                max_client_connections: 800,
                from: Some([20, 688]),
            }
        );
        apply(&mut doc, &follow[0].change).unwrap();
        assert_eq!(doc["databases"]["db"]["pooler"]["max_client_connections"], 800);
        // A pooler of the scenario's own is left as it is.
        assert!(pooler_follow_ups(&doc, &[], 2.0).is_empty());
    }

    /// A round and an analysis for `prune`'s simulator: whether it passed,
    /// and the components past their ceiling (`ceiling_at` 0.9) or within it.
    fn outcome(passed: bool, past: &[&str], within: &[&str]) -> Simulated {
        let component = |name: &&str, at: f64| Component {
            ceiling_at: Some(at),
            ..Component::new(crate::report::analysis::Kind::Pool, name)
        };
        let components = past
            .iter()
            .map(|n| component(n, 0.9))
            .chain(within.iter().map(|n| component(n, 2.0)));
        let analysis = Analysis {
            scenario: "s".into(),
            peak: crate::report::analysis::Peak {
                start_s: 0.0,
                end_s: 60.0,
                offered_rps: 100.0,
                latency_p99_ms: 10.0,
                error_rate: 0.0,
            },
            components: components.collect(),
            bottleneck: None,
            plan: Vec::new(),
            topology: Vec::new(),
            assumptions: None,
            autoscaling: Vec::new(),
        };
        let e = crate::metrics::stats::estimate(&[0.0]);
        let round = Round {
            added: Vec::new(),
            removed: Vec::new(),
            latency_p99_ms: e,
            error_rate: e,
            compliance: e,
            meets_slo: passed,
            saturated: Vec::new(),
            passed,
            bottleneck: None,
            cost_per_month_usd: 0.0,
            costs: Vec::new(),
            cost_bases: Vec::new(),
            oldest_message_s: None,
        };
        (round, analysis, 100.0)
    }

    fn step(change: Change) -> Step {
        Step {
            text: change.to_string(),
            because: String::new(),
            change,
            growth: 2.0,
        }
    }

    #[test]
    fn a_horizon_drops_the_changes_its_slo_holds_without() {
        let start = json!({
            "pools": {
                "api": { "instance_type": "c6i.large", "count": 2,
                         "autoscaler": { "hpa": { "min_replicas": 2, "max_replicas": 10 } } },
                "jobs": { "instance_type": "c6i.large", "count": 2 }
            },
            "databases": { "db": {} }
        });
        let made = vec![
            // Raised first, not needed: the SLO holds at a maximum of 20 alone.
            step(Change::Minimum {
                pool: "api".into(),
                from: 2,
                to: 6,
            }),
            step(Change::Maximum {
                pool: "api".into(),
                from: 10,
                to: 20,
            }),
            // Needed for its margin: without it, pool jobs runs past its ceiling.
            step(Change::Instances {
                pool: "jobs".into(),
                from: 2,
                to: 3,
            }),
            // A pooler and its resize go together.
            step(Change::Pooler {
                database: "db".into(),
                pool_size: 8,
                max_client_connections: 100,
                from: None,
            }),
            step(Change::Pooler {
                database: "db".into(),
                pool_size: 8,
                max_client_connections: 200,
                from: Some([8, 100]),
            }),
        ];
        let mut now = start.clone();
        for s in &made {
            apply(&mut now, &s.change).unwrap();
        }
        let mut tried = Vec::new();
        let mut sim = |doc: &Value| {
            tried.push(doc.clone());
            let api = &doc["pools"]["api"]["autoscaler"]["hpa"];
            let jobs = doc["pools"]["jobs"]["count"].as_u64().unwrap();
            let passed = api["max_replicas"] == 20;
            let past: &[&str] = if jobs < 3 { &["jobs"] } else { &[] };
            Some(outcome(passed, past, &["api"]))
        };
        let pruned = prune(&start, (&now, &outcome(true, &[], &["api", "jobs"]).1), &made, &mut sim);
        let trials = &pruned.trials;
        // Without the minimum: passes. Without the maximum: fails. Without
        // jobs' instance: passes, but jobs goes past its ceiling. Without
        // the pooler (and its resize): passes. Without the resize alone
        // is not tried again: the pooler went with it.
        assert_eq!(tried.len(), 4);
        let removed: Vec<Vec<String>> = trials.iter().map(|t| t.0.removed.clone()).collect();
        assert_eq!(
            removed,
            vec![
                vec![made[0].text.clone()],
                vec![made[3].text.clone(), made[4].text.clone()]
            ]
        );
        assert_eq!(pruned.kept, vec![made[1].clone(), made[2].clone()]);
        assert!(trials.iter().all(|t| t.0.passed));
    }

    /// A lowered target (75% → 40%) made the plan size the minimum and
    /// maximum it raised next for pods at 40%; once the raised minimum
    /// holds the peak without the lower target, both are tried scaled back
    /// to 75% (× 40 / 75) and kept so when that holds too.
    #[test]
    fn sizes_made_for_a_dropped_target_are_scaled_to_the_target_kept() {
        let start = json!({ "pools": { "api": { "instance_type": "c6i.large", "count": 3, "autoscaler": { "hpa": {
            "min_replicas": 3, "max_replicas": 40,
            "metrics": [ { "resource": { "name": "cpu", "target": { "average_utilization": 75 } } } ] } } } } });
        let made = vec![
            step(Change::Maximum {
                pool: "api".into(),
                from: 40,
                to: 67,
            }),
            step(Change::Target {
                pool: "api".into(),
                from: 75.0,
                to: 40.0,
            }),
            step(Change::Maximum {
                pool: "api".into(),
                from: 67,
                to: 136,
            }),
            step(Change::Minimum {
                pool: "api".into(),
                from: 3,
                to: 135,
            }),
        ];
        let mut now = start.clone();
        for s in &made {
            apply(&mut now, &s.change).unwrap();
        }
        let mut tried = Vec::new();
        // Holds with a minimum of 70 or more, whatever the target.
        let mut sim = |doc: &Value| {
            let hpa = &doc["pools"]["api"]["autoscaler"]["hpa"];
            tried.push((
                hpa["min_replicas"].as_u64().unwrap(),
                hpa["max_replicas"].as_u64().unwrap(),
                hpa["metrics"][0]["resource"]["target"]["average_utilization"]
                    .as_u64()
                    .unwrap(),
            ));
            let (min, max) = (
                hpa["min_replicas"].as_u64().unwrap(),
                hpa["max_replicas"].as_u64().unwrap(),
            );
            // A minimum above the maximum does not validate: no run.
            (min <= max).then(|| outcome(min >= 70, &[], &[]))
        };
        let pruned = prune(&start, (&now, &outcome(true, &[], &[]).1), &made, &mut sim);
        // The first maximum merges into the second without a run; without
        // the target: holds; without the maximum: the minimum is above it,
        // which does not validate; without the minimum: fails; then
        // 135 × 40/75 = 72 and 136 × 40/75 = 73.
        assert_eq!(tried.first(), Some(&(135, 136, 75)));
        assert_eq!(tried.last(), Some(&(72, 73, 75)));
        let texts: Vec<String> = pruned.kept.iter().map(|s| s.text.clone()).collect();
        assert_eq!(
            texts,
            [
                "raise the autoscaler maximum of pool api from 40 to 73",
                "raise the autoscaler minimum of pool api from 3 to 72"
            ]
        );
        let last = &pruned.trials.last().unwrap().0;
        assert_eq!(
            last.added,
            [
                "raise the autoscaler maximum of pool api from 40 to 73",
                "raise the autoscaler minimum of pool api from 3 to 72"
            ]
        );
        assert_eq!(
            last.removed,
            [
                "raise the autoscaler maximum of pool api from 40 to 136",
                "raise the autoscaler minimum of pool api from 3 to 135"
            ]
        );
    }

    #[test]
    fn a_change_a_later_one_overrides_is_merged_into_it_without_a_run() {
        let start = json!({ "pools": { "api": { "instance_type": "c6i.large", "count": 2 } } });
        // The second sets the same field: without the first, the scenario is the same.
        let made = vec![
            step(Change::Instances {
                pool: "api".into(),
                from: 2,
                to: 3,
            }),
            step(Change::Instances {
                pool: "api".into(),
                from: 3,
                to: 4,
            }),
        ];
        let mut now = start.clone();
        for s in &made {
            apply(&mut now, &s.change).unwrap();
        }
        let mut runs = 0;
        let mut sim = |doc: &Value| {
            runs += 1;
            Some(outcome(doc["pools"]["api"]["count"] == 4, &[], &[]))
        };
        let pruned = prune(&start, (&now, &outcome(true, &[], &[]).1), &made, &mut sim);
        // One change from 2 to 4, and nothing left to try without it.
        assert_eq!(
            pruned.kept,
            vec![Step {
                text: "grow pool api from 2 to 4 instances".into(),
                ..step(Change::Instances {
                    pool: "api".into(),
                    from: 2,
                    to: 4,
                })
            }]
        );
        assert!(pruned.trials.is_empty());
        assert_eq!(runs, 0);
    }

    /// An HPA pool (2–10, CPU 60% on one-core pods) whose capacity arrived
    /// late: 6 pods hold its peak at the target.
    fn late_pool(time_at_max_s: f64, overload: f64) -> Component {
        Component {
            ceiling: 0.6,
            headroom: Some(10.0 / 3.3),
            ceiling_at: Some(6.0 / 3.3),
            pool: Some(crate::report::analysis::PoolDetail {
                name: "api".into(),
                instance_type: "pod".into(),
                cores_per_instance: 1,
                hourly_usd: 0.04,
                instances_initial: 2,
                instances_min: 2,
                instances_peak: 10,
                instances_max: 10,
                autoscaler: Some("HPA 2–10, cpu 60%".into()),
                scaler: Some("hpa".into()),
                node_pool: None,
                peak_queue: 0.0,
                time_at_max_s,
                instances_needed: 6,
                cpu_target: Some(60.0),
                late: Some(crate::report::analysis::Late {
                    at_s: 600.0,
                    ready: 2,
                    utilization: 1.0,
                    waiting: 30.0,
                    overload,
                    intervals: 2,
                    time_of_day: false,
                }),
            }),
            ..Component::new(crate::report::analysis::Kind::Pool, "api")
        }
    }

    #[test]
    fn late_capacity_gets_more_room_a_lower_target_or_a_higher_minimum() {
        let doc = json!({ "pools": { "api": { "autoscaler": { "hpa": {
            "min_replicas": 2, "max_replicas": 10,
            "metrics": [ { "resource": { "name": "cpu", "target": { "average_utilization": 60 } } } ]
        } } } } });
        let target = |from: f64, to: f64| Change::Target {
            pool: "api".into(),
            from,
            to,
        };
        // 1.5× the ready cores' work: 60% / 1.5 = 40%.
        assert_eq!(next_change(&late_pool(0.0, 1.5), &doc, &[]), Some(target(60.0, 40.0)));
        // Barely over: at least 5 points lower.
        assert_eq!(next_change(&late_pool(0.0, 1.01), &doc, &[]), Some(target(60.0, 55.0)));
        // 2.5×: 24% is below the lowest target, so a minimum below the maximum.
        let minimum = Change::Minimum {
            pool: "api".into(),
            from: 2,
            to: 6,
        };
        assert_eq!(next_change(&late_pool(0.0, 2.5), &doc, &[]), Some(minimum.clone()));
        // Lowered once already: the minimum next.
        let lowered = Step {
            text: String::new(),
            because: String::new(),
            change: target(60.0, 40.0),
            growth: 1.5,
        };
        assert_eq!(next_change(&late_pool(0.0, 1.5), &doc, &[lowered]), Some(minimum));
        // An HPA from a manifest has no target in the document to lower.
        let manifest = json!({ "pools": { "api": { "autoscaler": { "hpa": { "manifest": "hpa.yaml" } } } } });
        assert!(matches!(
            next_change(&late_pool(0.0, 1.5), &manifest, &[]),
            Some(Change::Minimum { to: 6, .. })
        ));
        // An AWS target-tracking CPU policy is lowered the same way, in place.
        let mut aws = json!({ "pools": { "api": { "autoscaler": { "aws": { "min_size": 2, "max_size": 10, "policies": [
            { "step_scaling": {} },
            { "target_tracking": { "metric": "cpu_utilization", "target": 60 } }
        ] } } } } });
        let change = next_change(&late_pool(0.0, 1.5), &aws, &[]).unwrap();
        assert_eq!(change, target(60.0, 40.0));
        apply(&mut aws, &change).unwrap();
        assert_eq!(
            aws["pools"]["api"]["autoscaler"]["aws"]["policies"][1]["target_tracking"]["target"],
            40
        );
        // It sat at its maximum: more room first.
        assert_eq!(
            next_change(&late_pool(120.0, 1.5), &doc, &[]),
            Some(Change::Maximum {
                pool: "api".into(),
                from: 10,
                to: 11
            })
        );
        // Needing its maximum or more, the minimum stays one below it.
        let mut big = late_pool(0.0, 3.0);
        big.pool.as_mut().unwrap().instances_needed = 10;
        assert!(matches!(
            next_change(&big, &doc, &[]),
            Some(Change::Minimum { to: 9, .. })
        ));
    }

    #[test]
    fn a_distribution_is_scaled_in_every_form_it_is_written_in() {
        let at = |v: Value, k: f64| scaled_distribution(&v, k).unwrap();
        assert_eq!(at(json!({ "constant": "25us" }), 0.2), json!({ "constant": "5us" }));
        assert_eq!(at(json!({ "constant": 0.06 }), 0.8), json!({ "constant": "48ms" }));
        assert_eq!(
            at(json!({ "gamma": { "mean": "60ms", "cv": 0.5 } }), 0.2),
            json!({ "gamma": { "mean": "12ms", "cv": 0.5 } })
        );
        assert_eq!(
            at(json!({ "uniform": { "min": "1s", "max": "3s" } }), 0.5),
            json!({ "uniform": { "min": "500ms", "max": "1.5s" } })
        );
        assert_eq!(
            at(json!({ "exponential": { "mean": "1ms" } }), 1.0 / 3.0),
            json!({ "exponential": { "mean": "333.333333us" } })
        );
        assert_eq!(
            at(json!({ "lognormal": { "mean": "10ns", "cv": 1 } }), 0.5),
            json!({ "lognormal": { "mean": "5ns", "cv": 1 } })
        );
        assert!(scaled_distribution(&json!({ "pareto": { "mean": "1ms" } }), 0.5).is_none());
        assert!(scaled_distribution(&json!({ "constant": "soon" }), 0.5).is_none());
        assert_eq!(name_from("sign up!", "-jobs"), "sign-up--jobs");
        assert_eq!(name_from(&"x".repeat(80), "-workers").len(), 64);
    }

    #[test]
    fn a_type_of_the_scenarios_own_is_not_scaled_up() {
        let doc = json!({
            "instance_types": { "c6i.large": { "vcpu": 2 } },
            "pools": { "api": { "instance_type": "c6i.large", "count": 8 } }
        });
        assert!(scale_up(&doc, "api").is_none());
        let pods = json!({ "pools": { "api": { "instance_type": "c6i.large", "count": 8, "node_pool": {} } } });
        assert!(scale_up(&pods, "api").is_none());
    }
}
