//! The review's resilience check: each single failure simulated at the
//! peak and judged on the SLO in the window after it (`resilience.json`,
//! the report's "Resilience" section).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn capsim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
}

/// Single-core instances behind one balancer; 340 req/s of exactly 10 ms
/// of CPU, 376 req/s from 60 s to 70 s: the peak, where every failure
/// strikes. On 4 instances that peak is 94% CPU, and 3 are overloaded
/// until the replacement has booted (60 s); on 8 it is 47%.
const POOL: &str = r#"
name: pool
duration: 4m
warmup: 30s
interval: 10s
traffic:
  rate:
    steps: [ { at: 0s, rate: 340 }, { at: 60s, rate: 376 }, { at: 70s, rate: 340 } ]
  classes: [ { name: a, cpu: { constant: 10ms } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
instance_types:
  one: { vcpu: 1, memory_gib: 2, hourly_usd: 0.05 }
pools:
  web: { instance_type: one, count: COUNT ZONES }
slo:
  latency: { percentile: 99, threshold: 250ms }
  error_rate: 0.01
growth: [1.5]
"#;

fn pool(count: u32, zones: &str) -> String {
    POOL.replace("COUNT", &count.to_string()).replace("ZONES", zones)
}

/// Runs `capsim run` on `text` with `args`; returns the output folder.
fn run(dir: &Path, name: &str, text: &str, args: &[&str]) -> PathBuf {
    let scenario = dir.join(format!("{name}.yaml"));
    std::fs::write(&scenario, text).unwrap();
    let out = dir.join(name);
    let r = capsim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    out
}

fn resilience(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("resilience.json")).unwrap()).unwrap()
}

fn failure<'a>(check: &'a Value, kind: &str) -> &'a Value {
    check["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {check:#}"))
}

#[test]
fn four_instances_at_94_percent_cannot_lose_one_and_eight_can() {
    let dir = tempfile::tempdir().unwrap();
    let four = resilience(&run(dir.path(), "four", &pool(4, ""), &["--report"]));
    // The failure strikes at the peak and is judged to the run's end.
    assert_eq!(four["failure_at_s"], 60.0);
    assert_eq!(four["window_end_s"], 240.0);
    assert_eq!(four["replications"], 3);
    assert_eq!(four["own_faults_removed"], false);
    assert_eq!(four["baseline"]["meets_slo"], true, "{four:#}");
    let crash = failure(&four, "crash");
    assert_eq!(crash["target"], "web");
    assert_eq!(crash["holds"], false);
    assert_eq!(crash["verdict"], "SLO broken: single point of failure");
    // 3 instances for 340 req/s of 1 s of work per 100: queues grow for the
    // minute the replacement boots.
    assert!(crash["window"]["latency_p99_max_ms"]["mean"].as_f64().unwrap() > 250.0);
    assert!(crash["window"]["compliance"]["mean"].as_f64().unwrap() < 0.99);
    assert_eq!(four["single_points_of_failure"][0], "one instance of pool web crashes");
    // No zones, no data tier, no balancer nodes: nothing else to lose.
    assert_eq!(four["failures"].as_array().unwrap().len(), 1);
    let md = std::fs::read_to_string(dir.path().join("four/report.md")).unwrap();
    let section = &md[md.find("## Resilience").expect("a resilience section")..];
    assert!(
        section.contains("| **one instance of pool web crashes** |")
            && section.contains("| SLO broken: single point of failure |"),
        "{section}"
    );
    assert!(section.contains("Single points of failure: one instance of pool web crashes."));
    // N+1, proven: five instances suffer the same crash at the same time
    // and hold; the fifth costs its own price, $0.05 × 730 h a month.
    let remedy = &crash["remedy"];
    assert_eq!(
        remedy["changes"],
        serde_json::json!(["grow pool web from 4 to 5 instances"])
    );
    assert_eq!(remedy["holds"], true, "{remedy:#}");
    assert_eq!(remedy["tries"], 1);
    assert_eq!(remedy["window"]["compliance"]["mean"], 1.0);
    let added = remedy["added_per_month_usd"].as_f64().unwrap();
    assert!((added - 36.5).abs() < 0.01, "{added}");
    assert_eq!(remedy["scenario"], "resilience/fix-crash-web.yaml");
    let fix = dir.path().join("four/resilience/fix-crash-web.yaml");
    let text = std::fs::read_to_string(&fix).unwrap();
    assert!(text.contains("count: 5") && text.contains("crash:"), "{text}");
    let rerun = capsim().arg("validate").arg(&fix).output().unwrap();
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    assert!(
        section.contains("| one instance of pool web crashes | **grow pool web from 4 to 5 instances** |")
            && section.contains("| holds | +$36.50 | resilience/fix-crash-web.yaml |"),
        "{section}"
    );

    let eight = resilience(&run(dir.path(), "eight", &pool(8, ""), &["--report"]));
    let crash = failure(&eight, "crash");
    assert_eq!(crash["holds"], true, "{eight:#}");
    assert_eq!(crash["verdict"], "holds");
    assert_eq!(crash["window"]["compliance"]["mean"], 1.0);
    assert_eq!(eight["single_points_of_failure"], serde_json::json!([]));
    assert_eq!(crash["remedy"], Value::Null, "what holds needs no remedy");
    let md = std::fs::read_to_string(dir.path().join("eight/report.md")).unwrap();
    assert!(md.contains("No single failure breaks the SLO."));
}

