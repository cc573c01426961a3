//! Replication lag that emerges from write load, against queueing theory.
//!
//! Writes committed as a Poisson stream (rate λ) reach a replica after a
//! network delay δ and are replayed by one applier taking a constant d each:
//! the apply queue is M/D/1, so the mean time from commit to visible is
//! δ + W_q + d with Pollaczek–Khinchine's W_q = ρ d / (2 (1 − ρ)), ρ = λ d.

use capsim::engine::{RngStream, SimDuration, SimTime, StreamId};
use capsim::model::Distribution;
use capsim::model::replication::Replica;

fn mean_visibility_delay_ms(rate: f64, apply_ms: u64, delay_ms: u64, writes: usize, seed: u64) -> f64 {
    let gaps = Distribution::Exponential { mean: 1.0 / rate };
    let mut rng = RngStream::new(StreamId::new(seed, 0, "writes"));
    let mut replica = Replica::new(SimDuration::from_millis(delay_ms), 1);
    let mut t = SimTime::ZERO;
    let mut total = 0.0;
    for i in 0..writes {
        t += SimDuration::from_secs_f64(gaps.sample(&mut rng));
        let visible = replica.commit(t, i as u64, 1, SimDuration::from_millis(apply_ms));
        total += (visible - t).as_millis_f64();
    }
    total / writes as f64
}

#[test]
fn replica_lag_follows_pollaczek_khinchine() {
    println!("rho   theory (ms)  simulated (ms)  error");
    for (rate, apply_ms) in [(500.0, 1), (800.0, 1), (90.0, 10)] {
        let d = apply_ms as f64;
        let rho = rate * d / 1000.0;
        let theory = 2.0 + rho * d / (2.0 * (1.0 - rho)) + d;
        // Mean of 8 independent streams of 200k writes each.
        let runs: Vec<f64> = (0..8)
            .map(|seed| mean_visibility_delay_ms(rate, apply_ms, 2, 200_000, seed))
            .collect();
        let mean = runs.iter().sum::<f64>() / runs.len() as f64;
        let error = (mean - theory) / theory;
        println!("{rho:<5} {theory:<12.4} {mean:<15.4} {:+.2}%", error * 100.0);
        assert!(error.abs() < 0.02, "rho {rho}: theory {theory}, simulated {mean}");
    }
}

#[test]
fn a_write_burst_builds_lag_that_drains_afterwards() {
    // 2 ms per write on one applier can replay 500 writes/s; a second of
    // 1000 writes/s builds a 1-second backlog, which drains at 500/s once
    // writes fall back to 100/s.
    let mut replica = Replica::new(SimDuration::from_millis(1), 1);
    let apply = SimDuration::from_millis(2);
    let commit = |from_s: f64, to_s: f64, per_s: f64, replica: &mut Replica| {
        let n = ((to_s - from_s) * per_s) as usize;
        for i in 0..n {
            let t = SimTime::ZERO + SimDuration::from_secs_f64(from_s + i as f64 / per_s);
            replica.commit(t, i as u64, 1, apply);
        }
    };
    commit(0.0, 10.0, 100.0, &mut replica);
    assert!(replica.lag(SimTime::from_secs(10)) < SimDuration::from_millis(10));
    commit(10.0, 11.0, 1000.0, &mut replica);
    commit(11.0, 20.0, 100.0, &mut replica);
    let lag = |s: f64, r: &mut Replica| r.lag(SimTime::ZERO + SimDuration::from_secs_f64(s)).as_secs_f64();
    // At the end of the burst half of it is replayed (2 ms each): the oldest
    // write still waiting was committed 0.5 s ago: 501 of the burst wait,
    // and the first write of the calm that follows, committed at 11 s.
    assert!(
        (lag(11.0, &mut replica) - 0.501).abs() < 0.005,
        "{}",
        lag(11.0, &mut replica)
    );
    assert_eq!(replica.backlog(SimTime::from_secs(11)), 502);
    // The lag keeps growing while the backlog drains: at 12 s the applier
    // reaches the burst's last writes, a second old.
    assert!(
        (lag(12.0, &mut replica) - 1.0).abs() < 0.01,
        "{}",
        lag(12.0, &mut replica)
    );
    // 1.002 s of work left at 11 s drains at 0.8 s per second (100 writes/s still arrive):
    // caught up by about 12.25 s.
    assert!(lag(12.5, &mut replica) < 0.01);
}
