//! Engine throughput: capsim against a minimal hand-written BinaryHeap event
//! loop of the same model, measured in one run so the ratio is fair.
//!
//! Run with `cargo bench --bench engine`. Prints events/s and simulated
//! requests/s for (a) M/M/8 at ρ = 0.9 and (b) 8 single-worker instances
//! behind round robin, 1M requests each.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;
use std::time::Instant;

use capsim::engine::{RngStream, StreamId};
use capsim::model::simulate;
use capsim::scenario::{self, Format, NoFiles};

const REQUESTS: f64 = 1_000_000.0;
const MU: f64 = 100.0;

/// The baseline: arrivals and departures in a BinaryHeap keyed by
/// (time, sequence); `servers` queues, each with `cores` servers;
/// `shared` = one queue for all (M/M/c) or round robin over single queues.
fn baseline(servers: usize, cores: usize, lambda: f64, horizon: f64) -> (u64, u64, f64) {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        Arrival,
        Departure(usize),
    }
    let mut arrivals = RngStream::new(StreamId::new(1, 0, "a"));
    let mut service = RngStream::new(StreamId::new(1, 0, "s"));
    let mut heap: BinaryHeap<Reverse<(u64, u64, Ev)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let ns = |s: f64| (s * 1e9).round() as u64;
    let mut queues: Vec<VecDeque<u64>> = vec![VecDeque::new(); servers];
    let mut busy = vec![0usize; servers];
    let mut next_rr = 0;
    let (mut events, mut done, mut wait_sum) = (0u64, 0u64, 0f64);
    heap.push(Reverse((ns(arrivals.exp(1.0 / lambda)), seq, Ev::Arrival)));
    let end = ns(horizon);
    while let Some(Reverse((t, _, ev))) = heap.pop() {
        if t > end {
            break;
        }
        events += 1;
        match ev {
            Ev::Arrival => {
                seq += 1;
                heap.push(Reverse((t + ns(arrivals.exp(1.0 / lambda)), seq, Ev::Arrival)));
                let s = next_rr % servers;
                next_rr += 1;
                if busy[s] < cores {
                    busy[s] += 1;
                    seq += 1;
                    heap.push(Reverse((t + ns(service.exp(1.0 / MU)), seq, Ev::Departure(s))));
                } else {
                    queues[s].push_back(t);
                }
            }
            Ev::Departure(s) => {
                done += 1;
                if let Some(arrived) = queues[s].pop_front() {
                    wait_sum += (t - arrived) as f64;
                    seq += 1;
                    heap.push(Reverse((t + ns(service.exp(1.0 / MU)), seq, Ev::Departure(s))));
                } else {
                    busy[s] -= 1;
                }
            }
        }
    }
    (events, done, wait_sum)
}

fn scenario(instances: u32, cores: u32, lambda: f64, horizon: f64) -> capsim::model::SystemSpec {
    let yaml = format!(
        r#"
name: bench
duration: {horizon}s
traffic:
  rate: {{ constant: {lambda} }}
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

fn main() {
    let lambda = 0.9 * 8.0 * MU;
    let horizon = REQUESTS / lambda;
    println!("{:<44} {:>14} {:>16} {:>8}", "case", "events/s", "requests/s", "ratio");
    for (name, instances, cores) in [
        ("(a) M/M/8, rho = 0.9, 1M requests", 1u32, 8u32),
        ("(b) 8 x M/M/1 behind round robin, 1M requests", 8, 1),
    ] {
        let (t_base, (ev_base, done_base, _)) =
            best_of(3, || baseline(instances as usize, cores as usize, lambda, horizon));
        let spec = scenario(instances, cores, lambda, horizon);
        let (t_sim, result) = best_of(3, || simulate(&spec, 1, 0, &mut |_| {}));
        let base_eps = ev_base as f64 / t_base;
        let sim_eps = result.summary.events as f64 / t_sim;
        println!(
            "{:<44} {:>14.3e} {:>16.3e}",
            format!("{name}: baseline heap loop"),
            base_eps,
            done_base as f64 / t_base
        );
        println!(
            "{:<44} {:>14.3e} {:>16.3e} {:>8.2}",
            format!("{name}: capsim"),
            sim_eps,
            result.summary.requests.completed as f64 / t_sim,
            sim_eps / base_eps
        );
        let req_ratio = (result.summary.requests.completed as f64 / t_sim) / (done_base as f64 / t_base);
        println!(
            "{:<44} {:>14} {:>16} {:>8.2}",
            format!("{name}: requests/s ratio"),
            "",
            "",
            req_ratio
        );
    }
}
