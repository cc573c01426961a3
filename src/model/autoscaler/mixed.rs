//! An EC2 Auto Scaling group's mixed instances policy and its termination
//! policies, as pure functions.
//!
//! The mixed instances policy (`MixedInstancesPolicy`: an
//! `InstancesDistribution` and the launch template's `Overrides`) decides
//! what each launch is: on-demand up to `OnDemandBaseCapacity`, then
//! `OnDemandPercentageAboveBaseCapacity` percent of what is above the base
//! (the on-demand share rounded up), spot for the rest, spread over the
//! spot pools the allocation strategy picks. [`MixedInstances::launch`]
//! gives one launch's market and instance type from the instances the
//! group has; launching one at a time keeps the split at every size.
//!
//! [`choose_terminations`] is the scale-in side: the group's termination
//! policies ("Configure termination policies for Amazon EC2 Auto
//! Scaling"), which keep the on-demand/spot split, the zones balanced and
//! the spot pools spread.
//!
//! capsim has no spot capacity signal: every spot pool has the same
//! capacity and is never short, so `capacity-optimized` spreads over every
//! pool and `price-capacity-optimized` keeps to the lowest-priced ones (see
//! docs/autoscaling.md).

use crate::engine::{SimDuration, SimTime};
use crate::model::Market;

/// `OnDemandAllocationStrategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDemandAllocation {
    /// The first override first (AWS's default without instance requirements).
    Prioritized,
    /// The cheapest on-demand override first.
    LowestPrice,
}

/// `SpotAllocationStrategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpotAllocation {
    /// Spread over the `pools` lowest-priced spot pools (`SpotInstancePools`).
    LowestPrice { pools: u32 },
    /// The pools with the most spare capacity; capsim: all pools, spread evenly.
    CapacityOptimized,
    /// The lowest-priced of the pools with the most spare capacity; capsim:
    /// every pool at the lowest spot price, spread evenly.
    PriceCapacityOptimized,
}

/// One launch template override: an instance type, bought on-demand or as spot.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// The on-demand type (index into the run's instance-type catalogue).
    pub on_demand: usize,
    pub on_demand_usd: f64,
    /// Its spot counterpart (index into the catalogue), when spot is used.
    pub spot: Option<usize>,
    pub spot_usd: f64,
}

/// A validated mixed instances policy.
#[derive(Clone, Debug, PartialEq)]
pub struct MixedInstances {
    pub on_demand_base: u32,
    /// Percent (0–100) of the capacity above the base that is on-demand.
    pub on_demand_percent: u32,
    pub on_demand_allocation: OnDemandAllocation,
    pub spot_allocation: SpotAllocation,
    /// In priority order.
    pub overrides: Vec<Override>,
}

/// An instance of the group, as the launch choice sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub zone: Option<u16>,
    pub market: Market,
    /// Index of its override in [`MixedInstances::overrides`].
    pub slot: usize,
}

impl MixedInstances {
    /// On-demand instances in a group of `capacity`: the base, then the
    /// percentage of what is above it, rounded up (AWS favours on-demand).
    pub fn on_demand_target(&self, capacity: u32) -> u32 {
        let base = self.on_demand_base.min(capacity);
        let above = u64::from(capacity - base);
        base + (above * u64::from(self.on_demand_percent)).div_ceil(100) as u32
    }

    /// The override on-demand launches use.
    pub fn on_demand_slot(&self) -> usize {
        match self.on_demand_allocation {
            OnDemandAllocation::Prioritized => 0,
            OnDemandAllocation::LowestPrice => (0..self.overrides.len())
                .min_by(|&a, &b| {
                    self.overrides[a]
                        .on_demand_usd
                        .total_cmp(&self.overrides[b].on_demand_usd)
                })
                .unwrap_or(0),
        }
    }

    /// The overrides spot launches spread over, in priority order.
    pub fn spot_slots(&self) -> Vec<usize> {
        let mut slots: Vec<usize> = (0..self.overrides.len())
            .filter(|&s| self.overrides[s].spot.is_some())
            .collect();
        let price = |s: usize| self.overrides[s].spot_usd;
        match self.spot_allocation {
            SpotAllocation::CapacityOptimized => {}
            SpotAllocation::LowestPrice { pools } => {
                // Stable: equal prices keep the overrides' order.
                slots.sort_by(|&a, &b| price(a).total_cmp(&price(b)));
                slots.truncate(pools as usize);
                slots.sort_unstable();
            }
            SpotAllocation::PriceCapacityOptimized => {
                let lowest = slots.iter().map(|&s| price(s)).fold(f64::INFINITY, f64::min);
                slots.retain(|&s| price(s) == lowest);
            }
        }
        slots
    }

