//! Regions and the DNS that spreads clients over them, with Route 53's
//! defaults: a 60 s TTL, health checks every 30 s, a region out after 3
//! failed checks and back after 3 passing ones.

use std::collections::BTreeMap;

use crate::engine::SimDuration;
use crate::model::LoadBalancerSpec;
use crate::model::data::{DataSpec, Regional};
use crate::model::region::{DnsCheck, GeoSpec, Population, RegionSpec};

use super::balancer::count;
use super::raw::RawScenario;
use super::units::Duration;
use super::validate::{Checker, check_name, known_list};

/// Regions a scenario may have.
pub const MAX_REGIONS: usize = 32;

fn secs(c: &mut Checker, path: &str, d: Option<Duration>, default: f64, allowed: (f64, f64)) -> SimDuration {
    let s = d.map_or(default, |d| d.0);
    if !(allowed.0..=allowed.1).contains(&s) {
        c.problem(
            path,
            format!("must be between {} s and {} s, got {s} s", allowed.0, allowed.1),
        );
        return SimDuration::from_secs_f64(default);
    }
    SimDuration::from_secs_f64(s)
}

/// The regions and their DNS, when the scenario has any; `balancers` are
/// the validated load balancers, by name.
pub(super) fn geo(
    c: &mut Checker,
    raw: &RawScenario,
    balancers: &BTreeMap<&String, usize>,
    specs: &[LoadBalancerSpec],
    pools: usize,
) -> Option<GeoSpec> {
    let dns = match (&raw.dns, raw.regions.is_empty()) {
        (None, true) => return None,
        (Some(_), true) => {
            c.problem("dns", "routes clients to `regions`; give them, or leave `dns` out");
            return None;
        }
        (None, false) => {
            c.problem(
                "dns",
                "missing: with `regions`, give `dns: { populations: { <name>: { share, rtt: { <region>: <time> } } } }`",
            );
            return None;
        }
        (Some(dns), false) => dns,
    };
    if raw.regions.len() > MAX_REGIONS {
        // The checks below pair regions up: past the limit, this is the problem.
        c.problem(
            "regions",
            format!("at most {MAX_REGIONS} regions, got {}", raw.regions.len()),
        );
        return None;
    }
    let mut regions = Vec::new();
    let mut pool_region = vec![None; pools];
    for (r, (name, region)) in raw.regions.iter().enumerate() {
        let path = format!("regions.{name}");
        check_name(c, &path, name);
        let Some(&lb) = balancers.get(&region.balancer) else {
            c.problem(
                format!("{path}.balancer"),
                format!(
                    "unknown load balancer `{}`; known: {}",
                    region.balancer,
                    known_list(&region.balancer, balancers.keys().copied())
                ),
            );
            continue;
        };
        if let Some(other) = regions.iter().find(|o: &&RegionSpec| o.balancer == lb) {
            c.problem(
                format!("{path}.balancer"),
                format!("`{}` is already region `{}`'s balancer", region.balancer, other.name),
            );
            continue;
        }
        for b in &specs[lb].backends {
            match pool_region[b.pool] {
                Some(o) if o != r => c.problem(
                    format!("{path}.balancer"),
                    format!(
                        "serves a pool of region `{}` too: a pool lives in one region",
                        raw.regions.keys().nth(o).expect("an earlier region")
                    ),
                ),
                _ => pool_region[b.pool] = Some(r),
            }
        }
        regions.push(RegionSpec {
            name: name.clone(),
            balancer: lb,
        });
    }
    if dns.populations.is_empty() {
        c.problem("dns.populations", "list at least one population of clients");
    }
    let mut populations = Vec::new();
    for (name, p) in &dns.populations {
        let path = format!("dns.populations.{name}");
        check_name(c, &path, name);
        if !(p.share.is_finite() && p.share > 0.0) {
            c.problem(format!("{path}.share"), format!("must be > 0, got {}", p.share));
        }
        for region in p.rtt.keys().filter(|k| !raw.regions.contains_key(*k)) {
            c.problem(
                format!("{path}.rtt.{region}"),
                format!(
                    "unknown region `{region}`; known: {}",
                    known_list(region, raw.regions.keys())
                ),
            );
        }
        let mut rtt = Vec::new();
        for region in raw.regions.keys() {
            match p.rtt.get(region) {
                Some(d) => rtt.push(secs(c, &format!("{path}.rtt.{region}"), Some(*d), 0.0, (0.0, 10.0))),
                None => {
                    c.problem(
                        format!("{path}.rtt"),
                        format!("missing region `{region}`: give the round trip to every region"),
                    );
                    rtt.push(SimDuration::ZERO);
                }
            }
        }
        populations.push(Population {
            name: name.clone(),
            share: p.share,
            rtt,
        });
    }
    let names: Vec<&String> = raw.regions.keys().collect();
    let mut region_rtt = vec![vec![None; names.len()]; names.len()];
    for (a, (name, region)) in raw.regions.iter().enumerate() {
        for (other, d) in &region.rtt {
            let path = format!("regions.{name}.rtt.{other}");
            let Some(b) = names.binary_search(&other).ok() else {
                c.problem(
                    &path,
                    format!(
                        "unknown region `{other}`; known: {}",
                        known_list(other, raw.regions.keys())
                    ),
                );
                continue;
            };
            if a == b {
                c.problem(&path, "a region's round trip to itself is not given");
                continue;
            }
            let rtt = secs(c, &path, Some(*d), 0.0, (0.0, 10.0));
            if region_rtt[b][a].is_some_and(|r| r != rtt) {
                c.problem(
                    &path,
                    format!("differs from `regions.{other}.rtt.{name}`: give each pair once"),
                );
            }
            region_rtt[a][b] = Some(rtt);
            region_rtt[b][a] = Some(rtt);
        }
    }
    let ttl = secs(c, "dns.ttl", dns.ttl, 60.0, (0.0, 86_400.0));
    let check = dns.health_check.as_ref();
    let check = DnsCheck {
        interval: secs(
            c,
            "dns.health_check.interval",
            check.and_then(|h| h.interval),
            30.0,
            (1.0, 3_600.0),
        ),
        fails: count(c, "dns.health_check.fails", check.and_then(|h| h.fails), 3, 10),
        passes: count(c, "dns.health_check.passes", check.and_then(|h| h.passes), 3, 10),
    };
    Some(GeoSpec {
        regions,
        populations,
        ttl,
        check,
        pool_region,
        region_rtt,
    })
}

