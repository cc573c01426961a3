//! The Kubernetes HPA controller's own table-driven tests, ported row by row
//! onto capsim's public HPA functions. Each row names the upstream test (and
//! its sub-case name where the table has one); inputs and expected outputs
//! are upstream's, unchanged.
//!
//! Sources (kubernetes/kubernetes, `pkg/controller/podautoscaler/`):
//! `replica_calculator_test.go` as of the release with ContainerResource
//! metrics and the direction-only missing-pod fill-in
//! (`TestPlainMetricReplicaCalcMissingMetricsNoChangeEq`), and
//! `horizontal_test.go` as stored at commit 4e62298c (there the rate limits
//! read one direction's events; current releases read both, and these rows
//! leave the other direction's list empty, so their expectations hold for both).
//!
//! How upstream's fixtures map onto capsim's inputs:
//! - every upstream test pod has two containers, each with the row's request
//!   and each reporting the row's level (`makePodMetricLevels`), so a pod's
//!   request and usage are twice the row's; a ContainerResource row
//!   (`container: "containerN"`) uses only that container's request and level;
//! - the pods' Ready condition and metric samples carry Go's zero time
//!   (`LastTransitionTime` unset, `tc.timestamp` unset), which is capsim's
//!   time 0; `hotCPUCreationTime()` is now, `coolCPUCreationTime()` now − 3 min;
//!   an unset start time is the zero time; samples have a 1-minute window;
//! - the replica calculator runs with `defaultTestingTolerance` 0.1,
//!   `defaultTestingCPUInitializationPeriod` 2 min and
//!   `defaultTestingDelayOfInitialReadinessStatus` 10 s;
//! - `horizontal_test.go`'s `init()` sets `scaleUpLimitFactor = 8`, which is
//!   [`ControllerConfig::scale_up_limit_factor`] here;
//! - `time.Now().Add(-d)` is `NOW − d`;
//! - `TestReplicaCalcMissingContainerMetricScaleUpIgnoresFailedPods`' missing
//!   container sample is on a failed pod, which is ignored before samples are
//!   read, so it runs as the container row it then is.
//! - a `horizontal_test.go` metric whose fetch fails (its fake client answers
//!   "something went wrong") is a metric without a proposal;
//! - `TestGroupPods`' pods are `PodSucceeded`: upstream's `groupPods` sets
//!   aside only deleting and `PodFailed` pods (ignored) and `PodPending` ones
//!   (unready), so a succeeded pod is grouped as a running one, and is
//!   `PodPhase::Running` here; its metrics without a timestamp have Go's zero
//!   time and a zero window.
//!
//! Ported beyond the calculator's tables:
//! - `TestGroupPods` (`replica_calculator_test.go` of the current release,
//!   the one with pod-level resources), all 14 rows, on [`group_pods`]
//!   (`test_group_pods`): ready count and the unready, missing and ignored sets;
//! - the `horizontal_test.go` cases that run the whole controller through
//!   fake API clients (`testCase{...}.runTest`), through [`Hpa::reconcile`],
//!   comparing the desired replica count: the 37 from `TestScaleUp` to
//!   `TestToleranceCM` (`horizontal_controller_cases`) and 36 after it, from
//!   the same commit (`horizontal_controller_later_cases`:
//!   `TestToleranceCMObject`, `TestToleranceCMExternal`,
//!   `TestTolerancePerPodCMObject`, `TestTolerancePerPodCMExternal`,
//!   `TestMinReplicas`, `TestZeroMinReplicasDesiredZero`,
//!   `TestMinReplicasDesiredZero`, `TestZeroReplicas`, `TestTooFewReplicas`,
//!   `TestTooManyReplicas`, `TestMaxReplicas`, `TestSuperfluousMetrics`,
//!   `TestMissingMetrics`, `TestEmptyMetrics`, `TestEmptyCPURequest`,
//!   `TestEventCreated`, `TestEventNotCreated`, `TestMissingReports`,
//!   `TestUpscaleCap`, `TestUpscaleCapGreaterThanMaxReplicas`,
//!   `TestMoreReplicasThanSpecNoScale`, the four sub-cases of
//!   `TestConditionFailedGetMetrics`, `TestConditionInvalidSourceType`,
//!   `TestNoBackoffUpscaleCM`, `TestNoBackoffUpscaleCMNoBackoffCpu`,
//!   `TestStabilizeDownscale`, both runs of
//!   `TestComputedToleranceAlgImplementation`, `TestScaleUpRCImmediately`,
//!   `TestScaleDownRCImmediately`, `TestScaleUpOneMetricEmpty`,
//!   `TestNoScaleDownOneMetricInvalid`, `TestNoScaleDownOneMetricEmpty`).
//!   Their API writes, events, reported CPU utilization and status
//!   conditions have no capsim counterpart and are not compared (so
//!   `TestEventCreated` / `TestEventNotCreated` check only their replica counts).
//!
//! Left out, with the reason:
//! - `TestReplicaCalcDisjointResourcesMetrics`, the superfluous samples of
//!   `TestReplicaCalcSuperfluousMetrics`: capsim's samples are one per
//!   selected pod, so a sample for a pod outside the selection cannot exist
//!   (the rest of `TestReplicaCalcSuperfluousMetrics`, the four known pods,
//!   is ported);
//! - `TestReplicaCalcEmptyCPURequest`: every capsim pod carries the request
//!   its deployment declares (or the documented default), so a pod without
//!   a request cannot occur;
//! - `TestCalculateRequests`, the test after `TestGroupPods` (same release):
//!   it sums container requests, prefers pod-level requests, picks one
//!   container's, and fails on a container without a request; capsim has no
//!   pod spec to read — a pod's request is the one its deployment declares
//!   (or the documented default), summed when capsim builds the pod — so
//!   there is no function for those rows to call;
//! - `TestScaleDownOneMetricInvalid` / `TestScaleDownOneMetricEmpty`: that
//!   file version predates the rule that an invalid metric blocks a
//!   scale-down (`computeReplicasForMetrics`, see `tests.rs::combining_metrics`);
//! - `TestScaleUpFromZeroCMObject`, `TestScaleUpFromZeroIgnoresToleranceCMObject`
//!   and `TestScaleUpFromZeroOneMetricInvalid`: they need the alpha
//!   scale-to-zero gate capsim refuses (`min_replicas ≥ 1`);
//! - `TestConditionInvalidSelectorMissing` and
//!   `TestConditionInvalidSelectorUnparsable`: the scale subresource returns
//!   no or an unparsable pod selector; capsim's HPA targets a deployment's
//!   own pods, with no selector to get wrong;
//! - `TestConditionFailedGetScale` and `TestConditionFailedUpdateScale`: the
//!   scale subresource's get or update fails (the expected count is the
//!   status written after the failure); capsim resizes its deployments directly;
//! - `TestAvoidUnnecessaryUpdates`: it checks that an unchanged status is not
//!   written back, through an HPA served as `autoscaling/v1` with no metric
//!   target; capsim writes no HPA status.
use super::*;

fn t(secs: u64) -> SimTime {
    SimTime::from_secs(secs)
}

fn s(secs: u64) -> SimDuration {
    SimDuration::from_secs(secs)
}

const NOW: u64 = 36_000;
/// `numContainersPerPod`.
const CONTAINERS: i64 = 2;

/// The replica calculator's test constants (`replica_calculator.go`).
fn calc_cfg() -> ControllerConfig {
    ControllerConfig {
        tolerance: 0.1,
        cpu_initialization_period: s(120),
        initial_readiness_delay: s(10),
        ..ControllerConfig::DEFAULT
    }
}

