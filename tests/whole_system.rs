//! The capacity review sees the whole system: on a scenario bound by its
//! database, a cache, connections or a queue, the analysis, `headroom`
//! and the scaling plan name that component, and the plan's scenario,
//! rerun at the horizon's traffic, meets the SLO with nothing saturated.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn capsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run(args: &[&str], scenario: &Path, out: &Path) {
    let output = capsim()
        .arg(match args.first() {
            Some(&"headroom") => "headroom",
            _ => "run",
        })
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(args.iter().skip_while(|a| **a == "headroom"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// What one scenario must produce: the component that saturates first
/// (`kind`, `name`), the words `headroom` names it by, and the change the
/// plan makes first.
struct Expect {
    kind: &'static str,
    name: &'static str,
    culprit: &'static str,
    change: &'static str,
    target: (&'static str, &'static str),
    /// The alternative design the horizon also simulates, and whether it holds.
    alternative: Option<(&'static str, bool)>,
}

/// Runs the review at ×1.5, checks what it names, then reruns the plan's
/// scenario on its own as a user would.
fn check(scenario: &Path, expect: Expect) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("review");
    run(&["--report", "--growth", "1.5"], scenario, &out);

    let analysis = json(&out.join("analysis.json"));
    let first = &analysis["components"][analysis["bottleneck"].as_u64().unwrap() as usize];
    assert_eq!(
        (first["kind"].as_str().unwrap(), first["name"].as_str().unwrap()),
        (expect.kind, expect.name),
        "{first}"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("(first to saturate)"), "{report}");

    let headroom = dir.path().join("headroom");
    run(
        &["headroom", "--from", "1", "--to", "2", "--step", "0.5", "--refine", "1"],
        scenario,
        &headroom,
    );
    let verdict = json(&headroom.join("headroom.json"))["verdict"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(verdict.contains(expect.culprit), "{verdict}");

    let plan = json(&out.join("plan.json"));
    let horizon = &plan["horizons"][0];
    assert_eq!(horizon["growth"], 1.5);
    let change = &horizon["changes"][0]["change"];
    assert_eq!(change["change"], expect.change, "{horizon}");
    assert_eq!(change[expect.target.0], expect.target.1, "{horizon}");
    assert_eq!(horizon["holds"], true, "{horizon}");
    let last = horizon["rounds"].as_array().unwrap().last().unwrap();
    assert_eq!(last["saturated"].as_array().unwrap().len(), 0, "{last}");
    assert!(report.contains("holds"), "{report}");
    let alternatives = horizon["alternatives"].as_array().unwrap();
    match expect.alternative {
        Some((kind, holds)) => {
            let alt = alternatives.iter().find(|a| a["kind"] == kind).expect(kind);
            assert_eq!(alt["round"]["passed"], holds, "{alt}");
            assert!(out.join(alt["scenario"].as_str().unwrap()).exists());
            // The report weighs the two designs on their simulated cost.
            let cheaper = alt["round"]["cost_per_month_usd"].as_f64() < last["cost_per_month_usd"].as_f64();
            let word = if cheaper { "less." } else { "more." };
            assert!(
                !holds || report.contains(&format!("Both hold; {} costs", alt["designs"][1].as_str().unwrap())),
                "{report}"
            );
            assert!(!holds || report.contains(word), "{report}");
        }
        None => assert!(alternatives.is_empty(), "{horizon}"),
    }

    // The plan's scenario, rerun by the user, is already at ×1.5 traffic.
    let file: PathBuf = out.join(horizon["scenario"].as_str().unwrap());
    let rerun = dir.path().join("rerun");
    run(&["--replications", "3"], &file, &rerun);
    let summary = json(&rerun.join("summary.json"));
    let peak = json(&rerun.join("analysis.json"))["peak"]["offered_rps"]
        .as_f64()
        .unwrap();
    let today = analysis["peak"]["offered_rps"].as_f64().unwrap();
    assert!(
        (peak / today - 1.5).abs() < 0.1,
        "the plan's scenario runs at ×{:.2}",
        peak / today
    );
    let compliance = summary["slo"]["compliance"]["mean"]
        .as_f64()
        .or_else(|| summary["slo"]["compliance"].as_f64())
        .unwrap();
    assert!(compliance >= 0.99, "compliance {compliance}: {summary}");
    for c in json(&rerun.join("analysis.json"))["components"].as_array().unwrap() {
        if let Some(h) = c["headroom"].as_f64() {
            assert!(
                h >= 1.0,
                "{} {} saturated after the plan: {}",
                c["kind"],
                c["name"],
                c["load"]
            );
        }
    }
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The bundled example: one API instance in front of a read-heavy
/// primary. Reads go to replicas before anything else grows.
#[test]
fn a_database_bound_service_gets_read_replicas() {
    check(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/db-bound.yaml"),
        Expect {
            kind: "database",
            name: "db primary",
            culprit: "database db primary",
            change: "read_replicas",
            target: ("database", "db"),
            // Keys at zipf 1.0: a cache takes the reads off the primary too.
            alternative: Some(("cache_tier", true)),
        },
    );
}

/// One single-threaded cache node serves every lookup: it fills before
/// the app or the database.
#[test]
fn a_cache_bound_service_gets_cache_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: cache-bound
seed: 11
duration: 4m
warmup: 1m
interval: 10s
traffic:
  rate: { constant: 1500 }
  keys: { count: 10000, zipf: 1.0 }
  classes:
    - name: get
      cpu: { lognormal: { mean: 1ms, cv: 1.0 } }
      data: { caches: [redis], database: db }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: api }
pools:
  api: { instance_type: c6i.2xlarge, count: 2, workers: 256, timeout: 5s }
caches:
  redis:
    shared: { nodes: 1, threads: 1, service: { constant: 400us }, rtt: 300us }
    capacity: 100000
    ttl: 10m
databases:
  db:
    primary: { cores: 16, max_connections: 1000 }
    read: { lognormal: { mean: 2ms, cv: 1.0 } }
    write: { lognormal: { mean: 3ms, cv: 1.0 } }
    pool: { size: 64, wait_timeout: 2s }
slo:
  latency: { percentile: 99, threshold: 100ms }
  error_rate: 0.001
"#,
    );
    check(
        &scenario,
        Expect {
            kind: "cache",
            name: "redis",
            culprit: "cache redis",
            change: "cache_nodes",
            target: ("cache", "redis"),
            alternative: None,
        },
    );
}

/// A database with cores to spare behind four connections per instance:
/// queries wait for a connection long before the server is busy.
#[test]
fn a_connection_bound_service_gets_larger_pools() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: connection-bound
seed: 12
duration: 4m
warmup: 1m
interval: 10s
traffic:
  rate: { constant: 300 }
  keys: { count: 100000, zipf: 0.8 }
  classes:
    - name: get
      cpu: { lognormal: { mean: 2ms, cv: 1.0 } }
      data: { database: db }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: api }
