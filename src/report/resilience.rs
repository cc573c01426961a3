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
//!
//! A single point of failure gets a remedy, proven the same way: N+1 — one
//! more instance, cache node or balancer node than the peak needs, one more
//! zone with the pool sized so that the zones left hold the peak, a replica
//! to fail over to — applied to the copy, which then suffers the same
//! failure. Each remedy is tried up to [`REMEDY_TRIES`] sizes, and the
//! check reports the first that holds, or that none did.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::metrics::stats::{Estimate, estimate, nan_if_null};
use crate::model::data::CacheScope;
use crate::model::{RunResult, SystemSpec};

use super::analysis::{Analysis, Change, analyze, peak};
use super::format::duration_text;
use super::headroom::slo_text;
use super::plan::{COMPLIANCE, Inputs, MIN_REPLICATIONS, apply, carry_assumed_slo, portable, review_slo};

/// The window judged after a failure, in seconds (or to the run's end, if sooner).
pub const WINDOW_S: f64 = 300.0;

/// The shortest window judged: a failure strikes earlier than the peak
/// where the peak is closer than this to the run's end (but not before the
/// warm-up ends).
pub const MIN_WINDOW_S: f64 = 120.0;

/// How long a replica takes to be promoted when a primary fails over, in
/// seconds: a managed database's automatic failover (Aurora's is typically
/// under 30 s; RDS Multi-AZ's one to two minutes).
pub const PROMOTION_S: f64 = 30.0;

/// How many sizes of a remedy the check simulates, each one step larger.
pub const REMEDY_TRIES: u32 = 3;

/// The check: `resilience.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Resilience {
    /// The SLO each failure is judged on, in words.
    pub slo: String,
    /// True when the scenario has no SLO and the review's default was used.
    pub slo_assumed: bool,
    pub replications: u32,
    /// When every failure strikes: the start of today's peak interval
    /// (replication 0), or earlier where that leaves under
    /// [`MIN_WINDOW_S`] to the run's end.
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
    /// What makes it survivable, simulated (single points of failure only).
    #[serde(default)]
    pub remedy: Option<Remedy>,
}

/// A change that lets the scenario survive a failure, proven by striking
/// the same failure at the same time in a copy with the change.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Remedy {
    /// What changes, in words.
    pub changes: Vec<String>,
    /// The window after the failure in the changed copy (`None` when it
    /// could not be run; `note` says why).
    pub window: Option<Window>,
    /// Whether the SLO holds through the failure with the change.
    pub holds: bool,
    /// Sizes simulated, the smallest first; `changes` is the last of them.
    pub tries: u32,
    /// What the change adds to the monthly cost of capacity (instances,
    /// database servers, cache nodes): the changed copy's against the copy
    /// without it, both suffering the failure.
    #[serde(deserialize_with = "nan_if_null")]
    pub added_per_month_usd: f64,
    /// The changed copy with the failure in it (`resilience/fix-….yaml`).
    pub scenario: Option<String>,
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
    /// With queues: how much their backlog grew over the window (messages
    /// at its end less those at its start, all queues) as a share of the
    /// messages sent in it. Work the request SLO does not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backlog_growth: Option<Estimate>,
}

/// A backlog that grows by more than this share of what was sent in the
/// window is falling behind: its consumers no longer keep up.
pub const BACKLOG_GROWTH_MAX: f64 = 0.01;

impl Window {
    /// Whether the queues' consumers kept up over the window (true without queues).
    pub fn queues_keep_up(&self) -> bool {
        self.backlog_growth
            .as_ref()
            .is_none_or(|g| g.mean <= BACKLOG_GROWTH_MAX)
    }

    /// The SLO met and every queue kept up.
    pub fn holds(&self) -> bool {
        self.meets_slo && self.queues_keep_up()
    }
}

