//! The data tier's outputs: `data.csv`, its charts (time per tier stacked,
//! cache hit ratios, replica lag, server utilization, queue depth and age),
//! its headline metrics and its lines of the terminal summary.

use std::fmt::Write as _;

use crate::metrics::{DataSummary, IntervalRow};
use crate::model::RunResult;
use crate::model::data::DataRow;

use super::charts::{LineChart, Series};
use super::format::{Figure, num};

/// The per-interval columns a CDN adds to its cache columns in `data.csv`.
const EDGE_COLUMNS: [&str; 4] = ["shield_hits", "shield_misses", "origin_requests", "offload"];

/// The per-interval columns of each queue in `data.csv`.
const QUEUE_COLUMNS: [&str; 13] = [
    "depth",
    "depth_mean",
    "depth_max",
    "oldest_age_s",
    "consumer_utilization",
    "enqueued",
    "rejected",
    "received",
    "deleted",
    "failed",
    "timed_out",
    "dead_lettered",
    "stale",
];

fn rows(result: &RunResult) -> impl Iterator<Item = (&IntervalRow, &DataRow)> {
    result.rows.iter().filter_map(|r| r.data.as_ref().map(|d| (r, d)))
}

/// `data.csv`: one row per interval, or `None` without a data tier.
pub fn data_csv(result: &RunResult) -> Option<String> {
    let summary = result.summary.data.as_ref()?;
    let mut out = String::from("t_start_s,t_end_s");
    for t in &summary.tiers {
        write!(out, ",{}.ms_per_request", t.name).unwrap();
    }
    for c in &summary.caches {
        for col in [
            "hit_ratio",
            "hits",
            "misses",
            "evictions",
            "expirations",
            "invalidations",
            "coalesced",
        ] {
            write!(out, ",{}.{col}", c.name).unwrap();
        }
        if c.edge.is_some() {
            for col in EDGE_COLUMNS {
                write!(out, ",{}.{col}", c.name).unwrap();
            }
        }
    }
    for d in &summary.databases {
        for col in [
            "reads",
            "replica_reads",
            "writes",
            "stale_reads",
            "stale_responses",
            "read_your_writes_violations",
            "connection_waits",
            "connection_wait_mean_ms",
            "connection_timeouts",
            "connection_refused",
            "unavailable",
        ] {
            write!(out, ",{}.{col}", d.name).unwrap();
        }
        for r in &d.replicas {
            write!(out, ",{}.lag_ms,{}.lag_max_ms", r.name, r.name).unwrap();
        }
    }
    for s in &summary.servers {
        write!(out, ",{}.utilization,{}.queue", s.name, s.name).unwrap();
    }
    for q in &summary.queues {
        for col in QUEUE_COLUMNS {
            write!(out, ",{}.{col}", q.name).unwrap();
        }
    }
    out.push('\n');
    for (row, d) in rows(result) {
        write!(out, "{},{}", num(row.start.as_secs_f64()), num(row.end.as_secs_f64())).unwrap();
        for ms in std::iter::once(&d.app_ms).chain(&d.tier_ms) {
            write!(out, ",{}", num(*ms)).unwrap();
        }
        for (c, cache) in d.caches.iter().zip(&summary.caches) {
            let s = &c.stats;
            write!(
                out,
                ",{},{},{},{},{},{},{}",
                num(s.hit_ratio()),
                s.hits,
                s.misses,
                s.evictions,
                s.expirations,
                s.invalidations,
                c.coalesced
            )
            .unwrap();
            if cache.edge.is_some() {
                write!(
                    out,
                    ",{},{},{},{}",
                    c.shield.hits,
                    c.shield.misses,
                    c.origin,
                    num(c.offload())
                )
                .unwrap();
            }
        }
        for db in &d.databases {
            let c = &db.counts;
            let wait_mean = if c.connection_waits > 0 {
                c.connection_wait_ns as f64 / 1e6 / c.connection_waits as f64
            } else {
                f64::NAN
            };
            write!(
                out,
                ",{},{},{},{},{},{},{},{},{},{},{}",
                c.reads,
                c.replica_reads,
                c.writes,
                c.stale_reads,
                c.stale_responses,
                c.read_your_writes_violations,
                c.connection_waits,
                num(wait_mean),
                c.connection_timeouts,
                c.connection_refused,
                c.unavailable
            )
            .unwrap();
            for (lag, max) in db.lag_ms.iter().zip(&db.lag_max_ms) {
                write!(out, ",{},{}", num(*lag), num(*max)).unwrap();
            }
        }
        for (u, q) in d.server_utilization.iter().zip(&d.server_queue) {
            write!(out, ",{},{q}", num(*u)).unwrap();
        }
        for q in &d.queues {
            let c = &q.counts;
            write!(
                out,
                ",{},{},{},{},{},{},{},{},{},{},{},{},{}",
                q.depth,
                num(q.depth_mean),
                q.depth_max,
                num(q.oldest_age_s),
                num(q.consumer_utilization()),
                c.enqueued,
                c.rejected,
                c.received,
                c.deleted,
                c.failed,
                c.timed_out,
                c.dead_lettered,
                c.stale
            )
            .unwrap();
        }
        out.push('\n');
    }
    Some(out)
}

