//! A load balancer's health checks, retries, backups, slow start and
//! keepalive in a running system: a dead backend keeps getting tries until
//! a check (or its controller) notices; retries hide a crash from clients;
//! try timeouts under overload turn into a retry storm that a retry budget
//! bounds; backups take over only when no primary can; a missed keepalive
//! connection costs exactly its handshake.

mod common;

use capsim::metrics::LbSummary;
use capsim::model::{RunResult, simulate};

/// Four instances of one 8-core type behind `lb` with the given balancer
/// settings, 400 req/s of 10 ms requests, and the given faults.
fn scenario(lb: &str, faults: &str) -> String {
    format!(
        r#"
name: balancing
duration: 3m
traffic:
  rate: {{ constant: 400 }}
  classes:
    - name: a
      cpu: {{ constant: 10ms }}
  target: lb
load_balancers:
  lb:
    policy: round_robin
    pool: web
{lb}
pools:
  web:
    instance_type: c6i.2xlarge
    count: 4
    zones: [a, b]
    boot_time: {{ constant: 20s }}
    timeout: 1h
faults:
{faults}
"#
    )
}

fn run(yaml: &str) -> RunResult {
    let r = simulate(&common::spec(yaml), 3, 0, &mut |_| {});
    assert!(r.summary.requests.conserved(), "{:?}", r.summary.requests);
    r
}

fn lb(r: &RunResult) -> &LbSummary {
    &r.summary.load_balancers[0]
}

const CRASH: &str = "  - { at: 61s, crash: { pool: web, detected_after: 10m } }";

#[test]
fn a_dead_backend_gets_its_share_until_the_active_check_takes_it_out() {
    // Probes every 2 s, out after 2 failures: the probes at 62 s and 64 s
    // fail, so the dead instance gets a quarter of 400 req/s for 3 s: 300
    // tries. Round robin gives it every fourth Poisson arrival (Erlang-4
    // gaps, CV² 1/4): variance 300 / 4, SE 8.7; 300 ± 4 SE.
    let r = run(&scenario(
        "    health_check: { interval: 2s, timeout: 1s, fails: 2, passes: 2 }",
        CRASH,
    ));
    let refused = lb(&r).failed_tries_refused;
    println!("refused with checks: {refused}");
    assert!((265..=335).contains(&refused), "{refused}");
    assert_eq!(r.summary.requests.failed, refused);
    assert_eq!(lb(&r).marked_down, 1);
    // Without checks it gets them until its controller notices, 10 minutes
    // later: to the end of the run, 100 req/s × 119 s = 11,900 (SE
    // √(11,900 / 4) = 55); ± 4 SE.
    let r = run(&scenario("    connect_timeout: 5s", CRASH));
    let failed = r.summary.requests.failed;
    println!("failed without checks: {failed}");
    assert!((11_680..=12_120).contains(&failed), "{failed}");
}

#[test]
fn passive_marking_lets_a_dead_backend_fail_one_try_per_fail_timeout() {
    let r = run(&scenario("    passive: { max_fails: 1, fail_timeout: 10s }", CRASH));
    // One failed try at the crash, then one each time its 10 s are up:
    // 61 + 10k s for k = 0..11 within the 3 minutes.
    assert_eq!(lb(&r).failed_tries_refused, 12, "{:?}", lb(&r));
    assert_eq!(lb(&r).ejected, 12);
}

#[test]
fn retries_hide_a_crash_from_clients() {
    let r = run(&scenario(
        "    health_check: { interval: 2s, fails: 2 }\n    retries: { max: 1 }",
        CRASH,
    ));
    let l = lb(&r);
    println!("{l:?}");
    assert_eq!(r.summary.requests.failed, 0, "{:?}", r.summary.requests);
    // Every refused try (and the requests the crash cut off) was retried once.
    assert!(l.failed_tries_refused > 200, "{l:?}");
    assert_eq!(l.retries, l.failed_tries_refused);
    assert!(l.tries_per_request > 1.0 && l.tries_per_request < 1.01, "{l:?}");
}

