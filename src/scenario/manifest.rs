//! Reading a real Kubernetes HorizontalPodAutoscaler manifest
//! (`autoscaling/v2`, or `autoscaling/v1` converted as the API server
//! converts it, as written in a repository or printed by
//! `kubectl get hpa -o yaml`) into the scenario's own HPA fields, so the same
//! validation applies to both. Fields capsim cannot honour are errors that
//! say so, never silently dropped.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::raw::*;
use super::units::{Duration, Quantity};
use super::validate::{MAX_INSTANCES, PathProblem};
use super::{Format, Problem, locate, parse};

/// The API server's limits on a behavior's windows and policy periods.
const MAX_STABILIZATION_WINDOW_S: i64 = 3600;
const MAX_PERIOD_S: i64 = 1800;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Manifest {
    api_version: String,
    kind: String,
    #[serde(default)]
    metadata: Option<MetaK>,
    spec: Spec,
    /// `kubectl get -o yaml` prints the live status: read and ignored.
    #[serde(default, rename = "status")]
    _status: Option<IgnoredAny>,
}

/// `metadata`: the names are kept for export; what the server adds
/// (`uid`, `resourceVersion`, `managedFields`, …) is read and ignored.
#[derive(Deserialize)]
struct MetaK {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// `scaleTargetRef` (a `CrossVersionObjectReference`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TargetRefK {
    #[serde(default)]
    api_version: Option<String>,
    kind: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Spec {
    /// The workload it scales: the pool stands for it, and an export names it again.
    scale_target_ref: TargetRefK,
    #[serde(default)]
    min_replicas: Option<Int32>,
    max_replicas: Int32,
    #[serde(default)]
    metrics: Option<Vec<Metric>>,
    #[serde(default)]
    behavior: Option<BehaviorK>,
    /// autoscaling/v1's one metric: average CPU utilisation, in percent of
    /// the requests (80 when left out, as in v2 without metrics).
    #[serde(default, rename = "targetCPUUtilizationPercentage")]
    target_cpu_utilization_percentage: Option<Int32>,
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
    #[serde(default)]
    selector: Option<SelectorK>,
}

/// A `LabelSelector`: a `queue_depth` metric names its queue by the label
/// `queue`, as external metrics adapters and KEDA select a queue's series.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SelectorK {
    #[serde(default)]
    match_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    match_expressions: Option<IgnoredAny>,
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
                    "expected a whole number (Kubernetes' int32), found {v:?}"
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

/// The parts of an HPA a manifest supplies, in the scenario's spelling.
#[derive(Debug)]
pub(super) struct FromManifest {
    pub metadata: RawObjectMeta,
    pub scale_target_ref: RawScaleTargetRef,
    pub min_replicas: Option<i64>,
    pub max_replicas: i64,
    pub metrics: Option<Vec<RawMetric>>,
    pub behavior: Option<RawBehavior>,
}

/// The annotation `kubectl apply` keeps the previous object in: it
/// describes the object it was read from, not an export, so it is dropped.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Reads `text` (the manifest at `file`) or returns its problems, located
/// in it. `queues` are the scenario's queue names, which a `queue_depth`
/// metric must name (`None`: not checked, for `import-hpa`).
pub(super) fn read(text: &str, file: &str, queues: Option<&[String]>) -> Result<FromManifest, Vec<Problem>> {
    let m: Manifest = parse(text, file, Format::for_path(file)).map_err(|e| e.problems)?;
    check(&m, queues).map_err(|problems| locate(text, file, problems))
}

/// Reads a manifest given inline (a mapping in the scenario); problems
/// carry paths inside the manifest (`spec.minReplicas`).
pub(super) fn read_inline(
    doc: &serde_json::Value,
    queues: Option<&[String]>,
) -> Result<FromManifest, Vec<PathProblem>> {
    let m: Manifest = serde_path_to_error::deserialize(doc).map_err(|e| {
        vec![(
            super::known_path(&e.path().to_string()),
            super::explain(e.inner().to_string().as_str()),
        )]
    })?;
    check(&m, queues)
}

/// A DNS-1123 subdomain, what Kubernetes requires of an object's name.
pub(super) fn is_dns_subdomain(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.starts_with(alnum)
                && part.ends_with(alnum)
                && part.chars().all(|c| alnum(c) || c == '-')
        })
}

