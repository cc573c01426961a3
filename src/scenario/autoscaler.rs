//! Validation of `pools.<name>.autoscaler`: raw HPA settings → [`HpaConfig`],
//! with the Kubernetes API's own limits and defaults.

use crate::engine::SimDuration;
use crate::model::autoscaler::aws::{
    AdjustmentType, AlarmSpec, AwsMetric, AwsPolicy, AwsSpec, Comparison, Predictive, SimplePolicy, Statistic, Step,
    StepPolicy, TargetTrackingPolicy,
};
use crate::model::autoscaler::hpa::{Behavior, ControllerConfig, HpaSpec, Policy, ScalingRules, SelectPolicy};
use crate::model::autoscaler::keda::KedaSpec;
use crate::model::autoscaler::{
    ExternalMetricName, HpaConfig, HpaObject, MetricSpec, PodMetricName, ResourceName, ScaleTargetRef, Target,
};

use super::raw::*;
use super::validate::{Checker, MAX_INSTANCES};

/// The default metric when `metrics` is omitted: CPU at 80% of requests
/// (`autoscaling.DefaultCPUUtilization`).
const DEFAULT_CPU_UTILIZATION: i32 = 80;
/// metrics-server's default resolution.
const DEFAULT_RESOLUTION_S: f64 = 15.0;

fn secs(d: Option<super::units::Duration>, default: SimDuration) -> SimDuration {
    d.map_or(default, |d| SimDuration::from_secs_f64(d.0))
}

