//! AWS EC2 Auto Scaling in the closed loop: alarm timing, step and
//! target-tracking semantics, cooldowns.

mod common;

use capsim::model::simulate;

/// c6i.large instances (2 cores) at 25 ms of CPU per request: one serves
/// 80 req/s at 100% CPU. Load steps from 100 to 400 req/s at one hour.
fn scenario(policies: &str, extra: &str) -> String {
    format!(
        r#"
name: asg
duration: 2h
interval: 1m
traffic:
  rate: {{ steps: [ {{ at: 0s, rate: 100 }}, {{ at: 1h, rate: 400 }} ] }}
  classes: [ {{ name: page, cpu: {{ constant: 25ms }} }} ]
  target: alb
load_balancers:
  alb: {{ policy: least_connections, pool: web }}
pools:
  web:
    instance_type: c6i.large
    count: 3
    workers: 64
    queue_capacity: 10000
    timeout: 10m
    boot_time: {{ constant: 60s }}
    autoscaler:
      aws:
        min_size: 2
        max_size: 30
{extra}
        policies:
{policies}
"#
    )
}

fn scale_outs(r: &capsim::model::RunResult) -> Vec<(f64, i64, i64)> {
    r.scaler_rows
        .iter()
        .filter(|row| row.reason == "ScaleOut")
        .map(|row| (row.time.as_secs_f64(), row.current, row.desired))
        .collect()
}

#[test]
fn target_tracking_waits_for_three_datapoints_and_scales_proportionally() {
    let yaml = scenario(
        "          - target_tracking: { metric: cpu_utilization, target: 50 }",
        "",
    );
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    let outs = scale_outs(&r);
    // Minutes ending 3660, 3720 and 3780 breach; with CloudWatch's 60 s delay
    // the third is readable at 3840.
    assert_eq!(outs[0].0, 3840.0, "{outs:?}");
    // 3 instances at 400 req/s × 25 ms = 10 cores of 6: CPU pinned at 100%
    // → ceil(3 × 100 / 50) = 6.
    assert_eq!((outs[0].1, outs[0].2), (3, 6));
    // Settles where 10 busy cores are at most 50% of the fleet: 10 instances.
    let last = r.rows.last().unwrap().pools[0].ready;
    assert!((10..=11).contains(&last), "{last}");
}

#[test]
fn step_scaling_follows_its_alarm_and_steps() {
    let policies = "          - step:
              alarm: { metric: cpu_utilization, evaluation_periods: 2, threshold: 60, comparison: greater_than_or_equal }
              adjustment_type: change_in_capacity
              steps: [ { lower: 0, upper: 20, adjustment: 1 }, { lower: 20, adjustment: 3 } ]";
    let r = simulate(&common::spec(&scenario(policies, "")), 1, 0, &mut |_| {});
    let outs = scale_outs(&r);
    // Two breaching minutes (ending 3660 and 3720), readable at 3780; CPU is
    // 100%, 40 above the threshold: the +3 step.
    assert_eq!(outs[0], (3780.0, 3, 6), "{outs:?}");
    // While those 3 warm up (300 s by default), breaches in the same step ask
    // for no more than what is on its way.
    assert!(outs[1].0 >= 3780.0 + 60.0 + 300.0, "{outs:?}");
}

#[test]
fn simple_scaling_waits_for_its_cooldown() {
    let policies = "          - simple:
              alarm: { metric: cpu_utilization, threshold: 60, comparison: greater_than_or_equal }
              adjustment_type: change_in_capacity
              adjustment: 1
              cooldown: 120s";
    let r = simulate(&common::spec(&scenario(policies, "")), 1, 0, &mut |_| {});
    let outs = scale_outs(&r);
    assert!(outs.len() >= 3, "{outs:?}");
    for w in outs.windows(2) {
        // The alarm stays in ALARM, so the next activity comes as soon as the
        // instance is in service (60 s) and the cooldown (120 s) is over:
        // exactly 180 s later, on the minute. A cooldown twice as long
        // would make it 300 s; one ignored, 60 s.
        assert_eq!(w[1].0 - w[0].0, 180.0, "{outs:?}");
        assert_eq!(w[1].1, w[0].2);
        assert_eq!(w[1].2, w[1].1 + 1);
    }
    assert!(r.scaler_rows.iter().any(|row| row.reason == "Cooldown"));
}

