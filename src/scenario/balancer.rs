//! A load balancer's health checks, retries, slow start and keepalive:
//! defaults (HAProxy's checks, nginx's passive marking, Finagle's retry
//! budget, nginx's upstream keepalive) and the ranges each field allows.

use crate::engine::SimDuration;
use crate::model::load_balancer::{
    DEFAULT_CONNECT_TIMEOUT, HealthCheck, Keepalive, PassiveHealth, RetryBudgetSpec, RetryPolicy,
};
use crate::model::{LbPolicy, LoadBalancerSpec};

use super::raw::{RawLoadBalancer, RawRetryOn};
use super::units::Duration;
use super::validate::Checker;

/// The longest any of these durations may be: one day.
const MAX_S: f64 = 86_400.0;

/// A duration in (0, one day], or `default` when not given.
fn duration(c: &mut Checker, path: &str, d: Option<Duration>, default: f64) -> SimDuration {
    let s = d.map_or(default, |d| d.0);
    if !(s.is_finite() && s > 0.0 && s <= MAX_S) {
        c.problem(path, format!("must be more than 0 and at most 1 day, got {s} s"));
        return SimDuration::from_secs_f64(default);
    }
    SimDuration::from_secs_f64(s)
}

/// A count in 1..=`max`, or `default` when not given.
pub(super) fn count(c: &mut Checker, path: &str, n: Option<u32>, default: u32, max: u32) -> u32 {
    let n = n.unwrap_or(default);
    if !(1..=max).contains(&n) {
        c.problem(path, format!("must be between 1 and {max}, got {n}"));
        return default;
    }
    n
}

/// Sets what a balancer adds to plain routing on `spec`.
pub(super) fn resilience(c: &mut Checker, path: &str, raw: &RawLoadBalancer, spec: &mut LoadBalancerSpec) {
    let policy = spec.policy;
    let health_check = raw.health_check.as_ref().map(|h| {
        let hpath = format!("{path}.health_check");
        let interval = duration(c, &format!("{hpath}.interval"), h.interval, 2.0);
        // HAProxy: without `timeout check`, a check may take the whole interval.
        let timeout = duration(c, &format!("{hpath}.timeout"), h.timeout, interval.as_secs_f64());
        if timeout > interval {
            c.problem(
                format!("{hpath}.timeout"),
                format!(
                    "must be at most the interval ({} s), got {} s",
                    interval.as_secs_f64(),
                    timeout.as_secs_f64()
                ),
            );
        }
        HealthCheck {
            interval,
            timeout: timeout.min(interval),
            fails: count(c, &format!("{hpath}.fails"), h.fails, 3, 100),
            passes: count(c, &format!("{hpath}.passes"), h.passes, 2, 100),
        }
    });
    spec.nodes = count(c, &format!("{path}.nodes"), raw.nodes, 1, 64);
    let passive = raw.passive.as_ref().map(|p| PassiveHealth {
        max_fails: count(c, &format!("{path}.passive.max_fails"), p.max_fails, 1, 1000),
        fail_timeout: duration(c, &format!("{path}.passive.fail_timeout"), p.fail_timeout, 10.0),
    });
    let retries = raw.retries.as_ref().map(|r| {
        let rpath = format!("{path}.retries");
        let max = r.max.unwrap_or(1);
        if max > 10 {
            c.problem(format!("{rpath}.max"), format!("must be between 0 and 10, got {max}"));
        }
        let try_timeout = r
            .try_timeout
            .map(|t| duration(c, &format!("{rpath}.try_timeout"), Some(t), 1.0));
        let on = r.on.clone().unwrap_or_else(|| {
            let mut on = vec![RawRetryOn::Error];
            if try_timeout.is_some() {
                on.push(RawRetryOn::Timeout);
            }
            on
        });
        let on_timeout = on.contains(&RawRetryOn::Timeout);
        if on_timeout && try_timeout.is_none() {
            c.problem(
                format!("{rpath}.on"),
                "retrying on `timeout` needs a `try_timeout` (how long one try may take)",
            );
        }
        let budget = r.budget.as_ref().map(|b| {
            let bpath = format!("{rpath}.budget");
            let ratio = b.ratio.unwrap_or(0.2);
            if !(ratio.is_finite() && (0.0..=10.0).contains(&ratio)) {
                c.problem(
                    format!("{bpath}.ratio"),
                    format!("must be between 0 and 10, got {ratio}"),
                );
            }
            let min_per_second = b.min_per_second.unwrap_or(10.0);
            if !(min_per_second.is_finite() && (0.0..=1e6).contains(&min_per_second)) {
                c.problem(
                    format!("{bpath}.min_per_second"),
                    format!("must be between 0 and 1000000, got {min_per_second}"),
                );
            }
            let window = duration(c, &format!("{bpath}.window"), b.window, 10.0);
            if window > SimDuration::from_secs(3600) {
                c.problem(format!("{bpath}.window"), "must be at most 1 hour");
            }
            RetryBudgetSpec {
                ratio,
                min_per_second,
                window,
            }
        });
        RetryPolicy {
            max: max.min(10),
            on_error: on.contains(&RawRetryOn::Error),
            on_timeout,
            try_timeout,
            budget,
        }
    });
    let slow_start = match raw.slow_start {
        None => SimDuration::ZERO,
        Some(d) => {
            let spath = format!("{path}.slow_start");
            let ramp = duration(c, &spath, Some(d), 30.0);
            let ramps = matches!(
                policy,
                LbPolicy::RoundRobin
                    | LbPolicy::WeightedRoundRobin
                    | LbPolicy::LeastConnections
                    | LbPolicy::WeightedLeastConnections
            );
            if !ramps {
                c.problem(
                    spath,
                    "works with round_robin, weighted_round_robin, least_connections and \
                     weighted_least_connections only (as nginx's slow_start): a hash or random choice has no weight to ramp",
                );
            }
            ramp
        }
    };
    let keepalive = raw.keepalive.as_ref().map(|k| {
        let kpath = format!("{path}.keepalive");
        let idle = k.idle.unwrap_or(32);
        if idle > 100_000 {
            c.problem(
                format!("{kpath}.idle"),
                format!("must be between 0 and 100000, got {idle}"),
            );
        }
        Keepalive {
            idle: idle.min(100_000),
            handshake: duration(c, &format!("{kpath}.handshake"), Some(k.handshake), 0.001),
            idle_timeout: duration(c, &format!("{kpath}.idle_timeout"), k.idle_timeout, 60.0),
        }
    });
    let connect_timeout = duration(
        c,
        &format!("{path}.connect_timeout"),
        raw.connect_timeout,
        DEFAULT_CONNECT_TIMEOUT.as_secs_f64(),
    );
    spec.health_check = health_check;
    spec.passive = passive;
    spec.retries = retries;
    spec.slow_start = slow_start;
    spec.keepalive = keepalive;
    spec.connect_timeout = connect_timeout;
}