#[test]
fn a_zone_loss_is_simulated_and_the_scenarios_own_faults_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    // 9 instances over three zones at 42%; its own crash at 30 s is not
    // part of the check.
    let text = pool(9, ", zones: [z-a, z-b, z-c]") + "faults:\n  - { at: 30s, crash: { pool: web, instances: 4 } }\n";
    let check = resilience(&run(dir.path(), "zones", &text, &["--report"]));
    assert_eq!(check["own_faults_removed"], true);
    assert_eq!(check["baseline"]["meets_slo"], true, "{check:#}");
    let zone = failure(&check, "zone_outage");
    assert_eq!(zone["target"], "z-a");
    assert_eq!(zone["text"], "zone z-a is lost");
    // 6 instances left for 3.76 cores of work at the peak: 63%, it holds.
    assert_eq!(zone["holds"], true, "{check:#}");
    assert!(zone["window"]["error_rate"]["mean"].as_f64().unwrap() < 0.01);
    // The same zone lost from 4 instances (2 in z-a) leaves 2 for 3.4 cores.
    let check = resilience(&run(
        dir.path(),
        "zones4",
        &pool(4, ", zones: [z-a, z-b, z-c]"),
        &["--report"],
    ));
    let zone = failure(&check, "zone_outage");
    assert_eq!(zone["holds"], false, "{check:#}");
    assert_eq!(zone["verdict"], "SLO broken: single point of failure");
    // Three zones: the two left hold the peak with ⌈4 × 3/2⌉ = 6.
    assert_eq!(
        zone["remedy"]["changes"],
        serde_json::json!(["grow pool web from 4 to 6 instances"]),
        "{zone:#}"
    );
    assert_eq!(zone["remedy"]["holds"], true, "{zone:#}");
    let md = std::fs::read_to_string(dir.path().join("zones4/report.md")).unwrap();
    assert!(md.contains("| **zone z-a is lost** |"), "{md}");
    assert!(!md.contains("## Faults in this run"));
}

/// The pool above with reads from a database and a shared cache, behind a
/// balancer of two nodes.
fn data_tier(replicas: u32) -> String {
    pool(8, "")
        .replace(
            "classes: [ { name: a, cpu: { constant: 10ms } } ]",
            "keys: { count: 1000, zipf: 0.9 }\n  classes: [ { name: a, cpu: { constant: 10ms }, data: { caches: [redis], database: main } } ]",
        )
        .replace(
            "lb: { policy: least_connections, pool: web }",
            "lb: { policy: least_connections, pool: web, nodes: 2 }",
        )
        + &format!(
            "caches:\n  redis:\n    shared: {{ nodes: 3, threads: 1, service: {{ constant: 25us }}, rtt: 400us }}\n    capacity: 1000\n    ttl: 10m\ndatabases:\n  main:\n    primary: {{ cores: 8 }}\n    read: {{ constant: 1ms }}\n    write: {{ constant: 1ms }}\n    replicas: {replicas}\n"
        )
}

