//! Regions and the DNS in front of them: client populations resolve the
//! service's name to the nearest region its health checks see healthy
//! (latency-based routing with failover, as Route 53 answers), and keep a
//! cached answer for up to the record's TTL after it changes.

use crate::engine::{SimDuration, SimTime, splitmix64};

/// A region: its own load balancer and the pools behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionSpec {
    pub name: String,
    /// The balancer clients reach it through.
    pub balancer: usize,
}

/// A population of clients: its share of the traffic and its network
/// round trip to each region.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    pub name: String,
    pub share: f64,
    /// Per region, in the regions' order.
    pub rtt: Vec<SimDuration>,
}

/// The DNS health checks of each region's endpoint (Route 53: every 30 s,
/// unhealthy after 3 failures, healthy again after 3 passes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DnsCheck {
    pub interval: SimDuration,
    pub fails: u32,
    pub passes: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GeoSpec {
    pub regions: Vec<RegionSpec>,
    pub populations: Vec<Population>,
    /// How long a client keeps an answer.
    pub ttl: SimDuration,
    pub check: DnsCheck,
    /// Per pool, the region whose balancer serves it.
    pub pool_region: Vec<Option<usize>>,
    /// Round trips between regions, where given (`[a][b] == [b][a]`).
    pub region_rtt: Vec<Vec<Option<SimDuration>>>,
}

impl GeoSpec {
    /// The round trip between two regions (none within one; zero where the
    /// scenario gave none, which it must when a database spans regions).
    pub fn between(&self, a: usize, b: usize) -> SimDuration {
        if a == b {
            SimDuration::ZERO
        } else {
            self.region_rtt[a][b].unwrap_or(SimDuration::ZERO)
        }
    }
}

/// A hash as a number in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// What the DNS answers as the run goes.
pub struct Dns {
    pub spec: GeoSpec,
    /// The populations' shares of the clients, accumulated.
    cumulative: Vec<f64>,
    /// Per population, its nearest region of all.
    pub nearest: Vec<usize>,
    /// Per region: whether its health checks pass, and how many checks in a
    /// row have disagreed with that.
    pub healthy: Vec<bool>,
    streak: Vec<u32>,
    /// Per population: the region it is answered now, the answer before,
    /// and when the answer changed.
    answer: Vec<usize>,
    previous: Vec<usize>,
    changed_at: Vec<SimTime>,
}

impl Dns {
    pub fn new(spec: GeoSpec) -> Dns {
        let regions = spec.regions.len();
        let total: f64 = spec.populations.iter().map(|p| p.share).sum();
        let cumulative = spec
            .populations
            .iter()
            .scan(0.0, |acc, p| {
                *acc += p.share / total;
                Some(*acc)
            })
            .collect();
        let mut dns = Dns {
            cumulative,
            nearest: Vec::new(),
            healthy: vec![true; regions],
            streak: vec![0; regions],
            answer: Vec::new(),
            previous: Vec::new(),
            changed_at: vec![SimTime::ZERO; spec.populations.len()],
            spec,
        };
        // Every region starts healthy: each population's first answer is its nearest.
        dns.nearest = (0..dns.spec.populations.len()).map(|p| dns.best(p)).collect();
        dns.answer = dns.nearest.clone();
        dns.previous = dns.nearest.clone();
        dns
    }

