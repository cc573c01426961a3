//! The Kubernetes HorizontalPodAutoscaler (autoscaling/v2), as the upstream
//! controller computes it.
//!
//! Two layers, both pure:
//!
//! - the **replica calculation** ([`resource_replicas`], [`plain_replicas`],
//!   [`object_value_replicas`], [`object_average_replicas`], [`combine`]):
//!   pods, their samples and a target in, a replica proposal out
//!   (`replica_calculator.go`, `metrics/utilization.go`);
//! - the **controller** ([`Hpa::reconcile`]): min/max handling, the legacy
//!   stabilization and `max(factor × current, minimum)` cap (2×/4 by
//!   default) when `behavior` is absent, or stabilization windows and
//!   Pods/Percent rate policies when it is present (`horizontal.go`).
//!   Every step is a public function named after the upstream one it
//!   mirrors ([`stabilize_recommendation`],
//!   [`stabilize_recommendation_with_behaviors`],
//!   [`convert_desired_replicas_with_rules`], [`calculate_scale_up_limit`],
//!   [`convert_desired_replicas_with_behavior_rate`],
//!   [`calculate_scale_up_limit_with_scaling_rules`],
//!   [`calculate_scale_down_limit_with_behaviors`],
//!   [`get_replicas_change_per_period`], [`store_scale_event`]), and
//!   `reconcile` is only their composition, so the upstream test tables
//!   (`hpa/upstream_tests.rs`) run against the code the simulation runs.
//!
//! Quantities are integers in milli-units, as Kubernetes keeps them; ratios
//! are `f64` evaluated in the controller's order, so results match it even
//! where float rounding decides (70% against 30% on 27 pods gives 64).
//! Time windows count records strictly newer than `now − window`, except
//! the legacy stabilization window, which keeps a record exactly `window` old.

use crate::engine::{SimDuration, SimTime};

/// Pod phase as the HPA sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Failed,
}

/// The pod's `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyCondition {
    pub ready: bool,
    pub last_transition: SimTime,
}

/// One pod selected by the HPA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pod {
    pub phase: PodPhase,
    /// Has a deletion timestamp (terminating).
    pub deleting: bool,
    pub ready: Option<ReadyCondition>,
    pub start_time: Option<SimTime>,
    /// Sum of the containers' requests for the metric's resource, in milli-units.
    pub request_milli: i64,
}

/// One pod's metric sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub value_milli: i64,
    pub timestamp: SimTime,
    /// The window the sample averages over.
    pub window: SimDuration,
}

/// Scale-up and scale-down tolerances: no change while
/// `1 − down ≤ ratio ≤ 1 + up` (both ends inclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    pub up: f64,
    pub down: f64,
}

impl Tolerances {
    pub const DEFAULT: Tolerances = Tolerances { up: 0.1, down: 0.1 };

    pub fn is_within(self, ratio: f64) -> bool {
        1.0 - self.down <= ratio && ratio <= 1.0 + self.up
    }
}

/// Controller-wide settings (kube-controller-manager flags).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControllerConfig {
    /// `--horizontal-pod-autoscaler-sync-period`.
    pub sync_period: SimDuration,
    /// `--horizontal-pod-autoscaler-tolerance`.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period`.
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay`.
    pub initial_readiness_delay: SimDuration,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`.
    pub downscale_stabilization: SimDuration,
    /// `scaleUpLimitFactor` (horizontal.go, 2): the legacy path's per-sync
    /// scale-up cap is `max(factor × current, minimum)`. Used only when the
    /// HPA has no `behavior`; upstream's own tests set it to 8.
    pub scale_up_limit_factor: f64,
    /// `scaleUpLimitMinimum` (horizontal.go, 4), the floor of that cap.
    pub scale_up_limit_minimum: f64,
}

impl ControllerConfig {
    /// The kube-controller-manager defaults.
    pub const DEFAULT: ControllerConfig = ControllerConfig {
        sync_period: SimDuration(15_000_000_000),
        tolerance: 0.1,
        cpu_initialization_period: SimDuration(300_000_000_000),
        initial_readiness_delay: SimDuration(30_000_000_000),
        downscale_stabilization: SimDuration(300_000_000_000),
        scale_up_limit_factor: 2.0,
        scale_up_limit_minimum: 4.0,
    };
}

/// Why a metric produced no proposal (the HPA's `ScalingActive=False` reasons).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricError {
    NoPods,
    /// "did not receive metrics for targeted pods (pods might be unready)".
    NoMetrics,
    /// "no metrics returned matched known pods".
    NoRequests,
}

/// A proposal from one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proposal {
    pub replicas: i32,
    /// The value the HPA reports: utilization %, or the per-pod or total value in milli-units.
    pub current: i64,
    /// The usage ratio before any rebalancing of missing or unready pods.
    pub ratio: f64,
}

