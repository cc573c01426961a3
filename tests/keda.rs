//! KEDA's activation and cooldown to zero around the HPA it creates.

use std::path::Path;

use capsim::cli::load_scenario;
use capsim::model::simulate;

#[test]
fn activates_from_zero_and_returns_to_zero_after_the_cooldown() {
    let s = load_scenario(Path::new("scenarios/keda-scale-to-zero.yaml"))
        .ok()
        .unwrap();
    let r = simulate(&s.spec, s.seed, 0, &mut |_| {});
    assert!(r.summary.requests.conserved());
    let keda: Vec<(f64, &str, i64)> = r
        .scaler_rows
        .iter()
        .map(|row| (row.time.as_secs_f64(), row.reason, row.desired))
        .collect();
    // Traffic starts at 20 min; the pool rate sample covering it is visible by
    // the poll at 20:30, which activates one replica.
    assert_eq!(keda[0], (1230.0, "Activate", 1), "{keda:?}");
    // The last active poll is at 30:00; 5 minutes later, the first poll after
    // 35:00 takes the pool to zero in one step.
    assert_eq!(keda[1], (2130.0, "Deactivate", 0), "{keda:?}");
    // Before the first pod is ready, requests find no instance.
    assert!(r.summary.requests.rejected_no_instance > 0);
    // Between activation and cooldown the HPA scaled on the External metric.
    assert!(r.summary.pools[0].instances_peak >= 3);
    assert_eq!(r.rows.last().unwrap().pools[0].ready, 0);
}

#[test]
fn keda_settings_are_validated() {
    let text = std::fs::read_to_string("scenarios/keda-scale-to-zero.yaml").unwrap();
    let load = |t: String| {
        capsim::scenario::load(&t, "k.yaml", capsim::scenario::Format::Yaml, &capsim::scenario::NoFiles)
            .unwrap_err()
            .to_string()
    };
    let e = load(text.replace("target: 10,", "target: 0,"));
    assert!(
        e.contains("pools.reports.autoscaler.keda.trigger.target: must be > 0"),
        "{e}"
    );
    // A pool at zero needs something that scales it from zero.
    let e = load(text.replace("min_replica_count: 0", "min_replica_count: 1"));
    assert!(e.contains("pools.reports.count: must be ≥ 1"), "{e}");
}
