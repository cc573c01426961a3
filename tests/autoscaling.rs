//! The Kubernetes HPA in a closed loop with request-level load.

mod common;

use capsim::metrics::EventKind;
use capsim::model::simulate;
use capsim::report::{scaling_csv, timeseries_csv};

/// One-core pods at 20 ms of CPU per request behind least connections,
/// with an HPA; `rate` is the traffic curve, `extra` more HPA fields.
fn scenario(rate: &str, metrics: &str, extra: &str, seconds: u32) -> String {
    format!(
        r#"
name: hpa
duration: {seconds}s
interval: 15s
traffic:
  rate: {rate}
  classes: [ {{ name: api, cpu: {{ exponential: {{ mean: 20ms }} }} }} ]
  target: lb
load_balancers:
  lb: {{ policy: least_connections, pool: api }}
instance_types:
  pod: {{ vcpu: 1, memory_gib: 2, hourly_usd: 0.04 }}
pools:
  api:
    instance_type: pod
    count: 2
    workers: 16
    queue_capacity: 1000
    timeout: 60s
    boot_time: {{ constant: 30s }}
    readiness_delay: 5s
    autoscaler:
      hpa:
        min_replicas: 2
        max_replicas: 40
        metrics: [ {metrics} ]
{extra}
"#
    )
}

fn ready_at_end(r: &capsim::model::RunResult) -> u32 {
    r.rows.last().unwrap().pools[0].ready
}

#[test]
fn cpu_target_settles_at_the_capacity_the_load_needs() {
    // 200 req/s × 20 ms = 4 busy cores; at a 50% target the HPA needs 8 pods.
    let yaml = scenario(
        "{ constant: 200 }",
        "{ resource: { name: cpu, target: { average_utilization: 50 } } }",
        "        behavior: {}",
        1200,
    );
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    assert!(r.summary.requests.conserved());
    // 8 pods put CPU at 50%; at 9 it is 44%, a ratio of 0.89 that hovers at the
    // tolerance's edge (proposals of 8 and 9), and the 5-minute window keeps
    // the higher: both are where the real controller would rest.
    assert!((8..=9).contains(&ready_at_end(&r)), "{}", timeseries_csv(&r));
    // Once settled, the pool's CPU sits inside the tolerance band around the target.
    let tail: Vec<f64> = r
        .rows
        .iter()
        .rev()
        .take(20)
        .map(|row| row.pools[0].cpu_utilization)
        .collect();
    let mean = tail.iter().sum::<f64>() / tail.len() as f64;
    assert!((0.42..=0.55).contains(&mean), "settled utilization {mean}");
    // The first scale-up is bounded by the default policy (4 pods or 100% per 15 s).
    let first = r.decisions.iter().find(|d| d.decision.rescale()).unwrap();
    assert!(first.decision.desired <= 4, "{:?}", first.decision);
}

#[test]
fn pods_metric_on_requests_per_second() {
    // 25 req/s per pod at 200 req/s → 8 pods.
    let yaml = scenario(
        "{ constant: 200 }",
        "{ pods: { name: requests_per_second, target: { average_value: 25 } } }",
        "",
        1200,
    );
    let r = simulate(&common::spec(&yaml), 2, 0, &mut |_| {});
    // 9 is a fixed point too: at 9 pods the ratio is 0.889 and ceil(0.889 × 9) = 9
    // whenever the sampled rate is a hair above its mean.
    assert!((8..=9).contains(&ready_at_end(&r)), "{}", ready_at_end(&r));
    // The legacy path (no behavior) may jump to max(2 × current, 4) at once.
    let first = r.decisions.iter().find(|d| d.decision.rescale()).unwrap();
    assert_eq!(first.decision.desired, 4, "{:?}", first.decision);
}

#[test]
fn scale_down_waits_for_the_stabilization_window_and_drains_cleanly() {
    // 300 req/s for 10 minutes, then 60 req/s: the drop is followed by scale-in
    // only once the 5-minute window no longer holds a higher recommendation.
    let rate = "{ steps: [ { at: 0s, rate: 300 }, { at: 600s, rate: 60 } ] }";
    let yaml = scenario(
        rate,
        "{ resource: { name: cpu, target: { average_utilization: 60 } } }",
        "        behavior: {}",
        1800,
    );
    let r = simulate(&common::spec(&yaml), 3, 0, &mut |_| {});
    // Scrapes fall halfway between syncs: the sync at 615 s reads the
    // [592.5 s, 607.5 s] sample, half busy, and proposes more than the
    // minimum; every later sync reads only quiet traffic. The strict 300 s
    // window keeps the 615 s recommendation until exactly 915 s.
    let to_minimum = r
        .decisions
        .iter()
        .find(|d| d.time.as_secs_f64() > 600.0 && d.decision.desired <= 3)
        .expect("scales down after the drop");
    assert_eq!(to_minimum.time.as_secs_f64(), 915.0, "{:?}", to_minimum.decision);
    assert!(r.events.iter().any(|e| e.kind == EventKind::InstanceDraining));
    assert!(r.events.iter().any(|e| e.kind == EventKind::InstanceStopped));
    // Draining instances finish their requests: nothing is lost.
    assert_eq!(r.summary.requests.failed, 0);
    // 60 req/s × 20 ms = 1.2 cores: 2–3 pods at 60% (2 is the minimum), straight
    // from ~10 since the default scale-down policy allows 100% per 15 s.
    assert!(to_minimum.decision.desired <= 3, "{:?}", to_minimum.decision);
    assert!(ready_at_end(&r) <= 3);
    let s = r.summary.pools[0].scaling.as_ref().unwrap();
    assert!(
        s.scale_ups >= 1 && s.scale_downs >= 1 && s.direction_changes >= 1,
        "{s:?}"
    );
}