#[test]
fn a_primary_without_replica_is_a_structural_single_point_of_failure() {
    let dir = tempfile::tempdir().unwrap();
    let check = resilience(&run(dir.path(), "alone", &data_tier(0), &["--report"]));
    let kinds: Vec<&str> = check["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["crash", "primary_without_replica", "node_down", "lb_node_failure"],
        "{check:#}"
    );
    let primary = failure(&check, "primary_without_replica");
    assert_eq!(primary["structural"], true);
    assert_eq!(primary["holds"], false);
    assert_eq!(primary["window"], Value::Null, "not simulated");
    assert_eq!(primary["verdict"], "single point of failure (structural)");
    assert!(
        check["single_points_of_failure"]
            .as_array()
            .unwrap()
            .contains(&Value::from("the primary of database main fails"))
    );
    // One node of two lost, detected at once (the default): its clients
    // move to the other node, which has no capacity limit of its own.
    assert_eq!(failure(&check, "lb_node_failure")["holds"], true, "{check:#}");
    assert_eq!(failure(&check, "node_down")["target"], "redis");
    let md = std::fs::read_to_string(dir.path().join("alone/report.md")).unwrap();
    assert!(md.contains("| **the primary of database main fails** | – | – | – | single point of failure (structural)"));
    let remedy = &primary["remedy"];
    assert_eq!(
        remedy["changes"],
        serde_json::json!(["give database main 1 replica to fail over to (from 0; reads stay where they are)"])
    );

    let fix = std::fs::read_to_string(
        dir.path()
            .join("alone/resilience/fix-primary_without_replica-main.yaml"),
    )
    .unwrap();
    assert!(fix.contains("read_from: primary"), "a standby takes no reads: {fix}");

    // Multi-AZ: a standby takes over, which capsim does not simulate.
    let multi = data_tier(0).replace("    replicas: 0\n", "    replicas: 0\n    multi_az: true\n");
    let check = resilience(&run(dir.path(), "multi", &multi, &["--report"]));
    let primary = failure(&check, "primary_without_replica");
    assert_eq!(primary["structural"], false, "{check:#}");
    assert_eq!(primary["verdict"], "not simulated");
    assert!(primary["note"].as_str().unwrap().contains("Multi-AZ standby"));
    assert!(
        !check["single_points_of_failure"]
            .as_array()
            .unwrap()
            .contains(&Value::from("the primary of database main fails"))
    );

    // With a replica (reads left on the primary) the failover is simulated instead.
    let replicated = data_tier(1).replace("    replicas: 1\n", "    replicas: 1\n    read_from: primary\n");
    let check = resilience(&run(dir.path(), "replicated", &replicated, &["--report"]));
    let failover = failure(&check, "primary_failover");
    assert_eq!(failover["structural"], false);
    assert!(failover["window"]["compliance"]["mean"].is_number(), "{check:#}");
    // The remedy above was that very scenario, struck the same way.
    assert_eq!(remedy["window"], failover["window"]);
    assert_eq!(remedy["holds"], failover["holds"]);
    assert!(
        check["failures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] != "primary_without_replica")
    );
}

#[test]
fn a_peak_at_the_runs_end_still_leaves_two_minutes_to_judge() {
    let dir = tempfile::tempdir().unwrap();
    // The peak is the run's last 10 s: the failure strikes at 240 − 120 s.
    let text = pool(8, "").replace(
        "steps: [ { at: 0s, rate: 340 }, { at: 60s, rate: 376 }, { at: 70s, rate: 340 } ]",
        "steps: [ { at: 0s, rate: 340 }, { at: 230s, rate: 376 } ]",
    );
    let check = resilience(&run(dir.path(), "late", &text, &["--report"]));
    assert_eq!(check["failure_at_s"], 120.0, "{check:#}");
    assert_eq!(check["window_end_s"], 240.0);
}

#[test]
fn resilience_json_is_written_only_with_report_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let text = pool(4, ", zones: [z-a, z-b]");
    let plain = run(dir.path(), "plain", &text, &[]);
    assert!(!plain.join("resilience.json").exists());
    let one = run(dir.path(), "one", &text, &["--report", "--jobs", "1"]);
    let two = run(dir.path(), "two", &text, &["--report", "--jobs", "2"]);
    let bytes = |out: &Path| std::fs::read(out.join("resilience.json")).unwrap();
    assert_eq!(bytes(&one), bytes(&two));
    let check = resilience(&one);
    assert_eq!(check["failures"].as_array().unwrap().len(), 2);
    // Two zones: losing one leaves 2 instances for 3.76 cores of work. The
    // remedy spreads the pool over a third zone and sizes it so that two
    // of three hold the peak: ⌈4 × 3/2⌉ = 6.
    let zone = failure(&check, "zone_outage");
    assert_eq!(zone["holds"], false, "{check:#}");
    assert_eq!(
        zone["remedy"]["changes"],
        serde_json::json!([
            "spread pool web over zones z-a, z-b, z-c (from z-a, z-b)",
            "grow pool web from 4 to 6 instances"
        ])
    );
    assert_eq!(zone["remedy"]["holds"], true, "{zone:#}");
    let fix = |out: &Path| std::fs::read(out.join("resilience/fix-zone_outage-z-a.yaml")).unwrap();
    assert_eq!(fix(&one), fix(&two));
}

