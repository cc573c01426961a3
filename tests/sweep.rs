//! Sweeps: expansion, validation of every point, and byte-identical results
//! whatever the thread count.

use std::process::Command;

fn capsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
}

const SWEEP: &str = r#"
base: base.yaml
replications: 2
parameters:
  - path: pools.web.count
    values: [2, 3]
  - path: traffic.rate.constant
    range: { start: 100, stop: 300, step: 100 }
objective:
  minimize: cost_total_usd
  constraints: [ { metric: latency_p99_ms, max: 200 } ]
"#;

const BASE: &str = r#"
name: base
duration: 2m
traffic:
  rate: { constant: 100 }
  classes: [ { name: a, cpu: { exponential: { mean: 20ms } } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web: { instance_type: c6i.large, count: 2, workers: 8 }
"#;

fn setup(sweep: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("base.yaml"), BASE).unwrap();
    std::fs::write(dir.path().join("sweep.yaml"), sweep).unwrap();
    dir
}

fn run(dir: &std::path::Path, jobs: &str, out: &str) -> std::process::Output {
    capsim()
        .arg("sweep")
        .arg(dir.join("sweep.yaml"))
        .args(["--jobs", jobs, "--out"])
        .arg(dir.join(out))
        .output()
        .unwrap()
}

#[test]
fn one_thread_and_many_give_the_same_bytes() {
    let dir = setup(SWEEP);
    let a = run(dir.path(), "1", "one");
    let b = run(dir.path(), "4", "many");
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success());
    for file in [
        "sweep.csv",
        "sweep.json",
        "runs.json",
        "sweep-p99.svg",
        "heatmap-p99.svg",
        "pareto.svg",
    ] {
        let x = std::fs::read(dir.path().join("one").join(file)).unwrap();
        let y = std::fs::read(dir.path().join("many").join(file)).unwrap();
        assert_eq!(x, y, "{file} differs between 1 and 4 threads");
    }
    let csv = std::fs::read_to_string(dir.path().join("one/sweep.csv")).unwrap();
    // 2 × 3 points, the first parameter slowest.
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 6);
    // Numbers unquoted; a field is quoted only where it must be (RFC 4180).
    assert!(rows[0].starts_with("0,count=2 constant=100,2,100,"), "{}", rows[0]);
    assert!(rows[3].starts_with("3,count=3 constant=100,3,100,"), "{}", rows[3]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("one/sweep.json")).unwrap()).unwrap();
    // Cheapest meeting the constraint: 2 instances.
    let rec = &json["recommendation"];
    assert_eq!(rec["settings"]["pools.web.count"], 2, "{rec}");
    let runs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("one/runs.json")).unwrap()).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 12);
    for chart in ["sweep-p99", "sweep-cost", "heatmap-p99", "heatmap-cost", "pareto"] {
        let png = std::fs::read(dir.path().join("one").join(format!("{chart}.png"))).unwrap();
        assert_eq!(&png[..4], b"\x89PNG", "{chart}");
    }
    let heatmap = std::fs::read_to_string(dir.path().join("one/heatmap-p99.svg")).unwrap();
    assert!(
        heatmap.contains("p99 latency (ms) by count and constant"),
        "heatmap title"
    );
    // Each line chart says what it shows: title, axes and the series named
    // in its legend (the Pareto chart's points and recommendation too).
    // plotters writes each text on a line of its own.
    let svg = |chart: &str| std::fs::read_to_string(dir.path().join("one").join(format!("{chart}.svg"))).unwrap();
    let shows = |svg: &str, text: &str| svg.lines().any(|l| l == text);
    let against = svg("sweep-p99");
    for text in [
        "p99 latency (ms) against count",
        "count",
        "p99 latency (ms)",
        "mean",
        "95% CI upper",
    ] {
        assert!(shows(&against, text), "sweep-p99.svg lacks {text}");
    }
    let pareto = svg("pareto");
    for text in [
        "Cost against p99 latency (Pareto front)",
        "cost (US dollars)",
        "p99 latency (ms)",
        "Pareto front",
        "points",
        "recommended",
    ] {
        assert!(shows(&pareto, text), "pareto.svg lacks {text}");
    }
    // Common random numbers: every point uses the scenario's seed.
    assert!(runs.as_array().unwrap().iter().all(|r| r["seed"] == 42));
}

