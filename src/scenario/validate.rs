//! Raw scenario → validated [`SystemSpec`]. Every problem is collected with
//! its field path; a scenario with any problem never reaches the model.

use std::collections::BTreeMap;

use crate::engine::{SimDuration, SimTime};
use crate::metrics::SloSpec;
use crate::model::autoscaler::schedule::ScheduledAction;
use crate::model::autoscaler::{HpaConfig, MetricSpec, PodResources, ResourceName, Target};
use crate::model::fault::{FaultKind, FaultSpec, When};
use crate::model::instance::Resize;
use crate::model::node_pool::NodePoolSpec;
use crate::model::{
    ArrivalMode, Billing, Distribution, HashOn, InstanceType, KeySpace, LbBackendSpec, LbPolicy, LoadBalancerSpec,
    Market, PoolSpec, RateCurve, RequestClass, RequestKind, SystemSpec, TrafficSpec, builtin_catalogue,
};

use super::error::Problem;
use super::raw::*;

/// Reads files a scenario refers to (replay CSVs, HPA manifests), relative
/// to the scenario.
pub trait SourceFiles {
    /// The text of `path`, or a message saying why it cannot be read.
    fn read(&self, path: &str) -> Result<String, String>;

    /// The text of `path` read as a file of `kind`: a reader that bounds
    /// sizes per kind (the command line's does) overrides this.
    fn read_as(&self, path: &str, kind: SourceKind) -> Result<String, String> {
        let _ = kind;
        self.read(path)
    }
}

/// What a file a scenario refers to holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A replay CSV (`traffic.rate.replay.file`).
    Replay,
    /// A Kubernetes HPA manifest (`autoscaler.hpa.manifest`).
    Manifest,
}

/// Defaults, documented in docs/scenario.md.
pub const DEFAULT_SEED: u64 = 42;
pub const DEFAULT_INTERVAL_S: f64 = 10.0;
pub const DEFAULT_MAX_EVENTS: u64 = 2_000_000_000;
/// Requests (with their deadlines) a run may hold at once: about 200 bytes
/// each, so the default stays under 1 GiB of memory.
pub const DEFAULT_MAX_REQUESTS_HELD: u64 = 4_000_000;
/// Time-series cells (intervals × series) a run may record: a plain
/// scenario's row takes about 800 bytes, so this bounds the time series
/// near 1 GiB.
pub const MAX_INTERVAL_CELLS: f64 = 10_000_000.0;
pub const DEFAULT_CLIENTS: u64 = 10_000;
pub const DEFAULT_QUEUE_CAPACITY: u32 = 128;
pub const DEFAULT_TIMEOUT_S: f64 = 30.0;
pub const DEFAULT_BOOT_S: f64 = 60.0;
pub const DEFAULT_WORKERS_PER_CORE: u32 = 4;
pub const DEFAULT_VNODES: u32 = 160;
pub const DEFAULT_BILLING_MINIMUM_S: f64 = 60.0;
pub const DEFAULT_DIURNAL_PERIOD_S: f64 = 86_400.0;

pub const DEFAULT_TERMINATION_GRACE_S: f64 = 30.0;
pub const DEFAULT_NODE_PROVISIONING_S: f64 = 90.0;
pub const DEFAULT_NODE_SCAN_S: f64 = 10.0;
pub const DEFAULT_NODE_SCALE_DOWN_DELAY_S: f64 = 600.0;
pub const DEFAULT_MEMORY_BASELINE_BYTES: i64 = 256 << 20;
pub const DEFAULT_MEMORY_PER_IN_FLIGHT_BYTES: i64 = 1 << 20;

/// Limits that keep a run's memory and time bounded.
pub const MAX_DURATION_S: f64 = 3650.0 * 86_400.0;
pub const MAX_INSTANCES: u32 = 100_000;
/// The highest rate a curve may reach: one arrival per nanosecond, the
/// clock's resolution. Arrivals any closer would share an instant, and
/// the run would spend its event budget without time moving.
pub const MAX_RATE_RPS: f64 = 1e9;
/// Pieces a rate curve may have, sums and products included: every
/// arrival candidate evaluates them all. A long recorded curve belongs in
/// `steps` or a replay CSV, which are searched, not scanned.
pub const MAX_RATE_PIECES: usize = 1000;

/// The review's default growth horizons: short, medium and long term.
pub const DEFAULT_GROWTH: [f64; 3] = [1.5, 2.0, 4.0];

/// The most growth horizons a review plans for.
pub const MAX_GROWTH_HORIZONS: usize = 8;

/// Checks a list of growth horizons: 1 to [`MAX_GROWTH_HORIZONS`] traffic
/// multiples, each above 1 and at most 1000, in ascending order.
pub fn check_growth(values: &[f64]) -> Result<(), String> {
    if values.is_empty() || values.len() > MAX_GROWTH_HORIZONS {
        return Err(format!(
            "give 1 to {MAX_GROWTH_HORIZONS} traffic multiples, got {}",
            values.len()
        ));
    }
    if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v > 1.0 && **v <= 1000.0)) {
        return Err(format!(
            "each must be a traffic multiple above 1 and at most 1000, got {v}"
        ));
    }
    if values.windows(2).any(|w| w[0] >= w[1]) {
        return Err("must be in ascending order, each once".into());
    }
    Ok(())
}

/// Collects problems while checking.
pub struct Checker<'a> {
    pub problems: Vec<PathProblem>,
    /// Problems in other files, located in them.
    pub foreign: Vec<Problem>,
    pub files: &'a dyn SourceFiles,
    /// The scenario's queue names, in index order (External metrics name them).
    pub queues: Vec<String>,
    /// What is valid but likely not what the user meant, by field path.
    pub warnings: Vec<PathProblem>,
}

impl Checker<'_> {
    pub(super) fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push((path.into(), message.into()));
    }

    pub(super) fn warning(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push((path.into(), message.into()));
    }

    pub(super) fn positive(&mut self, path: &str, value: f64) {
        if !(value.is_finite() && value > 0.0) {
            self.problem(path, format!("must be a finite number > 0, got {}", number(value)));
        }
    }

    pub(super) fn non_negative(&mut self, path: &str, value: f64) {
        if !(value.is_finite() && value >= 0.0) {
            self.problem(path, format!("must be a finite number ≥ 0, got {}", number(value)));
        }
    }

    /// A rate in requests per second: ≥ 0 and at most [`MAX_RATE_RPS`].
    fn rate_value(&mut self, path: &str, value: f64) {
        self.non_negative(path, value);
        if value.is_finite() && value > MAX_RATE_RPS {
            self.problem(
                path,
                format!("must be at most {}, got {}", max_rate_words(), number(value)),
            );
        }
    }
}

/// How many names a "known: …" list shows.
const KNOWN_SHOWN: usize = 20;

/// How many it shows when one of them is likely the name meant.
const KNOWN_SHOWN_NEAR: usize = 5;

/// The names a reference to `wanted` could have used, for a problem:
/// nearest first, the first [`KNOWN_SHOWN`] and how many more (so a
/// scenario with many names and many bad references still prints in
/// linear size), and "did you mean" when one is near.
pub(crate) fn known_list<'k>(wanted: &str, keys: impl Iterator<Item = &'k String>) -> String {
    let all: Vec<&str> = keys.map(String::as_str).collect();
    let near = super::suggest::did_you_mean(wanted, all.iter().copied());
    let names = super::suggest::by_nearness(wanted, all);
    // With a likely name, a few to choose from are enough.
    let most = if near.is_some() { KNOWN_SHOWN_NEAR } else { KNOWN_SHOWN };
    let more = names.len().saturating_sub(most);
    let shown = names[..names.len().min(most)].join(", ");
    let list = if names.is_empty() {
        "(none defined)".to_string()
    } else if more == 0 {
        shown
    } else {
        format!("{shown}, … ({more} more)")
    };
    match near {
        Some(near) => format!("{list}; did you mean `{near}`?"),
        None => list,
    }
}

