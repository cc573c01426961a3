//! The files of one `capsim run`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::engine::StopReason;
use crate::metrics::Subject;
use crate::metrics::stats::estimate;
use crate::model::{RunResult, SystemSpec};

use super::charts::{LineChart, Series, write_chart};
use super::escape;
use super::files::write_atomic;
use super::format::{Figure, duration_words, num, short};

/// `timeseries.csv`: one row per interval.
pub fn timeseries_csv(result: &RunResult) -> String {
    let mut out = String::from(
        "t_start_s,t_end_s,target_rps,offered_rps,completed_rps,rejected_queue_full,rejected_no_instance,timed_out,\
         failed,failed_downstream,error_rate,latency_mean_ms,latency_p50_ms,latency_p90_ms,latency_p99_ms,latency_max_ms,in_system_mean,\
         cost_cumulative_usd,slo_violated",
    );
    for name in &result.pool_names {
        for col in [
            "instances_booting",
            "instances_ready",
            "instances_draining",
            "cpu_utilization",
            "busy_cores",
            "offered_cores",
            "queue_length_mean",
            "nodes",
            "pods_pending",
        ] {
            write!(out, ",{name}.{col}").unwrap();
        }
    }
    out.push('\n');
    for row in &result.rows {
        let span = (row.end - row.start).as_secs_f64();
        let c = &row.counters;
        let error_rate = if c.arrived == 0 {
            f64::NAN
        } else {
            c.errors() as f64 / c.arrived as f64
        };
        write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            num(row.start.as_secs_f64()),
            num(row.end.as_secs_f64()),
            num(row.target_rps),
            num(c.arrived as f64 / span),
            num(c.completed as f64 / span),
            c.rejected_queue_full,
            c.rejected_no_instance,
            c.timed_out,
            c.failed,
            c.failed_downstream,
            num(error_rate),
            num(row.latency_mean_ms),
            num(row.latency_p50_ms),
            num(row.latency_p90_ms),
            num(row.latency_p99_ms),
            num(row.latency_max_ms),
            num(row.in_system_mean),
            num(row.cost_cumulative_usd),
            row.slo_violated.map_or("", |v| if v { "1" } else { "0" }),
        )
        .unwrap();
        for p in &row.pools {
            write!(
                out,
                ",{},{},{},{},{},{},{},{},{}",
                p.booting,
                p.ready,
                p.draining,
                num(p.cpu_utilization),
                num(p.busy_cores),
                num(p.offered_cores),
                num(p.queue_length_mean),
                p.nodes,
                p.pods_pending
            )
            .unwrap();
        }
        out.push('\n');
    }
    out
}

/// `events.csv`: discrete happenings, or `None` when nothing happened.
pub fn events_csv(result: &RunResult) -> Option<String> {
    if result.events.is_empty() {
        return None;
    }
    let mut out = String::from("time_s,event,component,instance\n");
    let servers = result.summary.data.as_ref().map_or(&[][..], |d| &d.servers[..]);
    let caches = result.summary.data.as_ref().map_or(&[][..], |d| &d.caches[..]);
    for e in &result.events {
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let (component, instance) = match e.subject {
            Subject::Pool(p) => (result.pool_names[p].as_str(), e.instance.to_string()),
            Subject::Server(s) => (servers[s].name.as_str(), String::new()),
            Subject::Cache(t) => (caches[t].name.as_str(), String::new()),
        };
        writeln!(
            out,
            "{},{},{},{}",
            num(e.time.as_secs_f64()),
            kind,
            escape::csv(component),
            instance
        )
        .unwrap();
    }
    Some(out)
}