/// Where `groupPods` puts a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Ready,
    /// Pending, or (CPU only) initializing or never ready: its sample is dropped.
    Unready,
    /// No sample.
    Missing,
    /// Deleting or failed: not counted anywhere.
    Ignored,
}

/// The pods an HPA selects, with their samples for one metric (same order).
#[derive(Clone, Copy, Debug)]
pub struct PodMetrics<'a> {
    pub pods: &'a [Pod],
    pub samples: &'a [Option<Sample>],
    /// Whether the metric is CPU (only CPU looks at readiness).
    pub cpu: bool,
}

/// `groupPods`: ignored (deleting or failed), unready (pending, or for CPU
/// still initializing or never ready), missing (no sample), or ready.
pub fn group_pods(m: &PodMetrics, now: SimTime, cfg: &ControllerConfig) -> Vec<Group> {
    m.pods
        .iter()
        .zip(m.samples)
        .map(|(pod, sample)| {
            if pod.deleting || pod.phase == PodPhase::Failed {
                return Group::Ignored;
            }
            if pod.phase == PodPhase::Pending {
                return Group::Unready;
            }
            let Some(sample) = sample else { return Group::Missing };
            if !m.cpu {
                return Group::Ready;
            }
            let unready = match (pod.ready, pod.start_time) {
                (Some(condition), Some(start)) => {
                    if start + cfg.cpu_initialization_period > now {
                        // Still initializing: unready, or no full window since it became ready.
                        !condition.ready || sample.timestamp < condition.last_transition + sample.window
                    } else {
                        // Unready and never became ready after starting.
                        !condition.ready && start + cfg.initial_readiness_delay > condition.last_transition
                    }
                }
                _ => true,
            };
            if unready { Group::Unready } else { Group::Ready }
        })
        .collect()
}

fn count(groups: &[Group], which: Group) -> usize {
    groups.iter().filter(|g| **g == which).count()
}

/// `GetResourceUtilizationRatio`: integer utilization of the sums, then the ratio.
fn utilization_ratio(values: &[(i64, i64)], target_utilization: i32) -> Result<(f64, i64, i64), MetricError> {
    let (mut usage, mut requests) = (0i64, 0i64);
    for (value, request) in values {
        usage += value;
        requests += request;
    }
    if requests == 0 {
        return Err(MetricError::NoRequests);
    }
    let utilization = i64::from((usage * 100 / requests) as i32);
    let raw_average = usage / values.len() as i64;
    Ok((
        utilization as f64 / f64::from(target_utilization),
        utilization,
        raw_average,
    ))
}

/// `GetMetricUsageRatio`: integer average, then the ratio.
fn usage_ratio(values: &[i64], target_milli: i64) -> (f64, i64) {
    let average = values.iter().sum::<i64>() / values.len() as i64;
    (average as f64 / target_milli as f64, average)
}

/// `ceil(ratio × count)` as the controller writes it: `int32(math.Ceil(...))`.
fn ceil_times(ratio: f64, count: usize) -> i32 {
    (ratio * count as f64).ceil() as i32
}

/// `GetResourceReplicas`: a Resource metric with an `averageUtilization`
/// target (percent of the pods' requests).
pub fn resource_replicas(
    current: i32,
    target_utilization: i32,
    m: &PodMetrics,
    tolerances: Tolerances,
    now: SimTime,
    cfg: &ControllerConfig,
) -> Result<Proposal, MetricError> {
    if m.pods.is_empty() {
        return Err(MetricError::NoPods);
    }
    let groups = group_pods(m, now, cfg);
    // Metrics of ignored and unready pods are dropped: ready pods' samples remain.
    let sample_of = |i: usize| m.samples[i].map_or(0, |s| s.value_milli);
    let request_of = |i: usize| m.pods[i].request_milli;
    let groups = &groups;
    let in_group = |which: Group| (0..m.pods.len()).filter(move |&i| groups[i] == which);
    let mut values: Vec<(i64, i64)> = in_group(Group::Ready).map(|i| (sample_of(i), request_of(i))).collect();
    if values.is_empty() {
        return Err(MetricError::NoMetrics);
    }
    let (ratio, utilization, _) = utilization_ratio(&values, target_utilization)?;
    let proposal = |replicas| Proposal {
        replicas,
        current: utilization,
        ratio,
    };
    let (ready, unready, missing) = (
        count(groups, Group::Ready),
        count(groups, Group::Unready),
        count(groups, Group::Missing),
    );
    let scale_up_with_unready = unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && missing == 0 {
        if tolerances.is_within(ratio) {
            return Ok(proposal(current));
        }
        return Ok(proposal(ceil_times(ratio, ready)));
    }
    if ratio < 1.0 {
        // Scale-down: a missing pod counts as using max(100%, target) of its request.
        let fallback = i64::from(target_utilization.max(100));
        values.extend(in_group(Group::Missing).map(|i| (request_of(i) * fallback / 100, request_of(i))));
    } else if ratio > 1.0 {
        values.extend(in_group(Group::Missing).map(|i| (0, request_of(i))));
    }
    if scale_up_with_unready {
        values.extend(in_group(Group::Unready).map(|i| (0, request_of(i))));
    }
    let (new_ratio, _, _) = utilization_ratio(&values, target_utilization)?;
    Ok(proposal(
        rebalanced(current, ratio, new_ratio, values.len(), tolerances).unwrap_or(current),
    ))
}