pools:
  api: { instance_type: c6i.xlarge, count: 2, workers: 128, timeout: 5s }
databases:
  db:
    primary: { cores: 32, max_connections: 500 }
    read: { lognormal: { mean: 15ms, cv: 0.5 } }
    write: { lognormal: { mean: 15ms, cv: 0.5 } }
    rtt: 1ms
    pool: { size: 4, wait_timeout: 1s }
slo:
  latency: { percentile: 99, threshold: 200ms }
  error_rate: 0.001
"#,
    );
    check(
        &scenario,
        Expect {
            kind: "connections",
            name: "db connections",
            culprit: "database db connections",
            change: "pool_size",
            target: ("database", "db"),
            alternative: None,
        },
    );
}

/// Six instances with pools of 10 against a server that takes 40: the
/// server refuses connections while few are busy.
#[test]
fn an_oversubscribed_server_gets_a_pooler() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: oversubscribed
seed: 8
duration: 4m
warmup: 1m
traffic:
  rate: { constant: 400 }
  keys: { count: 10000, zipf: 0.5 }
  classes:
    - name: q
      cpu: { lognormal: { mean: 4ms, cv: 1.0 } }
      data: { database: pg, fresh: true }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: app }
pools:
  app: { instance_type: c6i.large, count: 6, workers: 32, timeout: 5s }
databases:
  pg:
    primary: { cores: 16, max_connections: 40 }
    read: { lognormal: { mean: 8ms, cv: 1.0 } }
    write: { lognormal: { mean: 8ms, cv: 1.0 } }
    rtt: 1ms
    pool: { size: 10, wait_timeout: 1s }
slo:
  latency: { percentile: 99, threshold: 200ms }
  error_rate: 0.001
"#,
    );
    check(
        &scenario,
        Expect {
            kind: "connections",
            name: "pg connections",
            culprit: "database pg connections",
            change: "pooler",
            target: ("database", "pg"),
            alternative: None,
        },
    );
}

/// The same six instances behind a pooler that admits 40 client
/// connections: the pools may open 60, so the pooler refuses some however
/// idle its server side is. The plan resizes that pooler's client side and
/// leaves its server side as it is.
#[test]
fn a_pooler_that_refuses_clients_gets_a_larger_client_limit() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: pooler-refuses
seed: 8
duration: 4m
warmup: 1m
traffic:
  rate: { constant: 400 }
  keys: { count: 10000, zipf: 0.5 }
  classes:
    - name: q
      cpu: { lognormal: { mean: 4ms, cv: 1.0 } }
      data: { database: pg, fresh: true }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: app }
pools:
  app: { instance_type: c6i.large, count: 6, workers: 32, timeout: 5s }
databases:
  pg:
    primary: { cores: 16, max_connections: 100 }
    read: { lognormal: { mean: 8ms, cv: 1.0 } }
    write: { lognormal: { mean: 8ms, cv: 1.0 } }
    rtt: 1ms
    pool: { size: 10, wait_timeout: 1s }
    pooler: { pool_size: 16, max_client_connections: 40 }
slo:
  latency: { percentile: 99, threshold: 200ms }
  error_rate: 0.001
