//! Managed-service prices: the built-in catalogue of AWS us-east-1
//! on-demand list prices for everything around the app pools (database
//! instance classes and storage, cache nodes, CDN, load balancer, queue,
//! data transfer), the scenario's overrides of it, and what each priced
//! component of a scenario is billed as.
//!
//! Prices change and differ by region, engine and contract: the catalogue
//! is a starting point for a capacity review, and `prices:` in a scenario
//! replaces any entry of it. docs/review.md lists every price with its source.

use std::collections::BTreeMap;

/// Where a group of catalogue prices comes from, and when it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    pub what: &'static str,
    pub url: &'static str,
    pub as_of: &'static str,
}

pub const RDS_SOURCE: Source = Source {
    what: "Amazon RDS for PostgreSQL on-demand, Single-AZ, us-east-1",
    url: "https://aws.amazon.com/rds/postgresql/pricing/",
    as_of: "as listed 2024 (not re-read since)",
};
pub const ELASTICACHE_SOURCE: Source = Source {
    what: "Amazon ElastiCache for Redis OSS on-demand nodes, us-east-1",
    url: "https://aws.amazon.com/elasticache/pricing/",
    as_of: "as listed 2024 (not re-read since)",
};
pub const CLOUDFRONT_SOURCE: Source = Source {
    what: "Amazon CloudFront pay-as-you-go, United States / Europe, first 10 TB",
    url: "https://aws.amazon.com/cloudfront/pricing/",
    as_of: "as listed 2024 (not re-read since)",
};
pub const ALB_SOURCE: Source = Source {
    what: "Elastic Load Balancing, Application Load Balancer, us-east-1",
    url: "https://aws.amazon.com/elasticloadbalancing/pricing/",
    as_of: "as listed 2024 (not re-read since)",
};
pub const SQS_SOURCE: Source = Source {
    what: "Amazon SQS standard queue, after the free tier, us-east-1",
    url: "https://aws.amazon.com/sqs/pricing/",
    as_of: "as listed 2024 (not re-read since)",
};
pub const TRANSFER_SOURCE: Source = Source {
    what: "Amazon EC2 data transfer, us-east-1 (internet egress: first 10 TB/month)",
    url: "https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer",
    as_of: "as listed 2024 (not re-read since)",
};

/// A managed database instance class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DbClass {
    pub name: &'static str,
    /// `db.r6g`: classes of one family differ only in size.
    pub family: &'static str,
    pub vcpu: u32,
    pub memory_gib: f64,
    pub hourly_usd: f64,
    /// Burstable (CPU credits): not chosen for a sustained load by default.
    pub burstable: bool,
}

/// A managed cache node type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheNodeType {
    pub name: &'static str,
    pub vcpu: u32,
    pub memory_gib: f64,
    pub hourly_usd: f64,
    pub burstable: bool,
}

const fn db(name: &'static str, family: &'static str, vcpu: u32, memory_gib: f64, hourly_usd: f64) -> DbClass {
    DbClass {
        name,
        family,
        vcpu,
        memory_gib,
        hourly_usd,
        burstable: matches!(family.as_bytes(), [b'd', b'b', b'.', b't', ..]),
    }
}

/// RDS for PostgreSQL classes, each family in ascending size (see [`RDS_SOURCE`]).
const DB_CLASSES: &[DbClass] = &[
    db("db.t4g.medium", "db.t4g", 2, 4.0, 0.065),
    db("db.t4g.large", "db.t4g", 2, 8.0, 0.129),
    db("db.t4g.xlarge", "db.t4g", 4, 16.0, 0.258),
    db("db.t4g.2xlarge", "db.t4g", 8, 32.0, 0.517),
    db("db.m6g.large", "db.m6g", 2, 8.0, 0.152),
    db("db.m6g.xlarge", "db.m6g", 4, 16.0, 0.304),
    db("db.m6g.2xlarge", "db.m6g", 8, 32.0, 0.608),
    db("db.m6g.4xlarge", "db.m6g", 16, 64.0, 1.216),
    db("db.m6g.8xlarge", "db.m6g", 32, 128.0, 2.432),
    db("db.m6g.12xlarge", "db.m6g", 48, 192.0, 3.648),
    db("db.m6g.16xlarge", "db.m6g", 64, 256.0, 4.864),
    db("db.r6g.large", "db.r6g", 2, 16.0, 0.225),
    db("db.r6g.xlarge", "db.r6g", 4, 32.0, 0.449),
    db("db.r6g.2xlarge", "db.r6g", 8, 64.0, 0.898),
    db("db.r6g.4xlarge", "db.r6g", 16, 128.0, 1.796),
    db("db.r6g.8xlarge", "db.r6g", 32, 256.0, 3.592),
    db("db.r6g.12xlarge", "db.r6g", 48, 384.0, 5.388),
    db("db.r6g.16xlarge", "db.r6g", 64, 512.0, 7.184),
];