/// Checks one HPA; `None` when it has problems (recorded in `c`).
pub(super) fn hpa(c: &mut Checker, path: &str, pool: &str, raw: &RawHpa) -> Option<HpaConfig> {
    let before = c.problems.len();
    let defaults = ControllerConfig::DEFAULT;
    let controller = ControllerConfig {
        sync_period: secs(raw.sync_period, defaults.sync_period),
        tolerance: raw.tolerance.unwrap_or(defaults.tolerance),
        cpu_initialization_period: secs(raw.cpu_initialization_period, defaults.cpu_initialization_period),
        initial_readiness_delay: secs(raw.initial_readiness_delay, defaults.initial_readiness_delay),
        downscale_stabilization: secs(raw.downscale_stabilization, defaults.downscale_stabilization),
        scale_up_limit_factor: raw.scale_up_limit_factor.unwrap_or(defaults.scale_up_limit_factor),
        scale_up_limit_minimum: raw.scale_up_limit_minimum.unwrap_or(defaults.scale_up_limit_minimum),
    };
    // horizontal.go's scaleUpLimitFactor / scaleUpLimitMinimum: the legacy
    // cap max(factor × current, minimum) must never fall below the current count.
    for (field, value, default) in [
        (
            "scale_up_limit_factor",
            controller.scale_up_limit_factor,
            defaults.scale_up_limit_factor,
        ),
        (
            "scale_up_limit_minimum",
            controller.scale_up_limit_minimum,
            defaults.scale_up_limit_minimum,
        ),
    ] {
        if !(value.is_finite() && (1.0..=f64::from(i32::MAX)).contains(&value)) {
            c.problem(
                format!("{path}.{field}"),
                format!(
                    "must be a number from 1 to 2147483647 (Kubernetes uses {default}), got {}",
                    super::validate::number(value)
                ),
            );
        }
    }
    // Kubernetes takes any duration; below a second the controller would
    // reconcile faster than metrics-server can scrape, and the run would
    // spend its event budget on syncs.
    if controller.sync_period < SimDuration::from_secs(1) {
        c.problem(
            format!("{path}.sync_period"),
            "must be at least 1s (Kubernetes' default is 15s)",
        );
    }
    if !(controller.tolerance.is_finite() && controller.tolerance >= 0.0) {
        c.problem(
            format!("{path}.tolerance"),
            format!("must be ≥ 0, got {}", controller.tolerance),
        );
    }
    // A manifest supplies the scaling fields and the object's names; a
    // field also given here overrides the manifest's, whole.
    let from_manifest = match &raw.manifest {
        None => None,
        Some(RawManifest::File(file)) => match c.files.read_as(file, super::validate::SourceKind::Manifest) {
            Err(why) => {
                c.problem(format!("{path}.manifest"), format!("cannot read `{file}`: {why}"));
                return None;
            }
            Ok(text) => match super::manifest::read(&text, file, Some(&c.queues)) {
                Ok(m) => Some(m),
                Err(problems) => {
                    c.foreign.extend(problems);
                    return None;
                }
            },
        },
        Some(RawManifest::Inline(doc)) => match super::manifest::read_inline(doc, Some(&c.queues)) {
            Ok(m) => Some(m),
            Err(problems) => {
                for (p, message) in problems {
                    c.problem(format!("{path}.manifest.{p}"), message);
                }
                return None;
            }
        },
    };
    let m = from_manifest.as_ref();
    let min = raw.min_replicas.or(m.and_then(|m| m.min_replicas));
    let max = raw.max_replicas.or(m.map(|m| m.max_replicas));
    let raw_metrics = raw.metrics.as_ref().or(m.and_then(|m| m.metrics.as_ref()));
    let raw_behavior = raw.behavior.as_ref().or(m.and_then(|m| m.behavior.as_ref()));
    if raw_behavior.is_some() {
        for (field, given) in [
            ("scale_up_limit_factor", raw.scale_up_limit_factor),
            ("scale_up_limit_minimum", raw.scale_up_limit_minimum),
        ] {
            if given.is_some() {
                c.warning(
                    format!("{path}.{field}"),
                    "has no effect: with `behavior`, its scale-up policies limit each scale-up (the legacy cap applies only without `behavior`)",
                );
            }
        }
    }
    let object = object(c, path, pool, raw, m);
    let min = min.unwrap_or(1);
    let Some(max) = max else {
        c.problem(format!("{path}.max_replicas"), "is required (or give a `manifest`)");
        return None;
    };
    if min < 1 {
        c.problem(
            format!("{path}.min_replicas"),
            format!("must be ≥ 1, got {min} (scaling to zero needs the alpha HPAScaleToZero gate; not modelled)"),
        );
    }
    if max < 1 || max > i64::from(MAX_INSTANCES) {
        c.problem(
            format!("{path}.max_replicas"),
            format!("must be between 1 and {MAX_INSTANCES}, got {max}"),
        );
    } else if min > max {
        c.problem(
            format!("{path}.min_replicas"),
            format!("must not exceed max_replicas ({max}), got {min}"),
        );
    }
    let resolution = secs(raw.metrics_resolution, SimDuration::from_secs_f64(DEFAULT_RESOLUTION_S));
    if resolution == SimDuration::ZERO {
        c.problem(
            format!("{path}.metrics_resolution"),
            "must be > 0 (metrics-server's default is 15s)",
        );
    }
    let delay = secs(raw.metrics_delay, SimDuration::ZERO);
    // metrics-server and the controller keep their own clocks; by default the
    // scrapes fall halfway between syncs, the average phase.
    let offset = secs(raw.metrics_offset, SimDuration(resolution.0 / 2));
    if offset >= resolution && resolution > SimDuration::ZERO {
        c.problem(
            format!("{path}.metrics_offset"),
            "must be shorter than metrics_resolution",
        );
    }

    let metrics = match raw_metrics {
        None => vec![MetricSpec::Resource {
            name: ResourceName::Cpu,
            target: Target::Utilization(DEFAULT_CPU_UTILIZATION),
        }],
        Some(list) => {
            if list.is_empty() {
                c.problem(
                    format!("{path}.metrics"),
                    "must list at least one metric (or be left out for CPU at 80%)",
                );
            }
            list.iter()
                .enumerate()
                .filter_map(|(i, m)| metric(c, &format!("{path}.metrics[{i}]"), m))
                .collect()
        }
    };

    let behavior = raw_behavior.map(|b| Behavior {
        scale_up: rules(
            c,
            &format!("{path}.behavior.scale_up"),
            b.scale_up.as_ref(),
            ScalingRules::default_scale_up(),
        ),
        scale_down: rules(
            c,
            &format!("{path}.behavior.scale_down"),
            b.scale_down.as_ref(),
            ScalingRules::default_scale_down(&controller),
        ),
    });
    if c.problems.len() > before {
        return None;
    }
    Some(HpaConfig {
        spec: HpaSpec {
            min_replicas: min as i32,
            max_replicas: max as i32,
            behavior,
            controller,
        },
        object: HpaObject {
            queues: metrics
                .iter()
                .filter_map(|m| match m {
                    MetricSpec::External {
                        name: ExternalMetricName::QueueDepth { queue },
                        ..
                    } => Some((*queue, c.queues[usize::from(*queue)].clone())),
                    _ => None,
                })
                .collect(),
            ..object
        },
        metrics,
        resolution,
        delay,
        offset,
    })
}