"#,
    );
    let out = dir.path().join("review");
    run(&["--report", "--growth", "1.5"], &scenario, &out);
    let analysis = json(&out.join("analysis.json"));
    let connections = analysis["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "connections")
        .unwrap();
    let load = connections["load"].as_str().unwrap();
    assert!(
        load.contains("the pools may open 60 connections and its pooler admits 40"),
        "{load}"
    );
    assert_eq!(connections["capacity_units"], 40.0);
    assert_eq!(connections["peak_demand"], 60.0);
    let change = &json(&out.join("plan.json"))["horizons"][0]["changes"][0];
    assert_eq!(change["change"]["change"], "pooler", "{change}");
    assert_eq!(change["change"]["pool_size"], 16, "{change}");
    assert_eq!(change["change"]["max_client_connections"], 60, "{change}");
    assert_eq!(change["change"]["from"], serde_json::json!([16, 40]), "{change}");
    assert!(
        change["text"].as_str().unwrap().starts_with(
            "resize the pooler of database pg: 16 server connections each (from 16), 60 client connections (from 40)"
        ),
        "{change}"
    );
    check(
        &scenario,
        Expect {
            kind: "connections",
            name: "pg connections",
            culprit: "database pg connections",
            change: "pooler",
            target: ("database", "pg"),
            alternative: None,
        },
    );
}

/// Uploads enqueue a one-second job for eight one-core consumers: the queue
/// saturates first.
const QUEUE_BOUND: &str = r#"
name: queue-bound
seed: 13
duration: 5m
warmup: 1m
interval: 10s
traffic:
  rate: { constant: 100 }
  classes:
    - name: view
      weight: 0.9
      cpu: { lognormal: { mean: 3ms, cv: 1.0 } }
    - name: upload
      weight: 0.1
      cpu: { lognormal: { mean: 5ms, cv: 1.0 } }
      data: { enqueue: jobs }
  target: lb
instance_types:
  pod-1cpu: { vcpu: 1, memory_gib: 2, hourly_usd: 0.0425 }
load_balancers:
  lb: { policy: least_connections, pool: api }
pools:
  api: { instance_type: c6i.xlarge, count: 2, workers: 64, timeout: 5s }
  workers: { instance_type: pod-1cpu, count: 8, workers: 1 }
queues:
  jobs:
    consumers: workers
    job: { gamma: { mean: 1s, cv: 0.5 } }
    visibility_timeout: 60s
    max_receives: 3
slo:
  latency: { percentile: 99, threshold: 100ms }
  error_rate: 0.001
"#;

/// Uploads enqueue a second of work each for eight single-core
/// consumers: the queue grows while every request is answered in time.
#[test]
fn a_queue_bound_service_gets_more_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), QUEUE_BOUND);
    check(
        &scenario,
        Expect {
            kind: "queue",
            name: "jobs",
            culprit: "queue jobs is saturated",
            change: "instances",
            target: ("pool", "workers"),
            // A scenario's own pod type has no larger size to scale up to.
            alternative: None,
        },
    );
}

/// A consumer pool on a built-in type is also simulated scaled up; consumers
/// do not change a request's p99, so both designs are compared on the
/// oldest message their queue held too.
#[test]
fn a_scaled_up_consumer_pool_is_compared_on_how_far_its_queue_fell_behind() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        &QUEUE_BOUND
            .replace("name: queue-bound", "name: queue-bound-up")
            .replace(
                "workers: { instance_type: pod-1cpu, count: 8, workers: 1 }",
                "workers: { instance_type: c6i.large, count: 4, workers: 2 }",
            ),
    );
    let out = dir.path().join("review");
    run(&["--report", "--growth", "1.5"], &scenario, &out);
    let horizon = &json(&out.join("plan.json"))["horizons"][0];
    assert_eq!(horizon["changes"][0]["change"]["pool"], "workers", "{horizon}");
    let alternative = &horizon["alternatives"][0];
    assert_eq!(alternative["kind"], "scale_up", "{horizon}");
    let last = horizon["rounds"].as_array().unwrap().last().unwrap();
    for round in [last, &alternative["round"]] {
        let oldest = round["oldest_message_s"]["mean"].as_f64().unwrap();
        assert!(oldest > 0.0 && oldest < 60.0, "{round}");
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("| holds | one instance lost takes | oldest message | $/month |"),
        "{report}"
    );
}

/// Where the plan grows a pool of a built-in type, the review also runs
/// it scaled up — fewer, larger instances of the same family — and shows
/// both designs' simulated figures, cost and what one failure takes.
#[test]
fn a_grown_pool_is_also_simulated_scaled_up() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: grows
seed: 3
duration: 3m
warmup: 30s
interval: 10s
traffic:
  rate: { constant: 400 }
  classes: [ { name: a, cpu: { lognormal: { mean: 20ms, cv: 1.0 } } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web: { instance_type: c6i.xlarge, count: 4, workers: 32, timeout: 5s }
slo:
  latency: { percentile: 99, threshold: 300ms }
  error_rate: 0.001
"#,
    );
    let out = dir.path().join("review");
    let (_, horizon) = review_horizon(dir.path(), &scenario);
    let horizon = &horizon;
    assert_eq!(horizon["holds"], true, "{horizon}");
    let change = &horizon["changes"][0]["change"];
    assert_eq!(change["change"], "instances", "{horizon}");
    let n = change["to"].as_u64().unwrap();
    let alt = &horizon["alternatives"][0];
    assert_eq!(alt["kind"], "scale_up");
    assert_eq!(alt["question"], "Scale up or out? Pool web");
    let text = alt["text"].as_str().unwrap();
    assert!(text.ends_with(&format!("instead of {n} × c6i.xlarge")), "{text}");
    let share = alt["one_instance_share"].as_array().unwrap();
    assert!((share[0].as_f64().unwrap() - 1.0 / n as f64).abs() < 1e-12);
    let up = (1.0 / share[1].as_f64().unwrap()).round() as u64;
    assert!(up >= 2 && up < n, "{text}");
    let round = &alt["round"];
    assert!(round["latency_p99_ms"]["mean"].as_f64().unwrap() > 0.0);
    assert!(round["cost_per_month_usd"].as_f64().unwrap() > 0.0);
    // Its scenario is the plan's with the pool on the larger type.
    let file = out.join(alt["scenario"].as_str().unwrap());
    let text = std::fs::read_to_string(&file).unwrap();
    let yaml: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(yaml.contains(&format!("count: {up}")), "{yaml}");
    assert!(!yaml.contains("c6i.xlarge"), "{yaml}");
    let rerun = dir.path().join("rerun");
    run(&[], &file, &rerun);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| **scale up** |"), "{report}");
}

