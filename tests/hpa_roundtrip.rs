//! Exported HPA manifests read back to the same HPA: for every example
//! scenario's HPA and for generated ones over metrics, targets, behaviors
//! and the object's names. The comparison is of the validated model
//! (`HpaConfig`), not of text.

use std::collections::BTreeMap;
use std::path::Path;

use capsim::engine::SimDuration;
use capsim::model::autoscaler::hpa::{Behavior, ControllerConfig, HpaSpec, Policy, ScalingRules, SelectPolicy};
use capsim::model::autoscaler::{
    ExternalMetricName, HpaConfig, HpaObject, MetricSpec, PodMetricName, ResourceName, ScaleTargetRef, Target,
};
use capsim::report::manifest::hpa_manifest;
use capsim::scenario::{Format, Scenario, SourceFiles};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use serde_json::Value;

/// The scenario's folder on disk, with the exported manifest served from memory.
struct Files<'a> {
    dir: &'a Path,
    exported: String,
}

const EXPORTED: &str = "exported-hpa.yaml";

impl SourceFiles for Files<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        if path == EXPORTED {
            return Ok(self.exported.clone());
        }
        std::fs::read_to_string(self.dir.join(path)).map_err(|e| e.to_string())
    }
}

/// `doc` with pool `pool`'s HPA read from its own export instead: the
/// scaling fields and the names come from the manifest alone; the
/// controller flags and the pipeline stay in the scenario.
fn reimported(doc: &Value, dir: &Path, pool: &str, exported: String) -> Scenario {
    let mut doc = doc.clone();
    let hpa = doc["pools"][pool]["autoscaler"]["hpa"]
        .as_object_mut()
        .expect("an hpa mapping");
    for field in [
        "manifest",
        "min_replicas",
        "max_replicas",
        "metrics",
        "behavior",
        "metadata",
        "scale_target_ref",
    ] {
        hpa.remove(field);
    }
    hpa.insert("manifest".into(), Value::from(EXPORTED));
    capsim::scenario::load_document(&doc, "reimported", &Files { dir, exported }).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_hpa_reads_back_from_its_export() {
    let mut checked = 0;
    let mut paths: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let doc = capsim::scenario::document(&text, &name, Format::for_path(&name)).unwrap();
        let dir = Path::new("scenarios");
        let files = Files {
            dir,
            exported: String::new(),
        };
        let scenario = capsim::scenario::load(&text, &name, Format::for_path(&name), &files).unwrap();
        for pool in &scenario.spec.pools {
            let Some(config) = &pool.autoscaler else { continue };
            if doc["pools"][&pool.name]["autoscaler"]["hpa"].is_null() {
                continue; // a KEDA ScaledObject's HPA
            }
            let again = reimported(&doc, dir, &pool.name, hpa_manifest(&pool.name, config));
            let back = again.spec.pools.iter().find(|p| p.name == pool.name).unwrap();
            assert_eq!(back.autoscaler.as_ref(), Some(config), "{name}: pool {}", pool.name);
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} example HPAs");
}

/// A consumer pool on queue `jobs` (index 0; `mail` is 1) with an HPA.
const SCENARIO: &str = r#"
name: q
duration: 60s
traffic:
  rate: { constant: 50 }
  classes: [ { name: up, kind: write, cpu: { constant: 0s }, data: { enqueue: jobs } } ]
  target: lb
instance_types:
  pod: { vcpu: 1, memory_gib: 2, hourly_usd: 0.04 }
load_balancers:
  lb: { policy: round_robin, pool: api }
pools:
  api: { instance_type: pod, count: 2, workers: 100 }
  mailers: { instance_type: pod, count: 1, workers: 1 }
  workers:
    instance_type: pod
    count: 2
    workers: 1
    autoscaler:
      hpa:
        manifest: exported-hpa.yaml
queues:
  jobs: { consumers: workers, job: { constant: 10ms } }
  mail: { consumers: mailers, job: { constant: 10ms } }
"#;

const QUEUES: [&str; 2] = ["jobs", "mail"];

fn milli() -> impl Strategy<Value = i64> {
    prop_oneof![
        1i64..10_000_000,
        (1i64..64).prop_map(|g| g << 30 << 10),
        (1i64..5000).prop_map(|v| v * 1000),
    ]
}

fn metric() -> impl Strategy<Value = MetricSpec> {
    let resource = (
        prop_oneof![Just(ResourceName::Cpu), Just(ResourceName::Memory)],
        prop_oneof![
            (1i32..500).prop_map(Target::Utilization),
            milli().prop_map(Target::AverageValue)
        ],
    )
        .prop_map(|(name, target)| MetricSpec::Resource { name, target });
    let pods = (
        prop_oneof![Just(PodMetricName::RequestsPerSecond), Just(PodMetricName::InFlight)],
        milli(),
    )
        .prop_map(|(name, target_average)| MetricSpec::Pods { name, target_average });
    let external = (
        prop_oneof![
            Just(ExternalMetricName::RequestsPerSecond),
            (0u16..2).prop_map(|queue| ExternalMetricName::QueueDepth { queue })
        ],
        prop_oneof![milli().prop_map(Target::Value), milli().prop_map(Target::AverageValue)],
    )
        .prop_map(|(name, target)| MetricSpec::External { name, target });
    prop_oneof![resource, pods, external]
}

fn rules() -> impl Strategy<Value = ScalingRules> {
    let policy = (any::<bool>(), 1i32..1000, 1u64..=1800).prop_map(|(pods, value, period)| {
        let period = SimDuration::from_secs(period);
        if pods {
            Policy::Pods { value, period }
        } else {
            Policy::Percent { value, period }
        }
    });
    (
        0u64..=3600,
        prop_oneof![
            Just(SelectPolicy::Max),
            Just(SelectPolicy::Min),
            Just(SelectPolicy::Disabled)
        ],
        proptest::collection::vec(policy, 1..4),
        proptest::option::of(0i64..=1000),
    )
        .prop_map(|(window, select_policy, policies, tolerance)| ScalingRules {
            stabilization_window: SimDuration::from_secs(window),
            select_policy,
            policies,
            tolerance: tolerance.map(|t| t as f64 / 1000.0),
        })
}

fn object() -> impl Strategy<Value = HpaObject> {
    let name = "[a-z][a-z0-9-]{0,12}[a-z0-9]";
    let text = "[a-zA-Z0-9 :#\"'./_-]{0,16}";
    (
        name,
        proptest::option::of("[a-z][a-z0-9-]{0,8}[a-z0-9]"),
        proptest::collection::btree_map("[a-z][a-z0-9./-]{0,10}[a-z0-9]", text, 0..3),
        proptest::collection::btree_map("[a-z][a-z0-9./-]{0,10}[a-z0-9]", text, 0..3),
        prop_oneof![Just("Deployment"), Just("StatefulSet"), Just("ReplicaSet")],
        name,
    )
        .prop_map(|(name, namespace, labels, annotations, kind, target)| HpaObject {
            name,
            namespace,
            labels,
            annotations,
            target: ScaleTargetRef {
                api_version: "apps/v1".into(),
                kind: kind.into(),
                name: target,
            },
            queues: BTreeMap::new(),
        })
}

fn config() -> impl Strategy<Value = HpaConfig> {
    (
        1i32..50,
        0i32..200,
        proptest::collection::vec(metric(), 1..4),
        proptest::option::of((rules(), rules())),
        object(),
    )
        .prop_map(|(min, extra, metrics, behavior, mut object)| {
            object.queues = metrics
                .iter()
                .filter_map(|m| match m {
                    MetricSpec::External {
                        name: ExternalMetricName::QueueDepth { queue },
                        ..
                    } => Some((*queue, QUEUES[usize::from(*queue)].to_string())),
                    _ => None,
                })
                .collect();
            HpaConfig {
                spec: HpaSpec {
                    min_replicas: min,
                    max_replicas: min + extra,
                    behavior: behavior.map(|(scale_up, scale_down)| Behavior { scale_up, scale_down }),
                    controller: ControllerConfig::DEFAULT,
                },
                metrics,
                // The scenario's defaults: metrics-server's 15 s, no delay, half a resolution.
                resolution: SimDuration::from_secs(15),
                delay: SimDuration::ZERO,
                offset: SimDuration::from_millis(7500),
                object,
            }
        })
}

#[test]
fn generated_hpas_read_back_from_their_export() {
    let mut runner = TestRunner::new(Config {
        cases: 256,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(16),
        ..Config::default()
    });
    runner
        .run(&config(), |x| {
            let exported = hpa_manifest("workers", &x);
            let files = Files {
                dir: Path::new("."),
                exported: exported.clone(),
            };
            let s = capsim::scenario::load(SCENARIO, "q.yaml", Format::Yaml, &files)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{exported}")))?;
            let back = s.spec.pools.iter().find_map(|p| p.autoscaler.clone());
            prop_assert_eq!(back.as_ref(), Some(&x), "{}", exported);
            Ok(())
        })
        .unwrap();
}