const fn node(name: &'static str, vcpu: u32, memory_gib: f64, hourly_usd: f64) -> CacheNodeType {
    CacheNodeType {
        name,
        vcpu,
        memory_gib,
        hourly_usd,
        burstable: matches!(name.as_bytes(), [b'c', b'a', b'c', b'h', b'e', b'.', b't', ..]),
    }
}

/// ElastiCache node types, each family in ascending size (see [`ELASTICACHE_SOURCE`]).
const CACHE_NODE_TYPES: &[CacheNodeType] = &[
    node("cache.t4g.micro", 2, 0.5, 0.016),
    node("cache.t4g.small", 2, 1.37, 0.032),
    node("cache.t4g.medium", 2, 3.09, 0.065),
    node("cache.m6g.large", 2, 6.38, 0.149),
    node("cache.m6g.xlarge", 4, 12.93, 0.298),
    node("cache.m6g.2xlarge", 8, 26.04, 0.596),
    node("cache.m6g.4xlarge", 16, 52.26, 1.192),
    node("cache.m6g.8xlarge", 32, 103.68, 2.384),
    node("cache.m6g.12xlarge", 48, 157.12, 3.576),
    node("cache.m6g.16xlarge", 64, 209.55, 4.768),
    node("cache.r6g.large", 2, 13.07, 0.206),
    node("cache.r6g.xlarge", 4, 26.32, 0.411),
    node("cache.r6g.2xlarge", 8, 52.82, 0.822),
    node("cache.r6g.4xlarge", 16, 105.81, 1.645),
    node("cache.r6g.8xlarge", 32, 209.55, 3.29),
    node("cache.r6g.12xlarge", 48, 317.77, 4.934),
    node("cache.r6g.16xlarge", 64, 419.09, 6.579),
];

/// Every database instance class of the catalogue.
pub fn db_classes() -> &'static [DbClass] {
    DB_CLASSES
}

/// Every cache node type of the catalogue.
pub fn cache_node_types() -> &'static [CacheNodeType] {
    CACHE_NODE_TYPES
}

/// The database class named `name` (`db.r6g.xlarge`).
pub fn db_class(name: &str) -> Option<&'static DbClass> {
    DB_CLASSES.iter().find(|c| c.name == name)
}

/// The cache node type named `name` (`cache.r6g.large`).
pub fn cache_node_type(name: &str) -> Option<&'static CacheNodeType> {
    CACHE_NODE_TYPES.iter().find(|t| t.name == name)
}

/// The next size up in `class`'s family (`db.r6g.xlarge` → `db.r6g.2xlarge`);
/// `None` for the largest of its family or a name not in the catalogue.
pub fn next_larger_db_class(class: &str) -> Option<&'static DbClass> {
    // The catalogue lists each family in ascending size; a size up may
    // add memory only (`db.t4g.medium` → `db.t4g.large`).
    let at = DB_CLASSES.iter().position(|c| c.name == class)?;
    DB_CLASSES[at + 1..].iter().find(|c| c.family == DB_CLASSES[at].family)
}

/// The smallest class of `class`'s family with at least `vcpu` vCPUs.
pub fn db_class_in_family_with(class: &str, vcpu: u32) -> Option<&'static DbClass> {
    let mut c = db_class(class)?;
    while c.vcpu < vcpu {
        c = next_larger_db_class(c.name)?;
    }
    Some(c)
}

/// The smallest non-burstable class with at least `vcpu` vCPUs (the
/// cheapest among equals): what a database given only `cores` is priced as.
pub fn smallest_db_class_with(vcpu: u32) -> Option<&'static DbClass> {
    DB_CLASSES
        .iter()
        .filter(|c| !c.burstable && c.vcpu >= vcpu)
        .min_by(|a, b| a.vcpu.cmp(&b.vcpu).then(a.hourly_usd.total_cmp(&b.hourly_usd)))
}

/// The smallest non-burstable node type with at least `vcpu` vCPUs (the
/// cheapest among equals): what a shared cache without a node type is priced as.
pub fn smallest_cache_node_type_with(vcpu: u32) -> Option<&'static CacheNodeType> {
    CACHE_NODE_TYPES
        .iter()
        .filter(|t| !t.burstable && t.vcpu >= vcpu)
        .min_by(|a, b| a.vcpu.cmp(&b.vcpu).then(a.hourly_usd.total_cmp(&b.hourly_usd)))
}

