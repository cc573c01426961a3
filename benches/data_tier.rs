//! Data-tier throughput: the bundled `read-replicas` example (a shared
//! cache in front of a primary and two replicas, a flash sale that builds
//! replication lag), `cache-local` (per-pod caches under an HPA),
//! `cache-shared`, `hot-key-shard`, `photo-upload` (a queue and its
//! consumers) and `cdn` (reads answered at the edge).
//!
//! Run with `cargo bench --bench data_tier`. Prints events/s, simulated
//! requests/s and events per request for each, best of three runs.

use std::hint::black_box;
use std::time::Instant;

use capsim::model::simulate;
use capsim::scenario::{self, Format, NoFiles};

fn main() {
    println!(
        "{:<16} {:>12} {:>14} {:>16} {:>12}",
        "scenario", "requests", "events/s", "requests/s", "events/req"
    );
    for name in [
        "read-replicas",
        "cache-local",
        "cache-shared",
        "hot-key-shard",
        "photo-upload",
        "cdn",
    ] {
        let path = format!("scenarios/{name}.yaml");
        let text = std::fs::read_to_string(&path).expect("run from the repository root");
        let spec = scenario::load(&text, &path, Format::Yaml, &NoFiles)
            .expect("bundled example is valid")
            .spec;
        let mut best = f64::INFINITY;
        let mut last = None;
        for _ in 0..3 {
            let start = Instant::now();
            let r = black_box(simulate(&spec, 42, 0, &mut |_| {}));
            best = best.min(start.elapsed().as_secs_f64());
            last = Some(r);
        }
        let s = last.expect("ran").summary;
        let requests = s.requests.arrived as f64;
        println!(
            "{:<16} {:>12} {:>14.3e} {:>16.3e} {:>12.2}",
            name,
            s.requests.arrived,
            s.events as f64 / best,
            requests / best,
            s.events as f64 / requests
        );
    }
}
