//! capsim at the edges of what it accepts: a runaway rate curve stops at
//! the event budget and says why, ten times overload runs in bounded
//! memory, extreme but valid values run, out-of-range ones are refused
//! with the range.

mod common;

use capsim::engine::StopReason;
use capsim::model::simulate;
use capsim::report::{human_summary, summary_json};
use capsim::scenario::{self, Format, NoFiles};

fn scenario(duration: &str, rate: &str, count: u32, extra_pool: &str) -> String {
    format!(
        r#"
name: edge
duration: {duration}
traffic:
  rate: {rate}
  classes:
    - name: a
      cpu: {{ exponential: {{ mean: 20ms }} }}
  target: lb
load_balancers:
  lb: {{ policy: round_robin, pool: web }}
pools:
  web:
    instance_type: c6i.large
    count: {count}
{extra_pool}
"#
    )
}

#[test]
fn a_rate_curve_far_above_its_rate_stops_at_the_event_budget() {
    // A one-nanosecond step of 10⁹ req/s (the highest rate allowed) in a
    // curve of 10⁻⁹ req/s: the thinning bound of its window is 10⁹, the
    // rate almost never. Without a budget on rejected draws this spins
    // forever making no event.
    let yaml = scenario(
        "1h",
        "{ steps: [ { at: 0s, rate: 0.000000001 }, { at: 5s, rate: 1000000000 }, { at: 5.000000001s, rate: 0.000000001 } ] }",
        2,
        "",
    )
    .replace("duration: 1h", "duration: 1h\nmax_events: 100000");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    let s = &r.summary;
    assert_eq!(s.stop_reason, StopReason::EventBudget);
    assert!(s.events + s.rejected_arrival_draws >= 100_000);
    assert!(s.rejected_arrival_draws > s.events);
    let text = human_summary(std::slice::from_ref(&r));
    assert!(
        text.contains("went to arrival candidates the rate curve rejected"),
        "{text}"
    );
}

#[test]
fn a_long_timeout_holds_what_is_in_flight_not_what_arrived() {
    // 200 req/s on four instances at half their cores, with a one-hour
    // client timeout: a few requests are in flight at any time, but 60,000
    // arrive within one timeout. Deadlines kept for every arrival until it
    // passes would spend a budget of 20,000 near 100 s; kept for what is in
    // flight, the run reaches its end.
    let yaml = scenario("5m", "{ constant: 200 }", 4, "    timeout: 1h")
        .replace("duration: 5m", "duration: 5m\nmax_requests_held: 20000");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    let s = &r.summary;
    assert_eq!(s.stop_reason, StopReason::EndTime, "stopped at {} s", s.simulated_s);
    assert_eq!(s.requests.timed_out, 0);
}