/// A map's keys in order, so a name's index among them (what the model
/// addresses it by) is found by binary search: a `BTreeMap` iterates its
/// keys sorted.
pub(super) struct KeyIndex<'a>(Vec<&'a str>);

impl<'a> KeyIndex<'a> {
    pub(super) fn of<V>(map: &'a BTreeMap<String, V>) -> KeyIndex<'a> {
        KeyIndex(map.keys().map(String::as_str).collect())
    }

    /// The index of `name` among the keys.
    pub(super) fn get(&self, name: &str) -> Option<usize> {
        self.0.binary_search(&name).ok()
    }
}

/// The instance types the pools use, each once, in order of first use.
#[derive(Default)]
pub(super) struct TypeList {
    types: Vec<InstanceType>,
    index: BTreeMap<String, usize>,
}

impl TypeList {
    /// The index of `t`, added at the end if it is new.
    pub(super) fn index_of(&mut self, t: &InstanceType) -> usize {
        if let Some(&i) = self.index.get(&t.name) {
            return i;
        }
        self.types.push(t.clone());
        self.index.insert(t.name.clone(), self.types.len() - 1);
        self.types.len() - 1
    }
}

/// A problem found by validation: the field path and the message.
pub type PathProblem = (String, String);

/// A valid scenario: its spec, its seed, and its warnings by field path.
pub struct Validated {
    pub spec: SystemSpec,
    pub seed: u64,
    pub warnings: Vec<PathProblem>,
}

/// Warns where a pool's memory model, rather than its load, decides what an
/// HPA's memory metric reads: the model is the default the user never gave,
/// or the memory in use at idle (the baseline) already sits at the target,
/// so the metric alone keeps the HPA from scaling in, or drives it to
/// `max_replicas` whatever the load.
fn memory_metric_warnings(c: &mut Checker, path: &str, hpa: &HpaConfig, resources: &PodResources, model_given: bool) {
    let mib = |bytes: i64| format!("{}Mi", (bytes as f64 / f64::from(1 << 20) * 10.0).round() / 10.0);
    let tolerances = hpa.spec.tolerances();
    for m in &hpa.metrics {
        let MetricSpec::Resource {
            name: ResourceName::Memory,
            target,
        } = *m
        else {
            continue;
        };
        let baseline = resources.memory_baseline_bytes;
        if !model_given {
            c.warning(
                format!("{path}.memory_model"),
                format!(
                    "not given, and the HPA scales on memory: the default model (baseline {}, {} per request held) \
                     decides what the metric reads; give the pod's measured memory at idle and per request",
                    mib(baseline),
                    mib(resources.memory_per_in_flight_bytes)
                ),
            );
        }
        let (idle_ratio, target_words) = match target {
            Target::Utilization(u) => (
                baseline as f64 / resources.memory_request_bytes as f64 * 100.0 / f64::from(u),
                format!("{u}% of the {} memory request", mib(resources.memory_request_bytes)),
            ),
            Target::AverageValue(v) => (baseline as f64 * 1000.0 / v as f64, mib(v / 1000)),
            Target::Value(_) => continue,
        };
        let consequence = if idle_ratio > 1.0 + tolerances.up {
            "the memory metric alone drives the HPA to max_replicas whatever the load"
        } else if idle_ratio > 1.0 - tolerances.down {
            "the memory metric alone keeps the HPA from ever scaling in"
        } else {
            continue;
        };
        c.warning(
            format!("{path}.memory_model.baseline"),
            format!(
                "memory in use at idle ({}) is {:.0}% of the HPA's memory target ({target_words}): {consequence}; \
                 raise requests.memory or the target, or give the pod's real baseline",
                mib(baseline),
                idle_ratio * 100.0
            ),
        );
    }
}

/// Checks a raw scenario and builds its spec and seed, or returns every
/// problem: those in the scenario by field path, those in files it refers to
/// (HPA manifests) already located.
pub fn validate(raw: &RawScenario, files: &dyn SourceFiles) -> Result<Validated, (Vec<PathProblem>, Vec<Problem>)> {
    let mut c = Checker {
        problems: Vec::new(),
        foreign: Vec::new(),
        files,
        queues: raw.queues.keys().cloned().collect(),
        warnings: Vec::new(),
    };

    // The name becomes the output folder's name (`output/<name>`).
    check_name(&mut c, "name", &raw.name);
    let duration = raw.duration.0;
    if duration <= 0.0 {
        c.problem("duration", "must be > 0 (e.g. 10m)");
    } else if duration > MAX_DURATION_S {
        c.problem(
            "duration",
            format!("must be at most 3650d (ten years), got {duration} s"),
        );
    }
    let warmup = raw.warmup.map_or(0.0, |w| w.0);
    if duration > 0.0 && warmup >= duration {
        c.problem(
            "warmup",
            format!("must be shorter than duration ({duration} s), got {warmup} s"),
        );
    }
    let interval = raw.interval.map_or(DEFAULT_INTERVAL_S, |i| i.0);
    if interval <= 0.0 {
        c.problem("interval", "must be > 0 (e.g. 10s)");
    } else if duration > 0.0 && duration / interval > 10_000_000.0 {
        c.problem(
            "interval",
            format!(
                "gives {:.0} intervals; at most 10,000,000 are allowed",
                duration / interval
            ),
        );
    }
    let max_events = raw.max_events.unwrap_or(DEFAULT_MAX_EVENTS);
    if max_events == 0 {
        c.problem("max_events", "must be ≥ 1");
    }
    let max_requests_held = raw.max_requests_held.unwrap_or(DEFAULT_MAX_REQUESTS_HELD);
    if !(1_000..=u64::from(u32::MAX / 2)).contains(&max_requests_held) {
        c.problem(
            "max_requests_held",
            format!("must be between 1000 and {} (about 200 bytes each)", u32::MAX / 2),
        );
    }
    // Each interval records a row of series: the run's own, and per pool,
    // class, balancer, cache, database and queue.
    let series = 6
        + raw.pools.len()
        + raw.traffic.classes.len()
        + raw.load_balancers.len()
        + raw.caches.len()
        + raw.databases.len()
        + raw.queues.len();
    if interval > 0.0 && duration > 0.0 && duration / interval * series as f64 > MAX_INTERVAL_CELLS {
        c.problem(
            "interval",
            format!(
                "gives {:.0} intervals of {series} series each; at most {MAX_INTERVAL_CELLS:.0} values are kept in memory: \
                 make the interval at least {} s",
                duration / interval,
                // Rounded up to the millisecond.
                (duration * series as f64 / MAX_INTERVAL_CELLS * 1000.0).ceil() / 1000.0
            ),
        );
    }
    let billing = match &raw.billing {
        None => Billing::PerSecond {
            minimum: SimDuration::from_secs_f64(DEFAULT_BILLING_MINIMUM_S),
        },
        Some(RawBilling::PerSecond { minimum }) => Billing::PerSecond {
            minimum: SimDuration::from_secs_f64(minimum.map_or(DEFAULT_BILLING_MINIMUM_S, |m| m.0)),
        },
        Some(RawBilling::PerHour {}) => Billing::PerHour,
    };

    // Instance types: the built-in catalogue, overridden or extended by the file.
    let mut catalogue: BTreeMap<String, InstanceType> =
        builtin_catalogue().into_iter().map(|t| (t.name.clone(), t)).collect();
    for (name, t) in &raw.instance_types {
        let path = format!("instance_types.{name}");
        if t.vcpu == 0 {
            c.problem(format!("{path}.vcpu"), "must be ≥ 1");
        }
        c.positive(&format!("{path}.memory_gib"), t.memory_gib);
        let speed = t.speed.unwrap_or(1.0);
        c.positive(&format!("{path}.speed"), speed);
        c.non_negative(&format!("{path}.hourly_usd"), t.hourly_usd);
        let market = match t.market {
            Some(RawMarket::Spot) => Market::Spot,
            _ => Market::OnDemand,
        };
        catalogue.insert(
            name.clone(),
            InstanceType {
                name: name.clone(),
                vcpu: t.vcpu,
                memory_gib: t.memory_gib,
                speed,
                hourly_usd: t.hourly_usd,
                market,
            },
        );
    }

    // Pools.
    let mut instance_types = TypeList::default();
    let pool_index: BTreeMap<&String, usize> = raw.pools.keys().enumerate().map(|(i, k)| (k, i)).collect();
    let mut pools = Vec::new();
    let zones = zones(&mut c, raw);
    if raw.pools.is_empty() {
        c.problem("pools", "at least one pool is required");
    }
    for (name, p) in &raw.pools {
        let path = format!("pools.{name}");
        check_name(&mut c, &path, name);
        let Some(t) = catalogue.get(&p.instance_type) else {
            c.problem(
                format!("{path}.instance_type"),
                format!(
                    "unknown type `{}`; known: {}",
                    p.instance_type,
                    known_list(&p.instance_type, catalogue.keys())
                ),
            );
            continue;
        };
        let type_index = instance_types.index_of(t);
        let scales_from_zero =
            matches!(&p.autoscaler, Some(RawAutoscaler::Keda(k)) if k.min_replica_count.unwrap_or(0) == 0);
        if p.count == 0 && !scales_from_zero {
            c.problem(
                format!("{path}.count"),
                "must be ≥ 1: nothing else adds instances to this pool",
            );
        } else if p.count > MAX_INSTANCES {
            c.problem(
                format!("{path}.count"),
                format!("must be at most {MAX_INSTANCES}, got {}", p.count),
            );
        }
        let cores = p.cores.unwrap_or(t.vcpu);
        if cores == 0 || cores > t.vcpu {
            c.problem(
                format!("{path}.cores"),
                format!(
                    "must be between 1 and the type's vCPU count ({} for {}), got {cores}",
                    t.vcpu, t.name
                ),
            );
        }
        let workers = p.workers.unwrap_or(cores.saturating_mul(DEFAULT_WORKERS_PER_CORE));
        if workers == 0 {
            c.problem(format!("{path}.workers"), "must be ≥ 1");
        }
        let timeout = p.timeout.map_or(DEFAULT_TIMEOUT_S, |t| t.0);
        if timeout <= 0.0 {
            c.problem(format!("{path}.timeout"), "must be > 0 (e.g. 30s)");
        }
        let boot = match &p.boot_time {
            Some(d) => distribution(&mut c, &format!("{path}.boot_time"), d),
            None => Some(Distribution::constant(DEFAULT_BOOT_S)),
        };
        let requests = p.requests.as_ref();
        let cpu_request_milli = requests.and_then(|r| r.cpu).map_or(i64::from(cores) * 1000, |q| q.0);
        if cpu_request_milli <= 0 {
            c.problem(format!("{path}.requests.cpu"), "must be > 0 (e.g. 500m or 2)");
        }
        // Memory quantities are milli-bytes; the model keeps bytes.
        let type_bytes = (t.memory_gib * 1_073_741_824.0) as i64;
        let memory_request_bytes = requests.and_then(|r| r.memory).map_or(type_bytes, |q| q.0 / 1000);
        if memory_request_bytes <= 0 {
            c.problem(format!("{path}.requests.memory"), "must be > 0 (e.g. 2Gi)");
        }
        let model = p.memory_model.as_ref();
        let resources = PodResources {
            cpu_request_milli,
            memory_request_bytes,
            memory_baseline_bytes: model
                .and_then(|m| m.baseline)
                .map_or(DEFAULT_MEMORY_BASELINE_BYTES, |q| q.0 / 1000),
            memory_per_in_flight_bytes: model
                .and_then(|m| m.per_in_flight)
                .map_or(DEFAULT_MEMORY_PER_IN_FLIGHT_BYTES, |q| q.0 / 1000),
        };
        let mut keda = None;
        let (autoscaler, aws) = match &p.autoscaler {
            None => (None, None),
            Some(RawAutoscaler::Keda(k)) => {
                match super::autoscaler::keda(&mut c, &format!("{path}.autoscaler.keda"), name, k) {
                    Some((spec, hpa)) => {
                        keda = Some(spec);
                        (Some(hpa), None)
                    }
                    None => (None, None),
                }
            }
            Some(RawAutoscaler::Hpa(h)) => (
                super::autoscaler::hpa(&mut c, &format!("{path}.autoscaler.hpa"), name, h),
                None,
            ),
            Some(RawAutoscaler::Aws(a)) => (
                None,
                super::autoscaler::aws(&mut c, &format!("{path}.autoscaler.aws"), a, cores),
            ),
        };
        if let Some(hpa) = &autoscaler {
            memory_metric_warnings(&mut c, &path, hpa, &resources, p.memory_model.is_some());
        }
        let (mixed, termination) = match &p.autoscaler {
            Some(RawAutoscaler::Aws(a)) => super::mixed::mixed(
                &mut c,
                &format!("{path}.autoscaler.aws"),
                a,
                t,
                &catalogue,
                &mut instance_types,
            ),
            _ => (None, Vec::new()),
        };
        if mixed.is_some() && !p.resize.is_empty() {
            c.problem(
                format!("{path}.resize"),
                "a pool with a mixed instances policy cannot be resized (its types come from the policy)",
            );
        }
        let autoscaled = autoscaler.is_some() || aws.is_some() || p.autoscaler.is_some();
        let schedule = p
            .schedule
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let spath = format!("{path}.schedule[{k}]");
                if a.min.is_none() && a.max.is_none() && a.desired.is_none() {
                    c.problem(&spath, "give at least one of min, max, desired");
                }
                if !autoscaled && (a.min.is_some() || a.max.is_some()) {
                    c.problem(
                        &spath,
                        "min and max change an autoscaler's bounds: this pool has no autoscaler (use desired)",
                    );
                }
                for (field, v) in [("min", a.min), ("max", a.max), ("desired", a.desired)] {
                    if let Some(v) = v
                        && !(0..=i64::from(MAX_INSTANCES)).contains(&v)
                    {
                        c.problem(
                            format!("{spath}.{field}"),
                            format!("must be between 0 and {MAX_INSTANCES}, got {v}"),
                        );
                    }
                }
                if let (Some(lo), Some(hi)) = (a.min, a.max)
                    && lo > hi
                {
                    c.problem(format!("{spath}.min"), format!("must not exceed max ({hi}), got {lo}"));
                }
                if a.min == Some(0) {
                    c.problem(format!("{spath}.min"), "must be ≥ 1 (scaling to zero is not modelled)");
                }
                if let Some(e) = a.every
                    && e.0 < 60.0
                {
                    c.problem(format!("{spath}.every"), "must be at least 1m");
                }
                ScheduledAction {
                    at: SimTime::ZERO + SimDuration::from_secs_f64(a.at.0),
                    every: a.every.map(|e| SimDuration::from_secs_f64(e.0)),
                    min: a.min.map(|v| v as i32),
                    max: a.max.map(|v| v as i32),
                    desired: a.desired.map(|v| v as i32),
                }
            })
            .collect();
        let node_pool = p.node_pool.as_ref().and_then(|n| {
            let npath = format!("{path}.node_pool");
            let Some(nt) = catalogue.get(&n.instance_type) else {
                c.problem(
                    format!("{npath}.instance_type"),
                    format!(
                        "unknown type `{}`; known: {}",
                        n.instance_type,
                        known_list(&n.instance_type, catalogue.keys())
                    ),
                );
                return None;
            };
            if n.pods_per_node == 0 {
                c.problem(format!("{npath}.pods_per_node"), "must be ≥ 1");
                return None;
            }
            if u64::from(n.pods_per_node) * u64::from(cores) > u64::from(nt.vcpu) {
                c.problem(
                    format!("{npath}.pods_per_node"),
                    format!(
                        "{} pods of {cores} cores need {} vCPUs; a {} has {}",
                        n.pods_per_node,
                        u64::from(n.pods_per_node) * u64::from(cores),
                        nt.name,
                        nt.vcpu
                    ),
                );
            }
            let initial = n.count.unwrap_or(p.count.div_ceil(n.pods_per_node));
            let min = n.min.unwrap_or(0);
            if min > initial || initial > n.max || n.max > MAX_INSTANCES {
                c.problem(
                    &npath,
                    format!(
                        "needs min ≤ count ≤ max ≤ {MAX_INSTANCES}; got min {min}, count {initial}, max {}",
                        n.max
                    ),
                );
            }
            if p.warm_start.unwrap_or(true) && u64::from(initial) * u64::from(n.pods_per_node) < u64::from(p.count) {
                c.problem(
                    format!("{npath}.count"),
                    format!(
                        "{initial} nodes of {} pods cannot hold the pool's {} warm pods",
                        n.pods_per_node, p.count
                    ),
                );
            }
            let provisioning = match &n.provisioning_time {
                Some(d) => distribution(&mut c, &format!("{npath}.provisioning_time"), d)?,
                None => Distribution::constant(DEFAULT_NODE_PROVISIONING_S),
            };
            let scan = n.scan_interval.map_or(DEFAULT_NODE_SCAN_S, |d| d.0);
            if scan <= 0.0 {
                c.problem(
                    format!("{npath}.scan_interval"),
                    "must be > 0 (cluster-autoscaler's default is 10s)",
                );
            }
            let type_index = instance_types.index_of(nt);
            Some(NodePoolSpec {
                instance_type: type_index,
                pods_per_node: n.pods_per_node,
                initial,
                min,
                max: n.max,
                provisioning,
                scale_down_delay: SimDuration::from_secs_f64(
                    n.scale_down_delay.map_or(DEFAULT_NODE_SCALE_DOWN_DELAY_S, |d| d.0),
                ),
                scan_interval: SimDuration::from_secs_f64(scan),
            })
        });
        let resizes = p
            .resize
            .iter()
            .enumerate()
            .filter_map(|(k, r)| {
                let rpath = format!("{path}.resize[{k}]");
                let Some(nt) = catalogue.get(&r.instance_type) else {
                    c.problem(
                        format!("{rpath}.instance_type"),
                        format!(
                            "unknown type `{}`; known: {}",
                            r.instance_type,
                            known_list(&r.instance_type, catalogue.keys())
                        ),
                    );
                    return None;
                };
                let new_cores = r.cores.unwrap_or(nt.vcpu);
                if new_cores == 0 || new_cores > nt.vcpu {
                    c.problem(
                        format!("{rpath}.cores"),
                        format!("must be between 1 and {}'s {} vCPUs, got {new_cores}", nt.name, nt.vcpu),
                    );
                }
                if p.node_pool.is_some() {
                    c.problem(
                        &rpath,
                        "resizing pods on a node pool is not modelled (pods per node would change)",
                    );
                }
                let index = instance_types.index_of(nt);
                // Requests follow the cores in the same proportion (what VPA recommends).
                let request = cpu_request_milli * i64::from(new_cores) / i64::from(cores.max(1));
                Some(Resize {
                    at: SimTime::ZERO + SimDuration::from_secs_f64(r.at.0),
                    instance_type: index,
                    cores: new_cores,
                    workers: r.workers.unwrap_or(new_cores.saturating_mul(DEFAULT_WORKERS_PER_CORE)),
                    cpu_request_milli: request,
                })
            })
            .collect();
        pools.push(PoolSpec {
            name: name.clone(),
            zones: p
                .zones
                .iter()
                .flatten()
                .filter_map(|z| zones.binary_search(z).ok().map(|i| i as u16))
                .collect(),
            instance_type: type_index,
            count: p.count,
            workers,
            cores,
            queue_capacity: p.queue_capacity.unwrap_or(DEFAULT_QUEUE_CAPACITY),
            timeout: Some(SimDuration::from_secs_f64(timeout)),
            boot: boot.unwrap_or(Distribution::constant(0.0)),
            readiness_delay: SimDuration::from_secs_f64(p.readiness_delay.map_or(0.0, |d| d.0)),
            termination_grace: SimDuration::from_secs_f64(
                p.termination_grace.map_or(DEFAULT_TERMINATION_GRACE_S, |d| d.0),
            ),
            warm_start: p.warm_start.unwrap_or(true),
            resources,
            autoscaler,
            aws,
            schedule,
            node_pool,
            keda,
            resizes,
            startup_cpu: super::deploy::startup_cpu(&mut c, &path, p.startup_cpu.as_ref(), cores),
            mixed,
            termination,
        });
    }

    // Traffic (before load balancers: hashing on keys needs a key space).
    let traffic = &raw.traffic;
    let curve = rate(&mut c, "traffic.rate", &traffic.rate, true);
    let keys = traffic.keys.as_ref().map(|k| {
        if k.count == 0 {
            c.problem("traffic.keys.count", "must be ≥ 1");
        }
        let s = k.zipf.unwrap_or(0.0);
        c.non_negative("traffic.keys.zipf", s);
        KeySpace {
            count: k.count.max(1),
            zipf_s: s,
        }
    });
    let clients = traffic.clients.unwrap_or(DEFAULT_CLIENTS);
    if clients == 0 || clients > u64::from(u32::MAX) {
        c.problem("traffic.clients", format!("must be between 1 and {}", u32::MAX));
    }
    let mut classes = Vec::new();
    if traffic.classes.is_empty() {
        c.problem("traffic.classes", "at least one request class is required");
    }
    if traffic.classes.len() > usize::from(u16::MAX) {
        c.problem("traffic.classes", "at most 65535 classes are allowed");
    }
    let mut class_names = std::collections::BTreeSet::new();
    let data_names = super::data::DataNames::of(raw);
    for (i, class) in traffic.classes.iter().enumerate() {
        let path = format!("traffic.classes[{i}]");
        if !class_names.insert(class.name.as_str()) {
            c.problem(format!("{path}.name"), format!("duplicate class name `{}`", class.name));
        }
        let weight = class.weight.unwrap_or(1.0);
        c.positive(&format!("{path}.weight"), weight);
        let cpu = distribution(&mut c, &format!("{path}.cpu"), &class.cpu);
        let kind = match class.kind {
            Some(RawKind::Write) => RequestKind::Write,
            _ => RequestKind::Read,
        };
        let data = class
            .data
            .as_ref()
            .and_then(|d| super::data::data_path(&mut c, &format!("{path}.data"), d, kind, raw, &data_names));
        let response_bytes = class.response_kib.and_then(|kib| {
            let field = format!("{path}.response_kib");
            if kib.is_finite() && kib > 0.0 && kib <= MAX_RESPONSE_KIB {
                Some(kib * 1024.0)
            } else {
                c.problem(
                    field,
                    format!("the mean response size in KiB must be above 0 and at most {MAX_RESPONSE_KIB} (1 GiB), got {kib}"),
                );
                None
            }
        });
        let deferrable = class.deferrable.and_then(|f| {
            if (0.01..=0.99).contains(&f) {
                Some(f)
            } else {
                c.problem(
                    format!("{path}.deferrable"),
                    format!(
                        "the share of the class's CPU that need not finish before the answer must be from 0.01 to \
                         0.99 (0.8: 80%; a part of a request under 1% is not worth a queue), got {f}"
                    ),
                );
                None
            }
        });
        if deferrable.is_some() && class.data.as_ref().is_some_and(|d| d.enqueue.is_some()) {
            c.problem(
                format!("{path}.deferrable"),
                "the class already sends its deferred work to a queue (`data.enqueue`): give the queue's `job` that \
                 work and leave `deferrable` out",
            );
        }
        classes.push(RequestClass {
            name: class.name.clone(),
            weight,
            kind,
            cpu: cpu.unwrap_or(Distribution::constant(0.0)),
            data,
            response_bytes,
            deferrable,
        });
    }

    // Load balancers.
    let lb_index: BTreeMap<&String, usize> = raw.load_balancers.keys().enumerate().map(|(i, k)| (k, i)).collect();
    let mut load_balancers = Vec::new();
    for (name, lb) in &raw.load_balancers {
        let path = format!("load_balancers.{name}");
        check_name(&mut c, &path, name);
        let policy = match &lb.policy {
            None | Some(RawPolicy::RoundRobin) => LbPolicy::RoundRobin,
            Some(RawPolicy::WeightedRoundRobin) => LbPolicy::WeightedRoundRobin,
            Some(RawPolicy::LeastConnections) => LbPolicy::LeastConnections,
            Some(RawPolicy::WeightedLeastConnections) => LbPolicy::WeightedLeastConnections,
            Some(RawPolicy::Random) => LbPolicy::Random,
            Some(RawPolicy::PowerOfTwoChoices) => LbPolicy::PowerOfTwoChoices,
            Some(RawPolicy::IpHash) => LbPolicy::IpHash,
            Some(RawPolicy::ConsistentHash { on, vnodes }) => {
                let vnodes = vnodes.unwrap_or(DEFAULT_VNODES);
                if !(1..=10_000).contains(&vnodes) {
                    c.problem(
                        format!("{path}.policy.consistent_hash.vnodes"),
                        "must be between 1 and 10000",
                    );
                }
                if *on == RawHashOn::Key && traffic.keys.is_none() {
                    c.problem(
                        format!("{path}.policy.consistent_hash.on"),
                        "hashing on `key` needs a key space: declare traffic.keys (or hash on `client`)",
                    );
                }
                LbPolicy::ConsistentHash {
                    on: if *on == RawHashOn::Key {
                        HashOn::Key
                    } else {
                        HashOn::Client
                    },
                    vnodes,
                }
            }
        };
        let raw_backends: Vec<(String, &str, Option<u32>, bool)> = match (&lb.pool, &lb.backends) {
            (Some(pool), None) => vec![(format!("{path}.pool"), pool.as_str(), None, false)],
            (None, Some(list)) => list
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let bpath = format!("{path}.backends[{i}]");
                    (bpath, b.pool.as_str(), b.weight, b.backup.unwrap_or(false))
                })
                .collect(),
            (Some(_), Some(_)) => {
                c.problem(&path, "give either `pool` or `backends`, not both");
                Vec::new()
            }
            (None, None) => {
                c.problem(&path, "needs a `pool` (or a list of `backends`) to send traffic to");
                Vec::new()
            }
        };
        if lb.backends.as_ref().is_some_and(|b| b.is_empty()) {
            c.problem(format!("{path}.backends"), "must list at least one pool");
        }
        let mut backends: Vec<LbBackendSpec> = Vec::new();
        let mut listed = std::collections::BTreeSet::new();
        if !raw_backends.is_empty() && raw_backends.iter().all(|b| b.3) {
            c.problem(
                format!("{path}.backends"),
                "every backend is a backup: at least one must not be (backups serve only while no primary can)",
            );
        }
        for (bpath, pool, weight, backup) in raw_backends {
            let weight = weight.unwrap_or(1);
            if weight == 0 {
                c.problem(format!("{bpath}.weight"), "must be ≥ 1");
            }
            match raw.pools.get(pool).and(pool_index.get(&pool.to_string())) {
                Some(&i) if !listed.insert(i) => {
                    c.problem(bpath, format!("pool `{pool}` is listed twice"));
                }
                Some(&i) => backends.push(LbBackendSpec {
                    pool: i,
                    weight,
                    backup,
                }),
                None => c.problem(
                    if bpath.ends_with(".pool") {
                        bpath
                    } else {
                        format!("{bpath}.pool")
                    },
                    format!("unknown pool `{pool}`; known: {}", known_list(pool, raw.pools.keys())),
                ),
            }
        }
        let mut spec = LoadBalancerSpec::plain(name, policy, backends);
        super::balancer::resilience(&mut c, &path, lb, &mut spec);
        load_balancers.push(spec);
    }
    if load_balancers.len() > MAX_LOAD_BALANCERS {
        c.problem("load_balancers", format!("at most {MAX_LOAD_BALANCERS} load balancers"));
    }
    let geo = super::region::geo(&mut c, raw, &lb_index, &load_balancers, raw.pools.len());
    // Without regions the traffic goes to its target; with them, the DNS
    // sends each client to a region's balancer.
    let target = match (&traffic.target, &geo) {
        (Some(name), None) => {
            let target = lb_index.get(name).copied();
            if target.is_none() {
                c.problem(
                    "traffic.target",
                    format!(
                        "unknown load balancer `{name}`; known: {}",
                        known_list(name, raw.load_balancers.keys())
                    ),
                );
            }
            target
        }
        (None, None) => {
            if raw.regions.is_empty() {
                c.problem(
                    "traffic.target",
                    "missing: name the load balancer that receives the traffic",
                );
            }
            None
        }
        (Some(_), Some(_)) => {
            c.problem(
                "traffic.target",
                "with `regions`, the DNS sends each client to a region's balancer: leave `target` out",
            );
            None
        }
        (None, Some(geo)) => geo.regions.first().map(|r| r.balancer),
    };

    /// An error-rate objective this loose is more likely a percentage
    /// written as a fraction (`0.1` for 0.1%) than meant.
    const SUSPICIOUS_ERROR_RATE: f64 = 0.05;
    let slo = raw.slo.as_ref().map(|s| {
        if s.latency.is_none() && s.error_rate.is_none() {
            c.problem("slo", "give a `latency` objective, an `error_rate` ceiling, or both");
        }
        let latency = s.latency.as_ref().map(|l| {
            if !(l.percentile > 0.0 && l.percentile < 100.0) {
                c.problem(
                    "slo.latency.percentile",
                    format!("must be between 0 and 100 (e.g. 99), got {}", l.percentile),
                );
            }
            if l.threshold.0 <= 0.0 {
                c.problem("slo.latency.threshold", "must be > 0 (e.g. 300ms)");
            }
            (l.percentile / 100.0, SimDuration::from_secs_f64(l.threshold.0))
        });
        if let Some(e) = s.error_rate
            && !(0.0..=1.0).contains(&e)
        {
            c.problem(
                "slo.error_rate",
                format!("must be a fraction between 0 and 1, such as 0.001 or 0.1%, got {e}"),
            );
        } else if let Some(e) = s.error_rate
            && e >= SUSPICIOUS_ERROR_RATE
        {
            c.warning(
                "slo.error_rate",
                format!(
                    "{e} allows {}% of requests to fail; error-rate objectives are usually 0.1% to 1% (0.001 to 0.01), and a fraction is not a percentage",
                    e * 100.0
                ),
            );
        }
        SloSpec {
            latency,
            error_rate_max: s.error_rate,
        }
    });
    let mut data = super::data::data_tier(&mut c, raw);
    let prices = super::prices::prices(&mut c, raw);
    super::region::place_databases(&mut c, raw, geo.as_ref(), &mut data);
    // The spot types each pool can run: (a name the fault may give, its
    // catalogue index); `None` when its mixed instances policy has problems
    // of its own (already reported), so they are not known.
    let spot_types = |p: usize| -> Option<Vec<(String, usize)>> {
        let mixed_given = raw
            .pools
            .values()
            .nth(p)
            .is_some_and(|r| matches!(&r.autoscaler, Some(RawAutoscaler::Aws(a)) if a.mixed_instances.is_some()));
        let Some(s) = pools.get(p) else {
            return (!mixed_given).then(Vec::new);
        };
        if mixed_given && s.mixed.is_none() {
            return None;
        }
        let types = &instance_types.types;
        let mut spot = Vec::new();
        if types[s.instance_type].market == Market::Spot {
            spot.push((types[s.instance_type].name.clone(), s.instance_type));
        }
        for o in s.mixed.iter().flat_map(|m| &m.overrides) {
            if let Some(t) = o.spot {
                spot.push((types[o.on_demand].name.clone(), t));
                spot.push((types[t].name.clone(), t));
            }
        }
        Some(spot)
    };
    let faults = instance_faults(&mut c, raw, duration, &zones, &spot_types);
    let deploys = super::deploy::deploys(&mut c, raw, duration);
    let arrivals = match traffic.arrivals {
        Some(RawArrivals::Deterministic) => ArrivalMode::Deterministic,
        _ => ArrivalMode::Poisson,
    };
    let growth = raw.growth.clone().unwrap_or_else(|| DEFAULT_GROWTH.to_vec());
    if let Err(why) = check_growth(&growth) {
        c.problem("growth", why);
    }
    if !c.problems.is_empty() || !c.foreign.is_empty() {
        return Err((c.problems, c.foreign));
    }
    let spec = SystemSpec {
        name: raw.name.clone(),
        duration: SimDuration::from_secs_f64(duration),
        warmup: SimDuration::from_secs_f64(warmup),
        interval: SimDuration::from_secs_f64(interval),
        max_events,
        max_requests_held,
        billing,
        traffic: TrafficSpec {
            curve: curve.expect("no problems, so the curve was built"),
            arrivals,
            classes,
            clients,
            keys,
            target: target.expect("checked"),
        },
        geo,
        instance_types: instance_types.types,
        load_balancers,
        pools,
        data,
        faults,
        deploys,
        zones,
        slo,
        growth,
        prices,
    };
    Ok(Validated {
        spec,
        seed: raw.seed.unwrap_or(DEFAULT_SEED),
        warnings: c.warnings,
    })
}

