//! The review's resilience check: does the SLO hold at peak when one thing
//! is lost?
//!
//! Every single failure the scenario can suffer — one instance of each
//! pool, one zone, each database primary, one node of each shared cache,
//! one node of each balancer that has nodes — is injected at the start of
//! today's peak interval into a copy of the scenario (its own faults
//! removed, so the failure is the only one), and the copy runs with
//! today's seeds (common random numbers). Each is judged on the SLO over
//! the same window after the failure, as is the copy without any failure,
//! so that a broken SLO is the failure's doing. A primary without a replica
//! is not simulated: nothing can take over from it, whatever its recovery,
//! and the check says so.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::metrics::stats::{Estimate, estimate, nan_if_null};
use crate::model::data::CacheScope;
use crate::model::{RunResult, SystemSpec};

use super::analysis::peak;
use super::headroom::slo_text;
use super::plan::{COMPLIANCE, Inputs, MIN_REPLICATIONS, portable, review_slo};

/// The window judged after a failure, in seconds (or to the run's end, if sooner).
pub const WINDOW_S: f64 = 300.0;

/// How long a replica takes to be promoted when a primary fails over, in
/// seconds: a managed database's automatic failover (Aurora's is typically
/// under 30 s; RDS Multi-AZ's one to two minutes).
pub const PROMOTION_S: f64 = 30.0;

/// The check: `resilience.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Resilience {
    /// The SLO each failure is judged on, in words.
    pub slo: String,
    /// True when the scenario has no SLO and the review's default was used.
    pub slo_assumed: bool,
    pub replications: u32,
    /// When every failure strikes: the start of today's peak interval
    /// (replication 0).
    #[serde(deserialize_with = "nan_if_null")]
    pub failure_at_s: f64,
    /// The end of the window judged: [`WINDOW_S`] after the failure, or the
    /// run's end if sooner.
    #[serde(deserialize_with = "nan_if_null")]
    pub window_end_s: f64,
    /// Whether the scenario's own faults (`faults`, and the databases' and
    /// caches' `faults`) were removed from the copies.
    pub own_faults_removed: bool,
    /// The copy with no failure, over the same window (`None` when it could
    /// not be run; `note` says why).
    pub baseline: Option<Window>,
    pub note: Option<String>,
    /// One per single failure, in the order: pools, zone, databases,
    /// caches, balancers (each in the scenario's order).
    pub failures: Vec<Failure>,
    /// The failures that break the SLO, or cannot be survived by
    /// construction, in words.
    pub single_points_of_failure: Vec<String>,
}

/// What a failure is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// One instance of a pool crashes (`faults: crash`).
    Crash,
    /// A zone is out for the rest of the run (`faults: zone_outage`).
    ZoneOutage,
    /// A database's first shard's primary fails over to a replica.
    PrimaryFailover,
    /// A database primary with no replica: not simulated.
    PrimaryWithoutReplica,
    /// One node of a shared cache is lost for the rest of the run.
    NodeDown,
    /// One node of a balancer is lost for the rest of the run.
    LbNodeFailure,
}

/// One single failure and what it did.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    /// The pool, zone, database, cache or balancer it hits.
    pub target: String,
    /// The failure, in words.
    pub text: String,
    /// The window after it (`None` when it was not simulated).
    pub window: Option<Window>,
    /// Whether the SLO holds through it.
    pub holds: bool,
    /// A single point of failure by construction (not simulated).
    pub structural: bool,
    /// `holds`, `SLO broken: single point of failure`, and the like.
    pub verdict: String,
    /// Why it was not simulated, or what the verdict rests on.
    pub note: Option<String>,
}

/// A copy's figures over the window after the failure, over replications.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// The highest p99 of an interval in the window.
    pub latency_p99_max_ms: Estimate,
    /// Errors over arrivals in the window.
    pub error_rate: Estimate,
    /// The share of the window's time in intervals that met the SLO.
    pub compliance: Estimate,
    /// Whether the mean compliance reaches [`COMPLIANCE`].
    pub meets_slo: bool,
}