/// Verdicts, as the report shows them.
pub const HOLDS: &str = "holds";
pub const BROKEN: &str = "SLO broken: single point of failure";
pub const STRUCTURAL: &str = "single point of failure (structural)";
pub const BROKEN_ANYWAY: &str = "SLO broken, as without any failure";
pub const FELL_BEHIND: &str = "a queue fell behind: single point of failure";
pub const NOT_RUN: &str = "not simulated";

/// One failure to inject: what it is and how to put it into a copy.
struct Injection {
    kind: FailureKind,
    target: String,
    text: String,
    /// The document path of the fault list it joins, and the fault.
    list: Vec<String>,
    fault: Value,
    /// Why this one was chosen, when there was a choice.
    why: Option<String>,
}

/// A file the check writes: its path under the output folder and its text
/// (or why it cannot be written as YAML).
pub type ScenarioFile = (String, Result<String, String>);

/// Runs the check. `run` simulates a spec's replications (on the caller's
/// threads). Returns it and the remedies' scenarios.
pub fn check(
    inputs: &Inputs,
    run: &dyn Fn(&SystemSpec, u64, u32) -> Vec<RunResult>,
) -> (Resilience, Vec<ScenarioFile>) {
    let spec = inputs.spec;
    let (slo, slo_assumed) = review_slo(spec, inputs.today);
    let replications = inputs.replications.max(MIN_REPLICATIONS);
    let end = spec.duration.as_secs_f64();
    let interval = spec.interval.as_secs_f64();
    let earliest = ((end - MIN_WINDOW_S) / interval).floor() * interval;
    let at = peak(inputs.today).start_s.min(earliest).max(spec.warmup.as_secs_f64());
    let window_end = (at + WINDOW_S).min(end);
    let (base, own_faults_removed) = without_faults(&portable(inputs.doc, inputs.base));
    let mut base = base;
    if slo_assumed {
        carry_assumed_slo(&mut base, &slo);
    }

    let simulate = |doc: &Value, file: &str| -> Result<Ran, String> {
        let loaded = crate::scenario::load_document(doc, file, inputs.files)
            .map_err(|e| format!("the changed scenario is not valid: {e}"))?;
        let mut spec = loaded.spec;
        spec.slo = Some(slo);
        let runs = run(&spec, inputs.seed, replications);
        let month = runs.iter().map(capacity_per_month).sum::<f64>() / runs.len() as f64;
        Ok(Ran {
            window: window(&runs, at, window_end),
            per_month_usd: month,
        })
    };
    let (baseline, note) = match simulate(&base, "resilience/baseline.yaml") {
        Ok(ran) => (Some(ran), None),
        Err(why) => (None, Some(why)),
    };
    let baseline_meets = baseline.as_ref().is_some_and(|ran| ran.window.holds());
    // `doc` with `fault` appended to the list at `list`, simulated as `file`.
    let strike = |doc: &Value, list: &[String], fault: &Value, file: &str| {
        let mut doc = doc.clone();
        add_fault(&mut doc, list, fault.clone())?;
        simulate(&doc, file).map(|ran| (ran, doc))
    };
    let today = analyze(spec, inputs.today);

    let mut failures = Vec::new();
    let mut files = Vec::new();
    for injection in injections(spec, inputs.doc, at, end) {
        let name = format!("{}-{}", kind_name(injection.kind), injection.target);
        let struck = |doc: &Value, file: &str| strike(doc, &injection.list, &injection.fault, file);
        let judged = struck(&base, &format!("resilience/{name}.yaml"));
        let (window, holds, verdict, note) = match &judged {
            Ok((ran, _)) if ran.window.holds() => (Some(ran.window), true, HOLDS, None),
            Ok((ran, _)) if baseline_meets && ran.window.meets_slo => (Some(ran.window), false, FELL_BEHIND, None),
            Ok((ran, _)) if baseline_meets => (Some(ran.window), false, BROKEN, None),
            Ok((ran, _)) => (
                Some(ran.window),
                false,
                BROKEN_ANYWAY,
                Some("the copy without any failure does not meet the SLO in this window either".to_string()),
            ),
            Err(why) => (None, false, NOT_RUN, Some(why.clone())),
        };
        let note = match (note, injection.why) {
            (Some(a), Some(b)) => Some(format!("{b}; {a}")),
            (a, b) => a.or(b),
        };
        let remedy = match &judged {
            Ok((ran, _)) if verdict == BROKEN || verdict == FELL_BEHIND => {
                let target = (injection.kind, injection.target.as_str());
                let (remedy, file) = remedy(&base, &today, target, ran.per_month_usd, &struck);
                files.extend(file);
                remedy
            }
            _ => None,
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
            remedy,
        });
    }
    for (d, price) in spec.data.databases.iter().zip(&spec.prices.databases) {
        if d.replicas > 0 {
            continue;
        }
        let (structural, verdict, note, remedy) = if price.multi_az {
            // A Multi-AZ standby takes over, but capsim's failover promotes
            // a read replica: say so rather than call it structural.
            let note = "its Multi-AZ standby takes over (RDS: typically in one to two minutes, writes and fresh \
                        reads failing meanwhile); capsim models failover to a read replica, not to a standby";
            (false, NOT_RUN, note, None)
        } else {
            // Proven on a copy with a replica: its primary failing over.
            let failover =
                json!({ "at": duration_text(at), "primary_failover": { "promotion": duration_text(PROMOTION_S) } });
            let list = ["databases".to_string(), d.name.clone(), "faults".into()];
            let struck = |doc: &Value, file: &str| strike(doc, &list, &failover, file);
            let unchanged = baseline.as_ref().map_or(f64::NAN, |ran| ran.per_month_usd);
            let target = (FailureKind::PrimaryWithoutReplica, d.name.as_str());
            let (remedy, file) = remedy(&base, &today, target, unchanged, &struck);
            files.extend(file);
            let note = "it has no replica to promote: its writes and fresh reads fail until the primary itself is \
                        back, however long that takes (not simulated)";
            (true, STRUCTURAL, note, remedy)
        };
        failures.push(Failure {
            kind: FailureKind::PrimaryWithoutReplica,
            target: d.name.clone(),
            text: format!("the primary of database {} fails", d.name),
            window: None,
            holds: false,
            structural,
            verdict: verdict.to_string(),
            note: Some(note.to_string()),
            remedy,
        });
    }
    // The scenario's order: a structural failure in its database's place.
    failures.sort_by_key(|f| order(spec, f));
    let single_points_of_failure = failures
        .iter()
        .filter(|f| f.verdict == BROKEN || f.verdict == FELL_BEHIND || f.structural)
        .map(|f| f.text.clone())
        .collect();
    let check = Resilience {
        slo: slo_text(&slo, COMPLIANCE),
        slo_assumed,
        replications,
        failure_at_s: at,
        window_end_s: window_end,
        own_faults_removed,
        baseline: baseline.map(|ran| ran.window),
        note,
        failures,
        single_points_of_failure,
    };
    (check, files)
}