/// Places databases in regions: `region` (its primaries and `replicas`)
/// and `regional_replicas` (read replicas per shard elsewhere, each
/// replicating over the link, half its round trip one way). Every pair of
/// regions then needs its round trip: any region's instances may read it.
pub(super) fn place_databases(c: &mut Checker, raw: &RawScenario, geo: Option<&GeoSpec>, data: &mut DataSpec) {
    let placed = raw
        .databases
        .values()
        .any(|d| d.region.is_some() || !d.regional_replicas.is_empty());
    if !placed {
        return;
    }
    let Some(geo) = geo else {
        if !raw.regions.is_empty() {
            // The regions have problems of their own.
            return;
        }
        for (name, d) in &raw.databases {
            if d.region.is_some() || !d.regional_replicas.is_empty() {
                c.problem(
                    format!("databases.{name}.region"),
                    "places the database in `regions`; the scenario has none",
                );
            }
        }
        return;
    };
    let names: Vec<&String> = raw.regions.keys().collect();
    for a in 0..names.len() {
        for b in a + 1..names.len() {
            if geo.region_rtt[a][b].is_none() {
                c.problem(
                    format!("regions.{}.rtt", names[a]),
                    format!(
                        "missing the round trip to `{}`: a database placed in regions is read from every region",
                        names[b]
                    ),
                );
            }
        }
    }
    let index = |c: &mut Checker, path: &str, region: &String| {
        let r = names.binary_search(&region).ok();
        if r.is_none() {
            c.problem(
                path,
                format!(
                    "unknown region `{region}`; known: {}",
                    known_list(region, raw.regions.keys())
                ),
            );
        }
        r
    };
    for (name, d) in &raw.databases {
        let path = format!("databases.{name}");
        let Some(region) = &d.region else {
            if !d.regional_replicas.is_empty() {
                c.problem(format!("{path}.region"), "missing: the home region of its primaries");
            }
            continue;
        };
        let Some(home) = index(c, &format!("{path}.region"), region) else {
            continue;
        };
        let Some(spec) = data.databases.iter_mut().find(|s| s.name == *name) else {
            continue;
        };
        let mut replicas: Vec<(usize, SimDuration)> = vec![(home, SimDuration::ZERO); spec.replicas as usize];
        for (other, &n) in &d.regional_replicas {
            let rpath = format!("{path}.regional_replicas.{other}");
            let Some(r) = index(c, &rpath, other) else { continue };
            if r == home {
                c.problem(&rpath, "is the home region: count them in `replicas`");
                continue;
            }
            if !(1..=16).contains(&n) {
                c.problem(&rpath, format!("must be between 1 and 16, got {n}"));
                continue;
            }
            let link = SimDuration(geo.between(home, r).0 / 2);
            replicas.extend(std::iter::repeat_n((r, link), n as usize));
        }
        spec.replicas = replicas.len() as u32;
        spec.regional = Some(Regional { home, replicas });
    }
    let servers: u64 = data
        .databases
        .iter()
        .map(|d| u64::from(d.shards.count) * (1 + u64::from(d.replicas)))
        .sum();
    if servers > u64::from(u16::MAX) {
        c.problem("databases", "more than 65535 database servers in all");
    }
}