/// Verdicts, as the report shows them.
pub const HOLDS: &str = "holds";
pub const BROKEN: &str = "SLO broken: single point of failure";
pub const STRUCTURAL: &str = "single point of failure (structural)";
pub const BROKEN_ANYWAY: &str = "SLO broken, as without any failure";
pub const NOT_RUN: &str = "not simulated";

/// One failure to inject: what it is and how to put it into a copy.
struct Injection {
    kind: FailureKind,
    target: String,
    text: String,
    /// The document path of the fault list it joins, and the fault.
    list: Vec<String>,
    fault: Value,
}

/// Runs the check. `run` simulates a spec's replications (on the caller's threads).
pub fn check(inputs: &Inputs, run: &dyn Fn(&SystemSpec, u64, u32) -> Vec<RunResult>) -> Resilience {
    let spec = inputs.spec;
    let (slo, slo_assumed) = review_slo(spec, inputs.today);
    let replications = inputs.replications.max(MIN_REPLICATIONS);
    let at = peak(inputs.today).start_s;
    let end = spec.duration.as_secs_f64();
    let window_end = (at + WINDOW_S).min(end);
    let (base, own_faults_removed) = without_faults(&portable(inputs.doc, inputs.base));

    let simulate = |doc: &Value, file: &str| -> Result<Window, String> {
        let loaded = crate::scenario::load_document(doc, file, inputs.files)
            .map_err(|e| format!("the changed scenario is not valid: {e}"))?;
        let mut spec = loaded.spec;
        spec.slo = Some(slo);
        let runs = run(&spec, inputs.seed, replications);
        Ok(window(&runs, at, window_end))
    };
    let (baseline, note) = match simulate(&base, "resilience/baseline.yaml") {
        Ok(w) => (Some(w), None),
        Err(why) => (None, Some(why)),
    };
    let baseline_meets = baseline.is_some_and(|w| w.meets_slo);

    let mut failures = Vec::new();
    for injection in injections(spec, inputs.doc, at, end) {
        let mut doc = base.clone();
        let judged = add_fault(&mut doc, &injection.list, injection.fault.clone()).and_then(|()| {
            let file = format!("resilience/{}-{}.yaml", kind_name(injection.kind), injection.target);
            simulate(&doc, &file)
        });
        let (window, holds, verdict, note) = match judged {
            Ok(w) if w.meets_slo => (Some(w), true, HOLDS, None),
            Ok(w) if baseline_meets => (Some(w), false, BROKEN, None),
            Ok(w) => (
                Some(w),
                false,
                BROKEN_ANYWAY,
                Some("the copy without any failure does not meet the SLO in this window either".to_string()),
            ),
            Err(why) => (None, false, NOT_RUN, Some(why)),
        };
        failures.push(Failure {
            kind: injection.kind,
            target: injection.target,
            text: injection.text,
            window,
            holds,
            structural: false,
            verdict: verdict.to_string(),
            note,
        });
    }
    for d in spec.data.databases.iter().filter(|d| d.replicas == 0) {
        failures.push(Failure {
            kind: FailureKind::PrimaryWithoutReplica,
            target: d.name.clone(),
            text: format!("the primary of database {} fails", d.name),
            window: None,
            holds: false,
            structural: true,
            verdict: STRUCTURAL.to_string(),
            note: Some(
                "it has no replica to promote: its writes and fresh reads fail until the primary itself is back, \
                 however long that takes (not simulated)"
                    .to_string(),
            ),
        });
    }
    // The scenario's order: a structural failure in its database's place.
    failures.sort_by_key(|f| order(spec, f));
    let single_points_of_failure = failures
        .iter()
        .filter(|f| f.verdict == BROKEN || f.structural)
        .map(|f| f.text.clone())
        .collect();
    Resilience {
        slo: slo_text(&slo, COMPLIANCE),
        slo_assumed,
        replications,
        failure_at_s: at,
        window_end_s: window_end,
        own_faults_removed,
        baseline,
        note,
        failures,
        single_points_of_failure,
    }
}

