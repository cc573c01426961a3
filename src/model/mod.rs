//! The components of a simulated system and how a request moves between
//! them: traffic → load balancer → instance (worker, core) → response.
//!
//! Each component owns its state and exposes methods that take what they
//! need and return decisions; [`System`] applies them and schedules the
//! follow-up events. Its `handle` match is the table of contents.

pub mod autoscaler;
pub mod cache;
pub mod cost;
pub mod data;
pub mod deploy;
pub mod distribution;
pub mod fault;
pub mod instance;
pub mod instance_type;
pub mod load_balancer;
pub mod node_pool;
pub mod prices;
pub mod queue;
pub mod region;
pub mod replication;
pub mod request;
pub mod system;
pub mod traffic;

pub use cost::Billing;
pub use data::DataSpec;
pub use distribution::Distribution;
pub use instance::{InstanceState, PoolSpec};
pub use instance_type::{InstanceType, Market, builtin_catalogue};
pub use load_balancer::{HashOn, LbBackendSpec, LbPolicy, LoadBalancerSpec};
pub use system::{Event, InstanceRecord, RunResult, SystemSpec, simulate};
pub use traffic::{ArrivalMode, KeySpace, RateCurve, RequestClass, RequestKind, TrafficSpec};