/// A DNS-1123 label, what Kubernetes requires of a namespace.
pub(super) fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && !s.contains('.') && is_dns_subdomain(s)
}

fn check(m: &Manifest, queues: Option<&[String]>) -> Result<FromManifest, Vec<PathProblem>> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut problem = |path: String, message: String| problems.push((path, message));
    let v1 = m.api_version == "autoscaling/v1";
    if !v1 && !matches!(m.api_version.as_str(), "autoscaling/v2" | "autoscaling/v2beta2") {
        problem(
            "apiVersion".into(),
            format!(
                "`{}` is not supported; use autoscaling/v2 (or autoscaling/v1)",
                m.api_version
            ),
        );
    }
    // v1 has one field for its one metric and none for the others; the
    // API server refuses each version's fields under the other.
    if v1 {
        for (field, given) in [
            ("metrics", m.spec.metrics.is_some()),
            ("behavior", m.spec.behavior.is_some()),
        ] {
            if given {
                problem(
                    format!("spec.{field}"),
                    format!("autoscaling/v1 has no `{field}`; write the HPA as autoscaling/v2 to use it"),
                );
            }
        }
    } else if m.spec.target_cpu_utilization_percentage.is_some() {
        problem(
            "spec.targetCPUUtilizationPercentage".into(),
            "this is autoscaling/v1's field: set apiVersion: autoscaling/v1, or write the target as autoscaling/v2 \
             does, a metric of type Resource on cpu with target type Utilization and averageUtilization N"
                .into(),
        );
    }
    if let Some(Int32(u)) = m.spec.target_cpu_utilization_percentage
        && u < 1
    {
        problem(
            "spec.targetCPUUtilizationPercentage".into(),
            format!("must be ≥ 1, got {u}"),
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
    // A v1 target is the v2 CPU Resource metric the API server converts it to.
    let v1_metric = m.spec.target_cpu_utilization_percentage.filter(|_| v1).map(|Int32(u)| {
        vec![RawMetric::Resource {
            name: RawResourceName::Cpu,
            target: RawTarget {
                average_utilization: Some(u),
                average_value: None,
                value: None,
            },
        }]
    });
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
                        if p.metric.selector.is_some() {
                            problem(
                                format!("{path}.pods.metric.selector"),
                                "capsim's pod metrics carry no labels to select: leave the selector out".into(),
                            );
                            return None;
                        }
                        let t = target(&p.target, format!("{path}.pods.target"), &mut problem)?;
                        Some(RawMetric::Pods { name, target: t })
                    }
                    ("External", None, None, Some(e)) => {
                        let (name, queue) = match e.metric.name.as_str() {
                            "requests_per_second" => {
                                if e.metric.selector.is_some() {
                                    problem(
                                        format!("{path}.external.metric.selector"),
                                        "capsim's requests_per_second is the pool's whole request rate and has no labels to select: leave the selector out".into(),
                                    );
                                    return None;
                                }
                                (RawExternalMetric::RequestsPerSecond, None)
                            }
                            "queue_depth" => {
                                let spath = format!("{path}.external.metric.selector");
                                let Some(sel) = &e.metric.selector else {
                                    problem(format!("{path}.external.metric"), "a `queue_depth` metric names its queue: `selector: { matchLabels: { queue: NAME } }`".into());
                                    return None;
                                };
                                if sel.match_expressions.is_some() {
                                    problem(format!("{spath}.matchExpressions"), "a `queue_depth` metric names its queue in `matchLabels.queue`, not by expressions".into());
                                    return None;
                                }
                                let Some(q) = sel.match_labels.as_ref().and_then(|l| l.get("queue")) else {
                                    problem(format!("{spath}.matchLabels"), "a `queue_depth` metric names its queue: `matchLabels: { queue: NAME }`".into());
                                    return None;
                                };
                                // Another label would select another series than the one simulated.
                                if let Some(other) = sel.match_labels.as_ref().and_then(|l| l.keys().find(|k| *k != "queue")) {
                                    problem(
                                        format!("{spath}.matchLabels.{other}"),
                                        "capsim's queue_depth series carries only the `queue` label: another label would select a different series than the one simulated".into(),
                                    );
                                    return None;
                                }
                                if let Some(known) = queues
                                    && !known.iter().any(|k| k == q)
                                {
                                    problem(
                                        format!("{spath}.matchLabels.queue"),
                                        format!("unknown queue `{q}`; known: {}", super::validate::known_list(q, known.iter())),
                                    );
                                    return None;
                                }
                                (RawExternalMetric::QueueDepth, Some(q.clone()))
                            }
                            other => {
                                problem(
                                    format!("{path}.external.metric.name"),
                                    format!("capsim has no external metric `{other}`; it produces requests_per_second (the pool's request rate) and queue_depth (a queue's messages, named by `selector.matchLabels.queue`)"),
                                );
                                return None;
                            }
                        };
                        let t = target(&e.target, format!("{path}.external.target"), &mut problem)?;
                        Some(RawMetric::External { name, target: t, queue })
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
    let meta = m.metadata.as_ref();
    let name = meta.and_then(|m| m.name.clone());
    if let Some(n) = &name
        && !is_dns_subdomain(n)
    {
        problem(
            "metadata.name".into(),
            format!(
                "`{n}` is not a Kubernetes name: lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 253"
            ),
        );
    }
    let namespace = meta.and_then(|m| m.namespace.clone());
    if let Some(n) = &namespace
        && !is_dns_label(n)
    {
        problem(
            "metadata.namespace".into(),
            format!(
                "`{n}` is not a Kubernetes namespace: lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63"
            ),
        );
    }
    let r = &m.spec.scale_target_ref;
    for (field, v) in [("kind", &r.kind), ("name", &r.name)] {
        if v.is_empty() {
            problem(format!("spec.scaleTargetRef.{field}"), "must not be empty".into());
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut annotations = meta.and_then(|m| m.annotations.clone());
    if let Some(a) = &mut annotations {
        a.remove(LAST_APPLIED);
    }
    Ok(FromManifest {
        metadata: RawObjectMeta {
            name,
            namespace,
            labels: meta.and_then(|m| m.labels.clone()),
            annotations,
        },
        scale_target_ref: RawScaleTargetRef {
            api_version: r.api_version.clone(),
            kind: Some(r.kind.clone()),
            name: Some(r.name.clone()),
        },
        min_replicas: m.spec.min_replicas.map(|m| m.0),
        max_replicas: max,
        metrics: v1_metric.or(metrics),
        behavior,
    })
}

/// The HPA of the manifest `text` (at `file`) in the scenario's own
/// spelling, the `autoscaler:` mapping a pool takes, ready to paste; or the
/// manifest's problems, located in it. Queue names are not checked (there
/// is no scenario to check them against).
pub fn import(text: &str, file: &str) -> Result<String, super::ScenarioError> {
    use crate::report::escape;
    use crate::report::manifest::quantity;
    use std::fmt::Write as _;
    let m = read(text, file, None).map_err(|problems| super::ScenarioError { problems })?;
    let mut out = String::new();
    let secs = |d: Duration| format!("{}s", d.0);
    let _ = writeln!(
        out,
        "# The HPA of {} in capsim's spelling: paste it under `pools.<name>:`.",
        file.replace(['\n', '\r'], " ")
    );
    out.push_str("autoscaler:\n  hpa:\n");
    let meta = &m.metadata;
    if meta.name.is_some() || meta.namespace.is_some() || meta.labels.is_some() || meta.annotations.is_some() {
        out.push_str("    metadata:\n");
        for (field, v) in [("name", &meta.name), ("namespace", &meta.namespace)] {
            if let Some(v) = v {
                let _ = writeln!(out, "      {field}: {}", escape::yaml(v));
            }
        }
        for (field, map) in [("labels", &meta.labels), ("annotations", &meta.annotations)] {
            match map {
                Some(map) if map.is_empty() => {
                    let _ = writeln!(out, "      {field}: {{}}");
                }
                Some(map) => {
                    let _ = writeln!(out, "      {field}:");
                    for (k, v) in map {
                        let _ = writeln!(out, "        {}: {}", escape::yaml(k), escape::yaml(v));
                    }
                }
                None => {}
            }
        }
    }
    let r = &m.scale_target_ref;
    out.push_str("    scale_target_ref:\n");
    for (field, v) in [("api_version", &r.api_version), ("kind", &r.kind), ("name", &r.name)] {
        if let Some(v) = v {
            let _ = writeln!(out, "      {field}: {}", escape::yaml(v));
        }
    }
    if let Some(min) = m.min_replicas {
        let _ = writeln!(out, "    min_replicas: {min}");
    }
    let _ = writeln!(out, "    max_replicas: {}", m.max_replicas);
    let target = |t: &RawTarget| match (t.average_utilization, t.average_value, t.value) {
        (Some(u), _, _) => format!("{{ average_utilization: {u} }}"),
        (_, Some(v), _) => format!("{{ average_value: {} }}", quantity(v.0)),
        (_, _, Some(v)) => format!("{{ value: {} }}", quantity(v.0)),
        _ => unreachable!("the reader gives every target one field"),
    };
    if let Some(metrics) = &m.metrics {
        if metrics.is_empty() {
            out.push_str("    metrics: []\n");
        } else {
            out.push_str("    metrics:\n");
        }
        for metric in metrics {
            let line = match metric {
                RawMetric::Resource { name, target: t } => {
                    let name = if *name == RawResourceName::Cpu { "cpu" } else { "memory" };
                    format!("resource: {{ name: {name}, target: {} }}", target(t))
                }
                RawMetric::Pods { name, target: t } => {
                    let name = match name {
                        RawPodMetric::RequestsPerSecond => "requests_per_second",
                        RawPodMetric::InFlight => "in_flight",
                    };
                    format!("pods: {{ name: {name}, target: {} }}", target(t))
                }
                RawMetric::External { name, target: t, queue } => match (name, queue) {
                    (RawExternalMetric::QueueDepth, Some(q)) => format!(
                        "external: {{ name: queue_depth, queue: {}, target: {} }}",
                        escape::yaml(q),
                        target(t)
                    ),
                    _ => format!("external: {{ name: requests_per_second, target: {} }}", target(t)),
                },
            };
            let _ = writeln!(out, "      - {line}");
        }
    }
    if let Some(b) = &m.behavior {
        let rules = |out: &mut String, name: &str, r: &Option<RawScalingRules>| {
            let Some(r) = r else { return };
            let _ = writeln!(out, "      {name}:");
            if r.stabilization_window.is_none()
                && r.select_policy.is_none()
                && r.policies.is_none()
                && r.tolerance.is_none()
            {
                out.truncate(out.len() - 1);
                out.push_str(" {}\n");
                return;
            }
            if let Some(w) = r.stabilization_window {
                let _ = writeln!(out, "        stabilization_window: {}", secs(w));
            }
            if let Some(p) = r.select_policy {
                let p = match p {
                    RawSelectPolicy::Max => "max",
                    RawSelectPolicy::Min => "min",
                    RawSelectPolicy::Disabled => "disabled",
                };
                let _ = writeln!(out, "        select_policy: {p}");
            }
            match &r.policies {
                None => {}
                Some(list) if list.is_empty() => out.push_str("        policies: []\n"),
                Some(list) => {
                    out.push_str("        policies:\n");
                    for p in list {
                        let kind = match p.kind {
                            RawPolicyKind::Pods => "pods",
                            RawPolicyKind::Percent => "percent",
                        };
                        let _ = writeln!(
                            out,
                            "          - {{ type: {kind}, value: {}, period: {} }}",
                            p.value,
                            secs(p.period)
                        );
                    }
                }
            }
            if let Some(t) = r.tolerance {
                let _ = writeln!(out, "        tolerance: {t}");
            }
        };
        if b.scale_up.is_none() && b.scale_down.is_none() {
            out.push_str("    behavior: {}\n");
        } else {
            out.push_str("    behavior:\n");
            rules(&mut out, "scale_up", &b.scale_up);
            rules(&mut out, "scale_down", &b.scale_down);
        }
    }
    Ok(out)
}
