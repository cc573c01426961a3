//! The CDN in front of the load balancer: PoP hit ratios follow TTL-cache
//! theory and Che's approximation, a shield makes the PoPs one cache for
//! the origin, hits never reach the origin and misses pay its round trip,
//! request collapsing turns a stampede into one fetch, and purges on write
//! keep the edge from serving old pages.

mod common;

use capsim::metrics::{DataSummary, EdgeSummary};
use capsim::model::cache::{che_lru_hit_ratio, ttl_hit_ratio, zipf_popularity};
use capsim::model::{RunResult, simulate};
use common::spec;

/// Reads of `keys` keys (zipf `s`) at `rate`/s through the CDN `cdn` (its
/// YAML body) to an origin that never queues.
fn behind_cdn(rate: f64, keys: u64, s: f64, cdn: &str, classes: &str, seconds: u32) -> String {
    format!(
        r#"
name: cdn
duration: {seconds}s
warmup: {warmup}s
traffic:
  rate: {{ constant: {rate} }}
  keys: {{ count: {keys}, zipf: {s} }}
  clients: 1000000
  classes:
{classes}
  target: lb
load_balancers:
  lb: {{ policy: round_robin, pool: app }}
pools:
  app:
    instance_type: c6i.xlarge
    count: 4
    workers: 1000
    queue_capacity: 1000
    timeout: 100d
caches:
  cdn: {cdn}
databases:
  db:
    primary: {{ cores: 256, max_connections: 10000 }}
    read: {{ constant: 0s }}
    write: {{ constant: 0s }}
    rtt: 0s
    pool: {{ size: 1000 }}
"#,
        warmup = seconds / 10
    )
}

const READS: &str = "    - name: page\n      cpu: { constant: 0s }\n      data: { caches: [cdn], database: db }";

fn run(yaml: &str) -> RunResult {
    let r = simulate(&spec(yaml), 7, 0, &mut |_| {});
    assert!(r.summary.requests.conserved(), "{:?}", r.summary.requests);
    r
}

fn data(r: &RunResult) -> &DataSummary {
    r.summary.data.as_ref().expect("a data tier")
}

fn edge(r: &RunResult) -> &EdgeSummary {
    data(r).caches[0].edge.as_ref().expect("a CDN")
}

#[test]
fn pop_hit_ratio_follows_ttl_cache_theory_and_falls_with_more_pops() {
    // Room for every key, a 2 s TTL, no time at the edge or the origin:
    // each PoP is a TTL cache fed a Poisson share of the requests.
    let (rate, keys, s, ttl) = (2000.0, 5000, 0.8, 2.0);
    let p = zipf_popularity(keys, s);
    let mut ratios = Vec::new();
    for pops in [1u32, 10] {
        let cdn = format!(
            "{{ edge: {{ pops: {pops}, latency: {{ constant: 0s }}, origin_rtt: 0s }}, capacity: {keys}, ttl: {ttl}s }}"
        );
        let r = run(&behind_cdn(rate, keys, s, &cdn, READS, 600));
        let simulated = data(&r).caches[0].hit_ratio;
        let theory = ttl_hit_ratio(&p, rate / f64::from(pops), ttl);
        let rel = (simulated - theory) / theory;
        println!(
            "{pops} PoP(s), TTL {ttl} s: hit ratio {simulated:.4}, TTL-cache theory {theory:.4} ({:+.2}%)",
            rel * 100.0
        );
        assert!(rel.abs() < 0.01, "hit ratio {simulated} vs {theory}");
        // Without a shield every PoP miss goes to the origin.
        assert_eq!(edge(&r).origin_requests, data(&r).caches[0].misses);
        ratios.push(simulated);
    }
    assert!(ratios[1] < ratios[0] - 0.1, "{ratios:?}");
}

