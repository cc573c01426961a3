//! An EC2 Auto Scaling group's mixed instances policy in the closed loop:
//! the on-demand/spot split at every size, the spot pools, the cost of each
//! type and market, spot interruptions that take only spot instances.

mod common;

use std::collections::BTreeMap;

use capsim::metrics::{EventKind, Subject};
use capsim::model::{Market, RunResult, simulate};
use capsim::scenario::{self, Format, NoFiles};

const TYPES: &str = r#"
instance_types:
  t3a.medium: { vcpu: 2, memory_gib: 4, speed: 0.9, hourly_usd: 0.0376 }
  t2.medium: { vcpu: 2, memory_gib: 4, speed: 0.9, hourly_usd: 0.0464 }
  t3.medium-spot: { vcpu: 2, memory_gib: 4, speed: 0.9, hourly_usd: 0.0125, market: spot }
  t3a.medium-spot: { vcpu: 2, memory_gib: 4, speed: 0.9, hourly_usd: 0.0113, market: spot }
  t2.medium-spot: { vcpu: 2, memory_gib: 4, speed: 0.9, hourly_usd: 0.0139, market: spot }
"#;

/// The seed's group (guide 002 §6.2) sized by scheduled actions only: its
/// policy's alarm never fires at this load.
fn sized(schedule: &str, mixed: &str, faults: &str) -> String {
    format!(
        r#"
name: mixed
duration: 2h
interval: 1m
traffic:
  rate: {{ constant: 10 }}
  classes: [ {{ name: page, cpu: {{ constant: 10ms }} }} ]
  target: alb
{TYPES}
load_balancers:
  alb: {{ policy: round_robin, pool: web }}
pools:
  web:
    instance_type: t3.medium
    zones: [a, b, c]
    count: 2
    boot_time: {{ constant: 60s }}
    termination_grace: 10s
    schedule:
{schedule}
    autoscaler:
      aws:
        min_size: 1
        max_size: 30
        policies:
          - simple:
              alarm: {{ metric: cpu_utilization, threshold: 99, comparison: greater_than_or_equal }}
              adjustment_type: change_in_capacity
              adjustment: 1
        mixed_instances:
{mixed}
{faults}
"#
    )
}

const SEED: &str = "          on_demand_base_capacity: 2
          on_demand_percentage_above_base_capacity: 30
          spot_allocation_strategy: lowest-price
          spot_instance_pools: 3
          instance_types: [t3.medium, t3a.medium, t2.medium]";

/// The seed's sizes on the way up and down, ten minutes apart.
const SIZES: [u32; 8] = [5, 10, 12, 20, 13, 7, 3, 2];

fn schedule() -> String {
    SIZES
        .iter()
        .enumerate()
        .map(|(k, n)| format!("      - {{ at: {}m, desired: {n} }}\n", 10 * (k + 1)))
        .collect()
}

/// The group's instances (launched, not yet draining or stopped) just
/// after every moment something happened, with the time.
fn groups(r: &RunResult) -> Vec<(f64, Vec<u32>)> {
    // The initial instances start ready, without a launch event.
    let mut live: Vec<u32> = (0..r.summary.pools[0].instances_initial).collect();
    let mut out: Vec<(f64, Vec<u32>)> = vec![(0.0, live.clone())];
    for e in &r.events {
        if !matches!(e.subject, Subject::Pool(0)) {
            continue;
        }
        match e.kind {
            EventKind::InstanceLaunched => live.push(e.instance),
            EventKind::InstanceDraining | EventKind::InstanceStopped | EventKind::InstanceCrashed => {
                live.retain(|&i| i != e.instance)
            }
            _ => continue,
        }
        let t = e.time.as_secs_f64();
        match out.last_mut() {
            Some((last, g)) if *last == t => *g = live.clone(),
            _ => out.push((t, live.clone())),
        }
    }
    out
}

fn on_demand(r: &RunResult, group: &[u32]) -> u32 {
    group
        .iter()
        .filter(|&&i| r.instances[i as usize].market == Market::OnDemand)
        .count() as u32
}

/// 2 + ⌈30% × (n − 2)⌉, n − 2 and below all on-demand.
fn seed_target(n: u32) -> u32 {
    if n <= 2 { n } else { 2 + (3 * (n - 2)).div_ceil(10) }
}