/// The catalogue's prices that are not per instance class or node type.
/// Each has a key a scenario's `prices:` map can override it by.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    /// RDS gp3 storage, per GB-month (Single-AZ; Multi-AZ pays it twice).
    pub db_storage_usd_per_gb_month: f64,
    /// CloudFront data transfer out to the internet, first tier.
    pub cdn_usd_per_gb: f64,
    pub cdn_usd_per_10k_https_requests: f64,
    pub alb_usd_per_hour: f64,
    pub alb_usd_per_lcu_hour: f64,
    pub sqs_usd_per_million_requests: f64,
    pub transfer_inter_zone_usd_per_gb: f64,
    pub transfer_inter_region_usd_per_gb: f64,
    pub transfer_internet_usd_per_gb: f64,
}

impl Default for Rates {
    fn default() -> Rates {
        Rates {
            db_storage_usd_per_gb_month: 0.115,
            cdn_usd_per_gb: 0.085,
            cdn_usd_per_10k_https_requests: 0.01,
            alb_usd_per_hour: 0.0225,
            alb_usd_per_lcu_hour: 0.008,
            sqs_usd_per_million_requests: 0.40,
            // Charged in each direction: $0.01/GB out of one zone and in to the other.
            transfer_inter_zone_usd_per_gb: 0.01,
            transfer_inter_region_usd_per_gb: 0.02,
            transfer_internet_usd_per_gb: 0.09,
        }
    }
}

impl Rates {
    /// The keys of `prices:` that name a rate, in documentation order.
    pub const KEYS: [&'static str; 9] = [
        "db_storage_usd_per_gb_month",
        "cdn_usd_per_gb",
        "cdn_usd_per_10k_https_requests",
        "alb_usd_per_hour",
        "alb_usd_per_lcu_hour",
        "sqs_usd_per_million_requests",
        "transfer_inter_zone_usd_per_gb",
        "transfer_inter_region_usd_per_gb",
        "transfer_internet_usd_per_gb",
    ];

    /// The rate a `prices:` key names.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut f64> {
        Some(match key {
            "db_storage_usd_per_gb_month" => &mut self.db_storage_usd_per_gb_month,
            "cdn_usd_per_gb" => &mut self.cdn_usd_per_gb,
            "cdn_usd_per_10k_https_requests" => &mut self.cdn_usd_per_10k_https_requests,
            "alb_usd_per_hour" => &mut self.alb_usd_per_hour,
            "alb_usd_per_lcu_hour" => &mut self.alb_usd_per_lcu_hour,
            "sqs_usd_per_million_requests" => &mut self.sqs_usd_per_million_requests,
            "transfer_inter_zone_usd_per_gb" => &mut self.transfer_inter_zone_usd_per_gb,
            "transfer_inter_region_usd_per_gb" => &mut self.transfer_inter_region_usd_per_gb,
            "transfer_internet_usd_per_gb" => &mut self.transfer_internet_usd_per_gb,
            _ => return None,
        })
    }
}

/// A per-GB price by the month's volume: each tier's upper bound in GB of
/// the month (AWS bills data transfer in GB of 2^30 bytes; 10 TB = 10,240
/// GB) and its $/GB; the last tier has no bound.
pub type VolumeTiers = [(f64, f64)];

/// CloudFront data transfer out, United States / Europe (the first tier is
/// `cdn_usd_per_gb`).
pub const CDN_TIERS: &VolumeTiers = &[
    (10_240.0, 0.085),
    (51_200.0, 0.080),
    (153_600.0, 0.060),
    (512_000.0, 0.040),
    (1_048_576.0, 0.030),
    (5_242_880.0, 0.025),
    (f64::INFINITY, 0.020),
];

/// EC2 data transfer out to the internet (the first tier is
/// `transfer_internet_usd_per_gb`).
pub const INTERNET_TIERS: &VolumeTiers = &[
    (10_240.0, 0.09),
    (51_200.0, 0.085),
    (153_600.0, 0.07),
    (f64::INFINITY, 0.05),
];

/// What `gb` in a month costs on `tiers`, each GB at its own tier's price.
pub fn tiered_usd(gb: f64, tiers: &VolumeTiers) -> f64 {
    let mut below = 0.0;
    let mut usd = 0.0;
    for &(bound, price) in tiers {
        usd += (gb.min(bound) - below).max(0.0) * price;
        below = bound;
    }
    usd
}

