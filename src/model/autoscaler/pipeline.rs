//! The metrics pipeline between pods and an autoscaler, like metrics-server:
//! every `resolution` it scrapes each running pod and turns the counters
//! since the previous scrape into a sample (CPU cores, memory, requests per
//! second, requests in flight); the controller reads the newest sample that
//! is at least `delay` old. A pod's first sample needs a full window while
//! it runs, so a new pod is "missing" for a while, as in a real cluster.

use std::collections::{BTreeMap, VecDeque};

use crate::engine::{SimDuration, SimTime};

use super::PodResources;
use super::hpa::{Pod, Sample};

/// One scrape's averages over the window, in milli-units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Values {
    /// CPU in use, in millicores.
    pub cpu_milli: i64,
    /// Memory in use, in milli-bytes (Kubernetes' `MilliValue` of bytes).
    pub memory_milli: i64,
    pub rps_milli: i64,
    pub in_flight_milli: i64,
}

/// What the system reports about one pod at a scrape.
#[derive(Clone, Copy, Debug)]
pub struct PodCounters {
    pub instance: u32,
    /// When its process started; `None` while pending.
    pub running_since: Option<SimTime>,
    /// Busy core-nanoseconds since launch.
    pub busy_area: u128,
    /// Held-request-nanoseconds since launch.
    pub outstanding_area: u128,
    /// Requests routed to it since launch.
    pub routed: u64,
}

/// One pod as the controller sees it at a sync.
#[derive(Clone, Copy, Debug)]
pub struct PodView {
    pub instance: u32,
    pub pod: Pod,
}

#[derive(Clone, Debug, Default)]
struct Track {
    last: Option<(SimTime, PodCounters)>,
    samples: VecDeque<(SimTime, Values)>,
}

/// Per-pool pipeline state.
#[derive(Clone, Debug)]
pub struct MetricsPipeline {
    pub resolution: SimDuration,
    pub delay: SimDuration,
    resources: PodResources,
    tracks: BTreeMap<u32, Track>,
    last_routed: Option<(SimTime, u64)>,
    external: VecDeque<(SimTime, i64)>,
    /// Recent scrape times.
    scrapes: VecDeque<SimTime>,
}

impl MetricsPipeline {
    pub fn new(resolution: SimDuration, delay: SimDuration, resources: PodResources) -> MetricsPipeline {
        MetricsPipeline {
            resolution,
            delay,
            resources,
            tracks: BTreeMap::new(),
            last_routed: None,
            external: VecDeque::new(),
            scrapes: VecDeque::new(),
        }
    }

    /// Samples kept per pod: enough to serve the newest visible one.
    fn keep(&self) -> usize {
        (self.delay.0 / self.resolution.0.max(1)) as usize + 2
    }

    /// Scrapes the pool's live pods and the pool's total routed requests.
    pub fn scrape(&mut self, now: SimTime, pods: &[PodCounters], pool_routed: u64) {
        let keep = self.keep();
        let r = self.resources;
        self.tracks.retain(|id, _| pods.iter().any(|p| p.instance == *id));
        for pod in pods {
            let Some(since) = pod.running_since.filter(|s| *s <= now) else {
                continue;
            };
            let track = self.tracks.entry(pod.instance).or_default();
            if let Some((then, prev)) = track.last
                && then >= since
                && now > then
            {
                let span = u128::from((now - then).0);
                let in_flight_milli = ((pod.outstanding_area - prev.outstanding_area) * 1000 / span) as i64;
                let values = Values {
                    cpu_milli: ((pod.busy_area - prev.busy_area) * 1000 / span) as i64,
                    memory_milli: (r.memory_baseline_bytes * 1000)
                        .saturating_add(r.memory_per_in_flight_bytes.saturating_mul(in_flight_milli)),
                    rps_milli: (u128::from(pod.routed - prev.routed) * 1_000_000_000_000 / span) as i64,
                    in_flight_milli,
                };
                track.samples.push_back((now, values));
                if track.samples.len() > keep {
                    track.samples.pop_front();
                }
            }
            track.last = Some((now, *pod));
        }
        if let Some((then, prev)) = self.last_routed
            && now > then
        {
            let rps = (u128::from(pool_routed - prev) * 1_000_000_000_000 / u128::from((now - then).0)) as i64;
            self.external.push_back((now, rps));
            if self.external.len() > keep {
                self.external.pop_front();
            }
        }
        self.last_routed = Some((now, pool_routed));
        self.scrapes.push_back(now);
        if self.scrapes.len() > keep {
            self.scrapes.pop_front();
        }
    }

    /// The newest scrape whose samples the controller can read at `now`.
    pub fn newest_visible(&self, now: SimTime) -> Option<SimTime> {
        self.scrapes.iter().rev().copied().find(|at| self.visible(now, *at))
    }

    fn visible(&self, now: SimTime, at: SimTime) -> bool {
        at + self.delay <= now
    }

    /// The newest visible sample of each pod for one metric, with the pods
    /// (requests left at 0 for the caller to fill).
    pub fn pod_samples(
        &self,
        now: SimTime,
        pods: &[PodView],
        pick: impl Fn(&Values) -> i64,
    ) -> (Vec<Option<Sample>>, Vec<Pod>) {
        let samples = pods
            .iter()
            .map(|p| {
                let track = self.tracks.get(&p.instance)?;
                let (at, values) = track.samples.iter().rev().find(|(at, _)| self.visible(now, *at))?;
                Some(Sample {
                    value_milli: pick(values),
                    timestamp: *at,
                    window: self.resolution,
                })
            })
            .collect();
        (samples, pods.iter().map(|p| p.pod).collect())
    }

    /// The newest visible pool-wide request rate, in milli-requests per second.
    pub fn external_rps(&self, now: SimTime) -> Option<i64> {
        self.external
            .iter()
            .rev()
            .find(|(at, _)| self.visible(now, *at))
            .map(|(_, v)| *v)
    }
}
