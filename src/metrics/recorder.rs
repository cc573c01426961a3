//! The recorder a run writes into as it goes.

use crate::engine::{SimDuration, SimTime};
use crate::model::autoscaler::DecisionRecord;
use crate::model::autoscaler::ScalerLogRow;

use super::integral::TimeIntegral;
use super::latency::LatencyRecorder;
use super::slo::SloSpec;

/// Request outcomes, counted over the run or over one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub arrived: u64,
    pub completed: u64,
    /// Refused because the chosen instance's accept queue was full.
    pub rejected_queue_full: u64,
    /// Refused because no instance was in rotation.
    pub rejected_no_instance: u64,
    /// The client gave up before the response.
    pub timed_out: u64,
    /// Lost because the instance holding them stopped.
    pub failed: u64,
    /// Failed by the data tier: no database connection, or none in time.
    pub failed_downstream: u64,
}

impl Counters {
    pub fn errors(&self) -> u64 {
        self.rejected_queue_full + self.rejected_no_instance + self.timed_out + self.failed + self.failed_downstream
    }
}

/// One pool's state over one interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolRow {
    /// Live nodes (node pools only).
    pub nodes: u32,
    /// Pods waiting for room on a node.
    pub pods_pending: u32,
    pub booting: u32,
    pub ready: u32,
    pub draining: u32,
    /// Busy core-time over serving core-time in the interval (NaN if no core served).
    pub cpu_utilization: f64,
    /// Time-averaged busy cores over the interval (the pool's CPU demand).
    pub busy_cores: f64,
    /// CPU work sent to the pool in the interval (served or not) / its
    /// length: the demand busy cores would show with no cap.
    pub offered_cores: f64,
    /// Time-averaged requests waiting for a worker or a core.
    pub queue_length_mean: f64,
}

/// One row of the time series.
#[derive(Clone, Debug, PartialEq)]
pub struct IntervalRow {
    pub start: SimTime,
    pub end: SimTime,
    pub counters: Counters,
    /// The rate curve at the middle of the interval (what was asked for).
    pub target_rps: f64,
    pub latency_mean_ms: f64,
    pub latency_p50_ms: f64,
    pub latency_p90_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    /// Time-averaged requests in the system (arrived, not yet resolved for the client).
    pub in_system_mean: f64,
    pub pools: Vec<PoolRow>,
    pub cost_cumulative_usd: f64,
    /// Whether the interval broke the scenario's SLO (`None` without one).
    pub slo_violated: Option<bool>,
    /// The data tier over the interval (`None` without one).
    pub data: Option<crate::model::data::DataRow>,
}

/// Discrete things that happened in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    InstanceLaunched,
    InstanceReady,
    InstanceRunning,
    InstanceDraining,
    InstanceStopped,
    /// A scheduled action ran (the `instance` column holds its index).
    ScheduledAction,
    /// Node pool events (the `instance` column holds the node's index).
    NodeLaunched,
    NodeReady,
    NodeRemoved,
    /// A vertical resize began (the `instance` column holds its index).
    ResizeStarted,
    /// A data-tier server failed (a scheduled replica, primary or cache
    /// node fault), came back, or a replica became its shard's primary.
    ServerDown,
    ServerUp,
    ServerPromoted,
    /// A replica stopped applying writes (a scheduled `replica_lag`), and
    /// started again.
    ApplyPaused,
    ApplyResumed,
    /// Every copy a cache tier held was dropped (a scheduled `flush`).
    CacheFlushed,
    /// A scheduled fault: an instance crashed, slowed down, or got its speed back.
    InstanceCrashed,
    InstanceSlowed,
    InstanceRestored,
    /// A spot instance got its interruption notice (it drains until the end of it).
    InstanceInterrupted,
    /// A load balancer's active checks took an instance out of rotation or
    /// put it back; its passive checks took it out for `fail_timeout`.
    BackendDown,
    BackendUp,
    BackendEjected,
    /// A deploy began, switched traffic to its new set (blue-green), or
    /// finished (the `instance` column holds the deploy's index).
    DeployStarted,
    DeploySwitched,
    DeployFinished,
}

/// Where the time went between load showing up in a metric and the
/// capacity an autoscaler added for it serving requests, for one instance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CapacityRecord {
    pub pool: usize,
    pub instance: u32,
    pub decided_at: SimTime,
    pub ready_at: SimTime,
    /// Half the metric window: a sample describes load that long ago, on average.
    pub averaging_s: f64,
    /// The pipeline's delivery delay.
    pub pipeline_delay_s: f64,
    /// From the sample becoming visible to the controller's decision.
    pub sync_wait_s: f64,
    /// Launch until a node had room (node pools only).
    pub node_wait_s: f64,
    /// Scheduled until the process runs (image pull, start).
    pub boot_s: f64,
    /// Running until ready.
    pub readiness_s: f64,
}

