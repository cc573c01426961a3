//! Validation of `prices:` (overrides of the built-in catalogue) and of
//! what each database and shared cache is billed as (`class`,
//! `node_type`, `hourly_usd`, `storage_gb`, `multi_az`); documented in
//! docs/review.md ("Prices") and docs/data-tier.md.

use crate::model::prices::{
    CacheNodeType, DbClass, DbPrice, PriceList, PriceSpec, Rates, ServerPrice, cache_node_type, cache_node_types,
    db_class, db_classes, smallest_cache_node_type_with, smallest_db_class_with,
};

use super::data::db_class_names;
use super::raw::*;
use super::validate::{Checker, number};

/// Checks `prices:` and the data tier's billing fields.
pub(super) fn prices(c: &mut Checker, raw: &RawScenario) -> PriceSpec {
    let list = price_list(c, raw);
    let databases = raw
        .databases
        .iter()
        .map(|(name, db)| database(c, &list, &format!("databases.{name}"), db))
        .collect();
    let caches = raw
        .caches
        .iter()
        .map(|(name, cache)| {
            let shared = cache.shared.as_ref()?;
            Some(cache_node(c, &list, &format!("caches.{name}.shared"), shared))
        })
        .collect();
    PriceSpec {
        list,
        databases,
        caches,
    }
}

