//! Load-balancing cost at scale: a pool of 2,000 or 10,000 single-core
//! instances (4 workers, a queue of 16, 10 ms of CPU per request on
//! average) at a utilisation of 0.7, behind each policy whose choice
//! depends on the whole rotation (least connections, weighted least
//! connections, smooth weighted round robin) and round robin as the
//! yardstick.
//!
//! Run with `cargo bench --bench balancing`. Prints, for each size and
//! policy, the requests simulated, the CPU time per request (this thread's,
//! best of three runs) and its ratio to round robin's at the same size.

use std::hint::black_box;

use capsim::model::simulate;
use capsim::scenario::{self, Format, NoFiles};

/// About 200,000 requests per run at either size.
const REQUESTS: f64 = 200_000.0;

/// This thread's CPU time in seconds (wall time where that is not available).
fn cpu_seconds() -> f64 {
    #[cfg(target_os = "linux")]
    {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid timespec for the call to write.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        assert_eq!(rc, 0, "clock_gettime");
        t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()
    }
}

fn scenario_text(instances: u32, policy: &str) -> String {
    let rate = 0.7 * 100.0 * f64::from(instances);
    let millis = (REQUESTS / rate * 1000.0).ceil() as u64;
    format!(
        "name: balancing
seed: 7
duration: {millis}ms
interval: 10s
traffic:
  rate: {{ constant: {rate} }}
  classes:
    - name: api
      cpu: {{ exponential: {{ mean: 10ms }} }}
  target: edge
load_balancers:
  edge:
    policy: {policy}
    pool: web
pools:
  web:
    instance_type: c6i.large
    count: {instances}
    cores: 1
    workers: 4
    queue_capacity: 16
"
    )
}

fn main() {
    println!(
        "{:>9} {:<28} {:>10} {:>14} {:>12}",
        "instances", "policy", "requests", "µs/request", "× round robin"
    );
    for instances in [2_000, 10_000] {
        let mut round_robin = None;
        for policy in [
            "round_robin",
            "least_connections",
            "weighted_least_connections",
            "weighted_round_robin",
        ] {
            let text = scenario_text(instances, policy);
            let spec = scenario::load(&text, "balancing.yaml", Format::Yaml, &NoFiles)
                .expect("the bench's scenario is valid")
                .spec;
            let mut best = f64::INFINITY;
            let mut requests = 0;
            for _ in 0..3 {
                let start = cpu_seconds();
                let r = black_box(simulate(&spec, 42, 0, &mut |_| {}));
                best = best.min(cpu_seconds() - start);
                requests = r.summary.requests.arrived;
            }
            let per_request = best / requests as f64 * 1e6;
            let base = *round_robin.get_or_insert(per_request);
            println!(
                "{:>9} {:<28} {:>10} {:>14.3} {:>12.2}",
                instances,
                policy,
                requests,
                per_request,
                per_request / base
            );
        }
    }
}