/// `scaling.csv`: the autoscaler decision log, or `None` without autoscalers.
pub fn scaling_csv(result: &RunResult) -> Option<String> {
    use crate::model::autoscaler::hpa::MetricError;
    if result.decisions.is_empty() && result.scaler_rows.is_empty() {
        return None;
    }
    let mut out = String::from("time_s,pool,current,metrics,proposed,stabilized,stabilization,desired,reason\n");
    let opt = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut rows: Vec<(f64, String)> = Vec::new();
    for r in &result.decisions {
        let metrics: Vec<String> = r
            .metrics
            .iter()
            .map(|m| {
                let label = m.label;
                match &m.proposal {
                    Ok(p) => {
                        let value = if m.utilization {
                            format!("{}%", p.current)
                        } else {
                            // Milli-units, shown in units.
                            format!("{}", p.current as f64 / 1000.0)
                        };
                        format!("{label}={value} ratio={:.4} proposes={}", p.ratio, p.replicas)
                    }
                    Err(MetricError::NoPods) => format!("{label}=error: no pods"),
                    Err(MetricError::NoMetrics) => format!("{label}=error: no metrics for targeted pods"),
                    Err(MetricError::NoRequests) => format!("{label}=error: no requests"),
                }
            })
            .collect();
        let d = &r.decision;
        rows.push((
            r.time.as_secs_f64(),
            format!(
                "{},{},{},{},{},{},{},{},{}",
                num(r.time.as_secs_f64()),
                escape::csv(&result.pool_names[r.pool]),
                d.current,
                escape::csv(&metrics.join("; ")),
                opt(d.proposed),
                opt(d.stabilized),
                d.stabilization.map_or("", |s| s.as_str()),
                d.desired,
                d.reason.as_str()
            ),
        ));
    }
    for r in &result.scaler_rows {
        rows.push((
            r.time.as_secs_f64(),
            format!(
                "{},{},{},{},,,,{},{}",
                num(r.time.as_secs_f64()),
                escape::csv(&result.pool_names[r.pool]),
                r.current,
                escape::csv(&r.policies),
                r.desired,
                escape::csv(r.reason)
            ),
        ));
    }
    // Both logs are in time order already; a stable sort interleaves them.
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, row) in rows {
        out.push_str(&row);
        out.push('\n');
    }
    Some(out)
}

/// `capacity.csv`: time to capacity per instance an autoscaler added.
pub fn capacity_csv(result: &RunResult) -> Option<String> {
    if result.capacity.is_empty() {
        return None;
    }
    let mut out = String::from(
        "decided_s,ready_s,pool,instance,averaging_s,pipeline_delay_s,sync_wait_s,node_wait_s,boot_s,readiness_s,total_s\n",
    );
    for c in &result.capacity {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            num(c.decided_at.as_secs_f64()),
            num(c.ready_at.as_secs_f64()),
            result.pool_names[c.pool],
            c.instance,
            num(c.averaging_s),
            num(c.pipeline_delay_s),
            num(c.sync_wait_s),
            num(c.node_wait_s),
            num(c.boot_s),
            num(c.readiness_s),
            num(c.total_s())
        )
        .unwrap();
    }
    Some(out)
}

/// The headline metrics compared across replications, by name.
pub(crate) fn headline(result: &RunResult) -> Vec<(String, f64)> {
    let s = &result.summary;
    let mut m = vec![
        ("throughput_rps".to_string(), s.throughput_rps),
        ("error_rate".to_string(), s.requests.error_rate),
        ("latency_mean_ms".to_string(), s.latency.mean_ms),
        ("latency_p50_ms".to_string(), s.latency.p50_ms),
        ("latency_p90_ms".to_string(), s.latency.p90_ms),
        ("latency_p99_ms".to_string(), s.latency.p99_ms),
        ("queueing_mean_ms".to_string(), s.queueing.mean_ms),
        ("in_system_mean".to_string(), s.in_system_mean),
        ("cost_total_usd".to_string(), s.cost.total_usd),
        ("cost_per_month_usd".to_string(), s.cost.per_month_usd),
        (
            "instances_mean".to_string(),
            s.pools.iter().map(|p| p.instances_mean).sum(),
        ),
    ];
    if let Some(slo) = &s.slo {
        m.push(("slo_minutes_lost".to_string(), slo.minutes_lost));
    }
    if !s.faults.is_empty() || !s.random_faults.is_empty() {
        // What the faults cost, comparable across designs.
        let errors: u64 = s.faults.iter().map(|f| f.errors_until_recovered).sum::<u64>()
            + s.random_faults.iter().map(|f| f.errors_until_recovered).sum::<u64>();
        m.push(("faults.errors_until_recovered".to_string(), errors as f64));
        // Undefined (left out) when a fixed-time fault never recovered; a
        // random one still open at the run's end is not counted.
        let slowest = s
            .faults
            .iter()
            .map(|f| f.time_to_recover_s)
            .chain(
                s.random_faults
                    .iter()
                    .map(|f| Some(f.time_to_recover_max_s.unwrap_or(0.0))),
            )
            .try_fold(0.0, |m: f64, t| t.map(|t| m.max(t)))
            .unwrap_or(f64::NAN);
        m.push(("faults.time_to_recover_max_s".to_string(), slowest));
    }
    for p in &s.pools {
        m.push((format!("pools.{}.cpu_utilization", p.name), p.cpu_utilization));
    }
    for (k, d) in s.deploys.iter().enumerate() {
        m.push((format!("deploys.{k}.desired_peak"), f64::from(d.desired_peak)));
        m.push((format!("deploys.{k}.errors"), d.errors as f64));
    }
    for lb in &s.load_balancers {
        m.push((
            format!("load_balancers.{}.tries_per_request", lb.name),
            lb.tries_per_request,
        ));
        let failed = lb.failed_tries_refused
            + lb.failed_tries_unreachable
            + lb.failed_tries_queue_full
            + lb.failed_tries_timeout;
        m.push((format!("load_balancers.{}.failed_tries", lb.name), failed as f64));
    }
    for r in &s.regions {
        m.push((format!("regions.{}.share", r.name), r.share));
        m.push((format!("regions.{}.lost_while_dark", r.name), r.lost_while_dark as f64));
    }
    if let Some(data) = &s.data {
        m.extend(super::data::headline(data));
    }
    m
}

