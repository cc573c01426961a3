//! What every component cost over a run: the pools' instance time (billed
//! as it ran) and the components around them, priced from the catalogue
//! (model/prices.rs) with the scenario's overrides. Usage-priced
//! components (CDN, balancer, queue) are billed for what the run sent them.

use crate::engine::SimTime;
use crate::metrics::{CostComponent, CostSummary, PoolSummary, RequestCounts};
use crate::model::cost::{Billing, HOURS_PER_MONTH};
use crate::model::data::CacheScope;
use crate::model::prices::{PriceList, alb_lcus};

use super::System;

/// Runs shorter than this have their monthly figures marked as extrapolated.
const DAY_S: f64 = 24.0 * 3600.0;

/// Bytes in a GB as AWS bills data transfer: 2^30.
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The responses of some classes and the bytes of those that give a size.
struct Bytes {
    responses: u64,
    /// Responses of classes without `response_kib`: not billed.
    without_size: u64,
    given: f64,
}

impl Bytes {
    /// What the bytes cost over a run of `hours` (out through a CDN, or
    /// from the origin), and how, in words. Volume tiers apply to the
    /// month, so the run's bytes are scaled to a 730-hour month at their
    /// average rate, priced, and the month's bill scaled back to the run.
    fn billed(&self, prices: &PriceList, cdn: bool, hours: f64) -> (f64, String) {
        if self.responses == self.without_size {
            return (
                0.0,
                "data transfer out not priced (no class through it gives `response_kib`)".to_string(),
            );
        }
        let gb = self.given / GIB;
        let month = if hours > 0.0 { HOURS_PER_MONTH / hours } else { 0.0 };
        let (monthly, price) = prices.transfer_out(cdn, gb * month);
        let usd = if month > 0.0 { monthly / month } else { 0.0 };
        let mut words = format!(
            "{gb:.6} GB out ({} responses × their class's mean `response_kib`; {:.1} GB a month) at {price}",
            self.responses - self.without_size,
            gb * month,
        );
        if self.without_size > 0 {
            words += &format!(
                "; {} responses of classes without `response_kib` not billed for bytes",
                self.without_size
            );
        }
        (usd, words)
    }
}

fn usd(x: f64) -> String {
    let rounded = (x * 1e6).round() / 1e6;
    format!("${rounded}")
}

impl System {
    /// The responses of the classes whose CDN tier (`None`: none) `through`
    /// picks, and their bytes.
    fn response_bytes(&self, through: impl Fn(Option<usize>) -> bool) -> Bytes {
        let mut bytes = Bytes {
            responses: 0,
            without_size: 0,
            given: 0.0,
        };
        for (class, &n) in self.spec.traffic.classes.iter().zip(&self.recorder.class_responses) {
            if !through(class.data.as_ref().and_then(|d| d.edge)) {
                continue;
            }
            bytes.responses += n;
            match class.response_bytes {
                Some(size) => bytes.given += n as f64 * size,
                None => bytes.without_size += n,
            }
        }
        bytes
    }