/// The data tier's charts (none without one).
pub fn charts(result: &RunResult) -> Vec<(&'static str, LineChart)> {
    let Some(summary) = result.summary.data.as_ref() else {
        return Vec::new();
    };
    let x_label = "simulated time (min)".to_string();
    let series = |name: String, f: &dyn Fn(&DataRow) -> f64| Series {
        name,
        points: rows(result).map(|(r, d)| (r.end.as_secs_f64() / 60.0, f(d))).collect(),
    };
    let mut charts = vec![(
        "tiers",
        LineChart {
            title: "Where a request's time goes (stacked)".into(),
            x_label: x_label.clone(),
            y_label: "ms per completed request".into(),
            series: summary
                .tiers
                .iter()
                .enumerate()
                .map(|(t, tier)| {
                    series(tier.name.clone(), &|d| {
                        if t == 0 { d.app_ms } else { d.tier_ms[t - 1] }
                    })
                })
                .collect(),
            stacked: true,
            ..LineChart::default()
        },
    )];
    if !summary.caches.is_empty() {
        charts.push((
            "cache-hit-ratio",
            LineChart {
                title: "Cache hit ratio per interval".into(),
                x_label: x_label.clone(),
                y_label: "hits / lookups (%)".into(),
                series: summary
                    .caches
                    .iter()
                    .enumerate()
                    .flat_map(|(c, cache)| {
                        let hits = series(cache.name.clone(), &|d| d.caches[c].stats.hit_ratio() * 100.0);
                        // A CDN's offload: PoP and shield hits and collapsed misses.
                        let offload = cache
                            .edge
                            .as_ref()
                            .map(|_| series(format!("{} offload", cache.name), &|d| d.caches[c].offload() * 100.0));
                        std::iter::once(hits).chain(offload)
                    })
                    .collect(),
                ..LineChart::default()
            },
        ));
    }
    let lag: Vec<Series> = summary
        .databases
        .iter()
        .enumerate()
        .flat_map(|(k, db)| db.replicas.iter().enumerate().map(move |(i, r)| (k, i, r.name.clone())))
        .map(|(k, i, name)| {
            series(format!("{name} (largest in interval)"), &|d| {
                d.databases[k].lag_max_ms[i]
            })
        })
        .collect();
    if !lag.is_empty() {
        charts.push((
            "replica-lag",
            LineChart {
                title: "Replication lag per replica".into(),
                x_label: x_label.clone(),
                y_label: "age of the oldest unapplied write (ms)".into(),
                series: lag,
                ..LineChart::default()
            },
        ));
    }
    if !summary.servers.is_empty() {
        charts.push((
            "data-utilization",
            LineChart {
                title: "Cache node and database server utilization".into(),
                x_label: x_label.clone(),
                y_label: "busy threads / threads (%)".into(),
                series: summary
                    .servers
                    .iter()
                    .enumerate()
                    .map(|(i, s)| series(s.name.clone(), &|d| d.server_utilization[i] * 100.0))
                    .collect(),
                ..LineChart::default()
            },
        ));
    }
    if !summary.queues.is_empty() {
        let per_queue = |f: &dyn Fn(&crate::model::data::QueueRow) -> f64| {
            summary
                .queues
                .iter()
                .enumerate()
                .map(|(k, q)| series(q.name.clone(), &|d| f(&d.queues[k])))
                .collect::<Vec<_>>()
        };
        charts.push((
            "queue-depth",
            LineChart {
                title: "Queue depth (visible and in flight)".into(),
                x_label: x_label.clone(),
                y_label: "messages, largest in interval".into(),
                series: per_queue(&|q| q.depth_max as f64),
                ..LineChart::default()
            },
        ));
        charts.push((
            "queue-age",
            LineChart {
                title: "Age of the oldest message".into(),
                x_label,
                y_label: "seconds, at interval end".into(),
                series: per_queue(&|q| q.oldest_age_s),
                ..LineChart::default()
            },
        ));
    }
    charts
}