/// The shared tail of the resource and plain calculations once missing and
/// unready pods are filled in; `None` keeps the current count (inside the
/// tolerance, or the fill-in would reverse the direction).
fn rebalanced(current: i32, ratio: f64, new_ratio: f64, count: usize, tolerances: Tolerances) -> Option<i32> {
    if tolerances.is_within(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return None;
    }
    let replicas = ceil_times(new_ratio, count);
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return None;
    }
    Some(replicas)
}

/// `calcPlainMetricReplicas`: a Pods metric, or a Resource metric with an
/// `averageValue` target, in milli-units per pod.
pub fn plain_replicas(
    current: i32,
    target_milli: i64,
    m: &PodMetrics,
    tolerances: Tolerances,
    now: SimTime,
    cfg: &ControllerConfig,
) -> Result<Proposal, MetricError> {
    if m.pods.is_empty() {
        return Err(MetricError::NoPods);
    }
    let groups = group_pods(m, now, cfg);
    let mut values: Vec<i64> = (0..m.pods.len())
        .filter(|&i| groups[i] == Group::Ready)
        .map(|i| m.samples[i].map_or(0, |s| s.value_milli))
        .collect();
    if values.is_empty() {
        return Err(MetricError::NoMetrics);
    }
    let (ratio, average) = usage_ratio(&values, target_milli);
    let proposal = |replicas| Proposal {
        replicas,
        current: average,
        ratio,
    };
    let (ready, unready, missing) = (
        count(&groups, Group::Ready),
        count(&groups, Group::Unready),
        count(&groups, Group::Missing),
    );
    let scale_up_with_unready = unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && missing == 0 {
        if tolerances.is_within(ratio) {
            return Ok(proposal(current));
        }
        return Ok(proposal(ceil_times(ratio, ready)));
    }
    // Scale-down: a missing pod counts as exactly at target; scale-up: as
    // zero; at a ratio of exactly 1 it is left out (upstream since the
    // missing-pods fill-in became direction-only, as `resource_replicas` does).
    if ratio < 1.0 {
        values.extend(std::iter::repeat_n(target_milli, missing));
    } else if ratio > 1.0 {
        values.extend(std::iter::repeat_n(0, missing));
    }
    if scale_up_with_unready {
        values.extend(std::iter::repeat_n(0, unready));
    }
    let (new_ratio, _) = usage_ratio(&values, target_milli);
    Ok(proposal(
        rebalanced(current, ratio, new_ratio, values.len(), tolerances).unwrap_or(current),
    ))
}

/// `getUsageRatioReplicaCount`: an Object or External metric with a `value`
/// target. `ready_pods` counts running, ready pods.
pub fn object_value_replicas(
    current: i32,
    value_milli: i64,
    target_milli: i64,
    ready_pods: usize,
    tolerances: Tolerances,
) -> Result<Proposal, MetricError> {
    let ratio = value_milli as f64 / target_milli as f64;
    let replicas = if current != 0 {
        if tolerances.is_within(ratio) {
            current
        } else {
            ceil_times(ratio, ready_pods)
        }
    } else {
        // Scale from zero: no tolerance.
        ratio.ceil() as i32
    };
    Ok(Proposal {
        replicas,
        current: value_milli,
        ratio,
    })
}

/// `GetObjectPerPodMetricReplicas` / `GetExternalPerPodMetricReplicas`: an
/// Object or External metric with an `averageValue` target; `status_replicas`
/// is the workload's current pod count (`status.replicas`), which is also
/// what it proposes inside the tolerance (not the spec's replicas).
pub fn object_average_replicas(
    status_replicas: i32,
    total_milli: i64,
    target_average_milli: i64,
    tolerances: Tolerances,
) -> Result<Proposal, MetricError> {
    let ratio = total_milli as f64 / (target_average_milli as f64 * f64::from(status_replicas));
    let replicas = if tolerances.is_within(ratio) {
        status_replicas
    } else {
        (total_milli as f64 / target_average_milli as f64).ceil() as i32
    };
    let average = (total_milli as f64 / f64::from(status_replicas)).ceil() as i64;
    Ok(Proposal {
        replicas,
        current: average,
        ratio,
    })
}

