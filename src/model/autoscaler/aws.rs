//! AWS EC2 Auto Scaling: CloudWatch alarms driving simple and step scaling
//! policies, and target tracking, with the documented cooldown, warm-up and
//! rounding rules (`as-scaling-simple-step.md`, `as-scaling-target-tracking.md`,
//! `ec2-auto-scaling-default-instance-warmup.md`).
//!
//! Everything here is pure: datapoints and the group's state in, a new
//! desired capacity out. The system feeds it one-minute samples and applies
//! the result.

use crate::engine::{SimDuration, SimTime};

use super::ScalerLogRow;

/// A CloudWatch metric the group publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsMetric {
    /// `CPUUtilization`, percent, per instance.
    CpuUtilization,
    /// ALB `RequestCountPerTarget`: requests per instance per minute.
    RequestCountPerTarget,
    /// Requests an instance holds (working or waiting for a worker or a
    /// core), averaged over the minute: what a custom `ActiveConnections`
    /// metric published by each instance shows, the in-flight count per
    /// target.
    ActiveConnections,
    /// The SQS backlog per instance: the queue's visible messages
    /// (`ApproximateNumberOfMessagesVisible`) at the end of the minute over
    /// the group's `InService` instances (`as-using-sqs-queue.md`, "Backlog
    /// per instance").
    BacklogPerInstance { queue: u16 },
}

/// How an alarm reduces the samples of one period to a datapoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    Average,
    Maximum,
    Minimum,
    Sum,
    SampleCount,
}

impl Statistic {
    /// The statistic of `samples`; `None` (missing data) when there are none.
    pub fn of(self, samples: &[f64]) -> Option<f64> {
        if samples.is_empty() {
            return None;
        }
        Some(match self {
            Statistic::Average => samples.iter().sum::<f64>() / samples.len() as f64,
            Statistic::Maximum => samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Statistic::Minimum => samples.iter().copied().fold(f64::INFINITY, f64::min),
            Statistic::Sum => samples.iter().sum(),
            Statistic::SampleCount => samples.len() as f64,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    GreaterThanOrEqual,
    GreaterThan,
    LessThan,
    LessThanOrEqual,
}

impl Comparison {
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqual => value >= threshold,
            Comparison::GreaterThan => value > threshold,
            Comparison::LessThan => value < threshold,
            Comparison::LessThanOrEqual => value <= threshold,
        }
    }

    fn upward(self) -> bool {
        matches!(self, Comparison::GreaterThanOrEqual | Comparison::GreaterThan)
    }
}

/// A CloudWatch metric alarm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlarmSpec {
    pub metric: AwsMetric,
    pub statistic: Statistic,
    /// A whole number of minutes.
    pub period: SimDuration,
    pub evaluation_periods: usize,
    /// M of the last N (`evaluation_periods`) datapoints must breach.
    pub datapoints_to_alarm: usize,
    pub threshold: f64,
    pub comparison: Comparison,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl AlarmSpec {
    /// The state after the newest datapoints (oldest first), with
    /// `treatMissingData: missing`: ALARM when at least M of the last N present
    /// datapoints breach, INSUFFICIENT_DATA when none is present, else OK.
    pub fn evaluate(&self, datapoints: &[Option<f64>]) -> AlarmState {
        let window = &datapoints[datapoints.len().saturating_sub(self.evaluation_periods)..];
        let present: Vec<f64> = window.iter().flatten().copied().collect();
        let breaching = present
            .iter()
            .filter(|v| self.comparison.breaches(**v, self.threshold))
            .count();
        if breaching >= self.datapoints_to_alarm {
            AlarmState::Alarm
        } else if present.is_empty() {
            AlarmState::InsufficientData
        } else {
            AlarmState::Ok
        }
    }
}

/// How a scaling adjustment is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustmentType {
    ChangeInCapacity,
    ExactCapacity,
    PercentChangeInCapacity,
}

/// Applies an adjustment to `current`, with AWS's rounding of percentages:
/// a change above 1 rounds down, one between 0 and 1 becomes 1, one between
/// −1 and 0 becomes −1, one below −1 rounds up toward 0; then at least
/// `min_magnitude` (percent only) in the same direction.
pub fn apply_adjustment(kind: AdjustmentType, value: f64, current: i64, min_magnitude: Option<i64>) -> i64 {
    match kind {
        AdjustmentType::ChangeInCapacity => current + value as i64,
        AdjustmentType::ExactCapacity => value as i64,
        AdjustmentType::PercentChangeInCapacity => {
            let raw = current as f64 * value / 100.0;
            let mut change = if raw > 1.0 {
                raw.floor() as i64
            } else if raw > 0.0 {
                1
            } else if raw < -1.0 {
                raw.ceil() as i64
            } else if raw < 0.0 {
                -1
            } else {
                0
            };
            if let Some(min) = min_magnitude
                && change != 0
                && change.abs() < min
            {
                change = min * change.signum();
            }
            current + change
        }
    }
}

/// One step of a step policy: bounds relative to the alarm threshold
/// (`None` = unbounded) and its adjustment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: f64,
}

/// The step that `value` falls in: `[lower, upper)` above the threshold,
/// `(lower, upper]` below it.
pub fn find_step(steps: &[Step], threshold: f64, value: f64, comparison: Comparison) -> Option<&Step> {
    let d = value - threshold;
    steps.iter().find(|s| {
        if comparison.upward() {
            s.lower.is_none_or(|l| d >= l) && s.upper.is_none_or(|u| d < u)
        } else {
            s.lower.is_none_or(|l| d > l) && s.upper.is_none_or(|u| d <= u)
        }
    })
}

/// Target tracking's scale-out: proportional, rounded up ("would add 1.5,
/// adds 2").
pub fn target_tracking_out(current: i64, metric: f64, target: f64) -> i64 {
    (current as f64 * metric / target).ceil() as i64
}

/// Target tracking's scale-in from `current` when `measured` instances
/// showed `metric`: the removal rounded down ("would remove 1.5, removes
/// 1"), never below the capacity that keeps the metric at target.
pub fn target_tracking_in(current: i64, measured: i64, metric: f64, target: f64) -> i64 {
    let needed = measured as f64 * metric / target;
    let removal = (current as f64 - needed).floor() as i64;
    (current - removal.max(0)).max(needed.ceil() as i64).min(current)
}

/// A simple scaling policy: one adjustment per alarm, then a cooldown.
#[derive(Clone, Debug, PartialEq)]
pub struct SimplePolicy {
    pub alarm: AlarmSpec,
    pub adjustment_type: AdjustmentType,
    pub adjustment: f64,
    /// Overrides the group's `DefaultCooldown`.
    pub cooldown: Option<SimDuration>,
}

/// A step scaling policy: the step adjustment the breach size selects.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPolicy {
    pub alarm: AlarmSpec,
    pub adjustment_type: AdjustmentType,
    pub steps: Vec<Step>,
    pub min_adjustment_magnitude: Option<i64>,
}

/// A target tracking policy and the two alarms AWS creates for it.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTrackingPolicy {
    pub metric: AwsMetric,
    pub target: f64,
    pub disable_scale_in: bool,
    /// The alarms AWS creates: high at the target, low at `target × scale_in_ratio`.
    pub high: AlarmSpec,
    pub low: AlarmSpec,
}

/// A scaling policy of an Auto Scaling group.
#[derive(Clone, Debug, PartialEq)]
pub enum AwsPolicy {
    Simple(SimplePolicy),
    Step(StepPolicy),
    TargetTracking(TargetTrackingPolicy),
}