/// A quarter of the requests sign up, and 80% of a sign-up's CPU (the
/// welcome mail, the avatar) need not finish before the answer
/// (`deferrable: 0.8`). At ×1.5 the pool offers 400 × 1.5 × (0.75 ×
/// 10 ms + 0.25 × 60 ms) = 13.5 cores on average, a little more in the busiest
/// 10 s: the plan grows it from 4 to 5 or 6 instances (⌈13.5 / 2.8⌉ = 5, 4
/// cores at 70%). The alternative moves 0.25 × 60 × 0.8 / 22.5 = 53% of
/// that CPU, 7.2 cores, to a queue whose workers are sized alike (3
/// instances), and keeps 6.3 cores, 3 instances, on the pool; a
/// sign-up's answer then waits 12 ms of CPU, not 60 ms, so p99 falls.
#[test]
fn deferrable_work_is_also_simulated_on_a_queue() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: signups
seed: 3
duration: 3m
warmup: 30s
interval: 10s
traffic:
  rate: { constant: 400 }
  classes:
    - { name: view, weight: 3, cpu: { lognormal: { mean: 10ms, cv: 1.0 } } }
    - { name: signup, weight: 1, cpu: { gamma: { mean: 60ms, cv: 0.5 } }, deferrable: 0.8 }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web: { instance_type: c6i.xlarge, count: 4, workers: 32, timeout: 5s }
slo:
  latency: { percentile: 99, threshold: 300ms }
  error_rate: 0.001
"#,
    );
    let out = dir.path().join("review");
    let (_, horizon) = review_horizon(dir.path(), &scenario);
    let horizon = &horizon;
    assert_eq!(horizon["holds"], true, "{horizon}");
    let change = &horizon["changes"][0]["change"];
    assert_eq!(change["change"], "instances", "{horizon}");
    let to = change["to"].as_u64().unwrap();
    assert!((5..=6).contains(&to), "{horizon}");
    let alternatives = horizon["alternatives"].as_array().unwrap();
    let alt = alternatives
        .iter()
        .find(|a| a["kind"] == "queue")
        .expect("a queue alternative");
    assert_eq!(
        alt["question"],
        "More instances, or the deferrable work on a queue? Pool web"
    );
    assert_eq!(
        alt["text"],
        format!(
            "pool web on 3 instances (the plan: {to}), and the deferrable work moved off the request path: 80% of \
             class signup's CPU to queue signup-jobs, consumed by pool signup-workers (3 × c6i.xlarge)"
        )
    );
    let (with_queue, plan_round) = (&alt["round"], horizon["rounds"].as_array().unwrap().last().unwrap());
    assert_eq!(with_queue["passed"], true, "{with_queue}");
    let p99 = |r: &Value| r["latency_p99_ms"]["mean"].as_f64().unwrap();
    assert!(p99(with_queue) < 0.7 * p99(plan_round), "{with_queue} {plan_round}");
    // How far the queue fell behind is compared too.
    assert!(
        with_queue["oldest_message_s"]["mean"].as_f64().unwrap() < 1.0,
        "{with_queue}"
    );
    // Its scenario splits the class's CPU between the answer and the job.
    let file = out.join(alt["scenario"].as_str().unwrap());
    assert!(file.ends_with("plan/x1.5-queue-web.yaml"), "{file:?}");
    let yaml = std::fs::read_to_string(&file).unwrap();
    for expected in [
        "mean: 12ms",
        "mean: 48ms",
        "enqueue: signup-jobs",
        "consumers: signup-workers",
    ] {
        assert!(yaml.contains(expected), "{expected} in {yaml}");
    }
    assert!(!yaml.lines().any(|l| l.contains("deferrable:")), "{yaml}");
    run(&[], &file, &dir.path().join("rerun"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| **deferrable work on a queue** |"), "{report}");
}

/// A third of the traffic writes, and each replica replays every write on
/// one apply thread: lag, not CPU, is what runs out first. The plan gives
/// the replicas parallel apply threads, not more replicas, which would
/// replay the same writes.
#[test]
fn a_replication_bound_service_gets_parallel_apply() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: replication-bound
seed: 21
duration: 4m
warmup: 1m
interval: 10s
traffic:
  rate: { constant: 300 }
  keys: { count: 100000, zipf: 0.8 }
  classes:
    - name: get
      weight: 0.67
      cpu: { lognormal: { mean: 2ms, cv: 1.0 } }
      data: { database: db }
    - name: put
      kind: write
      weight: 0.33
      cpu: { lognormal: { mean: 2ms, cv: 1.0 } }
      data: { database: db }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: api }
