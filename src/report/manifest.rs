//! Writing a pool's HPA as a Kubernetes manifest (`autoscaling/v2`) that can
//! be applied as it is; capsim reads it back to the same settings.

use std::fmt::Write as _;

use super::escape;
use crate::model::autoscaler::hpa::{Policy, ScalingRules, SelectPolicy};
use crate::model::autoscaler::{ExternalMetricName, HpaConfig, MetricSpec, PodMetricName, ResourceName, Target};

/// A string as a YAML scalar that reads back as the same string: plain when
/// it is a name that YAML cannot take for anything else, else double-quoted
/// A milli-unit value as a Kubernetes quantity: `1500m`, `4`, `512Mi`.
pub fn quantity(milli: i64) -> String {
    if milli % 1000 != 0 {
        return format!("{milli}m");
    }
    let v = milli / 1000;
    for (suffix, unit) in [("Ti", 1i64 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20)] {
        if v != 0 && v % unit == 0 {
            return format!("{}{suffix}", v / unit);
        }
    }
    v.to_string()
}

fn target(out: &mut String, indent: &str, t: Target) {
    match t {
        Target::Utilization(u) => writeln!(
            out,
            "{indent}target:\n{indent}  type: Utilization\n{indent}  averageUtilization: {u}"
        )
        .unwrap(),
        Target::AverageValue(v) => writeln!(
            out,
            "{indent}target:\n{indent}  type: AverageValue\n{indent}  averageValue: \"{}\"",
            quantity(v)
        )
        .unwrap(),
        Target::Value(v) => writeln!(
            out,
            "{indent}target:\n{indent}  type: Value\n{indent}  value: \"{}\"",
            quantity(v)
        )
        .unwrap(),
    }
}

fn rules(out: &mut String, name: &str, r: &ScalingRules) {
    writeln!(out, "    {name}:").unwrap();
    writeln!(
        out,
        "      stabilizationWindowSeconds: {}",
        r.stabilization_window.0 / 1_000_000_000
    )
    .unwrap();
    let select = match r.select_policy {
        SelectPolicy::Max => "Max",
        SelectPolicy::Min => "Min",
        SelectPolicy::Disabled => "Disabled",
    };
    writeln!(out, "      selectPolicy: {select}").unwrap();
    if r.policies.is_empty() {
        writeln!(out, "      policies: []").unwrap();
    } else {
        writeln!(out, "      policies:").unwrap();
    }
    for p in &r.policies {
        let (kind, value, period) = match p {
            Policy::Pods { value, period } => ("Pods", value, period),
            Policy::Percent { value, period } => ("Percent", value, period),
        };
        writeln!(
            out,
            "      - type: {kind}\n        value: {value}\n        periodSeconds: {}",
            period.0 / 1_000_000_000
        )
        .unwrap();
    }
    if let Some(t) = r.tolerance {
        writeln!(out, "      tolerance: \"{}\"", quantity((t * 1000.0).round() as i64)).unwrap();
    }
}

/// The manifest of `pool`'s HPA, with the object's names and target as the
/// scenario or its manifest gave them.
pub fn hpa_manifest(pool: &str, config: &HpaConfig) -> String {
    let spec = &config.spec;
    let c = &spec.controller;
    let secs = |d: crate::engine::SimDuration| d.as_secs_f64();
    let mut out = String::new();
    writeln!(
        out,
        "# HorizontalPodAutoscaler for pool `{pool}`, as simulated by capsim."
    )
    .unwrap();
    writeln!(
        out,
        "# Controller settings assumed (kube-controller-manager flags): sync period {}s, tolerance {}, \
         CPU initialization period {}s, initial readiness delay {}s, downscale stabilization {}s.",
        secs(c.sync_period),
        c.tolerance,
        secs(c.cpu_initialization_period),
        secs(c.initial_readiness_delay),
        secs(c.downscale_stabilization)
    )
    .unwrap();
    if spec.behavior.is_none() {
        writeln!(
            out,
            "# Without `behavior`, a sync scales up to at most max({} × current, {}) replicas \
             (compiled into kube-controller-manager as 2 and 4).",
            c.scale_up_limit_factor, c.scale_up_limit_minimum
        )
        .unwrap();
    }
    let o = &config.object;
    writeln!(
        out,
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {}",
        escape::yaml(&o.name)
    )
    .unwrap();
    if let Some(ns) = &o.namespace {
        writeln!(out, "  namespace: {}", escape::yaml(ns)).unwrap();
    }
    for (field, map) in [("labels", &o.labels), ("annotations", &o.annotations)] {
        if !map.is_empty() {
            writeln!(out, "  {field}:").unwrap();
            for (k, v) in map {
                writeln!(out, "    {}: {}", escape::yaml(k), escape::yaml(v)).unwrap();
            }
        }
    }
    writeln!(
        out,
        "spec:\n  scaleTargetRef:\n    apiVersion: {}\n    kind: {}\n    name: {}",
        escape::yaml(&o.target.api_version),
        escape::yaml(&o.target.kind),
        escape::yaml(&o.target.name)
    )
    .unwrap();
    writeln!(
        out,
        "  minReplicas: {}\n  maxReplicas: {}\n  metrics:",
        spec.min_replicas, spec.max_replicas
    )
    .unwrap();
    for m in &config.metrics {
        match *m {
            MetricSpec::Resource { name, target: t } => {
                let name = if name == ResourceName::Cpu { "cpu" } else { "memory" };
                writeln!(out, "  - type: Resource\n    resource:\n      name: {name}").unwrap();
                target(&mut out, "      ", t);
            }
            MetricSpec::Pods { name, target_average } => {
                let name = match name {
                    PodMetricName::RequestsPerSecond => "requests_per_second",
                    PodMetricName::InFlight => "in_flight",
                };
                writeln!(out, "  - type: Pods\n    pods:\n      metric:\n        name: {name}").unwrap();
                target(&mut out, "      ", Target::AverageValue(target_average));
            }
            MetricSpec::External { name, target: t } => {
                match name {
                    ExternalMetricName::RequestsPerSecond => writeln!(
                        out,
                        "  - type: External\n    external:\n      metric:\n        name: requests_per_second"
                    ),
                    // The queue as external metrics adapters and KEDA select it: by label.
                    ExternalMetricName::QueueDepth { queue } => writeln!(
                        out,
                        "  - type: External\n    external:\n      metric:\n        name: queue_depth\n        \
                         selector:\n          matchLabels:\n            queue: {}",
                        escape::yaml(o.queues.get(&queue).map_or("", String::as_str))
                    ),
                }
                .unwrap();
                target(&mut out, "      ", t);
            }
        }
    }
    if let Some(b) = &spec.behavior {
        writeln!(out, "  behavior:").unwrap();
        rules(&mut out, "scaleUp", &b.scale_up);
        rules(&mut out, "scaleDown", &b.scale_down);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_use_kubernetes_suffixes() {
        assert_eq!(quantity(1500), "1500m");
        assert_eq!(quantity(4000), "4");
        assert_eq!(quantity(512 * 1024 * 1024 * 1000), "512Mi");
        assert_eq!(quantity(2 * 1024 * 1024 * 1024 * 1000), "2Gi");
    }
}
