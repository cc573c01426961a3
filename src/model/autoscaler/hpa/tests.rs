//! The HPA against the Kubernetes controller's own cases (replica_calculator_test.go,
//! horizontal_test.go), the worked examples of shared/spec/autoscalers.md (E1–E12),
//! and one test per rule and edge of the spec.

use super::*;

fn t(secs: u64) -> SimTime {
    SimTime::from_secs(secs)
}

fn s(secs: u64) -> SimDuration {
    SimDuration::from_secs(secs)
}

/// The constants of the Kubernetes unit tests: CPU initialization 2 min, readiness delay 10 s.
fn test_cfg() -> ControllerConfig {
    ControllerConfig {
        cpu_initialization_period: s(120),
        initial_readiness_delay: s(10),
        ..ControllerConfig::DEFAULT
    }
}

const NOW: u64 = 36_000;

fn rec(replicas: i32, at: u64) -> Recommendation {
    Recommendation { replicas, at: t(at) }
}

/// A running pod, ready for an hour, started long ago.
fn pod(request: i64) -> Pod {
    Pod {
        phase: PodPhase::Running,
        deleting: false,
        ready: Some(ReadyCondition {
            ready: true,
            last_transition: t(0),
        }),
        start_time: Some(t(0)),
        request_milli: request,
    }
}

fn sample(value: i64) -> Option<Sample> {
    Some(Sample {
        value_milli: value,
        timestamp: t(NOW),
        window: s(60),
    })
}

fn resource(current: i32, target: i32, pods: &[Pod], samples: &[Option<Sample>]) -> Result<Proposal, MetricError> {
    let m = PodMetrics {
        pods,
        samples,
        cpu: true,
    };
    resource_replicas(current, target, &m, Tolerances::DEFAULT, t(NOW), &test_cfg())
}

#[test]
fn e1_scale_up() {
    let pods = [pod(1000); 3];
    let p = resource(3, 30, &pods, &[sample(300), sample(500), sample(700)]).unwrap();
    assert_eq!((p.current, p.replicas), (50, 5));
}

#[test]
fn e2_scale_down() {
    let pods = [pod(1000); 5];
    let p = resource(
        5,
        50,
        &pods,
        &[sample(100), sample(300), sample(500), sample(250), sample(250)],
    )
    .unwrap();
    assert_eq!((p.current, p.replicas), (28, 3));
}

#[test]
fn e3_inside_tolerance() {
    let pods = [pod(900), pod(1000), pod(1100)];
    let p = resource(3, 100, &pods, &[sample(1010), sample(1030), sample(1020)]).unwrap();
    assert_eq!((p.current, p.replicas), (102, 3));
}

#[test]
fn e4_missing_metrics_count_as_full_on_scale_down() {
    let pods = [pod(1000); 4];
    let p = resource(4, 100, &pods, &[sample(400), sample(95), None, None]).unwrap();
    // Ready: 495/2000 = 24%; filled: 2495/4000 = 62% → ceil(0.62 × 4) = 3.
    assert_eq!((p.current, p.replicas), (24, 3));
}

#[test]
fn float_order_matches_the_controller() {
    // 70 / 30 = 2.3333333333333335; × 27 = 63.00000000000001 → 64 (exact math says 63).
    let pods = vec![pod(1000); 27];
    let samples = vec![sample(700); 27];
    assert_eq!(resource(27, 30, &pods, &samples).unwrap().replicas, 64);
    // 40 / 30 × 3 rounds to exactly 4.0.
    let pods = [pod(1000); 3];
    assert_eq!(resource(3, 30, &pods, &[sample(400); 3]).unwrap().replicas, 4);
}

#[test]
fn tolerance_bounds_are_inclusive() {
    let pods = [pod(1000); 10];
    // 110% against 100%: ratio exactly 1.1 → no change.
    assert_eq!(resource(10, 100, &pods, &[sample(1100); 10]).unwrap().replicas, 10);
    // 90%: ratio exactly 0.9 → no change.
    assert_eq!(resource(10, 100, &pods, &[sample(900); 10]).unwrap().replicas, 10);
    // 111% → ceil(1.11 × 10) = 12; 89% → ceil(0.89 × 10) = 9.
    assert_eq!(resource(10, 100, &pods, &[sample(1110); 10]).unwrap().replicas, 12);
    assert_eq!(resource(10, 100, &pods, &[sample(890); 10]).unwrap().replicas, 9);
}