pools:
  api: { instance_type: c6i.2xlarge, count: 2, workers: 128, timeout: 5s }
databases:
  db:
    primary: { cores: 8, max_connections: 500 }
    replicas: 2
    replica: { cores: 8, max_connections: 500 }
    read: { lognormal: { mean: 4ms, cv: 1.0 } }
    write: { lognormal: { mean: 5ms, cv: 1.0 } }
    replication: { delay: 1ms, apply: { lognormal: { mean: 8ms, cv: 0.5 } }, appliers: 1 }
    pool: { size: 32, wait_timeout: 2s }
slo:
  latency: { percentile: 99, threshold: 200ms }
  error_rate: 0.001
"#,
    );
    check(
        &scenario,
        Expect {
            kind: "replication",
            name: "db replication",
            culprit: "database db replication is saturated",
            change: "appliers",
            target: ("database", "db"),
            alternative: None,
        },
    );
}

/// A queue's consumers scaled late drain a backlog with more cores than
/// producers offer: the analysis sizes them from what is sent (messages
/// in × mean job), not from the drain.
#[test]
fn consumers_are_sized_from_what_producers_send() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: upload-keda
seed: 9
duration: 8m
warmup: 1m
interval: 15s
traffic:
  rate: { product: [ { constant: 60 }, { spike: { start: 3m, duration: 2m, multiplier: 2, rise: 20s, decay: 20s } } ] }
  classes:
    - { name: upload, cpu: { gamma: { mean: 10ms, cv: 0.8 } }, data: { enqueue: jobs } }
  target: lb
instance_types: { pod-1cpu: { vcpu: 1, memory_gib: 2, hourly_usd: 0.0425 } }
load_balancers: { lb: { policy: round_robin, pool: api } }
pools:
  api: { instance_type: pod-1cpu, count: 3, workers: 16, timeout: 10s }
  workers:
    instance_type: pod-1cpu
    count: 2
    workers: 1
    boot_time: { constant: 20s }
    autoscaler: { keda: { min_replica_count: 1, max_replica_count: 200, polling_interval: 15s, cooldown_period: 2m, trigger: { metric: queue_depth, queue: jobs, target: 2 } } }
queues:
  jobs: { consumers: workers, job: { gamma: { mean: 600ms, cv: 0.5 } }, visibility_timeout: 30s, max_receives: 3 }
"#,
    );
    let out = dir.path().join("out");
    run(&[], &scenario, &out);
    let data = std::fs::read_to_string(out.join("data.csv")).unwrap();
    let mut lines = data.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (start, end, enqueued) = (column("t_start_s"), column("t_end_s"), column("jobs.enqueued"));
    let sent = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[start].parse::<f64>().unwrap() >= 60.0)
        .map(|f| {
            let span = f[end].parse::<f64>().unwrap() - f[start].parse::<f64>().unwrap();
            f[enqueued].parse::<f64>().unwrap() / span * 0.6
        })
        .fold(0.0, f64::max);
    let a = json(&out.join("analysis.json"));
    let queue = a["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "queue")
        .unwrap();
    let demand = queue["peak_demand"].as_f64().unwrap();
    assert!((demand - sent).abs() < 1e-6 * sent, "demand {demand}, sent {sent}");
    // The drain did use more cores than that.
    let timeseries = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let mut rows = timeseries.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let busy = header.iter().position(|h| *h == "workers.busy_cores").unwrap();
    let most = rows
        .map(|l| l.split(',').nth(busy).unwrap().parse::<f64>().unwrap())
        .fold(0.0, f64::max);
    assert!(most > demand * 1.05, "busy {most}, demand {demand}");
}

/// A service whose HPA pool scales too late for a surge while a database
/// behind it is the first to saturate as traffic grows: `surge` is the
/// spike's multiplier and rise.
fn late_scenario(dir: &Path, surge: &str) -> PathBuf {
    write(
        dir,
        &format!(
            r#"
name: hpa-late
duration: 40m
warmup: 5m
interval: 1m
traffic:
  rate:
    product:
      - constant: 100
      - spike: {{ start: 20m, duration: 15m, {surge}, decay: 1m }}
  keys: {{ count: 100000, zipf: 1.0 }}
  classes:
    - {{ name: api, cpu: {{ exponential: {{ mean: 20ms }} }}, data: {{ database: db }} }}
  target: lb
load_balancers:
  lb: {{ policy: least_connections, pool: api }}
pools:
  api:
    instance_type: c6i.large
    count: 2
    workers: 16
    queue_capacity: 64
    timeout: 5s
    boot_time: {{ constant: 60s }}
    autoscaler:
      hpa:
        min_replicas: 2
        max_replicas: 30
        metrics: [ {{ resource: {{ name: cpu, target: {{ average_utilization: 60 }} }} }} ]
        behavior: {{}}
databases:
  db:
    primary: {{ cores: 8, max_connections: 2000 }}
    read: {{ exponential: {{ mean: 5ms }} }}
    write: {{ exponential: {{ mean: 5ms }} }}
    pool: {{ size: 64, wait_timeout: 2s }}
slo:
  latency: {{ percentile: 99, threshold: 300ms }}
  error_rate: 0.001
"#
        ),
    )
}

