//! Monitoring during the run: alert rules and SLO objectives evaluated on
//! each closed interval, logging alerts firing and resolving and the start
//! and end of each breach, and keeping what the summary reports (the impact
//! window, the peak error rate, every alert with its times).

use super::alerts::{AlertEngine, AlertEvent};
use super::objectives::ImpactTracker;
use crate::metrics::{AlertChange, EventKind, EventLog, GlobalMetric, Sizes, Snapshot, Subject};
use crate::model::alerts::EntityKind;
use crate::model::{ServerId, World};

/// One alert that fired, with when it resolved.
#[derive(Clone, Debug)]
pub struct FiredAlert {
    pub rule: usize,
    /// The server, balancer, client group or subnet; `None` for global rules.
    pub entity: Option<Subject>,
    pub fired_ns: u64,
    pub since_ns: u64,
    pub resolved_ns: Option<u64>,
    pub value: f64,
}

/// An alert engine's event as the log keeps it.
fn alert_change(ev: &AlertEvent) -> AlertChange {
    use EntityKind as K;
    let on = ev.entity.map(|(kind, i)| match kind {
        K::Server => Subject::Server(ServerId::from_index(i)),
        K::Balancer => Subject::Balancer(i as u32),
        K::Client => Subject::ClientGroup(i as u32),
        K::Subnet => Subject::Subnet(i as u32),
    });
    AlertChange {
        rule: ev.rule,
        on,
        value: ev.value,
        threshold: ev.threshold,
        since_ns: ev.since_ns,
        fired_ns: ev.fired_ns,
    }
}

/// The watcher of one run.
pub struct Watch {
    pub engine: AlertEngine,
    pub impact: ImpactTracker,
    pending: Vec<AlertEvent>,
    pub fired: Vec<FiredAlert>,
    in_breach: bool,
    /// Highest interval error rate, and the start of that interval.
    pub peak_error_rate: f64,
    pub peak_error_rate_at: u64,
}

impl Watch {
    pub fn new(world: &World, sizes: Sizes) -> Watch {
        Watch {
            engine: AlertEngine::new(
                world.alerts.clone(),
                sizes.servers,
                sizes.balancers,
                sizes.clients,
                sizes.subnets,
            ),
            impact: ImpactTracker::new(world.slos.len()),
            pending: Vec::new(),
            fired: Vec::new(),
            in_breach: false,
            peak_error_rate: 0.0,
            peak_error_rate_at: 0,
        }
    }

    /// Judges one closed interval.
    pub fn observe(&mut self, snap: &Snapshot, world: &World, log: &mut EventLog) {
        let err = snap.global(GlobalMetric::ErrorRate);
        if err.is_finite() && err > self.peak_error_rate {
            self.peak_error_rate = err;
            self.peak_error_rate_at = snap.start;
        }
        self.pending.clear();
        self.engine.observe(snap, &mut self.pending);
        for i in 0..self.pending.len() {
            let ev = self.pending[i];
            let change = alert_change(&ev);
            let entity = change.on;
            if ev.firing {
                log.push(ev.time_ns, EventKind::AlertFiring(change));
                self.fired.push(FiredAlert {
                    rule: ev.rule,
                    entity,
                    fired_ns: ev.time_ns,
                    since_ns: ev.since_ns,
                    resolved_ns: None,
                    value: ev.value,
                });
            } else {
                log.push(ev.time_ns, EventKind::AlertResolved(change));
                if let Some(f) = self
                    .fired
                    .iter_mut()
                    .rev()
                    .find(|f| f.rule == ev.rule && f.entity == entity && f.resolved_ns.is_none())
                {
                    f.resolved_ns = Some(ev.time_ns);
                }
            }
        }
        let before = self.impact.window().map(|w| w.bad_intervals).unwrap_or(0);
        self.impact.observe(snap, &world.slos);
        let bad = self.impact.window().map(|w| w.bad_intervals).unwrap_or(0) > before;
        if bad != self.in_breach {
            let kind = if bad {
                let broken = (0..world.slos.len())
                    .filter(|&i| world.slos[i].objective.evaluate_interval(snap) == Some(false))
                    .collect();
                EventKind::SloBreachStart { broken }
            } else {
                EventKind::SloBreachEnd
            };
            log.push(snap.start, kind);
            self.in_breach = bad;
        }
    }
}
