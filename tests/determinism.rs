//! Same scenario + seed ⇒ byte-identical outputs, whatever the thread count.

mod common;

use capsim::model::simulate;
use capsim::report::{data_csv, events_csv, summary_json, timeseries_csv};
use capsim::sweep::replicate;

fn quickstart() -> capsim::model::SystemSpec {
    common::spec(&std::fs::read_to_string("scenarios/quickstart.yaml").unwrap())
}

#[test]
fn same_seed_gives_identical_bytes() {
    let spec = quickstart();
    let a = simulate(&spec, 42, 0, &mut |_| {});
    let b = simulate(&spec, 42, 0, &mut |_| {});
    assert_eq!(
        summary_json(std::slice::from_ref(&a)),
        summary_json(std::slice::from_ref(&b))
    );
    assert_eq!(timeseries_csv(&a), timeseries_csv(&b));
    assert_eq!(events_csv(&a), events_csv(&b));
}

#[test]
fn different_seeds_give_different_runs() {
    let spec = quickstart();
    let a = simulate(&spec, 42, 0, &mut |_| {});
    let b = simulate(&spec, 43, 0, &mut |_| {});
    assert_ne!(timeseries_csv(&a), timeseries_csv(&b));
    assert_ne!(a.summary.requests.arrived, b.summary.requests.arrived);
    // Replications of one seed are independent runs too.
    let c = simulate(&spec, 42, 1, &mut |_| {});
    assert_ne!(timeseries_csv(&a), timeseries_csv(&c));
}

#[test]
fn thread_count_never_changes_results() {
    let spec = quickstart();
    let run_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| replicate(&spec, 42, 6))
    };
    let one = run_with(1);
    let many = run_with(4);
    assert_eq!(summary_json(&one), summary_json(&many));
    for (a, b) in one.iter().zip(&many) {
        assert_eq!(timeseries_csv(a), timeseries_csv(b));
    }
}

#[test]
fn the_data_tier_is_deterministic_at_any_thread_count() {
    // Scale-out with per-pod caches: instances, caches, replicas and
    // connection pools all in play; then a queue whose consumers KEDA
    // scales, with failed attempts and retries.
    for file in ["scenarios/cache-local.yaml", "scenarios/photo-upload.yaml"] {
        let spec = common::spec(&std::fs::read_to_string(file).unwrap());
        let run_with = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| replicate(&spec, 42, 2))
        };
        let one = run_with(1);
        let many = run_with(2);
        assert_eq!(summary_json(&one), summary_json(&many), "{file}");
        for (a, b) in one.iter().zip(&many) {
            assert!(data_csv(a).is_some());
            assert_eq!(data_csv(a), data_csv(b), "{file}");
            assert_eq!(timeseries_csv(a), timeseries_csv(b), "{file}");
        }
        assert_ne!(data_csv(&one[0]), data_csv(&one[1]), "{file}");
    }
}

#[test]
fn the_cdn_is_deterministic_at_any_thread_count() {
    // Edge hits, collapsed misses, the shield and purges: the first five
    // minutes of the example, spike included.
    let text = std::fs::read_to_string("scenarios/cdn.yaml").unwrap();
    let spec = common::spec(
        &text
            .replace("duration: 20m", "duration: 5m")
            .replace("start: 8m", "start: 3m"),
    );
    let run_with = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| replicate(&spec, 42, 2))
    };
    let one = run_with(1);
    let many = run_with(2);
    assert_eq!(summary_json(&one), summary_json(&many));
    for (a, b) in one.iter().zip(&many) {
        assert_eq!(data_csv(a), data_csv(b));
        assert_eq!(timeseries_csv(a), timeseries_csv(b));
    }
    assert_ne!(data_csv(&one[0]), data_csv(&one[1]));
}

#[test]
fn a_new_load_balancer_does_not_shift_other_streams() {
    // Streams are named by purpose: adding an unused random load balancer
    // must not change what the traffic or the service draw.
    let base = std::fs::read_to_string("scenarios/quickstart.yaml").unwrap();
    let extra = base.replace(
        "load_balancers:\n",
        "load_balancers:\n  spare:\n    policy: random\n    pool: web\n",
    );
    assert_ne!(base, extra);
    let a = simulate(&common::spec(&base), 42, 0, &mut |_| {});
    let b = simulate(&common::spec(&extra), 42, 0, &mut |_| {});
    assert_eq!(timeseries_csv(&a), timeseries_csv(&b));
}