/// The review of `scenario` at ×1.5: its analysis and the horizon's plan.
/// Runs the review at ×1.5 into `dir/review`: the analysis and the horizon.
fn review_horizon(dir: &Path, scenario: &Path) -> (Value, Value) {
    let out = dir.join("review");
    run(&["--report", "--growth", "1.5"], scenario, &out);
    let analysis = json(&out.join("analysis.json"));
    let plan = json(&out.join("plan.json"));
    (analysis, plan["horizons"][0].clone())
}

/// A ×2.5 surge over a minute: two instances at the 60% target run out of
/// CPU while the HPA adds pods that take a minute to boot. The database is
/// the first to saturate as traffic grows, but it is not what broke the
/// SLO: the pool's verdict says its capacity arrived late (its peak
/// interval, after it scaled, looks fine), `headroom` names it, and the
/// plan lowers its CPU target to one at which the pods ready before the
/// surge hold it (60% × 4 cores / 5 cores of work → 45%), then holds.
#[test]
fn capacity_that_arrives_late_gets_a_lower_target_when_the_surge_fits_under_one() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = late_scenario(dir.path(), "multiplier: 2.5, rise: 1m");
    let (analysis, horizon) = review_horizon(dir.path(), &scenario);
    let components = analysis["components"].as_array().unwrap();
    let first = &components[analysis["bottleneck"].as_u64().unwrap() as usize];
    assert_eq!(first["kind"], "database", "{first}");
    let pool = components.iter().find(|c| c["kind"] == "pool").unwrap();
    let verdict = pool["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("overloaded while it scaled: at 00:20:00, 2 of at most 30 instances ready"),
        "{verdict}"
    );
    assert!(verdict.ends_with("capacity arrived late"), "{verdict}");

    let headroom = dir.path().join("headroom");
    run(
        &["headroom", "--from", "1", "--to", "1", "--step", "0.5"],
        &scenario,
        &headroom,
    );
    let culprit = json(&headroom.join("headroom.json"))["verdict"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(culprit.contains("pool api: overloaded while it scaled"), "{culprit}");

    let changes = horizon["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{horizon}");
    let change = &changes[0]["change"];
    assert_eq!(
        (
            change["change"].as_str(),
            change["pool"].as_str(),
            change["from"].as_f64(),
            change["to"].as_f64()
        ),
        (Some("target"), Some("api"), Some(60.0), Some(45.0)),
        "{horizon}"
    );
    assert_eq!(horizon["holds"], true, "{horizon}");
    let plan = std::fs::read_to_string(dir.path().join("review/plan/x1.5.yaml")).unwrap();
    assert!(plan.contains("average_utilization: 45"), "{plan}");
}

/// A ×5 surge in ten seconds: no target of 30% or more would have had the
/// capacity on hand, so the plan raises the minimum to what holds the peak
/// at the target (10 cores of work / 60% / 2 cores → 9 at ×1, 13 at
/// ×1.5), below the maximum so the autoscaler keeps its room, and holds.
#[test]
fn capacity_that_arrives_late_gets_a_higher_minimum_below_the_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = late_scenario(dir.path(), "multiplier: 5, rise: 10s");
    let (_, horizon) = review_horizon(dir.path(), &scenario);
    let changes = horizon["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{horizon}");
    let change = &changes[0]["change"];
    assert_eq!(change["change"], "minimum", "{horizon}");
    let to = change["to"].as_u64().unwrap();
    assert!((12..30).contains(&to), "{horizon}");
    assert_eq!(horizon["holds"], true, "{horizon}");
}

/// At four times the traffic, a lower target is tried first and is not
/// enough; the higher minimum that is holds on its own, so the target's
/// change is taken out again (simulated without it) and the plan's
/// scenario keeps the target the user set; the minimum, sized for pods at
/// the lower target, is then tried at the target kept.
#[test]
fn a_change_the_slo_holds_without_is_dropped_from_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = late_scenario(dir.path(), "multiplier: 4, rise: 10s");
    let (_, horizon) = review_horizon(dir.path(), &scenario);
    let rounds = horizon["rounds"].as_array().unwrap();
    let added: Vec<&str> = rounds.iter().filter_map(|r| r["added"][0].as_str()).collect();
    assert!(added[0].starts_with("lower the CPU target of pool api"), "{horizon}");
    assert!(
        added[1].starts_with("raise the autoscaler minimum of pool api"),
        "{horizon}"
    );
    let without = rounds
        .iter()
        .find(|r| r["removed"][0].as_str() == Some(added[0]))
        .expect("a round without the lower target");
    assert_eq!(without["passed"], true, "{horizon}");
    assert_eq!(rounds.last().unwrap()["passed"], true, "{horizon}");
    let changes = horizon["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{horizon}");
    assert_eq!(changes[0]["change"]["change"], "minimum", "{horizon}");
    // The minimum was sized for pods at the lower target; at the target
    // kept it is tried scaled by their ratio, and kept so when it holds.
    let raised: u64 = added[1].rsplit(' ').next().unwrap().parse().unwrap();
    let kept = changes[0]["change"]["to"].as_u64().unwrap();
    assert!(kept <= raised, "{horizon}");
    let file = dir.path().join("review").join(horizon["scenario"].as_str().unwrap());
    let yaml = std::fs::read_to_string(file).unwrap();
    assert!(yaml.contains("average_utilization: 60"), "{yaml}");
    let report = std::fs::read_to_string(dir.path().join("review/report.md")).unwrap();
    assert!(report.contains("without: lower the CPU target of pool api"), "{report}");
}