/// The zone struck is the one whose loss takes the most, not the first
/// named: web spreads over z-a and z-b, api runs only in z-b, so losing z-b
/// takes half of web and all of api. A pool confined to the other zone is
/// named in the note: striking one zone does not show its loss.
#[test]
fn the_zone_struck_is_the_one_whose_loss_takes_the_most() {
    let dir = tempfile::tempdir().unwrap();
    let two = ", zones: [z-a, z-b] }\n  api: { instance_type: one, count: 2, zones: [z-b]";
    let check = resilience(&run(dir.path(), "worst", &pool(8, two), &["--report"]));
    let zone = failure(&check, "zone_outage");
    assert_eq!(zone["target"], "z-b", "{check:#}");
    let note = zone["note"].as_str().unwrap();
    assert!(
        note.starts_with("the zone whose loss takes the most: all of pool api (its only zone), 1/2 of pool web"),
        "{note}"
    );
    // Ties go to the zone a pool lists first; the other single-zone pool is named.
    let three = ", zones: [z-a, z-b] }\n  api: { instance_type: one, count: 2, zones: [z-a] }\n  \
                 jobs: { instance_type: one, count: 2, zones: [z-b]";
    let check = resilience(&run(dir.path(), "tie", &pool(8, three), &["--report"]));
    let zone = failure(&check, "zone_outage");
    assert_eq!(zone["target"], "z-a", "{check:#}");
    let note = zone["note"].as_str().unwrap();
    assert!(
        note.contains("pool jobs runs only in zone z-b: losing that zone takes all of it"),
        "{note}"
    );
}

/// Two consumer instances of two cores at 75% (12 messages/s of 250 ms:
/// 3 of 4 cores; the peak at 2 minutes, where the failure strikes): losing
/// one leaves 150% of what is left until its replacement has booted (3
/// minutes), so the backlog grows by (3 − 2) / 0.25 = 4 messages/s for 180
/// s, 720 messages, then drains at 4/s for the window's last 120 s: ~240
/// left of the ~3,600 sent in the 5-minute window (6.7%), while the
/// requests that enqueue them stay fast. The request SLO does not see it;
/// the check does, and its N+1 (a third consumer: 50% busy, 75% with one
/// lost) keeps up.
#[test]
fn a_consumer_pool_that_falls_behind_is_a_single_point_of_failure() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
name: jobs
duration: 9m
warmup: 1m
interval: 10s
traffic:
  rate: { steps: [ { at: 0s, rate: 12 }, { at: 2m, rate: 13 }, { at: 2m10s, rate: 12 } ] }
  classes: [ { name: submit, cpu: { constant: 2ms }, data: { enqueue: jobs } } ]
  target: lb
load_balancers:
  lb: { pool: api }
pools:
  api: { instance_type: c6i.large, count: 2 }
  workers: { instance_type: c6i.large, count: 2, workers: 2, boot_time: { constant: 3m } }
queues:
  jobs: { consumers: workers, job: { constant: 250ms } }
slo:
  latency: { percentile: 99, threshold: 100ms }
  error_rate: 0.001
growth: [1.5]
"#;
    let out = run(dir.path(), "jobs", text, &["--report"]);
    let check = resilience(&out);
    let baseline = &check["baseline"];
    assert!(
        baseline["backlog_growth"]["mean"].as_f64().unwrap().abs() < 0.01,
        "{baseline}"
    );
    let lost = failure(&check, "crash");
    let lost = if lost["target"] == "workers" {
        lost
    } else {
        check["failures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "crash" && f["target"] == "workers")
            .unwrap()
    };
    let window = &lost["window"];
    assert_eq!(window["meets_slo"], true, "{lost}");
    let growth = window["backlog_growth"]["mean"].as_f64().unwrap();
    assert!((0.04..0.1).contains(&growth), "{lost}");
    assert_eq!(check["failure_at_s"], 120.0);
    assert_eq!(
        lost["verdict"], "a queue fell behind: single point of failure",
        "{lost}"
    );
    let remedy = &lost["remedy"];
    assert_eq!(remedy["holds"], true, "{remedy}");
    assert!(
        remedy["changes"][0].as_str().unwrap().contains("pool workers"),
        "{remedy}"
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("queue backlog growth"), "{report}");
}
