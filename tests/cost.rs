//! Every component priced: summary.json's `cost.components` are the
//! catalogue's prices (or the scenario's) times what the run billed, the
//! `prices:` map changes exactly the entry it names, and bad pricing input
//! gets an error naming its field.

mod common;

use capsim::metrics::{CostComponent, CostSummary};
use capsim::model::cost::HOURS_PER_MONTH;
use capsim::model::prices::{Rates, cache_node_type, db_class};
use capsim::model::simulate;
use capsim::scenario::{self, Format, NoFiles, Problem};
use common::spec;

/// A minute of traffic through a CDN, a balancer, an app pool, a shared
/// cache of three nodes and a database with two read replicas; a queue
/// drained by a second pool. `extra` is appended at the top level.
fn system(extra: &str) -> String {
    format!(
        r#"
name: priced
duration: 1m
traffic:
  rate: {{ constant: 40 }}
  classes:
    - {{ name: page, kind: read, cpu: {{ constant: 4ms }}, data: {{ caches: [cdn, redis], database: db }} }}
    - {{ name: order, weight: 0.25, kind: write, cpu: {{ constant: 4ms }}, data: {{ database: db, enqueue: jobs }} }}
  keys: {{ count: 500 }}
  target: lb
load_balancers:
  lb: {{ pool: web }}
pools:
  web: {{ instance_type: c6i.large, count: 2 }}
  workers: {{ instance_type: c6i.large, count: 1 }}
queues:
  jobs: {{ consumers: workers, job: {{ constant: 5ms }} }}
caches:
  cdn: {{ edge: {{ pops: 2, latency: {{ constant: 2ms }}, origin_rtt: 10ms }}, capacity: 100 }}
  redis: {{ shared: {{ nodes: 3, node_type: cache.r6g.large }}, capacity: 200 }}
databases:
  db:
    primary: {{ class: db.r6g.xlarge }}
    replicas: 2
    read: {{ constant: 1ms }}
    write: {{ constant: 2ms }}
    storage_gb: 100
    multi_az: true
{extra}"#
    )
}

fn cost(yaml: &str) -> CostSummary {
    let spec = spec(yaml);
    simulate(&spec, 7, 0, &mut |_| {}).summary.cost
}

fn entry<'a>(cost: &'a CostSummary, kind: &str, name: &str) -> &'a CostComponent {
    cost.components
        .iter()
        .find(|c| c.kind == kind && c.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:?}", cost.components))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1e-9)
}

#[test]
fn components_are_catalogue_prices_times_simulated_hours() {
    let cost = cost(&system(""));
    let rates = Rates::default();
    let kinds: Vec<(&str, &str)> = cost.components.iter().map(|c| (c.kind, c.name.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("pool", "web"),
            ("pool", "workers"),
            ("database", "db"),
            ("replicas", "db"),
            ("cdn", "cdn"),
            ("cache", "redis"),
            ("balancer", "lb"),
            ("queue", "jobs"),
        ]
    );
    let hours = 60.0 / 3600.0;
    for c in &cost.components {
        assert!(close(c.hours, hours), "{c:?}");
        assert!(close(c.per_month_usd, c.usd / hours * HOURS_PER_MONTH), "{c:?}");
        assert!(!c.basis.is_empty(), "{c:?}");
    }

    let class = db_class("db.r6g.xlarge").unwrap();
    let storage = 100.0 * rates.db_storage_usd_per_gb_month * hours / HOURS_PER_MONTH;
    let primary = entry(&cost, "database", "db");
    assert!(
        close(primary.usd, 2.0 * (class.hourly_usd * hours + storage)),
        "{primary:?}"
    );
    assert!(primary.basis.contains("Multi-AZ"), "{}", primary.basis);
    let replicas = entry(&cost, "replicas", "db");
    assert_eq!(replicas.quantity, 2.0);
    assert!(
        close(replicas.usd, 2.0 * (class.hourly_usd * hours + storage)),
        "{replicas:?}"
    );

    let node = cache_node_type("cache.r6g.large").unwrap();
    let cache = entry(&cost, "cache", "redis");
    assert_eq!(cache.quantity, 3.0);
    assert!(close(cache.usd, 3.0 * node.hourly_usd * hours), "{cache:?}");

    // Usage-priced: what the run sent them.
    let cdn = entry(&cost, "cdn", "cdn");
    assert!(cdn.quantity > 1000.0, "{cdn:?}");
    assert!(close(
        cdn.usd,
        cdn.quantity / 1e4 * rates.cdn_usd_per_10k_https_requests
    ));
    let lb = entry(&cost, "balancer", "lb");
    assert!(
        lb.usd > rates.alb_usd_per_hour * hours,
        "LCUs are charged on top: {lb:?}"
    );
    let queue = entry(&cost, "queue", "jobs");
    assert!(queue.quantity > 0.0);
    assert!(close(
        queue.usd,
        queue.quantity / 1e6 * rates.sqs_usd_per_million_requests
    ));

    // Instances only in the old fields; everything in the system ones.
    let pools: f64 = cost.components.iter().filter(|c| c.kind == "pool").map(|c| c.usd).sum();
    assert!(close(cost.total_usd, pools));
    let all: f64 = cost.components.iter().map(|c| c.usd).sum();
    assert!(close(cost.system_total_usd, all));
    assert!(close(cost.system_per_month_usd, all / hours * HOURS_PER_MONTH));
    assert!(
        cost.extrapolated && cost.note.is_some(),
        "a minute is shorter than a day"
    );
}