/// What a run's capacity costs a month: its instances, database servers
/// and cache nodes. Usage-billed components (CDN, transfer, balancer LCUs,
/// queue calls) are left out: a copy that fails requests sends fewer
/// bytes, which is not what a remedy saves.
fn capacity_per_month(r: &RunResult) -> f64 {
    r.summary
        .cost
        .components
        .iter()
        .filter(|c| matches!(c.kind, "pool" | "database" | "replicas" | "cache"))
        .map(|c| c.per_month_usd)
        .sum()
}

/// A copy's window after the failure and the monthly cost of its capacity
/// (the mean over replications).
struct Ran {
    window: Window,
    per_month_usd: f64,
}

/// Simulates `doc` with the failure struck, as the file named: its figures
/// and the document with the failure in it.
type Strike<'a> = dyn Fn(&Value, &str) -> Result<(Ran, Value), String> + 'a;

/// Tries the remedy for the failure `(kind, target)` on `base`, one size
/// at a time, until one holds: the remedy and the scenario of the last
/// size tried. `unchanged` is the monthly cost of the copy without it.
fn remedy(
    base: &Value,
    today: &Analysis,
    (kind, target): (FailureKind, &str),
    unchanged: f64,
    strike: &Strike,
) -> (Option<Remedy>, Option<ScenarioFile>) {
    let file = format!("resilience/fix-{}-{target}.yaml", kind_name(kind));
    let mut last = None;
    for size in 1..=REMEDY_TRIES {
        let changes = n_plus_one(base, today, kind, target, size);
        if changes.is_empty() {
            break;
        }
        let mut doc = base.clone();
        let words: Vec<String> = changes.iter().map(ToString::to_string).collect();
        let made = changes.iter().try_for_each(|c| apply(&mut doc, c));
        let struck = made.and_then(|()| strike(&doc, &file));
        let (remedy, scenario) = match struck {
            Ok((ran, doc)) => {
                let header = format!(
                    "# A remedy from the review's resilience check (capsim run --report): {}.\n\
                     # The last fault in the list is the failure it was checked against; remove it to adopt the change.\n",
                    words.join("; ")
                );
                let yaml = serde_saphyr::to_string(&doc)
                    .map(|y| header + &y)
                    .map_err(|e| format!("{e}"));
                let holds = ran.window.holds();
                let note = (!holds && kind == FailureKind::PrimaryWithoutReplica).then(|| {
                    format!(
                        "the replica takes over after a {PROMOTION_S} s promotion, and the SLO breaks during it: \
                         only a faster failover (or writes that retry through it) shortens that"
                    )
                });
                let remedy = Remedy {
                    changes: words,
                    window: Some(ran.window),
                    holds,
                    tries: size,
                    added_per_month_usd: ran.per_month_usd - unchanged,
                    scenario: Some(file.clone()),
                    note,
                };
                (remedy, Some((file.clone(), yaml)))
            }
            Err(why) => {
                let remedy = Remedy {
                    changes: words,
                    window: None,
                    holds: false,
                    tries: size,
                    added_per_month_usd: f64::NAN,
                    scenario: None,
                    note: Some(why),
                };
                (remedy, None)
            }
        };
        let done = remedy.holds || remedy.window.is_none();
        last = Some((remedy, scenario));
        if done {
            break;
        }
    }
    match last {
        Some((remedy, scenario)) => (Some(remedy), scenario),
        None => (None, None),
    }
}