/// The HPA object's names: the scenario's fields over the manifest's, field
/// by field, over the defaults (named after the pool, scaling the
/// Deployment named after it).
fn object(
    c: &mut Checker,
    path: &str,
    pool: &str,
    raw: &RawHpa,
    m: Option<&super::manifest::FromManifest>,
) -> HpaObject {
    let meta = raw.metadata.clone().unwrap_or_default();
    let mmeta = m.map(|m| m.metadata.clone()).unwrap_or_default();
    let name = meta.name.or(mmeta.name).unwrap_or_else(|| pool.to_string());
    let namespace = meta.namespace.or(mmeta.namespace);
    if raw.metadata.as_ref().is_some_and(|m| m.name.is_some()) && !super::manifest::is_dns_subdomain(&name) {
        c.problem(
            format!("{path}.metadata.name"),
            format!("`{name}` is not a Kubernetes name: lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 253"),
        );
    }
    if let Some(n) = raw.metadata.as_ref().and_then(|m| m.namespace.as_ref())
        && !super::manifest::is_dns_label(n)
    {
        c.problem(
            format!("{path}.metadata.namespace"),
            format!("`{n}` is not a Kubernetes namespace: lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63"),
        );
    }
    let r = raw.scale_target_ref.clone().unwrap_or_default();
    let mr = m.map(|m| m.scale_target_ref.clone()).unwrap_or_default();
    let default = ScaleTargetRef::deployment(pool);
    let target = ScaleTargetRef {
        api_version: r.api_version.or(mr.api_version).unwrap_or(default.api_version),
        kind: r.kind.or(mr.kind).unwrap_or(default.kind),
        name: r.name.or(mr.name).unwrap_or(default.name),
    };
    for (field, v) in [("kind", &target.kind), ("name", &target.name)] {
        if v.is_empty() {
            c.problem(format!("{path}.scale_target_ref.{field}"), "must not be empty");
        }
    }
    HpaObject {
        name,
        namespace,
        labels: meta.labels.or(mmeta.labels).unwrap_or_default(),
        annotations: meta.annotations.or(mmeta.annotations).unwrap_or_default(),
        target,
        queues: Default::default(),
    }
}

