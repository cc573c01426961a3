//! Bad input gets a clear error: the file, line:column, the field path and
//! what is allowed — every problem at once, never a panic.

use capsim::scenario::{self, Format, NoFiles, Problem, SourceFiles};

const GOOD: &str = r#"name: t
duration: 1m
traffic:
  rate: { constant: 10 }
  classes:
    - name: a
      cpu: { exponential: { mean: 10ms } }
  target: lb
load_balancers:
  lb: { pool: web }
pools:
  web:
    instance_type: c6i.large
    count: 2
"#;

fn problems(yaml: &str) -> Vec<Problem> {
    match scenario::load(yaml, "bad.yaml", Format::Yaml, &NoFiles) {
        Ok(_) => panic!("expected problems"),
        Err(e) => e.problems,
    }
}

fn one(yaml: &str) -> String {
    let p = problems(yaml);
    assert_eq!(p.len(), 1, "{p:?}");
    p[0].to_string()
}

#[test]
fn the_good_scenario_is_good() {
    scenario::load(GOOD, "good.yaml", Format::Yaml, &NoFiles).unwrap();
}

#[test]
fn malformed_yaml_names_line_and_column() {
    let msg = one("name: t\npools: [1,\n");
    assert!(msg.starts_with("bad.yaml:"), "{msg}");
    let p = &problems("name: t\npools: [1,\n")[0];
    assert!(p.line.is_some() && p.column.is_some(), "{p:?}");
}

#[test]
fn unknown_field_is_rejected_with_its_path() {
    let msg = one(&GOOD.replace("    count: 2", "    count: 2\n    cuont: 3"));
    // The message lists every pool field; its start is stable.
    let expected =
        "bad.yaml:15:5: pools.web.cuont: unknown field `cuont`, expected one of instance_type, count, cores, workers";
    assert!(msg.starts_with(expected), "{msg}");
}

#[test]
fn negative_rate_is_rejected() {
    let msg = one(&GOOD.replace("constant: 10", "constant: -10"));
    assert_eq!(
        msg,
        "bad.yaml:4:21: traffic.rate.constant: must be a finite number ≥ 0, got -10"
    );
}

#[test]
fn negative_count_says_what_is_allowed() {
    let msg = one(&GOOD.replace("count: 2", "count: -2"));
    assert!(msg.starts_with("bad.yaml:14:12: pools.web.count: "), "{msg}");
    assert!(msg.contains("expected a whole number ≥ 0"), "{msg}");
}

#[test]
fn dangling_pool_reference_lists_known_pools() {
    let msg = one(&GOOD.replace("lb: { pool: web }", "lb: { pool: api }"));
    assert_eq!(
        msg,
        "bad.yaml:10:15: load_balancers.lb.pool: unknown pool `api`; known: web"
    );
}

#[test]
fn dangling_target_lists_known_load_balancers() {
    let msg = one(&GOOD.replace("target: lb", "target: alb"));
    assert_eq!(
        msg,
        "bad.yaml:8:11: traffic.target: unknown load balancer `alb`; known: lb; did you mean `lb`?"
    );
}

#[test]
fn unknown_instance_type_lists_the_catalogue() {
    // Nearest first, not by the alphabet; 20 shown and how many more.
    let msg = one(&GOOD.replace("c6i.large", "m5.hug"));
    assert!(
        msg.starts_with("bad.yaml:13:20: pools.web.instance_type: unknown type `m5.hug`; known: m6i.large, "),
        "{msg}"
    );
    assert!(msg.ends_with("more)"), "{msg}");
    // A misspelled size: its family first, and the name meant.
    let msg = one(&GOOD.replace("c6i.large", "c6i.lrage"));
    assert!(
        msg.contains("known: c6i.large, ") && msg.ends_with("; did you mean `c6i.large`?"),
        "{msg}"
    );
}

#[test]
fn a_misspelled_field_or_variant_gets_a_did_you_mean() {
    let msg = one(&GOOD.replace("    count: 2\n", "    count: 2\n    queue_capcity: 10\n"));
    assert!(msg.ends_with("; did you mean `queue_capacity`?"), "{msg}");
    let msg = one(&GOOD.replace("lb: { pool: web }", "lb: { pool: web, policy: leastconn }"));
    assert!(msg.ends_with("; did you mean `least_connections`?"), "{msg}");
}

#[test]
fn bad_duration_unit_is_explained() {
    let msg = one(&GOOD.replace("duration: 1m", "duration: 1 fortnight"));
    assert!(msg.starts_with("bad.yaml:2:11: duration: invalid duration `1 fortnight`: unknown unit `fortnight`; known: ns, us, ms, s, m, h, d"), "{msg}");
}

/// `deferrable` is a share of the class's CPU, and a class that already
/// enqueues has its deferred work in the queue's job.
#[test]
fn a_deferrable_share_is_a_fraction_and_not_beside_an_enqueue() {
    let cpu = "      cpu: { exponential: { mean: 10ms } }";
    for bad in ["1", "0", "-0.2", "1.5", "0.001", "0.999999", "100%", "0.5%"] {
        let msg = one(&GOOD.replace(cpu, &format!("{cpu}\n      deferrable: {bad}")));
        assert!(
            msg.contains("traffic.classes[0].deferrable: the share of the class's CPU that need not finish before the answer must be from 0.01 to 0.99"),
            "{msg}"
        );
    }
    let msg = one(&GOOD.replace(cpu, &format!("{cpu}\n      deferrable: .nan")));
    assert!(
        msg.ends_with("traffic.classes[0].deferrable: `.nan` is not a finite number: give a number such as 0.5"),
        "{msg}"
    );
    let queued = format!(
        "{}queues:\n  jobs: {{ consumers: workers, job: {{ constant: 1ms }} }}\n",
        GOOD.replace(
            cpu,
            &format!("{cpu}\n      deferrable: 0.5\n      data: {{ enqueue: jobs }}")
        )
        .replace(
            "    count: 2\n",
            "    count: 2\n  workers:\n    instance_type: c6i.large\n    count: 1\n"
        )
    );
    let msg = one(&queued);
    assert!(
        msg.contains("traffic.classes[0].deferrable: the class already sends its deferred work to a queue"),
        "{msg}"
    );
    assert!(
        scenario::load(
            &GOOD.replace(cpu, &format!("{cpu}\n      deferrable: 0.5")),
            "ok.yaml",
            Format::Yaml,
            &NoFiles
        )
        .is_ok()
    );
}

