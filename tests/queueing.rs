//! The engine against queueing theory. Each check runs independent
//! replications and requires the formula to fall inside the simulation's
//! 99.9% confidence interval; the printed lines feed README's validation table.

mod common;

use common::*;

#[test]
fn mm1_wait_and_time_in_system() {
    // λ = 80/s, μ = 100/s: ρ = 0.8, Wq = ρ/(μ−λ) = 40 ms, W = 1/(μ−λ) = 50 ms.
    let s = spec(&station(
        80.0,
        "{ exponential: { mean: 10ms } }",
        1,
        1,
        100_000,
        "round_robin",
        2000,
    ));
    let wait = measure(&s, 1, 12, |r| r.summary.queueing.mean_ms);
    assert_matches("M/M/1 rho=0.8 mean wait (ms)", 40.0, wait);
    let sojourn = measure(&s, 1, 12, |r| r.summary.latency.mean_ms);
    assert_matches("M/M/1 rho=0.8 mean time in system (ms)", 50.0, sojourn);
}

#[test]
fn mmc_wait_matches_erlang_c() {
    // One instance with c = 8 cores and workers: M/M/8. High load needs a
    // longer run for the same precision.
    let (c, mu) = (8, 50.0);
    for (rho, seconds, seed) in [(0.5, 600, 2), (0.9, 1500, 3)] {
        let lambda = rho * f64::from(c) * mu;
        let s = spec(&station(
            lambda,
            "{ exponential: { mean: 20ms } }",
            1,
            c,
            100_000,
            "round_robin",
            seconds,
        ));
        let wait = measure(&s, seed, 12, |r| r.summary.queueing.mean_ms);
        assert_matches(
            &format!("M/M/8 rho={rho} mean wait (ms)"),
            mmc_wait(c, lambda, mu) * 1000.0,
            wait,
        );
    }
}

#[test]
fn md1_wait_matches_pollaczek_khinchine() {
    // M/D/1: Wq = ρ / (2μ(1−ρ)); ρ = 0.8, service 10 ms → 20 ms.
    let s = spec(&station(80.0, "{ constant: 10ms }", 1, 1, 100_000, "round_robin", 2000));
    let wait = measure(&s, 4, 12, |r| r.summary.queueing.mean_ms);
    assert_matches("M/D/1 rho=0.8 mean wait (ms)", 0.8 / (2.0 * 100.0 * 0.2) * 1000.0, wait);
}

#[test]
fn mmck_blocking_matches_the_loss_formula() {
    // c = 4 workers, waiting room 2 (K = 6), offered load a = 4 (ρ = 1).
    let (c, room, lambda, mu) = (4, 2, 200.0, 50.0);
    let s = spec(&station(
        lambda,
        "{ exponential: { mean: 20ms } }",
        1,
        c,
        room,
        "round_robin",
        600,
    ));
    let blocked = measure(&s, 5, 12, |r| {
        let q = &r.summary.requests;
        q.rejected_queue_full as f64 / q.arrived as f64
    });
    assert_matches(
        "M/M/4/6 blocking probability",
        mmck_blocking(c, c + room, lambda / mu),
        blocked,
    );

    // Erlang B: no waiting room at all.
    let s = spec(&station(
        lambda,
        "{ exponential: { mean: 20ms } }",
        1,
        c,
        0,
        "round_robin",
        600,
    ));
    let blocked = measure(&s, 6, 12, |r| {
        let q = &r.summary.requests;
        q.rejected_queue_full as f64 / q.arrived as f64
    });
    assert_matches(
        "M/M/4/4 (Erlang B) blocking probability",
        mmck_blocking(c, c, lambda / mu),
        blocked,
    );
}