/// `computeReplicasForMetrics` (after each metric's proposal): the largest valid proposal, or `None` when
/// every metric failed, or when some failed and the rest would scale down.
pub fn combine(proposals: &[Result<Proposal, MetricError>], spec_replicas: i32) -> Option<i32> {
    let mut replicas = 0;
    let mut invalid = 0;
    for p in proposals {
        match p {
            Ok(p) if replicas == 0 || p.replicas > replicas => replicas = p.replicas,
            Ok(_) => {}
            Err(_) => invalid += 1,
        }
    }
    if invalid >= proposals.len() || (invalid > 0 && replicas < spec_replicas) {
        None
    } else {
        Some(replicas)
    }
}

/// A scaling policy: at most `value` pods or percent per `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Pods { value: i32, period: SimDuration },
    Percent { value: i32, period: SimDuration },
}

impl Policy {
    pub fn period(self) -> SimDuration {
        match self {
            Policy::Pods { period, .. } | Policy::Percent { period, .. } => period,
        }
    }
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

/// `behavior.scaleUp` or `behavior.scaleDown`, with defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingRules {
    pub stabilization_window: SimDuration,
    pub select_policy: SelectPolicy,
    pub policies: Vec<Policy>,
    /// Per-direction tolerance (`HPAConfigurableTolerance`); `None` = the controller's.
    pub tolerance: Option<f64>,
}

impl ScalingRules {
    /// `scaleUp` defaults: no window, Max of 4 pods and 100% per 15 s.
    pub fn default_scale_up() -> ScalingRules {
        ScalingRules {
            stabilization_window: SimDuration::ZERO,
            select_policy: SelectPolicy::Max,
            policies: vec![
                Policy::Pods {
                    value: 4,
                    period: SimDuration::from_secs(15),
                },
                Policy::Percent {
                    value: 100,
                    period: SimDuration::from_secs(15),
                },
            ],
            tolerance: None,
        }
    }

    /// `scaleDown` defaults: the controller's stabilization window, 100% per 15 s.
    pub fn default_scale_down(cfg: &ControllerConfig) -> ScalingRules {
        ScalingRules {
            stabilization_window: cfg.downscale_stabilization,
            select_policy: SelectPolicy::Max,
            policies: vec![Policy::Percent {
                value: 100,
                period: SimDuration::from_secs(15),
            }],
            tolerance: None,
        }
    }

    /// `getLongestPolicyPeriod`.
    pub fn longest_period(&self) -> SimDuration {
        self.policies
            .iter()
            .map(|p| p.period())
            .max()
            .unwrap_or(SimDuration::ZERO)
    }
}

/// `spec.behavior`.
#[derive(Clone, Debug, PartialEq)]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

/// What an HPA targets and how it normalizes.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// `None`: the legacy path (autoscaling/v1 semantics).
    pub behavior: Option<Behavior>,
    pub controller: ControllerConfig,
}

impl HpaSpec {
    /// Tolerances per direction: the behavior's, else the controller's.
    pub fn tolerances(&self) -> Tolerances {
        let t = self.controller.tolerance;
        match &self.behavior {
            Some(b) => Tolerances {
                up: b.scale_up.tolerance.unwrap_or(t),
                down: b.scale_down.tolerance.unwrap_or(t),
            },
            None => Tolerances { up: t, down: t },
        }
    }
}

/// Why the controller landed where it did (the `ScalingLimited` /
/// `AbleToScale` / `ScalingActive` condition reasons, and min/max handling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Current replicas 0 and minReplicas > 0: autoscaling is off.
    ScalingDisabled,
    /// Every metric failed, or some failed and the others would scale down.
    InvalidMetrics,
    /// Current above maxReplicas: set to max, no metrics.
    AboveMaxReplicas,
    /// Current below minReplicas: set to min, no metrics.
    BelowMinReplicas,
    DesiredWithinRange,
    ScaleUpLimit,
    ScaleDownLimit,
    TooManyReplicas,
    TooFewReplicas,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ScalingDisabled => "ScalingDisabled",
            Reason::InvalidMetrics => "InvalidMetrics",
            Reason::AboveMaxReplicas => "AboveMaxReplicas",
            Reason::BelowMinReplicas => "BelowMinReplicas",
            Reason::DesiredWithinRange => "DesiredWithinRange",
            Reason::ScaleUpLimit => "ScaleUpLimit",
            Reason::ScaleDownLimit => "ScaleDownLimit",
            Reason::TooManyReplicas => "TooManyReplicas",
            Reason::TooFewReplicas => "TooFewReplicas",
        }
    }
}