/// "OnDemandBaseCapacity … This base portion is launched first as your
/// group scales"; "OnDemandPercentageAboveBaseCapacity … the percentages
/// of On-Demand Instances and Spot Instances for your additional capacity
/// beyond OnDemandBaseCapacity" (API reference, InstancesDistribution),
/// and scale-in by the default termination policy ("Default termination
/// policy and mixed instances groups"): the split holds at every size.
#[test]
fn the_split_holds_at_every_size_on_the_way_up_and_down() {
    let r = simulate(&common::spec(&sized(&schedule(), SEED, "")), 1, 0, &mut |_| {});
    let gs = groups(&r);
    // Exact counts once each scheduled size is reached.
    let mut seen = Vec::new();
    for (k, &n) in SIZES.iter().enumerate() {
        let at = 600.0 * (k + 1) as f64;
        let (_, g) = gs.iter().rev().find(|(t, _)| *t <= at).expect("a group at each size");
        assert_eq!(g.len() as u32, n, "size at {at} s");
        let od = on_demand(&r, g);
        seen.push((n, od, n - od));
    }
    assert_eq!(
        seen,
        vec![
            (5, 3, 2),
            (10, 5, 5),
            (12, 5, 7),
            (20, 8, 12),
            (13, 6, 7),
            (7, 4, 3),
            (3, 3, 0),
            (2, 2, 0)
        ]
    );
    // And at every moment in between.
    for (t, g) in &gs {
        assert_eq!(on_demand(&r, g), seed_target(g.len() as u32), "at {t} s: {g:?}");
        // Spot spread over the three pools.
        let mut per_type: BTreeMap<&str, i64> = BTreeMap::new();
        for name in ["t3.medium-spot", "t3a.medium-spot", "t2.medium-spot"] {
            per_type.insert(name, 0);
        }
        let mut per_zone = [0i64; 3];
        for &i in g {
            let rec = &r.instances[i as usize];
            if rec.market == Market::Spot {
                *per_type.get_mut(rec.instance_type.as_str()).expect("a spot pool") += 1;
            } else {
                assert_eq!(rec.instance_type, "t3.medium", "prioritized: the first override");
            }
            per_zone[usize::from(rec.zone.expect("zoned"))] += 1;
        }
        let spread = |v: Vec<i64>| v.iter().max().unwrap() - v.iter().min().unwrap();
        assert!(
            spread(per_type.values().copied().collect()) <= 1,
            "at {t} s: {per_type:?}"
        );
        // Launches balance the zones; on scale-in the purchase option comes
        // first, so zones can drift (AWS then rebalances, launching before
        // it terminates: not modelled).
        if *t <= 2400.0 {
            assert!(spread(per_zone.to_vec()) <= 1, "at {t} s: {per_zone:?}");
        }
    }
}

#[test]
fn lowest_price_over_two_pools_keeps_to_the_two_cheapest() {
    let mixed = "          on_demand_base_capacity: 0
          on_demand_percentage_above_base_capacity: 0
          spot_instance_pools: 2
          instance_types: [t3.medium, t3a.medium, t2.medium]";
    let r = simulate(
        &common::spec(&sized("      - { at: 10m, desired: 9 }", mixed, "")),
        1,
        0,
        &mut |_| {},
    );
    let mut types: Vec<&str> = r.instances.iter().map(|i| i.instance_type.as_str()).collect();
    types.sort();
    types.dedup();
    // Spot prices: t3a 0.0113, t3 0.0125, t2 0.0139.
    assert_eq!(types, vec!["t3.medium-spot", "t3a.medium-spot"]);
}

/// Each instance is billed at its own type's price.
#[test]
fn cost_is_each_instance_at_its_own_price() {
    let r = simulate(&common::spec(&sized(&schedule(), SEED, "")), 1, 0, &mut |_| {});
    let pool = &r.summary.pools[0];
    let rows = &pool.by_instance_type;
    let names: Vec<(&str, Market)> = rows.iter().map(|t| (t.instance_type.as_str(), t.market)).collect();
    assert_eq!(
        names,
        vec![
            ("t3.medium", Market::OnDemand),
            ("t3.medium-spot", Market::Spot),
            ("t3a.medium-spot", Market::Spot),
            ("t2.medium-spot", Market::Spot),
        ]
    );
    let total: f64 = rows.iter().map(|t| t.cost_usd).sum();
    assert!((total - pool.cost_usd).abs() < 1e-9, "{total} vs {}", pool.cost_usd);
    // Per second, 60 s minimum: cost = price × instance-hours of the type.
    for t in rows {
        let hours = t.instances_mean * 2.0;
        assert!(
            (t.cost_usd - t.hourly_usd * hours).abs() <= t.hourly_usd * f64::from(t.launched) / 60.0,
            "{t:?}"
        );
    }
    // The same sizes all on-demand cost more.
    let all_od = SEED.replace(
        "on_demand_percentage_above_base_capacity: 30",
        "on_demand_percentage_above_base_capacity: 100",
    );
    let od = simulate(&common::spec(&sized(&schedule(), &all_od, "")), 1, 0, &mut |_| {});
    let od_pool = &od.summary.pools[0];
    assert_eq!(od_pool.by_instance_type.len(), 1);
    assert!(
        pool.cost_usd < 0.8 * od_pool.cost_usd,
        "{} vs {}",
        pool.cost_usd,
        od_pool.cost_usd
    );
}