/// Availability zones, from the pools that name them: sorted, each once.
fn zones(c: &mut Checker, raw: &RawScenario) -> Vec<String> {
    let mut all = std::collections::BTreeSet::new();
    for (name, p) in &raw.pools {
        let Some(zones) = &p.zones else { continue };
        let path = format!("pools.{name}.zones");
        if zones.is_empty() || zones.len() > MAX_ZONES {
            c.problem(&path, format!("give 1 to {MAX_ZONES} zones, or leave it out"));
        }
        let mut listed = std::collections::BTreeSet::new();
        for (i, z) in zones.iter().enumerate() {
            check_name(c, &format!("{path}[{i}]"), z);
            if !listed.insert(z) {
                c.problem(format!("{path}[{i}]"), format!("`{z}` is listed twice"));
            }
            all.insert(z.clone());
        }
    }
    all.into_iter().collect()
}

/// The largest mean response size a class may give, in KiB: 1 GiB.
pub const MAX_RESPONSE_KIB: f64 = 1_048_576.0;

/// Zones a scenario may name, in all.
pub const MAX_ZONES: usize = 64;

/// Load balancers a scenario may have (a request names its own in a byte).
pub const MAX_LOAD_BALANCERS: usize = 255;

/// EC2's spot interruption notice.
pub const DEFAULT_SPOT_NOTICE_S: u64 = 120;