#[test]
fn a_valid_scenario_cannot_hold_unbounded_requests() {
    // A queue of four billion and a one-day timeout at 10× overload: every
    // request waits, and what is held grows with arrivals (4,000/s, 3,600/s
    // more than are served). Each waiting request is held twice — itself
    // and its deadline — so a budget of 200,000 stops the run once about
    // 100,000 wait, near 28 s, and it says why.
    let yaml = scenario(
        "1h",
        "{ constant: 4000 }",
        4,
        "    queue_capacity: 4000000000\n    timeout: 1d",
    )
    .replace("duration: 1h", "duration: 1h\nmax_requests_held: 200000");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    let s = &r.summary;
    assert_eq!(s.stop_reason, StopReason::RequestBudget);
    let held = s.requests.in_flight;
    println!("stopped at {} s holding {held} requests", s.simulated_s);
    // Checked every 65,536 events (about three per request here), so it
    // stops within ~22,000 arrivals of the budget.
    assert!((100_000..=115_000).contains(&held), "{held}");
    assert!(s.simulated_s < 35.0, "{}", s.simulated_s);
    let text = human_summary(std::slice::from_ref(&r));
    assert!(text.contains("more requests than `max_requests_held` allows"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&summary_json(std::slice::from_ref(&r))).unwrap();
    assert_eq!(json["stop_reason"], "request_budget");
    // The default budget is there without the field, and a scenario may
    // not set it beyond what request ids can name.
    let plain = common::spec(&scenario("1m", "{ constant: 10 }", 1, ""));
    assert_eq!(plain.max_requests_held, capsim::scenario::DEFAULT_MAX_REQUESTS_HELD);
    let err = scenario::load(
        &scenario("1m", "{ constant: 10 }", 1, "")
            .replace("duration: 1m", "duration: 1m\nmax_requests_held: 99999999999"),
        "x.yaml",
        Format::Yaml,
        &NoFiles,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("max_requests_held") && err.contains("between 1000 and"),
        "{err}"
    );
}

#[test]
fn time_series_are_bounded_by_intervals_times_series() {
    // A year of 1 s intervals is 31.5M rows: refused, with the interval
    // that fits; the same year at 30 s fits.
    let year = |interval: &str| {
        scenario::load(
            &scenario("365d", "{ constant: 10 }", 1, "")
                .replace("duration: 365d", &format!("duration: 365d\ninterval: {interval}")),
            "x.yaml",
            Format::Yaml,
            &NoFiles,
        )
    };
    let err = year("1s").err().unwrap().to_string();
    assert!(
        err.contains("interval") && err.contains("make the interval at least 28.383 s"),
        "{err}"
    );
    assert!(year("30s").is_ok());
}

#[test]
fn ten_times_overload_keeps_what_is_in_flight_bounded() {
    // 4 two-core instances (8 workers and a queue of 128 each) serve
    // 400 req/s of 20 ms requests; 4,000 arrive. The excess is refused at
    // the queues and counted; nothing accumulates.
    let yaml = scenario("10m", "{ constant: 4000 }", 4, "    timeout: 10s");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    let q = &r.summary.requests;
    assert!(q.conserved(), "{q:?}");
    let bound = 4 * (8 + 128);
    println!(
        "10× overload: {} arrived, {} completed, {} refused, {} in flight at the end (bound {bound}), {:.1} in the system on average",
        q.arrived, q.completed, q.rejected_queue_full, q.in_flight, r.summary.in_system_mean
    );
    assert!(q.in_flight <= bound, "{}", q.in_flight);
    assert!(r.summary.in_system_mean <= bound as f64);
    assert!(q.rejected_queue_full as f64 > 0.85 * q.arrived as f64);
    let served = q.completed as f64 / 600.0;
    assert!((served - 400.0).abs() < 20.0, "{served}");
}

#[test]
fn extreme_but_valid_values_run() {
    // One request a million seconds, for a year, in hourly intervals.
    let yaml =
        scenario("365d", "{ constant: 0.000001 }", 2, "").replace("duration: 365d", "duration: 365d\ninterval: 1h");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    assert_eq!(r.summary.stop_reason, StopReason::EndTime);
    assert!(r.summary.requests.arrived < 100);
    assert_eq!(r.rows.len(), 365 * 24);
    let json: serde_json::Value = serde_json::from_str(&summary_json(std::slice::from_ref(&r))).expect("valid JSON");
    assert!(json["latency"].is_object());
    // Ten thousand instances.
    let yaml = scenario("10s", "{ constant: 20000 }", 10_000, "");
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    assert!(r.summary.requests.conserved());
    assert_eq!(r.summary.pools[0].instances_peak, 10_000);
}

fn problems(yaml: &str) -> String {
    match scenario::load(yaml, "edge.yaml", Format::Yaml, &NoFiles) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn values_beyond_the_model_are_refused_with_the_range() {
    let base = scenario("1m", "{ constant: 10 }", 2, "");
    let msg = problems(&base.replace("exponential: { mean: 20ms }", "exponential: { mean: 0.0000000000001s }"));
    assert!(
        msg.contains("traffic.classes[0].cpu.exponential.mean: must be between 1ns (the clock's resolution) and 1e9s"),
        "{msg}"
    );
    let msg = problems(&base.replace("exponential: { mean: 20ms }", "gamma: { mean: 20ms, cv: 0.0000001 }"));
    assert!(
        msg.contains("traffic.classes[0].cpu.gamma.cv: must be between 0.001 and 100"),
        "{msg}"
    );
    let msg = problems(&base.replace("exponential: { mean: 20ms }", "constant: 100000000000s"));
    assert!(
        msg.contains("traffic.classes[0].cpu.constant: must be at most 1e9s"),
        "{msg}"
    );
    let msg = problems(&base.replace(
        "{ constant: 10 }",
        "{ product: [ { constant: 10 }, { noise: { sd: 0.1, interval: 1ns } } ] }",
    ));
    assert!(msg.contains("noise.interval: must be at least 1ms"), "{msg}");
    let msg = problems(&base.replace("duration: 1m", "duration: 100000d"));
    assert!(msg.contains("duration: must be at most 3650d"), "{msg}");
    let msg = problems(&base.replace("count: 2", "count: 1000000"));
    assert!(msg.contains("pools.web.count"), "{msg}");
}

#[test]
fn sizes_that_would_exhaust_memory_are_refused() {
    // Found by the fuzz test: both allocated per unit up front and aborted
    // the process (an allocation failure is not even a panic).
    let example = |name: &str| std::fs::read_to_string(format!("scenarios/{name}.yaml")).unwrap();
    let msg =
        problems(&example("aws-step-scaling").replacen("evaluation_periods: 2", "evaluation_periods: 4294967295", 1));
    assert!(
        msg.contains("evaluation_periods: times the period (60 s) must be at most one day (86400 s)"),
        "{msg}"
    );
    let msg = problems(&example("read-replicas").replace("appliers: 1", "appliers: 4294967295"));
    assert!(
        msg.contains("replication.appliers: must be between 1 and 1024"),
        "{msg}"
    );
}

#[test]
fn rates_beyond_the_clock_are_refused() {
    // 10³⁰⁸ req/s once burned the whole event budget at simulated time 0.
    let msg = problems(&scenario("1m", "{ constant: 1e308 }", 2, ""));
    assert!(
        msg.contains(
            "traffic.rate.constant: must be at most 1e9 req/s (one arrival per nanosecond, the clock's resolution), got 1e308"
        ),
        "{msg}"
    );
    // Pieces within the limit can combine beyond it.
    let msg = problems(&scenario(
        "1m",
        "{ product: [ { constant: 1000000000 }, { spike: { start: 10s, duration: 5s, multiplier: 2 } } ] }",
        2,
        "",
    ));
    assert!(
        msg.contains("traffic.rate: can reach 2e9 req/s (its pieces' highest values combined); at most 1e9 req/s"),
        "{msg}"
    );
    let msg = problems(&scenario(
        "1m",
        "{ ramp: { from: 0, to: 5e9, start: 0s, end: 1m } }",
        2,
        "",
    ));
    assert!(msg.contains("traffic.rate.ramp.to: must be at most 1e9 req/s"), "{msg}");
    assert!(
        scenario::parse_replay("0,2000000000\n")
            .unwrap_err()
            .contains("line 1: rate must be at most 1e9 req/s")
    );
}

#[test]
fn a_run_that_stops_at_once_prints_no_nan() {
    // One event, inside the warm-up: nothing completes, no interval is measured.
    let yaml = scenario("1h", "{ constant: 10 }", 2, "").replace(
        "duration: 1h",
        "duration: 1h\nwarmup: 30m\nmax_events: 1\nslo: { error_rate: 0.01 }",
    );
    let r = simulate(&common::spec(&yaml), 1, 0, &mut |_| {});
    assert_eq!(r.summary.stop_reason, StopReason::EventBudget);
    let results = [r];
    let text = human_summary(&results);
    for undefined in ["NaN", "inf"] {
        assert!(!text.contains(undefined), "{text}");
    }
    assert!(
        text.contains("latency:  mean n/a ms  p50 n/a  p90 n/a  p99 n/a  p99.9 n/a  max n/a ms"),
        "{text}"
    );
    assert!(text.contains(", n/a per million requests"), "{text}");
    assert!(text.contains("0 of 0 intervals (n/a% compliant)"), "{text}");
    // Undefined is null in JSON, never 0: a latency of nothing is not 0 ms.
    let json: serde_json::Value = serde_json::from_str(&summary_json(&results)).unwrap();
    let latency = &json["latency"];
    assert_eq!(latency["count"], 0);
    for field in ["mean_ms", "p50_ms", "p99_ms", "max_ms"] {
        assert!(latency[field].is_null(), "{field}: {latency}");
    }
    assert!(json["classes"][0]["latency"]["p99_ms"].is_null());
    assert!(json["cost"]["per_million_requests_usd"].is_null());
    assert!(json["slo"]["compliance"].is_null());
}

#[test]
fn a_run_whose_budget_would_end_before_its_first_interval_stops_early() {
    // At the highest rate allowed, 2 × 10⁹ events would last about 2 s of
    // simulated time and minutes of CPU, with no interval to report.
    let r = simulate(
        &common::spec(&scenario("1m", "{ constant: 1e9 }", 2, "")),
        1,
        0,
        &mut |_| {},
    );
    let s = &r.summary;
    assert_eq!(s.stop_reason, StopReason::Stalled);
    assert_eq!(s.events + s.rejected_arrival_draws, 1 << 24);
    assert!(s.simulated_s < 0.1, "{}", s.simulated_s);
    assert!(s.requests.conserved());
    let text = human_summary(std::slice::from_ref(&r));
    assert!(
        text.contains("stopped: stalled)\nwarning:  stopped early: ")
            && text.contains("would run out before the first 10 s interval ends"),
        "{text}"
    );
}
