//! Scheduled instance faults: a crash fails what the instance held and its
//! replacement restores the pool after detection, boot and readiness; an
//! outage of a pool's only instance costs every request until then; a
//! slowdown multiplies service times while it lasts; a zone outage takes
//! every instance there and replacements go to the other zones. Each fault's cost is
//! in `summary.json` → `faults` and its instants in `events.csv`.

mod common;

use capsim::metrics::FaultSummary;
use capsim::model::{RunResult, simulate};
use capsim::report::{events_csv, write_run};

fn pool(count: u32, rate: &str, service: &str, faults: &str) -> String {
    zoned(count, "", rate, service, faults)
}

fn zoned(count: u32, zones: &str, rate: &str, service: &str, faults: &str) -> String {
    format!(
        r#"
name: faults
duration: 5m
traffic:
  rate: {rate}
  classes:
    - name: a
      cpu: {service}
  target: lb
load_balancers:
  lb: {{ policy: round_robin, pool: web }}
pools:
  web:
    instance_type: c6i.2xlarge
    count: {count}
{zones}
    boot_time: {{ constant: 20s }}
    readiness_delay: 5s
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

fn fault(r: &RunResult) -> &FaultSummary {
    &r.summary.faults[0]
}

fn fault_events(r: &RunResult) -> Vec<String> {
    events_csv(r)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("crashed") || l.contains("slowed") || l.contains("restored") || l.contains("launched"))
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn a_crash_fails_what_it_held_and_the_replacement_restores_the_pool() {
    // 4 instances of 8 cores, 160 req/s of 100 ms: each holds about 4
    // requests; the 3 left run at 67%.
    let r = run(&pool(
        4,
        "{ constant: 160 }",
        "{ constant: 100ms }",
        "  - { at: 60s, crash: { pool: web, detected_after: 10s } }",
    ));
    let f = fault(&r);
    println!("crash: {f:?}");
    assert_eq!(f.kind, "crash");
    assert_eq!(f.instances, 1);
    // The crash fails everything the instance held: the requests that
    // reached it in the last 100 ms, 40 req/s × 0.1 s = 4 on average. Round
    // robin gives it every fourth Poisson arrival (Erlang-4 gaps, CV² 1/4),
    // so the count's variance is about 4 / 4 = 1: 4 ± 4 SE, and at least one.
    assert!((1..=8).contains(&f.requests_failed), "{}", f.requests_failed);
    // ...and, with no health checks on the balancer, the dead instance
    // keeps its quarter of the traffic (40 req/s) until its controller
    // notices and deregisters it 10 s later: 400 tries, variance 400 / 4
    // (every fourth arrival again), SE 10. 400 ± 4 SE.
    let refused = r.summary.requests.failed - f.requests_failed;
    assert!((360..=440).contains(&refused), "{refused}");
    // Noticed after 10 s, booted in 20 s, ready 5 s later.
    assert_eq!(f.time_to_recover_s, Some(35.0));
    // Three instances take the load meanwhile: no other errors.
    assert_eq!(f.errors_until_recovered, r.summary.requests.failed);
    assert_eq!(fault_events(&r)[0].split(',').nth(1), Some("instance_crashed"));
    assert!(
        fault_events(&r).contains(&"70,instance_launched,web".to_string()),
        "{:?}",
        fault_events(&r)
    );
}

#[test]
fn losing_the_only_instance_costs_every_request_until_it_is_replaced() {
    // Scale-up's single point of failure: 10 req/s, nothing to fail over to
    // for 5 s of detection (the dead instance refuses them), 20 s of boot
    // and 5 s of readiness (nothing is in rotation).
    let r = run(&pool(
        1,
        "{ constant: 10 }",
        "{ constant: 10ms }",
        "  - { at: 100s, crash: { pool: web, detected_after: 5s } }",
    ));
    let f = fault(&r);
    println!("single instance: {f:?}");
    assert_eq!(f.time_to_recover_s, Some(30.0));
    // 10 req/s refused for 5 s: 50, Poisson SE √50 = 7.1; the range is
    // ±2.8 SE already (4 SE would be 22..=78), and the run is seeded.
    let refused = r.summary.requests.failed - f.requests_failed;
    assert!((30..=70).contains(&refused), "{refused}");
    // Then 25 s with nothing in rotation: 250, SE 15.8; ±3.2 SE.
    let unserved = r.summary.requests.rejected_no_instance;
    assert!((200..=300).contains(&unserved), "{unserved}");
    assert_eq!(f.errors_until_recovered, r.summary.requests.failed + unserved);
}

#[test]
fn a_crash_noticed_after_the_run_never_recovers() {
    let r = run(&pool(
        2,
        "{ constant: 20 }",
        "{ constant: 10ms }",
        "  - { at: 4m, crash: { pool: web, instances: 5, detected_after: 10m } }",
    ));
    let f = fault(&r);
    assert_eq!(f.instances, 2, "only two were ready");
    assert_eq!(f.time_to_recover_s, None);
    assert!(f.errors_until_recovered >= 1000, "{}", f.errors_until_recovered);
}

#[test]
fn a_slowdown_multiplies_service_time_while_it_lasts() {
    // One instance, 10 ms requests well apart: 10 ms, then 30 ms for a minute.
    let r = run(&pool(
        1,
        "{ constant: 2 }",
        "{ constant: 10ms }",
        "  - { at: 100s, slowdown: { pool: web, factor: 3, for: 60s } }",
    ));
    let f = fault(&r);
    let latency = &r.summary.latency;
    println!(
        "slowdown: {f:?}; latency p50 {} ms, max {} ms",
        latency.p50_ms, latency.max_ms
    );
    assert_eq!(f.kind, "slowdown");
    assert_eq!(f.time_to_recover_s, Some(60.0));
    assert_eq!(f.requests_failed, 0);
    assert!((latency.p50_ms - 10.0).abs() < 0.01);
    assert!((latency.max_ms - 30.0).abs() < 0.5, "{}", latency.max_ms);
    // Every request took 10 ms or, inside the slowdown, 30 ms (a request
    // straddling 100 s or 160 s in between), so the total latency counts
    // the slowed ones: slowed = (Σ latency − 10 ms × count) / 20 ms.
    // Poisson arrivals at 2/s put 120 of about 600 in the 60 s of 300:
    // a fraction of 0.2 with binomial standard error √(0.2 × 0.8 / 600) =
    // 0.016. Within 4 SE (0.065): a slowdown that lapsed after the first
    // request, or lasted half as long, is far outside.
    let count = latency.count as f64;
    let slowed = (latency.mean_ms * count - 10.0 * count) / 20.0;
    let fraction = slowed / count;
    println!("slowed {slowed:.1} of {count} requests: {fraction:.3}");
    assert!((fraction - 0.2).abs() <= 4.0 * (0.2 * 0.8 / count).sqrt(), "{fraction}");
    assert_eq!(
        fault_events(&r),
        ["100,instance_slowed,web", "160,instance_restored,web"]
    );
}

#[test]
fn a_zone_outage_takes_its_instances_and_replacements_go_elsewhere() {
    // 6 instances over 3 zones; zone b goes dark for 2 minutes. Its 2
    // instances are replaced in a and c after 10 s and serve 25 s later.
    let r = run(&zoned(
        6,
        "    zones: [a, b, c]",
        "{ constant: 240 }",
        "{ constant: 100ms }",
        "  - { at: 60s, zone_outage: { zone: b, for: 2m, detected_after: 10s } }",
    ));
    let f = fault(&r);
    println!("zone outage: {f:?}");
    assert_eq!(f.kind, "zone_outage");
    assert_eq!(f.zone.as_deref(), Some("b"));
    assert_eq!(f.pools, ["web"]);
    assert_eq!(f.instances, 2);
    assert_eq!(f.time_to_recover_s, Some(35.0));
    // Until they are deregistered 10 s later, the two dark instances get a
    // third of 240 req/s, and those tries fail.
    let lost = r.summary.requests.failed - f.requests_failed;
    assert!((700..=900).contains(&lost), "{lost}");
    let launched = fault_events(&r)
        .iter()
        .filter(|e| e.starts_with("70,instance_launched"))
        .count();
    assert_eq!(launched, 2);
    // The zone's return launches nothing: the pool is whole elsewhere.
    assert!(!fault_events(&r).iter().any(|e| e.starts_with("180,instance_launched")));
}

#[test]
fn a_pool_in_one_zone_waits_for_the_zone_to_come_back() {
    let r = run(&zoned(
        2,
        "    zones: [a]",
        "{ constant: 10 }",
        "{ constant: 10ms }",
        "  - { at: 60s, zone_outage: { zone: a, for: 60s } }",
    ));
    let f = fault(&r);
    println!("single zone: {f:?}");
    // Nothing can launch until 120 s; then 20 s of boot and 5 of readiness.
    assert_eq!(f.time_to_recover_s, Some(85.0));
    let refused = r.summary.requests.rejected_no_instance;
    assert!((750..=950).contains(&refused), "{refused}");
    assert!(fault_events(&r).contains(&"120,instance_launched,web".to_string()));
}

fn spot_fleet(service: &str, timeout: &str, notice: &str) -> String {
    format!(
        r#"
name: spot
duration: 10m
traffic:
  rate: {{ constant: 40 }}
  classes:
    - name: a
      cpu: {service}
  target: lb
instance_types:
  c6i.xlarge-spot: {{ vcpu: 4, memory_gib: 8, hourly_usd: 0.07, market: spot }}
load_balancers:
  lb:
    policy: least_connections
    backends:
      - {{ pool: spot, weight: 3 }}
      - {{ pool: base, weight: 1 }}
pools:
  spot:
    instance_type: c6i.xlarge-spot
    count: 6
    boot_time: {{ constant: 20s }}
    readiness_delay: 5s
    timeout: {timeout}
  base:
    instance_type: c6i.xlarge
    count: 2
    timeout: {timeout}
faults:
  - {{ at: 2m, spot_interruption: {{ pool: spot, instances: 2{notice} }} }}
"#
    )
}

#[test]
fn a_spot_interruption_drains_through_its_notice_and_is_replaced_at_once() {
    // Short requests finish well inside the two-minute notice: nothing fails.
    let r = run(&spot_fleet("{ constant: 50ms }", "1h", ""));
    let f = fault(&r);
    println!("spot, short requests: {f:?}");
    assert_eq!(f.kind, "spot_interruption");
    assert_eq!(f.instances, 2);
    assert_eq!(f.requests_failed, 0);
    assert_eq!(r.summary.requests.failed, 0);
    // Replacements launched on the notice: ready 20 s + 5 s later.
    assert_eq!(f.time_to_recover_s, Some(25.0));
    let launched = fault_events(&r)
        .iter()
        .filter(|e| e.starts_with("120,instance_launched,spot"))
        .count();
    assert_eq!(launched, 2);
    // Requests of 3 minutes outlive a 30 s notice: what the instances
    // still hold when it runs out fails, on the interruption's account.
    let r = run(&spot_fleet("{ constant: 180s }", "1h", ", notice: 30s"));
    let f = fault(&r);
    println!("spot, long requests: {f:?}");
    assert!(f.requests_failed > 0);
    assert_eq!(f.requests_failed, r.summary.requests.failed);
}

/// A long, lightly loaded run of `count` instances in zones a, b, c.
fn long_fleet(count: u32, duration: &str, faults: &str) -> String {
    format!(
        r#"
name: random-faults
duration: {duration}
traffic:
  rate: {{ constant: 2 }}
  classes:
    - name: a
      cpu: {{ constant: 10ms }}
  target: lb
load_balancers:
  lb: {{ policy: round_robin, pool: web }}
pools:
  web:
    instance_type: c6i.large
    count: {count}
    zones: [a, b, c]
    boot_time: {{ constant: 20s }}
    readiness_delay: 5s
faults:
{faults}
"#
    )
}

#[test]
fn random_crashes_come_at_the_rate_of_the_instances_serving() {
    // 100 instances, each failing after an exponential life of mean 10
    // minutes and back 25 s later (detected at once, 20 s boot, 5 s
    // readiness): each instance slot is an alternating renewal process of
    // mean cycle 625 s, so 10 hours hold 100 × 36,000 / 625 = 5,760 crashes
    // (Poisson-like, standard deviation about 76).
    let r = run(&long_fleet(100, "10h", "  - { mtbf: 10m, crash: { pool: web } }"));
    assert!(r.summary.faults.is_empty(), "random faults are aggregated, not listed");
    let f = &r.summary.random_faults[0];
    println!("random crashes: {f:?}");
    assert_eq!((f.kind, f.pool.as_deref(), f.mtbf_s), ("crash", Some("web"), 600.0));
    assert_eq!(f.instances, f.occurrences);
    assert!((5_760.0 - f.occurrences as f64).abs() < 300.0, "{}", f.occurrences);
    // Each crash is over when its replacement serves, 25 s later (or when
    // an earlier crash's replacement, crediting the oldest first, does).
    assert!(f.not_recovered <= 5, "{}", f.not_recovered);
    let (mean, max) = (f.time_to_recover_mean_s.unwrap(), f.time_to_recover_max_s.unwrap());
    assert!((24.0..=25.0).contains(&mean) && max <= 25.0 + 1e-9, "{mean} {max}");
    // The pool holds its desired size on average but for the repairs:
    // 100 × 600 / 625 = 96 ready.
    let ready = r.summary.pools[0].instances_mean;
    assert!((95.0..=100.0).contains(&ready), "{ready}");
}

#[test]
fn a_zone_failing_at_random_is_out_for_the_share_its_mttr_predicts() {
    // Zone b fails every 2 hours on average and stays out 30 minutes on
    // average (both exponential): 300 hours hold 300 / 2.5 = 120 outages
    // (standard deviation about 8.5), each taking its 2 instances.
    let r = run(&long_fleet(
        6,
        "300h",
        "  - { mtbf: 2h, zone_outage: { zone: b, for: 30m, detected_after: 1m } }",
    ));
    let f = &r.summary.random_faults[0];
    println!("random zone outages: {f:?}");
    assert_eq!((f.kind, f.zone.as_deref()), ("zone_outage", Some("b")));
    assert!((120.0 - f.occurrences as f64).abs() < 30.0, "{}", f.occurrences);
    // The first outage takes b's 2 instances; replacements go to a and c
    // a minute later and serve 25 s after that. The zone's return launches
    // nothing (the pool is whole elsewhere) and nothing moves instances
    // back (an Auto Scaling group without AZ rebalancing), so later
    // outages find b empty and cost nothing.
    assert_eq!(f.instances, 2);
    assert_eq!(f.time_to_recover_max_s, Some(85.0));
    let launched = events_csv(&r)
        .unwrap()
        .lines()
        .filter(|l| l.contains("instance_launched"))
        .count();
    assert_eq!(launched, 2);
}

#[test]
fn random_spot_interruptions_and_slowdowns_recur_per_instance() {
    // 20 instances, interrupted every 6 hours each on average, over 30
    // hours: 20 × 30 / 6 = 100 interruptions (the replacement launches at
    // the notice, so slots are never empty). Slowdowns every hour per
    // instance lasting 1 minute on average: 20 × 30 × 60 / 61 ≈ 590.
    let yaml = long_fleet(
        20,
        "30h",
        "  - { mtbf: 6h, spot_interruption: { pool: web } }\n  - { mtbf: 1h, slowdown: { pool: web, factor: 2, for: 1m } }",
    )
    .replace("instance_type: c6i.large", "instance_type: c6i.large-spot")
    .replace(
        "load_balancers:",
        "instance_types:\n  c6i.large-spot: { vcpu: 2, memory_gib: 4, hourly_usd: 0.035, market: spot }\nload_balancers:",
    );
    let r = run(&yaml);
    let spot = &r.summary.random_faults[0];
    let slow = &r.summary.random_faults[1];
    println!("random spot: {spot:?}\nrandom slowdowns: {slow:?}");
    assert_eq!((spot.kind, slow.kind), ("spot_interruption", "slowdown"));
    assert!((100.0 - spot.occurrences as f64).abs() < 40.0, "{}", spot.occurrences);
    assert!((590.0 - slow.occurrences as f64).abs() < 100.0, "{}", slow.occurrences);
    // A slowdown recovers when it ends: its mean is the mean repair time.
    let mean = slow.time_to_recover_mean_s.unwrap();
    assert!((45.0..75.0).contains(&mean), "{mean}");
    assert_eq!(r.summary.requests.failed, 0, "10 ms requests finish inside the notice");
}

#[test]
fn the_errors_chart_marks_each_fault_and_deploy() {
    let yaml = pool(
        4,
        "{ constant: 160 }",
        "{ constant: 100ms }",
        "  - { at: 60s, crash: { pool: web, detected_after: 10s } }\n  - { at: 2m, zone_outage: { zone: a, for: 30s } }",
    )
    .replace("    boot_time:", "    zones: [a, b]\n    boot_time:")
    + "deploys:\n  - { at: 3m, pool: web, rolling: {} }\n";
    let spec = common::spec(&yaml);
    let r = simulate(&spec, 3, 0, &mut |_| {});
    assert_eq!(r.faults.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &spec, &[r]).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("errors.svg")).unwrap();
    for legend in ["refused", "timed out", "failed", "crash", "zone outage"] {
        assert!(svg.contains(legend), "{legend}");
    }
    // Once in the title, once in the legend.
    assert_eq!(svg.matches("deploy").count(), 2);
    let quiet = tempfile::tempdir().unwrap();
    let spec = common::spec(&pool(4, "{ constant: 160 }", "{ constant: 100ms }", "  []"));
    write_run(quiet.path(), &spec, &[simulate(&spec, 3, 0, &mut |_| {})]).unwrap();
    let svg = std::fs::read_to_string(quiet.path().join("errors.svg")).unwrap();
    // Without faults or deploys the title promises neither.
    assert!(
        !svg.contains("crash") && !svg.contains("deploy") && !svg.contains("fault"),
        "{svg}"
    );
}