/// Headline metrics of the data tier, compared across replications and designs.
pub fn headline(data: &DataSummary) -> Vec<(String, f64)> {
    let mut m = Vec::new();
    for t in &data.tiers {
        m.push((format!("tiers.{}.ms_per_request", t.name), t.ms_per_request));
    }
    for c in &data.caches {
        m.push((format!("caches.{}.hit_ratio", c.name), c.hit_ratio));
        if let Some(e) = &c.edge {
            m.push((format!("caches.{}.offload", c.name), e.offload));
        }
    }
    for d in &data.databases {
        // Comparable across cache designs whatever their caches are called.
        m.push((format!("databases.{}.reads_per_request", d.name), d.reads_per_request));
        m.push((
            format!("databases.{}.stale_response_rate", d.name),
            d.stale_response_rate,
        ));
        if !d.replicas.is_empty() {
            m.push((format!("databases.{}.stale_read_rate", d.name), d.stale_read_rate));
            let lag = d.replicas.iter().map(|r| r.lag_max_ms).fold(0.0, f64::max);
            m.push((format!("databases.{}.replica_lag_max_ms", d.name), lag));
            let delay = d
                .replicas
                .iter()
                .filter(|r| r.replication_delay.count > 0)
                .map(|r| r.replication_delay.p99_ms)
                .fold(f64::NAN, f64::max);
            m.push((format!("databases.{}.replication_delay_p99_ms", d.name), delay));
        }
        if let Some(hot) = hottest(d) {
            m.push((format!("databases.{}.hottest_shard_share", d.name), hot.share));
            m.push((
                format!("databases.{}.hottest_shard_utilization", d.name),
                hot.primary_utilization,
            ));
        }
    }
    for q in &data.queues {
        m.push((format!("queues.{}.end_to_end_p99_ms", q.name), q.end_to_end.p99_ms));
        m.push((format!("queues.{}.depth_max", q.name), q.depth_max as f64));
        m.push((format!("queues.{}.oldest_age_max_s", q.name), q.oldest_age_max_s));
        m.push((format!("queues.{}.dead_lettered", q.name), q.dead_lettered as f64));
    }
    m
}

/// The shard with the largest share of a database's queries.
fn hottest(d: &crate::metrics::DatabaseSummary) -> Option<&crate::metrics::ShardSummary> {
    d.shards.iter().max_by(|a, b| a.share.total_cmp(&b.share))
}

/// The terminal summary's data-tier lines.
/// A share as a percentage to three decimals; `n/a` (no `%`) when undefined
/// (no response to be stale).
fn percent3(x: f64) -> String {
    if x.is_finite() {
        format!("{:.3}%", x * 100.0)
    } else {
        "n/a".into()
    }
}