impl AwsPolicy {
    /// The alarms this policy watches.
    pub fn alarms(&self) -> Vec<AlarmSpec> {
        match self {
            AwsPolicy::Simple(p) => vec![p.alarm],
            AwsPolicy::Step(p) => vec![p.alarm],
            AwsPolicy::TargetTracking(p) => vec![p.high, p.low],
        }
    }
}

/// The group as a policy sees it when its alarm invokes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// Desired capacity.
    pub desired: i64,
    pub min_size: i64,
    pub max_size: i64,
    /// In service and past their warm-up: the "current capacity" a scale-out
    /// adds to (warming instances are not part of it).
    pub warm: i64,
    /// Desired capacity not yet warm: launching, or in service and warming up.
    pub warming: i64,
    /// Of those, still launching (not yet in service): a scale-out activity
    /// in progress.
    pub launching: i64,
    /// Instances of the last simple-policy activity still launching or terminating.
    pub activity: usize,
    /// The simple policies' cooldown after that activity still runs.
    pub in_cooldown: bool,
}

/// Which way a policy asked the group to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Out,
    In,
}

/// Why a policy asked for the capacity it asked for, or for none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The adjustment moved the desired capacity, within the group's bounds.
    Adjusted,
    /// The adjustment asked for less than `min_size`: the minimum.
    ClampedToMin,
    /// The adjustment asked for more than `max_size`: the maximum.
    ClampedToMax,
    /// The adjustment comes to the desired capacity already set: a zero
    /// step, a removal that rounds to nothing, or a scale-out that the
    /// instances already on their way cover.
    NoChange,
    /// Simple: the cooldown after the last activity still runs.
    InCooldown,
    /// Simple: the last activity's instances are still launching or
    /// terminating. Step and target tracking: a scale-in cannot start while
    /// a scale-out's instances are still launching.
    ActivityInProgress,
    /// Step and target tracking: scale-in waits until no instance is warming up.
    WarmingUp,
    /// Step: no step adjustment holds the metric.
    NoStep,
    /// Target tracking: neither alarm is in ALARM.
    WithinTarget,
    /// The policy's alarm is OK.
    AlarmOk,
    /// The alarm has no datapoint to judge by.
    InsufficientData,
    /// Target tracking: the low alarm is in ALARM but scale-in is disabled.
    ScaleInDisabled,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Adjusted => "Adjusted",
            Reason::ClampedToMin => "ClampedToMin",
            Reason::ClampedToMax => "ClampedToMax",
            Reason::NoChange => "NoChange",
            Reason::InCooldown => "InCooldown",
            Reason::ActivityInProgress => "ActivityInProgress",
            Reason::WarmingUp => "WarmingUp",
            Reason::NoStep => "NoStep",
            Reason::WithinTarget => "WithinTarget",
            Reason::AlarmOk => "AlarmOk",
            Reason::InsufficientData => "InsufficientData",
            Reason::ScaleInDisabled => "ScaleInDisabled",
        }
    }

    /// The `scaling.csv` reason of a minute in which this blocked the
    /// policy and nothing else scaled.
    fn blocking(self) -> Option<&'static str> {
        match self {
            Reason::InCooldown => Some("Cooldown"),
            Reason::ActivityInProgress => Some("ActivityInProgress"),
            Reason::WarmingUp => Some("WarmupBlocksScaleIn"),
            Reason::NoStep => Some("NoStep"),
            Reason::NoChange => Some("NoChange"),
            _ => None,
        }
    }
}

/// What one policy invocation decided: the desired capacity it sets (the
/// group's own when it does nothing), why, and which way it asked to go
/// (`None` when it did not ask).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub desired: i64,
    pub reason: Reason,
    pub direction: Option<Direction>,
}

impl Decision {
    fn hold(group: &GroupView, reason: Reason) -> Decision {
        Decision {
            desired: group.desired,
            reason,
            direction: None,
        }
    }

    /// `asked` clamped to the group's bounds ("the new capacity never goes
    /// outside of the minimum and maximum size limits",
    /// `as-scale-based-on-demand.md`).
    fn asked(group: &GroupView, asked: i64, direction: Direction) -> Decision {
        let reason = if asked > group.max_size {
            Reason::ClampedToMax
        } else if asked < group.min_size {
            Reason::ClampedToMin
        } else if asked == group.desired {
            Reason::NoChange
        } else {
            Reason::Adjusted
        };
        Decision {
            desired: asked.clamp(group.min_size, group.max_size),
            reason,
            direction: Some(direction),
        }
    }
}

fn not_in_alarm(state: AlarmState) -> Reason {
    if state == AlarmState::InsufficientData {
        Reason::InsufficientData
    } else {
        Reason::AlarmOk
    }
}

/// The direction an adjustment asks for from `desired`; `None` for no change.
fn direction_of(kind: AdjustmentType, adjustment: f64, desired: i64) -> Option<Direction> {
    let change = match kind {
        // ExactCapacity scales out or in by where the capacity it names lies
        // against the desired capacity.
        AdjustmentType::ExactCapacity => adjustment as i64 - desired,
        AdjustmentType::ChangeInCapacity => adjustment as i64,
        // Any non-zero percentage changes the capacity by at least one.
        AdjustmentType::PercentChangeInCapacity => adjustment.signum() as i64 * i64::from(adjustment != 0.0),
    };
    match change.signum() {
        1 => Some(Direction::Out),
        -1 => Some(Direction::In),
        _ => None,
    }
}

/// A simple policy invoked with its alarm in `state`
/// (`as-scaling-simple-step.md`, "Differences between step scaling policies
/// and simple scaling policies"): "after a scaling activity is started, the
/// policy must wait for the scaling activity … to complete and the cooldown
/// period to expire before responding to additional alarms". The adjustment
/// applies to the desired capacity.
pub fn simple_scaling(policy: &SimplePolicy, state: AlarmState, group: &GroupView) -> Decision {
    if state != AlarmState::Alarm {
        return Decision::hold(group, not_in_alarm(state));
    }
    if group.activity > 0 {
        return Decision::hold(group, Reason::ActivityInProgress);
    }
    if group.in_cooldown {
        return Decision::hold(group, Reason::InCooldown);
    }
    let Some(direction) = direction_of(policy.adjustment_type, policy.adjustment, group.desired) else {
        return Decision::hold(group, Reason::NoChange);
    };
    let asked = apply_adjustment(policy.adjustment_type, policy.adjustment, group.desired, None);
    Decision::asked(group, asked, direction)
}

/// A step policy invoked with its alarm in `state` and `value` the alarm's
/// newest datapoint (`as-scaling-simple-step.md`, "Step adjustments" and
/// "Instance warm-up"): the step whose interval holds `value − threshold`.
/// A scale-out applies to the warm capacity ("while scaling out, we do not
/// consider instances that are warming up as part of the current capacity")
/// and never asks for less than the desired capacity, so "multiple alarm
/// breaches that fall in the range of the same step adjustment result in a
/// single scaling activity". A scale-in applies to the desired capacity
/// (terminating instances still count), "can't start while a scale-out
/// activity is in progress", and waits until no instance is warming up
/// (`ec2-auto-scaling-default-instance-warmup.md`). No cooldown.
pub fn step_scaling(policy: &StepPolicy, state: AlarmState, value: Option<f64>, group: &GroupView) -> Decision {
    let (true, Some(value)) = (state == AlarmState::Alarm, value) else {
        return Decision::hold(group, not_in_alarm(state));
    };
    let Some(step) = find_step(&policy.steps, policy.alarm.threshold, value, policy.alarm.comparison) else {
        return Decision::hold(group, Reason::NoStep);
    };
    let Some(direction) = direction_of(policy.adjustment_type, step.adjustment, group.desired) else {
        return Decision::hold(group, Reason::NoChange);
    };
    let (kind, magnitude) = (policy.adjustment_type, policy.min_adjustment_magnitude);
    match direction {
        Direction::Out => {
            let asked = apply_adjustment(kind, step.adjustment, group.warm, magnitude);
            Decision::asked(group, asked.max(group.desired), Direction::Out)
        }
        Direction::In if group.launching > 0 => Decision::hold(group, Reason::ActivityInProgress),
        Direction::In if group.warming > 0 => Decision::hold(group, Reason::WarmingUp),
        Direction::In => {
            let asked = apply_adjustment(kind, step.adjustment, group.desired, magnitude);
            Decision::asked(group, asked, Direction::In)
        }
    }
}