/// Each headline metric's mean and 95% CI over the replications (undefined
/// values, such as a percentile with no response, left out).
fn replication_estimates(results: &[RunResult]) -> Vec<(String, crate::metrics::stats::Estimate)> {
    let per_run: Vec<Vec<(String, f64)>> = results.iter().map(headline).collect();
    estimates(&per_run)
}

/// Each metric's estimate over runs given as headline rows, by name: the
/// first run's metrics in its order, each taken from every run that has it
/// (runs of one scenario all do; a row read back from a file was checked).
pub(crate) fn estimates(per_run: &[Vec<(String, f64)>]) -> Vec<(String, crate::metrics::stats::Estimate)> {
    let Some(first) = per_run.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let xs: Vec<f64> = per_run
                .iter()
                .filter_map(|row| value_of(row, i, name))
                .filter(|x| x.is_finite())
                .collect();
            (name.clone(), estimate(&xs))
        })
        .collect()
}

/// The value of metric `name` in a headline row, looked for at `at` first
/// (where rows of one scenario have it), then anywhere.
pub(crate) fn value_of<T: Copy>(row: &[(String, T)], at: usize, name: &str) -> Option<T> {
    row.get(at)
        .filter(|(n, _)| n == name)
        .or_else(|| row.iter().find(|(n, _)| n == name))
        .map(|(_, v)| *v)
}

/// `summary.json`: the first replication's summary; with several
/// replications, a `replications` block with each headline metric's mean and
/// 95% confidence interval.
pub fn summary_json(results: &[RunResult]) -> String {
    let mut value = serde_json::to_value(&results[0].summary).expect("summary serializes");
    if results.len() > 1 {
        let mut metrics = serde_json::Map::new();
        for (name, e) in replication_estimates(results) {
            metrics.insert(name, json!({ "mean": e.mean, "ci95": e.ci95, "n": e.n }));
        }
        let mut pooled = crate::metrics::LatencyRecorder::default();
        for r in results {
            pooled.merge(&r.latency);
        }
        value["replications"] = json!({
            "count": results.len(),
            "conserved": results.iter().all(|r| r.summary.requests.conserved()),
            "metrics": Value::Object(metrics),
            "pooled_latency": pooled.summary(),
        });
    }
    let mut text = serde_json::to_string_pretty(&value).expect("summary serializes");
    text.push('\n');
    text
}