#[test]
fn a_bad_point_is_named_and_nothing_runs() {
    let dir = setup(&SWEEP.replace("values: [2, 3]", "values: [2, -1]"));
    let out = run(dir.path(), "1", "bad");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("point 3 (count=-1 constant=100)"), "{stderr}");
    assert!(stderr.contains("pools.web.count"), "{stderr}");
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn paths_and_run_counts_are_checked() {
    let dir = setup(&SWEEP.replace("pools.web.count", "pools.api.count"));
    let out = run(dir.path(), "1", "x");
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("parameter `pools.api.count`: no field `api` in the base scenario")
    );
    let dir = setup(&SWEEP.replace("replications: 2", "replications: 20000"));
    let out = run(dir.path(), "1", "x");
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("6 points × 20000 replications = 120000 runs; at most 100000")
    );
}

#[test]
fn example_sweeps_expand_into_valid_scenarios() {
    use capsim::scenario::{self, Format, NoFiles};
    use capsim::sweep::grid::{RawSweep, expand};
    for entry in std::fs::read_dir("scenarios/sweeps").unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let raw: RawSweep = scenario::parse_file(&text, &name, Format::Yaml).unwrap();
        let base_path = path.parent().unwrap().join(&raw.base);
        let base_text = std::fs::read_to_string(&base_path).unwrap();
        let base = scenario::document(&base_text, "base", Format::Yaml).unwrap();
        let points = expand(&base, &raw).unwrap();
        assert!(points.len() > 1);
        for p in &points {
            scenario::load_document(&p.document, &p.name, &NoFiles).unwrap();
        }
    }
}

