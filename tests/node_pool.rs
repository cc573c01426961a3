//! Pods that wait for nodes, nodes that are billed, and empty nodes removed.

mod common;

use capsim::cli::load_scenario;
use capsim::metrics::EventKind;
use capsim::model::simulate;
use std::path::Path;

#[test]
fn scale_up_waits_for_nodes_and_nodes_are_billed() {
    let s = load_scenario(Path::new("scenarios/hpa-node-pool.yaml")).ok().unwrap();
    let r = simulate(&s.spec, s.seed, 0, &mut |_| {});
    assert!(r.summary.requests.conserved());
    // Some pods waited for a node at least the shortest provisioning time (60 s).
    let waited: Vec<f64> = r.capacity.iter().map(|c| c.node_wait_s).filter(|w| *w > 0.0).collect();
    assert!(waited.iter().any(|w| *w >= 60.0), "{waited:?}");
    // Pending pods show in the time series while nodes are on their way.
    assert!(r.rows.iter().any(|row| row.pools[0].pods_pending > 0));
    // The bill is the nodes' (pods are priced at 0): 2 initial nodes plus the
    // launched ones, each from launch to removal, at $0.384/h, per second.
    let end = r.summary.simulated_s;
    let mut seconds = 0.0;
    let nodes = r.summary.pools[0].nodes.as_ref().unwrap();
    let launched: Vec<f64> = std::iter::repeat_n(0.0, nodes.initial as usize)
        .chain(
            r.events
                .iter()
                .filter(|e| e.kind == EventKind::NodeLaunched)
                .map(|e| e.time.as_secs_f64()),
        )
        .collect();
    for (i, start) in launched.iter().enumerate() {
        let stop = r
            .events
            .iter()
            .find(|e| e.kind == EventKind::NodeRemoved && e.instance == i as u32)
            .map_or(end, |e| e.time.as_secs_f64());
        seconds += (stop - start).ceil().max(60.0);
    }
    let expected = seconds * 0.384 / 3600.0;
    assert!(
        (r.summary.cost.total_usd - expected).abs() < 1e-9,
        "{} vs {expected}",
        r.summary.cost.total_usd
    );
}

#[test]
fn empty_nodes_go_after_the_delay_but_never_below_the_minimum() {
    let s = load_scenario(Path::new("scenarios/hpa-node-pool.yaml")).ok().unwrap();
    let r = simulate(&s.spec, s.seed, 0, &mut |_| {});
    let removals: Vec<f64> = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::NodeRemoved)
        .map(|e| e.time.as_secs_f64())
        .collect();
    assert!(!removals.is_empty());
    // Load drops at 50 minutes: no node can have been empty for 10 minutes before 60.
    assert!(removals.iter().all(|t| *t >= 3600.0), "{removals:?}");
    assert!(r.rows.iter().all(|row| row.pools[0].nodes >= 2));
}

#[test]
fn impossible_node_pools_are_refused() {
    let text = std::fs::read_to_string("scenarios/hpa-node-pool.yaml").unwrap();
    let load = |t: String| {
        capsim::scenario::load(&t, "n.yaml", capsim::scenario::Format::Yaml, &capsim::scenario::NoFiles)
            .unwrap_err()
            .to_string()
    };
    let e = load(text.replace("pods_per_node: 4", "pods_per_node: 5"));
    assert!(
        e.contains("pools.api.node_pool.pods_per_node: 5 pods of 2 cores need 10 vCPUs; a m6i.2xlarge has 8"),
        "{e}"
    );
    let e = load(text.replace("    count: 3\n", "    count: 9\n"));
    assert!(
        e.contains("pools.api.node_pool.count: 2 nodes of 4 pods cannot hold the pool's 9 warm pods"),
        "{e}"
    );
}