/// The bounds of a random fault's mean time between failures: a second to
/// a thousand years.
const MTBF_RANGE_S: std::ops::RangeInclusive<f64> = 1.0..=1000.0 * 365.0 * 86_400.0;

/// When a fault strikes: at a fixed time (`at`, within the run when its
/// `duration` is given) or at random (`mtbf`); `None` when neither or both.
pub(super) fn fault_when(
    c: &mut Checker,
    path: &str,
    at: Option<super::units::Duration>,
    mtbf: Option<super::units::Duration>,
    duration: Option<f64>,
) -> Option<When> {
    match (at, mtbf) {
        (Some(at), None) => {
            let end = duration.unwrap_or(f64::INFINITY);
            if !(0.0..=end).contains(&at.0) {
                let allowed = duration.map_or("must be ≥ 0".to_string(), |d| {
                    format!("must be within the run (0 to {d} s)")
                });
                c.problem(format!("{path}.at"), format!("{allowed}, got {} s", at.0));
            }
            Some(When::At(
                SimTime::ZERO + SimDuration::from_secs_f64(at.0.clamp(0.0, end.min(1e15))),
            ))
        }
        (None, Some(mtbf)) => {
            if !MTBF_RANGE_S.contains(&mtbf.0) {
                c.problem(
                    format!("{path}.mtbf"),
                    format!("must be between 1s and 1000 years, got {} s", mtbf.0),
                );
            }
            Some(When::Random {
                mtbf: SimDuration::from_secs_f64(mtbf.0.clamp(*MTBF_RANGE_S.start(), *MTBF_RANGE_S.end())),
            })
        }
        _ => {
            c.problem(
                path,
                "give `at` (a fixed time) or `mtbf` (the mean time between failures of a fault drawn at random), \
                 not both",
            );
            None
        }
    }
}