#[test]
fn three_shards_merge_into_the_same_bytes_as_one_sweep() {
    let dir = setup(SWEEP);
    let whole = run(dir.path(), "2", "whole");
    assert!(whole.status.success());
    for i in 0..3 {
        let out = capsim()
            .arg("sweep")
            .arg(dir.path().join("sweep.yaml"))
            .args(["--shard", &format!("{i}/3"), "--out"])
            .arg(dir.path().join("shards").join(format!("s{i}")))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // Merging is refused while a shard is missing, and names it.
    let partial = capsim()
        .arg("merge")
        .arg(dir.path().join("shards/s0"))
        .arg(dir.path().join("shards/s2"))
        .arg("--out")
        .arg(dir.path().join("partial"))
        .output()
        .unwrap();
    assert_eq!(partial.status.code(), Some(1));
    assert!(
        String::from_utf8(partial.stderr)
            .unwrap()
            .contains("missing shard(s) 1 of 3")
    );
    let merged = capsim()
        .arg("merge")
        .arg(dir.path().join("shards"))
        .arg("--out")
        .arg(dir.path().join("merged"))
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    for file in ["sweep.csv", "sweep.json", "runs.json", "pareto.svg", "heatmap-p99.svg"] {
        let x = std::fs::read(dir.path().join("whole").join(file)).unwrap();
        let y = std::fs::read(dir.path().join("merged").join(file)).unwrap();
        assert_eq!(x, y, "{file} differs between the whole sweep and the merged shards");
    }
}

#[test]
fn an_interrupted_sweep_resumes_with_only_the_missing_runs() {
    let dir = setup(SWEEP);
    let first = run(dir.path(), "2", "out");
    assert!(first.status.success());
    assert!(
        String::from_utf8(first.stdout)
            .unwrap()
            .contains("(12 runs computed, 0 reused)")
    );
    let before = std::fs::read(dir.path().join("out/sweep.csv")).unwrap();
    // As if the sweep had been killed before these units were saved.
    for unit in ["1-0.json", "4-1.json"] {
        std::fs::remove_file(dir.path().join("out/.units").join(unit)).unwrap();
    }
    std::fs::remove_file(dir.path().join("out/sweep.csv")).unwrap();
    let resumed = run(dir.path(), "2", "out");
    assert!(resumed.status.success());
    assert!(
        String::from_utf8(resumed.stdout)
            .unwrap()
            .contains("(2 runs computed, 10 reused)")
    );
    assert_eq!(std::fs::read(dir.path().join("out/sweep.csv")).unwrap(), before);
    // A changed sweep does not reuse the old units.
    std::fs::write(
        dir.path().join("sweep.yaml"),
        SWEEP.replace("replications: 2", "replications: 1"),
    )
    .unwrap();
    // A changed sweep does not replace the old result unless asked, and
    // then reuses none of its units.
    let refused = run(dir.path(), "2", "out");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("already holds a result; pass --force to replace it"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(std::fs::read(dir.path().join("out/sweep.csv")).unwrap(), before);
    let changed = capsim()
        .arg("sweep")
        .arg(dir.path().join("sweep.yaml"))
        .args(["--jobs", "2", "--force", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8(changed.stdout)
            .unwrap()
            .contains("(6 runs computed, 0 reused)")
    );
}

#[test]
fn the_recommended_hpa_is_written_as_a_manifest() {
    let base = r#"
name: hpa
duration: 10m
traffic:
  rate: { ramp: { from: 50, to: 250, start: 0s, end: 10m } }
  classes: [ { name: a, cpu: { exponential: { mean: 20ms } } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web:
    instance_type: c6i.large
    count: 2
    workers: 8
    boot_time: { constant: 20s }
    requests: { cpu: 1000m }
    autoscaler:
      hpa:
        min_replicas: 2
        max_replicas: 20
        metrics: [ { resource: { name: cpu, target: { average_utilization: 50 } } } ]
"#;
    let sweep = r#"
base: base.yaml
parameters:
  - path: pools.web.autoscaler.hpa.metrics[0].resource.target.average_utilization
    values: [30, 60, 90]
objective:
  minimize: cost_total_usd
  constraints: [ { metric: latency_p99_ms, max: 100000 } ]
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("base.yaml"), base).unwrap();
    std::fs::write(dir.path().join("sweep.yaml"), sweep).unwrap();
    let out = run(dir.path(), "2", "out");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Every point meets the loose constraint, so the cheapest is the highest target.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/sweep.json")).unwrap()).unwrap();
    assert_eq!(json["recommendation"]["point"], 2);
    let manifest = std::fs::read_to_string(dir.path().join("out/recommended-hpa-web.yaml")).unwrap();
    assert!(manifest.contains("averageUtilization: 90"), "{manifest}");
    assert!(manifest.contains("kind: HorizontalPodAutoscaler"));
}

#[test]
fn pooled_latency_merges_the_histograms_of_every_replication() {
    let sweep = "base: base.yaml\nreplications: 3\nparameters:\n  - path: pools.web.count\n    values: [2]\n";
    let dir = setup(sweep);
    let out = run(dir.path(), "2", "out");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run_out = capsim()
        .arg("run")
        .arg(dir.path().join("base.yaml"))
        .args(["--replications", "3", "--quiet", "--out"])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert!(run_out.status.success());
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(p)).unwrap()).unwrap()
    };
    let sweep = read("out/sweep.json");
    let summary = read("run/summary.json");
    let pooled = &summary["replications"]["pooled_latency"];
    let point = &sweep["points"][0]["metrics"];
    assert_eq!(point["pooled_latency_p99_ms"]["mean"], pooled["p99_ms"]);
    assert_eq!(point["pooled_latency_p999_ms"]["mean"], pooled["p999_ms"]);
    // Every response of the three replications: about three times replication 0's.
    let one = summary["latency"]["count"].as_f64().unwrap();
    let all = pooled["count"].as_f64().unwrap();
    assert!(
        (all / one - 3.0).abs() < 0.1,
        "{all} responses pooled, {one} in replication 0"
    );
}

/// The cells of one CSV line, quotes removed.
fn cells(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

#[test]
fn points_that_report_different_metrics_keep_their_columns() {
    // Only the second variant has an SLO, so only it reports `slo_minutes_lost`.
    let sweep = r#"
base: base.yaml
replications: 2
variants:
  - name: plain
    set: { pools.web.count: 2 }
  - name: with-slo
    set: { slo: { latency: { percentile: 99, threshold: 100ms } } }
"#;
    let dir = setup(sweep);
    let whole = run(dir.path(), "2", "whole");
    assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));
    let csv = std::fs::read_to_string(dir.path().join("whole/sweep.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv.lines().map(cells).collect();
    assert_eq!(rows.len(), 3);
    for row in &rows[1..] {
        assert_eq!(row.len(), rows[0].len(), "{csv}");
    }
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let slo = column("slo_minutes_lost_mean");
    assert_eq!(rows[1][slo], "", "{csv}");
    assert!(rows[2][slo].parse::<f64>().is_ok(), "{csv}");
    // The same traffic on the same pool: every other metric agrees.
    for name in [
        "pools.web.cpu_utilization_mean",
        "latency_p99_ms_mean",
        "pooled_latency_p99_ms_mean",
    ] {
        let c = column(name);
        assert_eq!(rows[1][c], rows[2][c], "{name}: {csv}");
        assert!(rows[1][c].parse::<f64>().is_ok(), "{name}: {csv}");
    }
    // Sharded and merged, the same bytes.
    for i in 0..2 {
        let out = capsim()
            .arg("sweep")
            .arg(dir.path().join("sweep.yaml"))
            .args(["--quiet", "--shard", &format!("{i}/2"), "--out"])
            .arg(dir.path().join("shards").join(format!("s{i}")))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let merged = capsim()
        .arg("merge")
        .arg(dir.path().join("shards"))
        .arg("--out")
        .arg(dir.path().join("merged"))
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    for file in ["sweep.csv", "sweep.json", "runs.json"] {
        let x = std::fs::read(dir.path().join("whole").join(file)).unwrap();
        let y = std::fs::read(dir.path().join("merged").join(file)).unwrap();
        assert_eq!(x, y, "{file}");
    }
}

#[test]
fn a_sweep_sets_a_manifests_fields_in_its_own_spelling() {
    let base = r#"
name: hpa
duration: 10m
traffic:
  rate: { ramp: { from: 50, to: 250, start: 0s, end: 10m } }
  classes: [ { name: a, cpu: { exponential: { mean: 20ms } } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web:
    instance_type: c6i.large
    count: 2
    workers: 8
    boot_time: { constant: 20s }
    requests: { cpu: 1000m }
    autoscaler:
      hpa:
        manifest: k8s/web-hpa.yaml
"#;
    let manifest = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web, namespace: prod }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web-server }
  minReplicas: 2
  maxReplicas: 20
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: { type: Utilization, averageUtilization: 50 }
"#;
    let sweep = r#"
base: base.yaml
parameters:
  - path: pools.web.autoscaler.hpa.manifest.spec.metrics[0].resource.target.averageUtilization
    values: [30, 90]
  - path: pools.web.autoscaler.hpa.manifest.spec.minReplicas
    values: [2, 3]
objective:
  minimize: cost_total_usd
  constraints: [ { metric: latency_p99_ms, max: 100000 } ]
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("k8s")).unwrap();
    std::fs::write(dir.path().join("k8s/web-hpa.yaml"), manifest).unwrap();
    std::fs::write(dir.path().join("base.yaml"), base).unwrap();
    std::fs::write(dir.path().join("sweep.yaml"), sweep).unwrap();
    let out = run(dir.path(), "2", "out");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/sweep.json")).unwrap()).unwrap();
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let names: Vec<&str> = points.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "averageUtilization=30 minReplicas=2",
            "averageUtilization=30 minReplicas=3",
            "averageUtilization=90 minReplicas=2",
            "averageUtilization=90 minReplicas=3"
        ]
    );
    // The targets change the runs: a higher target runs fewer, cheaper pods.
    let cost = |i: usize| points[i]["metrics"]["cost_total_usd"]["mean"].as_f64().unwrap();
    assert!(cost(2) < cost(0), "{} vs {}", cost(2), cost(0));
    // The cheapest is the highest target at the lower floor; its manifest
    // carries both swept values and keeps the manifest's names.
    assert_eq!(json["recommendation"]["point"], 2);
    let hpa = std::fs::read_to_string(dir.path().join("out/recommended-hpa-web.yaml")).unwrap();
    assert!(hpa.contains("averageUtilization: 90"), "{hpa}");
    assert!(hpa.contains("  minReplicas: 2\n"), "{hpa}");
    assert!(hpa.contains("  namespace: prod\n"), "{hpa}");
    assert!(hpa.contains("    name: web-server\n"), "{hpa}");

    // A bad path names where it went wrong and what is there.
    let bad = sweep.replace("manifest.spec.metrics[0]", "manifest.spec.metric[0]");
    std::fs::write(dir.path().join("sweep.yaml"), bad).unwrap();
    let out = run(dir.path(), "1", "bad");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "no field `metric` in manifest `k8s/web-hpa.yaml` at `spec`; it has maxReplicas, metrics, minReplicas, scaleTargetRef"
        ),
        "{err}"
    );
    // Once a point's manifest is read, later settings go on inside it.
    let bad = sweep.replace("spec.minReplicas", "spec.behavior.scaleUp");
    std::fs::write(dir.path().join("sweep.yaml"), bad).unwrap();
    let out = run(dir.path(), "1", "bad");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "no field `behavior` in the inline manifest `pools.web.autoscaler.hpa.manifest` at `spec`; it has"
        ),
        "{err}"
    );
}

