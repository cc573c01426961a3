//! The run loop.

use super::scheduler::Scheduler;
use super::time::SimTime;

/// A model driven by the engine: it owns its state and reacts to its events.
pub trait Model {
    /// A small plain value: the event list copies it in and out.
    type Event: Copy;

    /// Handles one event at `now`, scheduling follow-ups on `scheduler`.
    fn handle(&mut self, now: SimTime, event: Self::Event, scheduler: &mut Scheduler<Self::Event>);

    /// Work the model did that made no event (e.g. rejected arrival
    /// candidates); it counts against the event budget with the events.
    fn wasted_work(&self) -> u64 {
        0
    }

    /// Requests (or other items) the model holds in memory now; checked
    /// against [`Limits::max_held`] every 65,536 events.
    fn held(&self) -> u64 {
        0
    }
}

/// Every run has an end time and an event budget.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Events after this time are not handled.
    pub end: SimTime,
    /// The run stops after handling this many events (with the model's
    /// wasted work).
    pub max_events: u64,
    /// The run stops when the model holds more than this (checked every
    /// 65,536 events, so at fixed points: the stop is deterministic).
    pub max_held: u64,
    /// The simulated time the budget must reach at the pace the run goes:
    /// a run whose pace would spend it sooner stops early, stalled, rather
    /// than spend it all on an instant. `SimTime::ZERO` never stalls.
    pub min_reach: SimTime,
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The next event lies beyond the end time.
    EndTime,
    /// The event budget was spent before the end time.
    EventBudget,
    /// Nothing was left to happen.
    NoMoreEvents,
    /// The model held more requests than its budget allows.
    RequestBudget,
    /// At the pace of its events so far, the budget would have run out
    /// before simulated time reached `Limits::min_reach`: stopped early.
    Stalled,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::EndTime => "end_time",
            StopReason::EventBudget => "event_budget",
            StopReason::NoMoreEvents => "no_more_events",
            StopReason::RequestBudget => "request_budget",
            StopReason::Stalled => "stalled",
        })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct RunOutcome {
    pub events: u64,
    pub stop_reason: StopReason,
    /// The simulated time the run reached: the end time, or the time of the
    /// last event handled when it stopped early.
    pub reached: SimTime,
}

/// How often (in events) the progress callback is called.
const PROGRESS_EVERY: u64 = 1 << 16;

/// How much work (events and wasted draws) passes between checks of the
/// pace: enough to measure it, little enough (a second or two) to stop a
/// stalled run early.
const PACE_EVERY: u64 = 1 << 24;

/// Runs `model` until the end time, the event budget, a stalled pace (see
/// [`Limits::min_reach`]) or an empty event list.
///
/// `progress` is called every 65,536 events with the current time; it is the
/// caller's hook for a progress bar and must not influence the run.
pub fn run<M: Model>(
    model: &mut M,
    scheduler: &mut Scheduler<M::Event>,
    limits: Limits,
    progress: &mut dyn FnMut(SimTime),
) -> RunOutcome {
    let mut events = 0u64;
    let mut pace_check = PACE_EVERY;
    let stop_reason = loop {
        match scheduler.next_time() {
            // An empty event list at the end time is a run that reached its end.
            None if scheduler.now() >= limits.end => break StopReason::EndTime,
            None => break StopReason::NoMoreEvents,
            Some(t) if t > limits.end => break StopReason::EndTime,
            Some(_) => {}
        }
        let spent = events.saturating_add(model.wasted_work());
        if spent >= limits.max_events {
            break StopReason::EventBudget;
        }
        if spent >= pace_check {
            pace_check = spent.saturating_add(PACE_EVERY);
            // Where the budget runs out at this pace: now × budget / spent.
            let reach = u128::from(scheduler.now().0) * u128::from(limits.max_events);
            if reach < u128::from(limits.min_reach.0) * u128::from(spent) {
                break StopReason::Stalled;
            }
        }
        let (now, event) = scheduler.pop().expect("peeked an event");
        model.handle(now, event, scheduler);
        events += 1;
        if events.is_multiple_of(PROGRESS_EVERY) {
            progress(now);
            if model.held() > limits.max_held {
                break StopReason::RequestBudget;
            }
        }
    };
    let reached = match stop_reason {
        StopReason::EndTime => limits.end,
        StopReason::EventBudget | StopReason::NoMoreEvents | StopReason::RequestBudget | StopReason::Stalled => {
            scheduler.now()
        }
    };
    RunOutcome {
        events,
        stop_reason,
        reached,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;

    /// A model that re-schedules itself every second.
    struct Ticker {
        ticks: u32,
    }

    impl Model for Ticker {
        type Event = ();
        fn handle(&mut self, now: SimTime, _: (), s: &mut Scheduler<()>) {
            self.ticks += 1;
            s.schedule(now + SimDuration::from_secs(1), ());
        }
    }

    #[test]
    fn stops_at_end_time_and_budget() {
        let mut m = Ticker { ticks: 0 };
        let mut s = Scheduler::new();
        s.schedule(SimTime::ZERO, ());
        let out = run(
            &mut m,
            &mut s,
            Limits {
                end: SimTime::from_secs(10),
                max_events: 1000,
                max_held: u64::MAX,
                min_reach: SimTime::ZERO,
            },
            &mut |_| {},
        );
        assert_eq!(out.stop_reason, StopReason::EndTime);
        assert_eq!(m.ticks, 11); // t = 0..=10
        assert_eq!(out.reached, SimTime::from_secs(10));

        let mut m = Ticker { ticks: 0 };
        let mut s = Scheduler::new();
        s.schedule(SimTime::ZERO, ());
        let out = run(
            &mut m,
            &mut s,
            Limits {
                end: SimTime::from_secs(10),
                max_events: 3,
                max_held: u64::MAX,
                min_reach: SimTime::ZERO,
            },
            &mut |_| {},
        );
        assert_eq!(out.stop_reason, StopReason::EventBudget);
        assert_eq!(out.events, 3);
        assert_eq!(out.reached, SimTime::from_secs(2));
    }

    /// A model whose events never move time.
    struct Stuck;

    impl Model for Stuck {
        type Event = ();
        fn handle(&mut self, now: SimTime, _: (), s: &mut Scheduler<()>) {
            s.schedule(now, ());
        }
    }

    #[test]
    fn a_run_whose_time_stands_still_stops_early() {
        let mut s = Scheduler::new();
        s.schedule(SimTime::ZERO, ());
        let limits = Limits {
            end: SimTime::from_secs(10),
            max_events: u64::MAX,
            max_held: u64::MAX,
            min_reach: SimTime::from_secs(1),
        };
        let out = run(&mut Stuck, &mut s, limits, &mut |_| {});
        assert_eq!(out.stop_reason, StopReason::Stalled);
        assert_eq!(out.events, PACE_EVERY);
        assert_eq!(out.reached, SimTime::ZERO);
    }
}
