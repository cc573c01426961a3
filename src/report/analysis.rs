//! What a run says about capacity: which component saturates first as
//! traffic grows, what each needs, and what that costs. Written as
//! `analysis.json`; the capacity-review report is rendered from it.
//!
//! Everything here is derived from the run's measurements and one stated
//! model: a pool's CPU demand grows in proportion to its traffic. Demand is
//! the work *offered* to the pool (every request sent to it, served or not),
//! not its busy cores, which a saturated pool caps at its size. A pool's
//! *headroom* is the traffic multiple at which its demand at the busiest
//! interval would fill every core it may have (its autoscaler's
//! maximum, else its fixed size): the hard limit. Its *planning ceiling* is
//! the CPU share it is meant to run at (its HPA or target-tracking CPU
//! target, else 70%); sizes are computed to hold the ceiling. `capsim
//! headroom` measures the SLO's limit by simulation instead.

use serde::{Deserialize, Serialize};

use crate::metrics::IntervalRow;
use crate::model::autoscaler::aws::{AwsMetric, AwsPolicy, TargetTrackingPolicy};
use crate::model::autoscaler::{MetricSpec, ResourceName, Target};
use crate::model::{LbPolicy, RunResult, SystemSpec};

/// The CPU share a pool without a CPU target is planned to run at.
pub const DEFAULT_CEILING: f64 = 0.7;

/// The name of each growth horizon: short, medium and long term for three,
/// else the multiple itself (`×3`).
fn term(growth: &[f64], i: usize) -> String {
    match (growth.len(), i) {
        (3, 0) => "short term".into(),
        (3, 1) => "medium term".into(),
        (3, 2) => "long term".into(),
        _ => format!("×{}", growth[i]),
    }
}

const HOURS_PER_MONTH: f64 = 730.0;

/// A number that `analysis.json` holds as `null` when undefined (NaN when
/// written), read back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Analysis {
    pub scenario: String,
    /// The busiest interval after the warm-up (by offered load).
    pub peak: Peak,
    pub components: Vec<Component>,
    /// The component with the least headroom: the first to saturate.
    pub bottleneck: Option<usize>,
    /// What each horizon's growth needs, in the order things saturate.
    pub plan: Vec<PlanStep>,
    /// The scenario's topology, as lines of a text sketch.
    pub topology: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Peak {
    #[serde(deserialize_with = "nan_if_null")]
    pub start_s: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub end_s: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub offered_rps: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub latency_p99_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub error_rate: f64,
}

/// One pool's load against its capacity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Component {
    pub name: String,
    pub instance_type: String,
    pub cores_per_instance: u32,
    #[serde(deserialize_with = "nan_if_null")]
    pub hourly_usd: f64,
    pub instances_initial: u32,
    pub instances_min: u32,
    pub instances_peak: u32,
    /// The most it may have: the autoscaler's maximum (bounded by its node
    /// pool), else its fixed size.
    pub instances_max: u32,
    /// e.g. `HPA 2–30, CPU 60%`; absent for fixed pools.
    pub autoscaler: Option<String>,
    /// CPU share per instance it is planned to run at.
    #[serde(deserialize_with = "nan_if_null")]
    pub ceiling: f64,
    /// CPU work offered to the pool per second in its busiest interval
    /// after the warm-up (by offered work): its demand, served or not.
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_offered_cores: f64,
    /// Busy cores in that interval: at most its serving cores.
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_busy_cores: f64,
    /// Busy core-time over serving core-time in that interval.
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_utilization: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_queue: f64,
    /// How long its autoscaler sat at its maximum.
    #[serde(deserialize_with = "nan_if_null")]
    pub time_at_max_s: f64,
    /// Traffic multiple at which the peak demand fills `instances_max` (null: no demand).
    pub headroom: Option<f64>,
    /// Traffic multiple at which the peak demand reaches the ceiling at `instances_max`.
    pub ceiling_at: Option<f64>,
    /// Instances holding today's peak at the ceiling.
    pub instances_needed: u32,
    pub verdict: String,
    pub fix: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub cost_per_month_usd: f64,
}