/// The `AbleToScale` condition reason after stabilization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stabilization {
    /// The recommendation passed through unchanged.
    ReadyForNewScale,
    /// Held down by the lowest recommendation of the scale-up window.
    ScaleUpStabilized,
    /// Held up by the highest recommendation of the scale-down window.
    ScaleDownStabilized,
}

impl Stabilization {
    pub fn as_str(self) -> &'static str {
        match self {
            Stabilization::ReadyForNewScale => "ReadyForNewScale",
            Stabilization::ScaleUpStabilized => "ScaleUpStabilized",
            Stabilization::ScaleDownStabilized => "ScaleDownStabilized",
        }
    }
}

/// One reconcile's outcome, for the decision log.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub current: i32,
    /// The combined metric proposal, when metrics were consulted and valid.
    pub proposed: Option<i32>,
    /// After stabilization.
    pub stabilized: Option<i32>,
    pub stabilization: Option<Stabilization>,
    pub desired: i32,
    /// The `ScalingLimited` reason, or why metrics were not consulted.
    pub reason: Reason,
}

impl Decision {
    pub fn rescale(&self) -> bool {
        self.desired != self.current
    }
}

/// `timestampedRecommendation`: one unstabilized metric proposal and when
/// it was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recommendation {
    pub replicas: i32,
    pub at: SimTime,
}

/// `timestampedScaleEvent`: a change of the replica count in one direction.
/// An event older than its direction's longest policy period is marked
/// outdated when the next event of that direction is stored, and the
/// newest outdated slot is then reused; until reused it still counts for
/// any period it falls in (a scale-down period longer than every scale-up
/// one counts old up-events too), exactly as upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    pub change: i32,
    pub at: SimTime,
    pub outdated: bool,
}

/// `t.After(now − window)`, without underflow at the start of a run.
fn after_cutoff(t: SimTime, now: SimTime, window: SimDuration) -> bool {
    i128::from(t.0) > i128::from(now.0) - i128::from(window.0)
}

/// `t.Before(now − window)`.
fn before_cutoff(t: SimTime, now: SimTime, window: SimDuration) -> bool {
    i128::from(t.0) < i128::from(now.0) - i128::from(window.0)
}

/// Records `proposed` in the stored recommendations: over the last record
/// `obsolete` says may go, else appended (both stabilizations store this way).
fn record_recommendation(
    recommendations: &mut Vec<Recommendation>,
    obsolete: Option<usize>,
    proposed: i32,
    now: SimTime,
) {
    let record = Recommendation {
        replicas: proposed,
        at: now,
    };
    match obsolete {
        Some(i) => recommendations[i] = record,
        None => recommendations.push(record),
    }
}

/// `stabilizeRecommendation` (the legacy path, no `behavior`): the highest
/// of `proposed` and every stored recommendation not older than `window`
/// (the `--horizontal-pod-autoscaler-downscale-stabilization` flag); a
/// record exactly `window` old still counts (`Before(cutoff)` drops it).
/// Stores `proposed` over the last record older than the window, else
/// appends it.
pub fn stabilize_recommendation(
    recommendations: &mut Vec<Recommendation>,
    now: SimTime,
    window: SimDuration,
    proposed: i32,
) -> i32 {
    let mut stabilized = proposed;
    let mut obsolete = None;
    for (i, r) in recommendations.iter().enumerate() {
        if before_cutoff(r.at, now, window) {
            obsolete = Some(i);
        } else if r.replicas > stabilized {
            stabilized = r.replicas;
        }
    }
    record_recommendation(recommendations, obsolete, proposed, now);
    stabilized
}

/// `stabilizeRecommendationWithBehaviors`: `current` raised to at most the
/// lowest recommendation of the scale-up window and lowered to at least the
/// highest of the scale-down window (`proposed` included in both; a record
/// counts while strictly newer than `now − window`). Stores `proposed` over
/// the last record older than both windows, else appends it. The reason is
/// `ReadyForNewScale` when the result is `proposed`, else
/// `ScaleUpStabilized` when `proposed ≥ current`, else `ScaleDownStabilized`
/// (as `normalizeDesiredReplicasWithBehaviors` sets the `AbleToScale` condition).
pub fn stabilize_recommendation_with_behaviors(
    recommendations: &mut Vec<Recommendation>,
    now: SimTime,
    current: i32,
    proposed: i32,
    up_window: SimDuration,
    down_window: SimDuration,
) -> (i32, Stabilization) {
    let mut up = proposed;
    let mut down = proposed;
    let mut obsolete = None;
    for (i, r) in recommendations.iter().enumerate() {
        if after_cutoff(r.at, now, up_window) {
            up = up.min(r.replicas);
        }
        if after_cutoff(r.at, now, down_window) {
            down = down.max(r.replicas);
        }
        if before_cutoff(r.at, now, up_window) && before_cutoff(r.at, now, down_window) {
            obsolete = Some(i);
        }
    }
    let mut stabilized = current;
    if stabilized < up {
        stabilized = up;
    }
    if stabilized > down {
        stabilized = down;
    }
    record_recommendation(recommendations, obsolete, proposed, now);
    let reason = if stabilized == proposed {
        Stabilization::ReadyForNewScale
    } else if proposed >= current {
        Stabilization::ScaleUpStabilized
    } else {
        Stabilization::ScaleDownStabilized
    };
    (stabilized, reason)
}