fn interrupted(r: &RunResult) -> Vec<u32> {
    r.events
        .iter()
        .filter(|e| e.kind == EventKind::InstanceInterrupted)
        .map(|e| e.instance)
        .collect()
}

/// A spot interruption reclaims spot instances only (of one pool when
/// given); the group replaces them with spot, keeping the split.
#[test]
fn a_spot_interruption_takes_only_spot_instances() {
    let every = "faults:\n  - { at: 35m, spot_interruption: { pool: web, instances: 100 } }";
    let r = simulate(&common::spec(&sized(&schedule(), SEED, every)), 1, 0, &mut |_| {});
    let hit = interrupted(&r);
    // At 35 min the group is at 12, all ready: 5 on-demand, 7 spot.
    assert_eq!(hit.len(), 7, "{hit:?}");
    assert!(hit.iter().all(|&i| r.instances[i as usize].market == Market::Spot));
    for (t, g) in groups(&r) {
        assert_eq!(on_demand(&r, &g), seed_target(g.len() as u32), "at {t} s");
    }
    let one = "faults:\n  - { at: 35m, spot_interruption: { pool: web, instances: 100, instance_type: t3a.medium } }";
    let r = simulate(&common::spec(&sized(&schedule(), SEED, one)), 1, 0, &mut |_| {});
    let hit = interrupted(&r);
    assert!(!hit.is_empty());
    assert!(
        hit.iter()
            .all(|&i| r.instances[i as usize].instance_type == "t3a.medium-spot"),
        "{hit:?}"
    );
    assert!(hit.len() < 7);
}

/// The bundled scenario: the split holds through its scale-out, the spot
/// reclaim and the scale-in.
#[test]
fn the_bundled_scenario_keeps_the_split_throughout() {
    let text = std::fs::read_to_string("scenarios/asg-mixed-instances.yaml").unwrap();
    let r = simulate(&common::spec(&text), 7, 0, &mut |_| {});
    let gs = groups(&r);
    let peak = gs.iter().map(|(_, g)| g.len()).max().unwrap();
    assert!(peak >= 10, "it scales out: {peak}");
    assert_eq!(gs.last().unwrap().1.len(), 2, "and back to its minimum");
    for (t, g) in &gs {
        assert_eq!(on_demand(&r, g), seed_target(g.len() as u32), "at {t} s");
    }
    let hit = interrupted(&r);
    assert_eq!(hit.len(), 2);
    assert!(
        hit.iter()
            .all(|&i| r.instances[i as usize].instance_type == "t3a.medium-spot")
    );
    // The console names the types the group ran, not the pool's own type alone.
    let summary = capsim::report::human_summary(std::slice::from_ref(&r));
    let line = summary.lines().find(|l| l.starts_with("pool web:")).unwrap();
    assert!(
        line.contains("mixed (launched: ") && line.contains("t3a.medium-spot"),
        "{line}"
    );
}

