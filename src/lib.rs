//! capsim: a discrete-event capacity simulator.
pub mod engine;
pub mod metrics;
pub mod model;