/// `calculateScaleUpLimit`: `int32(max(factor × current, minimum))`, the
/// legacy per-sync cap (production `scaleUpLimitFactor` 2, `scaleUpLimitMinimum` 4).
pub fn calculate_scale_up_limit(current: i32, cfg: &ControllerConfig) -> i32 {
    (cfg.scale_up_limit_factor * f64::from(current)).max(cfg.scale_up_limit_minimum) as i32
}

/// `convertDesiredReplicasWithRules` (the legacy path): `desired` clamped to
/// `[min, min(max, calculateScaleUpLimit(current))]`, with the
/// `ScalingLimited` reason.
pub fn convert_desired_replicas_with_rules(
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    cfg: &ControllerConfig,
) -> (i32, Reason) {
    let scale_up_limit = calculate_scale_up_limit(current, cfg);
    let (max_allowed, limit_reason) = if max > scale_up_limit {
        (scale_up_limit, Reason::ScaleUpLimit)
    } else {
        (max, Reason::TooManyReplicas)
    };
    if desired < min {
        (min, Reason::TooFewReplicas)
    } else if desired > max_allowed {
        (max_allowed, limit_reason)
    } else {
        (desired, Reason::DesiredWithinRange)
    }
}

/// `getReplicasChangePerPeriod`: the change recorded strictly within the
/// last `period`, outdated or not.
pub fn get_replicas_change_per_period(period: SimDuration, events: &[ScaleEvent], now: SimTime) -> i32 {
    events
        .iter()
        .filter(|e| after_cutoff(e.at, now, period))
        .map(|e| e.change)
        .sum()
}

/// The replica count at the start of `period`: the current count less what
/// was added and plus what was removed within it.
fn period_start(current: i32, up: &[ScaleEvent], down: &[ScaleEvent], period: SimDuration, now: SimTime) -> i32 {
    current - get_replicas_change_per_period(period, up, now) + get_replicas_change_per_period(period, down, now)
}