#[test]
fn per_direction_tolerance() {
    let pods = [pod(1000); 10];
    let m_up = [sample(1080); 10];
    let m = PodMetrics {
        pods: &pods,
        samples: &m_up,
        cpu: true,
    };
    let tight = Tolerances { up: 0.05, down: 0.1 };
    assert_eq!(
        resource_replicas(10, 100, &m, Tolerances::DEFAULT, t(NOW), &test_cfg())
            .unwrap()
            .replicas,
        10
    );
    assert_eq!(
        resource_replicas(10, 100, &m, tight, t(NOW), &test_cfg())
            .unwrap()
            .replicas,
        11
    );
}

#[test]
fn utilization_is_a_truncated_ratio_of_sums() {
    // 1999 m of 3000 m requested = 66.63% → 66, not a mean of per-pod ratios.
    let pods = [pod(1000), pod(1000), pod(1000)];
    let p = resource(3, 66, &pods, &[sample(1000), sample(999), sample(0)]).unwrap();
    assert_eq!(p.current, 66);
    assert_eq!(p.replicas, 3);
}

#[test]
fn unready_pods_count_as_zero_on_scale_up() {
    // TestReplicaCalcScaleUpUnreadyLessScale: the unready pod is left out, then counted at 0.
    let mut pods = [pod(1000); 3];
    pods[0].ready = Some(ReadyCondition {
        ready: false,
        last_transition: t(NOW - 30),
    });
    pods[0].start_time = Some(t(NOW - 60));
    let p = resource(3, 30, &pods, &[sample(300), sample(500), sample(700)]).unwrap();
    // Ready: 1200/2000 = 60% (reported); rebalanced (0+500+700)/3000 = 40% → ceil(4/3 × 3) = 4.
    assert_eq!((p.current, p.replicas), (60, 4));
}

#[test]
fn unready_pods_are_dropped_on_scale_down() {
    let mut pods = [pod(1000); 3];
    pods[2].phase = PodPhase::Pending;
    let p = resource(3, 50, &pods, &[sample(100), sample(100), None]).unwrap();
    // Only the two ready pods: 10% → ceil(0.2 × 2) = 1.
    assert_eq!(p.replicas, 1);
}

#[test]
fn missing_pods_count_as_zero_on_scale_up() {
    let pods = [pod(1000); 4];
    let p = resource(4, 50, &pods, &[sample(1000), sample(1000), None, None]).unwrap();
    // Ready 100% → ratio 2; filled 2000/4000 = 50% → ratio 1 → inside tolerance → keep 4.
    assert_eq!(p.replicas, 4);
    let p = resource(4, 50, &pods, &[sample(1000), sample(1000), sample(1000), None]).unwrap();
    // Filled 3000/4000 = 75% → ceil(1.5 × 4) = 6.
    assert_eq!(p.replicas, 6);
    // Where the zeros decide: 10 ready at 60% (ratio 1.2, which alone
    // would give ceil(12) = 12), one missing: 6000/11000 = 54% → 1.08,
    // inside the tolerance → keep 11.
    let pods = [pod(1000); 11];
    let mut samples = [sample(600); 11];
    samples[10] = None;
    assert_eq!(resource(11, 50, &pods, &samples).unwrap().replicas, 11);
}

#[test]
fn a_fill_in_never_moves_against_its_direction() {
    // The scale's count (10) can exceed the pods that exist (4). 3 ready at
    // 80% of target 50 → 1.6; the missing pod at 0 → 2400/4000 = 60% → 1.2
    // → ceil(1.2 × 4) = 5: a scale-up that would shrink the scale, so the
    // controller keeps 10.
    let pods = [pod(1000); 4];
    let samples = [sample(800), sample(800), sample(800), None];
    assert_eq!(resource(10, 50, &pods, &samples).unwrap().replicas, 10);
    // And the other way: 1 ready at 20% of target 100 → 0.2, the two
    // missing at 100% → 2200/3000 = 73% → ceil(0.73 × 3) = 3, a scale-down
    // that would grow the scale of 2: keep 2.
    let pods = [pod(1000); 3];
    assert_eq!(resource(2, 100, &pods, &[sample(200), None, None]).unwrap().replicas, 2);
}