fn metric(c: &mut Checker, path: &str, m: &RawMetric) -> Option<MetricSpec> {
    let (kind, target) = match m {
        RawMetric::Resource { target, .. } => ("resource", target),
        RawMetric::Pods { target, .. } => ("pods", target),
        RawMetric::External { target, .. } => ("external", target),
    };
    let tpath = format!("{path}.{kind}.target");
    let set = [
        target.average_utilization.is_some(),
        target.average_value.is_some(),
        target.value.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        c.problem(&tpath, "give exactly one of average_utilization, average_value, value");
        return None;
    }
    let target = if let Some(u) = target.average_utilization {
        if !(1..=i64::from(i32::MAX)).contains(&u) {
            c.problem(
                format!("{tpath}.average_utilization"),
                format!("must be a whole percent ≥ 1, got {u}"),
            );
            return None;
        }
        Target::Utilization(u as i32)
    } else if let Some(v) = target.average_value {
        if v.0 <= 0 {
            c.problem(format!("{tpath}.average_value"), "must be > 0");
            return None;
        }
        Target::AverageValue(v.0)
    } else {
        let v = target.value.expect("one of three is set");
        if v.0 <= 0 {
            c.problem(format!("{tpath}.value"), "must be > 0");
            return None;
        }
        Target::Value(v.0)
    };
    match (m, target) {
        (RawMetric::Resource { name, .. }, Target::Utilization(_) | Target::AverageValue(_)) => {
            let name = if *name == RawResourceName::Cpu {
                ResourceName::Cpu
            } else {
                ResourceName::Memory
            };
            Some(MetricSpec::Resource { name, target })
        }
        (RawMetric::Pods { name, .. }, Target::AverageValue(v)) => {
            let name = match name {
                RawPodMetric::RequestsPerSecond => PodMetricName::RequestsPerSecond,
                RawPodMetric::InFlight => PodMetricName::InFlight,
            };
            Some(MetricSpec::Pods {
                name,
                target_average: v,
            })
        }
        (RawMetric::External { name, queue, .. }, Target::Value(_) | Target::AverageValue(_)) => {
            let name = external_name(c, &format!("{path}.external"), *name, queue.as_deref())?;
            Some(MetricSpec::External { name, target })
        }
        (RawMetric::Resource { .. }, _) => {
            c.problem(tpath, "a resource metric takes average_utilization or average_value");
            None
        }
        (RawMetric::Pods { .. }, _) => {
            c.problem(tpath, "a pods metric takes average_value only");
            None
        }
        (RawMetric::External { .. }, _) => {
            c.problem(tpath, "an external metric takes value or average_value");
            None
        }
    }
}

/// An External metric's name, with the queue a `queue_depth` metric reads.
fn external_name(
    c: &mut Checker,
    path: &str,
    name: RawExternalMetric,
    queue: Option<&str>,
) -> Option<ExternalMetricName> {
    match (name, queue) {
        (RawExternalMetric::RequestsPerSecond, None) => Some(ExternalMetricName::RequestsPerSecond),
        (RawExternalMetric::RequestsPerSecond, Some(_)) => {
            c.problem(format!("{path}.queue"), "only a `queue_depth` metric reads a queue");
            None
        }
        (RawExternalMetric::QueueDepth, None) => {
            c.problem(
                format!("{path}.queue"),
                format!("a `queue_depth` metric names its queue; known: {}", queue_list(c, "")),
            );
            None
        }
        // The names are a map's keys, in order.
        (RawExternalMetric::QueueDepth, Some(q)) => match c.queues.binary_search_by(|n| n.as_str().cmp(q)).ok() {
            Some(i) => Some(ExternalMetricName::QueueDepth { queue: i as u16 }),
            None => {
                let known = queue_list(c, q);
                c.problem(format!("{path}.queue"), format!("unknown queue `{q}`; known: {known}"));
                None
            }
        },
    }
}

/// The queues, nearest to `wanted` first.
fn queue_list(c: &Checker, wanted: &str) -> String {
    super::validate::known_list(wanted, c.queues.iter())
}