#[test]
fn a_short_grace_period_loses_long_requests() {
    // 30 s requests and a 1 s grace period: removed pods still hold requests.
    let yaml = scenario(
        "{ steps: [ { at: 0s, rate: 2 }, { at: 300s, rate: 0.05 } ] }",
        "{ pods: { name: in_flight, target: { average_value: 10 } } }",
        "        behavior: { scale_down: { stabilization_window: 0s } }",
        900,
    )
    .replace("exponential: { mean: 20ms }", "constant: 30s")
    .replace("timeout: 60s", "timeout: 120s\n    termination_grace: 1s");
    let r = simulate(&common::spec(&yaml), 4, 0, &mut |_| {});
    assert!(r.summary.requests.conserved(), "{:?}", r.summary.requests);
    assert!(r.summary.requests.failed > 0, "{:?}", r.summary.requests);
}

#[test]
fn autoscaled_runs_are_deterministic() {
    let yaml = scenario(
        "{ diurnal: { peak: 300, peak_to_trough: 4, peak_at: 20m, period: 40m } }",
        "{ resource: { name: cpu, target: { average_utilization: 60 } } }",
        "        behavior: {}",
        2400,
    );
    let spec = common::spec(&yaml);
    let a = simulate(&spec, 5, 0, &mut |_| {});
    let b = simulate(&spec, 5, 0, &mut |_| {});
    assert_eq!(scaling_csv(&a), scaling_csv(&b));
    assert_eq!(timeseries_csv(&a), timeseries_csv(&b));
    assert!(a.summary.pools[0].instances_peak > 4);
}

#[test]
fn hpa_settings_are_validated() {
    let bad = |yaml: String| {
        capsim::scenario::load(
            &yaml,
            "hpa.yaml",
            capsim::scenario::Format::Yaml,
            &capsim::scenario::NoFiles,
        )
        .unwrap_err()
        .to_string()
    };
    let cpu = "{ resource: { name: cpu, target: { average_utilization: 50 } } }";
    let e = bad(scenario("{ constant: 1 }", cpu, "", 60).replace("min_replicas: 2", "min_replicas: 50"));
    assert!(
        e.contains("pools.api.autoscaler.hpa.min_replicas: must not exceed max_replicas (40), got 50"),
        "{e}"
    );
    let e = bad(scenario(
        "{ constant: 1 }",
        "{ external: { name: requests_per_second, target: { average_utilization: 50 } } }",
        "",
        60,
    ));
    assert!(
        e.contains("metrics[0].external.target: an external metric takes value or average_value"),
        "{e}"
    );
    let e = bad(scenario(
        "{ constant: 1 }",
        "{ resource: { name: cpu, target: { } } }",
        "",
        60,
    ));
    assert!(
        e.contains("give exactly one of average_utilization, average_value, value"),
        "{e}"
    );
    let e = bad(scenario(
        "{ constant: 1 }",
        cpu,
        "        behavior: { scale_up: { policies: [ { type: pods, value: 4, period: 2h } ] } }",
        60,
    ));
    assert!(
        e.contains("behavior.scale_up.policies[0].period: must be whole seconds in (0s, 1800s]"),
        "{e}"
    );
    let e = bad(scenario(
        "{ constant: 1 }",
        cpu,
        "        behavior: { scale_down: { stabilization_window: 2h } }",
        60,
    ));
    assert!(
        e.contains("behavior.scale_down.stabilization_window: must be whole seconds between 0s and 3600s"),
        "{e}"
    );
    // stabilizationWindowSeconds is an int32: 1.5 s could not be exported.
    let e = bad(scenario(
        "{ constant: 1 }",
        cpu,
        "        behavior: { scale_down: { stabilization_window: 1.5s } }",
        60,
    ));
    assert!(e.contains("stabilization_window: must be whole seconds"), "{e}");
    let e = bad(scenario("{ constant: 1 }", cpu, "        sync_period: 1ms", 60));
    assert!(e.contains("sync_period: must be at least 1s"), "{e}");
    let e = bad(scenario("{ constant: 1 }", cpu, "", 60).replace("min_replicas: 2", "min_replicas: 0"));
    assert!(
        e.contains("min_replicas: must be ≥ 1, got 0 (scaling to zero needs the alpha HPAScaleToZero gate"),
        "{e}"
    );
    let e = bad(scenario(
        "{ constant: 1 }",
        "{ pods: { name: in_flight, target: { value: 3 } } }",
        "",
        60,
    ));
    assert!(e.contains("a pods metric takes average_value only"), "{e}");

    // The legacy cap beside `behavior` is valid and ignored: said so.
    let yaml = scenario(
        "{ constant: 1 }",
        cpu,
        "        scale_up_limit_factor: 3\n        behavior: {}",
        60,
    );
    let s = capsim::scenario::load(
        &yaml,
        "hpa.yaml",
        capsim::scenario::Format::Yaml,
        &capsim::scenario::NoFiles,
    )
    .unwrap();
    let w: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("scale_up_limit_factor: has no effect: with `behavior`"),
        "{}",
        w[0]
    );
}