    /// The population of `client`: clients split by their shares, each
    /// always in the same one.
    pub fn population_of(&self, client: u32) -> usize {
        let u = unit(splitmix64(u64::from(client) ^ 0x9e37_79b9_7f4a_7c15));
        self.cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.cumulative.len() - 1)
    }

    /// The nearest healthy region of population `p`; when none is healthy,
    /// the nearest of all (Route 53 answers as if all were healthy).
    fn best(&self, p: usize) -> usize {
        let rtt = &self.spec.populations[p].rtt;
        let nearest = |healthy_only: bool| {
            (0..rtt.len())
                .filter(|&r| !healthy_only || self.healthy[r])
                .min_by_key(|&r| rtt[r])
        };
        nearest(true).or_else(|| nearest(false)).expect("at least one region")
    }

    /// The region a request of `client` (of population `p`) goes to at
    /// `now`: within a TTL of a change, a client keeps the old answer until
    /// its cached copy expires, at a point of the TTL fixed per client.
    pub fn resolve(&self, now: SimTime, p: usize, client: u32) -> usize {
        let since = now - self.changed_at[p];
        if self.answer[p] != self.previous[p] && since < self.spec.ttl {
            let expires = unit(splitmix64(u64::from(client).wrapping_mul(0xff51_afd7_ed55_8ccd)));
            if since.as_secs_f64() < expires * self.spec.ttl.as_secs_f64() {
                return self.previous[p];
            }
        }
        self.answer[p]
    }

    /// One health check of `region`'s endpoint; `Some(healthy)` when the
    /// region's status changes, after which every population is answered
    /// anew.
    pub fn check(&mut self, now: SimTime, region: usize, passes: bool) -> Option<bool> {
        if passes == self.healthy[region] {
            self.streak[region] = 0;
            return None;
        }
        self.streak[region] += 1;
        let needed = if passes {
            self.spec.check.passes
        } else {
            self.spec.check.fails
        };
        if self.streak[region] < needed {
            return None;
        }
        self.streak[region] = 0;
        self.healthy[region] = passes;
        for p in 0..self.spec.populations.len() {
            let best = self.best(p);
            if best != self.answer[p] {
                // Clients still on an answer from before the last change keep it
                // as theirs; an answer changing twice within a TTL is followed
                // from the one most clients hold.
                let since = now - self.changed_at[p];
                if since.as_secs_f64() >= self.spec.ttl.as_secs_f64() / 2.0 {
                    self.previous[p] = self.answer[p];
                }
                self.answer[p] = best;
                self.changed_at[p] = now;
            }
        }
        Some(passes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(ttl: u64) -> GeoSpec {
        let ms = SimDuration::from_millis;
        GeoSpec {
            regions: vec![
                RegionSpec {
                    name: "us".into(),
                    balancer: 0,
                },
                RegionSpec {
                    name: "eu".into(),
                    balancer: 1,
                },
            ],
            populations: vec![
                Population {
                    name: "americas".into(),
                    share: 3.0,
                    rtt: vec![ms(20), ms(90)],
                },
                Population {
                    name: "europe".into(),
                    share: 1.0,
                    rtt: vec![ms(90), ms(15)],
                },
            ],
            ttl: SimDuration::from_secs(ttl),
            check: DnsCheck {
                interval: SimDuration::from_secs(10),
                fails: 3,
                passes: 2,
            },
            pool_region: vec![],
            region_rtt: vec![vec![None; 2]; 2],
        }
    }

    #[test]
    fn clients_split_by_share_and_stay_in_their_population() {
        let g = Dns::new(geo(60));
        let americas = (0..100_000).filter(|&c| g.population_of(c) == 0).count();
        assert!((74_000..76_000).contains(&americas), "{americas}");
        assert_eq!(g.population_of(7), g.population_of(7));
    }

    #[test]
    fn a_region_fails_over_after_its_checks_and_clients_follow_within_the_ttl() {
        let mut dns = Dns::new(geo(60));
        let t = |s: u64| SimTime::from_secs(s);
        assert_eq!(dns.resolve(t(0), 0, 1), 0);
        assert_eq!(dns.resolve(t(0), 1, 1), 1);
        // Three failed checks take it out; the third changes the answer.
        assert_eq!(dns.check(t(10), 0, false), None);
        assert_eq!(dns.check(t(20), 0, false), None);
        assert_eq!(dns.check(t(30), 0, false), Some(false));
        // Within the TTL, a share of clients growing linearly has moved.
        let moved = |dns: &Dns, at: u64| (0..10_000).filter(|&c| dns.resolve(t(at), 0, c) == 1).count();
        assert_eq!(moved(&dns, 30), 0);
        assert!((4_800..5_200).contains(&moved(&dns, 60)), "{}", moved(&dns, 60));
        assert_eq!(moved(&dns, 90), 10_000);
        // Europe never moves.
        assert_eq!(dns.resolve(t(60), 1, 5), 1);
        // Two passes bring it back.
        assert_eq!(dns.check(t(100), 0, true), None);
        assert_eq!(dns.check(t(110), 0, true), Some(true));
        assert_eq!(moved(&dns, 110 + 61), 0);
    }

    #[test]
    fn with_every_region_down_clients_get_the_nearest() {
        let mut dns = Dns::new(geo(0));
        for s in [10, 20, 30] {
            dns.check(SimTime::from_secs(s), 0, false);
            dns.check(SimTime::from_secs(s), 1, false);
        }
        assert_eq!(dns.resolve(SimTime::from_secs(40), 0, 1), 0);
        assert_eq!(dns.resolve(SimTime::from_secs(40), 1, 1), 1);
    }
}