#[test]
fn impossible_combinations_are_errors() {
    let msg = one(&GOOD.replace(
        "lb: { pool: web }",
        "lb: { pool: web, policy: { consistent_hash: { on: key } } }",
    ));
    assert!(
        msg.contains("load_balancers.lb.policy.consistent_hash.on: hashing on `key` needs a key space"),
        "{msg}"
    );
    let msg = one(&GOOD.replace("count: 2", "count: 2\n    cores: 4"));
    assert!(
        msg.contains("pools.web.cores: must be between 1 and the type's vCPU count (2 for c6i.large), got 4"),
        "{msg}"
    );
    let msg = one(&GOOD.replace("duration: 1m", "duration: 1m\nwarmup: 2m"));
    assert!(msg.contains("warmup: must be shorter than duration"), "{msg}");
    let msg = one(&GOOD.replace(
        "rate: { constant: 10 }",
        "rate: { spike: { start: 1s, duration: 1s, multiplier: 2 } }",
    ));
    assert!(msg.contains("traffic.rate: a spike or noise is a multiplier"), "{msg}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let bad = GOOD
        .replace("constant: 10", "constant: -1")
        .replace("count: 2", "count: 0")
        .replace("mean: 10ms", "mean: 0s");
    let p = problems(&bad);
    let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "traffic.rate.constant",
            "traffic.classes[0].cpu.exponential.mean",
            "pools.web.count",
        ],
        "in the file's order: {p:?}"
    );
    assert!(p.iter().all(|p| p.line.is_some()));
}