/// `horizontal_test.go`'s `init()`: `scaleUpLimitFactor = 8`.
fn horizontal_cfg() -> ControllerConfig {
    ControllerConfig {
        scale_up_limit_factor: 8.0,
        ..ControllerConfig::DEFAULT
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Start {
    /// Unset: Go's zero time.
    Zero,
    /// `hotCPUCreationTime()`.
    Hot,
    /// `coolCPUCreationTime()`.
    Cool,
}

/// One `replicaCalcTestCase`'s pods (`prepareTestClientSet`).
#[derive(Clone, Default)]
struct Pods {
    current: i32,
    readiness: Vec<bool>,
    start: Vec<Start>,
    /// `podPhase`; unset: `PodRunning`.
    phase: Vec<PodPhase>,
    deleting: Vec<bool>,
}

impl Pods {
    fn n(current: i32) -> Pods {
        Pods {
            current,
            ..Pods::default()
        }
    }

    /// Pod `i` with the given request (milli, already summed over the
    /// containers that count).
    fn build(&self, requests: &[i64]) -> Vec<Pod> {
        let count = (self.current as usize).max(self.phase.len());
        (0..count)
            .map(|i| {
                let ready = self.readiness.get(i).copied().unwrap_or(true);
                let start = match self.start.get(i).copied().unwrap_or(Start::Zero) {
                    Start::Zero => t(0),
                    Start::Hot => t(NOW),
                    Start::Cool => t(NOW - 180),
                };
                Pod {
                    phase: self.phase.get(i).copied().unwrap_or(PodPhase::Running),
                    deleting: self.deleting.get(i).copied().unwrap_or(false),
                    ready: Some(ReadyCondition {
                        ready,
                        last_transition: t(0),
                    }),
                    start_time: Some(start),
                    request_milli: requests.get(i).copied().unwrap_or(0),
                }
            })
            .collect()
    }

    /// `getReadyPodsCount`: running pods whose Ready condition is true.
    fn ready_count(&self) -> usize {
        self.build(&[])
            .iter()
            .filter(|p| p.phase == PodPhase::Running && p.ready.is_some_and(|r| r.ready))
            .count()
    }
}

fn zero_time_sample(value: i64) -> Option<Sample> {
    Some(Sample {
        value_milli: value,
        timestamp: t(0),
        window: s(60),
    })
}

/// `makePodMetricLevels`: every container reports the level.
fn mpl(levels: &[i64]) -> Vec<Vec<i64>> {
    levels.iter().map(|&l| vec![l; CONTAINERS as usize]).collect()
}

/// A `resourceInfo` case for CPU (`GetResourceReplicas`).
struct ResourceCase {
    name: &'static str,
    pods: Pods,
    /// Per pod, each container's request (milli).
    requests: Vec<i64>,
    /// Per pod with a sample, each container's level.
    levels: Vec<Vec<i64>>,
    /// `container: "containerN"` as an index, or the whole pod.
    container: Option<usize>,
    target: i32,
    /// Replicas and utilization, or an error.
    expected: Result<(i32, i64), ()>,
}

fn run_resource(c: &ResourceCase) -> Result<(i32, i64), MetricError> {
    let requests: Vec<i64> = c
        .requests
        .iter()
        .map(|r| if c.container.is_some() { *r } else { r * CONTAINERS })
        .collect();
    let pods = c.pods.build(&requests);
    let samples: Vec<Option<Sample>> = (0..pods.len())
        .map(|i| {
            c.levels.get(i).and_then(|l| match c.container {
                Some(k) => l.get(k).copied().and_then(zero_time_sample),
                None => zero_time_sample(l.iter().sum()),
            })
        })
        .collect();
    let m = PodMetrics {
        pods: &pods,
        samples: &samples,
        cpu: true,
    };
    let cfg = calc_cfg();
    let tol = Tolerances {
        up: cfg.tolerance,
        down: cfg.tolerance,
    };
    resource_replicas(c.pods.current, c.target, &m, tol, t(NOW), &cfg).map(|p| (p.replicas, p.current))
}

/// `n` requests of `resource.MustParse("1.0")`.
fn req(n: usize) -> Vec<i64> {
    vec![1000; n]
}

fn pods(current: i32, readiness: &[bool], start: &[Start], phase: &[PodPhase], deleting: &[bool]) -> Pods {
    Pods {
        current,
        readiness: readiness.to_vec(),
        start: start.to_vec(),
        phase: phase.to_vec(),
        deleting: deleting.to_vec(),
    }
}

const T: bool = true;
const F: bool = false;
use PodPhase::{Failed as PF, Pending as PP, Running as PR};
use Start::{Cool, Hot};

fn resource_cases() -> Vec<ResourceCase> {
    // TestReplicaCalcComputedToleranceAlgImplementation's derivation, in its own order.
    let start_pods = 10i32;
    let total_used = i64::from(start_pods * 150);
    let total_requested = (2 * total_used) as i32;
    let requested_to_used = f64::from(total_requested / total_used as i32);
    let per_pod = i64::from(total_requested / start_pods);
    let target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.01;
    let final_target = (target * 100.0) as i32;
    let used_ratio = total_used as f64 / (f64::from(total_requested) * target);
    let final_pods = (used_ratio * f64::from(start_pods)).ceil() as i32;
    let alg_requests = vec![
        per_pod + 100,
        per_pod - 100,
        per_pod + 10,
        per_pod - 10,
        per_pod + 2,
        per_pod - 2,
        per_pod + 1,
        per_pod - 1,
        per_pod,
        per_pod,
    ];
    let alg_levels = mpl(&[total_used / 10; 10]);
    let alg_utilization = i64::from((total_used * 100) as i32 / total_requested);
    let near_target = ((1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.004) * 100.0;

    vec![
        ResourceCase {
            name: "TestReplicaCalcScaleUp",
            pods: Pods::n(3),
            requests: req(3),
            levels: mpl(&[300, 500, 700]),
            container: None,
            target: 30,
            expected: Ok((5, 50)),
        },
        ResourceCase {
            name: "TestReplicaCalcContainerScaleUp",
            pods: Pods::n(3),
            requests: req(3),
            levels: vec![vec![1000, 300], vec![1000, 500], vec![1000, 700]],
            container: Some(1),
            target: 30,
            expected: Ok((5, 50)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleUpUnreadyLessScale",
            pods: pods(3, &[F, T, T], &[], &[], &[]),
            requests: req(3),
            levels: mpl(&[300, 500, 700]),
            container: None,
            target: 30,
            expected: Ok((4, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleUpContainerHotCpuLessScale",
            pods: pods(3, &[], &[Hot, Cool, Cool], &[], &[]),
            requests: req(3),
            levels: vec![vec![0, 300], vec![0, 500], vec![0, 700]],
            container: Some(1),
            target: 30,
            expected: Ok((4, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleUpHotCpuLessScale",
            pods: pods(3, &[], &[Hot, Cool, Cool], &[], &[]),
            requests: req(3),
            levels: mpl(&[300, 500, 700]),
            container: None,
            target: 30,
            expected: Ok((4, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleUpUnreadyNoScale",
            pods: pods(3, &[T, F, F], &[], &[], &[]),
            requests: req(3),
            levels: mpl(&[400, 500, 700]),
            container: None,
            target: 30,
            expected: Ok((3, 40)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleHotCpuNoScale",
            pods: pods(3, &[T, F, F], &[Cool, Hot, Hot], &[], &[]),
            requests: req(3),
            levels: mpl(&[400, 500, 700]),
            container: None,
            target: 30,
            expected: Ok((3, 40)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleUpIgnoresFailedPods",
            pods: pods(2, &[T, T, F, F], &[], &[PR, PR, PF, PF], &[]),
            requests: req(4),
            levels: mpl(&[500, 700]),
            container: None,
            target: 30,
            expected: Ok((4, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingContainerMetricScaleUpIgnoresFailedPods",
            pods: pods(2, &[T, T, F, F], &[], &[PR, PR, PF, PF], &[]),
            requests: req(4),
            levels: vec![vec![1000, 500], vec![9000, 700], vec![1000], vec![9000]],
            container: Some(1),
            target: 30,
            expected: Ok((4, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleUpContainerIgnoresFailedPods",
            pods: pods(2, &[T, T, F, F], &[], &[PR, PR, PF, PF], &[]),
            requests: req(4),
            levels: vec![vec![1000, 500], vec![9000, 700]],
            container: Some(1),
            target: 30,
            expected: Ok((4, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleUpIgnoresDeletionPods",
            pods: pods(2, &[T, T, F, F], &[], &[PR, PR, PR, PR], &[F, F, T, T]),
            requests: req(4),
            levels: mpl(&[500, 700]),
            container: None,
            target: 30,
            expected: Ok((4, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleUpContainerIgnoresDeletionPods",
            pods: pods(2, &[T, T, F, F], &[], &[PR, PR, PR, PR], &[F, F, T, T]),
            requests: req(4),
            levels: mpl(&[500, 700]),
            container: Some(0),
            target: 30,
            expected: Ok((4, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDown",
            pods: Pods::n(5),
            requests: req(5),
            levels: mpl(&[100, 300, 500, 250, 250]),
            container: None,
            target: 50,
            expected: Ok((3, 28)),
        },
        ResourceCase {
            name: "TestReplicaCalcContainerScaleDown",
            pods: Pods::n(5),
            requests: req(5),
            levels: vec![
                vec![1000, 100],
                vec![1000, 300],
                vec![1000, 500],
                vec![1000, 250],
                vec![1000, 250],
            ],
            container: Some(1),
            target: 50,
            expected: Ok((3, 28)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownExcludeUnreadyPods",
            pods: pods(5, &[T, T, T, F, F], &[], &[], &[]),
            requests: req(5),
            levels: mpl(&[100, 300, 500, 250, 250]),
            container: None,
            target: 50,
            expected: Ok((2, 30)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownContainerExcludeUnreadyPods",
            pods: pods(5, &[T, T, T, F, F], &[], &[], &[]),
            requests: req(5),
            levels: vec![
                vec![1000, 100],
                vec![1000, 300],
                vec![1000, 500],
                vec![1000, 250],
                vec![1000, 250],
            ],
            container: Some(1),
            target: 50,
            expected: Ok((2, 30)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownExcludeUnscheduledPods",
            pods: pods(5, &[T, F, F, F, F], &[], &[PR, PP, PP, PP, PP], &[]),
            requests: req(5),
            levels: mpl(&[100]),
            container: None,
            target: 50,
            expected: Ok((1, 10)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownContainerExcludeUnscheduledPods",
            pods: pods(5, &[T, F, F, F, F], &[], &[PR, PP, PP, PP, PP], &[]),
            requests: req(5),
            levels: vec![
                vec![1000, 100],
                vec![1000, 300],
                vec![1000, 500],
                vec![1000, 250],
                vec![1000, 250],
            ],
            container: Some(1),
            target: 50,
            expected: Ok((1, 10)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownIgnoreHotCpuPods",
            pods: pods(5, &[], &[Cool, Cool, Cool, Hot, Hot], &[], &[]),
            requests: req(5),
            levels: mpl(&[100, 300, 500, 250, 250]),
            container: None,
            target: 50,
            expected: Ok((2, 30)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownContainerIgnoreHotCpuPods",
            pods: pods(5, &[], &[Cool, Cool, Cool, Hot, Hot], &[], &[]),
            requests: req(5),
            levels: vec![
                vec![1000, 100],
                vec![1000, 300],
                vec![1000, 500],
                vec![1000, 1000],
                vec![1000, 1000],
            ],
            container: Some(1),
            target: 50,
            expected: Ok((2, 30)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownIgnoresFailedPods",
            pods: pods(5, &[T, T, T, T, T, F, F], &[], &[PR, PR, PR, PR, PR, PF, PF], &[]),
            requests: req(7),
            levels: mpl(&[100, 300, 500, 250, 250]),
            container: None,
            target: 50,
            expected: Ok((3, 28)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownContainerIgnoresFailedPods",
            pods: pods(5, &[T, T, T, T, T, F, F], &[], &[PR, PR, PR, PR, PR, PF, PF], &[]),
            requests: req(7),
            levels: vec![
                vec![1000, 100],
                vec![1000, 300],
                vec![1000, 500],
                vec![1000, 250],
                vec![1000, 250],
            ],
            container: Some(1),
            target: 50,
            expected: Ok((3, 28)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownIgnoresDeletionPods",
            pods: pods(
                5,
                &[T, T, T, T, T, F, F],
                &[],
                &[PR, PR, PR, PR, PR, PR, PR],
                &[F, F, F, F, F, T, T],
            ),
            requests: req(7),
            levels: mpl(&[100, 300, 500, 250, 250]),
            container: None,
            target: 50,
            expected: Ok((3, 28)),
        },
        ResourceCase {
            name: "TestReplicaCalcScaleDownIgnoresDeletionPods_StillRunning",
            pods: pods(
                5,
                &[T, T, T, T, T, F, F],
                &[],
                &[PR, PR, PR, PR, PR, PR, PR],
                &[F, F, F, F, F, T, T],
            ),
            requests: req(7),
            levels: vec![
                vec![1000, 100],
                vec![1000, 300],
                vec![1000, 500],
                vec![1000, 250],
                vec![1000, 250],
            ],
            container: Some(1),
            target: 50,
            expected: Ok((3, 28)),
        },
        ResourceCase {
            name: "TestReplicaCalcTolerance",
            pods: Pods::n(3),
            requests: vec![900, 1000, 1100],
            levels: mpl(&[1010, 1030, 1020]),
            container: None,
            target: 100,
            expected: Ok((3, 102)),
        },
        ResourceCase {
            name: "TestReplicaCalcSuperfluousMetrics (the four selected pods)",
            pods: Pods::n(4),
            requests: req(4),
            levels: mpl(&[4000, 9500, 3000, 7000]),
            container: None,
            target: 100,
            expected: Ok((24, 587)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetrics",
            pods: Pods::n(4),
            requests: req(4),
            levels: mpl(&[400, 95]),
            container: None,
            target: 100,
            expected: Ok((3, 24)),
        },
        ResourceCase {
            // Upstream the metrics client fails first ("no metrics returned
            // from resource metrics API"); here every pod is missing its
            // sample. Either way the metric is invalid.
            name: "TestReplicaCalcEmptyMetrics",
            pods: Pods::n(4),
            requests: req(3),
            levels: mpl(&[]),
            container: None,
            target: 100,
            expected: Err(()),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsNoChangeEq",
            pods: Pods::n(2),
            requests: req(2),
            levels: mpl(&[1000]),
            container: None,
            target: 100,
            expected: Ok((2, 100)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsNoChangeGt",
            pods: Pods::n(2),
            requests: req(2),
            levels: mpl(&[1900]),
            container: None,
            target: 100,
            expected: Ok((2, 190)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsNoChangeLt",
            pods: Pods::n(2),
            requests: req(2),
            levels: mpl(&[600]),
            container: None,
            target: 100,
            expected: Ok((2, 60)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsUnreadyChange",
            pods: pods(3, &[F, T, T], &[], &[], &[]),
            requests: req(3),
            levels: mpl(&[100, 450]),
            container: None,
            target: 50,
            expected: Ok((3, 45)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsHotCpuNoChange",
            pods: pods(3, &[], &[Hot, Cool, Cool], &[], &[]),
            requests: req(3),
            levels: mpl(&[100, 450]),
            container: None,
            target: 50,
            expected: Ok((3, 45)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsUnreadyScaleUp",
            pods: pods(3, &[F, T, T], &[], &[], &[]),
            requests: req(3),
            levels: mpl(&[100, 2000]),
            container: None,
            target: 50,
            expected: Ok((4, 200)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsHotCpuScaleUp",
            pods: pods(3, &[F, T, T], &[Hot, Cool, Cool], &[], &[]),
            requests: req(3),
            levels: mpl(&[100, 2000]),
            container: None,
            target: 50,
            expected: Ok((4, 200)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsUnreadyScaleDown",
            pods: pods(4, &[F, T, T, T], &[], &[], &[]),
            requests: req(4),
            levels: mpl(&[100, 100, 100]),
            container: None,
            target: 50,
            expected: Ok((3, 10)),
        },
        ResourceCase {
            name: "TestReplicaCalcMissingMetricsScaleDownTargetOver100",
            pods: pods(4, &[F, T, T, T], &[], &[], &[]),
            requests: vec![1000, 1000, 2000, 2000],
            levels: mpl(&[200, 100, 100]),
            container: None,
            target: 300,
            expected: Ok((2, 6)),
        },
        ResourceCase {
            name: "TestReplicaCalcDuringRollingUpdateWithMaxSurge",
            pods: pods(2, &[], &[], &[PR, PR, PR], &[]),
            requests: req(3),
            levels: mpl(&[100, 100]),
            container: None,
            target: 50,
            expected: Ok((2, 10)),
        },
        ResourceCase {
            name: "TestReplicaCalcComputedToleranceAlgImplementation (scale)",
            pods: Pods::n(start_pods),
            requests: alg_requests.clone(),
            levels: alg_levels.clone(),
            container: None,
            target: final_target,
            expected: Ok((final_pods, alg_utilization)),
        },
        ResourceCase {
            name: "TestReplicaCalcComputedToleranceAlgImplementation (no scale inside the tolerance)",
            pods: Pods::n(start_pods),
            requests: alg_requests,
            levels: alg_levels,
            container: None,
            target: near_target as i32,
            expected: Ok((start_pods, alg_utilization)),
        },
    ]
}

#[test]
fn replica_calculator_resource_cases() {
    let cases = resource_cases();
    assert_eq!(cases.len(), 40);
    for c in &cases {
        let got = run_resource(c);
        match c.expected {
            Ok(expected) => assert_eq!(got, Ok(expected), "{}", c.name),
            Err(()) => assert!(got.is_err(), "{}: {got:?}", c.name),
        }
    }
}

/// A `metricInfo` case (Pods, Object and External metrics).
enum Metric {
    /// `podMetric`: `GetMetricReplicas`, one level per pod.
    PerPod { levels: Vec<i64>, target: i64 },
    /// `objectMetric`: `GetObjectMetricReplicas`.
    Object { level: i64, target: i64 },
    /// `objectPerPodMetric`: `GetObjectPerPodMetricReplicas`.
    ObjectPerPod { level: i64, per_pod_target: i64 },
    /// `externalMetric`: `GetExternalMetricReplicas` (the series are summed).
    External { levels: Vec<i64>, target: i64 },
    /// `externalPerPodMetric`: `GetExternalPerPodMetricReplicas`.
    ExternalPerPod { levels: Vec<i64>, per_pod_target: i64 },
}

struct MetricCase {
    name: &'static str,
    pods: Pods,
    metric: Metric,
    /// Replicas and the reported usage.
    expected: (i32, i64),
}

fn run_metric(c: &MetricCase) -> Result<(i32, i64), MetricError> {
    let cfg = calc_cfg();
    let tol = Tolerances {
        up: cfg.tolerance,
        down: cfg.tolerance,
    };
    let current = c.pods.current;
    let p = match &c.metric {
        Metric::PerPod { levels, target } => {
            let pods = c.pods.build(&[]);
            let samples: Vec<Option<Sample>> = (0..pods.len())
                .map(|i| levels.get(i).copied().and_then(zero_time_sample))
                .collect();
            let m = PodMetrics {
                pods: &pods,
                samples: &samples,
                cpu: false,
            };
            plain_replicas(current, *target, &m, tol, t(NOW), &cfg)
        }
        Metric::Object { level, target } => object_value_replicas(current, *level, *target, c.pods.ready_count(), tol),
        Metric::ObjectPerPod { level, per_pod_target } => {
            object_average_replicas(current, *level, *per_pod_target, tol)
        }
        Metric::External { levels, target } => {
            object_value_replicas(current, levels.iter().sum(), *target, c.pods.ready_count(), tol)
        }
        Metric::ExternalPerPod { levels, per_pod_target } => {
            object_average_replicas(current, levels.iter().sum(), *per_pod_target, tol)
        }
    }?;
    Ok((p.replicas, p.current))
}

fn metric_cases() -> Vec<MetricCase> {
    use Metric::*;
    vec![
        MetricCase {
            name: "TestReplicaCalcScaleUpCM",
            pods: Pods::n(3),
            metric: PerPod {
                levels: vec![20000, 10000, 30000],
                target: 15000,
            },
            expected: (4, 20000),
        },
        MetricCase {
            name: "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale",
            pods: pods(3, &[T, T, F], &[Cool, Cool, Hot], &[], &[]),
            metric: PerPod {
                levels: vec![50000, 10000, 30000],
                target: 15000,
            },
            expected: (6, 30000),
        },
        MetricCase {
            name: "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
            pods: pods(3, &[F, T, F], &[Hot, Cool, Hot], &[], &[]),
            metric: PerPod {
                levels: vec![50000, 15000, 30000],
                target: 15000,
            },
            expected: (7, 31666),
        },
        MetricCase {
            name: "TestReplicaCalcScaleUpCMObject",
            pods: Pods::n(3),
            metric: Object {
                level: 20000,
                target: 15000,
            },
            expected: (4, 20000),
        },
        MetricCase {
            name: "TestReplicaCalcScaleUpCMPerPodObject",
            pods: Pods::n(3),
            metric: ObjectPerPod {
                level: 20000,
                per_pod_target: 5000,
            },
            expected: (4, 6667),
        },
        MetricCase {
            name: "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods",
            pods: pods(3, &[F, T, F], &[], &[], &[]),
            metric: Object {
                level: 50000,
                target: 10000,
            },
            expected: (5, 50000),
        },
        MetricCase {
            // Upstream's row is a podMetric with one pod's level.
            name: "TestReplicaCalcScaleUpCMExternal",
            pods: Pods::n(1),
            metric: PerPod {
                levels: vec![8600],
                target: 4400,
            },
            expected: (2, 8600),
        },
        MetricCase {
            name: "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods",
            pods: pods(3, &[F, T, F], &[], &[], &[]),
            metric: External {
                levels: vec![8600],
                target: 4400,
            },
            expected: (2, 8600),
        },
        MetricCase {
            name: "TestReplicaCalcScaleUpCMExternalNoLabels",
            pods: Pods::n(1),
            metric: PerPod {
                levels: vec![8600],
                target: 4400,
            },
            expected: (2, 8600),
        },
        MetricCase {
            name: "TestReplicaCalcScaleUpPerPodCMExternal",
            pods: Pods::n(3),
            metric: ExternalPerPod {
                levels: vec![8600],
                per_pod_target: 2150,
            },
            expected: (4, 2867),
        },
        MetricCase {
            name: "TestReplicaCalcScaleDownCM",
            pods: Pods::n(5),
            metric: PerPod {
                levels: vec![12000; 5],
                target: 20000,
            },
            expected: (3, 12000),
        },
        MetricCase {
            name: "TestReplicaCalcScaleDownPerPodCMObject",
            pods: Pods::n(5),
            metric: ObjectPerPod {
                level: 6000,
                per_pod_target: 2000,
            },
            expected: (3, 1200),
        },
        MetricCase {
            name: "TestReplicaCalcScaleDownCMObject",
            pods: Pods::n(5),
            metric: Object {
                level: 12000,
                target: 20000,
            },
            expected: (3, 12000),
        },
        MetricCase {
            name: "TestReplicaCalcScaleDownCMExternal",
            pods: Pods::n(5),
            metric: External {
                levels: vec![8600],
                target: 14334,
            },
            expected: (3, 8600),
        },
        MetricCase {
            name: "TestReplicaCalcScaleDownPerPodCMExternal",
            pods: Pods::n(5),
            metric: ExternalPerPod {
                levels: vec![8600],
                per_pod_target: 2867,
            },
            expected: (3, 1720),
        },
        MetricCase {
            name: "TestReplicaCalcToleranceCM",
            pods: Pods::n(3),
            metric: PerPod {
                levels: vec![20000, 21000, 21000],
                target: 20000,
            },
            expected: (3, 20666),
        },
        MetricCase {
            name: "TestReplicaCalcToleranceCMObject",
            pods: Pods::n(3),
            metric: Object {
                level: 20666,
                target: 20000,
            },
            expected: (3, 20666),
        },
        MetricCase {
            name: "TestReplicaCalcTolerancePerPodCMObject",
            pods: Pods::n(4),
            metric: ObjectPerPod {
                level: 20166,
                per_pod_target: 5000,
            },
            expected: (4, 5042),
        },
        MetricCase {
            name: "TestReplicaCalcToleranceCMExternal",
            pods: Pods::n(3),
            metric: External {
                levels: vec![8600],
                target: 8888,
            },
            expected: (3, 8600),
        },
        MetricCase {
            name: "TestReplicaCalcTolerancePerPodCMExternal",
            pods: Pods::n(3),
            metric: ExternalPerPod {
                levels: vec![8600],
                per_pod_target: 2900,
            },
            expected: (3, 2867),
        },
        MetricCase {
            name: "TestPlainMetricReplicaCalcMissingMetricsNoChangeEq",
            pods: Pods::n(5),
            metric: PerPod {
                levels: vec![20000, 19000, 21000],
                target: 20000,
            },
            expected: (5, 20000),
        },
        MetricCase {
            name: "TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM",
            pods: pods(2, &[], &[], &[PR, PR, PR], &[]),
            metric: PerPod {
                levels: vec![10000, 10000],
                target: 17000,
            },
            expected: (2, 10000),
        },
    ]
}

#[test]
fn replica_calculator_metric_cases() {
    let cases = metric_cases();
    assert_eq!(cases.len(), 22);
    for c in &cases {
        assert_eq!(run_metric(c), Ok(c.expected), "{}", c.name);
    }
}

/// One pod of a `TestGroupPods` row: name, phase, deleting, `StartTime`
/// (seconds before now; `None` unset), the Ready condition (status and
/// `LastTransitionTime` in seconds before now; `None` absent), and the metric
/// (timestamp in seconds before now, `None` for Go's zero time, and window
/// in seconds; `None` when the pod has no metric).
type GroupPod = (
    &'static str,
    PodPhase,
    bool,
    Option<u64>,
    Option<(bool, u64)>,
    Option<(Option<u64>, u64)>,
);

struct GroupRow {
    name: &'static str,
    pods: Vec<GroupPod>,
    /// `resource`: CPU, or memory.
    cpu: bool,
    ready: usize,
    unready: Vec<&'static str>,
    missing: Vec<&'static str>,
    ignored: Vec<&'static str>,
}

/// `TestGroupPods`' rows. Their pods are `PodSucceeded` except where named,
/// which `groupPods` groups as running ones (see the header).
fn group_rows() -> Vec<GroupRow> {
    const SUCCEEDED: PodPhase = PodPhase::Running;
    let row = |name, pods, cpu, ready, unready, missing, ignored| GroupRow {
        name,
        pods,
        cpu,
        ready,
        unready,
        missing,
        ignored,
    };
    vec![
        row("void", vec![], true, 0, vec![], vec![], vec![]),
        row(
            "count in a ready pod - memory",
            vec![("bentham", SUCCEEDED, F, None, None, Some((Some(0), 60)))],
            false,
            1,
            vec![],
            vec![],
            vec![],
        ),
        row(
            "unready a pod without ready condition - CPU",
            vec![("lucretius", SUCCEEDED, F, Some(0), None, Some((None, 0)))],
            true,
            0,
            vec!["lucretius"],
            vec![],
            vec![],
        ),
        row(
            "count in a ready pod with fresh metrics during initialization period - CPU",
            vec![("bentham", SUCCEEDED, F, Some(60), Some((T, 30)), Some((Some(0), 30)))],
            true,
            1,
            vec![],
            vec![],
            vec![],
        ),
        row(
            "unready a ready pod without fresh metrics during initialization period - CPU",
            vec![("bentham", SUCCEEDED, F, Some(60), Some((T, 30)), Some((Some(0), 60)))],
            true,
            0,
            vec!["bentham"],
            vec![],
            vec![],
        ),
        row(
            "unready an unready pod during initialization period - CPU",
            vec![("lucretius", SUCCEEDED, F, Some(600), Some((F, 594)), Some((None, 0)))],
            true,
            0,
            vec!["lucretius"],
            vec![],
            vec![],
        ),
        row(
            "count in a ready pod without fresh metrics after initialization period - CPU",
            vec![(
                "bentham",
                SUCCEEDED,
                F,
                Some(180),
                Some((T, 180)),
                Some((Some(120), 60)),
            )],
            true,
            1,
            vec![],
            vec![],
            vec![],
        ),
        row(
            "count in an unready pod that was ready after initialization period - CPU",
            vec![("lucretius", SUCCEEDED, F, Some(600), Some((F, 540)), Some((None, 0)))],
            true,
            1,
            vec![],
            vec![],
            vec![],
        ),
        row(
            "unready pod that has never been ready after initialization period - CPU",
            vec![("lucretius", SUCCEEDED, F, Some(600), Some((F, 590)), Some((None, 0)))],
            true,
            1,
            vec![],
            vec![],
            vec![],
        ),
        row(
            "a missing pod",
            vec![("epicurus", SUCCEEDED, F, Some(180), None, None)],
            true,
            0,
            vec![],
            vec!["epicurus"],
            vec![],
        ),
        row(
            "several pods",
            vec![
                ("lucretius", SUCCEEDED, F, Some(0), None, Some((None, 0))),
                ("niccolo", SUCCEEDED, F, Some(180), Some((T, 180)), Some((None, 0))),
                ("epicurus", SUCCEEDED, F, Some(180), None, None),
            ],
            true,
            1,
            vec!["lucretius"],
            vec!["epicurus"],
            vec![],
        ),
        row(
            "pending pods are unreadied",
            vec![("unscheduled", PP, F, None, None, None)],
            true,
            0,
            vec!["unscheduled"],
            vec![],
            vec![],
        ),
        row(
            "ignore pods with deletion timestamps",
            vec![("deleted", PP, T, None, None, Some((None, 0)))],
            true,
            0,
            vec![],
            vec![],
            vec!["deleted"],
        ),
        row(
            "ignore pods in a failed state",
            vec![("failed", PF, F, None, None, Some((None, 0)))],
            true,
            0,
            vec![],
            vec![],
            vec!["failed"],
        ),
    ]
}

#[test]
fn test_group_pods() {
    // TestGroupPods: groupPods with defaultTestingCPUInitializationPeriod (2 min)
    // and defaultTestingDelayOfInitialReadinessStatus (10 s).
    let rows = group_rows();
    assert_eq!(rows.len(), 14);
    let cfg = calc_cfg();
    for r in &rows {
        let pods: Vec<Pod> = r
            .pods
            .iter()
            .map(|&(_, phase, deleting, start, ready, _)| Pod {
                phase,
                deleting,
                ready: ready.map(|(ready, ago)| ReadyCondition {
                    ready,
                    last_transition: t(NOW - ago),
                }),
                start_time: start.map(|ago| t(NOW - ago)),
                request_milli: 0,
            })
            .collect();
        let samples: Vec<Option<Sample>> = r
            .pods
            .iter()
            .map(|p| {
                p.5.map(|(ago, window)| Sample {
                    value_milli: 1,
                    timestamp: ago.map_or(t(0), |ago| t(NOW - ago)),
                    window: s(window),
                })
            })
            .collect();
        let m = PodMetrics {
            pods: &pods,
            samples: &samples,
            cpu: r.cpu,
        };
        let groups = group_pods(&m, t(NOW), &cfg);
        let names = |which: Group| -> Vec<&str> {
            r.pods
                .iter()
                .zip(&groups)
                .filter(|(_, g)| **g == which)
                .map(|(p, _)| p.0)
                .collect()
        };
        assert_eq!(names(Group::Ready).len(), r.ready, "TestGroupPods/{}: ready", r.name);
        assert_eq!(names(Group::Unready), r.unready, "TestGroupPods/{}: unready", r.name);
        assert_eq!(names(Group::Missing), r.missing, "TestGroupPods/{}: missing", r.name);
        assert_eq!(names(Group::Ignored), r.ignored, "TestGroupPods/{}: ignored", r.name);
    }
}

// ---- horizontal_test.go ----

fn rec(replicas: i32, ago: u64) -> Recommendation {
    Recommendation {
        replicas,
        at: t(NOW - ago),
    }
}

const MIN: u64 = 60;

#[test]
fn test_normalize_desired_replicas() {
    // TestNormalizeDesiredReplicas: stabilizeRecommendation with
    // downscaleStabilisationWindow 5 min; (name, log, proposed, stabilized, log length).
    let cases: Vec<(&str, Vec<Recommendation>, i32, i32, usize)> = vec![
        ("empty log", vec![], 5, 5, 1),
        ("stabilize", vec![rec(4, 2 * MIN), rec(5, MIN)], 3, 5, 3),
        ("no stabilize", vec![rec(1, 2 * MIN), rec(2, MIN)], 3, 3, 3),
        (
            "no stabilize - old recommendations",
            vec![rec(10, 10 * MIN), rec(9, 9 * MIN)],
            3,
            3,
            2,
        ),
        (
            "stabilize - old recommendations",
            vec![rec(10, 10 * MIN), rec(4, MIN), rec(5, 2 * MIN), rec(9, 9 * MIN)],
            3,
            5,
            4,
        ),
    ];
    for (name, mut log, proposed, expected, len) in cases {
        let got = stabilize_recommendation(&mut log, t(NOW), s(5 * MIN), proposed);
        assert_eq!(got, expected, "TestNormalizeDesiredReplicas/{name}");
        assert_eq!(log.len(), len, "TestNormalizeDesiredReplicas/{name}");
    }
}

#[test]
fn test_convert_desired_replicas_with_rules() {
    // TestConvertDesiredReplicasWithRules, under the tests' scaleUpLimitFactor 8:
    // (annotation, current, desired, min, max, converted, condition).
    let cfg = horizontal_cfg();
    let cases = [
        (
            "prenormalized desired replicas within range",
            5,
            7,
            3,
            8,
            7,
            Reason::DesiredWithinRange,
        ),
        (
            "prenormalized desired replicas < minReplicas",
            3,
            1,
            2,
            8,
            2,
            Reason::TooFewReplicas,
        ),
        (
            "prenormalized desired zeroed replicas within range",
            1,
            0,
            0,
            10,
            0,
            Reason::DesiredWithinRange,
        ),
        (
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
            20,
            1000,
            1,
            10,
            10,
            Reason::TooManyReplicas,
        ),
        (
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas",
            3,
            1000,
            1,
            2000,
            calculate_scale_up_limit(3, &cfg),
            Reason::ScaleUpLimit,
        ),
    ];
    for (name, current, desired, min, max, converted, condition) in cases {
        assert_eq!(
            convert_desired_replicas_with_rules(current, desired, min, max, &cfg),
            (converted, condition),
            "TestConvertDesiredReplicasWithRules/{name}"
        );
    }
    // The last row's limit is upstream's calculateScaleUpLimit(3) under the tests' factor 8.
    assert_eq!(calculate_scale_up_limit(3, &cfg), 24);
}

fn pods_policy(value: i32, period: u64) -> Policy {
    Policy::Pods {
        value,
        period: s(period),
    }
}

fn percent_policy(value: i32, period: u64) -> Policy {
    Policy::Percent {
        value,
        period: s(period),
    }
}

#[test]
fn test_calculate_scale_up_and_down_limits() {
    let rules = ScalingRules {
        stabilization_window: s(300),
        select_policy: SelectPolicy::Min,
        policies: vec![pods_policy(2, 60), percent_policy(50, 60)],
        tolerance: None,
    };
    // TestCalculateScaleUpLimitWithScalingRules
    assert_eq!(
        calculate_scale_up_limit_with_scaling_rules(1, &[], &[], &rules, t(NOW)),
        2
    );
    // TestCalculateScaleDownLimitWithBehaviors
    assert_eq!(
        calculate_scale_down_limit_with_behaviors(5, &[], &[], &rules, t(NOW)),
        3
    );
}

/// `generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow)`.
fn generate_scaling_rules(pods: i32, pods_period: u64, percent: i32, percent_period: u64, window: u64) -> ScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(pods_policy(pods, pods_period));
    }
    if percent != 0 {
        policies.push(percent_policy(percent, percent_period));
    }
    ScalingRules {
        stabilization_window: s(window),
        select_policy: SelectPolicy::Max,
        policies,
        tolerance: None,
    }
}

/// `generateEventsUniformDistribution(rawEvents, periodSeconds)`: event `i`
/// at the middle of segment `i` of the last `period` seconds, oldest first
/// (`time.Duration(float)` truncates to whole seconds).
fn uniform_events(raw: &[i32], period: u64) -> Vec<ScaleEvent> {
    let segment = period as f64 / raw.len() as f64;
    raw.iter()
        .enumerate()
        .map(|(i, &change)| {
            let ago = (period as f64 - segment * (i + 1) as f64 + segment / 2.0) as u64;
            ScaleEvent {
                change,
                at: t(NOW - ago),
                outdated: false,
            }
        })
        .collect()
}

struct RulesCase {
    name: &'static str,
    up_events: Vec<ScaleEvent>,
    down_events: Vec<ScaleEvent>,
    min: i32,
    max: i32,
    /// `None`: `GenerateHPAScaleUpRules(nil)`, the defaults.
    up: Option<ScalingRules>,
    down: Option<ScalingRules>,
    current: i32,
    proposed: i32,
    expected: (i32, Reason),
}

fn rules_case(
    name: &'static str,
    (current, proposed, min, max): (i32, i32, i32, i32),
    up: Option<ScalingRules>,
    down: Option<ScalingRules>,
    expected: (i32, Reason),
) -> RulesCase {
    RulesCase {
        name,
        up_events: vec![],
        down_events: vec![],
        min,
        max,
        up,
        down,
        current,
        proposed,
        expected,
    }
}

fn with_up(mut c: RulesCase, events: Vec<ScaleEvent>) -> RulesCase {
    c.up_events = events;
    c
}

fn with_down(mut c: RulesCase, events: Vec<ScaleEvent>) -> RulesCase {
    c.down_events = events;
    c
}

fn scaling_with_rules_cases() -> Vec<RulesCase> {
    use Reason::*;
    let g = generate_scaling_rules;
    let u = |raw: &[i32]| uniform_events(raw, 120);
    vec![
        rules_case(
            "prenormalized desired replicas within range",
            (5, 7, 3, 8),
            None,
            None,
            (7, DesiredWithinRange),
        ),
        rules_case(
            "prenormalized desired replicas < minReplicas",
            (3, 1, 2, 8),
            None,
            None,
            (2, TooFewReplicas),
        ),
        rules_case(
            "prenormalized desired replicas within range when minReplicas is 0",
            (1, 0, 0, 10),
            None,
            None,
            (0, DesiredWithinRange),
        ),
        rules_case(
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
            (20, 1000, 1, 10),
            None,
            None,
            (10, TooManyReplicas),
        ),
        rules_case(
            "desired replica count is more than the maximum replica count",
            (100, 1000, 100, 150),
            None,
            None,
            (150, TooManyReplicas),
        ),
        rules_case(
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
            (3, 1000, 1, 2000),
            Some(g(0, 0, 1, 60, 0)),
            None,
            (4, ScaleUpLimit),
        ),
        // Upstream marks this row `testThis: true`, which skips it; it holds all the same.
        rules_case(
            "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies",
            (1000, 3, 3, 2000),
            None,
            Some(g(20, 60, 0, 0, 0)),
            (980, ScaleDownLimit),
        ),
        rules_case(
            "scaleUp with default behavior",
            (10, 50, 1, 1000),
            None,
            None,
            (20, ScaleUpLimit),
        ),
        rules_case(
            "scaleUp with pods policy larger than percent policy",
            (10, 500, 1, 1000),
            Some(g(100, 60, 100, 60, 0)),
            None,
            (110, ScaleUpLimit),
        ),
        rules_case(
            "scaleUp with percent policy larger than pods policy",
            (10, 500, 1, 1000),
            Some(g(2, 60, 100, 60, 0)),
            None,
            (20, ScaleUpLimit),
        ),
        rules_case(
            "scaleUp with spec MaxReplicas limitation with large pod policy",
            (10, 50, 1, 1000),
            Some(g(100, 60, 0, 0, 0)),
            None,
            (50, DesiredWithinRange),
        ),
        rules_case(
            "scaleUp with spec MaxReplicas limitation with large percent policy",
            (10, 50, 1, 1000),
            Some(g(10000, 60, 0, 0, 0)),
            None,
            (50, DesiredWithinRange),
        ),
        rules_case(
            "scaleUp with pod policy limitation",
            (10, 50, 1, 1000),
            Some(g(30, 60, 0, 0, 0)),
            None,
            (40, ScaleUpLimit),
        ),
        rules_case(
            "scaleUp with percent policy limitation",
            (10, 50, 1, 1000),
            Some(g(0, 0, 200, 60, 0)),
            None,
            (30, ScaleUpLimit),
        ),
        rules_case(
            "scaleDown with percent policy larger than pod policy",
            (100, 2, 1, 1000),
            None,
            Some(g(20, 60, 1, 60, 300)),
            (80, ScaleDownLimit),
        ),
        rules_case(
            "scaleDown with pod policy larger than percent policy",
            (100, 2, 1, 1000),
            None,
            Some(g(2, 60, 1, 60, 300)),
            (98, ScaleDownLimit),
        ),
        rules_case(
            "scaleDown with spec MinReplicas=nil limitation with large pod policy",
            (10, 0, 1, 1000),
            None,
            Some(g(100, 60, 0, 0, 300)),
            (1, TooFewReplicas),
        ),
        rules_case(
            "scaleDown with spec MinReplicas limitation with large pod policy",
            (10, 0, 1, 1000),
            None,
            Some(g(100, 60, 0, 0, 300)),
            (1, TooFewReplicas),
        ),
        rules_case(
            "scaleDown with spec MinReplicas limitation with large percent policy",
            (10, 2, 5, 1000),
            None,
            Some(g(0, 0, 100, 60, 300)),
            (5, TooFewReplicas),
        ),
        rules_case(
            "scaleDown with pod policy limitation",
            (10, 2, 1, 1000),
            None,
            Some(g(5, 60, 0, 0, 300)),
            (5, ScaleDownLimit),
        ),
        rules_case(
            "scaleDown with percent policy limitation",
            (10, 5, 1, 1000),
            None,
            Some(g(0, 0, 50, 60, 300)),
            (5, DesiredWithinRange),
        ),
        with_up(
            rules_case(
                "scaleUp with spec MaxReplicas limitation with large pod policy and events",
                (100, 500, 1, 200),
                Some(g(300, 60, 0, 0, 0)),
                None,
                (200, TooManyReplicas),
            ),
            u(&[1, 5, 9]),
        ),
        with_up(
            rules_case(
                "scaleUp with spec MaxReplicas limitation with large percent policy and events",
                (100, 500, 1, 200),
                Some(g(0, 0, 10000, 60, 0)),
                None,
                (200, TooManyReplicas),
            ),
            u(&[1, 5, 9]),
        ),
        with_up(
            rules_case(
                "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
                (100, 500, 1, 1000),
                Some(g(5, 120, 0, 0, 0)),
                None,
                (100, ScaleUpLimit),
            ),
            u(&[1, 5, 9]),
        ),
        with_up(
            rules_case(
                "scaleUp with pod policy and previous scale up events",
                (100, 500, 1, 1000),
                Some(g(150, 120, 0, 0, 0)),
                None,
                (235, ScaleUpLimit),
            ),
            u(&[1, 5, 9]),
        ),
        with_up(
            rules_case(
                "scaleUp with percent policy and previous scale up events",
                (100, 500, 1, 1000),
                Some(g(0, 0, 200, 120, 0)),
                None,
                (255, ScaleUpLimit),
            ),
            u(&[1, 5, 9]),
        ),
        with_down(
            rules_case(
                "scaleDown with default policy and previous events",
                (10, 5, 1, 1000),
                None,
                None,
                (5, DesiredWithinRange),
            ),
            u(&[1, 5, 9]),
        ),
        with_down(
            rules_case(
                "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
                (100, 0, 1, 1000),
                None,
                Some(g(115, 120, 0, 0, 300)),
                (1, TooFewReplicas),
            ),
            u(&[1, 5, 9]),
        ),
        with_down(
            rules_case(
                "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
                (100, 0, 5, 1000),
                None,
                Some(g(130, 120, 0, 0, 300)),
                (5, TooFewReplicas),
            ),
            u(&[1, 5, 9]),
        ),
        with_down(
            rules_case(
                "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
                (100, 2, 5, 1000),
                None,
                Some(g(0, 0, 100, 120, 300)),
                (5, TooFewReplicas),
            ),
            u(&[1, 5, 9]),
        ),
        with_down(
            rules_case(
                "scaleDown with pod policy limitation and previous events",
                (100, 2, 1, 1000),
                None,
                Some(g(5, 120, 0, 0, 300)),
                (100, ScaleDownLimit),
            ),
            u(&[1, 5, 9]),
        ),
        with_down(
            rules_case(
                "scaleDown with percent policy limitation and previous events",
                (100, 0, 1, 1000),
                None,
                Some(g(0, 0, 50, 120, 300)),
                (56, ScaleDownLimit),
            ),
            u(&[2, 4, 6]),
        ),
        with_down(
            rules_case(
                "scaleDown with previous events preventing further scale down",
                (100, 0, 1, 1000),
                None,
                Some(g(0, 0, 10, 120, 300)),
                (100, ScaleDownLimit),
            ),
            u(&[10, 10, 10]),
        ),
        with_down(
            rules_case(
                "scaleDown with with previous events still allowing more scale down",
                (10, 5, 1, 1000),
                None,
                Some(g(0, 0, 1000, 120, 300)),
                (5, DesiredWithinRange),
            ),
            u(&[10, 10, 10]),
        ),
        with_up(
            rules_case(
                "check 'outdated' flag for events for one behavior for up",
                (100, 200, 1, 1000),
                Some(g(1000, 60, 0, 0, 0)),
                None,
                (200, DesiredWithinRange),
            ),
            u(&[8, 12, 9, 11]),
        ),
        with_up(
            rules_case(
                "check that events were not marked 'outdated' for two different policies in the behavior for up",
                (100, 200, 1, 1000),
                Some(g(1000, 120, 100, 60, 0)),
                None,
                (200, DesiredWithinRange),
            ),
            u(&[8, 12, 9, 11]),
        ),
        with_up(
            rules_case(
                "check that events were marked 'outdated' for two different policies in the behavior for up",
                (100, 200, 1, 1000),
                Some(g(1000, 30, 100, 60, 0)),
                None,
                (200, DesiredWithinRange),
            ),
            u(&[8, 12, 9, 11]),
        ),
        with_down(
            rules_case(
                "check 'outdated' flag for events for one behavior for down",
                (100, 5, 1, 1000),
                None,
                Some(g(1000, 60, 0, 0, 300)),
                (5, DesiredWithinRange),
            ),
            u(&[8, 12, 9, 11]),
        ),
        with_down(
            rules_case(
                "check that events were not marked 'outdated' for two different policies in the behavior for down",
                (100, 5, 1, 1000),
                None,
                Some(g(1000, 120, 100, 60, 300)),
                (5, DesiredWithinRange),
            ),
            u(&[8, 12, 9, 11]),
        ),
        with_down(
            rules_case(
                "check that events were marked 'outdated' for two different policies in the behavior for down",
                (100, 5, 1, 1000),
                None,
                Some(g(1000, 30, 100, 60, 300)),
                (5, DesiredWithinRange),
            ),
            u(&[8, 12, 9, 11]),
        ),
    ]
}

#[test]
fn test_scaling_with_rules() {
    // TestScalingWithRules: convertDesiredReplicasWithBehaviorRate with
    // GenerateHPAScaleUpRules / GenerateHPAScaleDownRules (defaults for nil).
    let cases = scaling_with_rules_cases();
    assert_eq!(cases.len(), 40);
    for c in &cases {
        let behavior = Behavior {
            scale_up: c.up.clone().unwrap_or_else(ScalingRules::default_scale_up),
            scale_down: c
                .down
                .clone()
                .unwrap_or_else(|| ScalingRules::default_scale_down(&ControllerConfig::DEFAULT)),
        };
        let arg = NormalizationArg {
            behavior: &behavior,
            min: c.min,
            max: c.max,
            current: c.current,
            desired: c.proposed,
        };
        let got = convert_desired_replicas_with_behavior_rate(arg, &c.up_events, &c.down_events, t(NOW));
        assert_eq!(got, c.expected, "TestScalingWithRules/{}", c.name);
    }
}

fn event(change: i32, ago: u64, outdated: bool) -> ScaleEvent {
    ScaleEvent {
        change,
        at: t(NOW - ago),
        outdated,
    }
}

#[test]
fn test_store_scale_events() {
    // TestStoreScaleEvents: getReplicasChangePerPeriod(60) over the previous
    // events, then storeScaleEvent of ±5 from 10 replicas, in each direction
    // (the rules as that direction's, the other direction's defaults).
    // (name, previous events, expected events (change, outdated), rules, expected change).
    type Row = (
        &'static str,
        Vec<ScaleEvent>,
        Vec<(i32, bool)>,
        Option<ScalingRules>,
        i32,
    );
    let g = generate_scaling_rules;
    let rows: Vec<Row> = vec![
        ("empty entries with default behavior", vec![], vec![], None, 0),
        (
            "empty entries with two-policy-behavior",
            vec![],
            vec![(5, false)],
            Some(g(10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one outdated entry to be kept untouched without behavior",
            vec![event(7, 61, false)],
            vec![(7, false)],
            None,
            0,
        ),
        (
            "one outdated entry to be replaced with behavior",
            vec![event(7, 61, false)],
            vec![(5, false)],
            Some(g(10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one actual entry to be not touched with behavior",
            vec![event(7, 58, false)],
            vec![(7, false), (5, false)],
            Some(g(10, 60, 100, 60, 0)),
            7,
        ),
        (
            "two entries, one of them to be replaced",
            vec![event(7, 61, false), event(6, 59, false)],
            vec![(5, false), (6, false)],
            Some(g(10, 60, 0, 0, 0)),
            6,
        ),
        (
            "replace one entry, use policies with different periods",
            vec![
                event(8, 29, false),
                event(6, 59, false),
                event(7, 61, false),
                event(9, 61, false),
            ],
            vec![(8, false), (6, false), (7, true), (5, false)],
            Some(g(10, 60, 100, 30, 0)),
            14,
        ),
        (
            "two entries, both actual",
            vec![event(7, 58, false), event(6, 59, false)],
            vec![(7, false), (6, false), (5, false)],
            Some(g(10, 120, 100, 30, 0)),
            13,
        ),
    ];
    assert_eq!(rows.len(), 8);
    for (name, previous, expected, rules, change) in rows {
        for up in [true, false] {
            let behavior = rules.clone().map(|r| {
                let mut b = Behavior {
                    scale_up: ScalingRules::default_scale_up(),
                    scale_down: ScalingRules::default_scale_down(&ControllerConfig::DEFAULT),
                };
                if up {
                    b.scale_up = r;
                } else {
                    b.scale_down = r;
                }
                b
            });
            let (mut up_events, mut down_events) = if up {
                (previous.clone(), vec![])
            } else {
                (vec![], previous.clone())
            };
            let mine = if up { &up_events } else { &down_events };
            assert_eq!(
                get_replicas_change_per_period(s(60), mine, t(NOW)),
                change,
                "TestStoreScaleEvents/{name} (up: {up})"
            );
            let new = if up { 15 } else { 5 };
            store_scale_event(behavior.as_ref(), &mut up_events, &mut down_events, t(NOW), 10, new);
            let mine = if up { &up_events } else { &down_events };
            let got: Vec<(i32, bool)> = mine.iter().map(|e| (e.change, e.outdated)).collect();
            assert_eq!(got, expected, "TestStoreScaleEvents/{name} (up: {up})");
        }
    }
}

#[test]
fn test_normalize_desired_replicas_with_behavior() {
    // TestNormalizeDesiredReplicasWithBehavior: stabilizeRecommendationWithBehaviors;
    // (name, log, current, proposed, stabilized, stored values, up window, down window).
    type Row = (&'static str, Vec<Recommendation>, i32, i32, i32, Vec<i32>, u64, u64);
    let rows: Vec<Row> = vec![
        (
            "empty recommendations for scaling down",
            vec![],
            100,
            5,
            5,
            vec![5],
            0,
            0,
        ),
        (
            "simple scale down stabilization",
            vec![rec(4, 2 * MIN), rec(5, MIN)],
            100,
            3,
            5,
            vec![4, 5, 3],
            0,
            3 * MIN,
        ),
        (
            "simple scale up stabilization",
            vec![rec(4, 2 * MIN), rec(5, MIN)],
            1,
            7,
            4,
            vec![4, 5, 7],
            5 * MIN,
            0,
        ),
        (
            "no scale down stabilization",
            vec![rec(1, 2 * MIN), rec(2, MIN)],
            100,
            3,
            3,
            vec![1, 2, 3],
            5 * MIN,
            0,
        ),
        (
            "no scale up stabilization",
            vec![rec(4, 2 * MIN), rec(5, MIN)],
            1,
            3,
            3,
            vec![4, 5, 3],
            0,
            5 * MIN,
        ),
        (
            "no scale down stabilization, reuse recommendation element",
            vec![rec(10, 10 * MIN), rec(9, 9 * MIN)],
            100,
            3,
            3,
            vec![10, 3],
            0,
            0,
        ),
        (
            "no scale up stabilization, reuse recommendation element",
            vec![rec(10, 10 * MIN), rec(9, 9 * MIN)],
            1,
            100,
            100,
            vec![10, 100],
            0,
            0,
        ),
        (
            "scale down stabilization, reuse one of obsolete recommendation element",
            vec![rec(10, 10 * MIN), rec(4, MIN), rec(5, 2 * MIN), rec(9, 9 * MIN)],
            100,
            3,
            5,
            vec![10, 4, 5, 3],
            0,
            3 * MIN,
        ),
        (
            "scale up stabilization, reuse one of obsolete recommendation element",
            vec![rec(10, 100 * MIN), rec(6, MIN), rec(5, 2 * MIN), rec(9, 3 * MIN)],
            1,
            100,
            5,
            vec![100, 6, 5, 9],
            300,
            0,
        ),
    ];
    assert_eq!(rows.len(), 9);
    for (name, mut log, current, proposed, expected, stored, up, down) in rows {
        let (got, _) = stabilize_recommendation_with_behaviors(&mut log, t(NOW), current, proposed, s(up), s(down));
        assert_eq!(got, expected, "TestNormalizeDesiredReplicasWithBehavior/{name}");
        let values: Vec<i32> = log.iter().map(|r| r.replicas).collect();
        assert_eq!(values, stored, "TestNormalizeDesiredReplicasWithBehavior/{name}");
    }
}

// ---- horizontal_test.go: whole-controller cases (`testCase{...}.runTest`) ----

/// A metric of a `testCase` (the `CPUTarget` or one of `metricsTarget`).
#[derive(Clone, Copy)]
enum Spec {
    /// `CPUTarget`: Resource cpu, `averageUtilization`.
    Cpu(i32),
    /// ContainerResource cpu of one container, `averageUtilization` (the
    /// harness splits each pod's request and level evenly over its two containers).
    ContainerCpu(i32),
    /// Pods `qps`, `averageValue` (milli).
    Qps(i64),
    /// Object `qps`, `value` (milli).
    ObjectValue(i64),
    /// Object `qps`, `averageValue` (milli).
    ObjectAverage(i64),
    /// External `qps`, `value` (milli).
    ExternalValue(i64),
    /// External `qps`, `averageValue` (milli).
    ExternalAverage(i64),
    /// `Type: "CheddarCheese"`: an invalid metric source.
    Invalid,
    /// A metric whose fetch fails (the test's fake metrics client answers
    /// "something went wrong"): it yields no proposal.
    Failed,
}

struct ControllerCase {
    name: &'static str,
    min: i32,
    max: i32,
    spec_replicas: i32,
    status_replicas: i32,
    metrics: Vec<Spec>,
    /// `reportedLevels`: per pod for pod metrics, the object's or external value otherwise.
    levels: Vec<i64>,
    /// `reportedCPURequests` (milli); `None`: `statusReplicas` pods of 1.0.
    requests: Option<Vec<i64>>,
    pods: Pods,
    /// `scaleUpRules` (a behavior is set when given; the scale-down rules default).
    scale_up_rules: Option<ScalingRules>,
    /// `recommendations`: `None` is nil (the first reconcile records the
    /// current size), `Some` an existing list.
    recommendations: Option<Vec<Recommendation>>,
    expected: i32,
}

/// `prepareTestClient`'s pods: `len(reportedCPURequests)` (else
/// `statusReplicas`) pods, each request split over two containers as
/// `MilliValue()/2`, Ready since their start time, CPU samples of
/// `level/2` per container taken now over a minute.
fn run_controller(c: &ControllerCase) -> Decision {
    let requests = c
        .requests
        .clone()
        .unwrap_or_else(|| vec![1000; c.status_replicas as usize]);
    let mut pods_spec = c.pods.clone();
    pods_spec.current = requests.len() as i32;
    let cfg = ControllerConfig {
        scale_up_limit_factor: 8.0,
        ..calc_cfg()
    };
    let behavior = c.scale_up_rules.clone().map(|up| Behavior {
        scale_up: up,
        scale_down: ScalingRules::default_scale_down(&cfg),
    });
    let spec = HpaSpec {
        min_replicas: c.min,
        max_replicas: c.max,
        behavior,
        controller: cfg,
    };
    let mut hpa = match &c.recommendations {
        None => Hpa::new(spec.clone()),
        Some(log) => Hpa::with_history(spec.clone(), log.clone(), vec![], vec![]),
    };
    let tol = spec.tolerances();
    let propose = || {
        c.metrics
            .iter()
            .map(|m| {
                let cpu_pods = |per_container: bool| {
                    let reqs: Vec<i64> = requests
                        .iter()
                        .map(|r| if per_container { r / 2 } else { r / 2 * 2 })
                        .collect();
                    let mut pods = pods_spec.build(&reqs);
                    for (p, s) in pods.iter_mut().zip(&pods_spec.start) {
                        if let Some(r) = p.ready.as_mut() {
                            // The Ready condition's LastTransitionTime is the start time.
                            r.last_transition = match s {
                                Start::Zero => t(0),
                                Start::Hot => t(NOW),
                                Start::Cool => t(NOW - 180),
                            };
                        }
                    }
                    let samples: Vec<Option<Sample>> = (0..pods.len())
                        .map(|i| {
                            c.levels.get(i).map(|l| Sample {
                                value_milli: if per_container { l / 2 } else { l / 2 * 2 },
                                timestamp: t(NOW),
                                window: s(60),
                            })
                        })
                        .collect();
                    (pods, samples)
                };
                match *m {
                    Spec::Cpu(target) | Spec::ContainerCpu(target) => {
                        let (pods, samples) = cpu_pods(matches!(m, Spec::ContainerCpu(_)));
                        let pm = PodMetrics {
                            pods: &pods,
                            samples: &samples,
                            cpu: true,
                        };
                        resource_replicas(c.spec_replicas, target, &pm, tol, t(NOW), &cfg)
                    }
                    Spec::Qps(target) => {
                        let pods = pods_spec.build(&requests);
                        let samples: Vec<Option<Sample>> = (0..pods.len())
                            .map(|i| c.levels.get(i).copied().and_then(zero_time_sample))
                            .collect();
                        let pm = PodMetrics {
                            pods: &pods,
                            samples: &samples,
                            cpu: false,
                        };
                        plain_replicas(c.spec_replicas, target, &pm, tol, t(NOW), &cfg)
                    }
                    Spec::ObjectValue(target) | Spec::ExternalValue(target) => object_value_replicas(
                        c.spec_replicas,
                        c.levels.iter().sum(),
                        target,
                        pods_spec.ready_count(),
                        tol,
                    ),
                    Spec::ObjectAverage(target) | Spec::ExternalAverage(target) => {
                        object_average_replicas(c.status_replicas, c.levels.iter().sum(), target, tol)
                    }
                    Spec::Invalid | Spec::Failed => Err(MetricError::NoMetrics),
                }
            })
            .collect()
    };
    hpa.reconcile(t(NOW), c.spec_replicas, propose)
}

fn controller_case(
    name: &'static str,
    (min, max, spec_replicas, status_replicas): (i32, i32, i32, i32),
    metrics: Vec<Spec>,
    levels: Vec<i64>,
    requests: Option<Vec<i64>>,
    expected: i32,
) -> ControllerCase {
    ControllerCase {
        name,
        min,
        max,
        spec_replicas,
        status_replicas,
        metrics,
        levels,
        requests,
        pods: Pods::default(),
        scale_up_rules: None,
        recommendations: None,
        expected,
    }
}

impl ControllerCase {
    fn pods(mut self, readiness: &[bool], start: &[Start], phase: &[PodPhase], deleting: &[bool]) -> Self {
        self.pods = pods(0, readiness, start, phase, deleting);
        self
    }

    /// `recommendations: []timestampedRecommendation{}`.
    fn no_history(mut self) -> Self {
        self.recommendations = Some(vec![]);
        self
    }
}

fn controller_cases() -> Vec<ControllerCase> {
    use Spec::*;
    let r = |n: usize| Some(vec![1000; n]);
    let down5 = vec![100, 300, 500, 250, 250];
    vec![
        controller_case("TestScaleUp", (2, 6, 3, 3), vec![Cpu(30)], vec![300, 500, 700], r(3), 5),
        controller_case(
            "TestScaleUpContainer",
            (2, 6, 3, 3),
            vec![ContainerCpu(30)],
            vec![300, 500, 700],
            r(3),
            5,
        ),
        controller_case(
            "TestScaleUpUnreadyLessScale",
            (2, 6, 3, 3),
            vec![Cpu(30)],
            vec![300, 500, 700],
            r(3),
            4,
        )
        .pods(&[F, T, T], &[], &[], &[]),
        controller_case(
            "TestScaleUpHotCpuLessScale",
            (2, 6, 3, 3),
            vec![Cpu(30)],
            vec![300, 500, 700],
            r(3),
            4,
        )
        .pods(&[], &[Hot, Cool, Cool], &[], &[]),
        controller_case(
            "TestScaleUpUnreadyNoScale",
            (2, 6, 3, 3),
            vec![Cpu(30)],
            vec![400, 500, 700],
            r(3),
            3,
        )
        .pods(&[T, F, F], &[], &[], &[]),
        controller_case(
            "TestScaleUpHotCpuNoScale",
            (2, 6, 3, 3),
            vec![Cpu(30)],
            vec![400, 500, 700],
            r(3),
            3,
        )
        .pods(&[T, F, F], &[Cool, Hot, Hot], &[], &[]),
        controller_case(
            "TestScaleUpDeployment",
            (2, 6, 3, 3),
            vec![Cpu(30)],
            vec![300, 500, 700],
            r(3),
            5,
        ),
        controller_case(
            "TestScaleUpReplicaSet",
            (2, 6, 3, 3),
            vec![Cpu(30)],
            vec![300, 500, 700],
            r(3),
            5,
        ),
        controller_case(
            "TestScaleUpIgnoresFailedPods",
            (2, 6, 2, 2),
            vec![Cpu(30)],
            vec![500, 700],
            r(4),
            4,
        )
        .pods(&[T, T, F, F], &[], &[PR, PR, PF, PF], &[]),
        controller_case(
            "TestScaleUpIgnoresDeletionPods",
            (2, 6, 2, 2),
            vec![Cpu(30)],
            vec![500, 700],
            r(4),
            4,
        )
        .pods(&[T, T, F, F], &[], &[PR, PR, PR, PR], &[F, F, T, T]),
        controller_case(
            "TestScaleUpCM",
            (2, 6, 3, 3),
            vec![Qps(15000)],
            vec![20000, 10000, 30000],
            r(3),
            4,
        ),
        controller_case(
            "TestScaleUpCMUnreadyAndHotCpuNoLessScale",
            (2, 6, 3, 3),
            vec![Qps(15000)],
            vec![50000, 10000, 30000],
            r(3),
            6,
        )
        .pods(&[T, T, F], &[Cool, Cool, Hot], &[], &[]),
        controller_case(
            "TestScaleUpCMUnreadyandCpuHot",
            (2, 6, 3, 3),
            vec![Qps(15000)],
            vec![50000, 15000, 30000],
            r(3),
            6,
        )
        .pods(&[F, T, F], &[Hot, Cool, Hot], &[], &[]),
        controller_case(
            "TestScaleUpHotCpuNoScaleWouldScaleDown",
            (2, 6, 3, 3),
            vec![Qps(15000)],
            vec![50000, 15000, 30000],
            r(3),
            6,
        )
        .pods(&[], &[Hot, Cool, Hot], &[], &[]),
        controller_case(
            "TestScaleUpCMObject",
            (2, 6, 3, 3),
            vec![ObjectValue(15000)],
            vec![20000],
            None,
            4,
        ),
        controller_case(
            "TestScaleUpPerPodCMObject",
            (2, 6, 3, 3),
            vec![ObjectAverage(10000)],
            vec![40000],
            None,
            4,
        ),
        controller_case(
            "TestScaleUpCMExternal",
            (2, 6, 3, 3),
            vec![ExternalValue(6666)],
            vec![8600],
            None,
            4,
        ),
        controller_case(
            "TestScaleUpPerPodCMExternal",
            (2, 6, 3, 3),
            vec![ExternalAverage(2222)],
            vec![8600],
            None,
            4,
        ),
        controller_case("TestScaleDown", (2, 6, 5, 5), vec![Cpu(50)], down5.clone(), r(5), 3).no_history(),
        controller_case(
            "TestScaleDownContainerResource",
            (2, 6, 5, 5),
            vec![ContainerCpu(50)],
            down5.clone(),
            r(5),
            3,
        )
        .no_history(),
        ControllerCase {
            scale_up_rules: Some(generate_scaling_rules(0, 0, 100, 15, 30)),
            ..controller_case(
                "TestScaleDownWithScalingRules",
                (2, 6, 5, 5),
                vec![Cpu(50)],
                down5.clone(),
                r(5),
                3,
            )
            .no_history()
        },
        controller_case(
            "TestScaleUpOneMetricInvalid",
            (2, 6, 3, 3),
            vec![Cpu(30), Invalid],
            vec![300, 400, 500],
            r(3),
            4,
        ),
        // The only metric is an invalid source: nothing changes.
        controller_case(
            "TestScaleUpBothMetricsEmpty",
            (2, 6, 3, 3),
            vec![Invalid],
            vec![],
            r(3),
            3,
        ),
        controller_case(
            "TestScaleDownStabilizeInitialSize",
            (2, 6, 5, 5),
            vec![Cpu(50)],
            down5.clone(),
            r(5),
            5,
        ),
        controller_case(
            "TestScaleDownCM",
            (2, 6, 5, 5),
            vec![Qps(20000)],
            vec![12000; 5],
            r(5),
            3,
        )
        .no_history(),
        controller_case(
            "TestScaleDownCMObject",
            (2, 6, 5, 5),
            vec![ObjectValue(20000)],
            vec![12000],
            r(5),
            3,
        )
        .no_history(),
        controller_case(
            "TestScaleDownToZeroCMObject",
            (0, 6, 5, 5),
            vec![ObjectValue(20000)],
            vec![0],
            r(5),
            0,
        )
        .no_history(),
        controller_case(
            "TestScaleDownPerPodCMObject",
            (2, 6, 5, 5),
            vec![ObjectAverage(20000)],
            vec![60000],
            r(5),
            3,
        )
        .no_history(),
        controller_case(
            "TestScaleDownCMExternal",
            (2, 6, 5, 5),
            vec![ExternalValue(14400)],
            vec![8600],
            None,
            3,
        )
        .no_history(),
        controller_case(
            "TestScaleDownToZeroCMExternal",
            (0, 6, 5, 5),
            vec![ExternalValue(14400)],
            vec![0],
            None,
            0,
        )
        .no_history(),
        controller_case(
            "TestScaleDownPerPodCMExternal",
            (2, 6, 5, 5),
            vec![ExternalAverage(3000)],
            vec![8600],
            None,
            3,
        )
        .no_history(),
        controller_case(
            "TestScaleDownIncludeUnreadyPods",
            (2, 6, 5, 5),
            vec![Cpu(50)],
            down5.clone(),
            r(5),
            2,
        )
        .pods(&[T, T, T, F, F], &[], &[], &[])
        .no_history(),
        controller_case(
            "TestScaleDownIgnoreHotCpuPods",
            (2, 6, 5, 5),
            vec![Cpu(50)],
            down5.clone(),
            r(5),
            2,
        )
        .pods(&[], &[Cool, Cool, Cool, Hot, Hot], &[], &[])
        .no_history(),
        controller_case(
            "TestScaleDownIgnoresFailedPods",
            (2, 6, 5, 5),
            vec![Cpu(50)],
            down5.clone(),
            r(7),
            3,
        )
        .pods(&[T, T, T, T, T, F, F], &[], &[PR, PR, PR, PR, PR, PF, PF], &[])
        .no_history(),
        controller_case(
            "TestScaleDownIgnoresDeletionPods",
            (2, 6, 5, 5),
            vec![Cpu(50)],
            down5.clone(),
            r(7),
            3,
        )
        .pods(
            &[T, T, T, T, T, F, F],
            &[],
            &[PR, PR, PR, PR, PR, PR, PR],
            &[F, F, F, F, F, T, T],
        )
        .no_history(),
        controller_case(
            "TestTolerance",
            (1, 5, 3, 3),
            vec![Cpu(100)],
            vec![1010, 1030, 1020],
            Some(vec![900, 1000, 1100]),
            3,
        ),
        controller_case(
            "TestToleranceCM",
            (1, 5, 3, 3),
            vec![Qps(20000)],
            vec![20000, 20001, 21000],
            Some(vec![900, 1000, 1100]),
            3,
        ),
    ]
}

/// The `testCase{...}.runTest` tests after `TestToleranceCM`, in the file's order.
fn later_controller_cases() -> Vec<ControllerCase> {
    use Spec::*;
    let r = |n: usize| Some(vec![1000; n]);
    let reqs = |v: &[i64]| Some(v.to_vec());
    let down5 = vec![100, 300, 500, 250, 250];
    // TestComputedToleranceAlgImplementation's derivation, in its own order.
    let start_pods = 10i32;
    let total_used = i64::from(start_pods * 150);
    let total_requested = (2 * total_used) as i32;
    let requested_to_used = f64::from(total_requested / total_used as i32);
    let per_pod = i64::from(total_requested / start_pods);
    let target1 = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.01;
    let final_target1 = (target1 * 100.0) as i32;
    let used_ratio = total_used as f64 / (f64::from(total_requested) * target1);
    let final_pods = (used_ratio * f64::from(start_pods)).ceil() as i32;
    let target2 = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.004;
    let final_target2 = (target2 * 100.0) as i32;
    let alg_requests = vec![
        per_pod + 100,
        per_pod - 100,
        per_pod + 10,
        per_pod - 10,
        per_pod + 2,
        per_pod - 2,
        per_pod + 1,
        per_pod - 1,
        per_pod,
        per_pod,
    ];
    let alg_levels = vec![total_used / 10; 10];
    vec![
        controller_case(
            "TestToleranceCMObject",
            (1, 5, 3, 3),
            vec![ObjectValue(20000)],
            vec![20050],
            reqs(&[900, 1000, 1100]),
            3,
        ),
        controller_case(
            "TestToleranceCMExternal",
            (2, 6, 4, 4),
            vec![ExternalValue(8666)],
            vec![8600],
            None,
            4,
        ),
        controller_case(
            "TestTolerancePerPodCMObject",
            (2, 6, 4, 4),
            vec![ObjectAverage(2200)],
            vec![8600],
            None,
            4,
        ),
        controller_case(
            "TestTolerancePerPodCMExternal",
            (2, 6, 4, 4),
            vec![ExternalAverage(2200)],
            vec![8600],
            None,
            4,
        ),
        controller_case(
            "TestMinReplicas",
            (2, 5, 3, 3),
            vec![Cpu(90)],
            vec![10, 95, 10],
            reqs(&[900, 1000, 1100]),
            2,
        )
        .no_history(),
        controller_case(
            "TestZeroMinReplicasDesiredZero",
            (0, 5, 3, 3),
            vec![Cpu(90)],
            vec![0, 0, 0],
            reqs(&[900, 1000, 1100]),
            0,
        )
        .no_history(),
        controller_case(
            "TestMinReplicasDesiredZero",
            (2, 5, 3, 3),
            vec![Cpu(90)],
            vec![0, 0, 0],
            reqs(&[900, 1000, 1100]),
            2,
        )
        .no_history(),
        // Scaled to zero with minReplicas 3: autoscaling is disabled.
        controller_case("TestZeroReplicas", (3, 5, 0, 0), vec![Cpu(90)], vec![], reqs(&[]), 0),
        controller_case("TestTooFewReplicas", (3, 5, 2, 2), vec![Cpu(90)], vec![], reqs(&[]), 3),
        controller_case(
            "TestTooManyReplicas",
            (3, 5, 10, 10),
            vec![Cpu(90)],
            vec![],
            reqs(&[]),
            5,
        ),
        controller_case(
            "TestMaxReplicas",
            (2, 5, 3, 3),
            vec![Cpu(90)],
            vec![8000, 9500, 1000],
            reqs(&[900, 1000, 1100]),
            5,
        ),
        // Six samples for four pods: as in upstream's `GetResourceUtilizationRatio`
        // (a sample without a pod request is skipped), only the four pods' samples count.
        controller_case(
            "TestSuperfluousMetrics",
            (2, 6, 4, 4),
            vec![Cpu(100)],
            vec![4000, 9500, 3000, 7000, 3200, 2000],
            r(4),
            6,
        ),
        controller_case(
            "TestMissingMetrics",
            (2, 6, 4, 4),
            vec![Cpu(100)],
            vec![400, 95],
            r(4),
            3,
        )
        .no_history(),
        // No samples at all: the metric fails and nothing changes.
        controller_case("TestEmptyMetrics", (2, 6, 4, 4), vec![Cpu(100)], vec![], r(4), 4),
        // `reportedCPURequests: []` makes the pod list empty ("no pods returned
        // by selector"): the metric fails and nothing changes.
        controller_case(
            "TestEmptyCPURequest",
            (1, 5, 1, 1),
            vec![Cpu(100)],
            vec![200],
            reqs(&[]),
            1,
        ),
        controller_case(
            "TestEventCreated",
            (1, 5, 1, 1),
            vec![Cpu(50)],
            vec![200],
            reqs(&[200]),
            2,
        ),
        controller_case(
            "TestEventNotCreated",
            (1, 5, 2, 2),
            vec![Cpu(50)],
            vec![200, 200],
            reqs(&[400, 400]),
            2,
        ),
        controller_case(
            "TestMissingReports",
            (1, 5, 4, 4),
            vec![Cpu(50)],
            vec![200],
            reqs(&[200]),
            2,
        )
        .no_history(),
        ControllerCase {
            scale_up_rules: Some(generate_scaling_rules(0, 0, 700, 60, 0)),
            ..controller_case(
                "TestUpscaleCap",
                (1, 100, 3, 3),
                vec![Cpu(10)],
                vec![100, 200, 300],
                reqs(&[100, 100, 100]),
                24,
            )
        },
        ControllerCase {
            scale_up_rules: Some(generate_scaling_rules(0, 0, 700, 60, 0)),
            ..controller_case(
                "TestUpscaleCapGreaterThanMaxReplicas",
                (1, 20, 3, 3),
                vec![Cpu(10)],
                vec![100, 200, 300],
                reqs(&[100, 100, 100]),
                20,
            )
        },
        // statusReplicas 5 (a rolling update's surge) against specReplicas 4.
        controller_case(
            "TestMoreReplicasThanSpecNoScale",
            (1, 8, 4, 5),
            vec![Cpu(50)],
            vec![500; 5],
            r(5),
            4,
        ),
        controller_case(
            "TestConditionFailedGetMetrics/FailedGetResourceMetric",
            (1, 100, 3, 3),
            vec![Failed],
            vec![100, 200, 300],
            reqs(&[100, 100, 100]),
            3,
        ),
        controller_case(
            "TestConditionFailedGetMetrics/FailedGetPodsMetric",
            (1, 100, 3, 3),
            vec![Failed],
            vec![100, 200, 300],
            reqs(&[100, 100, 100]),
            3,
        ),
        controller_case(
            "TestConditionFailedGetMetrics/FailedGetObjectMetric",
            (1, 100, 3, 3),
            vec![Failed],
            vec![100, 200, 300],
            reqs(&[100, 100, 100]),
            3,
        ),
        controller_case(
            "TestConditionFailedGetMetrics/FailedGetExternalMetric",
            (1, 100, 3, 3),
            vec![Failed],
            vec![100, 200, 300],
            reqs(&[100, 100, 100]),
            3,
        ),
        controller_case(
            "TestConditionInvalidSourceType",
            (2, 6, 3, 3),
            vec![Invalid],
            vec![20000],
            None,
            3,
        ),
        controller_case(
            "TestNoBackoffUpscaleCM",
            (1, 5, 3, 3),
            vec![Qps(15000)],
            vec![20000, 10000, 30000],
            r(3),
            4,
        ),
        controller_case(
            "TestNoBackoffUpscaleCMNoBackoffCpu",
            (1, 5, 3, 3),
            vec![Cpu(10), Qps(15000)],
            vec![20000, 10000, 30000],
            r(3),
            5,
        ),
        ControllerCase {
            recommendations: Some(vec![rec(10, 10 * MIN), rec(4, MIN)]),
            ..controller_case(
                "TestStabilizeDownscale",
                (1, 5, 4, 4),
                vec![Cpu(100)],
                vec![50, 50, 50],
                reqs(&[100, 100, 100]),
                4,
            )
        },
        controller_case(
            "TestComputedToleranceAlgImplementation/tc1",
            (0, 1000, start_pods, start_pods),
            vec![Cpu(final_target1)],
            alg_levels.clone(),
            Some(alg_requests.clone()),
            final_pods,
        )
        .no_history(),
        controller_case(
            "TestComputedToleranceAlgImplementation/tc2",
            (0, 1000, start_pods, start_pods),
            vec![Cpu(final_target2)],
            alg_levels,
            Some(alg_requests),
            start_pods,
        )
        .no_history(),
        // No metric target (upstream defaults an empty CPU metric): below
        // minReplicas the metrics are not read.
        controller_case("TestScaleUpRCImmediately", (2, 6, 1, 1), vec![], vec![0; 4], r(4), 2),
        controller_case(
            "TestScaleDownRCImmediately",
            (2, 5, 6, 6),
            vec![Cpu(50)],
            vec![8000, 9500, 1000],
            reqs(&[900, 1000, 1100]),
            5,
        ),
        controller_case(
            "TestScaleUpOneMetricEmpty",
            (2, 6, 3, 3),
            vec![Cpu(30), Failed],
            vec![300, 400, 500],
            r(3),
            4,
        ),
        // In this file version the 5 of the next two comes from the first
        // reconcile's stabilization (`recommendations` unset), whatever the
        // combining rule; see `tests.rs::combining_metrics` for the rule.
        controller_case(
            "TestNoScaleDownOneMetricInvalid",
            (2, 6, 5, 5),
            vec![Cpu(50), Invalid],
            down5.clone(),
            r(5),
            5,
        ),
        controller_case(
            "TestNoScaleDownOneMetricEmpty",
            (2, 6, 5, 5),
            vec![Cpu(50), Failed],
            down5,
            r(5),
            5,
        ),
    ]
}

#[test]
fn horizontal_controller_cases() {
    // testCase{...}.runTest, through Hpa::reconcile; only the desired replica
    // count is compared (upstream also checks API writes, events and conditions).
    let cases = controller_cases();
    assert_eq!(cases.len(), 37);
    for c in &cases {
        assert_eq!(run_controller(c).desired, c.expected, "{}", c.name);
    }
}

#[test]
fn horizontal_controller_later_cases() {
    // The `testCase{...}.runTest` tests after TestToleranceCM, as above.
    let cases = later_controller_cases();
    assert_eq!(cases.len(), 36);
    for c in &cases {
        assert_eq!(run_controller(c).desired, c.expected, "{}", c.name);
    }
}