    /// What the next launch is, into `zone`, for a group that has `live`:
    /// on-demand while the group has fewer than the target for its new
    /// size, else spot in the chosen pool with the fewest spot instances in
    /// that zone (then in the group, then the first in priority order).
    pub fn launch(&self, live: &[Member], zone: Option<u16>) -> (Market, usize) {
        let on_demand = live.iter().filter(|m| m.market == Market::OnDemand).count() as u32;
        let spot = self.spot_slots();
        if on_demand < self.on_demand_target(live.len() as u32 + 1) || spot.is_empty() {
            return (Market::OnDemand, self.on_demand_slot());
        }
        // The pool with the fewest in the zone, then in the group (AWS
        // spreads within each zone; the group-wide count keeps one pool
        // from leading in every zone), then the first in priority order.
        let in_pool = |s: usize| {
            let of = live.iter().filter(|m| m.market == Market::Spot && m.slot == s);
            (of.clone().filter(|m| m.zone == zone).count(), of.count())
        };
        let slot = spot.iter().copied().min_by_key(|&s| in_pool(s)).expect("spot pools");
        (Market::Spot, slot)
    }
}

/// A termination policy (`TerminationPolicies`), applied in the listed order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminationPolicy {
    /// `AllocationStrategy`, then `OldestLaunchTemplate`, then `ClosestToNextInstanceHour`.
    Default,
    /// Align what remains with the allocation strategies.
    AllocationStrategy,
    OldestInstance,
    NewestInstance,
    /// The oldest version of the pool (deploys roll out versions).
    OldestLaunchTemplate,
    ClosestToNextInstanceHour,
}

/// An instance that may be terminated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Its id: ties left after every policy go to the highest (the newest launch).
    pub id: u32,
    pub zone: Option<u16>,
    pub market: Market,
    /// Index of its override (0 without a mixed instances policy).
    pub slot: usize,
    pub launched_at: SimTime,
    /// Its launch template version (the pool's version when it launched).
    pub version: u32,
}

const HOUR: SimDuration = SimDuration::from_secs(3600);

/// Which `count` of `candidates` a scale-in terminates, one at a time, as
/// "Configure termination policies for Amazon EC2 Auto Scaling" describes:
///
/// 1. With a mixed instances policy, the purchase option first ("Default
///    termination policy and mixed instances groups"): on-demand when the
///    group has more than the target for its new size, else spot.
/// 2. Zone balance before any policy: among that option's instances, those
///    in the zone(s) with the most of the group's instances.
/// 3. Each policy in order narrows the set (`Default` is
///    `AllocationStrategy`, `OldestLaunchTemplate`,
///    `ClosestToNextInstanceHour`, "How the default termination policy
///    works").
/// 4. AWS picks among what is left at random; capsim takes the highest id
///    (the most recent launch), so runs repeat exactly.
///
/// Returns the chosen ids in the order they were chosen.
pub fn choose_terminations(
    candidates: &[Candidate],
    count: usize,
    policies: &[TerminationPolicy],
    mixed: Option<&MixedInstances>,
    now: SimTime,
) -> Vec<u32> {
    let mut left: Vec<Candidate> = candidates.to_vec();
    let mut chosen = Vec::new();
    while chosen.len() < count && !left.is_empty() {
        let pick = choose_one(&left, policies, mixed, now);
        chosen.push(left[pick].id);
        left.remove(pick);
    }
    chosen
}

/// The index in `left` of the next instance to terminate.
fn choose_one(
    left: &[Candidate],
    policies: &[TerminationPolicy],
    mixed: Option<&MixedInstances>,
    now: SimTime,
) -> usize {
    let mut set: Vec<usize> = (0..left.len()).collect();
    if let Some(m) = mixed {
        let on_demand = left.iter().filter(|c| c.market == Market::OnDemand).count() as u32;
        let market = if on_demand > m.on_demand_target(left.len() as u32 - 1) {
            Market::OnDemand
        } else {
            Market::Spot
        };
        narrow(&mut set, |i| i64::from(left[i].market == market));
    }
    // Zone balance takes precedence over the policies.
    let in_zone = |z: Option<u16>| left.iter().filter(|c| c.zone == z).count() as i64;
    narrow(&mut set, |i| in_zone(left[i].zone));
    for &policy in policies {
        let steps: &[TerminationPolicy] = match policy {
            TerminationPolicy::Default => &[
                TerminationPolicy::AllocationStrategy,
                TerminationPolicy::OldestLaunchTemplate,
                TerminationPolicy::ClosestToNextInstanceHour,
            ],
            _ => std::slice::from_ref(&policy),
        };
        for &step in steps {
            apply(&mut set, left, step, mixed, now);
        }
    }
    set.into_iter()
        .max_by_key(|&i| left[i].id)
        .expect("a candidate is left")
}