/// Parse-level problems do not stop the search: a file with an unknown
/// field, a value of the wrong type, an unknown variant, a duration
/// without a unit, a second unknown field, a dangling reference and a
/// number out of range reports all seven, in the file's order. Before, the
/// parser's first problem was the only one reported.
#[test]
fn every_kind_of_problem_is_found_in_one_pass() {
    let bad = GOOD
        .replace("  rate: { constant: 10 }", "  rate: { constant: 10 }\n  burst: 3")
        .replace("    - name: a", "    - name: a\n      weight: -2")
        .replace("mean: 10ms", "mean: 10")
        .replace("lb: { pool: web }", "lb: { pool: wbe, policy: leastconn }")
        .replace("count: 2", "count: two\n    queue_capcity: 10");
    let p = problems(&bad);
    let found: Vec<(u64, &str, &str)> = p
        .iter()
        .map(|p| {
            (
                p.line.unwrap(),
                p.path.as_str(),
                p.message.split([':', ',']).next().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (5, "traffic.burst", "unknown field `burst`"),
            (8, "traffic.classes[0].weight", "must be a finite number > 0"),
            (9, "traffic.classes[0].cpu.exponential.mean", "a duration needs a unit"),
            (12, "load_balancers.lb.pool", "unknown pool `wbe`; known"),
            (12, "load_balancers.lb.policy", "unknown variant `leastconn`"),
            (16, "pools.web.count", "expected a whole number ≥ 0"),
            (17, "pools.web.queue_capcity", "unknown field `queue_capcity`"),
        ],
        "{p:#?}"
    );
    // The unknown field is shown at its key, the bad values at themselves.
    assert_eq!(p[6].column, Some(5));
    assert_eq!(p[5].column, Some(12));
    assert!(p[4].message.ends_with("did you mean `least_connections`?"), "{}", p[4]);
}

/// A required field spelled wrong is one problem, not two: the unknown
/// field's did-you-mean says what is missing, and the value given under
/// the wrong name is checked as the field's.
#[test]
fn a_misspelled_required_field_is_one_problem() {
    let msg = one(&GOOD.replace("    instance_type: c6i.large", "    instance_tpye: c6i.large"));
    assert!(
        msg.starts_with("bad.yaml:13:5: pools.web.instance_tpye: unknown field"),
        "{msg}"
    );
    assert!(msg.ends_with("did you mean `instance_type`?"), "{msg}");
    let p = problems(&GOOD.replace(
        "    instance_type: c6i.large",
        "    instance_tpye: c6i.large\n    workers: -1",
    ));
    assert_eq!(p.len(), 2, "{p:?}");
}

/// A fraction may be written as a percentage, a percentile as `p99`, an
/// HPA's utilisation with its sign; each field says which it takes.
#[test]
fn percentages_are_accepted_where_a_fraction_or_percentage_is_meant() {
    let slo = "slo:\n  latency: { percentile: p99.9, threshold: 300ms }\n  error_rate: 0.1%\n";
    let text = format!(
        "{}{slo}",
        GOOD.replace("mean: 10ms }", "mean: 10ms, cv: 150% }")
            .replace("exponential", "lognormal")
    );
    let s = scenario::load(&text, "good.yaml", Format::Yaml, &NoFiles).unwrap();
    let slo = s.spec.slo.as_ref().unwrap();
    assert_eq!(slo.error_rate_max, Some(0.001));
    assert!((slo.latency.unwrap().0 - 0.999).abs() < 1e-12);
    let msg = one(&format!("{GOOD}slo: {{ error_rate: ten% }}\n"));
    assert!(
        msg.ends_with("slo.error_rate: expected a fraction such as 0.25 or 25%; found `ten%`"),
        "{msg}"
    );
    let msg = one(&format!(
        "{GOOD}slo: {{ latency: {{ percentile: top, threshold: 1s }} }}\n"
    ));
    assert!(
        msg.ends_with("slo.latency.percentile: expected a percentile such as 99, 99.9 or p99; found `top`"),
        "{msg}"
    );
}

/// A duration is a number with a unit; a bare number (other than 0) is
/// refused with the spellings it could have meant.
#[test]
fn a_duration_without_a_unit_is_refused() {
    let msg = one(&GOOD.replace("mean: 10ms", "mean: 30"));
    assert_eq!(
        msg,
        "bad.yaml:7:35: traffic.classes[0].cpu.exponential.mean: a duration needs a unit: `30` alone is ambiguous; write 30ms, 30s or 30m (units: ns, us, ms, s, m, h, d)"
    );
    let msg = one(&GOOD.replace("duration: 1m", "duration: \"90\""));
    assert!(msg.contains("`90` alone is ambiguous"), "{msg}");
    let zero = GOOD.replace("duration: 1m", "duration: 1m\nwarmup: 0");
    scenario::load(&zero, "good.yaml", Format::Yaml, &NoFiles).unwrap();
}

/// An error-rate objective of 5% or more is valid but more likely a
/// percentage written as a fraction: a warning says so.
#[test]
fn a_loose_error_rate_objective_is_warned_about() {
    let s = scenario::load(
        &format!("{GOOD}slo: {{ error_rate: 0.1 }}\n"),
        "good.yaml",
        Format::Yaml,
        &NoFiles,
    )
    .unwrap();
    let w: Vec<String> = s.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("slo.error_rate: 0.1 allows 10% of requests to fail"),
        "{w:?}"
    );
    let s = scenario::load(
        &format!("{GOOD}slo: {{ error_rate: 0.01 }}\n"),
        "good.yaml",
        Format::Yaml,
        &NoFiles,
    )
    .unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn json_errors_have_line_and_column_too() {
    let json = r#"{"name": "t", "duration": "1m",
 "traffic": {"rate": {"constant": 10}, "classes": [{"name": "a", "cpu": {"constant": "5ms"}}], "target": "lb"},
 "load_balancers": {"lb": {"pool": "web"}},
 "pools": {"web": {"instance_type": "c6i.large", "count": 2, "wokers": 4}}}"#;
    let e = scenario::load(json, "bad.json", Format::Json, &NoFiles).unwrap_err();
    let msg = e.problems[0].to_string();
    assert!(msg.starts_with("bad.json:4:"), "{msg}");
    assert!(msg.contains("pools.web.wokers: unknown field `wokers`"), "{msg}");
    // Semantic problems in JSON are located as well.
    let json = json
        .replace(r#", "wokers": 4"#, "")
        .replace(r#""count": 2"#, r#""count": 0"#);
    let e = scenario::load(&json, "bad.json", Format::Json, &NoFiles).unwrap_err();
    assert_eq!(e.problems[0].line, Some(4), "{e}");
    assert_eq!(e.problems[0].path, "pools.web.count");
}

struct OneFile(&'static str);
impl SourceFiles for OneFile {
    fn read(&self, path: &str) -> Result<String, String> {
        if path == "rates.csv" {
            Ok(self.0.to_string())
        } else {
            Err("No such file or directory".into())
        }
    }
}

#[test]
fn replay_files_are_checked() {
    let replay = GOOD.replace("rate: { constant: 10 }", "rate: { replay: { file: rates.csv } }");
    let e = scenario::load(&replay, "bad.yaml", Format::Yaml, &NoFiles).unwrap_err();
    assert!(
        e.problems[0]
            .to_string()
            .contains("traffic.rate.replay.file: cannot read `rates.csv`"),
        "{e}"
    );
    let e = scenario::load(&replay, "bad.yaml", Format::Yaml, &OneFile("time,rate\n0,5\n10,-3\n")).unwrap_err();
    assert!(
        e.problems[0]
            .message
            .contains("line 3: rate must be a finite number ≥ 0, got -3"),
        "{e}"
    );
    let e = scenario::load(&replay, "bad.yaml", Format::Yaml, &OneFile("0,5\n0,6\n")).unwrap_err();
    assert!(
        e.problems[0]
            .message
            .contains("line 2: times must be strictly increasing"),
        "{e}"
    );
    scenario::load(&replay, "ok.yaml", Format::Yaml, &OneFile("time,rate\n0,5\n1m,6\n")).unwrap();
}

#[test]
fn limits_are_enforced() {
    let p = problems(&GOOD.replace("duration: 1m", "duration: 20000d"));
    assert!(
        p.iter()
            .any(|p| p.to_string().contains("duration: must be at most 3650d (ten years)")),
        "{p:?}"
    );
    let msg = one(&GOOD.replace("count: 2", "count: 1000000"));
    assert!(
        msg.contains("pools.web.count: must be at most 100000, got 1000000"),
        "{msg}"
    );
}

#[test]
fn slo_settings_are_checked() {
    let msg = one(&format!(
        "{GOOD}slo: {{ latency: {{ percentile: 100, threshold: 300ms }} }}\n"
    ));
    assert!(
        msg.contains("slo.latency.percentile: must be between 0 and 100 (e.g. 99), got 100"),
        "{msg}"
    );
    let msg = one(&format!("{GOOD}slo: {{ error_rate: 5 }}\n"));
    assert!(
        msg.contains("slo.error_rate: must be a fraction between 0 and 1"),
        "{msg}"
    );
    let msg = one(&format!("{GOOD}slo: {{}}\n"));
    assert!(
        msg.contains("slo: give a `latency` objective, an `error_rate` ceiling, or both"),
        "{msg}"
    );
}

const DATA: &str = r#"name: t
duration: 1m
traffic:
  rate: { constant: 10 }
  keys: { count: 1000, zipf: 0.9 }
  classes:
    - name: a
      cpu: { exponential: { mean: 10ms } }
      data: { caches: [local, redis], database: main }
  target: lb
load_balancers:
  lb: { pool: web }
pools:
  web:
    instance_type: c6i.large
    count: 2
caches:
  local: { local: {}, capacity: 100 }
  redis: { shared: { nodes: 2 }, hit_ratio: 0.9 }
databases:
  main:
    primary: { cores: 4 }
    replicas: 1
    read: { constant: 2ms }
    write: { constant: 4ms }
"#;

#[test]
fn the_data_tier_scenario_is_good() {
    scenario::load(DATA, "good.yaml", Format::Yaml, &NoFiles).unwrap();
}

#[test]
fn data_tier_references_and_combinations_are_checked() {
    let msg = one(&DATA.replace("[local, redis]", "[local, memcached]"));
    assert_eq!(
        msg,
        "bad.yaml:9:31: traffic.classes[0].data.caches[1]: unknown cache `memcached`; known: local, redis"
    );
    let msg = one(&DATA.replace("database: main }", "database: orders }"));
    assert_eq!(
        msg,
        "bad.yaml:9:49: traffic.classes[0].data.database: unknown database `orders`; known: main"
    );
    let msg = one(&DATA.replace(
        "local: {}, capacity: 100",
        "local: {}, shared: { nodes: 1 }, capacity: 100",
    ));
    assert!(
        msg.starts_with("bad.yaml:18:10: caches.local: give one of `local`, `shared` or `edge`, not several"),
        "{msg}"
    );
    let msg = one(&DATA.replace("hit_ratio: 0.9", "hit_ratio: 0.9, ttl: 1m"));
    assert!(
        msg.contains("caches.redis.ttl: only applies to a cache with per-key state"),
        "{msg}"
    );
    let msg = one(&DATA.replace("hit_ratio: 0.9", "hit_ratio: 1.5"));
    assert!(
        msg.contains("caches.redis.hit_ratio: must be a fraction between 0 and 1, got 1.5"),
        "{msg}"
    );
    let msg = one(&DATA.replace("replicas: 1", "replicas: 1\n    pooler: { pool_size: 500 }"));
    assert!(
        msg.contains(
            "databases.main.pooler.pool_size: must be between 1 and the servers' max_connections (100), got 500"
        ),
        "{msg}"
    );
    let msg = one(&DATA.replace("  keys: { count: 1000, zipf: 0.9 }\n", ""));
    assert!(
        msg.contains("traffic.classes[0].data: the data tier works on keys"),
        "{msg}"
    );
    let msg = one(&DATA.replace("replicas: 1", "replicas: 0\n    read_from: replicas"));
    assert!(
        msg.contains("databases.main.read_from: `replicas` needs at least one replica"),
        "{msg}"
    );
    let msg = one(&DATA.replace("primary: { cores: 4 }", "primary: { cores: 4, max_conections: 10 }"));
    assert!(
        msg.starts_with("bad.yaml:22:26: databases.main.primary.max_conections: unknown field"),
        "{msg}"
    );
}

/// `DATA` with a CDN in front: `page` is cacheable at the edge.
fn with_cdn(cdn: &str, path: &str) -> String {
    DATA.replace("[local, redis]", path)
        .replace("caches:\n", &format!("caches:\n  cdn: {cdn}\n"))
}

const CDN: &str = "{ edge: { pops: 4, latency: { constant: 2ms }, origin_rtt: 30ms }, capacity: 1000, ttl: 1m }";

#[test]
fn cdn_settings_and_placement_are_checked() {
    scenario::load(
        &with_cdn(CDN, "[cdn, local, redis]"),
        "good.yaml",
        Format::Yaml,
        &NoFiles,
    )
    .unwrap();
    let msg = one(&with_cdn(CDN, "[local, cdn, redis]"));
    assert_eq!(
        msg,
        "bad.yaml:9:31: traffic.classes[0].data.caches[1]: `cdn` is a CDN, in front of the load balancer: list it first"
    );
    let msg = one(&with_cdn(&CDN.replace("pops: 4", "pops: 0"), "[cdn]"));
    assert!(
        msg.contains("caches.cdn.edge.pops: must be between 1 and 1024, got 0"),
        "{msg}"
    );
    let msg = one(&with_cdn(&CDN.replace("ttl: 1m", "ttl: 1m, on_write: update"), "[cdn]"));
    assert!(
        msg.contains("caches.cdn.on_write: a CDN is purged, not written to"),
        "{msg}"
    );
    let msg = one(&with_cdn(
        &CDN.replace(
            "origin_rtt: 30ms",
            "origin_rtt: 30ms, shield: { capacity: 10, rtt: 5ms }",
        )
        .replace("capacity: 1000, ttl: 1m", "hit_ratio: 0.9"),
        "[cdn]",
    ));
    assert!(
        msg.contains("caches.cdn.edge.shield: a shield keeps per-key state"),
        "{msg}"
    );
    let msg = one(&with_cdn(&CDN.replace("origin_rtt: 30ms", "origin_rtt: -1ms"), "[cdn]"));
    assert!(
        msg.contains("caches.cdn.edge.origin_rtt: invalid duration `-1ms`: must not be negative"),
        "{msg}"
    );
    let msg = one(&with_cdn(&CDN.replace(", origin_rtt: 30ms", ""), "[cdn]"));
    assert!(msg.contains("caches.cdn.edge: missing field `origin_rtt`"), "{msg}");
    // A cacheable class needs no database; a write behind the CDN does.
    scenario::load(
        &with_cdn(CDN, "[cdn]").replace(", database: main }", " }"),
        "good.yaml",
        Format::Yaml,
        &NoFiles,
    )
    .unwrap();
    let msg = one(&with_cdn(CDN, "[cdn]")
        .replace(", database: main }", " }")
        .replace("    - name: a\n", "    - name: a\n      kind: write\n"));
    assert!(
        msg.contains("traffic.classes[0].data.database: a write behind a CDN purges the key it writes"),
        "{msg}"
    );
}

const QUEUES: &str = r#"name: t
duration: 1m
traffic:
  rate: { constant: 10 }
  classes:
    - name: upload
      cpu: { exponential: { mean: 10ms } }
      data: { enqueue: jobs }
  target: lb
load_balancers:
  lb: { pool: web }
pools:
  web:
    instance_type: c6i.large
    count: 2
  workers:
    instance_type: c6i.large
    count: 0
    autoscaler:
      keda:
        trigger: { metric: queue_depth, queue: jobs, target: 5 }
queues:
  jobs:
    consumers: workers
    job: { constant: 100ms }
"#;

#[test]
fn the_queue_scenario_is_good() {
    scenario::load(QUEUES, "good.yaml", Format::Yaml, &NoFiles).unwrap();
}

#[test]
fn queue_references_and_combinations_are_checked() {
    let msg = one(&QUEUES.replace("enqueue: jobs", "enqueue: thumbnails"));
    assert_eq!(
        msg,
        "bad.yaml:8:24: traffic.classes[0].data.enqueue: unknown queue `thumbnails`; known: jobs"
    );
    let msg = one(&QUEUES.replace("consumers: workers", "consumers: thumbnailer"));
    assert_eq!(
        msg,
        "bad.yaml:24:16: queues.jobs.consumers: unknown pool `thumbnailer`; known: web, workers"
    );
    let msg = one(&QUEUES.replace("consumers: workers", "consumers: web"));
    assert!(
        msg.contains("queues.jobs.consumers: pool `web` is behind load balancer `lb`"),
        "{msg}"
    );
    let msg = one(&QUEUES.replace("queue: jobs, target", "target"));
    assert!(
        msg.contains(
            "pools.workers.autoscaler.keda.trigger.queue: a `queue_depth` metric names its queue; known: jobs"
        ),
        "{msg}"
    );
    let msg = one(&QUEUES.replace("queue: jobs, target", "queue: mail, target"));
    assert!(
        msg.contains("pools.workers.autoscaler.keda.trigger.queue: unknown queue `mail`; known: jobs"),
        "{msg}"
    );
    let msg = one(&QUEUES.replace(
        "job: { constant: 100ms }",
        "job: { constant: 100ms }\n    max_receives: 0",
    ));
    assert!(msg.contains("queues.jobs.max_receives: must be ≥ 1"), "{msg}");
    let msg = one(&QUEUES.replace(
        "job: { constant: 100ms }",
        "job: { constant: 100ms }\n    failure_probability: 1.0",
    ));
    assert!(
        msg.contains("queues.jobs.failure_probability: must be a probability in [0, 1), got 1"),
        "{msg}"
    );
    let msg = one(&QUEUES.replace(
        "job: { constant: 100ms }",
        "job: { constant: 100ms }\n    visibility_timeout: 0s",
    ));
    assert!(msg.contains("queues.jobs.visibility_timeout: must be > 0"), "{msg}");
    let msg = one(&QUEUES.replace("job: { constant: 100ms }", "jobs: { constant: 100ms }"));
    assert!(msg.contains("queues.jobs.jobs: unknown field"), "{msg}");
}

#[test]
fn shard_counts_are_bounded() {
    let msg = one(&DATA.replace("replicas: 1", "replicas: 1\n    shards: 0"));
    assert!(
        msg.contains("databases.main.shards: must be between 1 and 256, got 0"),
        "{msg}"
    );
    let msg = one(&DATA.replace("replicas: 1", "replicas: 1\n    sharding: range"));
    assert!(msg.contains("databases.main.sharding"), "{msg}");
}

#[test]
fn data_faults_are_checked() {
    let msg = one(&DATA.replace(
        "replicas: 1",
        "replicas: 1\n    faults: [ { at: 1m, replica_down: { replica: 2, for: 1m } } ]",
    ));
    assert!(
        msg.contains(
            "databases.main.faults[0].replica_down.replica: must be between 1 and the shard's 1 replica(s), got 2"
        ),
        "{msg}"
    );
    let msg = one(&DATA.replace("replicas: 1", "replicas: 1\n    faults: [ { at: 1m } ]"));
    assert!(
        msg.contains(
            "databases.main.faults[0]: give exactly one of `replica_down`, `replica_lag` or `primary_failover`"
        ),
        "{msg}"
    );
    let msg = one(&DATA.replace(
        "local: {}, capacity: 100",
        "local: {}, capacity: 100, faults: [ { at: 1m, node_down: 1, for: 1m } ]",
    ));
    assert!(
        msg.contains("caches.local.faults[0]: only a shared cache has nodes to lose"),
        "{msg}"
    );
    let msg = one(&DATA.replace(
        "local: {}, capacity: 100",
        "local: {}, capacity: 100, faults: [ { at: 1m, flush: true, node_down: 1 } ]",
    ));
    assert!(
        msg.contains(
            "caches.local.faults[0]: give `node_down: <node>, for: <time>` (a shared cache node lost) or `flush: true`"
        ),
        "{msg}"
    );
}

#[test]
fn instance_faults_are_checked() {
    let with = |faults: &str| format!("{DATA}faults:\n{faults}\n");
    scenario::load(
        &with("  - { at: 10s, crash: { pool: web } }\n  - { at: 20s, slowdown: { pool: web, factor: 2, for: 5s } }"),
        "good.yaml",
        Format::Yaml,
        &NoFiles,
    )
    .unwrap();
    let msg = one(&with("  - { at: 10s, crash: { pool: api } }"));
    assert!(
        msg.contains("faults[0].crash.pool: unknown pool `api`; known: web"),
        "{msg}"
    );
    let msg = one(&with("  - { at: 2m, crash: { pool: web } }"));
    assert!(
        msg.contains("faults[0].at: must be within the run (0 to 60 s), got 120 s"),
        "{msg}"
    );
    let msg = one(&with("  - { at: 10s }"));
    assert!(
        msg.contains("faults[0]: give one of `crash: { pool }`, `slowdown: { pool, factor, for }`, `zone_outage"),
        "{msg}"
    );
    let msg = one(&with("  - { at: 10s, slowdown: { pool: web, factor: 0.5, for: 5s } }"));
    assert!(
        msg.contains("faults[0].slowdown.factor: must be between 1 and 1000"),
        "{msg}"
    );
    let msg = one(&with("  - { at: 10s, zone_outage: { zone: eu-west-1a, for: 1m } }"));
    assert!(
        msg.contains("faults[0].zone_outage.zone: unknown zone `eu-west-1a`; the pools' `zones` name: none"),
        "{msg}"
    );
    let msg = one(&DATA.replace("    count: 2", "    count: 2\n    zones: [a, a]"));
    assert!(msg.contains("pools.web.zones[1]: `a` is listed twice"), "{msg}");
    let msg = one(&with("  - { at: 10s, crash: { pool: web, instances: 0 } }"));
    assert!(
        msg.contains("faults[0].crash.instances: must be between 1 and 100000, got 0"),
        "{msg}"
    );
    // Random faults: `mtbf` instead of `at`, per instance.
    scenario::load(
        &with("  - { mtbf: 30d, crash: { pool: web, detected_after: 40s } }"),
        "good.yaml",
        Format::Yaml,
        &NoFiles,
    )
    .unwrap();
    let msg = one(&with("  - { at: 10s, mtbf: 1h, crash: { pool: web } }"));
    assert!(
        msg.contains("faults[0]: give `at` (a fixed time) or `mtbf` (the mean time between failures"),
        "{msg}"
    );
    let msg = one(&with("  - { crash: { pool: web } }"));
    assert!(msg.contains("faults[0]: give `at`"), "{msg}");
    let msg = one(&with("  - { mtbf: 0.5s, crash: { pool: web } }"));
    assert!(
        msg.contains("faults[0].mtbf: must be between 1s and 1000 years, got 0.5 s"),
        "{msg}"
    );
    let msg = one(&with(
        "  - { at: 10s, lb_node_failure: { balancer: lb, node: 2, for: 1m } }",
    ));
    assert!(
        msg.contains("faults[0].lb_node_failure.node: must be between 1 and the balancer's 1 node(s) (`nodes`), got 2"),
        "{msg}"
    );
    let msg = one(&with("  - { at: 10s, lb_node_failure: { balancer: alb, for: 1m } }"));
    assert!(
        msg.contains("faults[0].lb_node_failure.balancer: unknown load balancer `alb`; known: lb"),
        "{msg}"
    );
    let msg = one(&with("  - { mtbf: 1h, crash: { pool: web, instances: 2 } }"));
    assert!(
        msg.contains("faults[0].crash.instances: a fault drawn at random strikes each instance on its own"),
        "{msg}"
    );
}

#[test]
fn spot_interruptions_need_spot_instances() {
    let msg = one(&format!(
        "{DATA}faults:\n  - {{ at: 10s, spot_interruption: {{ pool: web }} }}\n"
    ));
    assert!(
        msg.contains("faults[0].spot_interruption.pool: pool `web` runs on-demand instances; only spot instances"),
        "{msg}"
    );
}

#[test]
fn balancer_health_and_retry_settings_are_checked() {
    let with = |lb: &str| GOOD.replace("  lb: { pool: web }", lb);
    let msg = one(&with(
        "  lb: { pool: web, health_check: { interval: 2s, timeout: 5s } }",
    ));
    assert!(
        msg.contains("load_balancers.lb.health_check.timeout: must be at most the interval (2 s), got 5 s"),
        "{msg}"
    );
    let msg = one(&with("  lb: { pool: web, retries: { max: 2, on: [error, timeout] } }"));
    assert!(
        msg.contains("load_balancers.lb.retries.on: retrying on `timeout` needs a `try_timeout`"),
        "{msg}"
    );
    let msg = one(&with("  lb: { pool: web, retries: { max: 50 } }"));
    assert!(
        msg.contains("load_balancers.lb.retries.max: must be between 0 and 10, got 50"),
        "{msg}"
    );
    let msg = one(&with("  lb: { pool: web, policy: ip_hash, slow_start: 30s }"));
    assert!(
        msg.contains("load_balancers.lb.slow_start: works with round_robin"),
        "{msg}"
    );
    let msg = one(&with("  lb: { pool: web, passive: { max_fails: 0 } }"));
    assert!(
        msg.contains("load_balancers.lb.passive.max_fails: must be between 1 and 1000, got 0"),
        "{msg}"
    );
    let msg = one(&with("  lb: { pool: web, keepalive: { idle: 8 } }"));
    assert!(msg.contains("missing field `handshake`"), "{msg}");
    let msg = one(&with("  lb: { pool: web, connect_timeout: 2d }"));
    assert!(
        msg.contains("load_balancers.lb.connect_timeout: must be more than 0 and at most 1 day"),
        "{msg}"
    );
    let msg = one(&with("  lb: { backends: [{ pool: web, backup: true }] }"));
    assert!(
        msg.contains("load_balancers.lb.backends: every backend is a backup"),
        "{msg}"
    );
    let msg = one(&with("  lb: { pool: web, retries: { budget: { ratio: -1 } } }"));
    assert!(
        msg.contains("load_balancers.lb.retries.budget.ratio: must be between 0 and 10, got -1"),
        "{msg}"
    );
}

#[test]
fn deploys_and_start_up_cpu_are_checked() {
    let with = |tail: &str| format!("{GOOD}{tail}");
    let msg = one(&with("deploys:\n  - { at: 10s, pool: api, rolling: {} }\n"));
    assert!(msg.contains("deploys[0].pool: unknown pool `api`; known: web"), "{msg}");
    let msg = one(&with(
        "deploys:\n  - { at: 10s, pool: web, rolling: { max_surge: 0, max_unavailable: 0% } }\n",
    ));
    assert!(
        msg.contains("deploys[0].rolling: max_surge and max_unavailable cannot both be 0"),
        "{msg}"
    );
    let msg = one(&with(
        "deploys:\n  - { at: 10s, pool: web, rolling: { max_surge: lots } }\n",
    ));
    assert!(
        msg.contains("deploys[0].rolling.max_surge: must be a count or a percentage from 0% to 100%, got `lots`"),
        "{msg}"
    );
    let msg = one(&with("deploys:\n  - { at: 10s, pool: web }\n"));
    assert!(msg.contains("deploys[0]: give one of `rolling"), "{msg}");
    let msg = one(&with("deploys:\n  - { at: 2m, pool: web, blue_green: {} }\n"));
    assert!(msg.contains("deploys[0].at: must be within the run"), "{msg}");
    let msg = one(&GOOD.replace("    count: 2", "    count: 2\n    startup_cpu: { cores: 9, for: 1m }"));
    assert!(
        msg.contains("pools.web.startup_cpu.cores: must be between 1 and the instance's 2 cores, got 9"),
        "{msg}"
    );
}

#[test]
fn regions_and_their_dns_are_checked() {
    let regions = GOOD.replace("  target: lb\n", "").replace(
        "load_balancers:\n  lb: { pool: web }\n",
        "load_balancers:\n  lb: { pool: web }\n  lb2: { pool: web2 }\n\
         regions:\n  us: { balancer: lb }\n  eu: { balancer: lb2 }\n\
         dns:\n  populations:\n    all: { share: 1, rtt: { us: 10ms, eu: 80ms } }\n",
    ) + "  web2:\n    instance_type: c6i.large\n    count: 2\n";
    scenario::load(&regions, "good.yaml", Format::Yaml, &NoFiles).unwrap();
    let msg = one(&regions.replace("  classes:", "  target: lb\n  classes:"));
    assert!(
        msg.contains("traffic.target: with `regions`, the DNS sends each client to a region's balancer"),
        "{msg}"
    );
    let msg = one(&GOOD.replace("  target: lb\n", ""));
    assert!(msg.contains("traffic.target: missing"), "{msg}");
    let msg = one(&regions.replace("rtt: { us: 10ms, eu: 80ms }", "rtt: { us: 10ms }"));
    assert!(
        msg.contains("dns.populations.all.rtt: missing region `eu`: give the round trip to every region"),
        "{msg}"
    );
    let msg = one(&regions.replace("eu: 80ms", "eu: 80ms, ap: 150ms"));
    assert!(
        msg.contains("dns.populations.all.rtt.ap: unknown region `ap`; known: eu, us"),
        "{msg}"
    );
    let msg = one(&regions.replace("share: 1,", "share: -1,"));
    assert!(msg.contains("dns.populations.all.share: must be > 0, got -1"), "{msg}");
    let msg = one(&regions.replace("eu: { balancer: lb2 }", "eu: { balancer: lb }"));
    assert!(
        msg.contains("regions.us.balancer: `lb` is already region `eu`'s balancer"),
        "{msg}"
    );
    let msg = one(&regions.replace("lb2: { pool: web2 }", "lb2: { pool: web }"));
    assert!(
        msg.contains("regions.us.balancer: serves a pool of region `eu` too: a pool lives in one region"),
        "{msg}"
    );
    let msg = one(&regions.replace(
        "dns:\n  populations:\n    all: { share: 1, rtt: { us: 10ms, eu: 80ms } }\n",
        "",
    ));
    assert!(msg.contains("dns: missing: with `regions`"), "{msg}");
    let msg = one(&format!(
        "{regions}faults:\n  - {{ at: 10s, region_outage: {{ region: ap, for: 1m }} }}\n"
    ));
    assert!(
        msg.contains("faults[0].region_outage.region: unknown region `ap`; known: eu, us"),
        "{msg}"
    );
    let msg = one(&regions.replace("dns:\n", "dns:\n  ttl: 2d\n"));
    assert!(msg.contains("dns.ttl: must be between 0 s and 86400 s"), "{msg}");
    // Databases placed in regions.
    let db = "databases:\n  main:\n    region: us\n    regional_replicas: { eu: 1 }\n    primary: { cores: 4 }\n    replicas: 1\n    read: { constant: 1ms }\n    write: { constant: 1ms }\n";
    let placed = format!(
        "{}{db}",
        regions.replace("us: { balancer: lb }", "us: { balancer: lb, rtt: { eu: 80ms } }")
    );
    scenario::load(&placed, "good.yaml", Format::Yaml, &NoFiles).unwrap();
    let msg = one(&format!("{regions}{db}"));
    assert!(
        msg.contains(
            "regions.eu.rtt: missing the round trip to `us`: a database placed in regions is read from every region"
        ),
        "{msg}"
    );
    let msg = one(&placed.replace("regional_replicas: { eu: 1 }", "regional_replicas: { us: 1 }"));
    assert!(
        msg.contains("databases.main.regional_replicas.us: is the home region: count them in `replicas`"),
        "{msg}"
    );
    let msg = one(&format!("{GOOD}{db}"));
    assert!(
        msg.contains("databases.main.region: places the database in `regions`; the scenario has none"),
        "{msg}"
    );
    let msg = one(&placed.replace("eu: { balancer: lb2 }", "eu: { balancer: lb2, rtt: { us: 90ms } }"));
    assert!(
        msg.contains("regions.us.rtt.eu: differs from `regions.eu.rtt.us`: give each pair once"),
        "{msg}"
    );
}

#[test]
fn parser_messages_speak_the_format_not_the_program() {
    let msg = one(&GOOD.replace("name: t", "name: ~"));
    assert_eq!(
        msg,
        "bad.yaml:1:7: name: expected a value, found none (an empty value or `~` is null)"
    );
    let msg = one(&GOOD.replace("  lb: { pool: web }", "  lb: { pool: web }\n  lb: { pool: web }"));
    assert_eq!(
        msg,
        "bad.yaml:11:3: load_balancers: duplicate key `lb`: each key may appear once in a mapping"
    );
    let msg = one(&GOOD.replace("count: 2", "count: two"));
    assert_eq!(
        msg,
        "bad.yaml:14:12: pools.web.count: expected a whole number ≥ 0, at most 4294967295; found \"two\""
    );
    let msg = one("just a line of text\n");
    assert_eq!(
        msg,
        "bad.yaml:1:1: expected a mapping of fields; found \"just a line of text\""
    );
    let json = |text: &str| match scenario::load(text, "bad.json", Format::Json, &NoFiles) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.problems[0].to_string(),
    };
    assert_eq!(json("42"), "bad.json:1:1: expected a mapping of fields; found 42");
    let msg = json(r#"{"name": "t", "seed": "x"}"#);
    assert_eq!(
        msg,
        r#"bad.json:1:23: seed: expected a whole number ≥ 0, at most 18446744073709551615; found "x""#
    );
    for msg in [
        one(&GOOD.replace("name: t", "name: ~")),
        one(&GOOD.replace("  target: lb", "  target: lb\n  target: lb")),
        json(r#"{"name": "t",}"#),
    ] {
        for internal in ["Option<", "DuplicateKeyPolicy", "struct Raw", "u32", ".?", ": ?:"] {
            assert!(!msg.contains(internal), "{msg}");
        }
    }
}

/// A scenario with `classes` request classes, in YAML or JSON.
fn many_classes(classes: usize, json: bool) -> String {
    if json {
        let list: Vec<String> = (0..classes)
            .map(|i| format!(r#"{{"name": "c{i}", "cpu": {{"constant": "1ms"}}}}"#))
            .collect();
        format!(
            r#"{{"name": "t", "duration": "1m", "traffic": {{"rate": {{"constant": 10}}, "target": "lb", "classes": [
{}]}}, "load_balancers": {{"lb": {{"pool": "web"}}}}, "pools": {{"web": {{"instance_type": "c6i.large", "count": 2}}}}}}"#,
            list.join(",\n")
        )
    } else {
        let list: String = (0..classes)
            .map(|i| format!("    - {{ name: c{i}, cpu: {{ constant: 1ms }} }}\n"))
            .collect();
        GOOD.replace(
            "  classes:\n    - name: a\n      cpu: { exponential: { mean: 10ms } }\n",
            &format!("  classes:\n{list}"),
        )
    }
}

#[test]
fn json_has_the_same_node_budget_as_yaml() {
    // 40,000 classes of 7 nodes each: more than the 250,000 nodes a file may hold.
    let yaml = problems(&many_classes(40_000, false));
    let json = match scenario::load(&many_classes(40_000, true), "big.json", Format::Json, &NoFiles) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.problems,
    };
    let budget = "the file is too large: more than 250,000 nodes (each key, value, list and mapping counts one); \
                  capsim reads at most 250,000";
    assert_eq!((yaml.len(), json.len()), (1, 1));
    assert_eq!(yaml[0].message, budget);
    assert_eq!(json[0].message, budget);
    // Where the budget ran out: the class that crossed it (class 35,712).
    assert_eq!((json[0].line, json[0].column), (Some(35_714), Some(2)), "{}", json[0]);
    assert_eq!(yaml[0].path, "traffic.classes[35712]", "{}", yaml[0]);
    // Nesting is bounded alike.
    let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
    let e = scenario::load(&deep, "deep.json", Format::Json, &NoFiles).unwrap_err();
    assert_eq!(
        e.problems[0].to_string(),
        "deep.json:1:65: the file nests lists and mappings more than 64 levels deep; capsim reads at most 64"
    );
    // Within the budget, every class is checked, duplicates found once each.
    let text = many_classes(30_000, true).replace(r#""name": "c29999""#, r#""name": "c7""#);
    let e = scenario::load(&text, "big.json", Format::Json, &NoFiles).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(
        e.problems[0].to_string(),
        "big.json:30001:10: traffic.classes[29999].name: duplicate class name `c7`"
    );
}

#[test]
fn a_rate_curve_has_at_most_a_thousand_pieces() {
    let sum = |n: usize| vec!["{ constant: 0.01 }"; n].join(", ");
    let msg = one(&GOOD.replace("rate: { constant: 10 }", &format!("rate: {{ sum: [ {} ] }}", sum(1000))));
    assert_eq!(
        msg,
        "bad.yaml:4:9: traffic.rate: has 1001 pieces (sums and products included); at most 1000: every arrival \
         evaluates each piece, so give a long recorded curve as `steps` or a `replay` CSV"
    );
    let fits = GOOD.replace("rate: { constant: 10 }", &format!("rate: {{ sum: [ {} ] }}", sum(999)));
    scenario::load(&fits, "ok.yaml", Format::Yaml, &NoFiles).unwrap();
}

#[test]
fn known_names_are_listed_up_to_twenty() {
    let pools: String = (0..30)
        .map(|i| format!("  p{i:02}: {{ instance_type: c6i.large, count: 1 }}\n"))
        .collect();
    let yaml = GOOD
        .replace("lb: { pool: web }", "lb: { pool: api }")
        .replace("pools:\n", &format!("pools:\n{pools}"));
    let known: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
    assert_eq!(
        one(&yaml),
        format!(
            "bad.yaml:10:15: load_balancers.lb.pool: unknown pool `api`; known: {}, … (11 more)",
            known.join(", ")
        )
    );
}
