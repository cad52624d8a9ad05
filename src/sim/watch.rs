//! Monitoring during the run: alert rules and SLO objectives evaluated on
//! each closed interval, logging alerts firing and resolving and the start
//! and end of each breach, and keeping what the summary reports (the impact
//! window, the peak error rate, every alert with its times).

use super::alerts::{AlertEngine, AlertEvent};
use super::objectives::ImpactTracker;
use crate::metrics::{EventKind, EventLog, GlobalMetric, Snapshot};
use crate::model::World;
use crate::model::alerts::{EntityKind, EntityNames};

/// One alert that fired, with when it resolved.
#[derive(Clone, Debug)]
pub struct FiredAlert {
    pub rule: usize,
    pub entity: Option<String>,
    pub fired_ns: u64,
    pub since_ns: u64,
    pub resolved_ns: Option<u64>,
    pub value: f64,
}

/// The watcher of one run.
pub struct Watch {
    pub engine: AlertEngine,
    pub impact: ImpactTracker,
    names: EntityNames,
    pending: Vec<AlertEvent>,
    pub fired: Vec<FiredAlert>,
    in_breach: bool,
    /// Highest interval error rate, and the start of that interval.
    pub peak_error_rate: f64,
    pub peak_error_rate_at: u64,
}

impl Watch {
    pub fn new(world: &World, names: EntityNames) -> Watch {
        Watch {
            engine: AlertEngine::with_names(world.alerts.clone(), &names),
            impact: ImpactTracker::new(world.slos.len()),
            names,
            pending: Vec::new(),
            fired: Vec::new(),
            in_breach: false,
            peak_error_rate: 0.0,
            peak_error_rate_at: 0,
        }
    }

    fn entity_name(&self, e: Option<(EntityKind, usize)>) -> Option<String> {
        use EntityKind as K;
        e.map(|(kind, i)| {
            let (label, list) = match kind {
                K::Server => ("server", &self.names.servers),
                K::Balancer => ("balancer", &self.names.balancers),
                K::Client => ("client", &self.names.clients),
                K::Subnet => ("subnet", &self.names.subnets),
            };
            format!("{label} {}", list[i])
        })
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
            let text = self.engine.describe(&ev, &self.names);
            let rule = self.engine.rules()[ev.rule].name.clone();
            let entity = self.entity_name(ev.entity);
            if ev.firing {
                log.push(ev.time_ns, EventKind::AlertFiring, format!("alert {rule}"), text);
                self.fired.push(FiredAlert {
                    rule: ev.rule,
                    entity,
                    fired_ns: ev.time_ns,
                    since_ns: ev.since_ns,
                    resolved_ns: None,
                    value: ev.value,
                });
            } else {
                log.push(ev.time_ns, EventKind::AlertResolved, format!("alert {rule}"), text);
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
            let broken: Vec<&str> = world
                .slos
                .iter()
                .filter(|s| s.objective.evaluate_interval(snap) == Some(false))
                .map(|s| s.name.as_str())
                .collect();
            let (kind, detail) = if bad {
                (EventKind::SloBreachStart, format!("outside: {}", broken.join(", ")))
            } else {
                (EventKind::SloBreachEnd, "every interval-judged objective met again".to_string())
            };
            log.push(snap.start, kind, "slo".to_string(), detail);
            self.in_breach = bad;
        }
    }
}
