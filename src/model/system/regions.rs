//! Regions: the DNS answer each client gets (its population's nearest
//! healthy region, or the one it still has cached within a TTL of a
//! change), the network round trip that adds to its response time, the
//! DNS health checks of each region's endpoint, and a region's outage.

use crate::engine::{Scheduler, SimDuration, SimTime};
use crate::metrics::{EventKind, PopulationSummary, RegionSummary};
use crate::model::instance::PoolId;
use crate::model::request::Request;

use super::{Event, System};

/// What happened to one region over the run.
#[derive(Clone, Debug, Default)]
pub(super) struct RegionBook {
    /// Requests the DNS sent here.
    pub requests: u64,
    /// Of them, sent while the region was dark: their clients could not connect.
    pub lost: u64,
    /// When the DNS health checks took it out, and put it back.
    pub marked_down: Vec<SimTime>,
    pub marked_up: Vec<SimTime>,
}

/// What happened to one population's requests.
#[derive(Clone, Debug, Default)]
pub(super) struct PopulationBook {
    pub requests: u64,
    /// Sent to a region other than their nearest.
    pub elsewhere: u64,
    pub rtt_ns: u128,
}

impl System {
    pub(super) fn schedule_dns_checks(&self, scheduler: &mut Scheduler<Event>) {
        if let Some(dns) = &self.dns {
            for r in 0..dns.spec.regions.len() {
                let at = SimTime::ZERO + dns.spec.check.interval;
                scheduler.schedule(at, Event::DnsCheckDue { region: r as u16 });
            }
        }
    }

    /// The DNS health checkers probe a region's endpoint: it passes when
    /// the region is up and its balancer has a backend in rotation (an
    /// empty one answers 503).
    pub(super) fn on_dns_check(&mut self, now: SimTime, region: u16, scheduler: &mut Scheduler<Event>) {
        let r = usize::from(region);
        let dns = self.dns.as_mut().expect("DNS checks only with regions");
        let lb = dns.spec.regions[r].balancer;
        let passes = self.region_down[r] == 0 && self.load_balancers[lb].rotation_len() > 0;
        match dns.check(now, r, passes) {
            Some(true) => self.region_books[r].marked_up.push(now),
            Some(false) => self.region_books[r].marked_down.push(now),
            None => {}
        }
        let next = now + dns.spec.check.interval;
        if next <= self.end {
            scheduler.schedule(next, Event::DnsCheckDue { region });
        }
    }

    /// Sends a client's new request to the region its DNS answer names:
    /// to that region's balancer, with the round trip added to its response
    /// time (its arrival moved back by it), or — the region dark — to a
    /// connection that fails. Whether it goes on.
    pub(super) fn geo_route(&mut self, now: SimTime, request: &mut Request) -> bool {
        let Some(dns) = &self.dns else { return true };
        let p = dns.population_of(request.client);
        let r = dns.resolve(now, p, request.client);
        let rtt = dns.spec.populations[p].rtt[r];
        let book = &mut self.population_books[p];
        book.requests += 1;
        book.elsewhere += u64::from(r != dns.nearest[p]);
        book.rtt_ns += u128::from(rtt.0);
        self.region_books[r].requests += 1;
        if self.region_down[r] > 0 {
            self.region_books[r].lost += 1;
            self.recorder.failed(now);
            return false;
        }
        request.lb = dns.spec.regions[r].balancer as u8;
        request.arrival = SimTime::ZERO + SimDuration(now.0.saturating_sub(rtt.0));
        true
    }

    /// The pools of `region`.
    pub(super) fn region_pools(&self, region: usize) -> Vec<usize> {
        let geo = self.spec.geo.as_ref().expect("a region outage needs regions");
        (0..self.pools.len())
            .filter(|&p| geo.pool_region[p] == Some(region))
            .collect()
    }

    /// Whether `pool` is in a region that is dark.
    pub(super) fn region_dark(&self, pool: usize) -> bool {
        self.spec
            .geo
            .as_ref()
            .and_then(|g| g.pool_region[pool])
            .is_some_and(|r| self.region_down[r] > 0)
    }

    /// A region is back: its database servers serve again and its pools
    /// fill up.
    pub(super) fn region_back(&mut self, now: SimTime, region: usize, scheduler: &mut Scheduler<Event>) {
        self.region_down[region] -= 1;
        if self.region_down[region] == 0 {
            self.region_servers(now, region, None, scheduler);
            for p in self.region_pools(region) {
                self.on_replace_due(now, PoolId(p as u16), scheduler);
            }
        }
    }

    /// The database servers in `region` go down until `until` (`Some`), or
    /// come back (`None`). A primary down fails its shard's writes and
    /// fresh reads (there is no promotion across regions); a replica down
    /// fails what it held, its reads go to the others, and it applies
    /// nothing until it is back.
    pub(super) fn region_servers(
        &mut self,
        now: SimTime,
        region: usize,
        until: Option<SimTime>,
        scheduler: &mut Scheduler<Event>,
    ) {
        let mut changed = Vec::new();
        for db in &mut self.data.databases {
            let Some(regional) = &db.spec.regional else { continue };
            for shard in 0..db.spec.shards.count as usize {
                if regional.home == region {
                    db.promoting[shard] = until.is_some();
                    changed.push(db.primaries[shard]);
                }
                for k in db.shard_replicas(shard) {
                    if regional.replicas[k % regional.replicas.len()].0 == region {
                        db.replica_up[k] = until.is_none();
                        if let Some(until) = until {
                            db.replication[k].pause_until(until);
                        }
                        changed.push(db.replicas[k]);
                    }
                }
            }
        }
        for server in changed {
            if until.is_some() {
                self.recorder.server_event(now, EventKind::ServerDown, server);
                self.fail_server(now, server, scheduler);
            } else {
                self.data.servers[server].down = false;
                self.recorder.server_event(now, EventKind::ServerUp, server);
            }
        }
    }

    /// The regions' part of `summary.json`.
    pub(super) fn region_summaries(&self) -> (Vec<RegionSummary>, Vec<PopulationSummary>) {
        let Some(dns) = &self.dns else {
            return (Vec::new(), Vec::new());
        };
        let total: u64 = self.region_books.iter().map(|b| b.requests).sum();
        let regions = dns
            .spec
            .regions
            .iter()
            .zip(&self.region_books)
            .map(|(spec, b)| RegionSummary {
                name: spec.name.clone(),
                balancer: self.spec.load_balancers[spec.balancer].name.clone(),
                requests: b.requests,
                share: if total == 0 {
                    0.0
                } else {
                    b.requests as f64 / total as f64
                },
                lost_while_dark: b.lost,
                dns_marked_down_at_s: b.marked_down.iter().map(|t| t.as_secs_f64()).collect(),
                dns_marked_up_at_s: b.marked_up.iter().map(|t| t.as_secs_f64()).collect(),
            })
            .collect();
        let populations = dns
            .spec
            .populations
            .iter()
            .zip(&self.population_books)
            .map(|(spec, b)| PopulationSummary {
                name: spec.name.clone(),
                requests: b.requests,
                not_nearest: b.elsewhere,
                rtt_mean_ms: if b.requests == 0 {
                    0.0
                } else {
                    b.rtt_ns as f64 / b.requests as f64 / 1e6
                },
            })
            .collect();
        (regions, populations)
    }
}