/// A checkpoint is reused only for the same points: a file the base
/// scenario refers to (here its HPA manifest) edited between two runs makes
/// a new sweep, though neither the sweep nor the base file changed.
#[test]
fn a_resumed_sweep_notices_an_edited_manifest() {
    let base = r#"
name: hpa
duration: 2m
traffic:
  rate: { constant: 100 }
  classes: [ { name: a, cpu: { exponential: { mean: 20ms } } } ]
  target: lb
load_balancers:
  lb: { pool: web }
pools:
  web:
    instance_type: c6i.large
    count: 2
    autoscaler:
      hpa:
        manifest: hpa.yaml
"#;
    let manifest = r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: 2
  maxReplicas: 20
  metrics:
  - type: Resource
    resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } }
"#;
    let sweep = "base: base.yaml\nparameters:\n  - { path: traffic.rate.constant, values: [100, 200] }\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hpa.yaml"), manifest).unwrap();
    std::fs::write(dir.path().join("base.yaml"), base).unwrap();
    std::fs::write(dir.path().join("sweep.yaml"), sweep).unwrap();
    let first = run(dir.path(), "1", "out");
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let again = run(dir.path(), "1", "out");
    assert!(String::from_utf8_lossy(&again.stdout).contains("(0 runs computed, 2 reused)"));

    std::fs::write(
        dir.path().join("hpa.yaml"),
        manifest.replace("maxReplicas: 20", "maxReplicas: 3"),
    )
    .unwrap();
    let refused = run(dir.path(), "1", "out");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("already holds a result; pass --force to replace it"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let forced = capsim()
        .arg("sweep")
        .arg(dir.path().join("sweep.yaml"))
        .args(["--jobs", "1", "--force", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&forced.stdout).contains("(2 runs computed, 0 reused)"),
        "{}",
        String::from_utf8_lossy(&forced.stdout)
    );
}

