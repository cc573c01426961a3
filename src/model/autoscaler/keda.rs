//! KEDA's own loop for a ScaledObject: activation (0 ↔ 1) and the cooldown
//! to zero (`pkg/scaling/executor/scale_scaledobjects.go`). Scaling between
//! 1 and N is done by the HPA KEDA creates, which capsim runs as an HPA with
//! an External metric.

use crate::engine::{SimDuration, SimTime};

/// A ScaledObject's settings that KEDA itself acts on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KedaSpec {
    pub min_replica_count: i32,
    pub max_replica_count: i32,
    pub polling_interval: SimDuration,
    pub cooldown_period: SimDuration,
    pub initial_cooldown_period: SimDuration,
    /// The trigger is active while its metric is strictly above this (milli-units).
    pub activation_threshold_milli: i64,
}

/// What a poll decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KedaAction {
    /// Nothing for KEDA to do (the HPA scales 1 ↔ N).
    Hold,
    /// Active at zero replicas: scale to `max(minReplicaCount, 1)`.
    Activate(i32),
    /// Inactive long enough: scale to `minReplicaCount` (even from N straight to 0).
    Deactivate(i32),
    /// Inactive, waiting for the cooldown.
    CoolingDown,
    /// Below `minReplicaCount`: raise to it.
    RaiseToMin(i32),
}

impl KedaAction {
    pub fn as_str(self) -> &'static str {
        match self {
            KedaAction::Hold => "Hold",
            KedaAction::Activate(_) => "Activate",
            KedaAction::Deactivate(_) => "Deactivate",
            KedaAction::CoolingDown => "CoolingDown",
            KedaAction::RaiseToMin(_) => "RaiseToMin",
        }
    }
}

/// KEDA's memory of one ScaledObject.
#[derive(Clone, Debug)]
pub struct Keda {
    pub spec: KedaSpec,
    last_active: Option<SimTime>,
}

impl Keda {
    pub fn new(spec: KedaSpec) -> Keda {
        Keda {
            spec,
            last_active: None,
        }
    }

    /// One poll (`RequestScale`): `value` is the trigger's metric, `replicas`
    /// the workload's current count. The scaled object is created at time 0.
    pub fn poll(&mut self, now: SimTime, value_milli: Option<i64>, replicas: i32) -> KedaAction {
        let s = self.spec;
        // A failing trigger (no metric yet) counts as inactive.
        let active = value_milli.is_some_and(|v| v > s.activation_threshold_milli);
        if active {
            self.last_active = Some(now);
            if replicas == 0 {
                return KedaAction::Activate(s.min_replica_count.max(1));
            }
            return if replicas < s.min_replica_count {
                KedaAction::RaiseToMin(s.min_replica_count)
            } else {
                KedaAction::Hold
            };
        }
        if replicas > 0 && s.min_replica_count == 0 {
            let cooled = match self.last_active {
                Some(t) => t + s.cooldown_period < now,
                None => SimTime::ZERO + s.initial_cooldown_period < now,
            };
            return if cooled {
                KedaAction::Deactivate(s.min_replica_count)
            } else {
                KedaAction::CoolingDown
            };
        }
        if replicas < s.min_replica_count {
            return KedaAction::RaiseToMin(s.min_replica_count);
        }
        KedaAction::Hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keda(min: i32, activation: i64) -> Keda {
        Keda::new(KedaSpec {
            min_replica_count: min,
            max_replica_count: 100,
            polling_interval: SimDuration::from_secs(30),
            cooldown_period: SimDuration::from_secs(300),
            initial_cooldown_period: SimDuration::ZERO,
            activation_threshold_milli: activation,
        })
    }

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn activates_from_zero_and_cools_down_to_zero() {
        let mut k = keda(0, 0);
        assert_eq!(k.poll(t(0), Some(0), 0), KedaAction::Hold);
        assert_eq!(k.poll(t(30), Some(1), 0), KedaAction::Activate(1));
        assert_eq!(k.poll(t(60), Some(5_000), 4), KedaAction::Hold);
        // Inactive from 90 s; last active at 60 s: scale to zero once 60 + 300 < now.
        assert_eq!(k.poll(t(90), Some(0), 4), KedaAction::CoolingDown);
        assert_eq!(k.poll(t(360), Some(0), 4), KedaAction::CoolingDown);
        assert_eq!(k.poll(t(390), Some(0), 4), KedaAction::Deactivate(0));
    }

    #[test]
    fn activation_threshold_is_strict_and_wins_over_scaling() {
        // KEDA docs: activation 50 with 40 messages → not active, to zero even though the HPA would want 4.
        let mut k = keda(0, 50_000);
        assert_eq!(k.poll(t(0), Some(40_000), 0), KedaAction::Hold);
        assert_eq!(k.poll(t(30), Some(50_000), 0), KedaAction::Hold);
        assert_eq!(k.poll(t(60), Some(50_001), 0), KedaAction::Activate(1));
    }

    #[test]
    fn never_active_uses_the_initial_cooldown_and_min_is_kept() {
        let mut k = keda(0, 0);
        assert_eq!(k.poll(t(30), None, 2), KedaAction::Deactivate(0));
        let mut k = keda(2, 0);
        assert_eq!(k.poll(t(30), Some(0), 1), KedaAction::RaiseToMin(2));
        assert_eq!(k.poll(t(60), Some(0), 3), KedaAction::Hold);
    }
}