#[test]
fn a_resource_ratio_of_exactly_one_fills_in_nothing() {
    // GetResourceReplicas fills missing pods only when usageRatio < 1.0 or
    // > 1.0, and counts unready pods only when it is > 1.0: at exactly 1.0
    // the ratio stands and the current count is kept.
    let pods = [pod(1000); 3];
    // Filling the missing pod at 100% would give 2000/3000 = 66% → 4.
    assert_eq!(
        resource(3, 50, &pods, &[sample(500), sample(500), None])
            .unwrap()
            .replicas,
        3
    );
    let mut pods = [pod(1000); 4];
    for p in &mut pods[2..] {
        p.ready = Some(ReadyCondition {
            ready: false,
            last_transition: t(NOW - 30),
        });
        p.start_time = Some(t(NOW - 60));
    }
    // Counting the unready pods at 0 would give 1000/4000 = 25% → 2.
    let samples = [sample(500), sample(500), sample(0), sample(0)];
    assert_eq!(resource(4, 50, &pods, &samples).unwrap().replicas, 4);
}

#[test]
fn missing_pods_fill_max_of_100_and_target_on_scale_down() {
    // Target 200%: a missing pod is assumed at 200% of its request, not 100%.
    let pods = [pod(1000); 2];
    let p = resource(2, 200, &pods, &[sample(1000), None]).unwrap();
    // Ready 100% → ratio 0.5; filled (1000 + 2000)/2000 = 150% → 0.75 → ceil(1.5) = 2.
    assert_eq!(p.replicas, 2);
}

#[test]
fn fill_in_that_reverses_direction_keeps_current() {
    // Ratio < 1 before, but the missing pods filled at 100% push it above 1.
    let pods = [pod(1000); 3];
    let p = resource(3, 40, &pods, &[sample(300), None, None]).unwrap();
    // Ready 30% → 0.75; filled 2300/3000 = 76% → 1.9 > 1: direction flips → keep 3.
    assert_eq!(p.replicas, 3);
}

#[test]
fn cpu_initialization_period_and_readiness_delay() {
    let cfg = test_cfg();
    // Started 60 s ago (inside the 2 min period), ready 20 s ago, sample window 60 s:
    // no full window since it became ready → unready.
    let mut young = pod(1000);
    young.start_time = Some(t(NOW - 60));
    young.ready = Some(ReadyCondition {
        ready: true,
        last_transition: t(NOW - 20),
    });
    let samples = [sample(900), sample(900)];
    let m = PodMetrics {
        pods: &[pod(1000), young],
        samples: &samples,
        cpu: true,
    };
    assert_eq!(group_pods(&m, t(NOW), &cfg), [Group::Ready, Group::Unready]);
    // A full window since readiness: counted.
    young.ready = Some(ReadyCondition {
        ready: true,
        last_transition: t(NOW - 61),
    });
    let m = PodMetrics {
        pods: &[pod(1000), young],
        samples: &samples,
        cpu: true,
    };
    assert_eq!(group_pods(&m, t(NOW), &cfg), [Group::Ready, Group::Ready]);
    // Past the initialization period, unready and it turned unready within the
    // readiness delay of starting (never became ready): unready.
    let mut never = pod(1000);
    never.start_time = Some(t(NOW - 600));
    never.ready = Some(ReadyCondition {
        ready: false,
        last_transition: t(NOW - 595),
    });
    let m = PodMetrics {
        pods: &[never],
        samples: &samples[..1],
        cpu: true,
    };
    assert_eq!(group_pods(&m, t(NOW), &cfg), [Group::Unready]);
    // Turned unready long after starting: its sample still counts.
    never.ready = Some(ReadyCondition {
        ready: false,
        last_transition: t(NOW - 60),
    });
    let m = PodMetrics {
        pods: &[never],
        samples: &samples[..1],
        cpu: true,
    };
    assert_eq!(group_pods(&m, t(NOW), &cfg), [Group::Ready]);
    // Memory and custom metrics never look at readiness.
    never.ready = Some(ReadyCondition {
        ready: false,
        last_transition: t(NOW - 595),
    });
    let m = PodMetrics {
        pods: &[never],
        samples: &samples[..1],
        cpu: false,
    };
    assert_eq!(group_pods(&m, t(NOW), &cfg), [Group::Ready]);
    // No Ready condition or start time: unready for CPU.
    let mut bare = pod(1000);
    bare.ready = None;
    let m = PodMetrics {
        pods: &[bare],
        samples: &samples[..1],
        cpu: true,
    };
    assert_eq!(group_pods(&m, t(NOW), &cfg), [Group::Unready]);
}