/// A target tracking policy with its alarms in `high` and `low`, `value`
/// their newest datapoint and `measured` the number of instances it
/// describes (`as-scaling-target-tracking.md`, "Considerations" and
/// "Instance warm-up"). Out: proportional to the measured instances,
/// rounded up, never less than the desired capacity (warming instances are
/// on their way). In: the removal rounded down, never below what keeps the
/// metric at target; not with scale-in disabled, not while a scale-out's
/// instances launch or warm up.
pub fn target_tracking(
    policy: &TargetTrackingPolicy,
    high: AlarmState,
    low: AlarmState,
    value: Option<f64>,
    measured: i64,
    group: &GroupView,
) -> Decision {
    let Some(value) = value else {
        return Decision::hold(group, Reason::InsufficientData);
    };
    if high == AlarmState::Alarm {
        let asked = target_tracking_out(measured.max(1), value, policy.target);
        return Decision::asked(group, asked.max(group.desired), Direction::Out);
    }
    if low != AlarmState::Alarm {
        return Decision::hold(group, Reason::WithinTarget);
    }
    if policy.disable_scale_in {
        return Decision::hold(group, Reason::ScaleInDisabled);
    }
    if group.launching > 0 {
        return Decision::hold(group, Reason::ActivityInProgress);
    }
    if group.warming > 0 {
        return Decision::hold(group, Reason::WarmingUp);
    }
    let asked = target_tracking_in(group.desired, measured, value, policy.target);
    Decision::asked(group, asked, Direction::In)
}

/// The group's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AwsSpec {
    pub min_size: i64,
    pub max_size: i64,
    /// `DefaultCooldown`, for simple policies.
    pub default_cooldown: SimDuration,
    /// `DefaultInstanceWarmup` (or the policies' estimated warm-up).
    pub instance_warmup: SimDuration,
    /// CloudWatch's delay before a minute's data can be read.
    pub metric_delay: SimDuration,
    pub policies: Vec<AwsPolicy>,
    pub predictive: Option<Predictive>,
}

/// Predictive scaling: a floor on capacity from the load seen one `period`
/// ago (e.g. the same minute yesterday), `lead` ahead of time, sized so the
/// forecast load would run at `target_cpu` percent.
///
/// AWS forecasts from up to 14 days of history with a model it does not
/// publish; capsim's forecast is the simplest defensible one, seasonal
/// naïve: the request count of the same minute one period earlier (the load
/// metric), turned into CPU with the group's measured CPU per request (the
/// scaling metric). Request counts are not capped by the capacity of the
/// time, as busy CPU would be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Predictive {
    pub target_cpu: f64,
    pub period: SimDuration,
    /// `SchedulingBufferTime`: capacity is in place this much before the forecast load.
    pub lead: SimDuration,
    /// Cores per instance, to turn busy cores into instances.
    pub cores: u32,
}

impl Predictive {
    /// Instances needed to run `busy_cores` at the target.
    pub fn capacity_for(&self, busy_cores: f64) -> i64 {
        (busy_cores * 100.0 / (self.target_cpu * f64::from(self.cores))).ceil() as i64
    }
}

/// The group's instances at an evaluation, as the system counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// Desired capacity.
    pub desired: i64,
    /// In service and past their warm-up.
    pub warm: i64,
    /// In service (or launching) but still warming up.
    pub warming: i64,
    /// Launched, not yet in service.
    pub launching: i64,
}

/// One CloudWatch minute of the group: per-instance values of its warm
/// instances, and what the group-level metrics divide by.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinuteSample {
    /// The minute's end.
    pub end: SimTime,
    /// CPU percent of each warm instance.
    pub cpu: Vec<f64>,
    /// Requests the balancer sent each warm instance.
    pub requests: Vec<f64>,
    /// Requests each warm instance held, averaged over the minute.
    pub connections: Vec<f64>,
    /// Instances in service (warming or not) at the minute's end.
    pub in_service: i64,
    /// Each queue's visible messages at the minute's end.
    pub queue_visible: Vec<f64>,
}

impl MinuteSample {
    /// What this minute contributes to an alarm's statistic on `metric`.
    fn values(&self, metric: AwsMetric) -> &[f64] {
        match metric {
            AwsMetric::CpuUtilization => &self.cpu,
            AwsMetric::RequestCountPerTarget => &self.requests,
            AwsMetric::ActiveConnections => &self.connections,
            AwsMetric::BacklogPerInstance { .. } => &[],
        }
    }

    /// The backlog per instance of `queue`: none without an instance in
    /// service (metric math's division by zero gives no datapoint).
    fn backlog(&self, queue: u16) -> Option<f64> {
        let visible = self.queue_visible.get(usize::from(queue)).copied()?;
        (self.in_service > 0).then(|| visible / self.in_service as f64)
    }

    /// How many instances the minute's value of `metric` describes.
    fn measured(&self, metric: AwsMetric) -> i64 {
        match metric {
            AwsMetric::BacklogPerInstance { .. } => self.in_service,
            _ => self.values(metric).len() as i64,
        }
    }
}

/// An Auto Scaling group at run time: recent one-minute samples of its warm
/// instances and the simple policies' cooldown.
#[derive(Clone, Debug)]
pub struct AwsGroup {
    pub spec: AwsSpec,
    minutes: std::collections::VecDeque<MinuteSample>,
    keep: usize,
    /// Instances of the last simple-policy activity still launching or terminating.
    activity: Vec<u32>,
    activity_cooldown: SimDuration,
    cooldown_until: SimTime,
    /// Requests routed to the group per minute, for predictive scaling.
    load: std::collections::VecDeque<(SimTime, f64)>,
    /// Busy core-seconds and requests so far: CPU per request.
    cpu_seconds: f64,
    requests: f64,
}

impl AwsGroup {
    pub fn new(spec: AwsSpec) -> AwsGroup {
        let minutes_needed = spec
            .policies
            .iter()
            .flat_map(|p| p.alarms())
            .map(|a| (a.period.0 / 60_000_000_000) as usize * a.evaluation_periods)
            .max()
            .unwrap_or(1);
        let keep = minutes_needed + (spec.metric_delay.0 / 60_000_000_000) as usize + 2;
        AwsGroup {
            spec,
            minutes: std::collections::VecDeque::new(),
            keep,
            activity: Vec::new(),
            activity_cooldown: SimDuration::ZERO,
            cooldown_until: SimTime::ZERO,
            load: std::collections::VecDeque::new(),
            cpu_seconds: 0.0,
            requests: 0.0,
        }
    }

    /// Records the group's requests and busy cores over the minute ending at `end`.
    pub fn record_load(&mut self, end: SimTime, requests: f64, busy_cores: f64) {
        let Some(p) = self.spec.predictive else { return };
        self.cpu_seconds += busy_cores * 60.0;
        self.requests += requests;
        self.load.push_back((end, requests));
        while self
            .load
            .front()
            .is_some_and(|(t, _)| t.0 + p.period.0 + 120_000_000_000 < end.0)
        {
            self.load.pop_front();
        }
    }