/// Where a failure sits in the report: pools, zone, databases, caches, balancers.
fn order(spec: &SystemSpec, f: &Failure) -> (usize, usize) {
    let index = |names: Vec<&String>| names.iter().position(|n| **n == f.target).unwrap_or(usize::MAX);
    match f.kind {
        FailureKind::Crash => (0, index(spec.pools.iter().map(|p| &p.name).collect())),
        FailureKind::ZoneOutage => (1, 0),
        FailureKind::PrimaryFailover | FailureKind::PrimaryWithoutReplica => {
            (2, index(spec.data.databases.iter().map(|d| &d.name).collect()))
        }
        FailureKind::NodeDown => (3, index(spec.data.caches.iter().map(|c| &c.name).collect())),
        FailureKind::LbNodeFailure => (4, index(spec.load_balancers.iter().map(|b| &b.name).collect())),
    }
}

fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Crash => "crash",
        FailureKind::ZoneOutage => "zone_outage",
        FailureKind::PrimaryFailover => "primary_failover",
        FailureKind::PrimaryWithoutReplica => "primary_without_replica",
        FailureKind::NodeDown => "node_down",
        FailureKind::LbNodeFailure => "lb_node_failure",
    }
}

/// The failures to simulate, at `at` seconds into a run ending at `end`:
/// losses that do not heal by themselves last to the end of the run.
fn injections(spec: &SystemSpec, doc: &Value, at: f64, end: f64) -> Vec<Injection> {
    let rest = end - at;
    let top = |fault: Value| (vec!["faults".to_string()], fault);
    let mut list = Vec::new();
    for p in &spec.pools {
        let (path, fault) = top(json!({ "at": at, "crash": { "pool": p.name, "instances": 1 } }));
        list.push(Injection {
            kind: FailureKind::Crash,
            target: p.name.clone(),
            text: format!("one instance of pool {} crashes", p.name),
            list: path,
            fault,
        });
    }
    // Instances fill the first zone first: it holds the most when a pool's
    // size does not divide evenly, so its loss is the worst.
    if let Some(zone) = spec.zones.first() {
        let (path, fault) = top(json!({ "at": at, "zone_outage": { "zone": zone, "for": rest } }));
        list.push(Injection {
            kind: FailureKind::ZoneOutage,
            target: zone.clone(),
            text: format!("zone {zone} is lost"),
            list: path,
            fault,
        });
    }
    for d in spec.data.databases.iter().filter(|d| d.replicas > 0) {
        list.push(Injection {
            kind: FailureKind::PrimaryFailover,
            target: d.name.clone(),
            text: format!("the primary of database {} fails over to a replica", d.name),
            list: vec!["databases".into(), d.name.clone(), "faults".into()],
            fault: json!({ "at": at, "primary_failover": { "promotion": PROMOTION_S } }),
        });
    }
    for c in &spec.data.caches {
        if let CacheScope::Shared { .. } = c.scope {
            list.push(Injection {
                kind: FailureKind::NodeDown,
                target: c.name.clone(),
                text: format!("one node of cache {} is lost", c.name),
                list: vec!["caches".into(), c.name.clone(), "faults".into()],
                fault: json!({ "at": at, "node_down": 1, "for": rest }),
            });
        }
    }
    // Only balancers the scenario gives nodes: without `nodes` a balancer
    // is not modelled as machines that can fail.
    for b in &spec.load_balancers {
        if doc["load_balancers"][&b.name].get("nodes").is_none() {
            continue;
        }
        let (path, fault) = top(json!({ "at": at, "lb_node_failure": { "balancer": b.name, "node": 1, "for": rest } }));
        list.push(Injection {
            kind: FailureKind::LbNodeFailure,
            target: b.name.clone(),
            text: format!("one node of balancer {} is lost", b.name),
            list: path,
            fault,
        });
    }
    list
}

/// `doc` without its scheduled faults, and whether it had any.
fn without_faults(doc: &Value) -> (Value, bool) {
    let mut doc = doc.clone();
    let mut removed = false;
    let mut take = |v: &mut Value| {
        if let Some(map) = v.as_object_mut() {
            removed |= map
                .remove("faults")
                .is_some_and(|f| f.as_array().is_none_or(|a| !a.is_empty()));
        }
    };
    take(&mut doc);
    for section in ["databases", "caches"] {
        if let Some(map) = doc.get_mut(section).and_then(Value::as_object_mut) {
            map.values_mut().for_each(&mut take);
        }
    }
    (doc, removed)
}