/// An app pool that turns a third of its requests away (a full queue)
/// hides that much database work: the analysis counts the database's demand
/// as offered — 150 req/s × 5 ms of reads = 0.75 threads — not the 0.5
/// that reached it.
#[test]
fn database_demand_counts_the_requests_the_app_tier_turned_away() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: app-rejects
seed: 3
duration: 6m
warmup: 1m
interval: 30s
traffic:
  rate: { constant: 150 }
  keys: { count: 10000, zipf: 0.5 }
  classes:
    - { name: read, cpu: { constant: 20ms }, data: { database: db } }
  target: lb
load_balancers:
  lb: { policy: round_robin, pool: app }
pools:
  app: { instance_type: c6i.large, count: 1, workers: 4, queue_capacity: 8, timeout: 30s }
databases:
  db:
    primary: { cores: 4, max_connections: 100 }
    read: { constant: 5ms }
    write: { constant: 5ms }
    pool: { size: 8, wait_timeout: 2s }
"#,
    );
    let out = dir.path().join("run");
    run(&["--report", "--growth", "1.5"], &scenario, &out);
    let summary = json(&out.join("summary.json"));
    let rejected = summary["requests"]["rejected_queue_full"].as_f64().unwrap();
    let arrived = summary["requests"]["arrived"].as_f64().unwrap();
    assert!(rejected / arrived > 0.25, "{}", summary["requests"]);
    let analysis = json(&out.join("analysis.json"));
    let db = analysis["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "database")
        .unwrap();
    // 150 req/s × 5 ms, in the busiest 30 s interval (Poisson: ±10%).
    let demand = db["peak_demand"].as_f64().unwrap();
    assert!((0.7..0.85).contains(&demand), "{db}");
}

/// Two regions behind DNS with a CDN in front: the analysis (which once
/// read a region's pools past the pools' end) names each balancer's own
/// load — the requests that reached it, not every client's: the CDN
/// answers some, the other region takes the rest.
#[test]
fn each_balancer_is_loaded_with_the_requests_that_reached_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: two-regions
seed: 8
duration: 2m
warmup: 20s
interval: 10s
traffic:
  rate: { constant: 600 }
  keys: { count: 5000, zipf: 1.0 }
  clients: 5000
  classes:
    - { name: page, weight: 0.8, cpu: { lognormal: { mean: 5ms, cv: 0.8 } }, data: { caches: [cdn] } }
    - { name: api, weight: 0.2, cpu: { lognormal: { mean: 5ms, cv: 1.0 } } }
regions:
  us-east: { balancer: alb-us, rtt: { eu-west: 80ms } }
  eu-west: { balancer: alb-eu }
dns:
  populations:
    americas: { share: 0.6, rtt: { us-east: 30ms, eu-west: 110ms } }
    europe: { share: 0.4, rtt: { us-east: 100ms, eu-west: 20ms } }
load_balancers:
  alb-us: { pool: web-us }
  alb-eu: { pool: web-eu }
pools:
  web-us: { instance_type: c6i.large, count: 3 }
  web-eu: { instance_type: c6i.large, count: 2 }
caches:
  cdn:
    edge: { pops: 4, latency: { constant: 2ms }, origin_rtt: 30ms }
    capacity: 2000
    ttl: 60s