/// A short human summary for the terminal.
pub fn human_summary(results: &[RunResult]) -> String {
    let s = &results[0].summary;
    let r = &s.requests;
    let mut out = String::new();
    writeln!(
        out,
        "scenario: {}  ({} s simulated, {} events, stopped: {})",
        s.scenario, s.simulated_s, s.events, s.stop_reason
    )
    .unwrap();
    if s.stop_reason == StopReason::RequestBudget {
        writeln!(
            out,
            "warning:  the run held more requests than `max_requests_held` allows at {} s of {} s and stopped \
             (the system is far past its capacity and its queues or timeouts let requests pile up); \
             every figure covers only the simulated part: shorten the queues or timeouts, or raise `max_requests_held`",
            s.simulated_s, s.duration_s
        )
        .unwrap();
    }
    if s.stop_reason == StopReason::Stalled {
        writeln!(
            out,
            "warning:  stopped early: {} events and {} rejected arrival draws took the run only to {} s; at that pace \
             the event budget (`max_events`) would run out before the first {} s interval ends. Lower the traffic \
             rate or raise `max_events`",
            s.events,
            s.rejected_arrival_draws,
            s.simulated_s,
            s.interval_s.min(s.duration_s)
        )
        .unwrap();
    }
    if s.stop_reason == StopReason::EventBudget {
        writeln!(
            out,
            "warning:  the event budget (`max_events`) ran out at {} s of {} s: every figure covers only the simulated part; \
             raise `max_events` or shorten `duration`",
            s.simulated_s, s.duration_s
        )
        .unwrap();
        if s.rejected_arrival_draws > s.events {
            writeln!(
                out,
                "          {} of it went to arrival candidates the rate curve rejected, {} to events: the curve's peak \
                 over some 10 s window is far above its rate there (a very short, very high step or spike?)",
                s.rejected_arrival_draws, s.events
            )
            .unwrap();
        }
    }
    writeln!(
        out,
        "requests: {} arrived, {} completed, {} rejected, {} timed out, {} failed, {} in flight  (error rate {:.3}%)",
        r.arrived,
        r.completed,
        r.rejected_queue_full + r.rejected_no_instance,
        r.timed_out,
        r.failed + r.failed_downstream,
        r.in_flight,
        Figure(r.error_rate * 100.0)
    )
    .unwrap();
    let l = &s.latency;
    writeln!(
        out,
        "latency:  mean {:.2} ms  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms",
        Figure(l.mean_ms),
        Figure(l.p50_ms),
        Figure(l.p90_ms),
        Figure(l.p99_ms),
        Figure(l.p999_ms),
        Figure(l.max_ms)
    )
    .unwrap();
    if s.classes.len() > 1 {
        for c in &s.classes {
            let l = &c.latency;
            writeln!(
                out,
                "  class {}: {} completed, mean {:.2} ms, p99 {:.2} ms",
                c.name,
                l.count,
                Figure(l.mean_ms),
                Figure(l.p99_ms)
            )
            .unwrap();
        }
    }
    for p in &s.pools {
        // A mixed instances group runs the types its policy picks, not the pool's own.
        let types = if p.by_instance_type.is_empty() {
            p.instance_type.clone()
        } else {
            let launched: Vec<String> = p
                .by_instance_type
                .iter()
                .filter(|t| t.launched > 0)
                .map(|t| format!("{} {}", t.launched, t.instance_type))
                .collect();
            format!("mixed (launched: {})", launched.join(", "))
        };
        writeln!(
            out,
            "pool {}: {} × {types}, CPU {:.1}%, mean queue {:.2}, cost ${:.2}",
            p.name,
            p.instances_initial,
            Figure(p.cpu_utilization * 100.0),
            Figure(p.queue_length_mean),
            Figure(p.cost_usd)
        )
        .unwrap();
    }
    if let Some(slo) = &s.slo {
        let mut objective = Vec::new();
        if let (Some(p), Some(t)) = (slo.latency_percentile, slo.latency_threshold_ms) {
            objective.push(format!("p{p} ≤ {t} ms"));
        }
        if let Some(e) = slo.error_rate_max {
            objective.push(format!("errors ≤ {}%", e * 100.0));
        }
        writeln!(
            out,
            "slo:      {}: {:.2} minutes lost in {} of {} intervals ({:.2}% compliant)",
            objective.join(", "),
            Figure(slo.minutes_lost),
            slo.intervals_violated,
            slo.intervals,
            Figure(slo.compliance * 100.0)
        )
        .unwrap();
    }
    for f in &s.faults {
        writeln!(
            out,
            "fault:    {}{} of {} instance(s) of {} at {} s: {} requests failed, {} errors until {}",
            f.kind,
            f.zone
                .as_ref()
                .or(f.region.as_ref())
                .map(|z| format!(" in {z}"))
                .unwrap_or_default(),
            f.instances,
            f.pools.join(", "),
            num(f.at_s),
            f.requests_failed,
            f.errors_until_recovered,
            match f.time_to_recover_s {
                Some(t) => format!("recovered {:.1} s later", Figure(t)),
                None => "the end (not recovered)".to_string(),
            }
        )
        .unwrap();
    }
    for f in &s.random_faults {
        writeln!(
            out,
            "fault:    {} at random (mtbf {}) {}: {} occurrences, {} instance(s), {} requests failed, {} errors until recovered{}",
            f.kind,
            duration_words(f.mtbf_s),
            match (&f.pool, &f.zone, &f.region) {
                (Some(p), _, _) => format!("per instance of {p}"),
                (_, Some(z), _) => format!("of zone {z}"),
                (_, _, Some(r)) => format!("of region {r}"),
                _ => String::new(),
            },
            f.occurrences,
            f.instances,
            f.requests_failed,
            f.errors_until_recovered,
            match (f.time_to_recover_mean_s, f.time_to_recover_max_s) {
                (Some(mean), Some(max)) => {
                    format!(", in {:.1} s on average (max {:.1} s)", Figure(mean), Figure(max))
                }
                _ => String::new(),
            }
        )
        .unwrap();
    }
    for d in &s.deploys {
        writeln!(
            out,
            "deploy:   {} of {} at {} s: {}; desired {} → up to {}, at most {} instances, at least {} ready, {} errors",
            d.strategy,
            d.pool,
            num(d.at_s),
            match d.duration_s {
                Some(t) => format!("done in {:.1} s", Figure(t)),
                None => "not done by the end".to_string(),
            },
            d.desired_before,
            d.desired_peak,
            d.instances_peak,
            d.ready_min,
            d.errors
        )
        .unwrap();
    }
    for r in &s.regions {
        let marks = |label: &str, at: &[f64]| {
            if at.is_empty() {
                String::new()
            } else {
                let times: Vec<String> = at.iter().map(|t| format!("{} s", num(*t))).collect();
                format!("; DNS marked it {label} at {}", times.join(", "))
            }
        };
        writeln!(
            out,
            "region:   {} (via {}): {:.1}% of requests, {} lost while dark{}{}",
            r.name,
            r.balancer,
            Figure(r.share * 100.0),
            r.lost_while_dark,
            marks("down", &r.dns_marked_down_at_s),
            marks("up", &r.dns_marked_up_at_s),
        )
        .unwrap();
    }
    for p in &s.populations {
        writeln!(
            out,
            "clients:  {}: {} requests, {} to a region not their nearest, {:.1} ms round trip on average",
            p.name,
            p.requests,
            p.not_nearest,
            Figure(p.rtt_mean_ms)
        )
        .unwrap();
    }
    for lb in &s.load_balancers {
        writeln!(
            out,
            "balancer: {}: {:.3} tries per request ({} retries, {} refused by the budget); failed tries: \
             {} refused, {} unreachable, {} queue full, {} timed out; checks: {} down, {} up, {} ejected; \
             {} new connections{}",
            lb.name,
            Figure(lb.tries_per_request),
            lb.retries,
            lb.retries_over_budget,
            lb.failed_tries_refused,
            lb.failed_tries_unreachable,
            lb.failed_tries_queue_full,
            lb.failed_tries_timeout,
            lb.marked_down,
            lb.marked_up,
            lb.ejected,
            lb.new_connections,
            if lb.failed_at_dead_node > 0 {
                format!("; {} requests lost at a dead node", lb.failed_at_dead_node)
            } else {
                String::new()
            }
        )
        .unwrap();
    }
    if let Some(data) = &s.data {
        out.push_str(&super::data::human(data));
    }
    let dollars = |x: f64, decimals: usize| {
        if x.is_finite() {
            format!("${x:.decimals$}")
        } else {
            "n/a".to_string()
        }
    };
    writeln!(
        out,
        "cost:     {} total, {}/month, {} per million requests",
        dollars(s.cost.total_usd, 2),
        dollars(s.cost.per_month_usd, 0),
        dollars(s.cost.per_million_requests_usd, 4)
    )
    .unwrap();
    // The instances are not the whole bill when anything else is priced.
    if s.cost.components.iter().any(|c| c.kind != "pool") {
        writeln!(
            out,
            "          whole system (databases, caches, CDN, balancers, queues too): {} total, {}/month{}",
            dollars(s.cost.system_total_usd, 2),
            dollars(s.cost.system_per_month_usd, 0),
            if s.cost.extrapolated {
                ", scaled from a run shorter than a day"
            } else {
                ""
            }
        )
        .unwrap();
    }
    if results.len() > 1 {
        writeln!(out, "over {} replications (mean ± 95% CI):", results.len()).unwrap();
        for (name, e) in replication_estimates(results) {
            writeln!(out, "  {name}: {:.4} ± {:.4}", Figure(e.mean), Figure(e.ci95)).unwrap();
        }
    }
    out
}