/// Serves the scenario's manifest from memory.
struct Manifest(String);

impl capsim::scenario::SourceFiles for Manifest {
    fn read(&self, path: &str) -> Result<String, String> {
        if path == "hpa.yaml" {
            Ok(self.0.clone())
        } else {
            Err("No such file or directory".into())
        }
    }
}

fn with_manifest(manifest: &str) -> Result<capsim::scenario::Scenario, capsim::scenario::ScenarioError> {
    let yaml = scenario("{ constant: 50 }", "", "", 60).replace(
        "        min_replicas: 2\n        max_replicas: 40\n        metrics: [  ]\n",
        "        manifest: hpa.yaml\n",
    );
    capsim::scenario::load(
        &yaml,
        "s.yaml",
        capsim::scenario::Format::Yaml,
        &Manifest(manifest.to_string()),
    )
}

#[test]
fn a_real_manifest_is_read_as_written_and_exported_back() {
    use capsim::model::autoscaler::hpa::{Policy, SelectPolicy};
    use capsim::model::autoscaler::{MetricSpec, PodMetricName, ResourceName, Target};
    let text = std::fs::read_to_string("scenarios/k8s/checkout-hpa.yaml").unwrap();
    let s = with_manifest(&text).unwrap();
    let config = s.spec.pools[0].autoscaler.clone().unwrap();
    assert_eq!((config.spec.min_replicas, config.spec.max_replicas), (3, 24));
    assert_eq!(
        config.metrics,
        [
            MetricSpec::Resource {
                name: ResourceName::Cpu,
                target: Target::Utilization(65)
            },
            MetricSpec::Pods {
                name: PodMetricName::RequestsPerSecond,
                target_average: 40_000
            },
        ]
    );
    let b = config.spec.behavior.as_ref().unwrap();
    let secs = capsim::engine::SimDuration::from_secs;
    assert_eq!(b.scale_up.stabilization_window, secs(30));
    assert_eq!(b.scale_up.select_policy, SelectPolicy::Max);
    assert_eq!(
        b.scale_up.policies,
        [Policy::Percent {
            value: 50,
            period: secs(30)
        }]
    );
    assert_eq!(b.scale_down.stabilization_window, secs(600));
    assert_eq!(b.scale_down.select_policy, SelectPolicy::Min);
    assert_eq!(
        b.scale_down.policies,
        [
            Policy::Pods {
                value: 2,
                period: secs(60)
            },
            Policy::Percent {
                value: 10,
                period: secs(60)
            }
        ]
    );
    // What capsim exports reads back to the same HPA.
    let exported = capsim::report::manifest::hpa_manifest("api", &config);
    let again = with_manifest(&exported).unwrap().spec.pools[0]
        .autoscaler
        .clone()
        .unwrap();
    assert_eq!(again, config);
}

