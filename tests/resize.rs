//! Vertical resize: every instance recreated with a new shape, one at a time.

mod common;

use capsim::metrics::EventKind;
use capsim::model::simulate;

const YAML: &str = r#"
name: resize
duration: 40m
interval: 10s
traffic:
  rate: { constant: 120 }
  classes: [ { name: a, cpu: { exponential: { mean: 50ms } } } ]
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web:
    instance_type: c6i.large
    count: 4
    workers: 16
    queue_capacity: 1000
    timeout: 1m
    boot_time: { constant: 60s }
    resize:
      - { at: 10m, instance_type: c6i.xlarge }
"#;

#[test]
fn instances_are_replaced_one_at_a_time_with_a_dip() {
    let r = simulate(&common::spec(YAML), 1, 0, &mut |_| {});
    assert!(r.summary.requests.conserved());
    assert!(
        r.events
            .iter()
            .any(|e| e.kind == EventKind::ResizeStarted && e.time.as_secs_f64() == 600.0)
    );
    // Four evictions, each 60 s after the previous (the replacement's boot).
    let evictions: Vec<f64> = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::InstanceDraining)
        .map(|e| e.time.as_secs_f64())
        .collect();
    assert_eq!(evictions, [600.0, 660.0, 720.0, 780.0]);
    // One instance short while each replacement boots; four again after.
    let ready_at = |t: f64| r.rows.iter().find(|row| row.end.as_secs_f64() >= t).unwrap().pools[0].ready;
    assert_eq!(ready_at(630.0), 3);
    assert_eq!(ready_at(900.0), 4);
    // 120 req/s × 50 ms = 6 cores: 75% of 8 before, 37.5% of 16 after.
    let util = |from: f64, to: f64| {
        let rows: Vec<_> = r
            .rows
            .iter()
            .filter(|row| row.start.as_secs_f64() >= from && row.end.as_secs_f64() <= to)
            .collect();
        rows.iter().map(|row| row.pools[0].cpu_utilization).sum::<f64>() / rows.len() as f64
    };
    assert!((0.70..0.80).contains(&util(60.0, 600.0)), "{}", util(60.0, 600.0));
    assert!((0.33..0.42).contains(&util(900.0, 2400.0)), "{}", util(900.0, 2400.0));
}

#[test]
fn resize_targets_are_checked() {
    let e = capsim::scenario::load(
        &YAML.replace("instance_type: c6i.xlarge }", "instance_type: c6i.xlarge, cores: 8 }"),
        "r.yaml",
        capsim::scenario::Format::Yaml,
        &capsim::scenario::NoFiles,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("pools.web.resize[0].cores: must be between 1 and c6i.xlarge's 4 vCPUs, got 8"),
        "{e}"
    );
}