#[test]
fn an_unreachable_backend_costs_each_try_the_connect_timeout() {
    // Zone b goes dark: its two instances stop answering. A try sent there
    // waits the 1 s connect timeout before its retry.
    let r = run(&scenario(
        "    connect_timeout: 1s\n    health_check: { interval: 2s, timeout: 1s, fails: 2 }\n    retries: { max: 1 }",
        "  - { at: 61s, zone_outage: { zone: b, for: 10m, detected_after: 10m } }",
    ));
    let l = lb(&r);
    println!("{l:?} max latency {} ms", r.summary.latency.max_ms);
    assert!(l.failed_tries_unreachable > 300, "{l:?}");
    // A failed try is retried or fails its request: one retry, to one of
    // three others, half of which are dark until the checks catch up.
    let failed = r.summary.requests.failed;
    assert_eq!(failed, l.failed_tries_unreachable + l.failed_tries_refused - l.retries);
    assert!(failed * 4 < l.failed_tries_unreachable, "{failed} of {l:?}");
    // The probes at 62 s and 64 s time out at 63 s and 65 s.
    assert_eq!(l.marked_down, 2);
    let max = r.summary.latency.max_ms;
    assert!((1_010.0..1_030.0).contains(&max), "max latency {max} ms");
}

/// Two 2-core instances, 36 req/s of 100 ms (90%), and a 3× slowdown of
/// both for 2 minutes: the tries time out after 1 s and, without a budget,
/// each one is retried up to 3 times while the abandoned ones keep computing.
fn storm(retries: &str) -> RunResult {
    run(&format!(
        r#"
name: storm
duration: 6m
traffic:
  rate: {{ constant: 36 }}
  classes:
    - name: a
      cpu: {{ exponential: {{ mean: 100ms }} }}
  target: lb
load_balancers:
  lb:
    policy: round_robin
    pool: web
{retries}
pools:
  web:
    instance_type: c6i.large
    count: 2
    workers: 16
    queue_capacity: 1000
    timeout: 1h
faults:
  - {{ at: 1m, slowdown: {{ pool: web, instances: 2, factor: 3, for: 2m }} }}
"#
    ))
}

#[test]
fn try_timeouts_under_overload_become_a_retry_storm_that_a_budget_bounds() {
    let none = storm("    retries: { max: 0, try_timeout: 1s }");
    let storm_ = storm("    retries: { max: 3, try_timeout: 1s }");
    let budget = storm("    retries: { max: 3, try_timeout: 1s, budget: { ratio: 0.1, min_per_second: 1 } }");
    let show = |name: &str, r: &RunResult| {
        println!(
            "{name}: tries/request {:.2}, completed {}, timed out {}",
            lb(r).tries_per_request,
            r.summary.requests.completed,
            r.summary.requests.timed_out
        );
    };
    show("no retries", &none);
    show("retries", &storm_);
    show("budget", &budget);
    assert_eq!(lb(&none).retries, 0);
    // Retries multiply the load the slowed pool sees...
    assert!(lb(&storm_).tries_per_request > 1.5, "{:?}", lb(&storm_));
    // ...so fewer requests get through than with no retries at all.
    assert!(storm_.summary.requests.completed < none.summary.requests.completed);
    // A budget holds retries to its share.
    let b = lb(&budget);
    assert!(b.tries_per_request < 1.15, "{b:?}");
    assert!(b.retries_over_budget > 0, "{b:?}");
    assert!(budget.summary.requests.completed > storm_.summary.requests.completed);
}