#[test]
fn deleting_and_failed_pods_are_ignored() {
    let mut pods = [pod(1000); 3];
    pods[0].deleting = true;
    pods[1].phase = PodPhase::Failed;
    let p = resource(3, 50, &pods, &[sample(1000), sample(1000), sample(500)]).unwrap();
    // Only pod 2 counts: 50% → inside tolerance → 3.
    assert_eq!((p.current, p.replicas), (50, 3));
}

#[test]
fn no_metrics_is_an_error() {
    let mut pods = [pod(1000); 2];
    pods[0].phase = PodPhase::Pending;
    assert_eq!(resource(2, 50, &pods, &[None, None]), Err(MetricError::NoMetrics));
    assert_eq!(resource(0, 50, &[], &[]), Err(MetricError::NoPods));
}

#[test]
fn plain_metric_average_value() {
    let pods = [pod(1000); 3];
    let samples = [sample(10_000), sample(12_000), sample(14_000)];
    let m = PodMetrics {
        pods: &pods,
        samples: &samples,
        cpu: false,
    };
    let p = plain_replicas(3, 10_000, &m, Tolerances::DEFAULT, t(NOW), &test_cfg()).unwrap();
    // Average 12 → ratio 1.2 → ceil(3.5999999999999996) = 4.
    assert_eq!((p.current, p.replicas), (12_000, 4));
    // Missing pods on scale-down count as exactly at target.
    let samples = [sample(2_000), None, None];
    let m = PodMetrics {
        pods: &pods,
        samples: &samples,
        cpu: false,
    };
    let p = plain_replicas(3, 10_000, &m, Tolerances::DEFAULT, t(NOW), &test_cfg()).unwrap();
    // (2 + 10 + 10) / 3 = 7.333 (integer 7333) → 0.7333 → ceil(2.2) = 3 → no change.
    assert_eq!(p.replicas, 3);
}

#[test]
fn plain_metric_with_missing_pods_at_a_ratio_of_exactly_one_keeps_current() {
    // replica_calculator.go, calcPlainMetricReplicas: missing pods are filled
    // with the target only when usageRatio < 1.0 and with 0 only when it is
    // > 1.0; at exactly 1.0 nothing is filled, the ratio stays 1 and the
    // current count is kept. (Filling with 0 would give 3 here.)
    let pods = [pod(1000); 5];
    let samples = [sample(9_000), sample(10_000), sample(11_000), None, None];
    let m = PodMetrics {
        pods: &pods,
        samples: &samples,
        cpu: false,
    };
    let p = plain_replicas(5, 10_000, &m, Tolerances::DEFAULT, t(NOW), &test_cfg()).unwrap();
    assert_eq!((p.current, p.ratio, p.replicas), (10_000, 1.0, 5));
    // Just above 1 (outside the tolerance), the missing pods count as zero:
    // 3 × 12 / 5 = 7.2 → 0.72 flips the direction → keep 5.
    let samples = [sample(12_000), sample(12_000), sample(12_000), None, None];
    let m = PodMetrics {
        pods: &pods,
        samples: &samples,
        cpu: false,
    };
    assert_eq!(
        plain_replicas(5, 10_000, &m, Tolerances::DEFAULT, t(NOW), &test_cfg())
            .unwrap()
            .replicas,
        5
    );
}

