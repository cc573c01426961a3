//! Regions behind a latency-routing DNS: each client population goes to
//! its nearest region and pays its round trip; a dark region loses the
//! requests its clients send until the DNS health checks take it out and
//! their cached answers expire (detection + TTL / 2 on average); the
//! clients come back once it passes again.

mod common;

use capsim::model::{RunResult, simulate};

/// Two regions of 6 instances (8 cores each), 600 req/s of 10 ms work:
/// 60% from the Americas (nearest: us), 40% from Europe (nearest: eu).
fn two_regions(ttl: &str, faults: &str) -> String {
    format!(
        r#"
name: regions
duration: 5m
traffic:
  rate: {{ constant: 600 }}
  classes:
    - name: a
      cpu: {{ constant: 10ms }}
regions:
  us: {{ balancer: lb-us }}
  eu: {{ balancer: lb-eu }}
dns:
  ttl: {ttl}
  health_check: {{ interval: 10s, fails: 3, passes: 2 }}
  populations:
    americas: {{ share: 0.6, rtt: {{ us: 30ms, eu: 110ms }} }}
    europe: {{ share: 0.4, rtt: {{ us: 100ms, eu: 20ms }} }}
load_balancers:
  lb-us: {{ policy: least_connections, pool: web-us }}
  lb-eu: {{ policy: least_connections, pool: web-eu }}
pools:
  web-us:
    instance_type: c6i.2xlarge
    count: 6
    boot_time: {{ constant: 20s }}
    readiness_delay: 5s
  web-eu:
    instance_type: c6i.2xlarge
    count: 6
    boot_time: {{ constant: 20s }}
    readiness_delay: 5s
faults:
{faults}
"#
    )
}

fn run(yaml: &str) -> RunResult {
    let r = simulate(&common::spec(yaml), 4, 0, &mut |_| {});
    assert!(r.summary.requests.conserved(), "{:?}", r.summary.requests);
    r
}

#[test]
fn clients_go_to_their_nearest_region_and_pay_its_round_trip() {
    let r = run(&two_regions("60s", "  []"));
    let (us, eu) = (&r.summary.regions[1], &r.summary.regions[0]);
    println!("{us:?}\n{eu:?}\n{:?}", r.summary.populations);
    assert_eq!((us.name.as_str(), eu.name.as_str()), ("us", "eu"));
    assert!((us.share - 0.6).abs() < 0.01, "{}", us.share);
    assert!(r.summary.populations.iter().all(|p| p.not_nearest == 0));
    // 10 ms of work at 12% utilization: no queueing, so every response
    // takes 10 ms plus its population's round trip, 30 or 20 ms.
    let (p50, p90) = (r.summary.latency.p50_ms, r.summary.latency.p90_ms);
    assert!(
        (39.9..=40.1).contains(&p50) && (39.9..=40.1).contains(&p90),
        "{p50} {p90}"
    );
    assert!((r.summary.latency.mean_ms - (0.6 * 40.0 + 0.4 * 30.0)).abs() < 0.3);
    assert_eq!(r.summary.requests.error_rate, 0.0);
    // The architecture sketch shows clients entering at every region's balancer.
    let spec = common::spec(&two_regions("60s", "  []"));
    let topology = capsim::report::analysis::analyze(&spec, &r).topology.join("\n");
    assert!(
        topology.contains("[lb-us: least connections]  region us (DNS)"),
        "{topology}"
    );
    assert_eq!(topology.matches('▼').count(), 2, "{topology}");
}

#[test]
fn a_dark_region_loses_its_clients_requests_until_detection_and_half_a_ttl() {
    // us goes dark at 60 s. Its checks (every 10 s from 10 s) fail at 60,
    // 70 and 80 s: marked down at 80 s, 20 s after the outage. Each client
    // then keeps its cached answer for a uniform share of the 60 s TTL:
    // 360 req/s × (20 + 30) s = 18,000 requests lost.
    let r = run(&two_regions(
        "60s",
        "  - { at: 60s, region_outage: { region: us, for: 2m, detected_after: 30s } }",
    ));
    let us = &r.summary.regions[1];
    println!("{us:?}\n{:?}\n{:?}", r.summary.populations, r.summary.faults);
    assert_eq!(us.dns_marked_down_at_s, [80.0]);
    let lost = us.lost_while_dark as f64;
    assert!((lost - 18_000.0).abs() < 600.0, "{lost}");
    // Back at 180 s: replacements launch at once, serve 25 s later (205 s);
    // the checks at 210 and 220 s pass, and the clients move back over the
    // next 60 s.
    assert_eq!(us.dns_marked_up_at_s, [220.0]);
    let fault = &r.summary.faults[0];
    assert_eq!((fault.kind, fault.region.as_deref()), ("region_outage", Some("us")));
    assert_eq!(fault.instances, 6);
    // Nothing else failed: eu's 6 instances carry 600 req/s at 12.5%.
    let q = &r.summary.requests;
    let errors = q.rejected_queue_full + q.rejected_no_instance + q.timed_out + q.failed + q.failed_downstream;
    assert_eq!(
        errors,
        us.lost_while_dark + fault.requests_failed,
        "{:?}",
        r.summary.requests
    );
    // The Americas were served from eu between 80 s and 280 s or so: their
    // failed-over requests carry eu's round trip.
    let americas = &r.summary.populations[0];
    let moved = americas.not_nearest as f64 / 360.0;
    assert!((140.0..=200.0).contains(&moved), "{moved} s");
}