fn scale_ins(r: &capsim::model::RunResult) -> Vec<(f64, i64, i64)> {
    r.scaler_rows
        .iter()
        .filter(|row| row.reason == "ScaleIn")
        .map(|row| (row.time.as_secs_f64(), row.current, row.desired))
        .collect()
}

#[test]
fn simple_scale_in_walks_down_to_the_minimum_one_cooldown_apart() {
    // Four idle instances (10 req/s × 25 ms on 8 cores: 3% CPU), `-1 when
    // CPU < 30%`, cooldown 300 s, min 2. The activity completes when the
    // removed instance has finished the request it held (milliseconds), and
    // the cooldown runs from there: 4 → 3 at 420 s, the cooldown ends just
    // after 720 s, so the next evaluation (every minute, on the minute)
    // takes 3 → 2 at 780 s; then nothing: the minimum.
    let policies = "          - simple:
              alarm: { metric: cpu_utilization, threshold: 30, comparison: less_than }
              adjustment_type: change_in_capacity
              adjustment: -1
              cooldown: 300s";
    let yaml = scenario(policies, "")
        .replace(
            "{ steps: [ { at: 0s, rate: 100 }, { at: 1h, rate: 400 } ] }",
            "{ constant: 10 }",
        )
        .replace("count: 3", "count: 4")
        .replace("duration: 2h", "duration: 1h");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    let ins = scale_ins(&r);
    assert_eq!(ins.len(), 2, "{ins:?}");
    assert_eq!((ins[0].1, ins[0].2, ins[1].1, ins[1].2), (4, 3, 3, 2), "{ins:?}");
    assert_eq!((ins[0].0, ins[1].0), (420.0, 780.0), "{ins:?}");
    assert_eq!(r.rows.last().unwrap().pools[0].ready, 2);
}

#[test]
fn the_guides_classic_simple_policies_return_to_the_minimum_after_a_peak() {
    // `+2 above 70%, -1 below 30%, cooldown 300 s` (the scaling guides'
    // classic pair): 30 req/s, an hour at 400 req/s (10 cores of work), then
    // 30 req/s again. It must grow to 8 instances and, an hour after the
    // peak, be back at its minimum of 2. (The step from 2 instances to 13×
    // their load refuses about 2% of the day's requests while the +2 steps
    // catch up, one cooldown apart.)
    let policies = "          - simple:
              alarm: { metric: cpu_utilization, threshold: 70, comparison: greater_than }
              adjustment_type: change_in_capacity
              adjustment: 2
              cooldown: 300s
          - simple:
              alarm: { metric: cpu_utilization, threshold: 30, comparison: less_than }
              adjustment_type: change_in_capacity
              adjustment: -1
              cooldown: 300s";
    let yaml = scenario(policies, "")
        .replace(
            "{ steps: [ { at: 0s, rate: 100 }, { at: 1h, rate: 400 } ] }",
            "{ steps: [ { at: 0s, rate: 30 }, { at: 1h, rate: 400 }, { at: 2h, rate: 30 } ] }",
        )
        .replace("duration: 2h", "duration: 3h");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    let peak = r.rows.iter().map(|row| row.pools[0].ready).max().unwrap();
    let end = r.rows.last().unwrap().pools[0].ready;
    let ins = scale_ins(&r);
    println!("peak {peak} instances, {} scale-ins, {end} at the end", ins.len());
    assert!(peak >= 8, "{peak}");
    assert_eq!(end, 2, "{ins:?}");
    for w in ins.windows(2) {
        assert!(w[1].0 - w[0].0 >= 300.0, "{ins:?}");
    }
    let q = &r.summary.requests;
    let errors = q.rejected_queue_full + q.rejected_no_instance + q.timed_out + q.failed;
    assert!((errors as f64) < 0.03 * q.arrived as f64, "{q:?}");
}

