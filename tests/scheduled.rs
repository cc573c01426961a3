//! Scheduled actions: bounds and sizes changed at set times.

mod common;

use capsim::metrics::EventKind;
use capsim::model::simulate;

fn pool(autoscaler: &str, schedule: &str) -> String {
    format!(
        r#"
name: sched
duration: 1h
interval: 1m
traffic:
  rate: {{ constant: 20 }}
  classes: [ {{ name: a, cpu: {{ constant: 10ms }} }} ]
  target: lb
load_balancers:
  lb: {{ pool: web }}
pools:
  web:
    instance_type: c6i.large
    count: 2
    boot_time: {{ constant: 30s }}
{autoscaler}
    schedule: {schedule}
"#
    )
}

fn ready_at(r: &capsim::model::RunResult, minute: usize) -> u32 {
    r.rows[minute - 1].pools[0].ready
}

#[test]
fn a_fixed_pool_changes_size_on_schedule() {
    let yaml = pool("", "[ { at: 10m, desired: 5 }, { at: 20m, every: 20m, desired: 3 } ]");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    assert_eq!(ready_at(&r, 10), 2);
    assert_eq!(ready_at(&r, 12), 5); // booted 30 s after 10:00
    assert_eq!(ready_at(&r, 25), 3);
    let runs = r.events.iter().filter(|e| e.kind == EventKind::ScheduledAction).count();
    assert_eq!(runs, 1 + 3); // 10m once; 20m, 40m, 60m
}

#[test]
fn a_schedule_raises_an_hpa_minimum_and_an_asg_minimum() {
    // Light load: the HPA would keep its minimum of 2. At 30 m the minimum
    // becomes 6; the HPA applies it at its next sync (below minReplicas → min).
    let hpa = "    autoscaler:\n      hpa: { min_replicas: 2, max_replicas: 10, behavior: {} }";
    let r = simulate(&common::spec(&pool(hpa, "[ { at: 30m, min: 6 } ]")), 1, 0, &mut |_| {});
    let d = r.decisions.iter().find(|d| d.time.as_secs_f64() >= 1800.0).unwrap();
    assert_eq!((d.time.as_secs_f64(), d.decision.desired), (1800.0, 6));
    assert_eq!(ready_at(&r, 35), 6);
    // An Auto Scaling group moves its desired capacity inside the new bounds at once.
    let asg = "    autoscaler:\n      aws:\n        min_size: 2\n        max_size: 10\n        policies: [ { target_tracking: { metric: cpu_utilization, target: 50 } } ]";
    let r = simulate(
        &common::spec(&pool(asg, "[ { at: 30m, min: 6 }, { at: 45m, min: 2, max: 3 } ]")),
        1,
        0,
        &mut |_| {},
    );
    assert_eq!(ready_at(&r, 32), 6);
    // At 45 m the maximum drops to 3: three instances drain at once (target
    // tracking may then take it to the minimum of 2).
    let drained = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::InstanceDraining && e.time.as_secs_f64() == 2700.0);
    assert!(drained.count() >= 3);
    assert!((47..=60).all(|m| (2..=3).contains(&ready_at(&r, m))));
}

#[test]
fn schedules_are_validated() {
    let bad = |yaml: String| {
        capsim::scenario::load(
            &yaml,
            "s.yaml",
            capsim::scenario::Format::Yaml,
            &capsim::scenario::NoFiles,
        )
        .unwrap_err()
        .to_string()
    };
    let e = bad(pool("", "[ { at: 10m, min: 3 } ]"));
    assert!(
        e.contains("pools.web.schedule[0]: min and max change an autoscaler's bounds"),
        "{e}"
    );
    let e = bad(pool("", "[ { at: 10m } ]"));
    assert!(
        e.contains("pools.web.schedule[0]: give at least one of min, max, desired"),
        "{e}"
    );
    let e = bad(pool("", "[ { at: 10m, desired: 3, every: 10s } ]"));
    assert!(e.contains("pools.web.schedule[0].every: must be at least 1m"), "{e}");
}