/// `calculateScaleUpLimitWithScalingRules`: each policy's limit from the
/// count at the start of its period (Pods: `+ value`; Percent:
/// `ceil(start × (1 + value/100))`); `Max` takes the highest, `Min` the
/// lowest, `Disabled` returns `current`.
pub fn calculate_scale_up_limit_with_scaling_rules(
    current: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &ScalingRules,
    now: SimTime,
) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MAX, i32::min),
        SelectPolicy::Max => (i32::MIN, i32::max),
    };
    for policy in &rules.policies {
        let start = period_start(current, up_events, down_events, policy.period(), now);
        let proposed = match *policy {
            Policy::Pods { value, .. } => start + value,
            Policy::Percent { value, .. } => (f64::from(start) * (1.0 + f64::from(value) / 100.0)).ceil() as i32,
        };
        result = pick(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`: each policy's limit from the
/// count at the start of its period (Pods: `− value`; Percent:
/// `int32(start × (1 − value/100))`, truncated); `Max` (the largest change)
/// takes the lowest, `Min` the highest, `Disabled` returns `current`.
pub fn calculate_scale_down_limit_with_behaviors(
    current: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &ScalingRules,
    now: SimTime,
) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MIN, i32::max),
        SelectPolicy::Max => (i32::MAX, i32::min),
    };
    for policy in &rules.policies {
        let start = period_start(current, up_events, down_events, policy.period(), now);
        let proposed = match *policy {
            Policy::Pods { value, .. } => start - value,
            // int32() truncates toward zero.
            Policy::Percent { value, .. } => (f64::from(start) * (1.0 - f64::from(value) / 100.0)) as i32,
        };
        result = pick(result, proposed);
    }
    result
}

/// `NormalizationArg`: what the behavior path normalizes.
#[derive(Clone, Copy, Debug)]
pub struct NormalizationArg<'a> {
    pub behavior: &'a Behavior,
    pub min: i32,
    pub max: i32,
    pub current: i32,
    /// The (stabilized) recommendation.
    pub desired: i32,
}

/// `convertDesiredReplicasWithBehaviorRate`: the stabilized recommendation
/// `desired` clamped by the rate limits of its direction (never past
/// `current` the wrong way) and by `[min, max]`, with the `ScalingLimited` reason.
pub fn convert_desired_replicas_with_behavior_rate(
    arg: NormalizationArg,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    now: SimTime,
) -> (i32, Reason) {
    let NormalizationArg {
        behavior,
        min,
        max,
        current,
        desired,
    } = arg;
    if desired > current {
        let limit =
            calculate_scale_up_limit_with_scaling_rules(current, up_events, down_events, &behavior.scale_up, now)
                .max(current);
        let (allowed, reason) = if max > limit {
            (limit, Reason::ScaleUpLimit)
        } else {
            (max, Reason::TooManyReplicas)
        };
        if desired > allowed {
            return (allowed, reason);
        }
    } else if desired < current {
        let limit =
            calculate_scale_down_limit_with_behaviors(current, up_events, down_events, &behavior.scale_down, now)
                .min(current);
        let (allowed, reason) = if min < limit {
            (limit, Reason::ScaleDownLimit)
        } else {
            (min, Reason::TooFewReplicas)
        };
        if desired < allowed {
            return (allowed, reason);
        }
    }
    (desired, Reason::DesiredWithinRange)
}

/// `markScaleEventsOutdated`: events strictly older than `now − longest` are outdated.
pub fn mark_scale_events_outdated(events: &mut [ScaleEvent], longest: SimDuration, now: SimTime) {
    for e in events.iter_mut() {
        if before_cutoff(e.at, now, longest) {
            e.outdated = true;
        }
    }
}

/// `storeScaleEvent`: nothing without a behavior; otherwise the events of
/// the direction older than its longest policy period are marked outdated
/// and `|new − previous|` takes the last outdated slot, else is appended.
/// Outdated events are not dropped: they still count for any period they
/// fall in until their slot is reused.
pub fn store_scale_event(
    behavior: Option<&Behavior>,
    up_events: &mut Vec<ScaleEvent>,
    down_events: &mut Vec<ScaleEvent>,
    now: SimTime,
    previous: i32,
    new: i32,
) {
    let Some(behavior) = behavior else { return };
    let (events, rules, change) = if new > previous {
        (up_events, &behavior.scale_up, new - previous)
    } else {
        (down_events, &behavior.scale_down, previous - new)
    };
    mark_scale_events_outdated(events, rules.longest_period(), now);
    let event = ScaleEvent {
        change,
        at: now,
        outdated: false,
    };
    match events.iter().rposition(|e| e.outdated) {
        Some(i) => events[i] = event,
        None => events.push(event),
    }
}

/// What one normalization did: the stabilized recommendation with the
/// `AbleToScale` reason, then the limited count with the `ScalingLimited` reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Normalized {
    pub stabilized: i32,
    pub stabilization: Stabilization,
    pub desired: i32,
    pub reason: Reason,
}

/// One HPA's controller memory: recommendations and scale events. Like the
/// real controller's, it lives only as long as the controller does.
#[derive(Clone, Debug)]
pub struct Hpa {
    pub spec: HpaSpec,
    recommendations: Vec<Recommendation>,
    /// Whether the controller's map has an entry for this HPA (upstream's
    /// `a.recommendations[key] != nil`); in a run it is set by the first
    /// reconcile and the list never empties again.
    recorded: bool,
    up_events: Vec<ScaleEvent>,
    down_events: Vec<ScaleEvent>,
}

impl Hpa {
    pub fn new(spec: HpaSpec) -> Hpa {
        Hpa {
            spec,
            recommendations: Vec::new(),
            recorded: false,
            up_events: Vec::new(),
            down_events: Vec::new(),
        }
    }

    /// An HPA with a given past, as the Kubernetes tests set one up: the
    /// recommendation list exists even when empty, so the first reconcile
    /// records no initial recommendation (`recommendations: []timestampedRecommendation{}`).
    pub fn with_history(
        spec: HpaSpec,
        recommendations: Vec<Recommendation>,
        up_events: Vec<ScaleEvent>,
        down_events: Vec<ScaleEvent>,
    ) -> Hpa {
        Hpa {
            spec,
            recommendations,
            recorded: true,
            up_events,
            down_events,
        }
    }

    /// The stored recommendations (`a.recommendations[key]`), in slot order.
    pub fn recommendations(&self) -> &[Recommendation] {
        &self.recommendations
    }

    /// The stored scale events, up then down (`a.scaleUpEvents[key]`, `a.scaleDownEvents[key]`).
    pub fn scale_events(&self) -> (&[ScaleEvent], &[ScaleEvent]) {
        (&self.up_events, &self.down_events)
    }

    /// `recordInitialRecommendation`: the first reconcile remembers the current size.
    pub fn record_initial_recommendation(&mut self, now: SimTime, current: i32) {
        if !self.recorded {
            self.recorded = true;
            self.recommendations.push(Recommendation {
                replicas: current,
                at: now,
            });
        }
    }

    /// `normalizeDesiredReplicas` (no behavior): [`stabilize_recommendation`]
    /// over the controller's downscale stabilization window, then
    /// [`convert_desired_replicas_with_rules`].
    pub fn normalize_desired_replicas(&mut self, now: SimTime, current: i32, proposed: i32) -> Normalized {
        let cfg = self.spec.controller;
        let stabilized =
            stabilize_recommendation(&mut self.recommendations, now, cfg.downscale_stabilization, proposed);
        let stabilization = if stabilized == proposed {
            Stabilization::ReadyForNewScale
        } else {
            Stabilization::ScaleDownStabilized
        };
        let (desired, reason) = convert_desired_replicas_with_rules(
            current,
            stabilized,
            self.spec.min_replicas,
            self.spec.max_replicas,
            &cfg,
        );
        Normalized {
            stabilized,
            stabilization,
            desired,
            reason,
        }
    }

    /// `normalizeDesiredReplicasWithBehaviors`:
    /// [`stabilize_recommendation_with_behaviors`], then
    /// [`convert_desired_replicas_with_behavior_rate`] over the stored events.
    /// Without a behavior in the spec this is [`Hpa::normalize_desired_replicas`],
    /// as `reconcileAutoscaler` chooses.
    pub fn normalize_desired_replicas_with_behaviors(
        &mut self,
        now: SimTime,
        current: i32,
        proposed: i32,
    ) -> Normalized {
        let Some(behavior) = self.spec.behavior.as_ref() else {
            return self.normalize_desired_replicas(now, current, proposed);
        };
        let (stabilized, stabilization) = stabilize_recommendation_with_behaviors(
            &mut self.recommendations,
            now,
            current,
            proposed,
            behavior.scale_up.stabilization_window,
            behavior.scale_down.stabilization_window,
        );
        let arg = NormalizationArg {
            behavior,
            min: self.spec.min_replicas,
            max: self.spec.max_replicas,
            current,
            desired: stabilized,
        };
        let (desired, reason) =
            convert_desired_replicas_with_behavior_rate(arg, &self.up_events, &self.down_events, now);
        Normalized {
            stabilized,
            stabilization,
            desired,
            reason,
        }
    }

    /// `storeScaleEvent` into this HPA's event lists.
    pub fn store_scale_event(&mut self, now: SimTime, previous: i32, new: i32) {
        store_scale_event(
            self.spec.behavior.as_ref(),
            &mut self.up_events,
            &mut self.down_events,
            now,
            previous,
            new,
        );
    }

    /// `reconcileAutoscaler`: `current` is `scale.spec.replicas`; `propose`
    /// runs the metrics (only when the controller consults them). Composed of
    /// [`Hpa::record_initial_recommendation`], [`combine`]
    /// (`computeReplicasForMetrics`), [`Hpa::normalize_desired_replicas`] or
    /// [`Hpa::normalize_desired_replicas_with_behaviors`], and
    /// [`Hpa::store_scale_event`].
    pub fn reconcile(
        &mut self,
        now: SimTime,
        current: i32,
        propose: impl FnOnce() -> Vec<Result<Proposal, MetricError>>,
    ) -> Decision {
        self.record_initial_recommendation(now, current);
        let min = self.spec.min_replicas;
        let max = self.spec.max_replicas;
        let fixed = |desired, reason| Decision {
            current,
            proposed: None,
            stabilized: None,
            stabilization: None,
            desired,
            reason,
        };
        let decision = if current == 0 && min != 0 {
            fixed(0, Reason::ScalingDisabled)
        } else if current > max {
            fixed(max, Reason::AboveMaxReplicas)
        } else if current < min {
            fixed(min, Reason::BelowMinReplicas)
        } else {
            match combine(&propose(), current) {
                None => fixed(current, Reason::InvalidMetrics),
                Some(proposed) => {
                    let n = if self.spec.behavior.is_some() {
                        self.normalize_desired_replicas_with_behaviors(now, current, proposed)
                    } else {
                        self.normalize_desired_replicas(now, current, proposed)
                    };
                    Decision {
                        current,
                        proposed: Some(proposed),
                        stabilized: Some(n.stabilized),
                        stabilization: Some(n.stabilization),
                        desired: n.desired,
                        reason: n.reason,
                    }
                }
            }
        };
        if decision.reason != Reason::ScalingDisabled && decision.rescale() {
            self.store_scale_event(now, current, decision.desired);
        }
        decision
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_tests;