#[test]
fn aws_settings_are_validated() {
    let bad = |yaml: String| {
        capsim::scenario::load(
            &yaml,
            "asg.yaml",
            capsim::scenario::Format::Yaml,
            &capsim::scenario::NoFiles,
        )
        .unwrap_err()
        .to_string()
    };
    let gap = "          - step:
              alarm: { metric: cpu_utilization, threshold: 60, comparison: greater_than_or_equal }
              adjustment_type: change_in_capacity
              steps: [ { lower: 0, upper: 10, adjustment: 1 }, { lower: 20, adjustment: 3 } ]";
    let e = bad(scenario(gap, ""));
    assert!(
        e.contains("policies[0].step.steps[1].lower: steps must be in order with no gaps or overlaps"),
        "{e}"
    );
    let m_of_n = "          - simple:
              alarm: { metric: cpu_utilization, evaluation_periods: 2, datapoints_to_alarm: 3, period: 90s, threshold: 60, comparison: greater_than }
              adjustment_type: change_in_capacity
              adjustment: 1";
    let e = bad(scenario(m_of_n, ""));
    assert!(
        e.contains("simple.alarm.period: must be a whole number of minutes"),
        "{e}"
    );
    assert!(
        e.contains("simple.alarm.datapoints_to_alarm: must be between 1 and evaluation_periods (2), got 3"),
        "{e}"
    );
    let e = bad(scenario(
        "          - target_tracking: { metric: cpu_utilization, target: 50 }",
        "",
    )
    .replace("max_size: 30", "max_size: 1"));
    assert!(
        e.contains("autoscaler.aws.max_size: must be between min_size and 100000, got 1"),
        "{e}"
    );
}

/// An hourly pattern (20 req/s, then 100 from minute 20 to 40), three
/// times; 100 ms of CPU per request, so the busy phase needs 10 cores.
fn hourly(predictive: &str) -> String {
    format!(
        r#"
name: predictive
duration: 3h
interval: 1m
traffic:
  rate: {{ steps: [ {{ at: 0s, rate: 20 }}, {{ at: 20m, rate: 100 }}, {{ at: 40m, rate: 20 }},
                    {{ at: 1h, rate: 20 }}, {{ at: 1h20m, rate: 100 }}, {{ at: 1h40m, rate: 20 }},
                    {{ at: 2h, rate: 20 }}, {{ at: 2h20m, rate: 100 }}, {{ at: 2h40m, rate: 20 }} ] }}
  classes: [ {{ name: job, cpu: {{ constant: 100ms }} }} ]
  target: alb
load_balancers:
  alb: {{ policy: least_connections, pool: web }}
pools:
  web:
    instance_type: c6i.large
    count: 2
    workers: 64
    queue_capacity: 100000
    timeout: 1h
    boot_time: {{ constant: 60s }}
    autoscaler:
      aws:
        min_size: 2
        max_size: 30
        policies: [ {{ target_tracking: {{ metric: cpu_utilization, target: 50 }} }} ]
{predictive}
"#
    )
}

#[test]
fn predictive_scaling_puts_capacity_in_place_before_the_repeat() {
    let with = simulate(
        &common::spec(&hourly("        predictive: { target: 50, period: 1h, lead: 5m }")),
        1,
        0,
        &mut |_| {},
    );
    let without = simulate(&common::spec(&hourly("")), 1, 0, &mut |_| {});
    // No forecast before one period less the lead has passed: nothing seen yet.
    assert!(
        with.scaler_rows
            .iter()
            .filter(|r| r.reason == "Predictive")
            .all(|r| r.time.as_secs_f64() >= 3300.0)
    );
    // 10 busy cores at 50% on 2-core instances: 10 instances, in place when
    // the second burst starts at 1h20m (minute 80), launched 5 minutes ahead.
    let ready = |r: &capsim::model::RunResult, minute: usize| r.rows[minute - 1].pools[0].ready;
    assert!(ready(&with, 80) >= 10, "{}", ready(&with, 80));
    assert!(ready(&without, 81) < 10, "{}", ready(&without, 81));
    // Queued work during the burst is far smaller with the forecast.
    let waiting = |r: &capsim::model::RunResult| {
        r.rows[79..90]
            .iter()
            .map(|row| row.pools[0].queue_length_mean)
            .sum::<f64>()
    };
    assert!(
        waiting(&with) * 10.0 < waiting(&without),
        "{} vs {}",
        waiting(&with),
        waiting(&without)
    );
}

/// The datapoint a scaling row shows for policy 0 (`policy[0] metric=V …`).
fn datapoint(row: &capsim::model::autoscaler::ScalerLogRow) -> f64 {
    let rest = row.policies.split("metric=").nth(1).expect("a datapoint");
    rest.split(' ').next().unwrap().parse().expect("a number")
}

