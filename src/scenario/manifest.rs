//! Reading a real Kubernetes HorizontalPodAutoscaler manifest
//! (`autoscaling/v2`, as written in a repository or printed by
//! `kubectl get hpa -o yaml`) into the scenario's own HPA fields, so the same
//! validation applies to both. Fields capsim cannot honour are errors that
//! say so, never silently dropped.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::raw::*;
use super::units::{Duration, Quantity};
use super::validate::MAX_INSTANCES;
use super::{Format, Problem, locate, parse};

/// The API server's limits on a behavior's windows and policy periods.
const MAX_STABILIZATION_WINDOW_S: i64 = 3600;
const MAX_PERIOD_S: i64 = 1800;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Manifest {
    api_version: String,
    kind: String,
    #[serde(default, rename = "metadata")]
    _metadata: Option<IgnoredAny>,
    spec: Spec,
    /// `kubectl get -o yaml` prints the live status: read and ignored.
    #[serde(default, rename = "status")]
    _status: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    /// The workload it scales: the pool stands for it.
    #[serde(rename = "scaleTargetRef")]
    _scale_target_ref: IgnoredAny,
    #[serde(default)]
    min_replicas: Option<Int32>,
    max_replicas: Int32,
    #[serde(default)]
    metrics: Option<Vec<Metric>>,
    #[serde(default)]
    behavior: Option<BehaviorK>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metric {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    resource: Option<ResourceSource>,
    #[serde(default)]
    pods: Option<NamedSource>,
    #[serde(default)]
    external: Option<NamedSource>,
    #[serde(default, rename = "object")]
    _object: Option<IgnoredAny>,
    #[serde(default, rename = "containerResource")]
    _container_resource: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceSource {
    name: String,
    target: TargetK,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedSource {
    metric: MetricId,
    target: TargetK,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricId {
    name: String,
    #[serde(default, rename = "selector")]
    _selector: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TargetK {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    average_utilization: Option<Int32>,
    #[serde(default)]
    average_value: Option<Quantity>,
    #[serde(default)]
    value: Option<Quantity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BehaviorK {
    #[serde(default)]
    scale_up: Option<RulesK>,
    #[serde(default)]
    scale_down: Option<RulesK>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RulesK {
    #[serde(default)]
    stabilization_window_seconds: Option<Int32>,
    #[serde(default)]
    select_policy: Option<String>,
    #[serde(default)]
    policies: Option<Vec<PolicyK>>,
    #[serde(default)]
    tolerance: Option<Quantity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyK {
    #[serde(rename = "type")]
    kind: String,
    value: Int32,
    period_seconds: Int32,
}

/// A Kubernetes `int32` field: a whole number written as one. The API
/// server refuses a quoted number (`"65"`) or a fraction here, and so does
/// capsim, rather than read what Kubernetes would not.
#[derive(Clone, Copy, Debug)]
struct Int32(i64);

impl<'de> Deserialize<'de> for Int32 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Int32;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number (Kubernetes' int32), unquoted")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Int32, E> {
                if i32::try_from(v).is_ok() {
                    Ok(Int32(v))
                } else {
                    Err(E::custom(format!(
                        "{v} is out of range: Kubernetes' int32 holds {} to {}",
                        i32::MIN,
                        i32::MAX
                    )))
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Int32, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Int32, E> {
                Err(E::custom(format!(
                    "expected a whole number (Kubernetes' int32), found {v}"
                )))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Int32, E> {
                Err(E::custom(format!(
                    "expected a number, found the string `{v}`: Kubernetes refuses a quoted number here"
                )))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Int32, E> {
                Err(E::custom(format!(
                    "expected a whole number (Kubernetes' int32), found `{v}`"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

/// The parts of an HPA a manifest supplies.
pub(super) struct FromManifest {
    pub min_replicas: Option<i64>,
    pub max_replicas: i64,
    pub metrics: Option<Vec<RawMetric>>,
    pub behavior: Option<RawBehavior>,
}

/// Reads `text` (the manifest at `file`) or returns its problems, located in it.
pub(super) fn read(text: &str, file: &str) -> Result<FromManifest, Vec<Problem>> {
    let m: Manifest = parse(text, file, Format::for_path(file)).map_err(|e| e.problems)?;
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut problem = |path: String, message: String| problems.push((path, message));
    if !matches!(m.api_version.as_str(), "autoscaling/v2" | "autoscaling/v2beta2") {
        problem(
            "apiVersion".into(),
            format!("`{}` is not supported; use autoscaling/v2", m.api_version),
        );
    }
    if m.kind != "HorizontalPodAutoscaler" {
        problem(
            "kind".into(),
            format!("expected HorizontalPodAutoscaler, got `{}`", m.kind),
        );
    }
    // The API server's own checks (pkg/apis/autoscaling/validation), located
    // here in the manifest rather than where the scenario names it.
    let max = m.spec.max_replicas.0;
    if let Some(Int32(min)) = m.spec.min_replicas
        && min < 1
    {
        problem(
            "spec.minReplicas".into(),
            format!("must be ≥ 1, got {min} (0 needs the alpha HPAScaleToZero feature gate; not modelled)"),
        );
    }
    if !(1..=i64::from(MAX_INSTANCES)).contains(&max) {
        problem(
            "spec.maxReplicas".into(),
            format!("must be between 1 and {MAX_INSTANCES} (capsim's limit), got {max}"),
        );
    } else if let Some(Int32(min)) = m.spec.min_replicas
        && max < min
    {
        problem(
            "spec.maxReplicas".into(),
            format!("must be ≥ minReplicas ({min}), got {max}"),
        );
    }
    let metrics = m.spec.metrics.as_ref().map(|list| {
        list.iter()
            .enumerate()
            .filter_map(|(i, metric)| {
                let path = format!("spec.metrics[{i}]");
                let target = |t: &TargetK, tpath: String, problem: &mut dyn FnMut(String, String)| {
                    let expected = match t.kind.as_str() {
                        "Utilization" => t.average_utilization.is_some(),
                        "AverageValue" => t.average_value.is_some(),
                        "Value" => t.value.is_some(),
                        other => {
                            problem(
                                format!("{tpath}.type"),
                                format!("unknown target type `{other}`; known: Utilization, AverageValue, Value"),
                            );
                            return None;
                        }
                    };
                    if !expected {
                        problem(tpath.clone(), format!("type {} needs its matching field", t.kind));
                        return None;
                    }
                    if let Some(Int32(u)) = t.average_utilization
                        && u < 1
                    {
                        problem(format!("{tpath}.averageUtilization"), format!("must be ≥ 1, got {u}"));
                        return None;
                    }
                    for (field, q) in [("averageValue", t.average_value), ("value", t.value)] {
                        if q.is_some_and(|q| q.0 <= 0) {
                            problem(format!("{tpath}.{field}"), "must be positive".to_string());
                            return None;
                        }
                    }
                    Some(RawTarget {
                        average_utilization: (t.kind == "Utilization")
                            .then_some(t.average_utilization.map(|u| u.0))
                            .flatten(),
                        average_value: (t.kind == "AverageValue").then_some(t.average_value).flatten(),
                        value: (t.kind == "Value").then_some(t.value).flatten(),
                    })
                };
                match (metric.kind.as_str(), &metric.resource, &metric.pods, &metric.external) {
                    ("Resource", Some(r), None, None) => {
                        let name = match r.name.as_str() {
                            "cpu" => RawResourceName::Cpu,
                            "memory" => RawResourceName::Memory,
                            other => {
                                problem(format!("{path}.resource.name"), format!("resource `{other}` is not modelled; known: cpu, memory"));
                                return None;
                            }
                        };
                        let t = target(&r.target, format!("{path}.resource.target"), &mut problem)?;
                        Some(RawMetric::Resource { name, target: t })
                    }
                    ("Pods", None, Some(p), None) => {
                        let name = match p.metric.name.as_str() {
                            "requests_per_second" => RawPodMetric::RequestsPerSecond,
                            "in_flight" => RawPodMetric::InFlight,
                            other => {
                                problem(
                                    format!("{path}.pods.metric.name"),
                                    format!("capsim has no pod metric `{other}`; it produces requests_per_second and in_flight (rename the metric in the manifest to the one that matches)"),
                                );
                                return None;
                            }
                        };
                        let t = target(&p.target, format!("{path}.pods.target"), &mut problem)?;
                        Some(RawMetric::Pods { name, target: t })
                    }
                    ("External", None, None, Some(e)) => {
                        if e.metric.name != "requests_per_second" {
                            problem(
                                format!("{path}.external.metric.name"),
                                format!("capsim has no external metric `{}`; it produces requests_per_second (the pool's request rate)", e.metric.name),
                            );
                            return None;
                        }
                        let t = target(&e.target, format!("{path}.external.target"), &mut problem)?;
                        Some(RawMetric::External { name: RawExternalMetric::RequestsPerSecond, target: t, queue: None })
                    }
                    ("Object" | "ContainerResource", ..) => {
                        problem(format!("{path}.type"), format!("{} metrics are not modelled yet; known: Resource, Pods, External", metric.kind));
                        None
                    }
                    (kind, ..) => {
                        problem(path, format!("type `{kind}` needs exactly its own source field (resource, pods or external)"));
                        None
                    }
                }
            })
            .collect()
    });
    let rules = |r: &RulesK, path: String, problem: &mut dyn FnMut(String, String)| RawScalingRules {
        stabilization_window: r.stabilization_window_seconds.and_then(|Int32(s)| {
            if (0..=MAX_STABILIZATION_WINDOW_S).contains(&s) {
                Some(Duration(s as f64))
            } else {
                problem(
                    format!("{path}.stabilizationWindowSeconds"),
                    format!("must be between 0 and {MAX_STABILIZATION_WINDOW_S}, got {s}"),
                );
                None
            }
        }),
        select_policy: r.select_policy.as_deref().and_then(|s| match s {
            "Max" => Some(RawSelectPolicy::Max),
            "Min" => Some(RawSelectPolicy::Min),
            "Disabled" => Some(RawSelectPolicy::Disabled),
            other => {
                problem(
                    format!("{path}.selectPolicy"),
                    format!("unknown `{other}`; known: Max, Min, Disabled"),
                );
                None
            }
        }),
        policies: r.policies.as_ref().map(|list| {
            list.iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let kind = match p.kind.as_str() {
                        "Pods" => RawPolicyKind::Pods,
                        "Percent" => RawPolicyKind::Percent,
                        other => {
                            problem(
                                format!("{path}.policies[{i}].type"),
                                format!("unknown `{other}`; known: Pods, Percent"),
                            );
                            return None;
                        }
                    };
                    let ppath = format!("{path}.policies[{i}]");
                    if p.value.0 < 1 {
                        problem(format!("{ppath}.value"), format!("must be ≥ 1, got {}", p.value.0));
                        return None;
                    }
                    if !(1..=MAX_PERIOD_S).contains(&p.period_seconds.0) {
                        problem(
                            format!("{ppath}.periodSeconds"),
                            format!("must be between 1 and {MAX_PERIOD_S}, got {}", p.period_seconds.0),
                        );
                        return None;
                    }
                    Some(RawScalingPolicy {
                        kind,
                        value: p.value.0,
                        period: Duration(p.period_seconds.0 as f64),
                    })
                })
                .collect()
        }),
        tolerance: r.tolerance.map(|q| q.0 as f64 / 1000.0),
    };
    let behavior = m.spec.behavior.as_ref().map(|b| RawBehavior {
        scale_up: b
            .scale_up
            .as_ref()
            .map(|r| rules(r, "spec.behavior.scaleUp".into(), &mut problem)),
        scale_down: b
            .scale_down
            .as_ref()
            .map(|r| rules(r, "spec.behavior.scaleDown".into(), &mut problem)),
    });
    if !problems.is_empty() {
        return Err(locate(text, file, problems));
    }
    Ok(FromManifest {
        min_replicas: m.spec.min_replicas.map(|m| m.0),
        max_replicas: max,
        metrics,
        behavior,
    })
}