#[test]
fn e12_object_and_external_metrics() {
    // Value target 5, 3 ready replicas, metric 20 → ceil(4 × 3) = 12.
    assert_eq!(
        object_value_replicas(3, 20_000, 5_000, 3, Tolerances::DEFAULT)
            .unwrap()
            .replicas,
        12
    );
    // AverageValue target 5, queue 20 → 4, whatever the current count.
    for current in [1, 2, 9] {
        let p = object_average_replicas(current, 20_000, 5_000, Tolerances::DEFAULT).unwrap();
        assert_eq!(p.replicas, 4, "current {current}");
    }
    // Inside the tolerance: 20 against 5 × 4 pods = ratio 1.
    assert_eq!(
        object_average_replicas(4, 20_000, 5_000, Tolerances::DEFAULT)
            .unwrap()
            .replicas,
        4
    );
    // GetObjectPerPodMetricReplicas / GetExternalPerPodMetricReplicas return
    // statusReplicas inside the tolerance, whatever the spec says: 4 pods
    // running (spec 6, two still being created) at 21 against 5 each →
    // ratio 1.05 → 4.
    assert_eq!(
        object_average_replicas(4, 21_000, 5_000, Tolerances::DEFAULT)
            .unwrap()
            .replicas,
        4
    );
    // From zero: ceil(ratio), no tolerance.
    assert_eq!(
        object_value_replicas(0, 1_050, 1_000, 0, Tolerances::DEFAULT)
            .unwrap()
            .replicas,
        2
    );
}

#[test]
fn combining_metrics() {
    let ok = |r| {
        Ok(Proposal {
            replicas: r,
            current: 0,
            ratio: 1.0,
        })
    };
    assert_eq!(combine(&[ok(3), ok(7), ok(5)], 4), Some(7));
    assert_eq!(
        combine(&[Err(MetricError::NoMetrics), Err(MetricError::NoMetrics)], 4),
        None
    );
    // Some invalid and the rest would scale down: no scaling (TestNoScaleDownOneMetricInvalid).
    assert_eq!(combine(&[ok(2), Err(MetricError::NoMetrics)], 4), None);
    // Some invalid but the rest scale up or hold: proceed (TestScaleUpOneMetricEmpty).
    assert_eq!(combine(&[ok(6), Err(MetricError::NoMetrics)], 4), Some(6));
    assert_eq!(combine(&[ok(4), Err(MetricError::NoMetrics)], 4), Some(4));
}

fn spec(min: i32, max: i32, behavior: Option<Behavior>) -> HpaSpec {
    HpaSpec {
        min_replicas: min,
        max_replicas: max,
        behavior,
        controller: ControllerConfig::DEFAULT,
    }
}

fn default_behavior() -> Behavior {
    Behavior {
        scale_up: ScalingRules::default_scale_up(),
        scale_down: ScalingRules::default_scale_down(&ControllerConfig::DEFAULT),
    }
}

fn proposing(r: i32) -> impl FnOnce() -> Vec<Result<Proposal, MetricError>> {
    move || {
        vec![Ok(Proposal {
            replicas: r,
            current: 0,
            ratio: 1.0,
        })]
    }
}

/// Runs one reconcile per 15 s tick from `start`, applying each decision.
fn ticks(hpa: &mut Hpa, mut current: i32, raw: i32, start: u64, n: usize) -> Vec<i32> {
    (0..n)
        .map(|k| {
            let d = hpa.reconcile(t(start + 15 * k as u64), current, proposing(raw));
            current = d.desired;
            current
        })
        .collect()
}

#[test]
fn e5_default_scale_up_policy() {
    let mut hpa = Hpa::new(spec(1, 1000, Some(default_behavior())));
    let d = hpa.reconcile(t(NOW), 10, proposing(50));
    assert_eq!((d.desired, d.reason), (20, Reason::ScaleUpLimit));
}

#[test]
fn e6_scale_down_policies_with_max() {
    let mut b = default_behavior();
    b.scale_down = ScalingRules {
        stabilization_window: s(0),
        select_policy: SelectPolicy::Max,
        policies: vec![
            Policy::Pods {
                value: 2,
                period: s(60),
            },
            Policy::Percent {
                value: 1,
                period: s(60),
            },
        ],
        tolerance: None,
    };
    let mut hpa = Hpa::new(spec(1, 1000, Some(b)));
    let d = hpa.reconcile(t(NOW), 100, proposing(2));
    assert_eq!((d.desired, d.reason), (98, Reason::ScaleDownLimit));
}