/// A sweep prints its points' warnings, each once however many points share it.
#[test]
fn a_sweep_prints_each_warning_once() {
    let base = r#"
name: mem
duration: 1m
traffic:
  rate: { constant: 10 }
  classes: [ { name: a, cpu: { constant: 5ms } } ]
  target: lb
load_balancers:
  lb: { pool: web }
pools:
  web:
    instance_type: c6i.large
    count: 2
    autoscaler:
      hpa:
        max_replicas: 4
        metrics: [ { resource: { name: memory, target: { average_utilization: 80 } } } ]
"#;
    let sweep = "base: base.yaml\nparameters:\n  - { path: traffic.rate.constant, values: [10, 20, 30] }\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("base.yaml"), base).unwrap();
    std::fs::write(dir.path().join("sweep.yaml"), sweep).unwrap();
    let out = run(dir.path(), "1", "out");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("warning: ").count(), 1, "{err}");
    assert!(
        err.contains("pools.web.memory_model: not given, and the HPA scales on memory"),
        "{err}"
    );
}

/// An objective naming a metric no point reports is refused before
/// anything runs (not "no point meets every constraint" after the whole
/// sweep), each bad name with its path and the names it could use; the
/// metrics only a fault adds are accepted.
#[test]
fn objective_metrics_are_checked_before_running() {
    let sweep = SWEEP
        .replace("minimize: cost_total_usd", "minimize: cost_usd")
        .replace("metric: latency_p99_ms", "metric: latency_p99");
    let dir = setup(&sweep);
    let out = run(dir.path(), "2", "bad");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("objective.minimize: no metric `cost_usd`"), "{stderr}");
    assert!(stderr.contains("cost_total_usd"), "{stderr}");
    assert!(
        stderr.contains("objective.constraints[0].metric: no metric `latency_p99`")
            && stderr.contains("did you mean `latency_p99_ms`?"),
        "{stderr}"
    );
    assert!(!dir.path().join("bad").exists(), "nothing is written");

    let faulty = SWEEP
        .replace(
            "metric: latency_p99_ms, max: 200",
            "metric: faults.errors_until_recovered, max: 1000000",
        )
        .replace("minimize: cost_total_usd", "minimize: pools.web.cpu_utilization");
    let dir = setup(&faulty);
    std::fs::write(
        dir.path().join("base.yaml"),
        format!("{BASE}faults:\n  - {{ at: 1m, crash: {{ pool: web }} }}\n"),
    )
    .unwrap();
    let out = run(dir.path(), "2", "good");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
