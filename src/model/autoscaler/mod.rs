//! Autoscalers: controllers that read metrics and change a pool's size.
//!
//! [`hpa`] is the Kubernetes HorizontalPodAutoscaler (autoscaling/v2): the
//! replica calculation and the controller's normalization are pure functions
//! that follow the upstream controller step by step, rounding and time-window
//! edges included (see `docs/autoscaling.md`).

pub mod hpa;