/// The faults on app instances and zones: fixed-time ones in time order,
/// then random ones in the scenario's order.
fn instance_faults(
    c: &mut Checker,
    raw: &RawScenario,
    duration: f64,
    zones: &[String],
    spot_types: &dyn Fn(usize) -> Option<Vec<(String, usize)>>,
) -> Vec<FaultSpec> {
    let mut faults = Vec::new();
    let (pools, regions, balancers) = (
        KeyIndex::of(&raw.pools),
        KeyIndex::of(&raw.regions),
        KeyIndex::of(&raw.load_balancers),
    );
    for (i, f) in raw.faults.iter().enumerate() {
        let path = format!("faults[{i}]");
        let Some(when) = fault_when(c, &path, f.at, f.mtbf, Some(duration)) else {
            continue;
        };
        let random = f.mtbf.is_some();
        let secs = |d: Option<super::units::Duration>| SimDuration::from_secs_f64(d.map_or(0.0, |d| d.0));
        let pool = |c: &mut Checker, kpath: &str, name: &str, instances: Option<u32>| {
            if random && instances.is_some() {
                c.problem(
                    format!("{kpath}.instances"),
                    "a fault drawn at random strikes each instance on its own (`mtbf` is per instance); \
                     give `instances` only with `at`",
                );
            }
            let instances = instances.unwrap_or(1);
            if !(1..=MAX_INSTANCES).contains(&instances) {
                c.problem(
                    format!("{kpath}.instances"),
                    format!("must be between 1 and {MAX_INSTANCES}, got {instances}"),
                );
            }
            match pools.get(name) {
                Some(p) => Some((p, instances)),
                None => {
                    c.problem(
                        format!("{kpath}.pool"),
                        format!("unknown pool `{name}`; known: {}", known_list(name, raw.pools.keys())),
                    );
                    None
                }
            }
        };
        let given = [
            f.crash.is_some(),
            f.slowdown.is_some(),
            f.zone_outage.is_some(),
            f.spot_interruption.is_some(),
            f.region_outage.is_some(),
            f.lb_node_failure.is_some(),
        ];
        if given.iter().filter(|&&g| g).count() != 1 {
            c.problem(
                &path,
                "give one of `crash: { pool }`, `slowdown: { pool, factor, for }`, `zone_outage: { zone, for }`, \
                 `spot_interruption: { pool }`, `region_outage: { region, for }` or `lb_node_failure: { balancer, for }`",
            );
            continue;
        }
        if let Some(failure) = &f.lb_node_failure {
            let fpath = format!("{path}.lb_node_failure");
            if failure.duration.0 <= 0.0 {
                c.problem(format!("{fpath}.for"), "must be > 0");
            }
            let Some((b, lb)) = balancers
                .get(&failure.balancer)
                .map(|b| (b, &raw.load_balancers[&failure.balancer]))
            else {
                c.problem(
                    format!("{fpath}.balancer"),
                    format!(
                        "unknown load balancer `{}`; known: {}",
                        failure.balancer,
                        known_list(&failure.balancer, raw.load_balancers.keys())
                    ),
                );
                continue;
            };
            let nodes = lb.nodes.unwrap_or(1);
            let node = failure.node.unwrap_or(1);
            if !(1..=nodes).contains(&node) {
                c.problem(
                    format!("{fpath}.node"),
                    format!("must be between 1 and the balancer's {nodes} node(s) (`nodes`), got {node}"),
                );
                continue;
            }
            faults.push(FaultSpec {
                when,
                kind: FaultKind::LbNodeFailure {
                    balancer: b as u16,
                    node: node - 1,
                    duration: SimDuration::from_secs_f64(failure.duration.0.max(0.0)),
                    detected_after: secs(failure.detected_after),
                },
            });
            continue;
        }
        if let Some(outage) = &f.region_outage {
            let opath = format!("{path}.region_outage");
            if outage.duration.0 <= 0.0 {
                c.problem(format!("{opath}.for"), "must be > 0");
            }
            match regions.get(&outage.region) {
                Some(r) => faults.push(FaultSpec {
                    when,
                    kind: FaultKind::RegionOutage {
                        region: r as u16,
                        duration: SimDuration::from_secs_f64(outage.duration.0.max(0.0)),
                        detected_after: secs(outage.detected_after),
                    },
                }),
                None => c.problem(
                    format!("{opath}.region"),
                    format!(
                        "unknown region `{}`; known: {}",
                        outage.region,
                        if raw.regions.is_empty() {
                            "none".to_string()
                        } else {
                            known_list(&outage.region, raw.regions.keys())
                        }
                    ),
                ),
            }
            continue;
        }
        let kind = match (&f.crash, &f.slowdown, &f.zone_outage) {
            (Some(crash), None, None) => {
                pool(c, &format!("{path}.crash"), &crash.pool, crash.instances).map(|(pool, instances)| {
                    FaultKind::Crash {
                        pool,
                        instances,
                        detected_after: secs(crash.detected_after),
                    }
                })
            }
            (None, Some(slow), None) => {
                let spath = format!("{path}.slowdown");
                if !(slow.factor.is_finite() && (1.0..=1000.0).contains(&slow.factor)) {
                    c.problem(
                        format!("{spath}.factor"),
                        format!(
                            "must be between 1 and 1000 (service times are multiplied by it), got {}",
                            slow.factor
                        ),
                    );
                }
                if slow.duration.0 <= 0.0 {
                    c.problem(format!("{spath}.for"), "must be > 0");
                }
                pool(c, &spath, &slow.pool, slow.instances).map(|(pool, instances)| FaultKind::Slowdown {
                    pool,
                    instances,
                    factor: slow.factor,
                    duration: SimDuration::from_secs_f64(slow.duration.0),
                })
            }
            (None, None, Some(outage)) => {
                let opath = format!("{path}.zone_outage");
                if outage.duration.0 <= 0.0 {
                    c.problem(format!("{opath}.for"), "must be > 0");
                }
                match zones.binary_search(&outage.zone).ok() {
                    Some(z) => Some(FaultKind::ZoneOutage {
                        zone: z as u16,
                        duration: SimDuration::from_secs_f64(outage.duration.0),
                        detected_after: secs(outage.detected_after),
                    }),
                    None => {
                        c.problem(
                            format!("{opath}.zone"),
                            format!(
                                "unknown zone `{}`; the pools' `zones` name: {}",
                                outage.zone,
                                if zones.is_empty() {
                                    "none".to_string()
                                } else {
                                    known_list(&outage.zone, zones.iter())
                                }
                            ),
                        );
                        None
                    }
                }
            }
            _ => {
                let spot = f.spot_interruption.as_ref().expect("exactly one kind is given");
                let spath = format!("{path}.spot_interruption");
                pool(c, &spath, &spot.pool, spot.instances).and_then(|(p, instances)| {
                    let spot_types = spot_types(p)?;
                    if spot_types.is_empty() {
                        c.problem(
                            format!("{spath}.pool"),
                            format!(
                                "pool `{}` runs on-demand instances; only spot instances (`market: spot`, or a mixed group's spot share) are interrupted",
                                spot.pool
                            ),
                        );
                        return None;
                    }
                    let instance_type = match &spot.instance_type {
                        None => None,
                        Some(name) => match spot_types.iter().find(|(n, _)| n == name) {
                            Some(&(_, t)) => Some(t),
                            None => {
                                let mut names: Vec<&String> = spot_types.iter().map(|(n, _)| n).collect();
                                names.dedup();
                                c.problem(
                                    format!("{spath}.instance_type"),
                                    format!(
                                        "pool `{}` runs no spot instances of `{name}`; its spot types: {}",
                                        spot.pool,
                                        known_list(name, names.into_iter())
                                    ),
                                );
                                return None;
                            }
                        },
                    };
                    Some(FaultKind::SpotInterruption {
                        pool: p,
                        instances,
                        instance_type,
                        notice: spot
                            .notice
                            .map_or(SimDuration::from_secs(DEFAULT_SPOT_NOTICE_S), |d| SimDuration::from_secs_f64(d.0)),
                    })
                })
            }
        };
        if let Some(kind) = kind {
            faults.push(FaultSpec { when, kind });
        }
    }
    faults.sort_by_key(|f| match f.when {
        When::At(at) => (0, at),
        When::Random { .. } => (1, SimTime::ZERO),
    });
    faults
}

