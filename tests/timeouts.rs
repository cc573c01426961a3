//! Client timeouts are counted at the deadline, and the server keeps working
//! on a request it already started.

mod common;

use capsim::model::simulate;

#[test]
fn timeouts_are_exact_and_started_work_continues() {
    // One worker, 10 s of CPU per request, one arrival per second, 1.5 s timeout.
    let spec = common::spec(
        r#"
name: timeouts
duration: 20s
interval: 1s
traffic:
  rate: { constant: 1 }
  arrivals: deterministic
  classes: [ { name: slow, cpu: { constant: 10s } } ]
  target: lb
load_balancers:
  lb: { pool: one }
instance_types:
  unit: { vcpu: 1, memory_gib: 1, hourly_usd: 1 }
pools:
  one: { instance_type: unit, count: 1, workers: 1, queue_capacity: 100, timeout: 1.5s }
"#,
    );
    let r = simulate(&spec, 1, 0, &mut |_| {});
    let q = &r.summary.requests;
    // Arrivals at t = 0..19; request k gives up at k + 1.5, so 19 have by t = 20.
    assert_eq!((q.arrived, q.completed, q.timed_out, q.in_flight), (20, 0, 19, 1));
    // Each interval [k, k+1) for k ≥ 1 sees exactly one deadline (k − 1 + 1.5).
    let per_interval: Vec<u64> = r.rows.iter().map(|row| row.counters.timed_out).collect();
    assert_eq!(per_interval, [[0].as_slice(), &[1; 19]].concat());
    // The instance computed the whole time: request 0 from 0 to 10, then
    // request 9 (the only one still waiting at t = 10) from 10 to 20.
    assert_eq!(r.summary.pools[0].cpu_utilization, 1.0);
}