/// Writes every file of a run of `spec` into `dir` (created if needed).
pub fn write_run(dir: &Path, spec: &SystemSpec, results: &[RunResult]) -> Result<Vec<String>> {
    fs::create_dir_all(dir).with_context(|| format!("creating output folder {}", dir.display()))?;
    let first = &results[0];
    let mut written = Vec::new();
    let mut put = |name: &str, text: &str| -> Result<()> {
        write_atomic(&dir.join(name), text.as_bytes())?;
        written.push(name.to_string());
        Ok(())
    };
    put("summary.json", &summary_json(results))?;
    put("timeseries.csv", &timeseries_csv(first))?;
    let analyzed = super::analysis::analyze(spec, first);
    let mut analysis = serde_json::to_string_pretty(&analyzed).expect("serializes");
    analysis.push('\n');
    put("analysis.json", &analysis)?;
    let diagram = super::architecture::diagram(
        spec,
        analyzed.peak.offered_rps,
        &analyzed.components,
        analyzed.bottleneck,
    );
    put("architecture.svg", &super::architecture::svg(&diagram)?)?;
    let optional = [
        ("events.csv", events_csv(first)),
        ("scaling.csv", scaling_csv(first)),
        ("capacity.csv", capacity_csv(first)),
        ("data.csv", super::data::data_csv(first)),
    ];
    for (name, text) in optional {
        if let Some(text) = text {
            put(name, &text)?;
        }
    }
    // Each autoscaled pool's HPA, ready to apply.
    for pool in &first.autoscalers {
        put(
            &format!("hpa-{}.yaml", pool.0),
            &super::manifest::hpa_manifest(&pool.0, &pool.1),
        )?;
    }
    let mut charts = run_charts(first);
    charts.extend(super::data::charts(first));
    for (base, chart) in &charts {
        write_chart(dir, base, chart)?;
        written.push(format!("{base}.png"));
        written.push(format!("{base}.svg"));
    }
    Ok(written)
}