/// The changes that give the scenario one more of what the failure takes,
/// `size` steps up (1: the least); none where capsim has no such change.
fn n_plus_one(doc: &Value, today: &Analysis, kind: FailureKind, target: &str, size: u32) -> Vec<Change> {
    let pool = |name: &str| {
        today
            .components
            .iter()
            .filter_map(|c| c.pool.as_ref())
            .find(|p| p.name == name)
    };
    // A pool holding `to` instances at the peak: a fixed pool's size, or an
    // autoscaler's minimum (its maximum raised to it where lower).
    let floor = |name: &str, to: u32| -> Vec<Change> {
        let Some(p) = pool(name) else { return Vec::new() };
        if p.autoscaler.is_none() {
            return vec![Change::Instances {
                pool: name.to_string(),
                from: p.instances_initial,
                to,
            }];
        }
        let mut changes = Vec::new();
        if to > p.instances_max {
            changes.push(Change::Maximum {
                pool: name.to_string(),
                from: p.instances_max,
                to,
            });
        }
        changes.push(Change::Minimum {
            pool: name.to_string(),
            from: p.instances_min,
            to: to.max(p.instances_min),
        });
        changes
    };
    let count = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    match kind {
        FailureKind::Crash => pool(target).map_or(Vec::new(), |p| floor(target, p.instances_peak + size)),
        FailureKind::ZoneOutage => {
            let mut changes = Vec::new();
            let Some(pools) = doc["pools"].as_object() else {
                return changes;
            };
            for (name, p) in pools {
                let zones: Vec<String> = p["zones"]
                    .as_array()
                    .map(|z| z.iter().filter_map(|z| z.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                if !zones.iter().any(|z| z == target) {
                    continue;
                }
                let Some(peak) = pool(name).map(|p| p.instances_peak) else {
                    continue;
                };
                // Three zones lose a third at worst; fewer gain one.
                let mut spread = zones.clone();
                if spread.len() < 3 {
                    spread.push(another_zone(&all_zones(doc)));
                    changes.push(Change::Zones {
                        pool: name.clone(),
                        from: zones,
                        to: spread.clone(),
                    });
                }
                let k = spread.len() as u32;
                // The zones left hold the peak; each size after the first adds one per zone.
                let n = (peak * k).div_ceil(k - 1) + (size - 1) * k;
                changes.extend(floor(name, n));
            }
            changes
        }
        FailureKind::PrimaryWithoutReplica => (size == 1)
            .then(|| Change::Standbys {
                database: target.to_string(),
                from: 0,
                to: 1,
            })
            .into_iter()
            .collect(),
        FailureKind::NodeDown => count(&doc["caches"][target]["shared"]["nodes"]).map_or(Vec::new(), |n| {
            vec![Change::CacheNodes {
                cache: target.to_string(),
                from: n,
                to: n + size,
            }]
        }),
        FailureKind::LbNodeFailure => count(&doc["load_balancers"][target]["nodes"]).map_or(Vec::new(), |n| {
            vec![Change::BalancerNodes {
                balancer: target.to_string(),
                from: n,
                to: n + size,
            }]
        }),
        // A failover that breaks the SLO is the promotion's time: no size helps.
        FailureKind::PrimaryFailover => Vec::new(),
    }
}

/// Every zone the scenario's pools name.
fn all_zones(doc: &Value) -> Vec<String> {
    let mut zones: Vec<String> = doc["pools"]
        .as_object()
        .into_iter()
        .flat_map(|pools| pools.values())
        .filter_map(|p| p["zones"].as_array())
        .flatten()
        .filter_map(|z| z.as_str().map(str::to_string))
        .collect();
    zones.sort();
    zones.dedup();
    zones
}

/// A zone name none of `taken` has, in the style of the ones there: a
/// zone letter alone or after a digit or a dash (`us-east-1b` →
/// `us-east-1c`, `z-b` → `z-c`) takes the next free letter; a number at the end (`zone-9`,
/// `dc2`) the next free number; anything else gains one (`east` → `east-2`).
fn another_zone(taken: &[String]) -> String {
    let free = |name: &String| !taken.contains(name);
    for zone in taken.iter().rev() {
        let (stem, last) = zone.split_at(zone.len() - 1);
        let lettered = last.as_bytes()[0].is_ascii_lowercase()
            && (stem.is_empty() || !stem.as_bytes()[stem.len() - 1].is_ascii_alphabetic());
        if lettered {
            let next = (last.as_bytes()[0] + 1..=b'z')
                .map(|c| format!("{stem}{}", c as char))
                .find(free);
            if let Some(name) = next {
                return name;
            }
        }
        let digits = zone.len() - zone.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && digits < zone.len() {
            let (stem, _) = zone.split_at(zone.len() - digits);
            let highest = taken
                .iter()
                .filter_map(|z| z.strip_prefix(stem)?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            return format!("{stem}{}", highest + 1);
        }
    }
    let first = taken.first().map_or("zone", String::as_str);
    (2..).map(|i| format!("{first}-{i}")).find(free).expect("a free name")
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
/// The zone whose loss takes the most, and why: the one with the largest
/// sum over pools of the share of each pool's instances it holds (a pool
/// over `k` zones has `1/k` in each; one in a single zone, all of it). Ties
/// go to the zone a pool lists first (instances fill it first, so it holds
/// the most when a size does not divide evenly), then the scenario's order.
/// Other pools confined to one zone are named too: the check strikes one
/// zone, and each of those is lost whole with its own.
fn worst_zone(spec: &SystemSpec) -> Option<(String, String)> {
    let share = |z: usize| -> (f64, usize) {
        let pools = spec.pools.iter().filter(|p| p.zones.contains(&(z as u16)));
        let firsts = pools.clone().filter(|p| p.zones.first() == Some(&(z as u16))).count();
        (pools.map(|p| 1.0 / p.zones.len() as f64).sum(), firsts)
    };
    let mut best: Option<(usize, (f64, usize))> = None;
    for z in 0..spec.zones.len() {
        let s = share(z);
        if best.is_none_or(|(_, b)| s.0 > b.0 + 1e-12 || ((s.0 - b.0).abs() <= 1e-12 && s.1 > b.1)) {
            best = Some((z, s));
        }
    }
    let (z, _) = best?;
    let taken: Vec<String> = spec
        .pools
        .iter()
        .filter(|p| p.zones.contains(&(z as u16)))
        .map(|p| match p.zones.len() {
            1 => format!("all of pool {} (its only zone)", p.name),
            k => format!("1/{k} of pool {}", p.name),
        })
        .collect();
    let mut why = format!("the zone whose loss takes the most: {}", taken.join(", "));
    let elsewhere: Vec<String> = spec
        .pools
        .iter()
        .filter(|p| p.zones.len() == 1 && p.zones[0] as usize != z)
        .map(|p| format!("pool {} runs only in zone {}", p.name, spec.zones[p.zones[0] as usize]))
        .collect();
    if !elsewhere.is_empty() {
        why.push_str(&format!(
            "; {}: losing that zone takes all of it (not struck here; spread it over two zones)",
            elsewhere.join(", ")
        ));
    }
    Some((spec.zones[z].clone(), why))
}

/// losses that do not heal by themselves last to the end of the run.
fn injections(spec: &SystemSpec, doc: &Value, at: f64, end: f64) -> Vec<Injection> {
    let rest = end - at;
    let top = |fault: Value| (vec!["faults".to_string()], fault);
    let mut list = Vec::new();
    for p in &spec.pools {
        let (path, fault) = top(json!({ "at": duration_text(at), "crash": { "pool": p.name, "instances": 1 } }));
        list.push(Injection {
            kind: FailureKind::Crash,
            target: p.name.clone(),
            text: format!("one instance of pool {} crashes", p.name),
            list: path,
            fault,
            why: None,
        });
    }
    if let Some((zone, why)) = worst_zone(spec) {
        let (path, fault) =
            top(json!({ "at": duration_text(at), "zone_outage": { "zone": zone, "for": duration_text(rest) } }));
        list.push(Injection {
            kind: FailureKind::ZoneOutage,
            target: zone.clone(),
            text: format!("zone {zone} is lost"),
            list: path,
            fault,
            why: Some(why),
        });
    }
    for d in spec.data.databases.iter().filter(|d| d.replicas > 0) {
        list.push(Injection {
            kind: FailureKind::PrimaryFailover,
            target: d.name.clone(),
            text: format!("the primary of database {} fails over to a replica", d.name),
            list: vec!["databases".into(), d.name.clone(), "faults".into()],
            fault: json!({ "at": duration_text(at), "primary_failover": { "promotion": duration_text(PROMOTION_S) } }),
            why: None,
        });
    }
    for c in &spec.data.caches {
        if let CacheScope::Shared { .. } = c.scope {
            list.push(Injection {
                kind: FailureKind::NodeDown,
                target: c.name.clone(),
                text: format!("one node of cache {} is lost", c.name),
                list: vec!["caches".into(), c.name.clone(), "faults".into()],
                fault: json!({ "at": duration_text(at), "node_down": 1, "for": duration_text(rest) }),
                why: None,
            });
        }
    }
    // Only balancers the scenario gives nodes: without `nodes` a balancer
    // is not modelled as machines that can fail.
    for b in &spec.load_balancers {
        if doc["load_balancers"][&b.name].get("nodes").is_none() {
            continue;
        }
        let (path, fault) = top(
            json!({ "at": duration_text(at), "lb_node_failure": { "balancer": b.name, "node": 1, "for": duration_text(rest) } }),
        );
        list.push(Injection {
            kind: FailureKind::LbNodeFailure,
            target: b.name.clone(),
            text: format!("one node of balancer {} is lost", b.name),
            list: path,
            fault,
            why: None,
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
/// One replication's window: worst p99, error rate, compliance, backlog growth.
type PerRun = (f64, f64, f64, f64);

fn window(runs: &[RunResult], from: f64, to: f64) -> Window {
    // An interval boundary and `from` may differ by the rounding of seconds.
    const EPSILON_S: f64 = 1e-6;
    let per_run: Vec<PerRun> = runs
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
            // Messages waiting when the window opens (at the end of the
            // interval before it) and when it closes, against those sent.
            let depth = |row: &crate::metrics::IntervalRow| {
                row.data
                    .as_ref()
                    .map_or(0, |d| d.queues.iter().map(|q| q.depth).sum::<u64>())
            };
            let before = r
                .rows
                .iter()
                .take_while(|row| row.start.as_secs_f64() < from - EPSILON_S)
                .last()
                .map_or(0, depth);
            let after = rows.last().map_or(before, |row| depth(row));
            let sent: u64 = rows
                .iter()
                .filter_map(|row| row.data.as_ref())
                .flat_map(|d| d.queues.iter().map(|q| q.counts.enqueued))
                .sum();
            let growth = (after as f64 - before as f64) / (sent.max(1) as f64);
            (p99, error_rate, compliance, growth)
        })
        .collect();
    let queues = runs
        .first()
        .and_then(|r| r.rows.first())
        .and_then(|row| row.data.as_ref())
        .is_some_and(|d| !d.queues.is_empty());
    let of =
        |f: &dyn Fn(&PerRun) -> f64| estimate(&per_run.iter().map(f).filter(|x| x.is_finite()).collect::<Vec<_>>());
    let compliance = of(&|r| r.2);
    Window {
        latency_p99_max_ms: of(&|r| r.0),
        error_rate: of(&|r| r.1),
        meets_slo: compliance.mean >= COMPLIANCE - 1e-12,
        compliance,
        backlog_growth: queues.then(|| of(&|r| r.3)),
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
    fn another_zone_takes_the_next_free_letter_else_a_number() {
        let names = |z: &[&str]| z.iter().map(|z| z.to_string()).collect::<Vec<_>>();
        assert_eq!(another_zone(&names(&["us-east-1a", "us-east-1b"])), "us-east-1c");
        assert_eq!(another_zone(&names(&["eu-west-1a", "eu-west-1c"])), "eu-west-1d");
        assert_eq!(another_zone(&names(&["a", "b"])), "c");
        assert_eq!(another_zone(&names(&["z-a", "z-b"])), "z-c");
        // Sorted as text, `zone-10` comes before `zone-9`.
        assert_eq!(another_zone(&names(&["zone-10", "zone-9"])), "zone-11");
        assert_eq!(another_zone(&names(&["dc1", "dc2"])), "dc3");
        assert_eq!(another_zone(&names(&["east", "west"])), "east-2");
        assert_eq!(another_zone(&names(&["us-east-1y", "us-east-1z"])), "us-east-1y-2");
        assert_eq!(another_zone(&[]), "zone-2");
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