#[test]
fn an_lru_pop_hit_ratio_matches_che_whatever_the_pop_count() {
    // No TTL: an LRU's hit ratio depends on popularity and capacity, not on
    // the rate, so splitting the traffic over PoPs leaves it as it is.
    let (keys, s, capacity) = (10_000, 0.9, 800);
    let che = che_lru_hit_ratio(&zipf_popularity(keys, s), capacity);
    for pops in [1u32, 4] {
        let cdn = format!(
            "{{ edge: {{ pops: {pops}, latency: {{ constant: 0s }}, origin_rtt: 0s }}, capacity: {capacity} }}"
        );
        let r = run(&behind_cdn(2000.0, keys, s, &cdn, READS, 600));
        let simulated = data(&r).caches[0].hit_ratio;
        let rel = (simulated - che) / che;
        println!(
            "{pops} LRU PoP(s) of {capacity}: hit ratio {simulated:.4}, Che {che:.4} ({:+.2}%)",
            rel * 100.0
        );
        assert!(rel.abs() < 0.02, "hit ratio {simulated} vs Che {che}");
    }
}

#[test]
fn a_shield_makes_the_pops_one_cache_for_the_origin() {
    // Ten PoPs behind a shield. A PoP's copy keeps the age of the shield's
    // (HTTP `Age`), so every copy of a fetch expires with it and the origin
    // sees one fetch per key per TTL cycle of the whole traffic: the hit
    // ratio of a single cache taking every request.
    let (rate, keys, s, ttl) = (2000.0, 5000, 0.8, 2.0);
    let cdn = format!(
        "{{ edge: {{ pops: 10, latency: {{ constant: 0s }}, origin_rtt: 0s, shield: {{ capacity: {keys}, rtt: 0s }} }}, capacity: {keys}, ttl: {ttl}s }}"
    );
    let r = run(&behind_cdn(rate, keys, s, &cdn, READS, 600));
    let c = &data(&r).caches[0];
    let e = edge(&r);
    let p = zipf_popularity(keys, s);
    let one_cache = ttl_hit_ratio(&p, rate, ttl);
    let pops_alone = ttl_hit_ratio(&p, rate / 10.0, ttl);
    println!(
        "10 PoPs + shield: PoP hit ratio {:.4}, shield {:.4}, offload {:.4}; one cache {one_cache:.4}, PoPs alone {pops_alone:.4}",
        c.hit_ratio, e.shield_hit_ratio, e.offload
    );
    assert!(
        ((e.offload - one_cache) / one_cache).abs() < 0.01,
        "{} vs {one_cache}",
        e.offload
    );
    // The shield sees exactly the PoP misses and passes on its own.
    assert_eq!(e.shield_hits + e.shield_misses, c.misses);
    assert_eq!(e.origin_requests, e.shield_misses);
}

#[test]
fn hits_are_answered_at_the_edge_and_misses_pay_the_origin_round_trip() {
    // Hits take the PoP's 2 ms; misses 2 ms + 30 ms to the origin + 5 ms
    // of CPU. Account pages are not behind the CDN: they take the 5 ms.
    let classes = "    - name: page\n      weight: 0.8\n      cpu: { constant: 5ms }\n      data: { caches: [cdn], database: db }\n    - name: account\n      weight: 0.2\n      cpu: { constant: 5ms }\n      data: { database: db }";
    let cdn = "{ edge: { pops: 2, latency: { constant: 2ms }, origin_rtt: 30ms }, capacity: 500, ttl: 10s }";
    let r = run(&behind_cdn(400.0, 2000, 1.0, cdn, classes, 300));
    let s = &r.summary;
    let page = &s.classes[0].latency;
    let account = &s.classes[1].latency;
    let c = &data(&r).caches[0];
    println!(
        "page: p50 {:.3} ms, max {:.3} ms, hit ratio {:.3}; account: p50 {:.3} ms; queueing max {:.3} ms",
        page.p50_ms, page.max_ms, c.hit_ratio, account.p50_ms, s.queueing.max_ms
    );
    assert!(c.hit_ratio > 0.6, "{}", c.hit_ratio);
    assert!((page.p50_ms - 2.0).abs() < 0.01, "{}", page.p50_ms);
    assert!((page.max_ms - 37.0).abs() < 0.05, "{}", page.max_ms);
    assert!((account.p50_ms - 5.0).abs() < 0.01, "{}", account.p50_ms);
    // Queueing starts at the load balancer: the edge's time is not in it.
    assert!(s.queueing.max_ms < 5.0, "{}", s.queueing.max_ms);
    // The origin computed every account page and every page miss, and
    // nothing else; the edge's mean time is the hits' 2 ms and the misses' 32.
    let edge_ms = data(&r).tiers.iter().find(|t| t.name == "cdn").expect("cdn tier");
    let per_call = edge_ms.per_call.as_ref().expect("calls");
    let expected = 2.0 * c.hit_ratio + 32.0 * (1.0 - c.hit_ratio);
    assert!(
        (per_call.mean_ms - expected).abs() < 0.05,
        "{} vs {expected}",
        per_call.mean_ms
    );
}