/// `behavior.scaleUp` / `scaleDown` merged into the defaults field by field;
/// `policies`, when given, replaces the default list.
fn rules(c: &mut Checker, path: &str, raw: Option<&RawScalingRules>, defaults: ScalingRules) -> ScalingRules {
    let Some(raw) = raw else { return defaults };
    let window = raw
        .stabilization_window
        .map_or(defaults.stabilization_window, |w| SimDuration::from_secs_f64(w.0));
    // `stabilizationWindowSeconds` is an int32 of seconds: a fraction could
    // be simulated but not written to a manifest.
    if window > SimDuration::from_secs(3600) || raw.stabilization_window.is_some_and(|w| w.0.fract() != 0.0) {
        c.problem(
            format!("{path}.stabilization_window"),
            "must be whole seconds between 0s and 3600s (the API's limit)",
        );
    }
    let select_policy = match raw.select_policy {
        None => defaults.select_policy,
        Some(RawSelectPolicy::Max) => SelectPolicy::Max,
        Some(RawSelectPolicy::Min) => SelectPolicy::Min,
        Some(RawSelectPolicy::Disabled) => SelectPolicy::Disabled,
    };
    let policies = match &raw.policies {
        None => defaults.policies,
        Some(list) => {
            if list.is_empty() && select_policy != SelectPolicy::Disabled {
                c.problem(format!("{path}.policies"), "must list at least one policy");
            }
            list.iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let ppath = format!("{path}.policies[{i}]");
                    if !(1..=i64::from(i32::MAX)).contains(&p.value) {
                        c.problem(format!("{ppath}.value"), format!("must be ≥ 1, got {}", p.value));
                        return None;
                    }
                    if !(p.period.0 > 0.0 && p.period.0 <= 1800.0) || p.period.0.fract() != 0.0 {
                        c.problem(
                            format!("{ppath}.period"),
                            "must be whole seconds in (0s, 1800s] (the API's limit)",
                        );
                        return None;
                    }
                    let period = SimDuration::from_secs_f64(p.period.0);
                    let value = p.value as i32;
                    Some(match p.kind {
                        RawPolicyKind::Pods => Policy::Pods { value, period },
                        RawPolicyKind::Percent => Policy::Percent { value, period },
                    })
                })
                .collect()
        }
    };
    if let Some(t) = raw.tolerance
        && !(t.is_finite() && t >= 0.0)
    {
        c.problem(format!("{path}.tolerance"), format!("must be ≥ 0, got {t}"));
    }
    ScalingRules {
        stabilization_window: window,
        select_policy,
        policies,
        tolerance: raw.tolerance,
    }
}

/// AWS's documented defaults and community-observed target-tracking alarm shapes.
const AWS_DEFAULT_COOLDOWN_S: f64 = 300.0;
const TT_SCALE_OUT_DATAPOINTS: usize = 3;
const TT_SCALE_IN_DATAPOINTS: usize = 15;
const TT_SCALE_IN_RATIO: f64 = 0.9;
const AWS_METRIC_DELAY_S: f64 = 60.0;

/// A policy's metric; `path` is where it and its `queue` are written.
fn aws_metric(c: &mut Checker, path: &str, m: RawAwsMetric, queue: Option<&str>) -> AwsMetric {
    let metric = match m {
        RawAwsMetric::CpuUtilization => AwsMetric::CpuUtilization,
        RawAwsMetric::RequestCountPerTarget => AwsMetric::RequestCountPerTarget,
        RawAwsMetric::ActiveConnections => AwsMetric::ActiveConnections,
        RawAwsMetric::BacklogPerInstance => {
            let Some(q) = queue else {
                c.problem(
                    format!("{path}.queue"),
                    format!(
                        "a `backlog_per_instance` metric names its queue; known: {}",
                        queue_list(c, "")
                    ),
                );
                return AwsMetric::BacklogPerInstance { queue: 0 };
            };
            // The names are a map's keys, in order.
            return match c.queues.binary_search_by(|n| n.as_str().cmp(q)) {
                Ok(i) => AwsMetric::BacklogPerInstance { queue: i as u16 },
                Err(_) => {
                    let known = queue_list(c, q);
                    c.problem(format!("{path}.queue"), format!("unknown queue `{q}`; known: {known}"));
                    AwsMetric::BacklogPerInstance { queue: 0 }
                }
            };
        }
    };
    if queue.is_some() {
        c.problem(
            format!("{path}.queue"),
            "only a `backlog_per_instance` metric reads a queue",
        );
    }
    metric
}

fn adjustment_type(t: RawAdjustmentType) -> AdjustmentType {
    match t {
        RawAdjustmentType::ChangeInCapacity => AdjustmentType::ChangeInCapacity,
        RawAdjustmentType::ExactCapacity => AdjustmentType::ExactCapacity,
        RawAdjustmentType::PercentChangeInCapacity => AdjustmentType::PercentChangeInCapacity,
    }
}

