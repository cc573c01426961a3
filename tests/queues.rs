//! Message queues: consumers drain a queue like an M/M/c station, the
//! visibility timeout brings back what failed or was too slow, dead-letter
//! after `max_receives`, a bounded queue rejects, and KEDA scales the
//! consumers on the queue's depth.

mod common;

use capsim::metrics::QueueSummary;
use capsim::model::{RunResult, simulate};
use common::{assert_matches, measure, mmc_wait, spec};

/// Producers that only enqueue (no CPU) in front of a consumer pool of
/// `consumers` one-core, one-worker instances.
fn pipeline(rate: &str, consumers: &str, queue: &str, seconds: u32) -> String {
    format!(
        r#"
name: queue
duration: {seconds}s
warmup: {warmup}s
traffic:
  rate: {rate}
  classes:
    - name: upload
      kind: write
      cpu: {{ constant: 0s }}
      data: {{ enqueue: jobs }}
  target: lb
instance_types:
  w1: {{ vcpu: 1, memory_gib: 1, hourly_usd: 0.01 }}
load_balancers:
  lb: {{ policy: round_robin, pool: api }}
pools:
  api:
    instance_type: c6i.xlarge
    count: 2
    workers: 1000
    queue_capacity: 1000
  workers:
    instance_type: w1
    workers: 1
{consumers}
queues:
  jobs:
    consumers: workers
{queue}
"#,
        warmup = seconds / 10
    )
}

fn queue(r: &RunResult) -> &QueueSummary {
    &r.summary.data.as_ref().expect("a data tier").queues[0]
}

fn run(yaml: &str, seed: u64) -> RunResult {
    let r = simulate(&spec(yaml), seed, 0, &mut |_| {});
    assert!(r.summary.requests.conserved(), "{:?}", r.summary.requests);
    r
}

#[test]
fn consumers_drain_a_queue_like_mmc() {
    // 32 messages/s, 100 ms jobs on 4 one-worker consumers: ρ = 0.8. With
    // no round trip, enqueue to deletion is an M/M/4 sojourn.
    let yaml = pipeline(
        "{ constant: 32 }",
        "    count: 4",
        "    job: { exponential: { mean: 100ms } }\n    rtt: 0s\n    visibility_timeout: 1h",
        2000,
    );
    let spec = spec(&yaml);
    let (lambda, mu) = (32.0, 10.0);
    let theory_ms = (mmc_wait(4, lambda, mu) + 1.0 / mu) * 1e3;
    let e = measure(&spec, 3, 10, |r| queue(r).end_to_end.mean_ms);
    assert_matches(
        "queue with 4 consumers at ρ = 0.8: enqueue to deletion (ms)",
        theory_ms,
        e,
    );
    let u = measure(&spec, 3, 10, |r| queue(r).consumer_utilization);
    assert_matches("queue with 4 consumers at ρ = 0.8: consumer utilization", 0.8, u);
    // Little's law on the queue: mean depth = λ × mean time in it.
    let depth = measure(&spec, 3, 10, |r| queue(r).depth_mean);
    assert_matches(
        "queue with 4 consumers at ρ = 0.8: mean depth",
        lambda * theory_ms / 1e3,
        depth,
    );
}

#[test]
fn failed_attempts_return_after_the_visibility_timeout_and_dead_letter_after_max_receives() {
    // Half the attempts fail; two receives at most: a quarter of the
    // messages end in the dead-letter queue, the rest are deleted, and a
    // retried message waits out the visibility timeout.
    let yaml = pipeline(
        "{ constant: 20 }",
        "    count: 8",
        "    job: { constant: 10ms }\n    visibility_timeout: 5s\n    max_receives: 2\n    failure_probability: 0.5",
        1200,
    );
    let r = run(&yaml, 5);
    let q = queue(&r);
    let dead = q.dead_lettered as f64 / q.enqueued as f64;
    println!(
        "failure 0.5, max_receives 2: {} enqueued, {} deleted, {} dead-lettered ({dead:.4}, theory 0.25), {} failed, {} timed out",
        q.enqueued, q.deleted, q.dead_lettered, q.failed, q.timed_out
    );
    assert!((dead - 0.25).abs() < 0.015, "dead-letter fraction {dead}");
    // Every failed attempt comes back once (up to attempts near the window's edges).
    assert!(q.failed.abs_diff(q.timed_out) < 20, "{q:?}");
    assert_eq!(q.stale, 0);
    // Deleted on the first receive: ~12 ms; on the second: after the 5 s timeout.
    assert!(q.end_to_end.p50_ms < 20.0, "{:?}", q.end_to_end);
    assert!(q.end_to_end.p90_ms > 5000.0, "{:?}", q.end_to_end);
}

