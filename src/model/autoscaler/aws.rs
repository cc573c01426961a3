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

/// A scaling policy of an Auto Scaling group.
#[derive(Clone, Debug, PartialEq)]
pub enum AwsPolicy {
    Simple {
        alarm: AlarmSpec,
        adjustment_type: AdjustmentType,
        adjustment: f64,
        cooldown: Option<SimDuration>,
    },
    Step {
        alarm: AlarmSpec,
        adjustment_type: AdjustmentType,
        steps: Vec<Step>,
        min_adjustment_magnitude: Option<i64>,
    },
    TargetTracking {
        metric: AwsMetric,
        target: f64,
        disable_scale_in: bool,
        /// The alarms AWS creates: high at the target, low at `target × scale_in_ratio`.
        high: AlarmSpec,
        low: AlarmSpec,
    },
}

impl AwsPolicy {
    /// The alarms this policy watches.
    pub fn alarms(&self) -> Vec<AlarmSpec> {
        match self {
            AwsPolicy::Simple { alarm, .. } | AwsPolicy::Step { alarm, .. } => vec![*alarm],
            AwsPolicy::TargetTracking { high, low, .. } => vec![*high, *low],
        }
    }
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

/// What the group looks like at an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// Desired capacity.
    pub desired: i64,
    /// In service and past their warm-up.
    pub warm: i64,
    /// In service (or launching) but still warming up.
    pub warming: i64,
}

/// What one policy evaluation decided.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AwsDecision {
    pub policy: usize,
    pub alarm_state: AlarmState,
    /// The datapoint that drove it.
    pub metric: Option<f64>,
    pub desired: i64,
    pub reason: &'static str,
}