    /// The predictive floor at `now`: capacity for the minute that starts
    /// `lead` from now, as it went one period earlier, once that exists.
    pub fn forecast_floor(&self, now: SimTime) -> Option<i64> {
        let p = self.spec.predictive?;
        if self.requests == 0.0 {
            return None;
        }
        let at = (now + p.lead).0.checked_sub(p.period.0)?;
        let (_, requests) = self.load.iter().find(|(t, _)| t.0 > at && t.0 <= at + 60_000_000_000)?;
        let cpu_per_request = self.cpu_seconds / self.requests;
        Some(p.capacity_for(requests / 60.0 * cpu_per_request))
    }

    /// Records one minute of the group's metrics.
    pub fn record_minute(&mut self, sample: MinuteSample) {
        self.minutes.push_back(sample);
        if self.minutes.len() > self.keep {
            self.minutes.pop_front();
        }
    }

    /// The alarm's last `evaluation_periods` datapoints (oldest first) from
    /// the data CloudWatch has at `now`.
    pub fn datapoints(&self, alarm: &AlarmSpec, now: SimTime) -> Vec<Option<f64>> {
        let available = SimTime(now.0.saturating_sub(self.spec.metric_delay.0));
        let period = alarm.period.0;
        (0..alarm.evaluation_periods as u64)
            .rev()
            .map(|k| {
                let end = available.0.saturating_sub(k * period);
                let start = end.saturating_sub(period);
                let minutes = self.minutes.iter().filter(|m| m.end.0 > start && m.end.0 <= end);
                let values: Vec<f64> = match alarm.metric {
                    AwsMetric::BacklogPerInstance { queue } => minutes.filter_map(|m| m.backlog(queue)).collect(),
                    metric => minutes.flat_map(|m| m.values(metric)).copied().collect(),
                };
                alarm.statistic.of(&values)
            })
            .collect()
    }

    /// How many instances the newest available minute of `metric` measured.
    fn measured(&self, now: SimTime, metric: AwsMetric) -> i64 {
        let available = now.0.saturating_sub(self.spec.metric_delay.0);
        self.minutes
            .iter()
            .rev()
            .find(|m| m.end.0 <= available)
            .map_or(0, |m| m.measured(metric))
    }

    /// A scheduled action changes the group's bounds.
    pub fn set_bounds(&mut self, min: Option<i32>, max: Option<i32>) {
        if let Some(min) = min {
            self.spec.min_size = i64::from(min);
        }
        if let Some(max) = max {
            self.spec.max_size = i64::from(max);
        }
    }

    /// A simple policy scaled at `now`: the instances still launching or
    /// terminating must settle, then the cooldown runs (at once when the
    /// activity already completed, as an idle instance's termination does).
    pub fn start_activity(&mut self, now: SimTime, unsettled: Vec<u32>, cooldown: SimDuration) {
        self.activity = unsettled;
        self.activity_cooldown = cooldown;
        if self.activity.is_empty() {
            self.cooldown_until = now + cooldown;
        }
    }

    /// An instance finished launching (in service) or terminating.
    pub fn settled(&mut self, now: SimTime, instance: u32) {
        if let Some(i) = self.activity.iter().position(|x| *x == instance) {
            self.activity.swap_remove(i);
            if self.activity.is_empty() {
                self.cooldown_until = now + self.activity_cooldown;
            }
        }
    }

    /// The group as its policies see it at `now`.
    pub fn view(&self, now: SimTime, group: GroupState) -> GroupView {
        GroupView {
            desired: group.desired,
            min_size: self.spec.min_size,
            max_size: self.spec.max_size,
            warm: group.warm,
            warming: group.warming.max(0),
            launching: group.launching,
            activity: self.activity.len(),
            in_cooldown: now < self.cooldown_until,
        }
    }

    /// One evaluation (every minute): each policy whose alarm is in ALARM
    /// decides by its own rule ([`simple_scaling`], [`step_scaling`],
    /// [`target_tracking`]); "the policy that provides the largest capacity"
    /// wins, for scale-out and for scale-in alike
    /// (`as-scale-based-on-demand.md`, "Multiple dynamic scaling policies").
    /// Target tracking scales in only when every target-tracking policy with
    /// scale-in enabled is ready to (`as-scaling-target-tracking.md`,
    /// "Considerations"); that does not hold back a step or simple policy's
    /// scale-in ("the scale-in activity will not be blocked"). Returns the new
    /// desired capacity (clamped), the simple policy that caused it if any,
    /// and the log line.
    pub fn evaluate(&self, now: SimTime, pool: usize, group: GroupState) -> (i64, Option<usize>, ScalerLogRow) {
        let view = self.view(now, group);
        let mut notes = Vec::new();
        let mut decisions = Vec::with_capacity(self.spec.policies.len());
        for (i, policy) in self.spec.policies.iter().enumerate() {
            let alarms = policy.alarms();
            let dps: Vec<Vec<Option<f64>>> = alarms.iter().map(|a| self.datapoints(a, now)).collect();
            let states: Vec<AlarmState> = alarms.iter().zip(&dps).map(|(a, d)| a.evaluate(d)).collect();
            let value = dps[0].iter().rev().flatten().next().copied();
            let decision = match policy {
                AwsPolicy::Simple(p) => simple_scaling(p, states[0], &view),
                AwsPolicy::Step(p) => step_scaling(p, states[0], value, &view),
                AwsPolicy::TargetTracking(p) => {
                    let measured = self.measured(now, p.metric);
                    target_tracking(p, states[0], states[1], value, measured, &view)
                }
            };
            let shown = value.map_or("-".to_string(), |v| format!("{v:.2}"));
            let state_names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
            notes.push(format!(
                "policy[{i}] metric={shown} alarms={} {}",
                state_names.join("/"),
                decision.reason.as_str()
            ));
            decisions.push(decision);
        }
        let tracking = |i: usize| match &self.spec.policies[i] {
            AwsPolicy::TargetTracking(p) => Some(p),
            _ => None,
        };
        // Every target-tracking policy with scale-in enabled is ready to scale in.
        let tracking_agrees = decisions
            .iter()
            .enumerate()
            .all(|(i, d)| tracking(i).is_none_or(|p| p.disable_scale_in || d.direction == Some(Direction::In)));
        let largest = |direction: Direction| {
            decisions
                .iter()
                .enumerate()
                .filter(|(i, d)| {
                    d.direction == Some(direction)
                        && (direction == Direction::Out || tracking(*i).is_none() || tracking_agrees)
                })
                .max_by_key(|(i, d)| (d.desired, std::cmp::Reverse(*i)))
                .map(|(i, d)| (i, *d))
        };
        let chosen = largest(Direction::Out).or_else(|| largest(Direction::In));
        let (desired, source, reason) = match chosen {
            Some((i, d)) => {
                let reason = match (d.desired.cmp(&view.desired), d.reason) {
                    (std::cmp::Ordering::Greater, _) => "ScaleOut",
                    (std::cmp::Ordering::Less, _) => "ScaleIn",
                    (_, Reason::ClampedToMax) => "AtMaxSize",
                    (_, Reason::ClampedToMin) => "AtMinSize",
                    _ => "NoChange",
                };
                (d.desired, Some(i), reason)
            }
            None => {
                let blocked = decisions.iter().find_map(|d| d.reason.blocking());
                let desired = view.desired.clamp(view.min_size, view.max_size);
                (desired, None, blocked.unwrap_or("NoAlarm"))
            }
        };
        // Predictive scaling sets a floor under whatever the policies decided.
        let max = view.max_size;
        let (desired, source, reason) = match self.forecast_floor(now) {
            Some(floor) if floor.min(max) > desired => (floor.min(max), None, "Predictive"),
            _ => (desired, source, reason),
        };
        let simple = source.filter(|i| matches!(self.spec.policies[*i], AwsPolicy::Simple(_)));
        let row = ScalerLogRow {
            time: now,
            pool,
            current: group.desired,
            policies: notes.join("; "),
            desired,
            reason,
        };
        (desired, simple, row)
    }