/// Keeps the members of `set` with the largest `key`.
fn narrow(set: &mut Vec<usize>, key: impl Fn(usize) -> i64) {
    let Some(best) = set.iter().map(|&i| key(i)).max() else {
        return;
    };
    set.retain(|&i| key(i) == best);
}

fn apply(
    set: &mut Vec<usize>,
    left: &[Candidate],
    policy: TerminationPolicy,
    mixed: Option<&MixedInstances>,
    now: SimTime,
) {
    match policy {
        TerminationPolicy::Default => unreachable!("expanded by the caller"),
        TerminationPolicy::AllocationStrategy => {
            let Some(m) = mixed else { return };
            let spot_slots = m.spot_slots();
            let od_slot = m.on_demand_slot();
            // Outside the strategy's pools first; for spot, then the fullest
            // pool in the zone (keeps the pools spread); then priority or price.
            narrow(set, |i| {
                let c = &left[i];
                match c.market {
                    Market::OnDemand => i64::from(c.slot != od_slot),
                    Market::Spot => i64::from(!spot_slots.contains(&c.slot)),
                }
            });
            // The fullest spot pool in the zone, then in the group (the
            // mirror of how launches spread).
            let fullness = |c: &Candidate, zone_only: bool| {
                left.iter()
                    .filter(|o| o.market == Market::Spot && o.slot == c.slot && (!zone_only || o.zone == c.zone))
                    .count() as i64
            };
            for zone_only in [true, false] {
                narrow(set, |i| {
                    let c = &left[i];
                    if c.market == Market::OnDemand {
                        0
                    } else {
                        fullness(c, zone_only)
                    }
                });
            }
            narrow(set, |i| {
                let c = &left[i];
                match (c.market, m.on_demand_allocation) {
                    (Market::OnDemand, OnDemandAllocation::Prioritized) => c.slot as i64,
                    (Market::OnDemand, OnDemandAllocation::LowestPrice) => micro_usd(m.overrides[c.slot].on_demand_usd),
                    (Market::Spot, _) => micro_usd(m.overrides[c.slot].spot_usd),
                }
            });
        }
        TerminationPolicy::OldestInstance => narrow(set, |i| -(left[i].launched_at.0 as i64)),
        TerminationPolicy::NewestInstance => narrow(set, |i| left[i].launched_at.0 as i64),
        TerminationPolicy::OldestLaunchTemplate => narrow(set, |i| -i64::from(left[i].version)),
        TerminationPolicy::ClosestToNextInstanceHour => narrow(set, |i| {
            let lived = now.saturating_sub(left[i].launched_at).0 % HOUR.0;
            // The less of its hour is left, the closer it is.
            -((HOUR.0 - lived) as i64)
        }),
    }
}