/// The run's fault occurrences by kind (minutes), for the errors chart:
/// instance and zone faults, fixed or random, and data-tier servers lost.
fn fault_instants(result: &RunResult) -> Vec<(String, Vec<f64>)> {
    let mut by_kind: Vec<(String, Vec<f64>)> = Vec::new();
    let mut add = |kind: &str, at: f64| match by_kind.iter_mut().find(|(k, _)| k == kind) {
        Some((_, times)) => times.push(at),
        None => by_kind.push((kind.to_string(), vec![at])),
    };
    for &(at, kind) in &result.faults {
        add(&kind.replace('_', " "), at.as_secs_f64() / 60.0);
    }
    for e in &result.events {
        use crate::metrics::EventKind;
        let kind = match e.kind {
            EventKind::ServerDown => "data-tier server down",
            EventKind::ApplyPaused => "replica apply paused",
            EventKind::CacheFlushed => "cache flushed",
            _ => continue,
        };
        add(kind, e.time.as_secs_f64() / 60.0);
    }
    for (_, times) in &mut by_kind {
        times.dedup();
    }
    by_kind
}

/// Each deploy from its start to its end (or the run's), in minutes.
fn deploy_periods(result: &RunResult) -> Vec<(String, Vec<(f64, f64)>)> {
    let end = result.rows.last().map_or(0.0, |r| r.end.as_secs_f64());
    let spans: Vec<(f64, f64)> = result
        .summary
        .deploys
        .iter()
        .map(|d| (d.at_s / 60.0, d.duration_s.map_or(end, |t| d.at_s + t) / 60.0))
        .collect();
    if spans.is_empty() {
        Vec::new()
    } else {
        vec![("deploy".to_string(), spans)]
    }
}