pub(super) fn check_name(c: &mut Checker, path: &str, name: &str) {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !ok {
        let shown: String = name.chars().take(40).flat_map(char::escape_debug).collect();
        let more = if name.chars().count() > 40 { "…" } else { "" };
        c.problem(
            path,
            format!(
                "name `{shown}{more}` must be 1–64 characters of a-z, A-Z, 0-9, `-` or `_` (names become file and folder names)"
            ),
        );
    }
}

/// The longest duration a distribution may produce or average, in seconds
/// (about 31.7 years; the clock counts nanoseconds in 64 bits, 584 years).
pub const MAX_DISTRIBUTION_S: f64 = 1e9;
/// A distribution's mean: at least the clock's resolution, 1 ns.
pub const MIN_MEAN_S: f64 = 1e-9;
pub const MIN_CV: f64 = 1e-3;
pub const MAX_CV: f64 = 100.0;

fn mean_in_range(c: &mut Checker, path: &str, mean: f64) {
    if !(MIN_MEAN_S..=MAX_DISTRIBUTION_S).contains(&mean) {
        c.problem(
            path,
            format!("must be between 1ns (the clock's resolution) and {MAX_DISTRIBUTION_S:e}s, got {mean} s"),
        );
    }
}

fn at_most_max_duration(c: &mut Checker, path: &str, value: f64) {
    if value > MAX_DISTRIBUTION_S {
        c.problem(path, format!("must be at most {MAX_DISTRIBUTION_S:e}s, got {value} s"));
    }
}

