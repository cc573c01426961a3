//! capsim: a discrete-event capacity simulator.
//!
//! A scenario (YAML or JSON) describes traffic, load balancers and pools of
//! instances; capsim validates it into a [`model::SystemSpec`] and replays it
//! request by request in simulated time.
//!
//! ```
//! use capsim::scenario::{self, Format, NoFiles};
//!
//! let yaml = r#"
//! name: tiny
//! duration: 2m
//! traffic:
//!   rate: { constant: 50 }
//!   classes: [ { name: api, cpu: { exponential: { mean: 20ms } } } ]
//!   target: lb
//! load_balancers:
//!   lb: { policy: least_connections, pool: web }
//! pools:
//!   web: { instance_type: c6i.large, count: 2 }
//! "#;
//! let scenario = scenario::load(yaml, "tiny.yaml", Format::Yaml, &NoFiles).unwrap();
//! let result = capsim::model::simulate(&scenario.spec, scenario.seed, 0, &mut |_| {});
//!
//! let requests = &result.summary.requests;
//! assert!(requests.conserved()); // arrived = completed + rejected + timed out + in flight
//! assert!(result.summary.latency.p99_ms > 0.0);
//! // 50 req/s × 20 ms on 4 cores: about 25% CPU.
//! let cpu = result.summary.pools[0].cpu_utilization;
//! assert!((0.2..0.3).contains(&cpu), "{cpu}");
//! ```
//!
//! The modules follow the layers, in reading order: [`engine`] (time, event
//! list, random streams, run loop), [`model`] (the components and the event
//! routing), [`scenario`] (the file format and its validation), [`metrics`]
//! (what a run records), [`sweep`] (parallel replications), [`report`]
//! (files and charts) and [`cli`] (the command line).

// Printing goes through `cli::console`, which survives a closed reader.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sweep;
