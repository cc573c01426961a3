//! What a run records: latency histograms, per-interval time series, discrete
//! events and the run summary, plus the statistics used to compare
//! replications.

mod histogram;
mod integral;
mod latency;
mod recorder;
mod slo;
pub mod stats;
mod summary;

pub use integral::TimeIntegral;
pub use latency::{LatencyRecorder, LatencySummary};
pub use recorder::{CapacityRecord, Counters, EventKind, EventRecord, IntervalRow, PoolRow, Recorder, Subject};
pub use slo::{SloSpec, SloSummary};
pub use summary::{
    CacheSummary, CapacityStats, ClassSummary, CostComponent, CostSummary, DataSummary, DatabaseSummary, DeploySummary,
    EdgeSummary, FaultSummary, LbSummary, NodeSummary, PoolSummary, PopulationSummary, QueueSummary,
    RandomFaultSummary, RegionSummary, ReplicaSummary, RequestCounts, RunSummary, ScalingSummary, ServerSummary,
    ShardSummary, TierSummary, TypeCost,
};