#[test]
fn manifest_problems_point_into_the_manifest() {
    let text = std::fs::read_to_string("scenarios/k8s/checkout-hpa.yaml").unwrap();
    let e = with_manifest(&text.replace("  maxReplicas: 24", "  maxReplica: 24"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("hpa.yaml:18:3: spec.maxReplica: unknown field `maxReplica`"),
        "{e}"
    );
    let object = text.replace("  - type: Pods\n    pods:", "  - type: Object\n    object:");
    let e = with_manifest(&object).unwrap_err().to_string();
    assert!(
        e.contains("hpa.yaml:26:11: spec.metrics[1].type: Object metrics are not modelled yet"),
        "{e}"
    );
    let renamed = text.replace("name: requests_per_second", "name: http_requests_total");
    let e = with_manifest(&renamed).unwrap_err().to_string();
    assert!(
        e.contains("spec.metrics[1].pods.metric.name: capsim has no pod metric `http_requests_total`"),
        "{e}"
    );
    let e = with_manifest(&text.replace("autoscaling/v2", "autoscaling/v3"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("apiVersion: `autoscaling/v3` is not supported"), "{e}");
    // v1 has neither metrics nor behavior: the API server refuses them.
    let e = with_manifest(&text.replace("autoscaling/v2", "autoscaling/v1"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("spec.metrics: autoscaling/v1 has no `metrics`"), "{e}");
    assert!(e.contains("spec.behavior: autoscaling/v1 has no `behavior`"), "{e}");
}

/// An autoscaling/v1 HPA is what the API server converts it to: one CPU
/// utilisation metric at `targetCPUUtilizationPercentage`, 80% when left
/// out. Its field under v2 is named as v1's.
#[test]
fn an_autoscaling_v1_manifest_is_its_v2_conversion() {
    use capsim::model::autoscaler::{MetricSpec, ResourceName, Target};
    let v1 = "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: { name: web }\nspec:\n  \
              scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }\n  minReplicas: 2\n  \
              maxReplicas: 10\n  targetCPUUtilizationPercentage: 60\n";
    let metrics = |manifest: &str| {
        with_manifest(manifest).unwrap().spec.pools[0]
            .autoscaler
            .clone()
            .unwrap()
    };
    let config = metrics(v1);
    assert_eq!((config.spec.min_replicas, config.spec.max_replicas), (2, 10));
    let cpu = |u| MetricSpec::Resource {
        name: ResourceName::Cpu,
        target: Target::Utilization(u),
    };
    assert_eq!(config.metrics, [cpu(60)]);
    assert_eq!(
        metrics(&v1.replace("  targetCPUUtilizationPercentage: 60\n", "")).metrics,
        [cpu(80)]
    );
    let e = with_manifest(&v1.replace("autoscaling/v1\n", "autoscaling/v2\n"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("hpa.yaml:8:35: spec.targetCPUUtilizationPercentage: this is autoscaling/v1's field"),
        "{e}"
    );
    let e = with_manifest(&v1.replace(": 60", ": 0")).unwrap_err().to_string();
    assert!(
        e.contains("spec.targetCPUUtilizationPercentage: must be ≥ 1, got 0"),
        "{e}"
    );
}

#[test]
fn manifests_are_checked_as_the_api_server_checks_them() {
    let text = std::fs::read_to_string("scenarios/k8s/checkout-hpa.yaml").unwrap();
    let problems = |manifest: String| with_manifest(&manifest).unwrap_err().to_string();
    // Kubernetes refuses these; capsim read them (a negative window exported as 0).
    let e = problems(
        text.replace("stabilizationWindowSeconds: 30", "stabilizationWindowSeconds: -30")
            .replace("stabilizationWindowSeconds: 600", "stabilizationWindowSeconds: 3601")
            .replace("periodSeconds: 30", "periodSeconds: 1801")
            .replace("minReplicas: 3", "minReplicas: 0")
            .replace("averageUtilization: 65", "averageUtilization: 0")
            .replace("value: 2\n", "value: 0\n"),
    );
    for expected in [
        "hpa.yaml:17:16: spec.minReplicas: must be ≥ 1, got 0",
        "hpa.yaml:25:29: spec.metrics[0].resource.target.averageUtilization: must be ≥ 1, got 0",
        "hpa.yaml:35:35: spec.behavior.scaleUp.stabilizationWindowSeconds: must be between 0 and 3600, got -30",
        "hpa.yaml:39:24: spec.behavior.scaleUp.policies[0].periodSeconds: must be between 1 and 1800, got 1801",
        "hpa.yaml:41:35: spec.behavior.scaleDown.stabilizationWindowSeconds: must be between 0 and 3600, got 3601",
        "hpa.yaml:45:16: spec.behavior.scaleDown.policies[0].value: must be ≥ 1, got 0",
    ] {
        assert!(e.contains(expected), "{expected}\n{e}");
    }
    assert!(!e.contains("s.yaml"), "located in the manifest, not the scenario: {e}");
    // The API's integers are written as numbers: a quoted one is a string.
    let e = problems(text.replace("averageUtilization: 65", "averageUtilization: \"65\""));
    assert!(
        e.contains(
            "hpa.yaml:25:29: spec.metrics[0].resource.target.averageUtilization: expected a number, found the string `65`"
        ),
        "{e}"
    );
    let e = problems(text.replace("maxReplicas: 24", "maxReplicas: 24.5"));
    assert!(
        e.contains("hpa.yaml:18:16: spec.maxReplicas: expected a whole number"),
        "{e}"
    );
    let e = problems(text.replace("maxReplicas: 24", "maxReplicas: 3000000000"));
    assert!(e.contains("spec.maxReplicas: 3000000000 is out of range"), "{e}");
    let e = problems(text.replace("minReplicas: 3", "minReplicas: 30"));
    assert!(
        e.contains("hpa.yaml:18:16: spec.maxReplicas: must be ≥ minReplicas (30), got 24"),
        "{e}"
    );
}

#[test]
fn time_to_capacity_is_broken_down() {
    let yaml = scenario(
        "{ constant: 200 }",
        "{ resource: { name: cpu, target: { average_utilization: 50 } } }",
        "        behavior: {}\n        metrics_delay: 10s",
        600,
    );
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    assert!(!r.capacity.is_empty());
    for c in &r.capacity {
        // Scrapes halfway between syncs; a 10 s delay pushes visibility past one sync.
        assert_eq!((c.averaging_s, c.pipeline_delay_s), (7.5, 10.0));
        assert_eq!(c.sync_wait_s, 12.5, "{c:?}");
        assert_eq!((c.boot_s, c.readiness_s), (30.0, 5.0));
        assert_eq!(c.total_s(), 65.0);
        assert_eq!((c.ready_at - c.decided_at).as_secs_f64(), 35.0);
    }
    let stats = r.summary.pools[0]
        .scaling
        .as_ref()
        .unwrap()
        .time_to_capacity
        .as_ref()
        .unwrap();
    assert_eq!((stats.instances, stats.mean_s), (r.capacity.len(), 65.0));
}

/// The scaling guides' Deployment (requests 250m CPU, 256Mi memory) with
/// their HPA (CPU 70%, memory 80%), at a light load.
fn memory_scenario(memory_model: &str) -> String {
    format!(
        r#"
name: guide-memory
duration: 10m
traffic:
  rate: {{ constant: 20 }}
  classes: [ {{ name: api, cpu: {{ exponential: {{ mean: 10ms }} }} }} ]
  target: lb
load_balancers:
  lb: {{ pool: api }}
instance_types:
  pod: {{ vcpu: 1, memory_gib: 1, hourly_usd: 0.04 }}
pools:
  api:
    instance_type: pod
    count: 3
    requests: {{ cpu: 250m, memory: 256Mi }}
{memory_model}
    autoscaler:
      hpa:
        min_replicas: 3
        max_replicas: 10
        metrics:
          - {{ resource: {{ name: cpu, target: {{ average_utilization: 70 }} }} }}
          - {{ resource: {{ name: memory, target: {{ average_utilization: 80 }} }} }}
"#
    )
}

#[test]
fn a_memory_metric_decided_by_the_default_memory_model_is_warned_about() {
    use capsim::scenario::{self, Format, NoFiles};
    let yaml = memory_scenario("");
    let s = scenario::load(&yaml, "guide.yaml", Format::Yaml, &NoFiles).unwrap();
    let warnings: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].contains("pools.api.memory_model") && warnings[0].contains("default model (baseline 256Mi"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].contains("125%") && warnings[1].contains("drives the HPA to max_replicas"),
        "{}",
        warnings[1]
    );
    // What the warning says happens: memory alone takes the pool to its
    // maximum while CPU sits far below its target.
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    assert_eq!(ready_at_end(&r), 10);
    let last = r.rows.last().unwrap();
    assert!(last.pools[0].cpu_utilization < 0.2, "{}", last.pools[0].cpu_utilization);

    // A measured model below the target: no warning, and the HPA stays at
    // its minimum (20 req/s × 10 ms is 0.2 cores over 3 pods of 250m).
    let measured = memory_scenario("    memory_model: { baseline: 120Mi, per_in_flight: 2Mi }");
    let s = scenario::load(&measured, "guide.yaml", Format::Yaml, &NoFiles).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(ready_at_end(&simulate(&common::spec(&measured), 1, 0, &mut |_| {})), 3);
}

#[test]
fn the_legacy_scale_up_cap_is_configuration() {
    // horizontal.go, convertDesiredReplicasWithRules / calculateScaleUpLimit:
    // without `behavior` a sync may scale up to at most
    // int32(max(scaleUpLimitFactor × current, scaleUpLimitMinimum)), 2 and 4
    // in production. At a 10% CPU target the saturated pods propose 20 from 2.
    let cpu = "{ resource: { name: cpu, target: { average_utilization: 10 } } }";
    let first_desired = |extra: &str| {
        let yaml = scenario("{ constant: 2000 }", cpu, extra, 120);
        let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
        let first = r.decisions.iter().find(|d| d.decision.rescale()).unwrap();
        assert_eq!(first.decision.current, 2, "{:?}", first.decision);
        (first.decision.desired, first.decision.reason)
    };
    use capsim::model::autoscaler::hpa::Reason::ScaleUpLimit;
    // The defaults: max(2 × 2, 4) = 4.
    assert_eq!(first_desired(""), (4, ScaleUpLimit));
    // Kubernetes' own tests run with a factor of 8: max(8 × 2, 4) = 16.
    assert_eq!(first_desired("        scale_up_limit_factor: 8"), (16, ScaleUpLimit));
    // The floor: max(2 × 2, 7) = 7.
    assert_eq!(first_desired("        scale_up_limit_minimum: 7"), (7, ScaleUpLimit));
    // With a behavior the cap is the scale-up policies' (4 pods or 100% per 15 s: 6), factor or not.
    assert_eq!(
        first_desired("        behavior: {}\n        scale_up_limit_factor: 8"),
        (6, ScaleUpLimit)
    );

    let bad = |extra: &str| {
        capsim::scenario::load(
            &scenario("{ constant: 1 }", cpu, extra, 60),
            "hpa.yaml",
            capsim::scenario::Format::Yaml,
            &capsim::scenario::NoFiles,
        )
        .unwrap_err()
        .to_string()
    };
    let e = bad("        scale_up_limit_factor: 0.5");
    assert!(
        e.contains(
            "pools.api.autoscaler.hpa.scale_up_limit_factor: must be a number from 1 to 2147483647 (Kubernetes uses 2), got 0.5"
        ),
        "{e}"
    );
    let e = bad("        scale_up_limit_minimum: .nan");
    assert!(
        e.contains("pools.api.autoscaler.hpa.scale_up_limit_minimum: `.nan` is not a finite number: give a number"),
        "{e}"
    );
}

/// Loads `yaml` with `hpa.yaml` served from memory, or panics with its problems.
fn load_with(yaml: &str, manifest: &str) -> capsim::scenario::Scenario {
    capsim::scenario::load(
        yaml,
        "s.yaml",
        capsim::scenario::Format::Yaml,
        &Manifest(manifest.to_string()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn hpa_of(s: &capsim::scenario::Scenario) -> capsim::model::autoscaler::HpaConfig {
    s.spec.pools.iter().find_map(|p| p.autoscaler.clone()).unwrap()
}

/// The exported YAML as a document, to check its fields as the API server reads them.
fn parsed(yaml: &str) -> serde_json::Value {
    capsim::scenario::document(yaml, "exported.yaml", capsim::scenario::Format::Yaml).unwrap()
}

#[test]
fn queue_depth_metrics_round_trip_through_a_manifest() {
    use capsim::model::autoscaler::{ExternalMetricName, MetricSpec, Target};
    // An External metric selects its series by label, as external metrics
    // adapters and KEDA do (`spec.metrics[].external.metric.selector`,
    // autoscaling/v2 MetricIdentifier); capsim names the queue by `queue`.
    let yaml = r#"
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
        min_replicas: 2
        max_replicas: 40
        metrics: [ { external: { name: queue_depth, queue: jobs, target: { average_value: 5 } } } ]
queues:
  jobs: { consumers: workers, job: { constant: 10ms } }
  mail: { consumers: mailers, job: { constant: 10ms } }
"#;
    let config = hpa_of(&load_with(yaml, ""));
    assert_eq!(
        config.metrics,
        [MetricSpec::External {
            name: ExternalMetricName::QueueDepth { queue: 0 },
            target: Target::AverageValue(5000)
        }]
    );
    let exported = capsim::report::manifest::hpa_manifest("workers", &config);
    let doc = parsed(&exported);
    let metric = &doc["spec"]["metrics"][0]["external"]["metric"];
    assert_eq!(metric["name"], "queue_depth", "{exported}");
    assert_eq!(metric["selector"]["matchLabels"]["queue"], "jobs", "{exported}");
    let from_file = yaml.replace(
        "        min_replicas: 2\n        max_replicas: 40\n        metrics: [ { external: { name: queue_depth, queue: jobs, target: { average_value: 5 } } } ]\n",
        "        manifest: hpa.yaml\n",
    );
    assert!(from_file.contains("manifest: hpa.yaml"));
    assert_eq!(hpa_of(&load_with(&from_file, &exported)), config);
    // A queue the scenario lacks is named where the manifest names it.
    let e = capsim::scenario::load(
        &from_file,
        "s.yaml",
        capsim::scenario::Format::Yaml,
        &Manifest(exported.replace("queue: jobs", "queue: jbos")),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(
            "spec.metrics[0].external.metric.selector.matchLabels.queue: unknown queue `jbos`; known: jobs, mail"
        ),
        "{e}"
    );
    let e = capsim::scenario::load(
        &from_file,
        "s.yaml",
        capsim::scenario::Format::Yaml,
        &Manifest(exported.replace(
            "        selector:\n          matchLabels:\n            queue: jobs\n",
            "",
        )),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("a `queue_depth` metric names its queue"), "{e}");
    // Another label would select another series than the one simulated.
    let e = capsim::scenario::load(
        &from_file,
        "s.yaml",
        capsim::scenario::Format::Yaml,
        &Manifest(exported.replace(
            "            queue: jobs\n",
            "            queue: jobs\n            env: prod\n",
        )),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("selector.matchLabels.env: capsim's queue_depth series carries only the `queue` label"),
        "{e}"
    );
}

#[test]
fn exports_keep_the_manifests_metadata_and_scale_target() {
    let text = std::fs::read_to_string("scenarios/k8s/checkout-hpa.yaml")
        .unwrap()
        .replace("    kind: Deployment\n    name: checkout\n", "    kind: StatefulSet\n    name: checkout-v2\n")
        .replace(
            "  labels:\n    app: checkout\n",
            "  labels:\n    app: checkout\n    tier: \"1\"\n  annotations:\n    team/owner: \"payments: checkout\"\n    kubectl.kubernetes.io/last-applied-configuration: '{}'\n",
        );
    let config = with_manifest(&text).unwrap().spec.pools[0].autoscaler.clone().unwrap();
    let exported = capsim::report::manifest::hpa_manifest("api", &config);
    // What `kubectl apply` needs (autoscaling/v2 HorizontalPodAutoscaler):
    // the object's names and the workload it scales, as the manifest said.
    let doc = parsed(&exported);
    assert_eq!(doc["apiVersion"], "autoscaling/v2");
    assert_eq!(doc["kind"], "HorizontalPodAutoscaler");
    assert_eq!(doc["metadata"]["name"], "checkout");
    assert_eq!(doc["metadata"]["namespace"], "shop");
    assert_eq!(
        doc["metadata"]["labels"],
        serde_json::json!({"app": "checkout", "tier": "1"})
    );
    assert_eq!(
        doc["metadata"]["annotations"],
        serde_json::json!({"team/owner": "payments: checkout"}),
        "the last-applied annotation describes the old object"
    );
    assert_eq!(
        doc["spec"]["scaleTargetRef"],
        serde_json::json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "checkout-v2"})
    );
    assert_eq!(
        (doc["spec"]["minReplicas"].as_i64(), doc["spec"]["maxReplicas"].as_i64()),
        (Some(3), Some(24))
    );
    let metrics = doc["spec"]["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 2);
    assert_eq!(metrics[0]["type"], "Resource");
    assert_eq!(
        metrics[0]["resource"],
        serde_json::json!({"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 65}})
    );
    assert_eq!(metrics[1]["type"], "Pods");
    assert_eq!(
        metrics[1]["pods"]["target"],
        serde_json::json!({"type": "AverageValue", "averageValue": "40"})
    );
    assert_eq!(with_manifest(&exported).unwrap().spec.pools[0].autoscaler, Some(config));

    // Inline, the scenario names them; by default after the pool.
    let plain = hpa_of(&load_with(
        &scenario(
            "{ constant: 50 }",
            "{ resource: { name: cpu, target: { average_utilization: 50 } } }",
            "",
            60,
        ),
        "",
    ));
    let doc = parsed(&capsim::report::manifest::hpa_manifest("api", &plain));
    assert_eq!(doc["metadata"], serde_json::json!({"name": "api"}));
    assert_eq!(
        doc["spec"]["scaleTargetRef"],
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"})
    );
    let named = hpa_of(&load_with(
        &scenario(
            "{ constant: 50 }",
            "{ resource: { name: cpu, target: { average_utilization: 50 } } }",
            "        metadata: { name: api-hpa, namespace: prod, labels: { app: api } }\n        scale_target_ref: { name: api-server }",
            60,
        ),
        "",
    ));
    let doc = parsed(&capsim::report::manifest::hpa_manifest("api", &named));
    assert_eq!(
        doc["metadata"],
        serde_json::json!({"name": "api-hpa", "namespace": "prod", "labels": {"app": "api"}})
    );
    assert_eq!(
        doc["spec"]["scaleTargetRef"],
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "api-server"})
    );
    let e = capsim::scenario::load(
        &scenario(
            "{ constant: 50 }",
            "{ resource: { name: cpu, target: { average_utilization: 50 } } }",
            "        metadata: { name: Api_HPA }",
            60,
        ),
        "s.yaml",
        capsim::scenario::Format::Yaml,
        &Manifest(String::new()),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("pools.api.autoscaler.hpa.metadata.name: `Api_HPA` is not a Kubernetes name"),
        "{e}"
    );
}

#[test]
fn fields_beside_a_manifest_override_it_and_a_manifest_may_be_inline() {
    let text = std::fs::read_to_string("scenarios/k8s/checkout-hpa.yaml").unwrap();
    let from_file = with_manifest(&text).unwrap().spec.pools[0].autoscaler.clone().unwrap();
    let yaml = scenario("{ constant: 50 }", "", "", 60).replace(
        "        min_replicas: 2\n        max_replicas: 40\n        metrics: [  ]\n",
        "        manifest: hpa.yaml\n        min_replicas: 5\n        scale_target_ref: { name: checkout-canary }\n",
    );
    let overridden = hpa_of(&load_with(&yaml, &text));
    assert_eq!(overridden.spec.min_replicas, 5);
    assert_eq!(overridden.object.target.name, "checkout-canary");
    assert_eq!(overridden.object.target.kind, "Deployment");
    let mut expected = from_file.clone();
    expected.spec.min_replicas = 5;
    expected.object.target.name = "checkout-canary".into();
    assert_eq!(overridden, expected);

    // The manifest pasted as a mapping under `manifest:` reads the same.
    let indented: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("          {l}\n"))
        .collect();
    let inline = scenario("{ constant: 50 }", "", "", 60).replace(
        "        min_replicas: 2\n        max_replicas: 40\n        metrics: [  ]\n",
        &format!("        manifest:\n{indented}"),
    );
    assert_eq!(hpa_of(&load_with(&inline, "")), from_file);
    // Its problems are located in the scenario, by the manifest's own path.
    let e = capsim::scenario::load(
        &inline.replace("averageUtilization: 65", "averageUtilization: 0"),
        "s.yaml",
        capsim::scenario::Format::Yaml,
        &Manifest(String::new()),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(
            "pools.api.autoscaler.hpa.manifest.spec.metrics[0].resource.target.averageUtilization: must be ≥ 1, got 0"
        ),
        "{e}"
    );
    assert!(e.contains("s.yaml:"), "{e}");
}

#[test]
fn imported_inline_form_reads_as_the_manifest_does() {
    let text = std::fs::read_to_string("scenarios/k8s/checkout-hpa.yaml").unwrap();
    let from_file = with_manifest(&text).unwrap().spec.pools[0].autoscaler.clone().unwrap();
    let inline = capsim::scenario::import_hpa(&text, "k8s/checkout-hpa.yaml").unwrap();
    assert!(
        inline.starts_with("# The HPA of k8s/checkout-hpa.yaml in capsim's spelling"),
        "{inline}"
    );
    let pasted: String = inline
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("    {l}\n"))
        .collect();
    let yaml = scenario("{ constant: 50 }", "", "", 60).replace(
        "    autoscaler:\n      hpa:\n        min_replicas: 2\n        max_replicas: 40\n        metrics: [  ]\n",
        &pasted,
    );
    assert!(yaml.contains("      - pods: { name: requests_per_second"), "{yaml}");
    assert_eq!(hpa_of(&load_with(&yaml, "")), from_file);
    let e = capsim::scenario::import_hpa(&text.replace("maxReplicas: 24", "maxReplicas: 0"), "hpa.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("hpa.yaml:18:16: spec.maxReplicas: must be between 1 and"),
        "{e}"
    );
}

/// An exported manifest says which legacy scale-up cap the simulation
/// assumed where it applies (no `behavior`): a manifest has no field for it.
#[test]
fn exports_state_the_legacy_scale_up_cap_they_assumed() {
    let cpu = "{ resource: { name: cpu, target: { average_utilization: 50 } } }";
    let export = |extra: &str| {
        let spec = common::spec(&scenario("{ constant: 10 }", cpu, extra, 60));
        let hpa = spec.pools[0].autoscaler.clone().unwrap();
        capsim::report::manifest::hpa_manifest(&spec.pools[0].name, &hpa)
    };
    let note = "# Without `behavior`, a sync scales up to at most max(8 × current, 4) replicas";
    assert!(export("        scale_up_limit_factor: 8").contains(note));
    assert!(!export("        scale_up_limit_factor: 8\n        behavior: {}").contains("Without `behavior`"));
}

/// Ten one-core pods behind round robin, each request exactly 20 ms of CPU
/// arriving evenly, under an HPA on CPU at a 40% target whose tolerance is
/// left to the controller's default: the pods' CPU is `utilization` of
/// their request, exactly, at every scrape.
fn steady_at(utilization: f64) -> capsim::model::RunResult {
    // utilization × 10 cores / 20 ms.
    let rate = utilization * 10.0 / 0.020;
    let yaml = format!(
        r#"
name: tolerance
duration: 600s
interval: 15s
traffic:
  rate: {{ constant: {rate} }}
  arrivals: deterministic
  classes: [ {{ name: api, cpu: {{ constant: 20ms }} }} ]
  target: lb
load_balancers:
  lb: {{ policy: round_robin, pool: api }}
instance_types:
  pod: {{ vcpu: 1, memory_gib: 2, hourly_usd: 0.04 }}
pools:
  api:
    instance_type: pod
    count: 10
    workers: 16
    queue_capacity: 1000
    timeout: 60s
    boot_time: {{ constant: 30s }}
    readiness_delay: 5s
    autoscaler:
      hpa:
        min_replicas: 10
        max_replicas: 40
        metrics: [ {{ resource: {{ name: cpu, target: {{ average_utilization: 40 }} }} }} ]
"#
    );
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    assert!(r.summary.requests.conserved());
    r
}

#[test]
fn the_default_tolerance_is_ten_percent_either_way() {
    // kube-controller-manager's `--horizontal-pod-autoscaler-tolerance`
    // defaults to 0.1 (shared/spec/autoscalers.md §1.3): no change while
    // 0.9 ≤ utilization / target ≤ 1.1. The scenarios set no tolerance.
    // The controller reads whole percents (replica_calculator.go truncates
    // `usage × 100 / requests`): at 46.4% against 40% it reads 46, a ratio of
    // 1.15, and scales 10 → ceil(11.5) = 12 (then 38% on 12: ratio 0.95,
    // inside); at 42.4% it reads 42, a ratio of 1.05, and never moves. A
    // default of 0.2 keeps the first at 10; one of 0.04 scales the second.
    let above = steady_at(0.464);
    let first = above
        .decisions
        .iter()
        .find(|d| d.decision.rescale())
        .expect("1.15 scales");
    assert_eq!(first.decision.desired, 12, "{:?}", first);
    assert_eq!(ready_at_end(&above), 12);
    let inside = steady_at(0.424);
    // Once the first scrapes were in (the syncs at 0 s and 15 s
    // had no metrics yet), no evaluation proposed anything but the current
    // 10: a run records a decision only when it rescales, or proposes a
    // change, or cannot read its metric.
    assert!(
        inside
            .decisions
            .iter()
            .all(|d| d.time.as_secs_f64() < 30.0 && !d.decision.rescale()),
        "{:?}",
        inside.decisions
    );
    // ...while the pods did run at 42.4% throughout.
    let cpu = inside.rows.iter().skip(4).map(|row| row.pools[0].cpu_utilization);
    assert!(
        cpu.clone().all(|u| (u - 0.424).abs() < 0.003),
        "{:?}",
        cpu.collect::<Vec<_>>()
    );
    assert_eq!(ready_at_end(&inside), 10);
}