fn error(yaml: &str) -> String {
    match scenario::load(yaml, "test.yaml", Format::Yaml, &NoFiles) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_policies_are_refused_with_the_field_and_what_is_allowed() {
    let sched = "      - { at: 10m, desired: 5 }";
    let with = |mixed: &str| error(&sized(sched, mixed, ""));
    let base = "autoscaler.aws.mixed_instances";
    let e = with("          on_demand_percentage_above_base_capacity: 150\n          instance_types: [t3.medium]");
    assert!(
        e.contains(&format!("{base}.on_demand_percentage_above_base_capacity")) && e.contains("between 0 and 100"),
        "{e}"
    );
    let e = with("          spot_instance_pools: 21\n          instance_types: [t3.medium]");
    assert!(
        e.contains("spot_instance_pools") && e.contains("between 1 and 20"),
        "{e}"
    );
    let e = with(
        "          spot_allocation_strategy: capacity-optimized\n          spot_instance_pools: 2\n          instance_types: [t3.medium]",
    );
    assert!(
        e.contains("valid only with spot_allocation_strategy: lowest-price"),
        "{e}"
    );
    let e =
        with("          on_demand_percentage_above_base_capacity: 50\n          instance_types: [t3.medium, c9.huge]");
    assert!(
        e.contains(&format!("{base}.instance_types[1]")) && e.contains("unknown type `c9.huge`"),
        "{e}"
    );
    // m6i.large: 2 vCPU, 8 GiB; c6i.large: 2 vCPU, 4 GiB but no spot price declared.
    let e = with(
        "          on_demand_percentage_above_base_capacity: 50\n          instance_types: [t3.medium, m6i.large]",
    );
    assert!(e.contains("must match the pool's `t3.medium`"), "{e}");
    let e = with(
        "          on_demand_percentage_above_base_capacity: 50\n          instance_types: [t3.medium, c6i.large]",
    );
    assert!(e.contains("`c6i.large-spot: { vcpu: 2, memory_gib: 4"), "{e}");
    let e = with(
        "          on_demand_percentage_above_base_capacity: 50\n          instance_types: [t3.medium, t3.medium]",
    );
    assert!(e.contains("listed twice"), "{e}");
    let e = with("          instance_types: [t3a.medium-spot]");
    assert!(e.contains("is a spot type"), "{e}");
    let e = error(&sized(sched, SEED, "").replace(
        "        mixed_instances:",
        "        termination_policies: [oldest_instance, sometimes]\n        mixed_instances:",
    ));
    assert!(
        e.contains("termination_policies") && e.contains("oldest_instance"),
        "{e}"
    );
    let e = error(&sized(
        sched,
        SEED,
        "faults:\n  - { at: 30m, spot_interruption: { pool: web, instance_type: m6i.large } }",
    ));
    assert!(e.contains("runs no spot instances of `m6i.large`"), "{e}");
    // A policy with problems of its own leaves its spot types unknown: a
    // spot fault on the pool is not also said to hit on-demand instances.
    let e = error(&sized(
        sched,
        "          on_demand_percentage_above_base_capacity: 150\n          instance_types: [t3.medium]",
        "faults:\n  - { at: 30m, spot_interruption: { pool: web } }",
    ));
    assert!(e.contains("between 0 and 100"), "{e}");
    assert!(!e.contains("runs on-demand instances"), "{e}");
}

/// `termination_policies` beside capsim's own order on a plain group:
/// `oldest_instance` removes the oldest of the zone with the most
/// instances, where capsim's ReplicaSet-like order removes the newest.
#[test]
fn oldest_instance_removes_the_oldest_where_capsim_removes_the_newest() {
    let yaml = |policies: &str| {
        format!(
            r#"
name: plain
duration: 30m
traffic:
  rate: {{ constant: 10 }}
  classes: [ {{ name: page, cpu: {{ constant: 10ms }} }} ]
  target: alb
load_balancers:
  alb: {{ policy: round_robin, pool: web }}
pools:
  web:
    instance_type: c6i.large
    count: 2
    boot_time: {{ constant: 60s }}
    termination_grace: 1s
    schedule:
      - {{ at: 5m, desired: 4 }}
      - {{ at: 15m, desired: 3 }}
    autoscaler:
      aws:
        min_size: 1
        max_size: 10
{policies}
        policies:
          - simple:
              alarm: {{ metric: cpu_utilization, threshold: 99, comparison: greater_than_or_equal }}
              adjustment_type: change_in_capacity
              adjustment: 1
"#
        )
    };
    let removed = |r: &RunResult| -> Vec<u32> {
        r.events
            .iter()
            .filter(|e| e.kind == EventKind::InstanceDraining)
            .map(|e| e.instance)
            .collect()
    };
    let capsim = simulate(&common::spec(&yaml("")), 1, 0, &mut |_| {});
    assert_eq!(removed(&capsim), vec![3]);
    let aws = simulate(
        &common::spec(&yaml("        termination_policies: [oldest_instance]")),
        1,
        0,
        &mut |_| {},
    );
    // Instances 0 and 1 both started at 0: the tie (AWS: at random) goes to
    // the higher id.
    assert_eq!(removed(&aws), vec![1]);
}

/// analysis.json prices a mixed group's instances at what they cost on
/// average (its types weighted by the instances each ran), not at the
/// pool type's on-demand price.
#[test]
fn the_analysis_prices_a_mixed_group_at_its_mean_price() {
    let spec = common::spec(&sized(&schedule(), SEED, ""));
    let r = simulate(&spec, 1, 0, &mut |_| {});
    let a = capsim::report::analysis::analyze(&spec, &r);
    let web = a.components[0].pool.as_ref().unwrap();
    let rows = &r.summary.pools[0].by_instance_type;
    let hours: f64 = rows.iter().map(|t| t.instances_mean).sum();
    let mean = rows.iter().map(|t| t.hourly_usd * t.instances_mean).sum::<f64>() / hours;
    assert!((web.hourly_usd - mean).abs() < 1e-12, "{} vs {mean}", web.hourly_usd);
    assert!(web.hourly_usd < 0.0416 && web.hourly_usd > 0.0113, "{}", web.hourly_usd);
}