#[test]
fn littles_law_holds_on_the_outputs() {
    // A non-Markovian system with classes and least-connections balancing:
    // Little's law needs none of the assumptions of the formulas above.
    let yaml = r#"
name: little
duration: 600s
traffic:
  rate: { product: [ { constant: 300 }, { spike: { start: 200s, duration: 60s, multiplier: 1.5, rise: 10s, decay: 30s } } ] }
  classes:
    - { name: a, weight: 3, cpu: { lognormal: { mean: 15ms, cv: 2 } } }
    - { name: b, weight: 1, cpu: { uniform: { min: 5ms, max: 60ms } } }
  target: lb
load_balancers:
  lb: { policy: least_connections, pool: web }
pools:
  web: { instance_type: c6i.xlarge, count: 2, workers: 12, queue_capacity: 100000, timeout: 1h }
"#;
    let results = capsim::sweep::replicate(&spec(yaml), 7, 4);
    for r in &results {
        let s = &r.summary;
        assert_eq!(s.requests.rejected_queue_full + s.requests.timed_out, 0);
        let l = s.in_system_mean;
        let lambda_w = s.throughput_rps * s.latency.mean_ms / 1000.0;
        // Sample-path Little's law: the only gap is the requests still in the
        // system at the end, each in it for at most the run length.
        let end_effect = s.requests.in_flight as f64 * s.latency.max_ms / 1000.0 / s.simulated_s;
        println!("Little: L = {l:.5}, λW = {lambda_w:.5}, allowed gap {end_effect:.5}");
        assert!((l - lambda_w).abs() <= end_effect + 1e-9, "L = {l}, λW = {lambda_w}");
    }
}

#[test]
fn round_robin_over_single_servers_waits_longer_than_a_shared_queue() {
    // Four single-worker instances behind round robin: each sees Erlang-4
    // interarrivals (an E4/M/1 queue). The same capacity as one M/M/4 with a
    // shared queue waits far less: the reason least-connections and P2C exist.
    let (lambda, mu) = (320.0, 100.0); // ρ = 0.8
    let rr = spec(&station(
        lambda,
        "{ exponential: { mean: 10ms } }",
        4,
        1,
        100_000,
        "round_robin",
        1500,
    ));
    let shared = spec(&station(
        lambda,
        "{ exponential: { mean: 10ms } }",
        1,
        4,
        100_000,
        "round_robin",
        1500,
    ));
    let w_rr = measure(&rr, 8, 12, |r| r.summary.queueing.mean_ms);
    let w_shared = measure(&shared, 8, 12, |r| r.summary.queueing.mean_ms);
    assert_matches(
        "round robin over 4 × M/1 (E4/M/1) mean wait (ms)",
        erlang_k_m1_wait(4, lambda / 4.0, mu) * 1000.0,
        w_rr,
    );
    assert_matches(
        "shared queue M/M/4 mean wait (ms)",
        mmc_wait(4, lambda, mu) * 1000.0,
        w_shared,
    );
    assert!(
        w_rr.mean > 2.0 * w_shared.mean,
        "round robin {w_rr:?} vs shared {w_shared:?}"
    );
}

#[test]
fn power_of_two_choices_beats_random() {
    // Random over 8 single-worker instances is 8 independent M/M/1 queues;
    // two random choices cut the wait by far more than the CI.
    let (lambda, mu) = (8.0 * 90.0, 100.0); // ρ = 0.9
    let random = spec(&station(
        lambda,
        "{ exponential: { mean: 10ms } }",
        8,
        1,
        100_000,
        "random",
        1500,
    ));
    let p2c = spec(&station(
        lambda,
        "{ exponential: { mean: 10ms } }",
        8,
        1,
        100_000,
        "power_of_two_choices",
        1500,
    ));
    let w_random = measure(&random, 9, 12, |r| r.summary.queueing.mean_ms);
    let w_p2c = measure(&p2c, 9, 12, |r| r.summary.queueing.mean_ms);
    assert_matches(
        "random over 8 × M/M/1 mean wait (ms)",
        0.9 / (mu - 90.0) * 1000.0,
        w_random,
    );
    println!("power of two choices: {:.3} ± {:.3} ms", w_p2c.mean, w_p2c.ci95);
    assert!(
        w_p2c.mean + w_p2c.ci95 < 0.5 * (w_random.mean - w_random.ci95),
        "p2c {w_p2c:?} random {w_random:?}"
    );
}
