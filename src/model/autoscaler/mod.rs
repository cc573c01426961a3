//! Autoscalers: controllers that read metrics and change a pool's size.
//!
//! [`hpa`] is the Kubernetes HorizontalPodAutoscaler (autoscaling/v2): the
//! replica calculation and the controller's normalization are pure functions
//! that follow the upstream controller step by step, rounding and time-window
//! edges included. [`pipeline`] is what stands between the pods and the
//! controller: samples scraped at a resolution, averaged over a window and
//! delivered after a delay. [`PoolAutoscaler`] puts them together for one
//! pool; the system calls it on its sync events and applies the decision.

pub mod aws;
pub mod hpa;
pub mod keda;
pub mod mixed;
pub mod pipeline;
pub mod schedule;

use crate::engine::{SimDuration, SimTime};

use hpa::{Decision, Hpa, HpaSpec, MetricError, PodMetrics, Proposal};
use pipeline::{MetricsPipeline, PodView, Values};

/// A Kubernetes resource a Resource metric reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceName {
    Cpu,
    Memory,
}

/// A per-pod metric capsim can produce for a Pods metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodMetricName {
    /// Requests the load balancer sent to the pod per second.
    RequestsPerSecond,
    /// Requests the pod holds (working or queued), time-averaged.
    InFlight,
}

/// A metric from outside the pods for an External metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalMetricName {
    /// Requests per second sent to the whole pool.
    RequestsPerSecond,
    /// Messages in a queue, visible and in flight (KEDA's SQS scaler with
    /// `scaleOnInFlight`, RabbitMQ's queue length), read when asked.
    QueueDepth { queue: u16 },
}

/// What an HPA metric targets, in milli-units where it is a quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `averageUtilization`: percent of the pods' requests.
    Utilization(i32),
    /// `averageValue`, per pod.
    AverageValue(i64),
    /// `value`, in total.
    Value(i64),
}

/// One entry of `spec.metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricSpec {
    Resource { name: ResourceName, target: Target },
    Pods { name: PodMetricName, target_average: i64 },
    External { name: ExternalMetricName, target: Target },
}

impl MetricSpec {
    /// A short label for the decision log.
    pub fn label(&self) -> &'static str {
        match self {
            MetricSpec::Resource {
                name: ResourceName::Cpu,
                ..
            } => "cpu",
            MetricSpec::Resource {
                name: ResourceName::Memory,
                ..
            } => "memory",
            MetricSpec::Pods {
                name: PodMetricName::RequestsPerSecond,
                ..
            } => "pod_requests_per_second",
            MetricSpec::Pods {
                name: PodMetricName::InFlight,
                ..
            } => "pod_in_flight",
            MetricSpec::External {
                name: ExternalMetricName::RequestsPerSecond,
                ..
            } => "requests_per_second",
            MetricSpec::External {
                name: ExternalMetricName::QueueDepth { .. },
                ..
            } => "queue_depth",
        }
    }
}

/// A pool's Kubernetes HPA: the controller, its metrics and the pipeline feeding it.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaConfig {
    pub spec: HpaSpec,
    pub metrics: Vec<MetricSpec>,
    /// metrics-server: scrape resolution (= sample window).
    pub resolution: SimDuration,
    /// Time from a scrape until the controller can read it.
    pub delay: SimDuration,
    /// When the first scrape happens: the pipeline's phase against the
    /// controller's syncs, which start at time 0.
    pub offset: SimDuration,
    /// The Kubernetes object around the spec, kept for export only: the
    /// controller never reads it.
    pub object: HpaObject,
}

/// What names an HPA object and its target, as a manifest or the scenario
/// gave it (the pool's name by default), and the names of the queues its
/// External metrics read: what an export writes back.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HpaObject {
    /// `metadata.name`.
    pub name: String,
    pub namespace: Option<String>,
    pub labels: std::collections::BTreeMap<String, String>,
    pub annotations: std::collections::BTreeMap<String, String>,
    /// `spec.scaleTargetRef`.
    pub target: ScaleTargetRef,
    /// Queue index → name, for the `queue_depth` metrics.
    pub queues: std::collections::BTreeMap<u16, String>,
}

/// `spec.scaleTargetRef`: the workload the HPA scales (the pool stands for it).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ScaleTargetRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

impl ScaleTargetRef {
    /// A Deployment (`apps/v1`) named `name`: the default target.
    pub fn deployment(name: &str) -> ScaleTargetRef {
        ScaleTargetRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: name.into(),
        }
    }
}

/// Pod resource requests and the memory model that feed Resource metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodResources {
    pub cpu_request_milli: i64,
    pub memory_request_bytes: i64,
    /// Memory in use = baseline + per in-flight request × requests held.
    pub memory_baseline_bytes: i64,
    pub memory_per_in_flight_bytes: i64,
}

/// One line of the decision log of an autoscaler other than the HPA
/// (AWS Auto Scaling, KEDA's activation loop).
#[derive(Clone, Debug, PartialEq)]
pub struct ScalerLogRow {
    pub time: SimTime,
    pub pool: usize,
    pub current: i64,
    /// What it looked at: each AWS policy's alarm states and datapoint, KEDA's metric.
    pub policies: String,
    pub desired: i64,
    pub reason: &'static str,
}

/// One evaluation, as the decision log shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRecord {
    pub time: SimTime,
    pub pool: usize,
    pub decision: Decision,
    /// Per metric: what it proposed, or why it could not.
    pub metrics: Vec<MetricOutcome>,
}

/// One metric's part in an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricOutcome {
    pub label: &'static str,
    /// The value is a utilization percentage (else milli-units).
    pub utilization: bool,
    pub proposal: Result<Proposal, MetricError>,
}

