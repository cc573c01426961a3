//! Helpers shared by the integration tests: building scenarios and the
//! formulas of queueing theory the engine is checked against.
#![allow(dead_code)]

use capsim::metrics::stats::{Estimate, estimate};
use capsim::model::{RunResult, SystemSpec};
use capsim::scenario::{self, Format, NoFiles};
use capsim::sweep::replicate;

/// Parses a YAML scenario that must be valid.
pub fn spec(yaml: &str) -> SystemSpec {
    match scenario::load(yaml, "test.yaml", Format::Yaml, &NoFiles) {
        Ok(s) => s.spec,
        Err(e) => panic!("test scenario invalid: {e}"),
    }
}

/// A queueing-station scenario: Poisson arrivals at `lambda`/s, `instances`
/// instances of `cores` cores and workers each, service `service` (a YAML
/// distribution), accept queue `queue`, behind `policy`.
pub fn station(
    lambda: f64,
    service: &str,
    instances: u32,
    cores: u32,
    queue: u32,
    policy: &str,
    seconds: u32,
) -> String {
    format!(
        r#"
name: station
duration: {seconds}s
warmup: {warmup}s
traffic:
  rate: {{ constant: {lambda} }}
  classes:
    - name: job
      cpu: {service}
  target: lb
load_balancers:
  lb: {{ policy: {policy}, pool: servers }}
instance_types:
  unit: {{ vcpu: {cores}, memory_gib: 1, hourly_usd: 0.1 }}
pools:
  servers:
    instance_type: unit
    count: {instances}
    cores: {cores}
    workers: {cores}
    queue_capacity: {queue}
    timeout: 100d
"#,
        warmup = seconds / 10
    )
}

/// Runs `replications` replications and returns the per-replication value of `metric`.
pub fn measure(spec: &SystemSpec, seed: u64, replications: u32, metric: impl Fn(&RunResult) -> f64) -> Estimate {
    let results = replicate(spec, seed, replications);
    for r in &results {
        assert!(
            r.summary.requests.conserved(),
            "conservation broken: {:?}",
            r.summary.requests
        );
    }
    let xs: Vec<f64> = results.iter().map(metric).collect();
    estimate(&xs)
}

/// Asserts that `theory` lies within the 99.9% confidence interval of the
/// replication estimate (the 95% half-width scaled from z=1.96 to z=3.29,
/// generous for the t-distribution at ≥ 10 replications), and prints the
/// comparison for the validation table.
pub fn assert_matches(what: &str, theory: f64, e: Estimate) {
    let half = e.ci95 * 3.29 / 1.96;
    let rel = (e.mean - theory) / theory * 100.0;
    println!(
        "{what}: theory {theory:.4}, simulated {:.4} ± {:.4} (95% CI), error {rel:+.2}%",
        e.mean, e.ci95
    );
    assert!(
        (e.mean - theory).abs() <= half,
        "{what}: theory {theory} outside simulated {} ± {half} (99.9% CI)",
        e.mean
    );
}

fn factorial(n: u32) -> f64 {
    (1..=n).map(f64::from).product()
}

/// Erlang C: probability that an arrival waits in M/M/c with offered load `a = λ/μ`.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / f64::from(c);
    let top = a.powi(c as i32) / factorial(c) / (1.0 - rho);
    let sum: f64 = (0..c).map(|k| a.powi(k as i32) / factorial(k)).sum();
    top / (sum + top)
}

/// Mean wait in queue of M/M/c (seconds).
pub fn mmc_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda)
}

/// Blocking probability of M/M/c/K (K = c + waiting room).
pub fn mmck_blocking(c: u32, k: u32, a: f64) -> f64 {
    let term = |n: u32| {
        if n < c {
            a.powi(n as i32) / factorial(n)
        } else {
            a.powi(n as i32) / (factorial(c) * f64::from(c).powi((n - c) as i32))
        }
    };
    let total: f64 = (0..=k).map(term).sum();
    term(k) / total
}

/// Mean wait in queue of GI/M/1 with Erlang-`k` interarrivals of overall rate
/// `lambda` (each phase at rate `k·lambda`), service rate `mu`: σ solves
/// σ = A*(μ(1−σ)) with A*(s) = (kλ/(kλ+s))^k, and W_q = σ / (μ(1−σ)).
pub fn erlang_k_m1_wait(k: u32, lambda: f64, mu: f64) -> f64 {
    let phase = f64::from(k) * lambda;
    let mut sigma = lambda / mu;
    for _ in 0..10_000 {
        sigma = (phase / (phase + mu * (1.0 - sigma))).powi(k as i32);
    }
    sigma / (mu * (1.0 - sigma))
}