fn micro_usd(p: f64) -> i64 {
    (p * 1e6).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's example (guide 002 §6.2): base 2, 30% above, lowest-price over 3 pools.
    fn seed() -> MixedInstances {
        MixedInstances {
            on_demand_base: 2,
            on_demand_percent: 30,
            on_demand_allocation: OnDemandAllocation::Prioritized,
            spot_allocation: SpotAllocation::LowestPrice { pools: 3 },
            overrides: vec![
                Override {
                    on_demand: 0,
                    on_demand_usd: 0.0416,
                    spot: Some(3),
                    spot_usd: 0.0125,
                },
                Override {
                    on_demand: 1,
                    on_demand_usd: 0.0376,
                    spot: Some(4),
                    spot_usd: 0.0113,
                },
                Override {
                    on_demand: 2,
                    on_demand_usd: 0.0464,
                    spot: Some(5),
                    spot_usd: 0.0139,
                },
            ],
        }
    }

    /// "OnDemandBaseCapacity … This base portion is launched first";
    /// "OnDemandPercentageAboveBaseCapacity … the percentages of On-Demand
    /// Instances and Spot Instances for your additional capacity beyond
    /// OnDemandBaseCapacity" (API reference, InstancesDistribution): the
    /// on-demand share above the base is rounded up.
    #[test]
    fn on_demand_target_is_the_base_then_the_percentage_rounded_up() {
        let m = seed();
        let targets: Vec<u32> = (0..=12).map(|n| m.on_demand_target(n)).collect();
        // 0,1,2 all on-demand; 3 → 2 + ⌈0.3⌉ = 3; 5 → 2 + ⌈0.9⌉ = 3; 6 → 2 + ⌈1.2⌉ = 4;
        // 9 → 2 + ⌈2.1⌉ = 5; 12 → 2 + 3 = 5.
        assert_eq!(targets, vec![0, 1, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5]);
        let all = MixedInstances {
            on_demand_percent: 100,
            ..seed()
        };
        assert_eq!(all.on_demand_target(9), 9);
        let none = MixedInstances {
            on_demand_base: 0,
            on_demand_percent: 0,
            ..seed()
        };
        assert_eq!(none.on_demand_target(9), 0);
    }

    fn grow(m: &MixedInstances, n: usize, zones: &[u16]) -> Vec<Member> {
        let mut live: Vec<Member> = Vec::new();
        for k in 0..n {
            let zone = (!zones.is_empty()).then(|| zones[k % zones.len()]);
            let (market, slot) = m.launch(&live, zone);
            live.push(Member { zone, market, slot });
        }
        live
    }

    #[test]
    fn launches_keep_the_split_and_spread_spot_over_the_pools() {
        let m = seed();
        for n in 0..=20 {
            let live = grow(&m, n, &[]);
            let od = live.iter().filter(|x| x.market == Market::OnDemand).count() as u32;
            assert_eq!(od, m.on_demand_target(n as u32), "at {n}");
            // Prioritized: on-demand is the first override.
            assert!(
                live.iter()
                    .filter(|x| x.market == Market::OnDemand)
                    .all(|x| x.slot == 0)
            );
            let per_pool: Vec<usize> = (0..3)
                .map(|s| live.iter().filter(|x| x.market == Market::Spot && x.slot == s).count())
                .collect();
            let (lo, hi) = (per_pool.iter().min().unwrap(), per_pool.iter().max().unwrap());
            assert!(hi - lo <= 1, "spot spread evenly at {n}: {per_pool:?}");
        }
    }

    #[test]
    fn lowest_price_keeps_to_the_cheapest_pools_and_price_capacity_to_the_cheapest() {
        let two = MixedInstances {
            spot_allocation: SpotAllocation::LowestPrice { pools: 2 },
            ..seed()
        };
        // Spot prices 0.0125, 0.0113, 0.0139: the two cheapest are overrides 0 and 1.
        assert_eq!(two.spot_slots(), vec![0, 1]);
        let pco = MixedInstances {
            spot_allocation: SpotAllocation::PriceCapacityOptimized,
            ..seed()
        };
        assert_eq!(pco.spot_slots(), vec![1]);
        let co = MixedInstances {
            spot_allocation: SpotAllocation::CapacityOptimized,
            ..seed()
        };
        assert_eq!(co.spot_slots(), vec![0, 1, 2]);
        let cheap = MixedInstances {
            on_demand_allocation: OnDemandAllocation::LowestPrice,
            ..seed()
        };
        assert_eq!(cheap.on_demand_slot(), 1);
    }

    fn candidates(live: &[Member]) -> Vec<Candidate> {
        live.iter()
            .enumerate()
            .map(|(k, m)| Candidate {
                id: k as u32,
                zone: m.zone,
                market: m.market,
                slot: m.slot,
                launched_at: SimTime::from_secs(60 * k as u64),
                version: 0,
            })
            .collect()
    }

    /// "Default termination policy and mixed instances groups": the group
    /// first identifies which purchase option to terminate, so scale-in
    /// keeps the split at every size, and the spot pools stay balanced.
    /// (Zones come after the purchase option, so they can drift; AWS's
    /// rebalancing activity is not modelled.)
    #[test]
    fn default_policy_keeps_the_split_and_the_pools_at_every_size() {
        let m = seed();
        let live = grow(&m, 18, &[0, 1, 2]);
        let cands = candidates(&live);
        let order = choose_terminations(
            &cands,
            18,
            &[TerminationPolicy::Default],
            Some(&m),
            SimTime::from_secs(4000),
        );
        assert_eq!(order.len(), 18);
        let mut left = cands.clone();
        for id in order {
            left.retain(|c| c.id != id);
            let n = left.len() as u32;
            let od = left.iter().filter(|c| c.market == Market::OnDemand).count() as u32;
            assert_eq!(od, m.on_demand_target(n), "split at {n}");
            let pools: Vec<usize> = (0..3)
                .map(|s| left.iter().filter(|c| c.market == Market::Spot && c.slot == s).count())
                .collect();
            assert!(
                pools.iter().max().unwrap() - pools.iter().min().unwrap() <= 1,
                "spot pools at {n}: {pools:?}"
            );
        }
    }

    /// "How the default termination policy works": within the zone, the
    /// oldest launch template version goes first, then the instance closest
    /// to its next billing hour.
    #[test]
    fn default_policy_prefers_old_versions_then_the_next_instance_hour() {
        let at = |id: u32, secs: u64, version: u32| Candidate {
            id,
            zone: None,
            market: Market::OnDemand,
            slot: 0,
            launched_at: SimTime::from_secs(secs),
            version,
        };
        let now = SimTime::from_secs(7200);
        // Version 0 loses to nothing newer: the old version goes first.
        let old = [at(0, 0, 1), at(1, 100, 0), at(2, 200, 1)];
        assert_eq!(
            choose_terminations(&old, 1, &[TerminationPolicy::Default], None, now),
            vec![1]
        );
        // Same version: launched at 600 s, it has 600 s of its hour left at
        // 7200 s; at 3500 s, 3500 s left; at 0, a whole hour.
        let same = [at(0, 0, 0), at(1, 3500, 0), at(2, 600, 0)];
        assert_eq!(
            choose_terminations(&same, 1, &[TerminationPolicy::Default], None, now),
            vec![2]
        );
        // Ties (AWS: at random): the most recent launch, by id.
        let tied = [at(0, 0, 0), at(1, 3600, 0)];
        assert_eq!(
            choose_terminations(&tied, 1, &[TerminationPolicy::Default], None, now),
            vec![1]
        );
    }

    /// "Zone balance takes precedence over the termination policy": the
    /// oldest instance of the zone with the most instances, not the
    /// group's oldest.
    #[test]
    fn zone_balance_comes_before_the_policies() {
        let c = |id: u32, zone: u16, secs: u64| Candidate {
            id,
            zone: Some(zone),
            market: Market::OnDemand,
            slot: 0,
            launched_at: SimTime::from_secs(secs),
            version: 0,
        };
        let group = [c(0, 0, 0), c(1, 1, 10), c(2, 1, 20), c(3, 0, 30), c(4, 1, 40)];
        let now = SimTime::from_secs(100);
        assert_eq!(
            choose_terminations(&group, 1, &[TerminationPolicy::OldestInstance], None, now),
            vec![1]
        );
        assert_eq!(
            choose_terminations(&group, 1, &[TerminationPolicy::NewestInstance], None, now),
            vec![4]
        );
        // Two out: one from zone 1, then the zones are even and the group's oldest goes.
        assert_eq!(
            choose_terminations(&group, 2, &[TerminationPolicy::OldestInstance], None, now),
            vec![1, 0]
        );
    }

    /// `AllocationStrategy`: "terminate instances … to align the remaining
    /// instances to the allocation strategy": a spot instance outside the
    /// lowest-priced pools goes first, then the fullest pool.
    #[test]
    fn allocation_strategy_drops_pools_outside_the_strategy_first() {
        let m = MixedInstances {
            on_demand_base: 0,
            on_demand_percent: 0,
            spot_allocation: SpotAllocation::LowestPrice { pools: 2 },
            ..seed()
        };
        let s = |id: u32, slot: usize| Candidate {
            id,
            zone: None,
            market: Market::Spot,
            slot,
            launched_at: SimTime::ZERO,
            version: 0,
        };
        // Override 2 is the dearest spot pool, outside the two cheapest.
        let group = [s(0, 0), s(1, 2), s(2, 1), s(3, 1), s(4, 0), s(5, 0)];
        let order = choose_terminations(
            &group,
            3,
            &[TerminationPolicy::AllocationStrategy],
            Some(&m),
            SimTime::ZERO,
        );
        // 2 (outside), then the fuller of pools 0 (3) and 1 (2): 0's newest, then 0 and 1 tie at 2: the dearer, 0.
        assert_eq!(order, vec![1, 5, 4]);
    }
}