/// The SLO's latency threshold as a chart line: `SLO: p99 ≤ 250 ms`.
pub(crate) fn slo_line(result: &RunResult) -> Option<(String, f64)> {
    let slo = result.summary.slo.as_ref()?;
    let (p, ms) = (slo.latency_percentile?, slo.latency_threshold_ms?);
    Some((format!("SLO: p{} ≤ {} ms", short(p), short(ms)), ms))
}

/// Each autoscaler's CPU utilisation target as a chart line.
fn cpu_targets(result: &RunResult) -> Vec<(String, f64)> {
    use crate::model::autoscaler::{MetricSpec, ResourceName, Target};
    result
        .autoscalers
        .iter()
        .flat_map(|(pool, config)| {
            config.metrics.iter().filter_map(move |m| match m {
                MetricSpec::Resource {
                    name: ResourceName::Cpu,
                    target: Target::Utilization(u),
                } => Some((format!("{pool}: HPA target {u}%"), f64::from(*u))),
                _ => None,
            })
        })
        .collect()
}

fn run_charts(result: &RunResult) -> Vec<(&'static str, LineChart)> {
    let rows = &result.rows;
    let minutes = |r: &crate::metrics::IntervalRow| r.end.as_secs_f64() / 60.0;
    let line = |name: &str, f: &dyn Fn(&crate::metrics::IntervalRow) -> f64| Series {
        name: name.to_string(),
        points: rows.iter().map(|r| (minutes(r), f(r))).collect(),
    };
    let span = |r: &crate::metrics::IntervalRow| (r.end - r.start).as_secs_f64();
    let x_label = "simulated time (min)".to_string();
    let share = |r: &crate::metrics::IntervalRow, n: u64| {
        if r.counters.arrived == 0 {
            0.0
        } else {
            100.0 * n as f64 / r.counters.arrived as f64
        }
    };
    let (instants, periods) = (fault_instants(result), deploy_periods(result));
    // The title names what the chart overlays, and only that.
    let overlays = match (instants.is_empty(), periods.is_empty()) {
        (true, true) => "",
        (false, true) => ", with faults",
        (true, false) => ", with deploys",
        (false, false) => ", with faults and deploys",
    };
    let mut charts = vec![
        (
            "errors",
            LineChart {
                title: format!("Error rate per interval{overlays}"),
                x_label: x_label.clone(),
                y_label: "errors, % of the requests that arrived".into(),
                series: vec![
                    line("refused (queue full, no instance)", &|r| {
                        share(r, r.counters.rejected_queue_full + r.counters.rejected_no_instance)
                    }),
                    line("timed out", &|r| share(r, r.counters.timed_out)),
                    line("failed (instance lost, data tier)", &|r| {
                        share(r, r.counters.failed + r.counters.failed_downstream)
                    }),
                ],
                stacked: true,
                instants,
                periods,
                ..LineChart::default()
            },
        ),
        (
            "latency",
            LineChart {
                title: format!("{}: response time per interval", result.summary.scenario),
                x_label: x_label.clone(),
                y_label: "latency (ms)".into(),
                series: vec![
                    line("p50", &|r| r.latency_p50_ms),
                    line("p90", &|r| r.latency_p90_ms),
                    line("p99", &|r| r.latency_p99_ms),
                    line("mean", &|r| r.latency_mean_ms),
                ],
                references: slo_line(result).into_iter().collect(),
                ..LineChart::default()
            },
        ),
        (
            "throughput",
            LineChart {
                title: "Throughput and errors against offered load".into(),
                x_label: x_label.clone(),
                y_label: "requests per second".into(),
                series: vec![
                    line("target rate", &|r| r.target_rps),
                    line("offered", &|r| r.counters.arrived as f64 / span(r)),
                    line("completed", &|r| r.counters.completed as f64 / span(r)),
                    line("errors (rejected + timed out)", &|r| {
                        r.counters.errors() as f64 / span(r)
                    }),
                ],
                ..LineChart::default()
            },
        ),
    ];
    let per_pool = |f: &dyn Fn(&crate::metrics::PoolRow) -> f64| -> Vec<Series> {
        result
            .pool_names
            .iter()
            .enumerate()
            .map(|(i, name)| Series {
                name: name.clone(),
                points: rows.iter().map(|r| (minutes(r), f(&r.pools[i]))).collect(),
            })
            .collect()
    };
    charts.push((
        "utilization",
        LineChart {
            title: "CPU utilization per pool".into(),
            x_label: x_label.clone(),
            y_label: "busy core-time / serving core-time (%)".into(),
            series: per_pool(&|p| p.cpu_utilization * 100.0),
            references: cpu_targets(result),
            ..LineChart::default()
        },
    ));
    charts.push((
        "queue",
        LineChart {
            title: "Requests waiting per pool (time-averaged)".into(),
            x_label: x_label.clone(),
            y_label: "waiting for a worker or a core".into(),
            series: per_pool(&|p| p.queue_length_mean),
            ..LineChart::default()
        },
    ));
    let mut instances = per_pool(&|p| f64::from(p.ready));
    for s in &mut instances {
        s.name = format!("{} ready", s.name);
    }
    if rows
        .iter()
        .any(|r| r.pools.iter().any(|p| p.booting > 0 || p.draining > 0))
    {
        let mut booting = per_pool(&|p| f64::from(p.booting));
        for s in &mut booting {
            s.name = format!("{} booting", s.name);
        }
        instances.extend(booting);
    }
    // Each autoscaler action, at the size it asked for.
    let markers: Vec<Series> = result
        .pool_names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let hpa = result
                .decisions
                .iter()
                .filter(|d| d.pool == i && d.decision.rescale())
                .map(|d| (d.time.as_secs_f64() / 60.0, f64::from(d.decision.desired)));
            let aws = result
                .scaler_rows
                .iter()
                .filter(|r| r.pool == i && r.desired != r.current)
                .map(|r| (r.time.as_secs_f64() / 60.0, r.desired as f64));
            Series {
                name: format!("{name} scaling action (new size)"),
                points: hpa.chain(aws).collect(),
            }
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    let traffic = Series {
        name: "offered load (req/s)".into(),
        points: rows
            .iter()
            .map(|r| (minutes(r), r.counters.arrived as f64 / span(r)))
            .collect(),
    };
    charts.push((
        "instances",
        LineChart {
            title: "Instances against traffic".into(),
            x_label: x_label.clone(),
            y_label: "instances".into(),
            series: instances,
            markers,
            secondary: Some(("requests per second".into(), vec![traffic])),
            ..LineChart::default()
        },
    ));
    charts.push((
        "cost",
        LineChart {
            title: "Cumulative cost".into(),
            x_label: x_label.clone(),
            y_label: "US dollars".into(),
            series: vec![line("instances", &|r| r.cost_cumulative_usd)],
            ..LineChart::default()
        },
    ));
    if !result.capacity.is_empty() {
        let by_decision = |name: &str, f: &dyn Fn(&crate::metrics::CapacityRecord) -> f64| Series {
            name: name.to_string(),
            points: result
                .capacity
                .iter()
                .map(|c| (c.decided_at.as_secs_f64() / 60.0, f(c)))
                .collect(),
        };
        charts.push((
            "capacity",
            LineChart {
                title: "Time to capacity per added instance".into(),
                x_label: "scale-up decision at simulated time (min)".into(),
                y_label: "seconds from load seen to serving".into(),
                // Scale-ups are separate events, hours apart at times: points, not lines.
                markers: [
                    Some(by_decision("total", &|c| c.total_s())),
                    Some(by_decision("metrics (window, delay, sync wait)", &|c| {
                        c.averaging_s + c.pipeline_delay_s + c.sync_wait_s
                    })),
                    // Only where a node pool made instances wait.
                    result
                        .capacity
                        .iter()
                        .any(|c| c.node_wait_s > 0.0)
                        .then(|| by_decision("waiting for a node", &|c| c.node_wait_s)),
                    Some(by_decision("boot", &|c| c.boot_s)),
                    Some(by_decision("readiness", &|c| c.readiness_s)),
                ]
                .into_iter()
                .flatten()
                .collect(),
                ..LineChart::default()
            },
        ));
    }
    charts
}