fn alarm(c: &mut Checker, path: &str, a: &RawAlarm) -> AlarmSpec {
    let period = a.period.map_or(60.0, |p| p.0);
    if !(period >= 60.0 && period % 60.0 == 0.0) {
        c.problem(
            format!("{path}.period"),
            format!("must be a whole number of minutes (60s, 120s, …), got {period} s"),
        );
    }
    let n = a.evaluation_periods.unwrap_or(1);
    let m = a.datapoints_to_alarm.unwrap_or(n);
    if n == 0 {
        c.problem(format!("{path}.evaluation_periods"), "must be ≥ 1");
    } else if n as f64 * period.max(60.0) > 86_400.0 {
        // CloudWatch's limit: an alarm looks back at most one day.
        c.problem(
            format!("{path}.evaluation_periods"),
            format!("times the period ({period} s) must be at most one day (86400 s), got {n}"),
        );
    }
    if m == 0 || m > n {
        c.problem(
            format!("{path}.datapoints_to_alarm"),
            format!("must be between 1 and evaluation_periods ({n}), got {m}"),
        );
    }
    if !a.threshold.is_finite() {
        c.problem(format!("{path}.threshold"), "must be a finite number");
    }
    AlarmSpec {
        metric: aws_metric(c, path, a.metric, a.queue.as_deref()),
        statistic: match a.statistic.unwrap_or(RawStatistic::Average) {
            RawStatistic::Average => Statistic::Average,
            RawStatistic::Maximum => Statistic::Maximum,
            RawStatistic::Minimum => Statistic::Minimum,
            RawStatistic::Sum => Statistic::Sum,
            RawStatistic::SampleCount => Statistic::SampleCount,
        },
        period: SimDuration::from_secs_f64(period.max(60.0)),
        evaluation_periods: n.max(1),
        datapoints_to_alarm: m.clamp(1, n.max(1)),
        threshold: a.threshold,
        comparison: match a.comparison {
            RawComparison::GreaterThanOrEqual => Comparison::GreaterThanOrEqual,
            RawComparison::GreaterThan => Comparison::GreaterThan,
            RawComparison::LessThan => Comparison::LessThan,
            RawComparison::LessThanOrEqual => Comparison::LessThanOrEqual,
        },
    }
}

