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