#[test]
fn an_active_connections_policy_scales_out_when_requests_wait_longer() {
    // 100 → 200 req/s at one hour on 3 instances of 2 cores, 25 ms each:
    // utilisation goes from 42% to 83%, so requests queue and each instance
    // holds more of them at once (Little: held = rate × time in system).
    // Target: 2 requests held per instance, averaged over the minute.
    let policies = "          - target_tracking: { metric: active_connections, target: 2 }";
    let yaml = scenario(policies, "")
        .replace("{ at: 1h, rate: 400 }", "{ at: 1h, rate: 200 }")
        .replace("min_size: 2", "min_size: 3");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    let outs: Vec<_> = r.scaler_rows.iter().filter(|row| row.reason == "ScaleOut").collect();
    // Before the step nothing breaches; the minutes ending 3660, 3720 and
    // 3780 do, the third readable at 3840 after CloudWatch's delay.
    let first = outs.first().expect("a scale-out");
    assert_eq!((first.time.as_secs_f64(), first.current), (3840.0, 3), "{first:?}");
    // Proportional to the 3 instances the datapoint averaged, rounded up.
    let held = datapoint(first);
    assert!(held > 2.0, "{held}");
    assert_eq!(first.desired, (3.0 * held / 2.0).ceil() as i64, "{first:?}");
    // Before the step the fleet sat at its minimum, within target.
    assert!(
        r.scaler_rows
            .iter()
            .filter(|row| row.time.as_secs_f64() < 3600.0)
            .all(|row| row.desired == 3),
        "{:?}",
        r.scaler_rows
    );
}

/// Producers enqueue `rate` messages/s into `jobs`; a consumer group of
/// one-worker instances (100 ms per message) scales on the backlog per
/// instance.
fn backlog_scenario(rate: &str, policy: &str) -> String {
    format!(
        r#"
name: sqs-consumers
duration: 1h
interval: 1m
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
    count: 2
    boot_time: {{ constant: 60s }}
    autoscaler:
      aws:
        min_size: 2
        max_size: 40
        instance_warmup: 60s
        policies:
          - {policy}
queues:
  jobs:
    consumers: workers
    job: {{ constant: 100ms }}
    rtt: 0s
    visibility_timeout: 10m
"#
    )
}

#[test]
fn a_backlog_per_instance_policy_scales_consumers_with_the_queue() {
    // as-using-sqs-queue.md: visible messages over instances in service,
    // target = acceptable latency / time per message = 20 s / 0.1 s = 200.
    // 10 msg/s is half of what 2 consumers do; from 10 min, 60 msg/s needs
    // 6; from 30 min nothing more arrives.
    let rate = "{ steps: [ { at: 0s, rate: 10 }, { at: 10m, rate: 60 }, { at: 30m, rate: 0 } ] }";
    let policy = "target_tracking: { metric: backlog_per_instance, queue: jobs, target: 200 }";
    let r = simulate(&common::spec(&backlog_scenario(rate, policy)), 1, 0, &mut |_| {});
    assert!(r.summary.requests.conserved());
    let outs: Vec<_> = r.scaler_rows.iter().filter(|row| row.reason == "ScaleOut").collect();
    let first = outs.first().expect("a scale-out");
    // The backlog grows 40 msg/s on 2 consumers: 1200 per instance after the
    // first minute. Three breaching minutes (ending 660, 720, 780), readable
    // at 840; the desired capacity is proportional to the 2 in service.
    assert_eq!((first.time.as_secs_f64(), first.current), (840.0, 2), "{first:?}");
    let backlog = datapoint(first);
    assert_eq!(
        first.desired,
        (2.0 * backlog / 200.0).ceil().min(40.0) as i64,
        "{first:?}"
    );
    // 40 msg/s for 3 minutes: about 7200 visible, 3600 per instance → 36.
    assert!((35..=37).contains(&first.desired), "{first:?}");
    // Nothing is left in the queue, and the group is back at its minimum.
    let q = &r.summary.data.as_ref().unwrap().queues[0];
    assert_eq!(q.enqueued, q.deleted, "{q:?}");
    assert_eq!(r.rows.last().unwrap().pools[1].ready, 2);
    // Before the burst the backlog stays far under the target: no scaling.
    assert!(
        r.scaler_rows
            .iter()
            .all(|row| row.time.as_secs_f64() >= 600.0 || row.desired == 2)
    );
}