#[test]
fn prices_override_exactly_the_entry_they_name() {
    let base = cost(&system(""));
    let changed = cost(&system("prices:\n  db.r6g.xlarge: 1.0\n  alb_usd_per_hour: 0.5\n"));
    let hours = 60.0 / 3600.0;
    for (a, b) in base.components.iter().zip(&changed.components) {
        match (a.kind, a.name.as_str()) {
            ("database", _) | ("replicas", _) | ("balancer", _) => assert!(a.usd < b.usd, "{a:?} → {b:?}"),
            _ => assert_eq!(a, b),
        }
    }
    let storage = 100.0 * Rates::default().db_storage_usd_per_gb_month * hours / HOURS_PER_MONTH;
    assert!(close(
        entry(&changed, "database", "db").usd,
        2.0 * (1.0 * hours + storage)
    ));
    assert!(
        entry(&changed, "database", "db")
            .basis
            .contains("from the scenario's prices")
    );
    let delta = entry(&changed, "balancer", "lb").usd - entry(&base, "balancer", "lb").usd;
    assert!(
        close(delta, (0.5 - Rates::default().alb_usd_per_hour) * hours),
        "{delta}"
    );

    // A server's own price beats the catalogue's, for that server only.
    let own = cost(&system("").replace(
        "primary: { class: db.r6g.xlarge }",
        "primary: { class: db.r6g.xlarge, hourly_usd: 0.3 }\n    replica: { class: db.r6g.large }",
    ));
    assert!(close(entry(&own, "database", "db").usd, 2.0 * (0.3 * hours + storage)));
    let large = db_class("db.r6g.large").unwrap().hourly_usd;
    assert!(close(
        entry(&own, "replicas", "db").usd,
        2.0 * (large * hours + storage)
    ));
}

#[test]
fn a_class_gives_the_cores_and_cores_alone_are_priced_as_the_smallest_class() {
    let spec = spec(&system(""));
    assert_eq!(spec.data.databases[0].primary.cores, 4);
    let cores_only = system("")
        .replace("primary: { class: db.r6g.xlarge }", "primary: { cores: 4 }")
        .replace("nodes: 3, node_type: cache.r6g.large", "nodes: 3");
    let cost = cost(&cores_only);
    let primary = entry(&cost, "database", "db");
    assert_eq!(primary.item, "db.m6g.xlarge");
    assert!(
        primary
            .basis
            .starts_with("db.m6g.xlarge, the smallest class with 4 vCPUs"),
        "{}",
        primary.basis
    );
    let cache = entry(&cost, "cache", "redis");
    assert_eq!(cache.item, "cache.m6g.large");
    assert!(cache.basis.contains("the smallest node type"), "{}", cache.basis);
}

