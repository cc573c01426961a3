//! AWS EC2 Auto Scaling: CloudWatch alarms driving simple and step scaling
//! policies, and target tracking, with the documented cooldown, warm-up and
//! rounding rules (`as-scaling-simple-step.md`, `as-scaling-target-tracking.md`,
//! `ec2-auto-scaling-default-instance-warmup.md`).
//!
//! Everything here is pure: datapoints and the group's state in, a new
//! desired capacity out. The system feeds it one-minute samples and applies
//! the result.

use crate::engine::{SimDuration, SimTime};

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

/// Target tracking's scale-in: the removal rounded down ("would remove 1.5,
/// removes 1"), never below the capacity that keeps the metric at target.
pub fn target_tracking_in(current: i64, metric: f64, target: f64) -> i64 {
    let needed = current as f64 * metric / target;
    let removal = (current as f64 - needed).floor() as i64;
    (current - removal.max(0)).max(needed.ceil() as i64)
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
            let scale_out = step.adjustment > 0.0 || *adjustment_type == AdjustmentType::ExactCapacity;
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
        assert_eq!(target_tracking_in(10, 42.5, 50.0), 9);
        // Never below what keeps the metric at target.
        assert_eq!(target_tracking_in(10, 5.0, 50.0), 1);
        assert_eq!(target_tracking_in(10, 50.0, 50.0), 10);
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