pub(super) fn distribution(c: &mut Checker, path: &str, d: &RawDistribution) -> Option<Distribution> {
    let before = c.problems.len();
    let built = match d {
        RawDistribution::Constant(v) => {
            at_most_max_duration(c, &format!("{path}.constant"), v.0);
            Distribution::constant(v.0)
        }
        RawDistribution::Exponential { mean } => {
            mean_in_range(c, &format!("{path}.exponential.mean"), mean.0);
            Distribution::exponential(mean.0)
        }
        RawDistribution::Lognormal { mean, cv } | RawDistribution::Gamma { mean, cv } => {
            let kind = if matches!(d, RawDistribution::Lognormal { .. }) {
                "lognormal"
            } else {
                "gamma"
            };
            mean_in_range(c, &format!("{path}.{kind}.mean"), mean.0);
            if !(cv.is_finite() && (MIN_CV..=MAX_CV).contains(cv)) {
                c.problem(
                    format!("{path}.{kind}.cv"),
                    format!("must be between {MIN_CV} and {MAX_CV} (`constant` has none), got {cv}"),
                );
            }
            if c.problems.len() > before {
                return None;
            }
            if kind == "lognormal" {
                Distribution::lognormal(mean.0, *cv)
            } else {
                Distribution::gamma(mean.0, *cv)
            }
        }
        RawDistribution::Uniform { min, max } => {
            at_most_max_duration(c, &format!("{path}.uniform.max"), max.0);
            if min.0 > max.0 {
                c.problem(
                    format!("{path}.uniform"),
                    format!("min ({} s) must not exceed max ({} s)", min.0, max.0),
                );
            }
            Distribution::uniform(min.0, max.0)
        }
    };
    (c.problems.len() == before).then_some(built)
}