impl Component {
    /// The peak CPU demand: the offered work, or the busy cores where work
    /// was done that no request offered (a deploy's start-up work).
    pub fn peak_demand_cores(&self) -> f64 {
        self.peak_offered_cores.max(self.peak_busy_cores)
    }

    /// Instances that hold the peak demand grown by `growth` at the ceiling.
    pub fn needed(&self, growth: f64) -> u32 {
        let cores = f64::from(self.cores_per_instance) * self.ceiling;
        // An autoscaler never goes below its minimum; a fixed pool can shrink to one.
        let floor = if self.autoscaler.is_some() {
            self.instances_min
        } else {
            1
        };
        let n = (self.peak_demand_cores() * growth / cores - 1e-9).ceil();
        (n.min(f64::from(u32::MAX)) as u32).max(floor.max(1))
    }

    /// First-order $/month at `growth` × today's traffic: fixed pools sized
    /// to `needed`, autoscaled pools growing with the load above their minimum.
    pub fn cost_at(&self, growth: f64) -> f64 {
        let per_instance = self.hourly_usd * HOURS_PER_MONTH;
        if self.autoscaler.is_some() {
            let floor = f64::from(self.instances_min) * per_instance;
            (self.cost_per_month_usd * growth).max(floor)
        } else if self.needed(growth) > self.instances_initial {
            f64::from(self.needed(growth)) * per_instance
        } else {
            self.cost_per_month_usd
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PlanStep {
    pub term: String,
    #[serde(deserialize_with = "nan_if_null")]
    pub growth: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub peak_rps: f64,
    /// One line per component that needs a change at this growth.
    pub actions: Vec<String>,
    /// Estimated $/month of the whole system at this growth.
    #[serde(deserialize_with = "nan_if_null")]
    pub cost_per_month_usd: f64,
}

fn autoscaler_label(pool: &crate::model::PoolSpec) -> Option<String> {
    if let Some(k) = &pool.keda {
        return Some(format!("KEDA {}–{}", k.min_replica_count, k.max_replica_count));
    }
    if let Some(h) = &pool.autoscaler {
        let metrics: Vec<String> = h
            .metrics
            .iter()
            .map(|m| match m {
                MetricSpec::Resource {
                    target: Target::Utilization(u),
                    ..
                } => format!("{} {u}%", m.label()),
                other => other.label().to_string(),
            })
            .collect();
        return Some(format!(
            "HPA {}–{}, {}",
            h.spec.min_replicas,
            h.spec.max_replicas,
            metrics.join(", ")
        ));
    }
    if let Some(a) = &pool.aws {
        return Some(format!("AWS auto scaling {}–{}", a.min_size, a.max_size));
    }
    None
}

/// The CPU share of a pool's cores its autoscaler aims for.
fn ceiling(pool: &crate::model::PoolSpec) -> f64 {
    let from_hpa = pool.autoscaler.as_ref().and_then(|h| {
        h.metrics.iter().find_map(|m| match m {
            MetricSpec::Resource {
                name: ResourceName::Cpu,
                target: Target::Utilization(u),
            } => {
                // Utilization is of the CPU request; the ceiling is of the cores.
                let request = pool.resources.cpu_request_milli as f64 / 1000.0;
                Some(f64::from(*u) / 100.0 * request / f64::from(pool.cores.max(1)))
            }
            _ => None,
        })
    });
    let from_aws = pool.aws.as_ref().and_then(|a| {
        a.policies.iter().find_map(|p| match p {
            AwsPolicy::TargetTracking(TargetTrackingPolicy {
                metric: AwsMetric::CpuUtilization,
                target,
                ..
            }) => Some(target / 100.0),
            _ => None,
        })
    });
    from_hpa
        .or(from_aws)
        .filter(|c| *c > 0.0)
        .map_or(DEFAULT_CEILING, |c| c.min(1.0))
}

fn limits(pool: &crate::model::PoolSpec) -> (u32, u32) {
    let (min, max) = if let Some(k) = &pool.keda {
        (k.min_replica_count, k.max_replica_count)
    } else if let Some(h) = &pool.autoscaler {
        (h.spec.min_replicas, h.spec.max_replicas)
    } else if let Some(a) = &pool.aws {
        (a.min_size as i32, a.max_size as i32)
    } else {
        (pool.count as i32, pool.count as i32)
    };
    let mut max = max.max(0) as u32;
    if let Some(n) = &pool.node_pool {
        max = max.min(n.max * n.pods_per_node);
    }
    (min.max(0) as u32, max)
}

fn policy_name(p: LbPolicy) -> &'static str {
    match p {
        LbPolicy::RoundRobin => "round robin",
        LbPolicy::WeightedRoundRobin => "weighted round robin",
        LbPolicy::LeastConnections => "least connections",
        LbPolicy::WeightedLeastConnections => "weighted least connections",
        LbPolicy::Random => "random",
        LbPolicy::PowerOfTwoChoices => "power of two choices",
        LbPolicy::IpHash => "IP hash",
        LbPolicy::ConsistentHash { .. } => "consistent hash",
    }
}

fn topology(spec: &SystemSpec, peak_rps: f64, components: &[Component]) -> Vec<String> {
    let total: f64 = spec.traffic.classes.iter().map(|c| c.weight).sum();
    let classes: Vec<String> = spec
        .traffic
        .classes
        .iter()
        .map(|c| format!("{} {:.0}%", c.name, c.weight / total * 100.0))
        .collect();
    let mut lines = vec![
        format!("clients  (peak {peak_rps:.0} req/s: {})", classes.join(", ")),
        "   │".into(),
    ];
    for (l, lb) in spec.load_balancers.iter().enumerate() {
        // With regions, the DNS sends clients to every region's balancer.
        let region = spec
            .geo
            .as_ref()
            .and_then(|g| g.regions.iter().find(|r| r.balancer == l));
        let entry = match (&spec.geo, region) {
            (None, _) if l == spec.traffic.target => "▼",
            (Some(_), Some(_)) => "▼",
            _ => " ",
        };
        lines.push(format!("   {entry}"));
        match region {
            Some(r) => lines.push(format!(
                "[{}: {}]  region {} (DNS)",
                lb.name,
                policy_name(lb.policy),
                r.name
            )),
            None => lines.push(format!("[{}: {}]", lb.name, policy_name(lb.policy))),
        }
        for (i, backend) in lb.backends.iter().enumerate() {
            let pool = &spec.pools[backend.pool];
            let c = &components[backend.pool];
            let branch = if i + 1 == lb.backends.len() { "└" } else { "├" };
            let weight = if lb.backends.len() > 1 {
                format!(" (weight {})", backend.weight)
            } else {
                String::new()
            };
            let scaling = c.autoscaler.clone().unwrap_or_else(|| "fixed".into());
            lines.push(format!(
                "   {branch}──► {}{weight}: {} × {} ({} core{}, ${}/h each), {scaling}",
                pool.name,
                pool.count,
                c.instance_type,
                pool.cores,
                if pool.cores == 1 { "" } else { "s" },
                c.hourly_usd
            ));
            if let Some(n) = &pool.node_pool {
                let pad = if branch == "└" { "       " } else { "   │   " };
                lines.push(format!(
                    "{pad}on nodes: {} × {} ({} pods each, {}–{})",
                    n.initial, spec.instance_types[n.instance_type].name, n.pods_per_node, n.min, n.max
                ));
            }
        }
    }
    lines
}

/// The intervals after the warm-up (the last one always, however short the run).
fn measured(result: &RunResult) -> Vec<&IntervalRow> {
    let s = &result.summary;
    result
        .rows
        .iter()
        .filter(|r| r.start.as_secs_f64() >= s.warmup_s || r.end.as_secs_f64() >= s.simulated_s)
        .collect()
}

fn offered(r: &IntervalRow) -> f64 {
    r.counters.arrived as f64 / (r.end - r.start).as_secs_f64().max(1e-9)
}

/// The busiest interval after the warm-up, by offered load.
pub fn peak(result: &RunResult) -> Peak {
    let busiest = measured(result)
        .into_iter()
        .max_by(|a, b| offered(a).total_cmp(&offered(b)));
    busiest.map_or(
        Peak {
            start_s: 0.0,
            end_s: 0.0,
            offered_rps: 0.0,
            latency_p99_ms: f64::NAN,
            error_rate: 0.0,
        },
        |r| Peak {
            start_s: r.start.as_secs_f64(),
            end_s: r.end.as_secs_f64(),
            offered_rps: offered(r),
            latency_p99_ms: r.latency_p99_ms,
            error_rate: if r.counters.arrived == 0 {
                0.0
            } else {
                r.counters.errors() as f64 / r.counters.arrived as f64
            },
        },
    )
}

/// A mixed group's price per instance-hour over the run: its types'
/// prices weighted by the instances each ran (`None` for other pools).
fn mean_hourly(summary: &crate::metrics::PoolSummary) -> Option<f64> {
    let rows = &summary.by_instance_type;
    let hours: f64 = rows.iter().map(|t| t.instances_mean).sum();
    (hours > 0.0).then(|| rows.iter().map(|t| t.hourly_usd * t.instances_mean).sum::<f64>() / hours)
}

/// Analyses the first replication of a run of `spec`.
pub fn analyze(spec: &SystemSpec, result: &RunResult) -> Analysis {
    let s = &result.summary;
    let rows = measured(result);
    let peak = peak(result);
    let months = HOURS_PER_MONTH * 3600.0 / s.simulated_s.max(1e-9);
    let components: Vec<Component> = spec
        .pools
        .iter()
        .enumerate()
        .map(|(i, pool)| {
            let summary = &s.pools[i];
            // The pool's own busiest interval: its demand peaks where its traffic does.
            let demand = |r: &IntervalRow| r.pools[i].offered_cores.max(r.pools[i].busy_cores);
            let busiest = rows.iter().max_by(|a, b| demand(a).total_cmp(&demand(b)));
            let (peak_offered_cores, peak_busy_cores, peak_utilization, peak_queue) =
                busiest.map_or((0.0, 0.0, f64::NAN, 0.0), |r| {
                    let p = &r.pools[i];
                    (p.offered_cores, p.busy_cores, p.cpu_utilization, p.queue_length_mean)
                });
            let peak_demand = peak_offered_cores.max(peak_busy_cores);
            let (instances_min, instances_max) = limits(pool);
            let ceiling = ceiling(pool);
            let capacity = f64::from(instances_max) * f64::from(pool.cores);
            let (headroom, ceiling_at) = if peak_demand > 0.0 {
                (Some(capacity / peak_demand), Some(capacity * ceiling / peak_demand))
            } else {
                (None, None)
            };
            let mut c = Component {
                name: pool.name.clone(),
                instance_type: summary.instance_type.clone(),
                cores_per_instance: pool.cores,
                hourly_usd: mean_hourly(summary).unwrap_or(spec.instance_types[pool.instance_type].hourly_usd),
                instances_initial: pool.count,
                instances_min,
                instances_peak: summary.instances_peak,
                instances_max,
                autoscaler: autoscaler_label(pool),
                ceiling,
                peak_offered_cores,
                peak_busy_cores,
                peak_utilization,
                peak_queue,
                time_at_max_s: summary.scaling.as_ref().map_or(0.0, |x| x.time_at_max_s),
                headroom,
                ceiling_at,
                instances_needed: 0,
                verdict: String::new(),
                fix: String::new(),
                cost_per_month_usd: summary.cost_usd * months,
            };
            c.instances_needed = c.needed(1.0);
            (c.verdict, c.fix) = judge(&c);
            c
        })
        .collect();
    let bottleneck = components
        .iter()
        .enumerate()
        .filter(|(_, c)| c.headroom.is_some())
        .min_by(|a, b| a.1.headroom.unwrap().total_cmp(&b.1.headroom.unwrap()))
        .map(|(i, _)| i);
    let plan = (0..spec.growth.len())
        .map(|i| plan_step(&term(&spec.growth, i), spec.growth[i], peak.offered_rps, &components))
        .collect();
    let topology = topology(spec, peak.offered_rps, &components);
    Analysis {
        scenario: s.scenario.clone(),
        peak,
        components,
        bottleneck,
        plan,
        topology,
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The verdict on a component at today's peak and the change it needs.
fn judge(c: &Component) -> (String, String) {
    let Some(headroom) = c.headroom else {
        return ("idle".into(), "none: it saw no load".into());
    };
    let need = c.instances_needed;
    let scaled = c.autoscaler.is_some();
    if headroom < 1.0 / 0.95 || c.peak_utilization >= 0.95 {
        let fix = if scaled {
            format!(
                "raise the maximum from {} to at least {need} (holds the peak at {} CPU)",
                c.instances_max,
                pct(c.ceiling)
            )
        } else {
            format!(
                "grow from {} to {need} instances, or autoscale it (holds the peak at {} CPU)",
                c.instances_initial,
                pct(c.ceiling)
            )
        };
        return (format!("saturated at peak ({} CPU)", pct(c.peak_utilization)), fix);
    }
    if scaled && c.time_at_max_s > 0.0 {
        return (
            format!("autoscaler at its maximum for {:.0} s", c.time_at_max_s),
            format!(
                "raise the maximum from {} to {}",
                c.instances_max,
                need.max(c.instances_max + 1)
            ),
        );
    }
    if need > c.instances_max {
        let fix = if scaled {
            format!("raise the maximum from {} to {need}", c.instances_max)
        } else {
            format!("grow from {} to {need} instances", c.instances_initial)
        };
        return (format!("above its {} ceiling at peak", pct(c.ceiling)), fix);
    }
    if !scaled && need * 2 <= c.instances_initial && c.instances_initial > 1 {
        let saved = f64::from(c.instances_initial - need) * c.hourly_usd * HOURS_PER_MONTH;
        return (
            format!("over-provisioned ({} CPU at peak)", pct(c.peak_utilization)),
            format!(
                "shrink from {} to {need} instances (saves ${saved:.0}/month) or autoscale it",
                c.instances_initial
            ),
        );
    }
    (
        "within its ceiling".into(),
        format!(
            "none at this load; reaches its ceiling at ×{:.2} traffic",
            c.ceiling_at.unwrap_or(f64::INFINITY)
        ),
    )
}

fn plan_step(term: &str, growth: f64, peak_rps: f64, components: &[Component]) -> PlanStep {
    let mut order: Vec<&Component> = components.iter().filter(|c| c.ceiling_at.is_some()).collect();
    order.sort_by(|a, b| a.ceiling_at.unwrap().total_cmp(&b.ceiling_at.unwrap()));
    let actions = order
        .iter()
        .filter(|c| c.ceiling_at.unwrap() < growth)
        .map(|c| {
            let need = c.needed(growth);
            let at = c.ceiling_at.unwrap();
            let when = if at < 1.0 {
                "already past its ceiling today".to_string()
            } else {
                format!("reaches its ceiling at ×{at:.2} ({:.0} req/s)", peak_rps * at)
            };
            let change = if c.autoscaler.is_some() {
                format!("raise its maximum from {} to {need}", c.instances_max)
            } else {
                format!("grow it from {} to {need} instances", c.instances_initial)
            };
            let structural = if need > 100 && c.cores_per_instance < 16 {
                "; at this count, consider larger instances (fewer, bigger nodes)"
            } else {
                ""
            };
            format!(
                "{}: {when}; {change} × {} ({} CPU){structural}",
                c.name,
                c.instance_type,
                pct(c.ceiling)
            )
        })
        .collect();
    PlanStep {
        term: term.into(),
        growth,
        peak_rps: peak_rps * growth,
        actions,
        cost_per_month_usd: components.iter().map(|c| c.cost_at(growth)).sum(),
    }
}
