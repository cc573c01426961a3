//! Deploys and start-up CPU: Kubernetes' rolling-update defaults (25% /
//! 25%), Argo Rollouts' blue-green scale-down delay (30 s), and the ranges
//! each field allows.

use crate::engine::{SimDuration, SimTime};
use crate::model::deploy::{DeploySpec, Share, StartupCpu, Strategy};

use super::raw::{RawScenario, RawShare, RawStartupCpu};
use super::validate::{Checker, known_list};

/// A count or a percentage, as `maxSurge` takes it.
fn share(c: &mut Checker, path: &str, raw: Option<&RawShare>, default: Share) -> Share {
    match raw {
        None => default,
        Some(RawShare::Count(n)) if *n <= 100_000 => Share::Count(*n),
        Some(RawShare::Text(t)) => match t.strip_suffix('%').map(|n| n.trim().parse::<f64>()) {
            Some(Ok(p)) if p.is_finite() && (0.0..=100.0).contains(&p) => Share::Percent(p),
            _ => {
                c.problem(
                    path,
                    format!("must be a count or a percentage from 0% to 100%, got `{t}`"),
                );
                default
            }
        },
        Some(RawShare::Count(n)) => {
            c.problem(path, format!("must be at most 100000, got {n}"));
            default
        }
    }
}

pub(super) fn deploys(c: &mut Checker, raw: &RawScenario, duration: f64) -> Vec<DeploySpec> {
    let mut deploys = Vec::new();
    let pools = super::validate::KeyIndex::of(&raw.pools);
    for (i, d) in raw.deploys.iter().enumerate() {
        let path = format!("deploys[{i}]");
        if !(0.0..=duration).contains(&d.at.0) {
            c.problem(
                format!("{path}.at"),
                format!("must be within the run (0 to {duration} s), got {} s", d.at.0),
            );
        }
        let pool = pools.get(&d.pool);
        if pool.is_none() {
            c.problem(
                format!("{path}.pool"),
                format!(
                    "unknown pool `{}`; known: {}",
                    d.pool,
                    known_list(&d.pool, raw.pools.keys())
                ),
            );
        }
        let strategy = match (&d.rolling, &d.blue_green) {
            (Some(r), None) => {
                let rpath = format!("{path}.rolling");
                let max_surge = share(
                    c,
                    &format!("{rpath}.max_surge"),
                    r.max_surge.as_ref(),
                    Share::Percent(25.0),
                );
                let max_unavailable = share(
                    c,
                    &format!("{rpath}.max_unavailable"),
                    r.max_unavailable.as_ref(),
                    Share::Percent(25.0),
                );
                let zero = |s: Share| matches!(s, Share::Count(0)) || s == Share::Percent(0.0);
                if zero(max_surge) && zero(max_unavailable) {
                    c.problem(
                        &rpath,
                        "max_surge and max_unavailable cannot both be 0: the rollout could never make progress",
                    );
                }
                Some(Strategy::Rolling {
                    max_surge,
                    max_unavailable,
                })
            }
            (None, Some(b)) => {
                let delay = b.scale_down_delay.map_or(30.0, |d| d.0);
                if !(delay.is_finite() && (0.0..=86_400.0).contains(&delay)) {
                    c.problem(
                        format!("{path}.blue_green.scale_down_delay"),
                        format!("must be between 0 and 1 day, got {delay} s"),
                    );
                }
                Some(Strategy::BlueGreen {
                    scale_down_delay: SimDuration::from_secs_f64(delay.clamp(0.0, 86_400.0)),
                })
            }
            _ => {
                c.problem(
                    &path,
                    "give one of `rolling: { max_surge, max_unavailable }` or `blue_green: { scale_down_delay }`",
                );
                None
            }
        };
        if let (Some(pool), Some(strategy)) = (pool, strategy) {
            deploys.push(DeploySpec {
                at: SimTime::ZERO + SimDuration::from_secs_f64(d.at.0.max(0.0)),
                pool,
                strategy,
            });
        }
    }
    deploys.sort_by_key(|d| d.at);
    deploys
}

pub(super) fn startup_cpu(c: &mut Checker, path: &str, raw: Option<&RawStartupCpu>, cores: u32) -> Option<StartupCpu> {
    let s = raw?;
    if !(1..=cores.max(1)).contains(&s.cores) {
        c.problem(
            format!("{path}.startup_cpu.cores"),
            format!("must be between 1 and the instance's {cores} cores, got {}", s.cores),
        );
    }
    let d = s.duration.0;
    if !(d.is_finite() && d > 0.0 && d <= 86_400.0) {
        c.problem(
            format!("{path}.startup_cpu.for"),
            format!("must be more than 0 and at most 1 day, got {d} s"),
        );
    }
    Some(StartupCpu {
        cores: s.cores.clamp(1, cores.max(1)),
        duration: SimDuration::from_secs_f64(d.clamp(0.0, 86_400.0)),
    })
}