/// The autoscaler of one pool at run time.
#[derive(Clone, Debug)]
pub struct PoolAutoscaler {
    pub config: HpaConfig,
    pub resources: PodResources,
    hpa: Hpa,
    pub pipeline: MetricsPipeline,
}

impl PoolAutoscaler {
    /// A scheduled action changes the HPA's bounds (as a patch to the object would).
    pub fn set_bounds(&mut self, min: Option<i32>, max: Option<i32>) {
        for spec in [&mut self.config.spec, &mut self.hpa.spec] {
            if let Some(min) = min {
                spec.min_replicas = min;
            }
            if let Some(max) = max {
                spec.max_replicas = max;
            }
        }
    }

    pub fn new(config: HpaConfig, resources: PodResources) -> PoolAutoscaler {
        let pipeline = MetricsPipeline::new(config.resolution, config.delay, resources);
        PoolAutoscaler {
            hpa: Hpa::new(config.spec.clone()),
            config,
            resources,
            pipeline,
        }
    }

    /// The value of an External metric (milli-units) as the metrics server
    /// would return it now; `queue_depths` are the queues' current depths.
    pub fn external(&self, now: SimTime, name: ExternalMetricName, queue_depths: &[i64]) -> Option<i64> {
        match name {
            ExternalMetricName::RequestsPerSecond => self.pipeline.external_rps(now),
            ExternalMetricName::QueueDepth { queue } => queue_depths.get(usize::from(queue)).copied(),
        }
    }

    /// The first External metric's value (what a KEDA trigger reads).
    pub fn trigger_value(&self, now: SimTime, queue_depths: &[i64]) -> Option<i64> {
        self.config.metrics.iter().find_map(|m| match *m {
            MetricSpec::External { name, .. } => self.external(now, name, queue_depths),
            _ => None,
        })
    }

    /// One reconcile: `pods` are the pool's live instances (launch order),
    /// `current` its desired size (`scale.spec.replicas`).
    pub fn evaluate(
        &mut self,
        now: SimTime,
        pool: usize,
        pods: &[PodView],
        current: i32,
        queue_depths: &[i64],
    ) -> DecisionRecord {
        let spec = &self.config.spec;
        let cfg = spec.controller;
        let tolerances = spec.tolerances();
        let ready_pods = pods
            .iter()
            .filter(|p| p.pod.ready.is_some_and(|r| r.ready) && !p.pod.deleting)
            .count();
        let status_replicas = pods.iter().filter(|p| !p.pod.deleting).count() as i32;
        let mut metrics = Vec::with_capacity(self.config.metrics.len());
        // The controller reads metrics only inside [min, max] and not at zero
        // (scaling disabled); nothing else is computed or logged.
        let consults =
            (current != 0 || spec.min_replicas == 0) && (spec.min_replicas..=spec.max_replicas).contains(&current);
        let consulted = if consults { &self.config.metrics[..] } else { &[] };
        for metric in consulted {
            let proposal = match *metric {
                MetricSpec::Resource { name, target } => {
                    let (samples, hpa_pods) = self.pipeline.pod_samples(now, pods, |v: &Values| match name {
                        ResourceName::Cpu => v.cpu_milli,
                        ResourceName::Memory => v.memory_milli,
                    });
                    let request = match name {
                        ResourceName::Cpu => self.resources.cpu_request_milli,
                        ResourceName::Memory => self.resources.memory_request_bytes * 1000,
                    };
                    let hpa_pods: Vec<hpa::Pod> = hpa_pods
                        .into_iter()
                        .map(|p| hpa::Pod {
                            request_milli: request,
                            ..p
                        })
                        .collect();
                    let m = PodMetrics {
                        pods: &hpa_pods,
                        samples: &samples,
                        cpu: name == ResourceName::Cpu,
                    };
                    match target {
                        Target::Utilization(u) => hpa::resource_replicas(current, u, &m, tolerances, now, &cfg),
                        Target::AverageValue(v) | Target::Value(v) => {
                            hpa::plain_replicas(current, v, &m, tolerances, now, &cfg)
                        }
                    }
                }
                MetricSpec::Pods { name, target_average } => {
                    let (samples, hpa_pods) = self.pipeline.pod_samples(now, pods, |v: &Values| match name {
                        PodMetricName::RequestsPerSecond => v.rps_milli,
                        PodMetricName::InFlight => v.in_flight_milli,
                    });
                    let m = PodMetrics {
                        pods: &hpa_pods,
                        samples: &samples,
                        cpu: false,
                    };
                    hpa::plain_replicas(current, target_average, &m, tolerances, now, &cfg)
                }
                MetricSpec::External { name, target } => match self.external(now, name, queue_depths) {
                    None => Err(MetricError::NoMetrics),
                    Some(total) => match target {
                        Target::AverageValue(v) => hpa::object_average_replicas(status_replicas, total, v, tolerances),
                        Target::Value(v) => hpa::object_value_replicas(current, total, v, ready_pods, tolerances),
                        Target::Utilization(_) => unreachable!("validated: external metrics have no utilization"),
                    },
                },
            };
            let utilization = matches!(
                metric,
                MetricSpec::Resource {
                    target: Target::Utilization(_),
                    ..
                }
            );
            metrics.push(MetricOutcome {
                label: metric.label(),
                utilization,
                proposal,
            });
        }
        let proposals: Vec<Result<Proposal, MetricError>> = metrics.iter().map(|m| m.proposal.clone()).collect();
        let decision = self.hpa.reconcile(now, current, move || proposals);
        DecisionRecord {
            time: now,
            pool,
            decision,
            metrics,
        }
    }
}