fn price_list(c: &mut Checker, raw: &RawScenario) -> PriceList {
    let mut list = PriceList::default();
    for (key, &usd) in &raw.prices {
        let path = format!("prices.{key}");
        if !(usd.is_finite() && usd >= 0.0) {
            c.problem(
                &path,
                format!("a price must be a finite number ≥ 0, got {}", number(usd)),
            );
            continue;
        }
        if !list.set(key, usd) {
            c.problem(
                &path,
                format!(
                    "unknown price `{key}`; known: {}; any database class ({}); any cache node type ({})",
                    Rates::KEYS.join(", "),
                    db_class_names(),
                    cache_node_types().iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }
    list
}

fn dollars(usd: f64) -> String {
    format!("${}/h", number(usd))
}

/// `(catalogue)` or `(prices:)`: where a class's price came from.
fn origin(list: &PriceList, name: &str) -> &'static str {
    if list.hourly_overrides.contains_key(name) {
        "from the scenario's prices"
    } else {
        "list price"
    }
}

fn hourly_override(c: &mut Checker, path: &str, hourly_usd: Option<f64>) -> Option<f64> {
    let usd = hourly_usd?;
    if !(usd.is_finite() && usd >= 0.0) {
        c.problem(
            format!("{path}.hourly_usd"),
            format!("a price must be a finite number ≥ 0, got {}", number(usd)),
        );
    }
    Some(usd)
}

/// What one database server is billed as. An unknown class was reported
/// with the server's cores (scenario/data.rs).
fn db_server(c: &mut Checker, list: &PriceList, path: &str, raw: &RawDbServer) -> ServerPrice {
    let class: Option<&DbClass> = raw.class.as_deref().and_then(db_class);
    let cores = class.map_or(raw.cores.unwrap_or(1), |k| raw.cores.unwrap_or(k.vcpu));
    match (class, hourly_override(c, path, raw.hourly_usd)) {
        (Some(k), Some(usd)) => ServerPrice {
            hourly_usd: usd,
            item: k.name.to_string(),
            basis: format!("{}, at the scenario's {}", k.name, dollars(usd)),
        },
        (Some(k), None) => ServerPrice {
            hourly_usd: list.db_hourly(k),
            item: k.name.to_string(),
            basis: format!(
                "{} at {} ({})",
                k.name,
                dollars(list.db_hourly(k)),
                origin(list, k.name)
            ),
        },
        (None, Some(usd)) => ServerPrice {
            hourly_usd: usd,
            item: format!("{cores} cores"),
            basis: format!("{cores} cores at the scenario's {}", dollars(usd)),
        },
        (None, None) => match smallest_db_class_with(cores) {
            Some(k) => ServerPrice {
                hourly_usd: list.db_hourly(k),
                item: k.name.to_string(),
                basis: format!(
                    "{}, the smallest class with {}{cores} vCPUs (no class or price given), at {}",
                    k.name,
                    if k.vcpu == cores { "" } else { "at least " },
                    dollars(list.db_hourly(k))
                ),
            },
            None => {
                // Beyond the largest class: its price per vCPU, times the cores.
                let largest = db_classes()
                    .iter()
                    .filter(|k| !k.burstable)
                    .max_by(|a, b| a.vcpu.cmp(&b.vcpu).then(b.hourly_usd.total_cmp(&a.hourly_usd)))
                    .expect("the catalogue has classes");
                let per_vcpu = list.db_hourly(largest) / f64::from(largest.vcpu);
                ServerPrice {
                    hourly_usd: per_vcpu * f64::from(cores),
                    item: format!("{cores} cores"),
                    basis: format!(
                        "{cores} × {}'s price per vCPU (no class has {cores} vCPUs; no class or price given)",
                        largest.name
                    ),
                }
            }
        },
    }
}

fn database(c: &mut Checker, list: &PriceList, path: &str, raw: &RawDatabase) -> DbPrice {
    let primary = db_server(c, list, &format!("{path}.primary"), &raw.primary);
    let replica = match &raw.replica {
        Some(r) => db_server(c, list, &format!("{path}.replica"), r),
        None => primary.clone(),
    };
    let storage_gb = raw.storage_gb.unwrap_or(0.0);
    if !(storage_gb.is_finite() && storage_gb >= 0.0) {
        c.problem(
            format!("{path}.storage_gb"),
            format!("must be a finite number ≥ 0, got {}", number(storage_gb)),
        );
    }
    DbPrice {
        primary,
        replica,
        storage_gb,
        multi_az: raw.multi_az.unwrap_or(false),
    }
}

fn cache_node(c: &mut Checker, list: &PriceList, path: &str, raw: &RawSharedCache) -> ServerPrice {
    let node: Option<&CacheNodeType> = match raw.node_type.as_deref() {
        Some(name) => {
            let found = cache_node_type(name);
            if found.is_none() {
                c.problem(
                    format!("{path}.node_type"),
                    format!(
                        "unknown cache node type `{name}`; known: {}",
                        cache_node_types().iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            found
        }
        None => None,
    };
    match (node, hourly_override(c, path, raw.hourly_usd)) {
        (Some(t), Some(usd)) => ServerPrice {
            hourly_usd: usd,
            item: t.name.to_string(),
            basis: format!("{}, at the scenario's {} per node", t.name, dollars(usd)),
        },
        (Some(t), None) => ServerPrice {
            hourly_usd: list.cache_hourly(t),
            item: t.name.to_string(),
            basis: format!(
                "{} at {} per node ({})",
                t.name,
                dollars(list.cache_hourly(t)),
                origin(list, t.name)
            ),
        },
        (None, Some(usd)) => ServerPrice {
            hourly_usd: usd,
            item: "node".into(),
            basis: format!("the scenario's {} per node", dollars(usd)),
        },
        (None, None) => {
            let threads = raw.threads.unwrap_or(super::data::DEFAULT_CACHE_THREADS).max(1);
            let t = smallest_cache_node_type_with(threads)
                .or_else(|| {
                    cache_node_types()
                        .iter()
                        .filter(|t| !t.burstable)
                        .max_by(|a, b| a.vcpu.cmp(&b.vcpu).then(b.hourly_usd.total_cmp(&a.hourly_usd)))
                })
                .expect("the catalogue has node types");
            let plural = if threads == 1 { "" } else { "s" };
            let which = if t.vcpu >= threads {
                format!("the smallest node type with at least {threads} vCPU{plural} for its {threads} thread{plural}")
            } else {
                format!("the largest node type (none has {threads} vCPUs)")
            };
            ServerPrice {
                hourly_usd: list.cache_hourly(t),
                item: t.name.to_string(),
                basis: format!(
                    "{}, {which} (no node type or price given), at {} per node",
                    t.name,
                    dollars(list.cache_hourly(t))
                ),
            }
        }
    }
}
