//! Engine throughput: capsim against a minimal hand-written event loop of
//! the same model, measured in one process so the ratio is fair.
//!
//! Run with `cargo bench --bench engine`. For (a) M/M/8 at ρ = 0.9 and (b)
//! 8 single-worker instances behind round robin, capsim simulates 1M
//! requests and the baseline completes as many; prints events/s, requests/s
//! and capsim's requests/s over the baseline's, best of five runs each.
//!
//! The baseline is as lean as the project's yardstick (`shared/bench`'s
//! reference loop, which `../shared/bench/ratio` runs as a separate
//! process): one `BinaryHeap` of 16-byte keys (the time's bits, then the
//! event source), Xoshiro256++ and `rand_distr`'s ziggurat exponential,
//! plain arrays for the servers, no metrics but the mean waits (and, for
//! (b), every sojourn kept for its p99). It does nothing capsim does not.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;
use std::time::Instant;

use capsim::model::simulate;
use capsim::scenario::{self, Format, NoFiles};
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use rand_xoshiro::Xoshiro256PlusPlus;

const REQUESTS: f64 = 1_000_000.0;
/// Service rate per server (10 ms of CPU), and arrivals at ρ = 0.9 of 8 servers.
const MU: f64 = 100.0;
const LAMBDA: f64 = 0.9 * 8.0 * MU;
const SERVERS: usize = 8;
/// The event source of an arrival; departures are the server's index.
const ARRIVAL: u32 = SERVERS as u32;

/// The event list: the time's bits (non-negative, so ordered like the
/// time) above the event source.
#[derive(Default)]
struct Fel(BinaryHeap<Reverse<u128>>);

impl Fel {
    #[inline(always)]
    fn push(&mut self, t: f64, source: u32) {
        self.0
            .push(Reverse((u128::from(t.to_bits()) << 32) | u128::from(source)));
    }

    #[inline(always)]
    fn pop(&mut self) -> (f64, u32) {
        let Reverse(k) = self.0.pop().expect("never empty: an arrival is always pending");
        (f64::from_bits((k >> 32) as u64), k as u32)
    }
}

/// What a baseline run did: events, completed customers, mean wait, mean
/// sojourn, and (round robin only) the sojourns' p99.
struct Out {
    events: u64,
    done: u64,
    wait: f64,
    sojourn: f64,
    p99: f64,
}

/// M/M/8: one FIFO queue in front of 8 servers, until `n` customers completed.
fn baseline_shared(n: u64, seed: u64) -> Out {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (iat, svc) = (Exp::new(LAMBDA).unwrap(), Exp::new(MU).unwrap());
    let mut fel = Fel::default();
    let mut queue: VecDeque<f64> = VecDeque::with_capacity(1024);
    let mut free: Vec<u32> = (0..SERVERS as u32).rev().collect();
    let (mut arrived, mut started) = ([0f64; SERVERS], [0f64; SERVERS]);
    let (mut events, mut done, mut wait, mut sojourn) = (0u64, 0u64, 0f64, 0f64);
    fel.push(iat.sample(&mut rng), ARRIVAL);
    while done < n {
        let (t, source) = fel.pop();
        events += 1;
        if source == ARRIVAL {
            fel.push(t + iat.sample(&mut rng), ARRIVAL);
            if let Some(s) = free.pop() {
                (arrived[s as usize], started[s as usize]) = (t, t);
                fel.push(t + svc.sample(&mut rng), s);
            } else {
                queue.push_back(t);
            }
        } else {
            let s = source as usize;
            done += 1;
            wait += started[s] - arrived[s];
            sojourn += t - arrived[s];
            if let Some(a) = queue.pop_front() {
                (arrived[s], started[s]) = (a, t);
                fel.push(t + svc.sample(&mut rng), source);
            } else {
                free.push(source);
            }
        }
    }
    Out {
        events,
        done,
        wait: wait / done as f64,
        sojourn: sojourn / done as f64,
        p99: f64::NAN,
    }
}