#[test]
fn a_consumer_slower_than_the_visibility_timeout_does_the_work_again() {
    // Jobs take 3 s against a 2 s visibility timeout: every receive times
    // out, the message is received again while the first consumer still
    // works, and no receipt is ever the latest when its work ends.
    let yaml = pipeline(
        "{ constant: 1 }",
        "    count: 20",
        "    job: { constant: 3s }\n    visibility_timeout: 2s\n    max_receives: 3",
        600,
    );
    let r = run(&yaml, 5);
    let q = queue(&r);
    println!(
        "3 s jobs, 2 s timeout: {} enqueued, {} received, {} deleted, {} stale, {} dead-lettered",
        q.enqueued, q.received, q.deleted, q.stale, q.dead_lettered
    );
    assert_eq!(q.deleted, 0);
    // Each message is received three times, then dead-lettered; every
    // receive's work is wasted (up to messages at the window's edges).
    assert!(q.received.abs_diff(3 * q.enqueued) < 20, "{q:?}");
    assert!(q.dead_lettered.abs_diff(q.enqueued) < 10, "{q:?}");
    assert!(q.stale.abs_diff(q.received) < 20, "{q:?}");
}

#[test]
fn a_bounded_queue_rejects_and_the_producer_fails() {
    // 50 messages/s against one consumer doing 10/s, at most 100 messages.
    let yaml = pipeline(
        "{ constant: 50 }",
        "    count: 1",
        "    job: { constant: 100ms }\n    max_depth: 100",
        300,
    );
    let r = run(&yaml, 5);
    let q = queue(&r);
    let requests = &r.summary.requests;
    println!(
        "bounded at 100: depth max {}, {} rejected, {} producer requests failed",
        q.depth_max, q.rejected, requests.failed_downstream
    );
    assert_eq!(q.depth_max, 100);
    // About 40 of the 50 per second are refused once the queue is full.
    let refused = q.rejected as f64 / (q.enqueued + q.rejected) as f64;
    assert!((refused - 0.8).abs() < 0.02, "refused {refused}");
    assert!(requests.failed_downstream >= q.rejected, "{requests:?}");
}

#[test]
fn keda_scales_consumers_on_queue_depth_from_and_to_zero() {
    // A 5-minute burst of 40 messages/s of 500 ms jobs: KEDA activates the
    // pool from zero, the HPA it creates scales it on ceil(depth / 5), and
    // after the burst KEDA takes it back to zero once the cooldown passes.
    let yaml = pipeline(
        "{ steps: [ { at: 0s, rate: 0 }, { at: 60s, rate: 40 }, { at: 360s, rate: 0 } ] }",
        r#"    count: 0
    boot_time: { constant: 10s }
    autoscaler:
      keda:
        min_replica_count: 0
        max_replica_count: 50
        polling_interval: 15s
        cooldown_period: 2m
        trigger: { metric: queue_depth, queue: jobs, target: 5 }"#,
        "    job: { constant: 500ms }",
        1200,
    );
    let r = run(&yaml, 5);
    let q = queue(&r);
    assert_eq!(q.dead_lettered + q.timed_out + q.rejected, 0, "{q:?}");
    let last = r.rows.last().and_then(|row| row.data.as_ref()).expect("a row");
    assert_eq!(last.queues[0].depth, 0, "every message is processed");
    let ready = |t: f64| {
        r.rows
            .iter()
            .find(|row| row.end.as_secs_f64() >= t)
            .map(|row| row.pools[1].ready)
            .expect("an interval")
    };
    println!(
        "KEDA on queue depth: ready consumers at 30 s {}, 300 s {}, 1150 s {}; depth max {}",
        ready(30.0),
        ready(300.0),
        ready(1150.0),
        q.depth_max
    );
    assert_eq!(ready(30.0), 0, "nothing to do, no pods");
    // 40/s × 0.5 s = 20 busy workers at least while the burst lasts.
    assert!(ready(300.0) >= 20, "{}", ready(300.0));
    assert_eq!(ready(1150.0), 0, "back to zero after the cooldown");
    // KEDA activated the pool on the depth it read, then let it go.
    let keda: Vec<_> = r.scaler_rows.iter().filter(|row| row.pool == 1).collect();
    assert_eq!(keda.first().map(|row| row.reason), Some("Activate"), "{keda:?}");
    assert!(
        keda.first().unwrap().policies.starts_with("keda queue_depth="),
        "{keda:?}"
    );
    assert_eq!(
        keda.last().map(|row| (row.reason, row.desired)),
        Some(("Deactivate", 0))
    );
}