#[test]
fn backups_serve_only_while_every_primary_is_down() {
    let yaml = r#"
name: backup
duration: 3m
traffic:
  rate: { constant: 100 }
  classes:
    - name: a
      cpu: { constant: 10ms }
  target: lb
load_balancers:
  lb:
    policy: round_robin
    health_check: { interval: 1s, fails: 1, passes: 1 }
    backends:
      - { pool: main }
      - { pool: standby, backup: true }
pools:
  main:
    instance_type: c6i.large
    count: 2
    boot_time: { constant: 30s }
    timeout: 1h
  standby:
    instance_type: c6i.large
    count: 1
    timeout: 1h
faults:
  - { at: 60s, crash: { pool: main, instances: 2, detected_after: 0s } }
"#;
    let r = run(yaml);
    let standby = &r.summary.pools[1];
    // The standby served from the crash until the replacements were ready
    // (30 s of boot), about 100 req/s × 30 s: nothing before or after.
    let served: u64 = r
        .rows
        .iter()
        .map(|row| (row.pools[1].busy_cores * (row.end - row.start).as_secs_f64() / 0.01).round() as u64)
        .sum();
    println!(
        "standby served about {served} requests, utilization {}",
        standby.cpu_utilization
    );
    assert!((2_700..=3_300).contains(&served), "{served}");
    for row in &r.rows {
        let t = row.start.as_secs_f64();
        if !(50.0..100.0).contains(&t) {
            assert_eq!(row.pools[1].busy_cores, 0.0, "standby busy at {t} s");
        }
    }
}

#[test]
fn a_missed_keepalive_connection_costs_its_handshake() {
    let yaml = |idle: u32| {
        format!(
            r#"
name: keepalive
duration: 2m
warmup: 10s
traffic:
  rate: {{ constant: 100 }}
  classes:
    - name: a
      cpu: {{ constant: 10ms }}
  target: lb
load_balancers:
  lb:
    pool: web
    keepalive: {{ idle: {idle}, handshake: 3ms }}
pools:
  web:
    instance_type: c6i.2xlarge
    count: 2
"#
        )
    };
    // Without idle connections every try opens one: 10 + 3 ms each.
    let cold = run(&yaml(0));
    assert_eq!(lb(&cold).new_connections, cold.summary.requests.arrived);
    assert!(
        (cold.summary.latency.mean_ms - 13.0).abs() < 1e-6,
        "{}",
        cold.summary.latency.mean_ms
    );
    // With a cache each instance opens a few and reuses them.
    let warm = run(&yaml(32));
    println!("new connections with keepalive: {}", lb(&warm).new_connections);
    assert!(lb(&warm).new_connections < 20, "{:?}", lb(&warm));
    assert!(warm.summary.latency.mean_ms < 10.01, "{}", warm.summary.latency.mean_ms);
}

#[test]
fn a_failed_balancer_node_loses_its_clients_until_they_move() {
    // 4 nodes, each reached by a quarter of the 10,000 clients. Node 2
    // fails at 60 s for a minute; its clients move to the other nodes 20 s
    // later: a quarter of 400 req/s for 20 s = 2,000 requests fail.
    let r = run(&scenario(
        "    nodes: 4",
        "  - { at: 60s, lb_node_failure: { balancer: lb, node: 2, for: 1m, detected_after: 20s } }",
    ));
    let lost = lb(&r).failed_at_dead_node as f64;
    println!("{:?}\n{:?}", lb(&r), r.summary.faults);
    assert!((lost - 2_000.0).abs() < 150.0, "{lost}");
    assert_eq!(r.summary.requests.failed as f64, lost);
    let f = &r.summary.faults[0];
    assert_eq!((f.kind, f.time_to_recover_s), ("lb_node_failure", Some(60.0)));
    assert_eq!(f.errors_until_recovered as f64, lost);
    // A single node has nowhere to send its clients: everything fails
    // while it is down (400 req/s for 60 s).
    let r = run(&scenario(
        "",
        "  - { at: 60s, lb_node_failure: { balancer: lb, for: 1m, detected_after: 20s } }",
    ));
    let failed = r.summary.requests.failed as f64;
    assert!((failed - 24_000.0).abs() < 600.0, "{failed}");
}
