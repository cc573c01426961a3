//! Writing results: CSV and JSON for machines, PNG/SVG charts for people.
//! All IO of results lives here; every file is written whole.

pub mod analysis;
pub mod architecture;
pub mod assumptions;
pub mod autoscaling;
pub mod charts;
pub mod checkpoint;
pub mod compare;
mod data;
pub mod escape;
pub mod files;
pub(crate) mod format;
pub mod headroom;
pub mod manifest;
pub mod plan;
pub mod resilience;
pub mod review;
mod run;
pub mod shard;
pub mod sweep;

pub use data::data_csv;
pub use format::Figure;
pub use run::{capacity_csv, events_csv, human_summary, scaling_csv, summary_json, timeseries_csv, write_run};