#[test]
fn without_a_ttl_clients_follow_the_dns_at_once() {
    let r = run(&two_regions(
        "0s",
        "  - { at: 60s, region_outage: { region: us, for: 2m } }",
    ));
    let lost = r.summary.regions[1].lost_while_dark as f64;
    // Only the 20 s of detection: 360 × 20 = 7,200.
    assert!((lost - 7_200.0).abs() < 300.0, "{lost}");
}

/// The two regions with a database homed in us: one replica there, one in
/// eu, 80 ms between the regions. Reads go to a replica, writes (20%) to
/// the primary.
fn regional_database(faults: &str) -> String {
    two_regions("60s", faults)
        .replace("regions:\n  us: { balancer: lb-us }", "regions:\n  us: { balancer: lb-us, rtt: { eu: 80ms } }")
        .replace(
            "    - name: a\n      cpu: { constant: 10ms }",
            "    - name: read\n      weight: 0.8\n      cpu: { constant: 10ms }\n      data: { database: db }\n\
             \x20   - name: write\n      kind: write\n      weight: 0.2\n      cpu: { constant: 10ms }\n      data: { database: db }",
        )
        .replace("  rate: { constant: 600 }", "  rate: { constant: 600 }\n  keys: { count: 1000 }")
        .replace(
            "faults:",
            "databases:\n  db:\n    region: us\n    regional_replicas: { eu: 1 }\n\
             \x20   primary: { cores: 16, max_connections: 10000 }\n    replicas: 1\n\
             \x20   replica: { cores: 16, max_connections: 10000 }\n\
             \x20   read: { constant: 1ms }\n    write: { constant: 1ms }\n    rtt: 1ms\n\
             \x20   pool: { size: 100 }\nfaults:",
        )
}

#[test]
fn a_database_across_regions_reads_locally_writes_home_and_replicates_over_the_link() {
    let r = run(&regional_database("  []"));
    let data = r.summary.data.as_ref().unwrap();
    let db = &data.databases[0];
    println!("{:?}\n{:?}", db.replicas, data.servers);
    let region = |name: &str| data.servers.iter().find(|s| s.name == name).unwrap().region.clone();
    assert_eq!(region("db.primary").as_deref(), Some("us"));
    assert_eq!(region("db.replica-2").as_deref(), Some("eu"));
    // The eu replica's stream crosses the link: 1 ms delay + 40 ms (half
    // of 80) + 1 ms apply = D = 42 ms from commit to visible. Lag (the age
    // of the oldest invisible write) under Poisson writes at λ = 120/s is
    // D − (1 − e^(−λD)) / λ = 42 − 8.27 = 33.7 ms on average (sampled at
    // each 10 s interval's end), never above D but for apply queueing.
    let (us, eu) = (&db.replicas[0], &db.replicas[1]);
    let d: f64 = 0.042;
    let theory = (d - (1.0 - (-120.0 * d).exp()) / 120.0) * 1e3;
    assert!(
        (eu.lag_mean_ms - theory).abs() < 3.0,
        "eu {} vs {theory}",
        eu.lag_mean_ms
    );
    assert!((41.0..=46.0).contains(&eu.lag_max_ms), "{}", eu.lag_max_ms);
    assert!(us.lag_max_ms < 6.0, "{}", us.lag_max_ms);
    // Each instance reads its own region's replica: both replicas serve
    // their region's reads (60% and 40% of 480 reads/s).
    let ops = |name: &str| data.servers.iter().find(|s| s.name == name).unwrap().operations as f64;
    let share = ops("db.replica-1") / (ops("db.replica-1") + ops("db.replica-2"));
    assert!((share - 0.6).abs() < 0.01, "{share}");
    // Latency: 10 ms + 1 ms query + 1 ms database round trip, plus the
    // client's round trip (30 or 20 ms), plus 80 ms for eu's writes: the
    // mean is 0.6 × 42 + 0.4 × (32 + 0.2 × 80) = 44.4 ms.
    let mean = r.summary.latency.mean_ms;
    assert!((mean - 44.4).abs() < 0.5, "{mean}");
}

#[test]
fn a_dark_home_region_fails_the_databases_writes_but_not_the_other_regions_reads() {
    let r = run(&regional_database(
        "  - { at: 60s, region_outage: { region: us, for: 2m, detected_after: 30s } }",
    ));
    let data = r.summary.data.as_ref().unwrap();
    let db = &data.databases[0];
    // The primary is dark from 60 to 180 s (no promotion across regions):
    // Europe's writes (48/s) fail for 120 s, the Americas' (72/s) once they
    // have moved to eu — from 80 s, spread over the 60 s TTL, so for 70 s
    // on average: 5,760 + 5,040 = 10,800. Reads go on from the eu replica.
    println!("unavailable {}, {:?}", db.unavailable, r.summary.requests);
    let writes_lost = r.summary.requests.failed_downstream as f64;
    assert!((writes_lost - 10_800.0).abs() < 500.0, "{writes_lost}");
    assert_eq!(db.unavailable, r.summary.requests.failed_downstream);
    let events: Vec<String> = capsim::report::events_csv(&r)
        .unwrap()
        .lines()
        .filter(|l| l.contains(",server_"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        events,
        [
            "60,server_down,db.primary,",
            "60,server_down,db.replica-1,",
            "180,server_up,db.primary,",
            "180,server_up,db.replica-1,"
        ]
    );
}