#[test]
fn e7_e8_stabilization_windows() {
    let mut b = default_behavior();
    b.scale_up.stabilization_window = s(0);
    b.scale_down.stabilization_window = s(180);
    let mut hpa = Hpa::with_history(
        spec(1, 1000, Some(b)),
        vec![rec(4, NOW - 120), rec(5, NOW - 60)],
        vec![],
        vec![],
    );
    let d = hpa.reconcile(t(NOW), 100, proposing(3));
    assert_eq!((d.stabilized, d.desired), (Some(5), 5));

    let mut b = default_behavior();
    b.scale_up.stabilization_window = s(300);
    b.scale_down.stabilization_window = s(300);
    let mut hpa = Hpa::with_history(
        spec(1, 1000, Some(b)),
        vec![rec(2, NOW - 6000), rec(3, NOW - 180)],
        vec![],
        vec![],
    );
    let d = hpa.reconcile(t(NOW), 2, proposing(1));
    assert_eq!((d.stabilized, d.desired), (Some(2), 2));
}

#[test]
fn e9_scale_down_budget_slides_with_the_period() {
    let mut b = default_behavior();
    b.scale_down = ScalingRules {
        stabilization_window: s(0),
        select_policy: SelectPolicy::Max,
        policies: vec![
            Policy::Pods {
                value: 4,
                period: s(60),
            },
            Policy::Percent {
                value: 10,
                period: s(60),
            },
        ],
        tolerance: None,
    };
    let mut hpa = Hpa::new(spec(1, 1000, Some(b)));
    let seq = ticks(&mut hpa, 80, 10, 0, 25);
    // Every 60 s (the period's start moves only when the previous event ages out).
    let at = |secs: usize| seq[secs / 15];
    assert_eq!(
        [at(0), at(45), at(60), at(120), at(180), at(240), at(300), at(360)],
        [72, 72, 64, 57, 51, 45, 40, 36]
    );
}

#[test]
fn e10_default_and_legacy_scale_up() {
    let mut hpa = Hpa::new(spec(1, 100, Some(default_behavior())));
    assert_eq!(ticks(&mut hpa, 1, 100, 0, 6), [5, 10, 20, 40, 80, 100]);
    let mut legacy = Hpa::new(spec(1, 100, None));
    assert_eq!(ticks(&mut legacy, 1, 100, 0, 7), [4, 8, 16, 32, 64, 100, 100]);
    let d = Hpa::new(spec(1, 100, None)).reconcile(t(0), 1, proposing(100));
    assert_eq!(d.reason, Reason::ScaleUpLimit);
    let d = Hpa::new(spec(1, 5, None)).reconcile(t(0), 4, proposing(100));
    assert_eq!((d.desired, d.reason), (5, Reason::TooManyReplicas));
}

#[test]
fn first_reconcile_stabilizes_scale_down_for_a_window() {
    // Legacy path: the initial recommendation (10 at t=0) holds for the 300 s
    // window, inclusive of its edge (TestScaleDownStabilizeInitialSize).
    let mut legacy = Hpa::new(spec(1, 100, None));
    let seq = ticks(&mut legacy, 10, 2, 0, 23);
    assert_eq!(seq[300 / 15], 10, "legacy window keeps a record exactly 300 s old");
    assert_eq!(seq[315 / 15], 2);
    // Behavior path: the default 300 s down window is strict, so it drops at 300 s.
    let mut hpa = Hpa::new(spec(1, 100, Some(default_behavior())));
    let seq = ticks(&mut hpa, 10, 2, 0, 23);
    assert_eq!(seq[285 / 15], 10);
    assert_eq!(seq[300 / 15], 2);
}

#[test]
fn scale_up_stabilization_window_delays_the_first_scale_up() {
    let mut b = default_behavior();
    b.scale_up.stabilization_window = s(60);
    let mut hpa = Hpa::new(spec(1, 100, Some(b)));
    let seq = ticks(&mut hpa, 2, 6, 0, 6);
    // The initial recommendation (2 at t=0) caps scale-up until it is older than 60 s.
    assert_eq!(seq, [2, 2, 2, 2, 6, 6]);
}