impl CapacityRecord {
    pub fn total_s(&self) -> f64 {
        self.averaging_s + self.pipeline_delay_s + self.sync_wait_s + self.node_wait_s + self.boot_s + self.readiness_s
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub time: SimTime,
    pub kind: EventKind,
    pub subject: Subject,
    pub instance: u32,
}

/// What an event happened to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A pool (and, for instance events, one of its instances).
    Pool(usize),
    /// A data-tier server, by index (as `summary.json` lists them).
    Server(usize),
    /// A cache tier, by index (as `summary.json` lists them).
    Cache(usize),
}

/// Collects everything a run reports.
pub struct Recorder {
    pub interval: SimDuration,
    /// Latency statistics only count requests that arrived at or after this time.
    pub warmup: SimTime,
    pub totals: Counters,
    current: Counters,
    interval_start: SimTime,
    pub queueing: LatencyRecorder,
    pub service: LatencyRecorder,
    /// Response time per request class (after the warm-up); all classes
    /// together are [`Recorder::latency`]. Complete once the last interval
    /// is closed (see `interval_folds`).
    pub class_latency: Vec<LatencyRecorder>,
    /// Responses per request class over the whole run (what is billed).
    pub class_responses: Vec<u64>,
    interval_latency: LatencyRecorder,
    /// Whether the interval's responses so far are exactly what the only
    /// class's histogram takes (every one arrived after the warm-up): then
    /// they are recorded once, in the interval's histogram, which is added
    /// to the class's when the interval closes. The first response of the
    /// interval that arrived before the warm-up ends it: what the interval
    /// held so far is added at once, and the class's histogram takes the
    /// rest of the interval response by response.
    interval_folds: bool,
    /// Requests in the system over time (for Little's law).
    pub in_system: TimeIntegral,
    interval_in_system_area: u128,
    pub slo: Option<SloSpec>,
    pub rows: Vec<IntervalRow>,
    pub events: Vec<EventRecord>,
    /// Autoscaler evaluations that changed or could have changed something.
    pub decisions: Vec<DecisionRecord>,
    /// Time to capacity of every instance an autoscaler added that became ready.
    pub capacity: Vec<CapacityRecord>,
    /// AWS Auto Scaling evaluations that alarmed or changed something.
    pub scaler_rows: Vec<ScalerLogRow>,
}

impl Recorder {
    pub fn new(interval: SimDuration, warmup: SimTime, classes: usize, slo: Option<SloSpec>) -> Recorder {
        Recorder {
            interval,
            warmup,
            totals: Counters::default(),
            current: Counters::default(),
            interval_start: SimTime::ZERO,
            queueing: LatencyRecorder::default(),
            service: LatencyRecorder::default(),
            class_latency: vec![LatencyRecorder::default(); classes],
            class_responses: vec![0; classes],
            interval_latency: LatencyRecorder::default(),
            interval_folds: classes == 1,
            in_system: TimeIntegral::default(),
            interval_in_system_area: 0,
            slo,
            rows: Vec::new(),
            events: Vec::new(),
            decisions: Vec::new(),
            capacity: Vec::new(),
            scaler_rows: Vec::new(),
        }
    }

    #[inline]
    pub fn arrived(&mut self, now: SimTime) {
        self.totals.arrived += 1;
        self.current.arrived += 1;
        self.in_system.add(now, 1);
    }

    #[inline]
    pub fn rejected(&mut self, now: SimTime, no_instance: bool) {
        if no_instance {
            self.totals.rejected_no_instance += 1;
            self.current.rejected_no_instance += 1;
        } else {
            self.totals.rejected_queue_full += 1;
            self.current.rejected_queue_full += 1;
        }
        self.in_system.sub(now, 1);
    }

    /// A request was lost with its instance.
    pub fn failed(&mut self, now: SimTime) {
        self.totals.failed += 1;
        self.current.failed += 1;
        self.in_system.sub(now, 1);
    }

    /// The data tier failed a request.
    pub fn failed_downstream(&mut self, now: SimTime) {
        self.totals.failed_downstream += 1;
        self.current.failed_downstream += 1;
        self.in_system.sub(now, 1);
    }

    /// This interval's counts so far.
    pub fn current(&self) -> &Counters {
        &self.current
    }

    #[inline]
    pub fn timed_out(&mut self, now: SimTime) {
        self.totals.timed_out += 1;
        self.current.timed_out += 1;
        self.in_system.sub(now, 1);
    }

    /// A response reached its client: one an app instance computed, which
    /// reached it at `reached` (its arrival, or later when it came through
    /// a CDN) and got its first core at `service_start`.
    #[inline]
    pub fn completed(
        &mut self,
        now: SimTime,
        arrival: SimTime,
        reached: SimTime,
        service_start: SimTime,
        class: usize,
    ) {
        self.responded(now, arrival, class);
        if arrival >= self.warmup {
            self.queueing.record((service_start - reached).0);
            self.service.record((now - service_start).0);
        }
    }