    /// The cooldown a simple policy's activity starts.
    pub fn cooldown_of(&self, policy: usize) -> SimDuration {
        match &self.spec.policies[policy] {
            AwsPolicy::Simple(p) => p.cooldown.unwrap_or(self.spec.default_cooldown),
            _ => SimDuration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AdjustmentType::{ChangeInCapacity, ExactCapacity, PercentChangeInCapacity as Pct};

    fn alarm(threshold: f64, comparison: Comparison, n: usize, m: usize) -> AlarmSpec {
        AlarmSpec {
            metric: AwsMetric::CpuUtilization,
            statistic: Statistic::Average,
            period: SimDuration::from_secs(60),
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold,
            comparison,
        }
    }

    /// A settled group of `desired` warm instances within [1, 100].
    fn settled(desired: i64) -> GroupView {
        GroupView {
            desired,
            min_size: 1,
            max_size: 100,
            warm: desired,
            warming: 0,
            launching: 0,
            activity: 0,
            in_cooldown: false,
        }
    }

    fn step(lower: Option<f64>, upper: Option<f64>, adjustment: f64) -> Step {
        Step {
            lower,
            upper,
            adjustment,
        }
    }

    /// The example of `as-scaling-simple-step.md`, "Step adjustments":
    /// threshold 50, percent steps.
    fn documented_steps() -> (StepPolicy, StepPolicy) {
        let out = StepPolicy {
            alarm: alarm(50.0, Comparison::GreaterThanOrEqual, 1, 1),
            adjustment_type: Pct,
            steps: vec![
                step(Some(0.0), Some(10.0), 0.0),
                step(Some(10.0), Some(20.0), 10.0),
                step(Some(20.0), None, 30.0),
            ],
            min_adjustment_magnitude: None,
        };
        let inn = StepPolicy {
            alarm: alarm(50.0, Comparison::LessThanOrEqual, 1, 1),
            adjustment_type: Pct,
            steps: vec![
                step(Some(-10.0), Some(0.0), 0.0),
                step(Some(-20.0), Some(-10.0), -10.0),
                step(None, Some(-20.0), -30.0),
            ],
            min_adjustment_magnitude: None,
        };
        (out, inn)
    }

    fn decided(desired: i64, reason: Reason, direction: Option<Direction>) -> Decision {
        Decision {
            desired,
            reason,
            direction,
        }
    }

    const ALARM: AlarmState = AlarmState::Alarm;
    const OUT: Option<Direction> = Some(Direction::Out);
    const IN: Option<Direction> = Some(Direction::In);

    #[test]
    fn e11_step_adjustments_example() {
        // as-scaling-simple-step.md, "Step adjustments": capacity 10; metric 60
        // → +10% of 10 → 11; 70 once the new instance is warm → +30% of 11
        // (3.3 → 3) → 14; 40 → −10% of 14 (1.4 → 1) → 13; 30 → −30% of 13
        // (3.9 → 3) → 10. Between 40 and 60 nothing changes.
        let (out, inn) = documented_steps();
        assert_eq!(
            step_scaling(&out, ALARM, Some(60.0), &settled(10)),
            decided(11, Reason::Adjusted, OUT)
        );
        assert_eq!(
            step_scaling(&out, ALARM, Some(70.0), &settled(11)),
            decided(14, Reason::Adjusted, OUT)
        );
        assert_eq!(
            step_scaling(&inn, ALARM, Some(40.0), &settled(14)),
            decided(13, Reason::Adjusted, IN)
        );
        assert_eq!(
            step_scaling(&inn, ALARM, Some(30.0), &settled(13)),
            decided(10, Reason::Adjusted, IN)
        );
        assert_eq!(
            step_scaling(&out, ALARM, Some(55.0), &settled(10)),
            decided(10, Reason::NoChange, None)
        );
        assert_eq!(
            step_scaling(&inn, ALARM, Some(45.0), &settled(10)),
            decided(10, Reason::NoChange, None)
        );
        // An alarm that is not in ALARM does not invoke the policy.
        let ok = step_scaling(&out, AlarmState::Ok, Some(45.0), &settled(10));
        assert_eq!(ok, decided(10, Reason::AlarmOk, None));
    }

    #[test]
    fn step_scaling_counts_warming_instances_as_the_docs_instance_warm_up_example() {
        // as-scaling-simple-step.md, "Instance warm-up": after the metric got to
        // 60 (desired 11, one instance warming), 62 adds 10% of the current
        // capacity of 10 — but the desired capacity is already 11, so nothing
        // more; 70 asks for 30% of 10 = 3: "we add only 2 instances, for a new
        // desired capacity of 13".
        let (out, inn) = documented_steps();
        let warming = GroupView {
            desired: 11,
            warm: 10,
            warming: 1,
            ..settled(11)
        };
        assert_eq!(
            step_scaling(&out, ALARM, Some(62.0), &warming),
            decided(11, Reason::NoChange, OUT)
        );
        assert_eq!(
            step_scaling(&out, ALARM, Some(70.0), &warming),
            decided(13, Reason::Adjusted, OUT)
        );
        // "A scale-in activity can't start while a scale-out activity is in
        // progress", and scale-in waits for the warm-up to finish
        // (ec2-auto-scaling-default-instance-warmup.md).
        let launching = GroupView {
            launching: 1,
            ..warming
        };
        let blocked = step_scaling(&inn, ALARM, Some(30.0), &launching);
        assert_eq!(blocked, decided(11, Reason::ActivityInProgress, None));
        assert_eq!(
            step_scaling(&inn, ALARM, Some(30.0), &warming),
            decided(11, Reason::WarmingUp, None)
        );
    }

    #[test]
    fn adjustment_types_as_documented() {
        // as-scaling-simple-step.md, "Scaling adjustment types": current 3,
        // adjustment 5 → 8 (ChangeInCapacity), 5 (ExactCapacity); current 10,
        // 10 percent → 11.
        let simple = |adjustment_type, adjustment| SimplePolicy {
            alarm: alarm(60.0, Comparison::GreaterThan, 1, 1),
            adjustment_type,
            adjustment,
            cooldown: None,
        };
        let change = simple_scaling(&simple(ChangeInCapacity, 5.0), ALARM, &settled(3));
        assert_eq!(change, decided(8, Reason::Adjusted, OUT));
        let exact = simple_scaling(&simple(ExactCapacity, 5.0), ALARM, &settled(3));
        assert_eq!(exact, decided(5, Reason::Adjusted, OUT));
        let pct = simple_scaling(&simple(Pct, 10.0), ALARM, &settled(10));
        assert_eq!(pct, decided(11, Reason::Adjusted, OUT));
        // ExactCapacity names the capacity, in either direction (issue 16 item 2).
        let exact_in = simple_scaling(&simple(ExactCapacity, 5.0), ALARM, &settled(8));
        assert_eq!(exact_in, decided(5, Reason::Adjusted, IN));
        let exact_here = simple_scaling(&simple(ExactCapacity, 5.0), ALARM, &settled(5));
        assert_eq!(exact_here, decided(5, Reason::NoChange, None));
    }

    #[test]
    fn min_adjustment_magnitude_as_documented() {
        // as-scaling-simple-step.md, "Scaling adjustment types": a policy that
        // adds 25 percent with a minimum increment of 2, on a group of 4:
        // 25% of 4 is 1, "there are 2 instances added".
        let policy = StepPolicy {
            alarm: alarm(60.0, Comparison::GreaterThan, 1, 1),
            adjustment_type: Pct,
            steps: vec![step(Some(0.0), None, 25.0)],
            min_adjustment_magnitude: Some(2),
        };
        assert_eq!(
            step_scaling(&policy, ALARM, Some(70.0), &settled(4)),
            decided(6, Reason::Adjusted, OUT)
        );
        // Without it, 1.
        let plain = StepPolicy {
            min_adjustment_magnitude: None,
            ..policy
        };
        assert_eq!(
            step_scaling(&plain, ALARM, Some(70.0), &settled(4)),
            decided(5, Reason::Adjusted, OUT)
        );
    }

    #[test]
    fn results_stay_within_the_group_bounds_as_documented() {
        // as-scale-based-on-demand.md, "How dynamic scaling policies work":
        // max 3, current 2, a policy that adds 3 adds only 1; min 2, current
        // 3, a policy that removes 2 removes only 1.
        let simple = |adjustment| SimplePolicy {
            alarm: alarm(60.0, Comparison::GreaterThan, 1, 1),
            adjustment_type: ChangeInCapacity,
            adjustment,
            cooldown: None,
        };
        let bounded = |desired| GroupView {
            min_size: 2,
            max_size: 3,
            ..settled(desired)
        };
        let out = simple_scaling(&simple(3.0), ALARM, &bounded(2));
        assert_eq!(out, decided(3, Reason::ClampedToMax, OUT));
        let inn = simple_scaling(&simple(-2.0), ALARM, &bounded(3));
        assert_eq!(inn, decided(2, Reason::ClampedToMin, IN));
        // Already at the bound: asked for, but no change.
        let at_max = simple_scaling(&simple(1.0), ALARM, &bounded(3));
        assert_eq!(at_max, decided(3, Reason::ClampedToMax, OUT));
    }

    #[test]
    fn simple_scaling_waits_for_its_activity_and_cooldown() {
        // as-scaling-simple-step.md: "after a scaling activity is started, the
        // policy must wait for the scaling activity … to complete and the
        // cooldown period to expire before responding to additional alarms".
        let policy = SimplePolicy {
            alarm: alarm(60.0, Comparison::GreaterThan, 1, 1),
            adjustment_type: ChangeInCapacity,
            adjustment: 2.0,
            cooldown: None,
        };
        let busy = GroupView {
            activity: 1,
            in_cooldown: true,
            ..settled(4)
        };
        assert_eq!(
            simple_scaling(&policy, ALARM, &busy),
            decided(4, Reason::ActivityInProgress, None)
        );
        let cooling = GroupView { activity: 0, ..busy };
        assert_eq!(
            simple_scaling(&policy, ALARM, &cooling),
            decided(4, Reason::InCooldown, None)
        );
        assert_eq!(
            simple_scaling(&policy, ALARM, &settled(4)),
            decided(6, Reason::Adjusted, OUT)
        );
        let missing = simple_scaling(&policy, AlarmState::InsufficientData, &settled(4));
        assert_eq!(missing, decided(4, Reason::InsufficientData, None));
        // Warming instances do not hold back a simple policy: its cooldown does.
        let warming = GroupView {
            warm: 2,
            warming: 2,
            ..settled(4)
        };
        assert_eq!(
            simple_scaling(&policy, ALARM, &warming),
            decided(6, Reason::Adjusted, OUT)
        );
    }

    #[test]
    fn simple_scaling_scales_in_within_the_bounds_and_by_the_named_capacity() {
        let policy = |adjustment_type, adjustment| SimplePolicy {
            alarm: alarm(30.0, Comparison::LessThan, 1, 1),
            adjustment_type,
            adjustment,
            cooldown: None,
        };
        let three = GroupView {
            min_size: 2,
            ..settled(3)
        };
        let minus_one = policy(ChangeInCapacity, -1.0);
        assert_eq!(
            simple_scaling(&minus_one, ALARM, &three),
            decided(2, Reason::Adjusted, IN)
        );
        // At the minimum it still asks to go in, and the bound holds it.
        let two = GroupView {
            min_size: 2,
            ..settled(2)
        };
        assert_eq!(
            simple_scaling(&minus_one, ALARM, &two),
            decided(2, Reason::ClampedToMin, IN)
        );
        // Nothing unless the alarm is in ALARM.
        assert_eq!(
            simple_scaling(&minus_one, AlarmState::Ok, &three),
            decided(3, Reason::AlarmOk, None)
        );
        // ExactCapacity names the size: below the desired one is a scale-in,
        // the desired one itself no change at all.
        assert_eq!(
            simple_scaling(&policy(ExactCapacity, 2.0), ALARM, &three),
            decided(2, Reason::Adjusted, IN)
        );
        assert_eq!(
            simple_scaling(&policy(ExactCapacity, 3.0), ALARM, &three),
            decided(3, Reason::NoChange, None)
        );
        // Above the maximum: clamped, still a scale-out.
        let full = GroupView {
            max_size: 4,
            ..settled(4)
        };
        assert_eq!(
            simple_scaling(&policy(ChangeInCapacity, 2.0), ALARM, &full),
            decided(4, Reason::ClampedToMax, OUT)
        );
    }

    #[test]
    fn reaching_a_bound_exactly_is_an_adjustment_not_a_clamp() {
        // Only a request beyond the bounds is clamped (and logged as
        // AtMaxSize / AtMinSize when it changes nothing).
        let by = |adjustment| SimplePolicy {
            alarm: alarm(50.0, Comparison::GreaterThan, 1, 1),
            adjustment_type: ChangeInCapacity,
            adjustment,
            cooldown: None,
        };
        let three = GroupView {
            min_size: 2,
            max_size: 4,
            ..settled(3)
        };
        assert_eq!(
            simple_scaling(&by(1.0), ALARM, &three),
            decided(4, Reason::Adjusted, OUT)
        );
        assert_eq!(
            simple_scaling(&by(-1.0), ALARM, &three),
            decided(2, Reason::Adjusted, IN)
        );
        assert_eq!(
            simple_scaling(&by(2.0), ALARM, &three),
            decided(4, Reason::ClampedToMax, OUT)
        );
        assert_eq!(
            simple_scaling(&by(-2.0), ALARM, &three),
            decided(2, Reason::ClampedToMin, IN)
        );
    }

    #[test]
    fn a_simple_policys_cooldown_is_its_own_else_the_groups_and_ends_exactly() {
        let simple = |cooldown| {
            AwsPolicy::Simple(SimplePolicy {
                alarm: alarm(30.0, Comparison::LessThan, 1, 1),
                adjustment_type: ChangeInCapacity,
                adjustment: -1.0,
                cooldown,
            })
        };
        let (step_out, _) = documented_steps();
        let g = group(
            1,
            vec![
                simple(Some(SimDuration::from_secs(120))),
                simple(None),
                AwsPolicy::Step(step_out),
            ],
        );
        assert_eq!(g.cooldown_of(0), SimDuration::from_secs(120));
        assert_eq!(g.cooldown_of(1), SimDuration::from_secs(300), "the group's default");
        assert_eq!(g.cooldown_of(2), SimDuration::ZERO, "step policies have none");
        // The cooldown runs from the activity's end for exactly its length.
        let mut g = g;
        let start = SimTime::from_secs(600);
        g.start_activity(start, vec![4], SimDuration::from_secs(120));
        assert_eq!(g.view(start + SimDuration::from_secs(500), state(3)).activity, 1);
        let end = start + SimDuration::from_secs(45);
        g.settled(end, 4);
        let at = |d: u64| g.view(end + SimDuration(d), state(3)).in_cooldown;
        assert!(at(0));
        assert!(at(120_000_000_000 - 1));
        assert!(!at(120_000_000_000));
    }

    fn tracking(metric: AwsMetric, target: f64, disable_scale_in: bool) -> TargetTrackingPolicy {
        let shape = |threshold, comparison| AlarmSpec {
            metric,
            statistic: Statistic::Average,
            period: SimDuration::from_secs(60),
            evaluation_periods: 1,
            datapoints_to_alarm: 1,
            threshold,
            comparison,
        };
        TargetTrackingPolicy {
            metric,
            target,
            disable_scale_in,
            high: shape(target, Comparison::GreaterThan),
            low: shape(target * 0.9, Comparison::LessThan),
        }
    }

    #[test]
    fn target_tracking_rounds_as_documented() {
        // as-scaling-target-tracking.md, "Considerations": target 50% CPU;
        // "adding 1.5 instances … we round up and add two instances";
        // "removing 1.5 instances … we remove just one instance".
        let cpu = tracking(AwsMetric::CpuUtilization, 50.0, false);
        let (high, low, ok) = (AlarmState::Alarm, AlarmState::Alarm, AlarmState::Ok);
        let out = target_tracking(&cpu, high, ok, Some(57.5), 10, &settled(10));
        assert_eq!(out, decided(12, Reason::Adjusted, OUT));
        let inn = target_tracking(&cpu, ok, low, Some(42.5), 10, &settled(10));
        assert_eq!(inn, decided(9, Reason::Adjusted, IN));
        // Between the two alarms: nothing.
        let within = target_tracking(&cpu, ok, ok, Some(48.0), 10, &settled(10));
        assert_eq!(within, decided(10, Reason::WithinTarget, None));
        // No data: no scale-in ("does not scale in … when the specified metric
        // has insufficient data").
        let none = target_tracking(
            &cpu,
            AlarmState::InsufficientData,
            AlarmState::InsufficientData,
            None,
            0,
            &settled(10),
        );
        assert_eq!(none, decided(10, Reason::InsufficientData, None));
    }

    #[test]
    fn target_tracking_on_sqs_backlog_per_instance_as_documented() {
        // as-using-sqs-queue.md, "Choosing an effective metric and target
        // value": 1500 messages over 10 instances is a backlog of 150 per
        // instance; with a target of 100, "your fleet scales out by five
        // instances".
        let backlog = tracking(AwsMetric::BacklogPerInstance { queue: 0 }, 100.0, false);
        let d = target_tracking(&backlog, ALARM, AlarmState::Ok, Some(150.0), 10, &settled(10));
        assert_eq!(d, decided(15, Reason::Adjusted, OUT));
    }

    #[test]
    fn target_tracking_scale_in_waits_and_can_be_disabled() {
        let cpu = tracking(AwsMetric::CpuUtilization, 50.0, false);
        let (ok, low) = (AlarmState::Ok, AlarmState::Alarm);
        // "A scale-in activity can't start while a scale-out activity is in
        // progress" (as-scaling-target-tracking.md, "Instance warm-up"), and
        // scale-in waits for warm-up to finish.
        let warming = GroupView {
            warm: 8,
            warming: 2,
            ..settled(10)
        };
        let launching = GroupView {
            launching: 1,
            ..warming
        };
        let d = target_tracking(&cpu, ok, low, Some(20.0), 8, &launching);
        assert_eq!(d, decided(10, Reason::ActivityInProgress, None));
        assert_eq!(
            target_tracking(&cpu, ok, low, Some(20.0), 8, &warming),
            decided(10, Reason::WarmingUp, None)
        );
        // The scale-out uses the warm instances the metric measured and
        // counts those on their way: 8 at 60% need 9.6 → 10, already desired.
        let d = target_tracking(&cpu, ALARM, ok, Some(60.0), 8, &warming);
        assert_eq!(d, decided(10, Reason::NoChange, OUT));
        let off = tracking(AwsMetric::CpuUtilization, 50.0, true);
        assert_eq!(
            target_tracking(&off, ok, low, Some(20.0), 10, &settled(10)),
            decided(10, Reason::ScaleInDisabled, None)
        );
    }

    fn minute(end_s: u64, cpu: &[f64], requests: &[f64]) -> MinuteSample {
        MinuteSample {
            end: SimTime::from_secs(end_s),
            cpu: cpu.to_vec(),
            requests: requests.to_vec(),
            connections: Vec::new(),
            in_service: cpu.len() as i64,
            queue_visible: Vec::new(),
        }
    }

    fn group(min_size: i64, policies: Vec<AwsPolicy>) -> AwsGroup {
        AwsGroup::new(AwsSpec {
            min_size,
            max_size: 100,
            default_cooldown: SimDuration::from_secs(300),
            instance_warmup: SimDuration::from_secs(300),
            metric_delay: SimDuration::ZERO,
            policies,
            predictive: None,
        })
    }

    fn state(desired: i64) -> GroupState {
        GroupState {
            desired,
            warm: desired,
            warming: 0,
            launching: 0,
        }
    }

    #[test]
    fn the_largest_capacity_wins_for_scale_in_too() {
        // as-scale-based-on-demand.md, "Multiple dynamic scaling policies": one
        // policy terminates three instances, another removes 25 percent; with
        // eight instances the group terminates two (25% of 8).
        let low = alarm(30.0, Comparison::LessThan, 1, 1);
        let simple = |adjustment_type, adjustment| {
            AwsPolicy::Simple(SimplePolicy {
                alarm: low,
                adjustment_type,
                adjustment,
                cooldown: None,
            })
        };
        let mut g = group(1, vec![simple(ChangeInCapacity, -3.0), simple(Pct, -25.0)]);
        g.record_minute(minute(60, &[10.0; 8], &[1.0; 8]));
        let (desired, source, row) = g.evaluate(SimTime::from_secs(60), 0, state(8));
        assert_eq!((desired, source, row.reason), (6, Some(1), "ScaleIn"));
    }

    #[test]
    fn target_tracking_scales_in_only_when_every_policy_agrees_but_a_step_policy_is_not_held() {
        // as-scaling-target-tracking.md: "scale in only if all of the target
        // tracking policies (with the scale-in portion enabled) are ready to
        // scale in". as-scale-based-on-demand.md: "if the step scaling policy
        // initiates a scale-in activity before the target tracking policy is
        // ready …, the scale-in activity will not be blocked".
        let cpu = AwsPolicy::TargetTracking(tracking(AwsMetric::CpuUtilization, 50.0, false));
        let requests = AwsPolicy::TargetTracking(tracking(AwsMetric::RequestCountPerTarget, 1000.0, false));
        // CPU 20% wants 4 of 10; 950 requests per target is within its target.
        let sample = minute(60, &[20.0; 10], &[950.0; 10]);
        let now = SimTime::from_secs(60);
        let mut g = group(1, vec![cpu.clone(), requests.clone()]);
        g.record_minute(sample.clone());
        let (desired, _, row) = g.evaluate(now, 0, state(10));
        assert_eq!((desired, row.reason), (10, "NoAlarm"), "{}", row.policies);
        // With the requests policy's scale-in disabled, CPU alone decides.
        let AwsPolicy::TargetTracking(mut off) = requests.clone() else {
            unreachable!()
        };
        off.disable_scale_in = true;
        let mut g = group(1, vec![cpu.clone(), AwsPolicy::TargetTracking(off)]);
        g.record_minute(sample.clone());
        assert_eq!(g.evaluate(now, 0, state(10)).0, 4);
        // A step policy's scale-in goes ahead while a tracking policy holds.
        let step_in = AwsPolicy::Step(StepPolicy {
            alarm: alarm(30.0, Comparison::LessThan, 1, 1),
            adjustment_type: ChangeInCapacity,
            steps: vec![step(None, Some(0.0), -1.0)],
            min_adjustment_magnitude: None,
        });
        let mut g = group(1, vec![cpu, requests, step_in]);
        g.record_minute(sample);
        let (desired, _, row) = g.evaluate(now, 0, state(10));
        assert_eq!((desired, row.reason), (9, "ScaleIn"), "{}", row.policies);
    }

    #[test]
    fn a_simple_activity_that_completed_at_once_starts_its_cooldown_at_once() {
        let spec_policy = AwsPolicy::Simple(SimplePolicy {
            alarm: alarm(30.0, Comparison::LessThan, 1, 1),
            adjustment_type: ChangeInCapacity,
            adjustment: -1.0,
            cooldown: Some(SimDuration::from_secs(300)),
        });
        let mut g = group(1, vec![spec_policy]);
        let now = SimTime::from_secs(420);
        g.start_activity(now, Vec::new(), SimDuration::from_secs(300));
        for minute_k in 0..=6u64 {
            g.record_minute(minute(420 + 60 * minute_k, &[5.0; 3], &[1.0; 3]));
        }
        // Inside the cooldown: blocked; at its end exactly: scales in.
        let (_, _, row) = g.evaluate(now + SimDuration::from_secs(240), 0, state(3));
        assert_eq!(row.reason, "Cooldown");
        let (desired, simple, row) = g.evaluate(now + SimDuration::from_secs(300), 0, state(3));
        assert_eq!((desired, simple, row.reason), (2, Some(0), "ScaleIn"));
        // An activity still waiting for an instance holds the policy.
        // (Its cooldown would be over by 360 s were it started at once.)
        g.start_activity(now, vec![7], SimDuration::from_secs(300));
        let (_, _, row) = g.evaluate(now + SimDuration::from_secs(360), 0, state(3));
        assert_eq!(row.reason, "ActivityInProgress");
        // Settled 30 s later: the cooldown runs to 330 s.
        g.settled(now + SimDuration::from_secs(30), 7);
        let (_, _, row) = g.evaluate(now + SimDuration::from_secs(300), 0, state(3));
        assert_eq!(row.reason, "Cooldown");
        let (_, _, row) = g.evaluate(now + SimDuration::from_secs(360), 0, state(3));
        assert_eq!(row.reason, "ScaleIn");
    }

    #[test]
    fn backlog_datapoints_divide_visible_messages_by_instances_in_service() {
        let backlog = AwsPolicy::TargetTracking(tracking(AwsMetric::BacklogPerInstance { queue: 1 }, 100.0, false));
        let mut g = group(1, vec![backlog]);
        let sample = MinuteSample {
            queue_visible: vec![0.0, 1500.0],
            in_service: 10,
            ..minute(60, &[50.0; 8], &[1.0; 8])
        };
        g.record_minute(sample);
        let now = SimTime::from_secs(60);
        let alarm = g.spec.policies[0].alarms()[0];
        assert_eq!(g.datapoints(&alarm, now), vec![Some(150.0)]);
        // Proportional to the 10 in service, not to the 8 warm ones.
        let (desired, _, row) = g.evaluate(now, 0, state(10));
        assert_eq!((desired, row.reason), (15, "ScaleOut"));
        // No instance in service: no datapoint.
        let empty = MinuteSample {
            end: SimTime::from_secs(120),
            queue_visible: vec![0.0, 50.0],
            ..MinuteSample::default()
        };
        g.record_minute(empty);
        assert_eq!(g.datapoints(&alarm, SimTime::from_secs(120)), vec![None]);
    }

    #[test]
    fn percent_rounding_rules() {
        use AdjustmentType::PercentChangeInCapacity as Pct;
        assert_eq!(apply_adjustment(Pct, 127.0, 10, None), 22); // +12.7 → 12
        assert_eq!(apply_adjustment(Pct, 5.0, 10, None), 11); // +0.5 → 1
        assert_eq!(apply_adjustment(Pct, -5.0, 10, None), 9); // −0.5 → −1
        assert_eq!(apply_adjustment(Pct, -66.7, 10, None), 4); // −6.67 → −6
        assert_eq!(apply_adjustment(Pct, 10.0, 10, Some(3)), 13); // +1, at least 3
        assert_eq!(apply_adjustment(AdjustmentType::ExactCapacity, 7.0, 10, None), 7);
        assert_eq!(apply_adjustment(AdjustmentType::ChangeInCapacity, -2.0, 10, None), 8);
    }

    #[test]
    fn step_bounds_are_half_open_toward_the_threshold() {
        let steps = [
            Step {
                lower: Some(0.0),
                upper: Some(10.0),
                adjustment: 1.0,
            },
            Step {
                lower: Some(10.0),
                upper: None,
                adjustment: 2.0,
            },
        ];
        // Above: [lower, upper).
        assert_eq!(
            find_step(&steps, 50.0, 60.0, Comparison::GreaterThanOrEqual)
                .unwrap()
                .adjustment,
            2.0
        );
        assert_eq!(
            find_step(&steps, 50.0, 59.9, Comparison::GreaterThanOrEqual)
                .unwrap()
                .adjustment,
            1.0
        );
        let down = [
            Step {
                lower: Some(-10.0),
                upper: Some(0.0),
                adjustment: -1.0,
            },
            Step {
                lower: None,
                upper: Some(-10.0),
                adjustment: -2.0,
            },
        ];
        // Below: (lower, upper].
        assert_eq!(
            find_step(&down, 50.0, 40.0, Comparison::LessThanOrEqual)
                .unwrap()
                .adjustment,
            -2.0
        );
        assert_eq!(
            find_step(&down, 50.0, 40.1, Comparison::LessThanOrEqual)
                .unwrap()
                .adjustment,
            -1.0
        );
    }

    #[test]
    fn alarms_need_m_of_n_and_report_missing_data() {
        let a = alarm(60.0, Comparison::GreaterThanOrEqual, 3, 2);
        assert_eq!(a.evaluate(&[Some(70.0), Some(50.0), Some(65.0)]), AlarmState::Alarm);
        assert_eq!(a.evaluate(&[Some(70.0), Some(50.0), Some(55.0)]), AlarmState::Ok);
        assert_eq!(a.evaluate(&[None, None, None]), AlarmState::InsufficientData);
        assert_eq!(a.evaluate(&[]), AlarmState::InsufficientData);
        // Old datapoints beyond the evaluation window do not count.
        assert_eq!(
            a.evaluate(&[Some(90.0), Some(90.0), Some(10.0), Some(10.0), Some(10.0)]),
            AlarmState::Ok
        );
    }

    #[test]
    fn target_tracking_rounds_out_up_and_in_down() {
        // Would add 1.5 → adds 2.
        assert_eq!(target_tracking_out(10, 57.5, 50.0), 12);
        // Would remove 1.5 → removes 1.
        assert_eq!(target_tracking_in(10, 10, 42.5, 50.0), 9);
        // Never below what keeps the metric at target.
        assert_eq!(target_tracking_in(10, 10, 5.0, 50.0), 1);
        assert_eq!(target_tracking_in(10, 10, 50.0, 50.0), 10);
        // A datapoint from before a scale-in describes the larger fleet:
        // 16 instances at 31.5% need 10.08: scale-in stops at the 10 there are.
        assert_eq!(target_tracking_in(10, 16, 31.5, 50.0), 10);
    }

    #[test]
    fn statistics() {
        let xs = [10.0, 30.0, 20.0];
        assert_eq!(Statistic::Average.of(&xs), Some(20.0));
        assert_eq!(Statistic::Maximum.of(&xs), Some(30.0));
        assert_eq!(Statistic::Minimum.of(&xs), Some(10.0));
        assert_eq!(Statistic::Sum.of(&xs), Some(60.0));
        assert_eq!(Statistic::SampleCount.of(&xs), Some(3.0));
        assert_eq!(Statistic::Average.of(&[]), None);
    }
}
