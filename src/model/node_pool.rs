//! Nodes under a pool of pods, and a cluster-autoscaler-like loop: pods
//! that find no room wait (Pending) until a node is provisioned for them;
//! nodes left empty are removed after a delay. With a node pool, the nodes
//! are what is billed.

use std::collections::VecDeque;

use crate::engine::{SimDuration, SimTime};

use super::distribution::Distribution;

/// A node pool's validated configuration.
#[derive(Clone, Debug)]
pub struct NodePoolSpec {
    /// Index into the run's instance-type catalogue (the node's type).
    pub instance_type: usize,
    pub pods_per_node: u32,
    /// Nodes at time 0 (ready).
    pub initial: u32,
    pub min: u32,
    pub max: u32,
    /// From the request for a node until pods can be scheduled on it.
    pub provisioning: Distribution,
    /// How long a node must stay empty before it is removed
    /// (cluster-autoscaler `--scale-down-unneeded-time`).
    pub scale_down_delay: SimDuration,
    /// How often the loop looks (`--scan-interval`).
    pub scan_interval: SimDuration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Provisioning,
    Ready,
    Stopped,
}

#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub state: NodeState,
    pub pods: u32,
    pub launched_at: SimTime,
    pub stopped_at: Option<SimTime>,
    pub empty_since: Option<SimTime>,
}

/// A node pool at run time.
#[derive(Clone, Debug)]
pub struct NodePool {
    pub spec: NodePoolSpec,
    pub nodes: Vec<Node>,
    /// Pods waiting for room, oldest first (stopped ones are skipped).
    pub pending: VecDeque<u32>,
}

impl NodePool {
    pub fn new(spec: NodePoolSpec) -> NodePool {
        let nodes = (0..spec.initial)
            .map(|_| Node {
                state: NodeState::Ready,
                pods: 0,
                launched_at: SimTime::ZERO,
                stopped_at: None,
                empty_since: Some(SimTime::ZERO),
            })
            .collect();
        NodePool {
            spec,
            nodes,
            pending: VecDeque::new(),
        }
    }

    /// Places a pod on the first ready node with room.
    pub fn place(&mut self) -> Option<u32> {
        let ppn = self.spec.pods_per_node;
        let (i, node) = self
            .nodes
            .iter_mut()
            .enumerate()
            .find(|(_, n)| n.state == NodeState::Ready && n.pods < ppn)?;
        node.pods += 1;
        node.empty_since = None;
        Some(i as u32)
    }

    /// A pod left `node`.
    pub fn release(&mut self, now: SimTime, node: u32) {
        let n = &mut self.nodes[node as usize];
        n.pods -= 1;
        if n.pods == 0 {
            n.empty_since = Some(now);
        }
    }

    /// Nodes alive (provisioning or ready).
    pub fn live(&self) -> u32 {
        self.nodes.iter().filter(|n| n.state != NodeState::Stopped).count() as u32
    }

    /// Nodes to request for the pending pods: room not already on its way,
    /// within the maximum.
    pub fn to_add(&self, pending: u32) -> u32 {
        let ppn = self.spec.pods_per_node;
        let coming = self.nodes.iter().filter(|n| n.state == NodeState::Provisioning).count() as u32 * ppn;
        let short = pending.saturating_sub(coming);
        short.div_ceil(ppn).min(self.spec.max.saturating_sub(self.live()))
    }

    /// Empty ready nodes past the scale-down delay, keeping the minimum.
    pub fn removable(&self, now: SimTime) -> Vec<u32> {
        let mut spare = self.live().saturating_sub(self.spec.min);
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if spare == 0 {
                break;
            }
            if n.state == NodeState::Ready
                && n.pods == 0
                && n.empty_since.is_some_and(|t| t + self.spec.scale_down_delay <= now)
            {
                out.push(i as u32);
                spare -= 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(initial: u32, max: u32) -> NodePool {
        NodePool::new(NodePoolSpec {
            instance_type: 0,
            pods_per_node: 2,
            initial,
            min: 1,
            max,
            provisioning: Distribution::constant(60.0),
            scale_down_delay: SimDuration::from_secs(600),
            scan_interval: SimDuration::from_secs(10),
        })
    }

    #[test]
    fn places_first_fit_and_asks_for_what_is_missing() {
        let mut p = pool(1, 5);
        assert_eq!(p.place(), Some(0));
        assert_eq!(p.place(), Some(0));
        assert_eq!(p.place(), None);
        // 3 pending pods, 2 per node: 2 nodes; one already coming covers 2.
        assert_eq!(p.to_add(3), 2);
        p.nodes.push(Node {
            state: NodeState::Provisioning,
            pods: 0,
            launched_at: SimTime::ZERO,
            stopped_at: None,
            empty_since: None,
        });
        assert_eq!(p.to_add(3), 1);
        // Never past the maximum.
        assert_eq!(pool(1, 2).to_add(10), 1);
    }

    #[test]
    fn removes_nodes_empty_long_enough_keeping_the_minimum() {
        let mut p = pool(3, 5);
        p.place();
        p.release(SimTime::from_secs(100), 0);
        // Nodes 1 and 2 have been empty since 0 s, node 0 since 100 s.
        assert!(p.removable(SimTime::from_secs(599)).is_empty());
        assert_eq!(p.removable(SimTime::from_secs(600)), vec![1, 2]);
        // All three qualify at 700 s, but one node must stay.
        assert_eq!(p.removable(SimTime::from_secs(700)), vec![0, 1]);
    }
}