#[test]
fn select_policy_min_and_disabled() {
    let mut b = default_behavior();
    b.scale_up.select_policy = SelectPolicy::Min;
    let d = Hpa::new(spec(1, 1000, Some(b.clone()))).reconcile(t(0), 10, proposing(50));
    assert_eq!(d.desired, 14); // min(10 + 4, 20)

    b.scale_up.select_policy = SelectPolicy::Disabled;
    let d = Hpa::new(spec(1, 1000, Some(b.clone()))).reconcile(t(0), 10, proposing(50));
    assert_eq!((d.desired, d.reason), (10, Reason::ScaleUpLimit));

    b.scale_down = ScalingRules {
        stabilization_window: s(0),
        select_policy: SelectPolicy::Min,
        policies: vec![
            Policy::Pods {
                value: 2,
                period: s(60),
            },
            Policy::Percent {
                value: 50,
                period: s(60),
            },
        ],
        tolerance: None,
    };
    let d = Hpa::new(spec(1, 1000, Some(b.clone()))).reconcile(t(0), 10, proposing(1));
    assert_eq!(d.desired, 8); // the smallest decrease: max(10 − 2, 5)
    b.scale_down.select_policy = SelectPolicy::Disabled;
    let d = Hpa::new(spec(1, 1000, Some(b))).reconcile(t(0), 10, proposing(1));
    assert_eq!((d.desired, d.reason), (10, Reason::ScaleDownLimit));
}

#[test]
fn percent_rounding_up_ceil_down_truncate() {
    let mut b = default_behavior();
    b.scale_up.policies = vec![Policy::Percent {
        value: 50,
        period: s(60),
    }];
    let d = Hpa::new(spec(1, 1000, Some(b.clone()))).reconcile(t(0), 3, proposing(100));
    assert_eq!(d.desired, 5); // ceil(4.5)
    b.scale_down = ScalingRules {
        stabilization_window: s(0),
        select_policy: SelectPolicy::Max,
        policies: vec![Policy::Percent {
            value: 15,
            period: s(60),
        }],
        tolerance: None,
    };
    let d = Hpa::new(spec(1, 1000, Some(b))).reconcile(t(0), 10, proposing(1));
    assert_eq!(d.desired, 8); // trunc(8.5): the removed count rounds up
}

#[test]
fn policy_period_excludes_an_event_exactly_one_period_old() {
    let mut b = default_behavior();
    b.scale_up.policies = vec![Policy::Pods {
        value: 1,
        period: s(60),
    }];
    let mut hpa = Hpa::new(spec(1, 1000, Some(b)));
    let d = hpa.reconcile(t(0), 5, proposing(10));
    assert_eq!(d.desired, 6);
    assert_eq!(
        hpa.reconcile(t(59), 6, proposing(10)).desired,
        6,
        "budget spent within the period"
    );
    assert_eq!(
        hpa.reconcile(t(60), 6, proposing(10)).desired,
        7,
        "the t=0 event no longer counts at t=60"
    );
}

#[test]
fn min_max_and_disabled_skip_metrics() {
    let no_metrics = || -> Vec<Result<Proposal, MetricError>> { panic!("metrics must not be read") };
    let mut hpa = Hpa::new(spec(2, 10, Some(default_behavior())));
    assert_eq!(hpa.reconcile(t(0), 12, no_metrics).desired, 10);
    let d = Hpa::new(spec(2, 10, None)).reconcile(t(0), 1, no_metrics);
    assert_eq!((d.desired, d.reason), (2, Reason::BelowMinReplicas));
    let d = Hpa::new(spec(2, 10, None)).reconcile(t(0), 0, no_metrics);
    assert_eq!((d.desired, d.reason), (0, Reason::ScalingDisabled));
}

#[test]
fn invalid_metrics_hold_the_size() {
    let mut hpa = Hpa::new(spec(1, 10, Some(default_behavior())));
    let d = hpa.reconcile(t(0), 4, || vec![Err(MetricError::NoMetrics)]);
    assert_eq!((d.desired, d.reason, d.proposed), (4, Reason::InvalidMetrics, None));
}

#[test]
fn tolerance_comes_from_behavior_per_direction() {
    let mut b = default_behavior();
    b.scale_up.tolerance = Some(0.05);
    let hpa = spec(1, 10, Some(b));
    assert_eq!(hpa.tolerances(), Tolerances { up: 0.05, down: 0.1 });
    assert_eq!(spec(1, 10, None).tolerances(), Tolerances::DEFAULT);
}