#[test]
fn a_backlog_step_policy_adds_consumers_by_the_breach() {
    // A step policy on the same metric: ≥ 100 per instance adds 2, ≥ 1100 adds 6.
    let rate = "{ steps: [ { at: 0s, rate: 10 }, { at: 10m, rate: 60 }, { at: 30m, rate: 0 } ] }";
    let policy = "step: { alarm: { metric: backlog_per_instance, queue: jobs, threshold: 100, comparison: greater_than_or_equal }, adjustment_type: change_in_capacity, steps: [ { lower: 0, upper: 1000, adjustment: 2 }, { lower: 1000, adjustment: 6 } ] }";
    let r = simulate(&common::spec(&backlog_scenario(rate, policy)), 1, 0, &mut |_| {});
    let outs: Vec<_> = r.scaler_rows.iter().filter(|row| row.reason == "ScaleOut").collect();
    // The minute ending 660 holds about 40 × 60 / 2 = 1200 per instance,
    // readable at 720: the +6 step on the 2 warm consumers.
    let first = outs.first().expect("a scale-out");
    assert_eq!(
        (first.time.as_secs_f64(), first.current, first.desired),
        (720.0, 2, 8),
        "{first:?}"
    );
    assert!(datapoint(first) >= 1100.0, "{first:?}");
}

#[test]
fn custom_metrics_are_validated() {
    let bad = |yaml: String| {
        capsim::scenario::load(
            &yaml,
            "asg.yaml",
            capsim::scenario::Format::Yaml,
            &capsim::scenario::NoFiles,
        )
        .unwrap_err()
        .to_string()
    };
    let rate = "{ constant: 10 }";
    let e = bad(backlog_scenario(
        rate,
        "target_tracking: { metric: backlog_per_instance, queue: job, target: 200 }",
    ));
    assert!(
        e.contains("pools.workers.autoscaler.aws.policies[0].target_tracking.queue: unknown queue `job`; known: jobs"),
        "{e}"
    );
    let e = bad(backlog_scenario(
        rate,
        "target_tracking: { metric: backlog_per_instance, target: 200 }",
    ));
    assert!(
        e.contains("policies[0].target_tracking.queue: a `backlog_per_instance` metric names its queue; known: jobs"),
        "{e}"
    );
    let e = bad(backlog_scenario(
        rate,
        "step: { alarm: { metric: cpu_utilization, queue: jobs, threshold: 1, comparison: greater_than }, adjustment_type: change_in_capacity, steps: [ { lower: 0, adjustment: 1 } ] }",
    ));
    assert!(
        e.contains("policies[0].step.alarm.queue: only a `backlog_per_instance` metric reads a queue"),
        "{e}"
    );
    let e = bad(backlog_scenario(
        rate,
        "target_tracking: { metric: queue_depth, target: 200 }",
    ));
    assert!(e.contains("unknown variant `queue_depth`"), "{e}");
    for known in [
        "cpu_utilization",
        "request_count_per_target",
        "active_connections",
        "backlog_per_instance",
    ] {
        assert!(e.contains(known), "{e}");
    }
}

#[test]
fn the_sqs_example_needs_its_cpu_policy_to_hold_the_workers() {
    // scenarios/aws-sqs-backlog.yaml: a drained queue reads a backlog of 0,
    // which asks for no capacity; the CPU policy keeps target tracking from
    // scaling in while the workers are busy (every policy must agree).
    let text = std::fs::read_to_string("scenarios/aws-sqs-backlog.yaml").unwrap();
    let cpu_line = "          - target_tracking: { metric: cpu_utilization, target: 70 }\n";
    assert!(text.contains(cpu_line));
    let both = simulate(&common::spec(&text), 11, 0, &mut |_| {});
    let alone = simulate(&common::spec(&text.replace(cpu_line, "")), 11, 0, &mut |_| {});
    let to_minimum = |r: &capsim::model::RunResult| scale_ins(r).iter().filter(|(_, _, desired)| *desired == 2).count();
    assert_eq!((to_minimum(&alone), to_minimum(&both)), (8, 0));
    let depth = |r: &capsim::model::RunResult| r.summary.data.as_ref().unwrap().queues[0].depth_max;
    assert_eq!((depth(&alone), depth(&both)), (6351, 3722));
}
