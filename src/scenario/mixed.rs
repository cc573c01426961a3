//! An AWS group's `mixed_instances` and `termination_policies`.

use std::collections::BTreeMap;

use crate::model::autoscaler::mixed::{
    MixedInstances, OnDemandAllocation, Override, SpotAllocation, TerminationPolicy,
};
use crate::model::{InstanceType, Market};

use super::raw::{RawAws, RawOnDemandAllocation, RawSpotAllocation, RawTerminationPolicy};
use super::validate::{Checker, TypeList, known_list};

/// AWS accepts at most 40 overrides in a launch template.
const MAX_OVERRIDES: usize = 40;
/// `SpotInstancePools`: 1–20, 2 when left out (API reference, InstancesDistribution).
const MAX_SPOT_POOLS: i64 = 20;
const DEFAULT_SPOT_POOLS: u32 = 2;

/// The suffix of the spot counterpart of an override's type in the catalogue.
pub(super) const SPOT_SUFFIX: &str = "-spot";

/// Validates an AWS group's mixed instances policy and termination
/// policies. `path` is the group's (`pools.web.autoscaler.aws`); `shape` is
/// the pool's own instance type, whose vCPU and memory every override must
/// have (capsim gives a pool's instances one shape).
pub(super) fn mixed(
    c: &mut Checker,
    path: &str,
    raw: &RawAws,
    shape: &InstanceType,
    catalogue: &BTreeMap<String, InstanceType>,
    types: &mut TypeList,
) -> (Option<MixedInstances>, Vec<TerminationPolicy>) {
    let mixed = raw
        .mixed_instances
        .as_ref()
        .and_then(|m| distribution(c, &format!("{path}.mixed_instances"), m, shape, catalogue, types));
    let mut termination = Vec::new();
    if let Some(list) = &raw.termination_policies {
        let tpath = format!("{path}.termination_policies");
        if list.is_empty() {
            c.problem(&tpath, "give at least one policy, or leave the field out");
        }
        for (k, &p) in list.iter().enumerate() {
            let policy = match p {
                RawTerminationPolicy::Default => TerminationPolicy::Default,
                RawTerminationPolicy::AllocationStrategy => TerminationPolicy::AllocationStrategy,
                RawTerminationPolicy::OldestInstance => TerminationPolicy::OldestInstance,
                RawTerminationPolicy::NewestInstance => TerminationPolicy::NewestInstance,
                RawTerminationPolicy::OldestLaunchTemplate => TerminationPolicy::OldestLaunchTemplate,
                RawTerminationPolicy::ClosestToNextInstanceHour => TerminationPolicy::ClosestToNextInstanceHour,
            };
            if termination.contains(&policy) {
                c.problem(format!("{tpath}[{k}]"), "listed twice");
            }
            if policy == TerminationPolicy::AllocationStrategy && raw.mixed_instances.is_none() {
                c.problem(
                    format!("{tpath}[{k}]"),
                    "allocation_strategy needs a `mixed_instances` policy to align with",
                );
            }
            termination.push(policy);
        }
    } else if mixed.is_some() {
        // A mixed group scales in as AWS does unless told otherwise.
        termination.push(TerminationPolicy::Default);
    }
    (mixed, termination)
}

