//! Deploys: a rolling update keeps within maxSurge above and maxUnavailable
//! below the desired size and replaces every instance; a blue-green deploy
//! doubles the fleet until the switch and loses nothing; new instances'
//! start-up CPU makes an HPA scale up during a rollout it would otherwise
//! ride through.

mod common;

use capsim::metrics::DeploySummary;
use capsim::model::{RunResult, simulate};

fn pool(deploy: &str) -> String {
    format!(
        r#"
name: deploys
duration: 6m
interval: 5s
traffic:
  rate: {{ constant: 200 }}
  classes:
    - name: a
      cpu: {{ constant: 20ms }}
  target: lb
load_balancers:
  lb: {{ pool: web }}
pools:
  web:
    instance_type: c6i.large
    count: 8
    boot_time: {{ constant: 20s }}
    readiness_delay: 5s
deploys:
  - {{ at: 60s, pool: web, {deploy} }}
"#
    )
}

fn run(yaml: &str) -> RunResult {
    let r = simulate(&common::spec(yaml), 3, 0, &mut |_| {});
    assert!(r.summary.requests.conserved(), "{:?}", r.summary.requests);
    r
}

fn deploy(r: &RunResult) -> &DeploySummary {
    &r.summary.deploys[0]
}

/// Most booting + ready, and fewest ready, at any interval's end after the deploy.
fn bounds(r: &RunResult) -> (u32, u32) {
    let rows = r.rows.iter().filter(|row| row.start.as_secs_f64() >= 60.0);
    rows.fold((0, u32::MAX), |(hi, lo), row| {
        let p = &row.pools[0];
        (hi.max(p.booting + p.ready), lo.min(p.ready))
    })
}

#[test]
fn a_rolling_update_stays_within_surge_and_unavailability() {
    // Kubernetes' defaults at 8 replicas: 2 above, 2 below.
    let r = run(&pool("rolling: {}"));
    let d = deploy(&r);
    println!("{d:?} bounds {:?}", bounds(&r));
    assert_eq!(d.strategy, "rolling");
    let (hi, lo) = bounds(&r);
    assert!(hi <= 10, "{hi}");
    assert_eq!(d.ready_min, 6);
    // Two waves of four (2 surge + 2 unavailable), 25 s each.
    assert_eq!(d.duration_s, Some(50.0));
    assert!(lo >= 6);
    assert_eq!(d.errors, 0);
    // Every instance was replaced: 8 launched by the deploy, 8 still up.
    let launched = r
        .events
        .iter()
        .filter(|e| e.kind == capsim::metrics::EventKind::InstanceLaunched && e.time.as_secs_f64() >= 60.0)
        .count();
    assert_eq!(launched, 8);
    assert_eq!(r.rows.last().unwrap().pools[0].ready, 8);
}

#[test]
fn no_surge_replaces_one_at_a_time_below_the_desired_size() {
    let r = run(&pool("rolling: { max_surge: 0, max_unavailable: 1 }"));
    let d = deploy(&r);
    let (hi, _) = bounds(&r);
    assert!(hi <= 8, "{hi}");
    assert_eq!(d.ready_min, 7);
    // Eight replacements one after another, 25 s each.
    assert_eq!(d.duration_s, Some(200.0));
}

#[test]
fn blue_green_doubles_the_fleet_until_the_switch() {
    let r = run(&pool("blue_green: { scale_down_delay: 30s }"));
    let d = deploy(&r);
    println!("{d:?}");
    assert_eq!(d.strategy, "blue_green");
    assert_eq!(d.switched_after_s, Some(25.0));
    assert_eq!(d.duration_s, Some(55.0));
    assert_eq!(d.instances_peak, 16);
    assert_eq!(d.ready_min, 8);
    assert_eq!(d.errors, 0);
    // The new set served nothing before the switch: the pool's CPU stayed
    // that of 8 instances while 16 ran... and the cost shows the doubling.
    let before = r.rows.iter().find(|row| row.start.as_secs_f64() == 80.0).unwrap();
    assert_eq!(before.pools[0].ready, 16);
}

/// An HPA at 60% CPU over 6 instances running at 50%; new instances burn
/// `startup` cores for 2 minutes once ready.
fn hpa(startup: &str) -> RunResult {
    run(&format!(
        r#"
name: deploy-hpa
duration: 12m
interval: 15s
traffic:
  rate: {{ constant: 300 }}
  classes:
    - name: a
      cpu: {{ constant: 20ms }}
  target: lb
load_balancers:
  lb: {{ pool: web }}
pools:
  web:
    instance_type: c6i.large
    count: 6
    boot_time: {{ constant: 20s }}
    readiness_delay: 5s
{startup}
    autoscaler:
      hpa:
        min_replicas: 2
        max_replicas: 20
        metrics: [{{ resource: {{ name: cpu, target: {{ average_utilization: 60 }} }} }}]
        behavior: {{}}
deploys:
  - {{ at: 3m, pool: web, rolling: {{ max_surge: 50%, max_unavailable: 0 }} }}
"#
    ))
}

#[test]
fn start_up_cpu_makes_the_hpa_scale_up_during_a_rollout() {
    let plain = hpa("");
    let warm = hpa("    startup_cpu: { cores: 1, for: 2m }");
    let (p, w) = (deploy(&plain), deploy(&warm));
    println!("without start-up CPU: {p:?}\nwith: {w:?}");
    assert_eq!(p.desired_before, 6);
    assert_eq!(p.desired_peak, 6, "the HPA rides a plain rollout through");
    assert!(w.desired_peak > 6, "start-up CPU inflates the replicas: {w:?}");
    // The extra instances are paid for.
    let peak = |r: &RunResult| r.summary.pools[0].instances_peak;
    assert!(peak(&warm) > peak(&plain) + 2, "{} vs {}", peak(&warm), peak(&plain));
    assert!(warm.summary.cost.total_usd > plain.summary.cost.total_usd);
}