/// Checks one Auto Scaling group's settings; `None` when it has problems.
pub(super) fn aws(c: &mut Checker, path: &str, raw: &RawAws, cores: u32) -> Option<AwsSpec> {
    let before = c.problems.len();
    if raw.min_size < 1 {
        c.problem(
            format!("{path}.min_size"),
            format!(
                "must be ≥ 1 (a group at zero publishes no metric to scale out on), got {}",
                raw.min_size
            ),
        );
    }
    if raw.max_size < raw.min_size.max(1) || raw.max_size > i64::from(MAX_INSTANCES) {
        c.problem(
            format!("{path}.max_size"),
            format!("must be between min_size and {MAX_INSTANCES}, got {}", raw.max_size),
        );
    }
    if raw.policies.is_empty() {
        c.problem(format!("{path}.policies"), "must list at least one scaling policy");
    }
    let policies = raw
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ppath = format!("{path}.policies[{i}]");
            match p {
                RawAwsPolicy::Simple {
                    alarm: a,
                    adjustment_type: t,
                    adjustment,
                    cooldown,
                } => {
                    if !adjustment.is_finite() || (*t == RawAdjustmentType::ExactCapacity && *adjustment < 0.0) {
                        c.problem(
                            format!("{ppath}.simple.adjustment"),
                            "must be a finite number (≥ 0 for exact_capacity)",
                        );
                    }
                    AwsPolicy::Simple(SimplePolicy {
                        alarm: alarm(c, &format!("{ppath}.simple.alarm"), a),
                        adjustment_type: adjustment_type(*t),
                        adjustment: *adjustment,
                        cooldown: cooldown.map(|d| SimDuration::from_secs_f64(d.0)),
                    })
                }
                RawAwsPolicy::Step {
                    alarm: a,
                    adjustment_type: t,
                    steps,
                    min_adjustment_magnitude,
                } => {
                    let spath = format!("{ppath}.step.steps");
                    if steps.is_empty() {
                        c.problem(&spath, "must list at least one step");
                    }
                    // Sorted, contiguous, no overlaps; only the ends may be open.
                    for (k, s) in steps.iter().enumerate() {
                        if let (Some(l), Some(u)) = (s.lower, s.upper)
                            && l >= u
                        {
                            c.problem(format!("{spath}[{k}]"), "lower must be below upper");
                        }
                        if k > 0 && steps[k - 1].upper != s.lower {
                            c.problem(
                                format!("{spath}[{k}].lower"),
                                "steps must be in order with no gaps or overlaps: each lower equals the previous upper",
                            );
                        }
                        if (s.lower.is_none() && k != 0) || (s.upper.is_none() && k + 1 != steps.len()) {
                            c.problem(
                                format!("{spath}[{k}]"),
                                "only the first step may omit lower and only the last may omit upper",
                            );
                        }
                    }
                    if min_adjustment_magnitude.is_some() && *t != RawAdjustmentType::PercentChangeInCapacity {
                        c.problem(
                            format!("{ppath}.step.min_adjustment_magnitude"),
                            "applies only to percent_change_in_capacity",
                        );
                    }
                    AwsPolicy::Step(StepPolicy {
                        alarm: alarm(c, &format!("{ppath}.step.alarm"), a),
                        adjustment_type: adjustment_type(*t),
                        steps: steps
                            .iter()
                            .map(|s| Step {
                                lower: s.lower,
                                upper: s.upper,
                                adjustment: s.adjustment,
                            })
                            .collect(),
                        min_adjustment_magnitude: *min_adjustment_magnitude,
                    })
                }
                RawAwsPolicy::TargetTracking {
                    metric,
                    queue,
                    target,
                    disable_scale_in,
                    scale_out_datapoints,
                    scale_in_datapoints,
                    scale_in_ratio,
                } => {
                    let tpath = format!("{ppath}.target_tracking");
                    if !(target.is_finite() && *target > 0.0) {
                        c.problem(format!("{tpath}.target"), format!("must be > 0, got {target}"));
                    }
                    let out_n = scale_out_datapoints.unwrap_or(TT_SCALE_OUT_DATAPOINTS);
                    let in_n = scale_in_datapoints.unwrap_or(TT_SCALE_IN_DATAPOINTS);
                    let ratio = scale_in_ratio.unwrap_or(TT_SCALE_IN_RATIO);
                    if !(1..=1440).contains(&out_n) || !(1..=1440).contains(&in_n) {
                        c.problem(
                            &tpath,
                            "scale_out_datapoints and scale_in_datapoints must be between 1 and 1440 (a day of minutes)",
                        );
                    }
                    if !(ratio > 0.0 && ratio <= 1.0) {
                        c.problem(
                            format!("{tpath}.scale_in_ratio"),
                            format!("must be in (0, 1], got {ratio}"),
                        );
                    }
                    let metric = aws_metric(c, &tpath, *metric, queue.as_deref());
                    let shape = |n: usize, threshold: f64, comparison| AlarmSpec {
                        metric,
                        statistic: Statistic::Average,
                        period: SimDuration::from_secs(60),
                        evaluation_periods: n.max(1),
                        datapoints_to_alarm: n.max(1),
                        threshold,
                        comparison,
                    };
                    AwsPolicy::TargetTracking(TargetTrackingPolicy {
                        metric,
                        target: *target,
                        disable_scale_in: disable_scale_in.unwrap_or(false),
                        high: shape(out_n, *target, Comparison::GreaterThan),
                        low: shape(in_n, target * ratio, Comparison::LessThan),
                    })
                }
            }
        })
        .collect();
    let cooldown = secs(raw.default_cooldown, SimDuration::from_secs_f64(AWS_DEFAULT_COOLDOWN_S));
    // Without a DefaultInstanceWarmup, AWS falls back to the default cooldown.
    let warmup = secs(raw.instance_warmup, cooldown);
    let predictive = raw.predictive.as_ref().map(|p| {
        let ppath = format!("{path}.predictive");
        if !(p.target.is_finite() && p.target > 0.0 && p.target <= 100.0) {
            c.problem(
                format!("{ppath}.target"),
                format!("must be a CPU percentage in (0, 100], got {}", p.target),
            );
        }
        let period = p.period.map_or(86_400.0, |d| d.0);
        let lead = p.lead.map_or(0.0, |d| d.0);
        if period < 3600.0 {
            c.problem(
                format!("{ppath}.period"),
                "must be at least 1h (the forecast repeats the load one period back)",
            );
        }
        if lead >= period {
            c.problem(format!("{ppath}.lead"), "must be shorter than period");
        }
        Predictive {
            target_cpu: p.target,
            period: SimDuration::from_secs_f64(period),
            lead: SimDuration::from_secs_f64(lead),
            cores,
        }
    });
    if c.problems.len() > before {
        return None;
    }
    Some(AwsSpec {
        predictive,
        min_size: raw.min_size,
        max_size: raw.max_size,
        default_cooldown: cooldown,
        instance_warmup: warmup,
        metric_delay: secs(raw.metric_delay, SimDuration::from_secs_f64(AWS_METRIC_DELAY_S)),
        policies,
    })
}