    /// The run's cost summary: the pools' (as before) and every other component's.
    pub(super) fn cost_summary(&self, now: SimTime, pools: &[PoolSummary], requests: &RequestCounts) -> CostSummary {
        let hours = now.as_secs_f64() / 3600.0;
        let monthly = |usd: f64| {
            if hours > 0.0 {
                usd / hours * HOURS_PER_MONTH
            } else {
                0.0
            }
        };
        let mut components: Vec<CostComponent> = Vec::new();
        let mut push = |kind, name: &str, item: String, quantity: f64, unit, usd: f64, basis: String| {
            components.push(CostComponent {
                kind,
                name: name.to_string(),
                item,
                quantity,
                unit,
                hours,
                usd,
                per_month_usd: monthly(usd),
                basis,
            });
        };
        let billing = match self.spec.billing {
            Billing::PerSecond { minimum } => {
                format!("billed per second, at least {} s each", minimum.as_secs_f64())
            }
            Billing::PerHour => "billed per started hour".to_string(),
        };
        for (p, summary) in pools.iter().enumerate() {
            let (item, basis) = if let Some(nodes) = &summary.nodes {
                (
                    nodes.instance_type.clone(),
                    format!("its node pool's {} nodes, {billing}", nodes.instance_type),
                )
            } else if !summary.by_instance_type.is_empty() {
                (
                    "mixed instances".to_string(),
                    format!("each instance at its type's and market's price (by_instance_type), {billing}"),
                )
            } else {
                let t = &self.spec.instance_types[self.spec.pools[p].instance_type];
                (
                    t.name.clone(),
                    format!(
                        "{} at {}/h, {:.2} instances on average, {billing}",
                        t.name,
                        usd(t.hourly_usd),
                        summary.instances_mean
                    ),
                )
            };
            push(
                "pool",
                &summary.name,
                item,
                summary.instances_mean,
                "instances (mean)",
                summary.cost_usd,
                basis,
            );
        }
        let prices = &self.spec.prices;
        let rates = &prices.list.rates;
        let storage_usd = |gb: f64| gb * rates.db_storage_usd_per_gb_month * hours / HOURS_PER_MONTH;
        let storage_words = |gb: f64| {
            if gb > 0.0 {
                format!(
                    ", plus {gb} GB of gp3 storage at {}/GB-month",
                    usd(rates.db_storage_usd_per_gb_month)
                )
            } else {
                String::new()
            }
        };
        for (db, price) in self.spec.data.databases.iter().zip(&prices.databases) {
            let shards = f64::from(db.shards.count);
            let copies = if price.multi_az { 2.0 } else { 1.0 };
            let primary_usd = shards * copies * (price.primary.hourly_usd * hours + storage_usd(price.storage_gb));
            push(
                "database",
                &db.name,
                price.primary.item.clone(),
                shards,
                "primaries",
                primary_usd,
                format!(
                    "{}{}{}{}",
                    price.primary.basis,
                    if price.multi_az {
                        ", Multi-AZ (instance and storage paid twice)"
                    } else {
                        ""
                    },
                    storage_words(price.storage_gb),
                    if db.shards.count > 1 {
                        format!(", for each of {} shards", db.shards.count)
                    } else {
                        String::new()
                    }
                ),
            );
            if db.replicas > 0 {
                let servers = shards * f64::from(db.replicas);
                push(
                    "replicas",
                    &db.name,
                    price.replica.item.clone(),
                    servers,
                    "replicas",
                    servers * (price.replica.hourly_usd * hours + storage_usd(price.storage_gb)),
                    format!(
                        "{} read replica{}{}, each {}{}",
                        servers,
                        if servers == 1.0 { "" } else { "s" },
                        if db.shards.count > 1 { " over all shards" } else { "" },
                        price.replica.basis,
                        storage_words(price.storage_gb)
                    ),
                );
            }
        }
        for (t, tier) in self.data.caches.iter().enumerate() {
            match (&tier.spec.scope, &prices.caches[t]) {
                (CacheScope::Shared { nodes, .. }, Some(node)) => {
                    let n = f64::from(*nodes);
                    push(
                        "cache",
                        &tier.spec.name,
                        node.item.clone(),
                        n,
                        "nodes",
                        n * node.hourly_usd * hours,
                        format!(
                            "{nodes} node{}, each {}",
                            if *nodes == 1 { "" } else { "s" },
                            node.basis
                        ),
                    );
                }
                (CacheScope::Edge { .. }, _) => {
                    let count = tier.requests as f64;
                    let bytes = self.response_bytes(|edge| edge == Some(t));
                    let (out_usd, out_words) = bytes.billed(&prices.list, true, hours);
                    push(
                        "cdn",
                        &tier.spec.name,
                        "CloudFront".into(),
                        count,
                        "requests",
                        count / 1e4 * rates.cdn_usd_per_10k_https_requests + out_usd,
                        format!(
                            "{} HTTPS requests at {}/10,000; {out_words}",
                            tier.requests,
                            usd(rates.cdn_usd_per_10k_https_requests),
                        ),
                    );
                }
                _ => {}
            }
        }
        // What the origin answers clients itself: data transfer out to the internet.
        let bytes = self.response_bytes(|edge| edge.is_none());
        if bytes.responses > bytes.without_size {
            let (out_usd, out_words) = bytes.billed(&prices.list, false, hours);
            push(
                "transfer",
                "internet",
                "data transfer out".into(),
                bytes.given / GIB,
                "GB",
                out_usd,
                out_words,
            );
        }
        let mean_s = {
            let m = self.recorder.latency().mean_ms();
            if m.is_finite() { m / 1e3 } else { 0.0 }
        };
        let classes = &self.spec.traffic.classes;
        for (l, lb) in self.load_balancers.iter().enumerate() {
            let c = lb.counters;
            let count = c.tries - c.retries;
            let rate = if hours > 0.0 {
                count as f64 / (hours * 3600.0)
            } else {
                0.0
            };
            // The responses it carried, by class: their bytes.
            let responses = &self.lb_responses[l * classes.len()..(l + 1) * classes.len()];
            let (mut gb, mut without_size) = (0.0, 0);
            for (class, &n) in classes.iter().zip(responses) {
                match class.response_bytes {
                    Some(size) => gb += n as f64 * size / GIB,
                    None => without_size += n,
                }
            }
            let gb_per_hour = if hours > 0.0 { gb / hours } else { 0.0 };
            let dimensions = alb_lcus(rate, mean_s, gb_per_hour);
            let lcus = dimensions.into_iter().fold(0.0, f64::max);
            let bytes = if without_size == responses.iter().sum::<u64>() {
                "processed bytes not counted (no class through it gives `response_kib`)".to_string()
            } else if without_size > 0 {
                format!(
                    "{gb:.6} GB processed (responses × their class's mean `response_kib`; {without_size} responses of \
                     classes without it not counted)"
                )
            } else {
                format!("{gb:.6} GB processed (responses × their class's mean `response_kib`)")
            };
            push(
                "balancer",
                &lb.spec.name,
                "ALB".into(),
                1.0,
                "balancers",
                (rates.alb_usd_per_hour + lcus * rates.alb_usd_per_lcu_hour) * hours,
                format!(
                    "{}/h plus {lcus:.4} LCUs at {}/LCU-hour, the largest of new connections {:.4}, active \
                     connections {:.4} and processed bytes {:.4}: {count} requests ({rate:.3}/s, one new connection \
                     each, {:.1} ms on average); {bytes}; request bodies not counted",
                    usd(rates.alb_usd_per_hour),
                    usd(rates.alb_usd_per_lcu_hour),
                    dimensions[0],
                    dimensions[1],
                    dimensions[2],
                    mean_s * 1e3
                ),
            );
        }
        for (k, queue) in self.data.queues.iter().enumerate() {
            let mut counts = crate::model::queue::QueueCounts::default();
            for row in &self.recorder.rows {
                if let Some(d) = &row.data {
                    counts.add(&d.queues[k].counts);
                }
            }
            let calls = counts.enqueued + counts.received + counts.deleted;
            push(
                "queue",
                &queue.spec.name,
                "SQS standard".into(),
                calls as f64,
                "requests",
                calls as f64 / 1e6 * rates.sqs_usd_per_million_requests,
                format!(
                    "{calls} API requests ({} sends, {} receives, {} deletes; empty receives not modelled) \
                     at {}/million",
                    counts.enqueued,
                    counts.received,
                    counts.deleted,
                    usd(rates.sqs_usd_per_million_requests)
                ),
            );
        }
        let total_usd: f64 = pools.iter().map(|p| p.cost_usd).sum();
        let system_total_usd: f64 = components.iter().map(|c| c.usd).sum();
        let extrapolated = now.as_secs_f64() < DAY_S;
        CostSummary {
            total_usd,
            per_month_usd: monthly(total_usd),
            per_million_requests_usd: if requests.completed > 0 {
                total_usd / requests.completed as f64 * 1e6
            } else {
                f64::NAN
            },
            system_total_usd,
            system_per_month_usd: monthly(system_total_usd),
            extrapolated,
            note: extrapolated.then(|| {
                format!(
                    "the run covers {:.4} h: monthly figures scale it to 730 h at its average rate, \
                     as if every hour of the month were like it",
                    hours
                )
            }),
            components,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Volume tiers apply to a month: a run's bytes are priced at the
    /// month's volume, its average rate over 730 hours, and the bill
    /// scaled back to the run.
    #[test]
    fn bytes_are_priced_at_the_months_volume_tier() {
        // 50 GiB in one hour: 36,500 GB a month, across the first two tiers
        // (10,240 GB at $0.09, the rest at $0.085).
        let bytes = Bytes {
            responses: 10,
            without_size: 0,
            given: 50.0 * GIB,
        };
        let (usd, words) = bytes.billed(&PriceList::default(), false, 1.0);
        let month = 10_240.0 * 0.09 + (36_500.0 - 10_240.0) * 0.085;
        assert!((usd - month / 730.0).abs() < 1e-9, "{usd}");
        assert!(words.contains("36500.0 GB a month"), "{words}");
        assert!(!words.contains("not billed"), "{words}");
        // Over a 730-hour run the same bytes are one month's, all in the first tier.
        let (usd, _) = bytes.billed(&PriceList::default(), false, 730.0);
        assert!((usd - 50.0 * 0.09).abs() < 1e-9, "{usd}");
        // Responses without a size are named as not billed.
        let some = Bytes {
            without_size: 4,
            ..bytes
        };
        let (_, words) = some.billed(&PriceList::default(), false, 1.0);
        assert!(
            words.contains("6 responses") && words.contains("; 4 responses of classes without"),
            "{words}"
        );
    }
}