/// Evaluates one invocation of `policy` (its alarm is in ALARM, or it is a
/// target-tracking policy checking its alarms). Returns the new desired
/// capacity it asks for, before clamping to the group's bounds.
pub fn step_or_simple_target(policy: &AwsPolicy, value: f64, group: GroupState) -> Option<i64> {
    match policy {
        AwsPolicy::Simple {
            adjustment_type,
            adjustment,
            ..
        } => Some(apply_adjustment(*adjustment_type, *adjustment, group.desired, None)),
        AwsPolicy::Step {
            alarm,
            adjustment_type,
            steps,
            min_adjustment_magnitude,
        } => {
            let step = find_step(steps, alarm.threshold, value, alarm.comparison)?;
            // ExactCapacity scales out or in by where the capacity it names
            // lies against the desired capacity.
            let scale_out = match adjustment_type {
                AdjustmentType::ExactCapacity => step.adjustment as i64 > group.desired,
                _ => step.adjustment > 0.0,
            };
            // Warming instances count toward capacity for the next scale-out:
            // the step applies to the warm capacity, and a breach in the same
            // step asks for no more than what is already on its way.
            let base = if scale_out { group.warm } else { group.desired };
            let proposed = apply_adjustment(*adjustment_type, step.adjustment, base, *min_adjustment_magnitude);
            Some(if scale_out {
                proposed.max(group.desired)
            } else {
                proposed
            })
        }
        AwsPolicy::TargetTracking { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn e11_step_scaling_example() {
        use AdjustmentType::PercentChangeInCapacity as Pct;
        let out = AwsPolicy::Step {
            alarm: alarm(50.0, Comparison::GreaterThanOrEqual, 1, 1),
            adjustment_type: Pct,
            steps: vec![
                Step {
                    lower: Some(0.0),
                    upper: Some(10.0),
                    adjustment: 0.0,
                },
                Step {
                    lower: Some(10.0),
                    upper: Some(20.0),
                    adjustment: 10.0,
                },
                Step {
                    lower: Some(20.0),
                    upper: None,
                    adjustment: 30.0,
                },
            ],
            min_adjustment_magnitude: None,
        };
        let inn = AwsPolicy::Step {
            alarm: alarm(50.0, Comparison::LessThanOrEqual, 1, 1),
            adjustment_type: Pct,
            steps: vec![
                Step {
                    lower: Some(-10.0),
                    upper: Some(0.0),
                    adjustment: 0.0,
                },
                Step {
                    lower: Some(-20.0),
                    upper: Some(-10.0),
                    adjustment: -10.0,
                },
                Step {
                    lower: None,
                    upper: Some(-20.0),
                    adjustment: -30.0,
                },
            ],
            min_adjustment_magnitude: None,
        };
        let warm = |n| GroupState {
            desired: n,
            warm: n,
            warming: 0,
        };
        assert_eq!(step_or_simple_target(&out, 60.0, warm(10)), Some(11));
        assert_eq!(step_or_simple_target(&out, 70.0, warm(11)), Some(14));
        assert_eq!(step_or_simple_target(&inn, 40.0, warm(14)), Some(13));
        assert_eq!(step_or_simple_target(&inn, 30.0, warm(13)), Some(10));
    }

    #[test]
    fn exact_capacity_below_desired_scales_in() {
        // PutScalingPolicy, AdjustmentType ExactCapacity: the group goes to the
        // capacity the step names, in either direction.
        let policy = AwsPolicy::Step {
            alarm: alarm(30.0, Comparison::LessThan, 1, 1),
            adjustment_type: AdjustmentType::ExactCapacity,
            steps: vec![Step {
                lower: None,
                upper: Some(0.0),
                adjustment: 3.0,
            }],
            min_adjustment_magnitude: None,
        };
        let group = |desired, warming| GroupState {
            desired,
            warm: desired - warming,
            warming,
        };
        assert_eq!(step_or_simple_target(&policy, 10.0, group(8, 0)), Some(3));
        assert_eq!(step_or_simple_target(&policy, 10.0, group(3, 0)), Some(3));
        // Above the desired capacity it is a scale-out, from warm capacity.
        assert_eq!(step_or_simple_target(&policy, 10.0, group(2, 0)), Some(3));
    }

    #[test]
    fn a_simple_activity_that_completed_at_once_starts_its_cooldown_at_once() {
        let spec_policy = AwsPolicy::Simple {
            alarm: alarm(30.0, Comparison::LessThan, 1, 1),
            adjustment_type: AdjustmentType::ChangeInCapacity,
            adjustment: -1.0,
            cooldown: Some(SimDuration::from_secs(300)),
        };
        let mut g = AwsGroup::new(AwsSpec {
            min_size: 1,
            max_size: 10,
            default_cooldown: SimDuration::from_secs(300),
            instance_warmup: SimDuration::from_secs(300),
            metric_delay: SimDuration::ZERO,
            policies: vec![spec_policy],
            predictive: None,
        });
        let now = SimTime::from_secs(420);
        g.start_activity(now, Vec::new(), SimDuration::from_secs(300));
        for minute in 0..=6u64 {
            let t = now + SimDuration::from_secs(60 * minute);
            g.record_minute(t, vec![5.0, 5.0, 5.0], vec![1.0, 1.0, 1.0]);
        }
        let group = GroupState {
            desired: 3,
            warm: 3,
            warming: 0,
        };
        // Inside the cooldown: blocked; at its end exactly: scales in.
        let (_, _, row) = g.evaluate(now + SimDuration::from_secs(240), 0, group);
        assert_eq!(row.reason, "Cooldown");
        let (desired, simple, row) = g.evaluate(now + SimDuration::from_secs(300), 0, group);
        assert_eq!((desired, simple, row.reason), (2, Some(0), "ScaleIn"));
        // An activity still waiting for an instance keeps the cooldown from starting.
        // (Its cooldown would be over by 360 s were it started at once.)
        g.start_activity(now, vec![7], SimDuration::from_secs(300));
        let (_, _, row) = g.evaluate(now + SimDuration::from_secs(360), 0, group);
        assert_eq!(row.reason, "Cooldown");
        // Settled 30 s later: the cooldown runs to 330 s.
        g.settled(now + SimDuration::from_secs(30), 7);
        let (_, _, row) = g.evaluate(now + SimDuration::from_secs(300), 0, group);
        assert_eq!(row.reason, "Cooldown");
        let (_, _, row) = g.evaluate(now + SimDuration::from_secs(360), 0, group);
        assert_eq!(row.reason, "ScaleIn");
    }

    #[test]
    fn repeated_breaches_in_a_step_while_warming_add_nothing_more() {
        let out = AwsPolicy::Step {
            alarm: alarm(50.0, Comparison::GreaterThanOrEqual, 1, 1),
            adjustment_type: AdjustmentType::ChangeInCapacity,
            steps: vec![
                Step {
                    lower: Some(0.0),
                    upper: Some(20.0),
                    adjustment: 2.0,
                },
                Step {
                    lower: Some(20.0),
                    upper: None,
                    adjustment: 4.0,
                },
            ],
            min_adjustment_magnitude: None,
        };
        // 10 warm, 2 warming from the first breach: the same step asks for 12 again.
        let group = GroupState {
            desired: 12,
            warm: 10,
            warming: 2,
        };
        assert_eq!(step_or_simple_target(&out, 60.0, group), Some(12));
        // A higher step adds only the difference.
        assert_eq!(step_or_simple_target(&out, 75.0, group), Some(14));
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

/// An Auto Scaling group at run time: recent one-minute samples of its warm
/// instances and the simple policies' cooldown.
#[derive(Clone, Debug)]
pub struct AwsGroup {
    pub spec: AwsSpec,
    /// `(minute end, CPU % per instance, requests per instance)`.
    minutes: std::collections::VecDeque<(SimTime, Vec<f64>, Vec<f64>)>,
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

    /// Records one minute of per-instance values (warm instances only).
    pub fn record_minute(&mut self, end: SimTime, cpu: Vec<f64>, requests: Vec<f64>) {
        self.minutes.push_back((end, cpu, requests));
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
                let values: Vec<f64> = self
                    .minutes
                    .iter()
                    .filter(|(t, _, _)| t.0 > start && t.0 <= end)
                    .flat_map(|(_, cpu, req)| match alarm.metric {
                        AwsMetric::CpuUtilization => cpu.iter(),
                        AwsMetric::RequestCountPerTarget => req.iter(),
                    })
                    .copied()
                    .collect();
                alarm.statistic.of(&values)
            })
            .collect()
    }

    /// How many instances the newest available minute measured.
    fn measured(&self, now: SimTime) -> i64 {
        let available = now.0.saturating_sub(self.spec.metric_delay.0);
        self.minutes
            .iter()
            .rev()
            .find(|(t, _, _)| t.0 <= available)
            .map_or(0, |(_, cpu, _)| cpu.len() as i64)
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

    /// One evaluation (every minute): each policy looks at its alarms; the
    /// largest capacity asked for wins, scale-in by target tracking only when
    /// every target-tracking policy wants it. Returns the new desired
    /// capacity (clamped), the simple policy that caused it if any, and the log line.
    pub fn evaluate(&self, now: SimTime, pool: usize, group: GroupState) -> (i64, Option<usize>, ScalerLogRow) {
        let mut notes = Vec::new();
        let mut outs: Vec<(i64, usize)> = Vec::new();
        let mut ins: Vec<(i64, usize)> = Vec::new();
        let mut tt_any = false;
        let mut tt_all_in = true;
        let mut blocked = None;
        let cooling = !self.activity.is_empty() || now < self.cooldown_until;
        for (i, policy) in self.spec.policies.iter().enumerate() {
            let alarms = policy.alarms();
            let dps: Vec<Vec<Option<f64>>> = alarms.iter().map(|a| self.datapoints(a, now)).collect();
            let states: Vec<AlarmState> = alarms.iter().zip(&dps).map(|(a, d)| a.evaluate(d)).collect();
            let latest = |d: &[Option<f64>]| d.iter().rev().flatten().next().copied();
            let value = latest(&dps[0]);
            let shown = value.map_or("-".to_string(), |v| format!("{v:.2}"));
            let state_names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
            notes.push(format!("policy[{i}] metric={shown} alarms={}", state_names.join("/")));
            match policy {
                AwsPolicy::Simple { .. } if states[0] == AlarmState::Alarm => {
                    if cooling {
                        blocked = Some("Cooldown");
                        continue;
                    }
                    let target = step_or_simple_target(policy, value.unwrap_or(0.0), group).unwrap_or(group.desired);
                    if target > group.desired {
                        outs.push((target, i))
                    } else {
                        ins.push((target, i))
                    }
                }
                AwsPolicy::Step { .. } if states[0] == AlarmState::Alarm => {
                    let Some(v) = value else { continue };
                    let Some(target) = step_or_simple_target(policy, v, group) else {
                        continue;
                    };
                    if target > group.desired {
                        outs.push((target, i));
                    } else if target < group.desired {
                        if group.warming > 0 {
                            blocked = Some("WarmupBlocksScaleIn");
                        } else {
                            ins.push((target, i));
                        }
                    }
                }
                AwsPolicy::TargetTracking {
                    target,
                    disable_scale_in,
                    ..
                } => {
                    tt_any = true;
                    let wants_in = states[1] == AlarmState::Alarm && !disable_scale_in;
                    if states[0] == AlarmState::Alarm
                        && let Some(v) = value
                    {
                        tt_all_in = false;
                        // Proportional to the instances the datapoint measured, not to
                        // the desired count, which may already include instances on their way.
                        let measured = self.measured(now).max(1);
                        outs.push((group.desired.max(target_tracking_out(measured, v, *target)), i));
                    } else if wants_in && group.warming == 0 {
                        let v = latest(&dps[1]).unwrap_or(0.0);
                        ins.push((target_tracking_in(group.desired, self.measured(now), v, *target), i));
                    } else {
                        if wants_in {
                            blocked = Some("WarmupBlocksScaleIn");
                        }
                        if !disable_scale_in {
                            tt_all_in = false;
                        }
                    }
                }
                _ => {}
            }
        }
        let (min, max) = (self.spec.min_size, self.spec.max_size);
        let chosen = if let Some(&(n, i)) = outs.iter().max_by_key(|(n, _)| *n) {
            Some((n, i, "ScaleOut"))
        } else if !ins.is_empty() && (!tt_any || tt_all_in) {
            let &(n, i) = ins.iter().max_by_key(|(n, _)| *n).expect("non-empty");
            Some((n, i, "ScaleIn"))
        } else {
            None
        };
        let (desired, source, reason) = match chosen {
            None => (group.desired.clamp(min, max), None, blocked.unwrap_or("NoAlarm")),
            Some((n, i, reason)) => {
                let desired = n.clamp(min, max);
                let reason = if desired != group.desired {
                    reason
                } else if n > max {
                    "AtMaxSize"
                } else if n < min {
                    "AtMinSize"
                } else {
                    // The adjustment rounded to no change.
                    "NoChange"
                };
                (desired, Some(i), reason)
            }
        };
        // Predictive scaling sets a floor under whatever the policies decided.
        let (desired, source, reason) = match self.forecast_floor(now) {
            Some(floor) if floor.min(max) > desired => (floor.min(max), None, "Predictive"),
            _ => (desired, source, reason),
        };
        let simple = source.filter(|i| matches!(self.spec.policies[*i], AwsPolicy::Simple { .. }));
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
            AwsPolicy::Simple { cooldown, .. } => cooldown.unwrap_or(self.spec.default_cooldown),
            _ => SimDuration::ZERO,
        }
    }
}
