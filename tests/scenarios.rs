//! Every example in scenarios/ validates and runs, and conserves requests.

use std::path::Path;

use capsim::cli::load_scenario;
use capsim::model::simulate;

#[test]
fn every_example_scenario_runs() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir("scenarios").unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "yaml" | "yml" | "json") {
            continue;
        }
        let scenario = match load_scenario(Path::new(&path)) {
            Ok(s) => s,
            Err(capsim::cli::LoadError::Invalid(e)) => panic!("{}: {e}", path.display()),
            Err(capsim::cli::LoadError::Io(e)) => panic!("{}: {e:#}", path.display()),
        };
        // Every example carries a sketch of its topology: a leading comment
        // in YAML, the `description` field in JSON (which has no comments).
        let text = std::fs::read_to_string(&path).unwrap();
        let sketched = if ext == "json" {
            text.contains("\"description\"")
        } else {
            text.starts_with('#')
        };
        assert!(
            sketched,
            "{}: examples start with a sketch of their topology",
            path.display()
        );
        let result = simulate(&scenario.spec, scenario.seed, 0, &mut |_| {});
        let r = &result.summary.requests;
        assert!(r.conserved(), "{}: {r:?}", path.display());
        assert!(r.completed > 0, "{}: nothing completed", path.display());
        assert!(!result.rows.is_empty());
        names.push(scenario.spec.name);
    }
    names.sort();
    for required in ["quickstart", "scale-up", "scale-out", "diurnal-day", "two-pools"] {
        assert!(
            names.iter().any(|n| n == required),
            "missing example {required}: have {names:?}"
        );
    }
}

#[test]
fn scale_up_and_scale_out_cost_the_same_and_share_traffic() {
    let up = load_scenario(Path::new("scenarios/scale-up.yaml")).ok().unwrap();
    let out = load_scenario(Path::new("scenarios/scale-out.yaml")).ok().unwrap();
    let a = simulate(&up.spec, up.seed, 0, &mut |_| {});
    let b = simulate(&out.spec, out.seed, 0, &mut |_| {});
    // Same seed, same traffic streams: the same requests arrive.
    assert_eq!(a.summary.requests.arrived, b.summary.requests.arrived);
    // Same price: they differ only by what the crashed instance did not
    // bill until its replacement was launched, 30 s later (one big one, or
    // one of eight; a booting instance bills).
    let hourly = 1.36;
    let gap_h = 30.0 / 3600.0;
    let diff = b.summary.cost.total_usd - a.summary.cost.total_usd;
    assert!((diff - hourly * gap_h * 7.0 / 8.0).abs() < 0.005, "{diff}");
    // One shared queue over 32 cores waits less than eight separate ones.
    assert!(a.summary.queueing.mean_ms < b.summary.queueing.mean_ms);
    // But one failure costs scale-up every request until the replacement
    // serves, and scale-out what the lost instance held plus its eighth of
    // the traffic (100 req/s) until the health check takes it out. The
    // crash at 1200 s is taken before the probe of the same instant (the
    // seeded run shows 499, not ~1,000), so the
    // probes at 1200 s and 1205 s fail and the instance is out at 1205 s:
    // 5 s, 500 tries (every eighth Poisson arrival: variance 500 / 8, SE
    // 7.9), plus the ~3 it held (100 req/s × ~30 ms). 503 ± 4 SE.
    let (fa, fb) = (&a.summary.faults[0], &b.summary.faults[0]);
    println!("scale-up: {fa:?}\nscale-out: {fb:?}");
    assert!(fa.errors_until_recovered > 60_000, "{fa:?}");
    assert!((470..=535).contains(&fb.errors_until_recovered), "{fb:?}");
    assert_eq!(b.summary.load_balancers[0].marked_down, 1);
}

#[test]
fn a_cold_fleet_rejects_until_the_first_instance_is_ready() {
    let s = load_scenario(Path::new("scenarios/launch-replay.yaml")).ok().unwrap();
    let r = simulate(&s.spec, s.seed, 0, &mut |_| {});
    assert!(r.summary.requests.rejected_no_instance > 0);
    let first_ready = r
        .events
        .iter()
        .find(|e| e.kind == capsim::metrics::EventKind::InstanceReady)
        .expect("instances become ready")
        .time;
    // Boot time is uniform on [45 s, 90 s].
    assert!((45.0..=90.0).contains(&first_ready.as_secs_f64()), "{first_ready}");
}

#[test]
fn slo_minutes_are_lost_only_during_the_flash_crowd() {
    let s = load_scenario(Path::new("scenarios/quickstart.yaml")).ok().unwrap();
    let r = simulate(&s.spec, s.seed, 0, &mut |_| {});
    let slo = r.summary.slo.as_ref().expect("quickstart declares an SLO");
    // 15 minutes less the 1-minute warm-up, in 10 s intervals.
    assert_eq!(slo.intervals, 84);
    assert!(slo.intervals_violated > 0 && slo.minutes_lost > 0.0);
    assert!((slo.minutes_lost - slo.intervals_violated as f64 * 10.0 / 60.0).abs() < 1e-9);
    // The spike runs from 6 to 8 minutes (plus a minute of decay): breaches stay near it.
    for row in &r.rows {
        if row.slo_violated == Some(true) {
            let t = row.start.as_secs_f64();
            assert!((360.0..600.0).contains(&t), "violation at {t} s");
        }
    }
}