#[test]
fn a_run_of_a_day_is_not_extrapolated() {
    let day = system("")
        .replace("duration: 1m", "duration: 1d")
        .replace("constant: 40", "constant: 0.5");
    let cost = cost(&day);
    assert!(!cost.extrapolated && cost.note.is_none());
    let class = db_class("db.r6g.xlarge").unwrap();
    let primary = entry(&cost, "database", "db");
    let storage = 100.0 * Rates::default().db_storage_usd_per_gb_month;
    assert!(close(
        primary.per_month_usd,
        2.0 * (class.hourly_usd * HOURS_PER_MONTH + storage)
    ));
}

fn problems(yaml: &str) -> Vec<Problem> {
    match scenario::load(yaml, "bad.yaml", Format::Yaml, &NoFiles) {
        Ok(_) => panic!("expected problems"),
        Err(e) => e.problems,
    }
}

/// The one problem of `yaml`, which must be at `path` and say `says`.
fn problem_at(yaml: &str, path: &str, says: &str) {
    let p = problems(yaml);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].path, path, "{p:?}");
    assert!(p[0].message.contains(says), "{}", p[0].message);
}

#[test]
fn bad_pricing_input_names_its_field() {
    let good = system("");
    problem_at(
        &good.replace("class: db.r6g.xlarge", "class: db.r6g.huge"),
        "databases.db.primary.class",
        "unknown database class `db.r6g.huge`; known: db.t4g.medium,",
    );
    problem_at(
        &good.replace("class: db.r6g.xlarge", "class: db.r6g.xlarge, cores: 8"),
        "databases.db.primary.cores",
        "8 conflicts with `class: db.r6g.xlarge`, which has 4 vCPUs",
    );
    problem_at(
        &good.replace("{ class: db.r6g.xlarge }", "{ max_connections: 50 }"),
        "databases.db.primary",
        "give `cores`",
    );
    problem_at(
        &good.replace("node_type: cache.r6g.large", "node_type: cache.x9.large"),
        "caches.redis.shared.node_type",
        "known: cache.t4g.micro,",
    );
    problem_at(
        &system("prices:\n  alb_usd_per_hour: -1\n"),
        "prices.alb_usd_per_hour",
        "≥ 0",
    );
    problem_at(
        &system("prices:\n  alb_per_hour: 1\n"),
        "prices.alb_per_hour",
        "unknown price `alb_per_hour`; known: db_storage_usd_per_gb_month, cdn_usd_per_gb,",
    );
    problem_at(
        &good.replace("class: db.r6g.xlarge", "class: db.r6g.xlarge, hourly_usd: -0.5"),
        "databases.db.primary.hourly_usd",
        "≥ 0",
    );
    problem_at(
        &good.replace("storage_gb: 100", "storage_gb: -1"),
        "databases.db.storage_gb",
        "≥ 0",
    );
}