"#,
    );
    let out = dir.path().join("run");
    run(&[], &scenario, &out);
    let analysis = json(&out.join("analysis.json"));
    let summary = json(&out.join("summary.json"));
    let cdn = &summary["data"]["caches"][0];
    let lookups = cdn["hits"].as_f64().unwrap() + cdn["misses"].as_f64().unwrap();
    // The CDN counts after the warm-up, the balancers over the whole run:
    // compare shares. 80% of requests are pages, looked up at the edge.
    let answered_at_edge = 0.8 * (1.0 - cdn["edge"]["origin_requests"].as_f64().unwrap() / lookups);
    let mut shares = 0.0;
    for c in analysis["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "balancer")
    {
        let load = c["load"].as_str().unwrap();
        let share: f64 = load
            .split(" (")
            .nth(1)
            .and_then(|s| s.split('%').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{load}"));
        shares += share / 100.0;
    }
    // What the CDN did not answer reached one balancer or the other.
    let reached = 1.0 - answered_at_edge;
    assert!(reached < 0.7, "{reached}");
    assert!((shares - reached).abs() < 0.02, "{shares} vs {reached}");
    assert_eq!(
        analysis["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == "region")
            .count(),
        2
    );
}

/// A scenario without an SLO: the review assumes one, says how today's run
/// fares against it (the figure a run with that SLO written in reports),
/// and writes it into the plan's scenarios, so a plan rerun on its own is
/// judged as the review judged it.
#[test]
fn an_assumed_slo_is_reported_for_today_and_carried_into_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"
seed: 5
duration: 3m
warmup: 30s
interval: 10s
traffic:
  rate: { constant: 300 }
  classes: [ { name: a, cpu: { lognormal: { mean: 20ms, cv: 1.0 } } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web: { instance_type: c6i.xlarge, count: 3, workers: 32, timeout: 5s }
"#;
    let scenario = write(dir.path(), &format!("name: no-slo{body}"));
    let out = dir.path().join("review");
    run(&["--report", "--growth", "1.5"], &scenario, &out);
    let analysis = json(&out.join("analysis.json"));
    let a = &analysis["assumptions"];
    assert_eq!(a["slo_assumed"], true);
    let today = a["slo_compliance_today"].as_f64().unwrap();

    let plan_file = std::fs::read_to_string(out.join("plan/x1.5.yaml")).unwrap();
    let slo_at = plan_file.find("\nslo:\n").expect("the plan's scenario carries the SLO");
    let slo: String = plan_file[slo_at + 1..]
        .lines()
        .take_while(|l| l.starts_with("slo:") || l.starts_with(' '))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(slo.contains("percentile: 99"), "{slo}");
    // The same run with that SLO written in reports the same compliance.
    let with = write(dir.path(), &format!("name: with-slo{body}{slo}"));
    let rerun = dir.path().join("with");
    run(&[], &with, &rerun);
    let summary = json(&rerun.join("summary.json"));
    assert_eq!(summary["slo"]["compliance"].as_f64().unwrap(), today, "{slo}");

    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| **SLO (assumed by the review)** | "), "{report}");
}

/// A write-bound primary moves to a larger class: the cost table's row,
/// labelled with today's class, names the class each horizon is billed as
/// where the plan changed it.
#[test]
fn the_cost_table_names_the_class_a_horizon_is_billed_as() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: db-write
seed: 3
duration: 3m
warmup: 30s
interval: 10s
traffic:
  rate: { ramp: { from: 100, to: 200, start: 30s, end: 2m } }
  keys: { count: 50000, zipf: 0.5 }
  classes:
    - { name: write, kind: write, weight: 0.7, cpu: { lognormal: { mean: 2ms, cv: 1.0 } }, data: { database: orders } }
    - { name: read, weight: 0.3, cpu: { lognormal: { mean: 2ms, cv: 1.0 } }, data: { database: orders, fresh: true } }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: api }
pools:
  api: { instance_type: c6i.xlarge, count: 2, workers: 64, timeout: 5s }
databases:
  orders:
    primary: { class: db.m6g.large, max_connections: 200 }
    read: { lognormal: { mean: 3ms, cv: 1.0 } }
    write: { lognormal: { mean: 8ms, cv: 1.0 } }
    pool: { size: 20, wait_timeout: 2s }
slo:
  latency: { percentile: 99, threshold: 200ms }
  error_rate: 0.001
"#,
    );
    let out = dir.path().join("review");
    let (_, horizon) = review_horizon(dir.path(), &scenario);
    let change = &horizon["changes"][0]["change"];
    assert_eq!(change["change"], "database_cores", "{horizon}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let row = report
        .lines()
        .find(|l| l.starts_with("| **database orders primary (db.m6g.large)** |"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(row.trim_end().ends_with("(db.m6g.xlarge) |"), "{row}");
}

/// The deferrable work of two classes whose names make the same queue
/// name, and of one whose name has no letter a name could keep, moved off
/// an autoscaled pool whose minimum already holds more than the work left
/// needs: each gets a queue and workers of its own, and the minimum is
/// scaled with the work, one below the maximum, so the scenario validates.
#[test]
fn deferrable_work_gets_names_of_its_own_and_a_minimum_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        r#"
name: mails
seed: 3
duration: 3m
warmup: 30s
interval: 10s
traffic:
  rate: { constant: 400 }
  classes:
    - { name: view, weight: 3, cpu: { lognormal: { mean: 10ms, cv: 1.0 } } }
    - { name: "welcome mail", weight: 0.5, cpu: { gamma: { mean: 60ms, cv: 0.5 } }, deferrable: 0.8 }
    - { name: "welcome-mail", weight: 0.25, cpu: { gamma: { mean: 60ms, cv: 0.5 } }, deferrable: 0.8 }
    - { name: "✉✉", weight: 0.25, cpu: { gamma: { mean: 60ms, cv: 0.5 } }, deferrable: 0.8 }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web:
    instance_type: c6i.xlarge
    count: 4
    workers: 32
    timeout: 5s
    autoscaler:
      hpa:
        min_replicas: 4
        max_replicas: 5
        metrics: [ { resource: { name: cpu, target: { average_utilization: 70 } } } ]
slo:
  latency: { percentile: 99, threshold: 300ms }
  error_rate: 0.001
"#,
    );
    let out = dir.path().join("review");
    let (_, horizon) = review_horizon(dir.path(), &scenario);
    let horizon = &horizon;
    assert_eq!(horizon["changes"][0]["change"]["change"], "maximum", "{horizon}");
    let alt = horizon["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "queue")
        .unwrap_or_else(|| panic!("{horizon}"));
    let text = alt["text"].as_str().unwrap();
    for name in [
        "queue welcome-mail-jobs",
        "queue welcome-mail-2-jobs",
        "queue class3-jobs",
    ] {
        assert!(text.contains(name), "{name}: {text}");
    }
    assert!(text.contains(", its minimum "), "{text}");
    let file = out.join(alt["scenario"].as_str().unwrap());
    run(&[], &file, &dir.path().join("rerun"));
}