    /// A response reached its client (from an app instance or the edge).
    #[inline]
    pub fn responded(&mut self, now: SimTime, arrival: SimTime, class: usize) {
        self.totals.completed += 1;
        self.current.completed += 1;
        self.class_responses[class] += 1;
        self.in_system.sub(now, 1);
        let latency = (now - arrival).0;
        if arrival >= self.warmup {
            if !self.interval_folds {
                self.class_latency[class].record(latency);
            }
        } else if self.interval_folds {
            self.interval_folds = false;
            self.class_latency[0].merge(&self.interval_latency);
        }
        self.interval_latency.record(latency);
    }

    /// Response time of every class (after the warm-up): the classes'
    /// histograms added, which is exact, rather than a second record of
    /// every response.
    pub fn latency(&self) -> LatencyRecorder {
        let mut all = LatencyRecorder::default();
        for class in &self.class_latency {
            all.merge(class);
        }
        all
    }

    pub fn event(&mut self, time: SimTime, kind: EventKind, pool: usize, instance: u32) {
        self.events.push(EventRecord {
            time,
            kind,
            subject: Subject::Pool(pool),
            instance,
        });
    }

    /// Something happened to data-tier server `server`.
    pub fn server_event(&mut self, time: SimTime, kind: EventKind, server: usize) {
        self.events.push(EventRecord {
            time,
            kind,
            subject: Subject::Server(server),
            instance: 0,
        });
    }

    /// Something happened to cache tier `tier` as a whole.
    pub fn cache_event(&mut self, time: SimTime, kind: EventKind, tier: usize) {
        self.events.push(EventRecord {
            time,
            kind,
            subject: Subject::Cache(tier),
            instance: 0,
        });
    }

    pub fn interval_start(&self) -> SimTime {
        self.interval_start
    }

    /// Closes the interval ending at `now` with the pool and cost figures the
    /// system measured over it.
    pub fn close_interval(
        &mut self,
        now: SimTime,
        target_rps: f64,
        pools: Vec<PoolRow>,
        cost_cumulative_usd: f64,
        data: Option<crate::model::data::DataRow>,
    ) {
        let area = self.in_system.area_until(now);
        let span_ns = (now - self.interval_start).0.max(1) as f64;
        let l = &self.interval_latency;
        self.rows.push(IntervalRow {
            start: self.interval_start,
            end: now,
            counters: self.current,
            target_rps,
            latency_mean_ms: l.mean_ms(),
            latency_p50_ms: l.quantile_ms(0.5),
            latency_p90_ms: l.quantile_ms(0.9),
            latency_p99_ms: l.quantile_ms(0.99),
            latency_max_ms: l.max_ms(),
            in_system_mean: (area - self.interval_in_system_area) as f64 / span_ns,
            pools,
            cost_cumulative_usd,
            slo_violated: self.slo.map(|slo| slo.violated(l, &self.current)),
            data,
        });
        self.interval_in_system_area = area;
        self.interval_start = now;
        self.current = Counters::default();
        if self.interval_folds {
            self.class_latency[0].merge(&self.interval_latency);
        }
        self.interval_folds = self.class_latency.len() == 1;
        self.interval_latency.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With one class, responses reach the class's histogram through the
    /// interval's: the same counts, sum and maximum as recording each one
    /// after the warm-up, including intervals that mix responses from
    /// before and after it.
    #[test]
    fn class_latency_through_intervals_is_exact() {
        let warmup = SimTime::from_secs(5);
        let mut rec = Recorder::new(SimDuration::from_secs(1), warmup, 1, None);
        let mut expected = LatencyRecorder::default();
        let mut rng = crate::engine::RngStream::new(crate::engine::StreamId::new(9, 0, "recorder"));
        let mut closed = 0;
        for ms in 0..12_000u64 {
            let now = SimTime(ms * 1_000_000);
            while SimTime::from_secs(closed + 1) <= now {
                closed += 1;
                rec.close_interval(SimTime::from_secs(closed), 0.0, Vec::new(), 0.0, None);
            }
            // Latencies up to 3 s: responses before the warm-up keep coming after it.
            let latency = rng.below(3_000_000_000).min(now.0);
            let arrival = SimTime(now.0 - latency);
            rec.arrived(now);
            rec.responded(now, arrival, 0);
            if arrival >= warmup {
                expected.record(latency);
            }
        }
        assert_ne!(
            rec.class_latency[0].count(),
            expected.count(),
            "the last interval is still open"
        );
        rec.close_interval(SimTime::from_secs(closed + 1), 0.0, Vec::new(), 0.0, None);
        assert!(expected.count() > 5_000);
        assert_eq!(rec.class_latency[0].encode(), expected.encode());
        assert_eq!(rec.latency().encode(), expected.encode());
    }
}
