//! The discrete-event engine: simulated time, the event list, seeded random
//! streams and the run loop.
//!
//! Nothing in here knows about load balancers, instances or requests. A model
//! implements [`Model`] with its own closed event enum; the engine pops events
//! in `(time, insertion order)` order and hands them back to the model.

mod rng;
mod run;
mod scheduler;
mod time;

pub use rng::{RngStream, StableHasher, StreamId, splitmix64, stable_hash};
pub use run::{Limits, Model, RunOutcome, StopReason, run};
pub use scheduler::Scheduler;
pub use time::{SimDuration, SimTime};