pub fn human(data: &DataSummary) -> String {
    let mut out = String::new();
    let parts: Vec<String> = data
        .tiers
        .iter()
        .map(|t| format!("{} {:.2}", t.name, Figure(t.ms_per_request)))
        .collect();
    writeln!(out, "time:     {} ms per request", parts.join(" + ")).unwrap();
    for c in &data.caches {
        write!(
            out,
            "cache {}: hit ratio {:.1}% ({} hits, {} misses, {} evictions{})",
            c.name,
            Figure(c.hit_ratio * 100.0),
            c.hits,
            c.misses,
            c.evictions,
            if c.coalesced > 0 {
                format!(", {} coalesced", c.coalesced)
            } else {
                String::new()
            }
        )
        .unwrap();
        if let Some(e) = &c.edge {
            write!(out, "; {} PoPs", e.pops).unwrap();
            if e.shield_hits + e.shield_misses > 0 {
                write!(out, ", shield hit ratio {:.1}%", Figure(e.shield_hit_ratio * 100.0)).unwrap();
            }
            write!(
                out,
                "; {} reads to the origin, offload {:.1}%",
                e.origin_requests,
                Figure(e.offload * 100.0)
            )
            .unwrap();
        }
        out.push('\n');
    }
    for d in &data.databases {
        write!(
            out,
            "database {}: {} reads ({} on replicas), {} writes; stale responses {}, read-your-writes violations {}",
            d.name,
            d.reads,
            d.replica_reads,
            d.writes,
            percent3(d.stale_response_rate),
            d.read_your_writes_violations
        )
        .unwrap();
        if !d.replicas.is_empty() {
            let lag = d.replicas.iter().map(|r| r.lag_max_ms).fold(0.0, f64::max);
            write!(
                out,
                "; stale replica reads {}, lag max {:.2} ms",
                percent3(d.stale_read_rate),
                Figure(lag)
            )
            .unwrap();
            let delays: Vec<_> = d
                .replicas
                .iter()
                .map(|r| &r.replication_delay)
                .filter(|x| x.count > 0)
                .collect();
            if !delays.is_empty() {
                let mean = delays.iter().map(|x| x.mean_ms * x.count as f64).sum::<f64>()
                    / delays.iter().map(|x| x.count as f64).sum::<f64>();
                let p99 = delays.iter().map(|x| x.p99_ms).fold(0.0, f64::max);
                write!(out, "; commit to visible mean {mean:.2} ms, p99 {p99:.2} ms").unwrap();
            }
        }
        if let Some(hot) = hottest(d) {
            write!(
                out,
                "; hottest of {} shards: {} with {:.1}% of queries, primary {:.1}% busy, p99 {:.2} ms",
                d.shards.len(),
                hot.name,
                Figure(hot.share * 100.0),
                Figure(hot.primary_utilization * 100.0),
                Figure(hot.per_call.p99_ms)
            )
            .unwrap();
        }
        if let Some(r) = &d.resharding {
            write!(
                out,
                "; a shard more moves {:.1}% of keys by modulo, {:.1}% by consistent hashing",
                Figure(r.ids_moved_modulo * 100.0),
                Figure(r.ids_moved_consistent_hash * 100.0)
            )
            .unwrap();
        }
        if d.unavailable + d.lost_writes > 0 {
            write!(
                out,
                "; {} queries failed on a down server, {} writes lost in failover",
                d.unavailable, d.lost_writes
            )
            .unwrap();
        }
        if d.connection_timeouts + d.connection_refused > 0 {
            write!(
                out,
                "; {} failed waiting for a connection, {} refused",
                d.connection_timeouts, d.connection_refused
            )
            .unwrap();
        }
        out.push('\n');
    }
    for q in &data.queues {
        write!(
            out,
            "queue {} → {}: {} enqueued, {} deleted; end to end p50 {:.1} ms, p99 {:.1} ms; depth max {}, oldest {:.1} s; consumers {:.1}% busy",
            q.name,
            q.consumers,
            q.enqueued,
            q.deleted,
            Figure(q.end_to_end.p50_ms),
            Figure(q.end_to_end.p99_ms),
            q.depth_max,
            Figure(q.oldest_age_max_s),
            Figure(q.consumer_utilization * 100.0)
        )
        .unwrap();
        if q.rejected + q.failed + q.timed_out + q.dead_lettered + q.stale > 0 {
            write!(
                out,
                "; {} rejected, {} failed attempts, {} timed out, {} dead-lettered, {} done twice",
                q.rejected, q.failed, q.timed_out, q.dead_lettered, q.stale
            )
            .unwrap();
        }
        out.push('\n');
    }
    let busiest = data
        .servers
        .iter()
        .filter(|s| s.utilization.is_finite())
        .max_by(|a, b| a.utilization.total_cmp(&b.utilization));
    if let Some(s) = busiest {
        writeln!(
            out,
            "busiest data server: {} at {:.1}% ({} threads, mean wait {:.3} ms)",
            s.name,
            Figure(s.utilization * 100.0),
            s.threads,
            Figure(s.wait_mean_ms)
        )
        .unwrap();
    }
    out
}
