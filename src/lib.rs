//! capsim: a discrete-event capacity simulator.
pub mod cli;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sweep;