/// A number as a problem quotes it: `1e308`, not its 309 digits.
pub(super) fn number(value: f64) -> String {
    if value != 0.0 && !(1e-6..1e15).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// `1e9 req/s (…)`: the rate limit and why.
fn max_rate_words() -> String {
    format!("{MAX_RATE_RPS:e} req/s (one arrival per nanosecond, the clock's resolution)")
}

/// The pieces of a curve, sums and products included.
fn pieces(r: &RawRate) -> usize {
    match r {
        RawRate::Sum(parts) | RawRate::Product(parts) => 1 + parts.iter().map(pieces).sum::<usize>(),
        _ => 1,
    }
}

fn rate(c: &mut Checker, path: &str, r: &RawRate, top: bool) -> Option<RateCurve> {
    let before = c.problems.len();
    if top && pieces(r) > MAX_RATE_PIECES {
        c.problem(
            path,
            format!(
                "has {} pieces (sums and products included); at most {MAX_RATE_PIECES}: every arrival evaluates each \
                 piece, so give a long recorded curve as `steps` or a `replay` CSV",
                pieces(r)
            ),
        );
        return None;
    }
    let curve = match r {
        RawRate::Constant(v) => {
            c.rate_value(&format!("{path}.constant"), *v);
            RateCurve::Constant(*v)
        }
        RawRate::Ramp { from, to, start, end } => {
            c.rate_value(&format!("{path}.ramp.from"), *from);
            c.rate_value(&format!("{path}.ramp.to"), *to);
            if end.0 <= start.0 {
                c.problem(
                    format!("{path}.ramp.end"),
                    format!("must be after start ({} s)", start.0),
                );
            }
            RateCurve::Ramp {
                from: *from,
                to: *to,
                start: start.0,
                end: end.0,
            }
        }
        RawRate::Steps(steps) => {
            if steps.is_empty() {
                c.problem(format!("{path}.steps"), "must list at least one {at, rate}");
            }
            for (i, s) in steps.iter().enumerate() {
                c.rate_value(&format!("{path}.steps[{i}].rate"), s.rate);
                if i > 0 && s.at.0 <= steps[i - 1].at.0 {
                    c.problem(
                        format!("{path}.steps[{i}].at"),
                        "steps must be in increasing time order",
                    );
                }
            }
            RateCurve::Steps(steps.iter().map(|s| (s.at.0, s.rate)).collect())
        }
        RawRate::Diurnal {
            peak,
            peak_to_trough,
            peak_at,
            period,
        } => {
            c.rate_value(&format!("{path}.diurnal.peak"), *peak);
            if !(peak_to_trough.is_finite() && *peak_to_trough >= 1.0) {
                c.problem(
                    format!("{path}.diurnal.peak_to_trough"),
                    format!("must be ≥ 1, got {peak_to_trough}"),
                );
            }
            let period = period.map_or(DEFAULT_DIURNAL_PERIOD_S, |p| p.0);
            if period <= 0.0 {
                c.problem(format!("{path}.diurnal.period"), "must be > 0");
            }
            RateCurve::Diurnal {
                peak: *peak,
                peak_to_trough: *peak_to_trough,
                peak_at: peak_at.0,
                period,
            }
        }
        RawRate::Spike {
            start,
            duration,
            multiplier,
            rise,
            decay,
        } => {
            c.non_negative(&format!("{path}.spike.multiplier"), *multiplier);
            RateCurve::Spike {
                start: start.0,
                duration: duration.0,
                rise: rise.map_or(0.0, |r| r.0),
                decay: decay.map_or(0.0, |d| d.0),
                multiplier: *multiplier,
            }
        }
        RawRate::Replay { file, interpolate } => {
            let linear = *interpolate == Some(RawInterpolate::Linear);
            match c.files.read_as(file, SourceKind::Replay) {
                Err(why) => {
                    c.problem(format!("{path}.replay.file"), format!("cannot read `{file}`: {why}"));
                    RateCurve::Constant(0.0)
                }
                Ok(text) => match parse_replay(&text) {
                    Ok(points) => RateCurve::Replay { points, linear },
                    Err(why) => {
                        c.problem(format!("{path}.replay.file"), format!("`{file}`: {why}"));
                        RateCurve::Constant(0.0)
                    }
                },
            }
        }
        RawRate::Noise { sd, interval } => {
            c.non_negative(&format!("{path}.noise.sd"), *sd);
            if interval.0 < 1e-3 {
                // Finer noise is invisible at any interval a scenario reports,
                // and each draw costs work when arrivals are generated.
                c.problem(
                    format!("{path}.noise.interval"),
                    format!("must be at least 1ms, got {} s", interval.0),
                );
            }
            RateCurve::Noise {
                sd: *sd,
                interval: interval.0,
                key: 0,
            }
        }
        RawRate::Sum(parts) | RawRate::Product(parts) => {
            let kind = if matches!(r, RawRate::Sum(_)) { "sum" } else { "product" };
            if parts.is_empty() {
                c.problem(format!("{path}.{kind}"), "must list at least one piece");
            }
            let built: Vec<Option<RateCurve>> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| rate(c, &format!("{path}.{kind}[{i}]"), p, false))
                .collect();
            let built: Vec<RateCurve> = built.into_iter().flatten().collect();
            if kind == "sum" {
                RateCurve::Sum(built)
            } else {
                RateCurve::Product(built)
            }
        }
    };
    if top && c.problems.len() == before && matches!(r, RawRate::Spike { .. } | RawRate::Noise { .. }) {
        c.problem(
            path,
            "a spike or noise is a multiplier (1 outside its effect): use it inside `product` with a base rate",
        );
    }
    // An infinite or NaN bound (10³⁰⁸ × 10³⁰⁸) is beyond it too.
    let within = |peak: f64| peak.is_finite() && peak <= MAX_RATE_RPS;
    if top && c.problems.len() == before && !within(curve.peak_bound()) {
        c.problem(
            path,
            format!(
                "can reach {:e} req/s (its pieces' highest values combined); at most {}",
                curve.peak_bound(),
                max_rate_words()
            ),
        );
    }
    (c.problems.len() == before).then_some(curve)
}

/// Parses a replay CSV: `time,rate` rows (time as seconds or a duration like
/// `5m`), an optional header, `#` comments; times strictly increasing.
pub fn parse_replay(text: &str) -> Result<Vec<(f64, f64)>, String> {
    let mut points: Vec<(f64, f64)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cells = line.split(',').map(str::trim);
        let (Some(t), Some(r), None) = (cells.next(), cells.next(), cells.next()) else {
            // The line itself is not quoted: the file may be anything.
            let found = line.split(',').count();
            return Err(format!(
                "line {}: expected two columns `time,rate`, found {found}",
                n + 1
            ));
        };
        if points.is_empty() && t.parse::<f64>().is_err() && super::units::parse_duration(t).is_err() {
            continue; // A header row.
        }
        let time = super::units::parse_duration(t).map_err(|e| format!("line {}: {e}", n + 1))?;
        let rate: f64 = r
            .parse()
            .map_err(|_| format!("line {}: rate `{}` is not a number", n + 1, super::error::excerpt(r)))?;
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(format!("line {}: rate must be a finite number ≥ 0, got {rate}", n + 1));
        }
        if rate > MAX_RATE_RPS {
            return Err(format!(
                "line {}: rate must be at most {}, got {rate}",
                n + 1,
                max_rate_words()
            ));
        }
        if points.last().is_some_and(|(prev, _)| time <= *prev) {
            return Err(format!("line {}: times must be strictly increasing", n + 1));
        }
        points.push((time, rate));
    }
    if points.is_empty() {
        return Err("no `time,rate` rows".to_string());
    }
    Ok(points)
}