/// The catalogue with a scenario's overrides applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceList {
    pub rates: Rates,
    /// $/hour by class or node type name, where `prices:` overrides the catalogue.
    pub hourly_overrides: BTreeMap<String, f64>,
    /// The rates `prices:` set (a per-GB rate set there is flat: no volume tiers).
    pub rates_set: std::collections::BTreeSet<&'static str>,
}

impl PriceList {
    /// Applies one `prices:` entry; `false` when the key names no price.
    pub fn set(&mut self, key: &str, usd: f64) -> bool {
        if let Some(rate) = self.rates.get_mut(key) {
            *rate = usd;
            if let Some(known) = Rates::KEYS.iter().find(|k| **k == key) {
                self.rates_set.insert(known);
            }
            true
        } else if db_class(key).is_some() || cache_node_type(key).is_some() {
            self.hourly_overrides.insert(key.to_string(), usd);
            true
        } else {
            false
        }
    }

    /// What `gb` a month out through a CDN (`cdn`) or from the origin to
    /// the internet costs a month, and the price in words: the catalogue's
    /// volume tiers, or the scenario's flat rate.
    pub fn transfer_out(&self, cdn: bool, gb: f64) -> (f64, String) {
        let (key, rate, tiers) = if cdn {
            ("cdn_usd_per_gb", self.rates.cdn_usd_per_gb, CDN_TIERS)
        } else {
            (
                "transfer_internet_usd_per_gb",
                self.rates.transfer_internet_usd_per_gb,
                INTERNET_TIERS,
            )
        };
        if self.rates_set.contains(key) {
            return (gb * rate, format!("${rate}/GB (`prices.{key}`)"));
        }
        (
            tiered_usd(gb, tiers),
            format!("the monthly volume tiers from ${}/GB down", tiers[0].1),
        )
    }

    /// A database class's $/hour, overridden or from the catalogue.
    pub fn db_hourly(&self, class: &DbClass) -> f64 {
        self.hourly_overrides
            .get(class.name)
            .copied()
            .unwrap_or(class.hourly_usd)
    }

    /// A cache node type's $/hour, overridden or from the catalogue.
    pub fn cache_hourly(&self, node: &CacheNodeType) -> f64 {
        self.hourly_overrides.get(node.name).copied().unwrap_or(node.hourly_usd)
    }
}

/// What one server (or node) is billed as: its $/hour and, in words, why.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerPrice {
    pub hourly_usd: f64,
    /// What is billed, in short (`db.r6g.xlarge`).
    pub item: String,
    /// Where the price comes from, in a sentence.
    pub basis: String,
}

/// A database's billing: every shard's primary and replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct DbPrice {
    pub primary: ServerPrice,
    pub replica: ServerPrice,
    /// Provisioned storage of each server (a replica keeps its own copy).
    pub storage_gb: f64,
    /// A standby in another zone: the primary's instance and storage are paid twice.
    pub multi_az: bool,
}

/// Prices of a scenario's components, aligned with the spec's lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceSpec {
    pub list: PriceList,
    /// One per database of `data.databases`.
    pub databases: Vec<DbPrice>,
    /// One per cache tier of `data.caches`: a shared cache's node price (none for other tiers).
    pub caches: Vec<Option<ServerPrice>>,
}

/// New connections per second one LCU covers (ALB).
pub const LCU_NEW_CONNECTIONS_PER_S: f64 = 25.0;
/// Active connections one LCU covers (ALB, sampled per minute).
pub const LCU_ACTIVE_CONNECTIONS: f64 = 3000.0;

/// GB (2^30 bytes) an hour one LCU covers, for instances and IP targets (ALB).
pub const LCU_PROCESSED_GB_PER_HOUR: f64 = 1.0;