#[test]
fn stabilization_condition_names_the_window_that_held() {
    let mut hpa = Hpa::new(spec(1, 100, Some(default_behavior())));
    let d = hpa.reconcile(t(0), 10, proposing(4));
    assert_eq!(
        (d.desired, d.stabilization),
        (10, Some(Stabilization::ScaleDownStabilized))
    );
    let mut b = default_behavior();
    b.scale_up.stabilization_window = s(60);
    let mut hpa = Hpa::new(spec(1, 100, Some(b)));
    let d = hpa.reconcile(t(0), 10, proposing(20));
    assert_eq!(
        (d.desired, d.stabilization),
        (10, Some(Stabilization::ScaleUpStabilized))
    );
    let d = Hpa::new(spec(1, 100, None)).reconcile(t(0), 10, proposing(12));
    assert_eq!(
        (d.desired, d.stabilization),
        (12, Some(Stabilization::ReadyForNewScale))
    );
}

#[test]
fn outdated_scale_events_are_reused_not_dropped_and_count_for_longer_periods() {
    // horizontal.go, storeScaleEvent / markScaleEventsOutdated: events older
    // than the direction's longest period are marked outdated when the next
    // event of that direction is stored, and only the newest outdated slot
    // is overwritten; getReplicasChangePerPeriod counts every event in the
    // period, outdated or not. Scale-up periods 60 s, scale-down 600 s.
    let mut b = default_behavior();
    b.scale_up.policies = vec![Policy::Pods {
        value: 10,
        period: s(60),
    }];
    b.scale_down = ScalingRules {
        stabilization_window: s(0),
        select_policy: SelectPolicy::Max,
        policies: vec![Policy::Pods {
            value: 2,
            period: s(600),
        }],
        tolerance: None,
    };
    let mut hpa = Hpa::new(spec(1, 100, Some(b)));
    hpa.store_scale_event(t(1000), 10, 15); // +5
    hpa.store_scale_event(t(1030), 15, 19); // +4
    // 100 s later both are outdated for scale-up; the newer slot (t 1030)
    // is reused, the older (+5 at t 1000) stays.
    hpa.store_scale_event(t(1100), 19, 20); // +1
    let (up, _) = hpa.scale_events();
    let changes: Vec<(i32, bool)> = up.iter().map(|e| (e.change, e.outdated)).collect();
    assert_eq!(changes, vec![(5, true), (1, false)]);
    // At t 1200 with 20 replicas, the 600 s scale-down period starts from
    // 20 − (5 + 1) = 14 replicas: the limit is 14 − 2 = 12. (Dropping the
    // outdated +5 would start from 19 and allow 17.)
    let rules = &hpa.spec.behavior.as_ref().unwrap().scale_down;
    let (up, down) = hpa.scale_events();
    assert_eq!(
        calculate_scale_down_limit_with_behaviors(20, up, down, rules, t(1200)),
        12
    );
}

#[test]
fn legacy_cap_follows_the_configured_factor_and_minimum() {
    // horizontal.go, calculateScaleUpLimit: int32(max(scaleUpLimitFactor ×
    // current, scaleUpLimitMinimum)), used by convertDesiredReplicasWithRules
    // on the legacy path only.
    let mut s = spec(1, 1000, None);
    s.controller.scale_up_limit_factor = 3.0;
    s.controller.scale_up_limit_minimum = 5.0;
    let d = Hpa::new(s.clone()).reconcile(t(NOW), 1, proposing(100));
    assert_eq!((d.desired, d.reason), (5, Reason::ScaleUpLimit));
    let d = Hpa::new(s.clone()).reconcile(t(NOW), 4, proposing(100));
    assert_eq!((d.desired, d.reason), (12, Reason::ScaleUpLimit));
    // A fractional factor truncates as int32() does: 1.5 × 5 = 7.5 → 7.
    s.controller.scale_up_limit_factor = 1.5;
    let d = Hpa::new(s.clone()).reconcile(t(NOW), 5, proposing(100));
    assert_eq!(d.desired, 7);
    // The behavior path ignores it: the default policies allow 4 + 4 = 8 from 4.
    s.behavior = Some(default_behavior());
    let d = Hpa::new(s).reconcile(t(NOW), 4, proposing(100));
    assert_eq!(d.desired, 8);
}