fn distribution(
    c: &mut Checker,
    path: &str,
    m: &super::raw::RawMixedInstances,
    shape: &InstanceType,
    catalogue: &BTreeMap<String, InstanceType>,
    types: &mut TypeList,
) -> Option<MixedInstances> {
    let before = c.problems.len();
    let base = m.on_demand_base_capacity.unwrap_or(0);
    let max = i64::from(super::validate::MAX_INSTANCES);
    if !(0..=max).contains(&base) {
        c.problem(
            format!("{path}.on_demand_base_capacity"),
            format!("must be between 0 and {max}, got {base}"),
        );
    }
    let percent = m.on_demand_percentage_above_base_capacity.unwrap_or(100);
    if !(0..=100).contains(&percent) {
        c.problem(
            format!("{path}.on_demand_percentage_above_base_capacity"),
            format!("must be a percentage between 0 and 100, got {percent}"),
        );
    }
    let strategy = m.spot_allocation_strategy.unwrap_or(RawSpotAllocation::LowestPrice);
    let spot_allocation = match (strategy, m.spot_instance_pools) {
        (RawSpotAllocation::LowestPrice, pools) => {
            let pools = pools.unwrap_or(i64::from(DEFAULT_SPOT_POOLS));
            if !(1..=MAX_SPOT_POOLS).contains(&pools) {
                c.problem(
                    format!("{path}.spot_instance_pools"),
                    format!("must be between 1 and {MAX_SPOT_POOLS}, got {pools}"),
                );
            }
            SpotAllocation::LowestPrice {
                pools: pools.clamp(1, MAX_SPOT_POOLS) as u32,
            }
        }
        (_, Some(_)) => {
            c.problem(
                format!("{path}.spot_instance_pools"),
                "is valid only with spot_allocation_strategy: lowest-price",
            );
            SpotAllocation::CapacityOptimized
        }
        (RawSpotAllocation::CapacityOptimized, None) => SpotAllocation::CapacityOptimized,
        (RawSpotAllocation::PriceCapacityOptimized, None) => SpotAllocation::PriceCapacityOptimized,
    };
    let on_demand_allocation = match m.on_demand_allocation_strategy {
        Some(RawOnDemandAllocation::LowestPrice) => OnDemandAllocation::LowestPrice,
        _ => OnDemandAllocation::Prioritized,
    };
    let ipath = format!("{path}.instance_types");
    if m.instance_types.is_empty() || m.instance_types.len() > MAX_OVERRIDES {
        c.problem(
            &ipath,
            format!(
                "give between 1 and {MAX_OVERRIDES} instance types, got {}",
                m.instance_types.len()
            ),
        );
    }
    // Spot is used only when some capacity above the base is spot.
    let uses_spot = percent < 100;
    let mut overrides = Vec::new();
    for (k, name) in m.instance_types.iter().enumerate() {
        let tpath = format!("{ipath}[{k}]");
        if m.instance_types[..k].contains(name) {
            c.problem(&tpath, format!("`{name}` is listed twice"));
            continue;
        }
        let Some(t) = catalogue.get(name) else {
            c.problem(
                &tpath,
                format!("unknown type `{name}`; known: {}", known_list(name, catalogue.keys())),
            );
            continue;
        };
        if t.market != Market::OnDemand {
            c.problem(
                &tpath,
                format!(
                    "`{name}` is a spot type: list the on-demand type; its spot price comes from `{}`",
                    name.strip_suffix(SPOT_SUFFIX).unwrap_or(name).to_string() + SPOT_SUFFIX
                ),
            );
            continue;
        }
        same_shape(c, &tpath, t, shape);
        let spot_name = format!("{name}{SPOT_SUFFIX}");
        let spot = match catalogue.get(&spot_name) {
            Some(s) if s.market == Market::Spot => {
                same_shape(c, &tpath, s, shape);
                Some(s)
            }
            Some(_) => {
                c.problem(
                    &tpath,
                    format!("instance type `{spot_name}` must have `market: spot` to be `{name}`'s spot price"),
                );
                None
            }
            None if uses_spot => {
                c.problem(
                    &tpath,
                    format!(
                        "spot instances of `{name}` need a spot price: declare `{spot_name}: {{ vcpu: {}, memory_gib: {}, hourly_usd: …, market: spot }}` under instance_types",
                        t.vcpu, t.memory_gib
                    ),
                );
                None
            }
            None => None,
        };
        overrides.push(Override {
            on_demand: types.index_of(t),
            on_demand_usd: t.hourly_usd,
            spot: spot.map(|s| types.index_of(s)),
            spot_usd: spot.map_or(0.0, |s| s.hourly_usd),
        });
    }
    if c.problems.len() > before {
        return None;
    }
    Some(MixedInstances {
        on_demand_base: base as u32,
        on_demand_percent: percent as u32,
        on_demand_allocation,
        spot_allocation,
        overrides,
    })
}

/// capsim gives a pool's instances one shape (cores, workers, memory): an
/// override must have the pool type's vCPU and memory.
fn same_shape(c: &mut Checker, path: &str, t: &InstanceType, shape: &InstanceType) {
    if t.vcpu != shape.vcpu || t.memory_gib != shape.memory_gib {
        c.problem(
            path,
            format!(
                "`{}` has {} vCPU and {} GiB; every type of a mixed group must match the pool's `{}` ({} vCPU, {} GiB): capsim gives a pool's instances one shape (weighted capacity is not modelled)",
                t.name, t.vcpu, t.memory_gib, shape.name, shape.vcpu, shape.memory_gib
            ),
        );
    }
}