/// KEDA's defaults (ScaledObject spec).
const KEDA_POLLING_S: f64 = 30.0;
const KEDA_COOLDOWN_S: f64 = 300.0;
const KEDA_MAX_REPLICAS: i64 = 100;

/// Checks a KEDA ScaledObject: KEDA's own settings, and the HPA it creates
/// (External metric on the trigger, min = max(minReplicaCount, 1)).
pub(super) fn keda(c: &mut Checker, path: &str, pool: &str, raw: &RawKeda) -> Option<(KedaSpec, HpaConfig)> {
    let before = c.problems.len();
    let min = raw.min_replica_count.unwrap_or(0);
    let max = raw.max_replica_count.unwrap_or(KEDA_MAX_REPLICAS);
    if min < 0 {
        c.problem(format!("{path}.min_replica_count"), format!("must be ≥ 0, got {min}"));
    }
    let polling = raw.polling_interval.map_or(KEDA_POLLING_S, |d| d.0);
    if polling <= 0.0 {
        c.problem(
            format!("{path}.polling_interval"),
            "must be > 0 (KEDA's default is 30s)",
        );
    }
    let trigger = &raw.trigger;
    if trigger.target.0 <= 0 {
        c.problem(format!("{path}.trigger.target"), "must be > 0");
    }
    // The trigger's queue, checked where the file names it.
    external_name(c, &format!("{path}.trigger"), trigger.metric, trigger.queue.as_deref());
    if c.problems.len() > before {
        return None;
    }
    let target = RawTarget {
        average_utilization: None,
        average_value: (trigger.metric_type != Some(RawKedaMetricType::Value)).then_some(trigger.target),
        value: (trigger.metric_type == Some(RawKedaMetricType::Value)).then_some(trigger.target),
    };
    let hpa_raw = RawHpa {
        manifest: None,
        metadata: None,
        scale_target_ref: None,
        min_replicas: Some(min.max(1)),
        max_replicas: Some(max),
        metrics: Some(vec![RawMetric::External {
            name: trigger.metric,
            target,
            queue: trigger.queue.clone(),
        }]),
        behavior: raw.behavior.clone(),
        sync_period: None,
        tolerance: None,
        cpu_initialization_period: None,
        initial_readiness_delay: None,
        downscale_stabilization: None,
        scale_up_limit_factor: None,
        scale_up_limit_minimum: None,
        metrics_resolution: None,
        metrics_delay: None,
        metrics_offset: None,
    };
    let config = hpa(c, path, pool, &hpa_raw);
    if c.problems.len() > before {
        return None;
    }
    let spec = KedaSpec {
        min_replica_count: min as i32,
        max_replica_count: max as i32,
        polling_interval: SimDuration::from_secs_f64(polling),
        cooldown_period: secs(raw.cooldown_period, SimDuration::from_secs_f64(KEDA_COOLDOWN_S)),
        initial_cooldown_period: secs(raw.initial_cooldown_period, SimDuration::ZERO),
        activation_threshold_milli: trigger.activation_threshold.map_or(0, |q| q.0),
    };
    Some((spec, config?))
}