/// Appends `fault` to the list at `path` in `doc`.
fn add_fault(doc: &mut Value, path: &[String], fault: Value) -> Result<(), String> {
    let mut node = doc;
    for (i, key) in path.iter().enumerate() {
        let map = node
            .as_object_mut()
            .ok_or_else(|| format!("`{}` is not a mapping", path[..i].join(".")))?;
        let last = i + 1 == path.len();
        node = map
            .entry(key.clone())
            .or_insert_with(|| if last { json!([]) } else { json!({}) });
    }
    node.as_array_mut()
        .ok_or_else(|| format!("`{}` is not a list", path.join(".")))?
        .push(fault);
    Ok(())
}

/// The figures of `runs` over the intervals starting in `[from, to)` seconds.
fn window(runs: &[RunResult], from: f64, to: f64) -> Window {
    // An interval boundary and `from` may differ by the rounding of seconds.
    const EPSILON_S: f64 = 1e-6;
    let per_run: Vec<(f64, f64, f64)> = runs
        .iter()
        .map(|r| {
            let rows: Vec<_> = r
                .rows
                .iter()
                .filter(|row| {
                    let start = row.start.as_secs_f64();
                    start >= from - EPSILON_S && start < to - EPSILON_S
                })
                .collect();
            let p99 = rows
                .iter()
                .map(|row| row.latency_p99_ms)
                .filter(|x| x.is_finite())
                .fold(f64::NAN, f64::max);
            let arrived: u64 = rows.iter().map(|row| row.counters.arrived).sum();
            let errors: u64 = rows.iter().map(|row| row.counters.errors()).sum();
            let error_rate = if arrived == 0 {
                0.0
            } else {
                errors as f64 / arrived as f64
            };
            let length = |row: &&crate::metrics::IntervalRow| (row.end - row.start).as_secs_f64();
            // Folded from +0: a float `sum` of nothing is -0, which would print as such.
            let total = rows.iter().map(length).fold(0.0, |a, b| a + b);
            let kept = rows
                .iter()
                .filter(|row| row.slo_violated != Some(true))
                .map(length)
                .fold(0.0, |a, b| a + b);
            let compliance = if total > 0.0 { kept / total } else { f64::NAN };
            (p99, error_rate, compliance)
        })
        .collect();
    let of = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
        estimate(&per_run.iter().map(f).filter(|x| x.is_finite()).collect::<Vec<_>>())
    };
    let compliance = of(&|r| r.2);
    Window {
        latency_p99_max_ms: of(&|r| r.0),
        error_rate: of(&|r| r.1),
        meets_slo: compliance.mean >= COMPLIANCE - 1e-12,
        compliance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_faults_are_removed_everywhere() {
        let doc = json!({
            "faults": [ { "at": 10, "crash": { "pool": "web" } } ],
            "databases": { "main": { "faults": [ { "at": 5, "primary_failover": { "promotion": 30 } } ] } },
            "caches": { "redis": { "shared": { "nodes": 3 } } },
        });
        let (clean, removed) = without_faults(&doc);
        assert!(removed);
        assert!(clean.get("faults").is_none());
        assert!(clean["databases"]["main"].get("faults").is_none());
        assert_eq!(clean["caches"]["redis"]["shared"]["nodes"], 3);
        let (_, removed) = without_faults(&json!({ "faults": [] }));
        assert!(!removed, "an empty list is no fault");
    }

    #[test]
    fn a_fault_joins_its_list_made_where_missing() {
        let mut doc = json!({ "databases": { "main": {} } });
        let path = ["databases".to_string(), "main".into(), "faults".into()];
        add_fault(&mut doc, &path, json!(1)).unwrap();
        add_fault(&mut doc, &path, json!(2)).unwrap();
        assert_eq!(doc["databases"]["main"]["faults"], json!([1, 2]));
        let mut bad = json!({ "databases": [] });
        assert_eq!(
            add_fault(&mut bad, &path, json!(1)).unwrap_err(),
            "`databases` is not a mapping"
        );
    }
}