/// An ALB's LCUs at an average rate of `requests_per_s` lasting `mean_s`
/// each, processing `gb_per_hour`, by dimension (new connections, active
/// connections, processed bytes); it bills the largest. Every
/// request is taken to open its own client connection (capsim does not
/// model client keep-alive, so this is an upper bound), active
/// connections follow from Little's law, and processed bytes are the
/// responses it carried (request bodies are not modelled). Rule
/// evaluations are left out: a capsim balancer has no listener rules, and
/// the first 10 are free.
pub fn alb_lcus(requests_per_s: f64, mean_s: f64, gb_per_hour: f64) -> [f64; 3] {
    [
        requests_per_s / LCU_NEW_CONNECTIONS_PER_S,
        requests_per_s * mean_s.max(0.0) / LCU_ACTIVE_CONNECTIONS,
        gb_per_hour.max(0.0) / LCU_PROCESSED_GB_PER_HOUR,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_gb_is_billed_at_its_own_volume_tier() {
        assert_eq!(tiered_usd(0.0, CDN_TIERS), 0.0);
        assert!((tiered_usd(100.0, CDN_TIERS) - 8.5).abs() < 1e-9);
        // 10,240 GB at 0.085, 40,960 at 0.080, 8,800 at 0.060.
        let expected = 10_240.0 * 0.085 + 40_960.0 * 0.080 + 8_800.0 * 0.060;
        assert!((tiered_usd(60_000.0, CDN_TIERS) - expected).abs() < 1e-6);
        // Past the last bound, the last price.
        let beyond = tiered_usd(200_000.0, INTERNET_TIERS) - tiered_usd(153_600.0, INTERNET_TIERS);
        assert!((beyond - 46_400.0 * 0.05).abs() < 1e-6);
        for tiers in [CDN_TIERS, INTERNET_TIERS] {
            assert!(tiers.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 > w[1].1));
        }
        assert_eq!(CDN_TIERS[0].1, Rates::default().cdn_usd_per_gb);
        assert_eq!(INTERNET_TIERS[0].1, Rates::default().transfer_internet_usd_per_gb);
    }

    #[test]
    fn names_are_unique_and_families_ascend() {
        let mut names: Vec<&str> = DB_CLASSES.iter().map(|c| c.name).collect();
        names.extend(CACHE_NODE_TYPES.iter().map(|t| t.name));
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "duplicate names in the price catalogue");
        for pair in DB_CLASSES.windows(2) {
            if pair[0].family == pair[1].family {
                assert!(pair[0].vcpu <= pair[1].vcpu && pair[0].hourly_usd < pair[1].hourly_usd);
            }
        }
    }

    #[test]
    fn next_larger_stays_in_its_family() {
        assert_eq!(next_larger_db_class("db.r6g.xlarge").unwrap().name, "db.r6g.2xlarge");
        assert_eq!(next_larger_db_class("db.t4g.medium").unwrap().name, "db.t4g.large");
        assert_eq!(next_larger_db_class("db.m6g.12xlarge").unwrap().name, "db.m6g.16xlarge");
        assert!(next_larger_db_class("db.r6g.16xlarge").is_none());
        assert!(next_larger_db_class("db.nope").is_none());
        assert_eq!(
            db_class_in_family_with("db.r6g.large", 5).unwrap().name,
            "db.r6g.2xlarge"
        );
        assert!(db_class_in_family_with("db.t4g.medium", 16).is_none());
    }

    #[test]
    fn smallest_class_skips_burstable_and_prefers_cheaper() {
        assert_eq!(smallest_db_class_with(4).unwrap().name, "db.m6g.xlarge");
        assert_eq!(smallest_db_class_with(3).unwrap().name, "db.m6g.xlarge");
        assert_eq!(smallest_db_class_with(1).unwrap().name, "db.m6g.large");
        assert!(smallest_db_class_with(65).is_none());
        assert_eq!(smallest_cache_node_type_with(1).unwrap().name, "cache.m6g.large");
    }

    #[test]
    fn overrides_replace_exactly_their_entry() {
        let mut list = PriceList::default();
        assert!(list.set("db.r6g.xlarge", 1.0));
        assert!(list.set("alb_usd_per_hour", 0.5));
        assert!(!list.set("db.r9.huge", 1.0));
        assert_eq!(list.db_hourly(db_class("db.r6g.xlarge").unwrap()), 1.0);
        assert_eq!(list.db_hourly(db_class("db.r6g.large").unwrap()), 0.225);
        assert_eq!(list.rates.alb_usd_per_hour, 0.5);
        assert_eq!(list.rates.alb_usd_per_lcu_hour, 0.008);
        for key in Rates::KEYS {
            assert!(Rates::default().get_mut(key).is_some(), "{key}");
        }
    }

    #[test]
    fn lcus_come_from_the_largest_dimension() {
        assert_eq!(alb_lcus(50.0, 0.1, 0.5), [2.0, 50.0 * 0.1 / 3000.0, 0.5]);
        // Requests lasting 10 minutes: active connections.
        assert_eq!(alb_lcus(10.0, 600.0, 0.5)[1], 2.0);
        // 30 MiB responses at 1/s: 105.5 GB an hour, 105.5 LCUs.
        let gb = 3600.0 * 30.0 / 1024.0;
        assert_eq!(alb_lcus(1.0, 0.1, gb)[2], gb);
    }
}