#[test]
fn bytes_out_are_responses_times_their_class_mean_size_at_the_per_gb_price() {
    // Pages (64 KiB) leave through the CDN; orders (2 KiB) from the origin.
    let yaml = system("warmup: 0s\n")
        .replace("kind: read, cpu", "kind: read, response_kib: 64, cpu")
        .replace("kind: write, cpu", "kind: write, response_kib: 2, cpu");
    let spec = spec(&yaml);
    let result = simulate(&spec, 7, 0, &mut |_| {});
    let responses = |name: &str| {
        let class = result.summary.classes.iter().find(|c| c.name == name).unwrap();
        class.latency.count as f64
    };
    let (pages, orders) = (responses("page"), responses("order"));
    assert!(pages > 1000.0 && orders > 300.0, "{pages} {orders}");
    let cost = &result.summary.cost;
    let rates = Rates::default();
    let gib = 1024.0 * 1024.0 * 1024.0;

    let cdn = entry(cost, "cdn", "cdn");
    let cdn_gib = pages * 64.0 * 1024.0 / gib;
    assert!(
        close(
            cdn.usd,
            cdn.quantity / 1e4 * rates.cdn_usd_per_10k_https_requests + cdn_gib * rates.cdn_usd_per_gb
        ),
        "{cdn:?}"
    );
    // Some 5,000 GB a month: within the first volume tier.
    assert!(
        cdn.basis
            .contains("GB a month) at the monthly volume tiers from $0.085/GB down"),
        "{}",
        cdn.basis
    );

    let out = entry(cost, "transfer", "internet");
    assert_eq!(out.unit, "GB");
    assert!(close(out.quantity, orders * 2.0 * 1024.0 / gib), "{out:?}");
    assert!(
        close(out.usd, out.quantity * rates.transfer_internet_usd_per_gb),
        "{out:?}"
    );
    let all: f64 = cost.components.iter().map(|c| c.usd).sum();
    assert!(close(cost.system_total_usd, all));

    // Without sizes nothing is billed for bytes, and the CDN says so.
    let unsized_cost = self::cost(&system(""));
    assert!(unsized_cost.components.iter().all(|c| c.kind != "transfer"));
    assert!(
        entry(&unsized_cost, "cdn", "cdn")
            .basis
            .contains("data transfer out not priced"),
        "{:?}",
        unsized_cost.components
    );
    // A size on some classes only: the others are named as not billed.
    let partial = self::cost(&system("").replace("kind: write, cpu", "kind: write, response_kib: 2, cpu"));
    assert!(entry(&partial, "cdn", "cdn").basis.contains("not priced"));
    assert!(
        entry(&partial, "transfer", "internet")
            .basis
            .contains("from $0.09/GB down")
    );
    // A rate the scenario sets is flat: no volume tiers.
    let flat = self::cost(&format!("{yaml}prices:\n  transfer_internet_usd_per_gb: 0.5\n"));
    let out = entry(&flat, "transfer", "internet");
    assert!(close(out.usd, out.quantity * 0.5), "{out:?}");
    assert!(
        out.basis.contains("$0.5/GB (`prices.transfer_internet_usd_per_gb`)"),
        "{}",
        out.basis
    );

    problem_at(
        &system("").replace("kind: read, cpu", "kind: read, response_kib: -1, cpu"),
        "traffic.classes[0].response_kib",
        "above 0 and at most 1048576",
    );
}

/// Large responses through a balancer: processed bytes are the ALB's
/// largest dimension. 10 MiB at about 10/s is some 350 GB an hour, 350
/// LCUs, where new connections would be 0.4.
#[test]
fn a_balancer_carrying_large_responses_is_billed_for_the_bytes_it_processed() {
    let yaml = r#"
name: downloads
duration: 1m
warmup: 0s
traffic:
  rate: { constant: 10 }
  classes:
    - { name: file, response_kib: 10240, cpu: { constant: 4ms } }
  target: lb
load_balancers:
  lb: { pool: web }
pools:
  web: { instance_type: c6i.large, count: 2 }
"#;
    let result = simulate(&spec(yaml), 7, 0, &mut |_| {});
    let responses = result.summary.classes[0].latency.count as f64;
    assert!(responses > 500.0, "{responses}");
    let hours = 60.0 / 3600.0;
    let gb_per_hour = responses * 10.0 / 1024.0 / hours;
    let rates = Rates::default();
    let lb = entry(&result.summary.cost, "balancer", "lb");
    assert!(
        close(
            lb.usd,
            (rates.alb_usd_per_hour + gb_per_hour * rates.alb_usd_per_lcu_hour) * hours
        ),
        "{lb:?}"
    );
    assert!(lb.basis.contains("GB processed"), "{}", lb.basis);

    // Without a size its bytes are not counted, and the basis says so.
    let unsized_cost = cost(&yaml.replace("response_kib: 10240, ", ""));
    let lb = entry(&unsized_cost, "balancer", "lb");
    assert!(lb.basis.contains("processed bytes not counted"), "{}", lb.basis);
    assert!(lb.usd < rates.alb_usd_per_hour * hours * 2.0, "{lb:?}");
}