fn collapsing(coalesce: bool) -> String {
    // One hot page, 1000 req/s at one PoP, a 1 s TTL and an origin that
    // takes 100 ms to render it.
    behind_cdn(
        1000.0,
        1,
        0.0,
        &format!(
            "{{ edge: {{ pops: 1, latency: {{ constant: 0s }}, origin_rtt: 0s }}, capacity: 10, ttl: 1s, coalesce: {coalesce} }}"
        ),
        "    - name: page\n      cpu: { constant: 100ms }\n      data: { caches: [cdn], database: db }",
        200,
    )
}

#[test]
fn request_collapsing_turns_each_expiry_into_one_origin_fetch() {
    let apart = run(&collapsing(false));
    let together = run(&collapsing(true));
    let seconds = 180.0;
    let per_second = |r: &RunResult| edge(r).origin_requests as f64 / seconds;
    println!(
        "origin fetches per second: {:.2} without collapsing, {:.3} with ({} collapsed)",
        per_second(&apart),
        per_second(&together),
        data(&together).caches[0].coalesced
    );
    // One fetch per cycle: the 1 s TTL, the wait for the next request
    // (1 ms) and the 100 ms render: 1/1.101 s. Without collapsing every
    // request of the render window goes to the origin too, and the
    // stampede queues for the app's 16 cores, which widens the window.
    let cycle = 1.0 + 0.001 + 0.1;
    assert!(
        (per_second(&together) * cycle - 1.0).abs() < 0.03,
        "{}",
        per_second(&together)
    );
    assert!(per_second(&apart) > 50.0 * per_second(&together));
    // Collapsed requests wait for the fetch: the 100 ms shows in the p99.
    assert!(together.summary.latency.max_ms > 99.0 && together.summary.latency.max_ms < 101.0);
}

fn writes(purge: bool) -> String {
    // Reads of 200 keys through the CDN (60 s TTL) and writes of the same
    // keys; with `purge` the writes list the CDN and purge their key.
    let write_path = if purge {
        "{ caches: [cdn], database: db }"
    } else {
        "{ database: db }"
    };
    behind_cdn(
        1000.0,
        200,
        0.5,
        "{ edge: { pops: 4, latency: { constant: 1ms }, origin_rtt: 20ms }, capacity: 200, ttl: 60s }",
        &format!(
            "    - name: page\n      weight: 0.98\n      cpu: {{ constant: 1ms }}\n      data: {{ caches: [cdn], database: db }}\n    - name: edit\n      kind: write\n      weight: 0.02\n      cpu: {{ constant: 1ms }}\n      data: {write_path}"
        ),
        300,
    )
}

#[test]
fn writes_that_purge_the_cdn_keep_it_from_serving_old_pages() {
    let stale = run(&writes(false));
    let purged = run(&writes(true));
    let rate = |r: &RunResult| data(r).databases[0].stale_response_rate;
    println!(
        "stale responses: {:.4} without purges, {:.6} with ({} purged entries)",
        rate(&stale),
        rate(&purged),
        data(&purged).caches[0].invalidations
    );
    // 20 writes/s over 200 keys against a 60 s TTL: most cached pages have
    // been written since they were fetched.
    assert!(rate(&stale) > 0.3, "{}", rate(&stale));
    // With purges only the race of a fetch in flight across a write is left.
    assert!(rate(&purged) < 0.01, "{}", rate(&purged));
    assert!(data(&purged).caches[0].invalidations > 0);
}