/// 8 × M/M/1: arrivals dealt round robin to 8 single-server FIFO queues,
/// until `n` customers completed.
fn baseline_round_robin(n: u64, seed: u64) -> Out {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (iat, svc) = (Exp::new(LAMBDA).unwrap(), Exp::new(MU).unwrap());
    let mut fel = Fel::default();
    let mut queues: Vec<VecDeque<f64>> = (0..SERVERS).map(|_| VecDeque::with_capacity(256)).collect();
    let mut busy = [false; SERVERS];
    let (mut arrived, mut started) = ([0f64; SERVERS], [0f64; SERVERS]);
    let mut sojourns: Vec<f64> = Vec::with_capacity(n as usize);
    let mut next = 0;
    let (mut events, mut done, mut wait, mut sojourn) = (0u64, 0u64, 0f64, 0f64);
    fel.push(iat.sample(&mut rng), ARRIVAL);
    while done < n {
        let (t, source) = fel.pop();
        events += 1;
        if source == ARRIVAL {
            fel.push(t + iat.sample(&mut rng), ARRIVAL);
            let s = next;
            next = if next + 1 == SERVERS { 0 } else { next + 1 };
            if busy[s] {
                queues[s].push_back(t);
            } else {
                busy[s] = true;
                (arrived[s], started[s]) = (t, t);
                fel.push(t + svc.sample(&mut rng), s as u32);
            }
        } else {
            let s = source as usize;
            done += 1;
            wait += started[s] - arrived[s];
            sojourn += t - arrived[s];
            sojourns.push(t - arrived[s]);
            if let Some(a) = queues[s].pop_front() {
                (arrived[s], started[s]) = (a, t);
                fel.push(t + svc.sample(&mut rng), source);
            } else {
                busy[s] = false;
            }
        }
    }
    // Nearest rank.
    let rank = ((0.99 * sojourns.len() as f64).ceil() as usize) - 1;
    let (_, p99, _) = sojourns.select_nth_unstable_by(rank, f64::total_cmp);
    Out {
        events,
        done,
        wait: wait / done as f64,
        sojourn: sojourn / done as f64,
        p99: *p99,
    }
}

fn scenario(instances: u32, cores: u32, horizon: f64) -> capsim::model::SystemSpec {
    let yaml = format!(
        r#"
name: bench
duration: {horizon}s
traffic:
  rate: {{ constant: {LAMBDA} }}
  classes: [ {{ name: job, cpu: {{ exponential: {{ mean: 10ms }} }} }} ]
  target: lb
load_balancers:
  lb: {{ policy: round_robin, pool: servers }}
instance_types:
  unit: {{ vcpu: {cores}, memory_gib: 1, hourly_usd: 0.1 }}
pools:
  servers: {{ instance_type: unit, count: {instances}, cores: {cores}, workers: {cores}, queue_capacity: 1000000 }}
"#
    );
    scenario::load(&yaml, "bench.yaml", Format::Yaml, &NoFiles)
        .expect("bench scenario")
        .spec
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let r = black_box(f());
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

/// A model to time: its name, instances, cores each, and the baseline loop.
type Case = (&'static str, u32, u32, fn(u64, u64) -> Out);

fn main() {
    let horizon = REQUESTS / LAMBDA;
    println!("{:<48} {:>12} {:>12} {:>8}", "case", "events/s", "requests/s", "ratio");
    let cases: [Case; 2] = [
        ("(a) M/M/8, rho = 0.9", 1, 8, baseline_shared),
        ("(b) 8 x M/M/1 behind round robin", 8, 1, baseline_round_robin),
    ];
    for (name, instances, cores, baseline) in cases {
        let spec = scenario(instances, cores, horizon);
        let (t_sim, result) = best_of(5, || simulate(&spec, 1, 0, &mut |_| {}));
        let completed = result.summary.requests.completed;
        let (t_base, base) = best_of(5, || baseline(completed, 1));
        let (sim_rps, base_rps) = (completed as f64 / t_sim, base.done as f64 / t_base);
        println!(
            "{:<48} {:>12.3e} {:>12.3e}",
            format!("{name}: baseline loop"),
            base.events as f64 / t_base,
            base_rps
        );
        println!(
            "{:<48} {:>12.3e} {:>12.3e} {:>8.2}",
            format!("{name}: capsim"),
            result.summary.events as f64 / t_sim,
            sim_rps,
            sim_rps / base_rps
        );
        // The two simulate the same queue: their means agree within noise.
        println!(
            "{:<48} wait {:.2} ms, sojourn {:.2} ms{}; capsim sojourn {:.2} ms",
            format!("{name}: check"),
            base.wait * 1e3,
            base.sojourn * 1e3,
            if base.p99.is_nan() {
                String::new()
            } else {
                format!(", p99 {:.1} ms", base.p99 * 1e3)
            },
            result.summary.latency.mean_ms
        );
    }
}
