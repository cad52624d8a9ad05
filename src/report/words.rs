//! Words for the event log (report stage): the one place that turns typed
//! events into the text people read — `server web-01`, `health checks
//! failing (balancer edge)` — for `events.csv`, `report.html`, `report.md`
//! and the terminal alike. Nothing else builds or reads entity text: code
//! that needs to know what an event is about matches its subject and kind.

use crate::metrics::{AlertChange, BlockReason, CrashCause, EventKind, LoggedEvent, Subject};
use crate::model::World;
use crate::model::alerts::{EntityKind, EntityNames};
use crate::sim::RunResult;
use crate::sim::alerts::{AlertEngine, AlertEvent};

/// The names table the words are made from: a run's world, its entity
/// names and its alert rules.
pub struct EventWords<'a> {
    world: &'a World,
    names: EntityNames,
    alerts: &'a AlertEngine,
}

impl<'a> EventWords<'a> {
    /// The words of a finished run.
    pub fn of(run: &'a RunResult) -> EventWords<'a> {
        EventWords { world: &run.world, names: run.world.entity_names(), alerts: &run.watch.engine }
    }

    /// `server web-01`, `balancer edge`, `alert errors`, a timeline entry's
    /// target (`servers web-*`, `note`), `slo`.
    pub fn subject(&self, s: Subject) -> String {
        let w = self.world;
        match s {
            Subject::Change(i) => w.timeline[i].target.clone(),
            Subject::Server(i) => format!("server {}", w.servers[i.index()].name),
            Subject::Balancer(i) => format!("balancer {}", w.balancers[i as usize].name),
            Subject::ClientGroup(i) => format!("client {}", self.names.clients[i as usize]),
            Subject::Subnet(i) => format!("subnet {}", self.names.subnets[i as usize]),
            Subject::Alert(rule) => format!("alert {}", self.alerts.rules()[rule].name),
            Subject::Slos => "slo".to_string(),
        }
    }

    /// What the event says: `down; 120 requests cut`, `ejected by balancer edge for 30s`, ...
    pub fn detail(&self, e: &LoggedEvent) -> String {
        use EventKind as K;
        let w = self.world;
        let tl = &w.timeline;
        let lb = |b: u32| &w.balancers[b as usize].name;
        match &e.kind {
            K::Note { change } => tl[*change].note.clone().unwrap_or_default(),
            K::ChangeApplied { change } => with_note(tl[*change].what.clone(), tl[*change].note.as_deref()),
            K::NothingToRevert { entry, .. } => {
                format!("nothing to revert: `{}` is not in force", tl[*entry].name.as_deref().unwrap_or_default())
            }
            K::ChangeReverted { change, by } => {
                let t = &tl[*change];
                let label = t.name.clone().unwrap_or_else(|| t.what.clone());
                let by = by.map(|b| &tl[b]);
                let text = match by.and_then(|b| b.name.as_deref()) {
                    Some(name) => format!("{label} reverted by `{name}`"),
                    None => format!("{label} reverted"),
                };
                with_note(text, by.and_then(|b| b.note.as_deref()))
            }
            K::ChangeBlocked { change, reason } => format!("{} blocked: {}", tl[*change].what, self.reason(reason)),
            K::ServerCrashed { cause, lost, .. } => format!("{}; {lost} requests lost", cause_words(*cause)),
            K::ServerRestarting { cause: CrashCause::Overwhelmed, .. } => "restarting after the crash".to_string(),
            K::ServerRestarting { cause, up_at_ns, .. } => {
                let up = match &w.clock {
                    Some(c) => c.format(*up_at_ns),
                    None => crate::time::format_duration(*up_at_ns),
                };
                format!("{}; up at {up}", cause_words(*cause))
            }
            K::ServerUp { .. } => "back up (cold)".to_string(),
            K::BalancerDown { cut, .. } => format!("down; {cut} requests cut"),
            K::BalancerUp { .. } => "accepting connections again".to_string(),
            K::BackendUnhealthy { balancer, .. } => format!("health checks failing (balancer {})", lb(*balancer)),
            K::BackendHealthy { balancer, .. } => format!("health checks pass again (balancer {})", lb(*balancer)),
            K::BackendEjected { balancer, for_ns, .. } => {
                let secs = crate::time::SimDuration(*for_ns).as_secs_f64();
                format!("ejected by balancer {} for {secs:.0}s", lb(*balancer))
            }
            K::BackendReturned { balancer, .. } => format!("back in balancer {}", lb(*balancer)),
            K::PanicModeOn { .. } => "too few usable backends: balancing over all of them, healthy or not".to_string(),
            K::PanicModeOff { .. } => "enough usable backends again".to_string(),
            K::AlertFiring(a) => self.alerts.describe(&alert_event(e.time_ns, a, true), &self.names),
            K::AlertResolved(a) => self.alerts.describe(&alert_event(e.time_ns, a, false), &self.names),
            K::SloBreachStart { broken } => {
                let names: Vec<&str> = broken.iter().map(|&i| w.slos[i].name.as_str()).collect();
                format!("outside: {}", names.join(", "))
            }
            K::SloBreachEnd => "every interval-judged objective met again".to_string(),
        }
    }
}

impl EventWords<'_> {
    /// Why validation blocked a change: `would leave 1 backend(s) in
    /// rotation; ...`, `routing check: it would cut a -> b, ...`.
    pub fn reason(&self, r: &BlockReason) -> String {
        block_reason(self.world, r)
    }

    /// [`EventWords::detail`] for the reports' timelines: a blocked change
    /// also gives its entry's note, as an applied change's detail does
    /// (`events.csv` keeps the reason alone).
    pub fn detail_noted(&self, e: &LoggedEvent) -> String {
        let detail = self.detail(e);
        match e.kind {
            EventKind::ChangeBlocked { change, .. } => with_note(detail, self.world.timeline[change].note.as_deref()),
            _ => detail,
        }
    }
}

/// Why validation blocked (or would block) a change, in words: `would
/// leave 1 backend(s) in rotation; ...`, `routing check: it would cut a -> b`.
pub fn block_reason(w: &World, r: &BlockReason) -> String {
    let node = |n: u32| w.network.as_ref().map_or("", |net| net.nodes[n as usize].name.as_str());
    let paths = |pairs: &[(u32, u32)]| {
        let shown: Vec<String> = pairs.iter().take(3).map(|&(a, b)| format!("{} -> {}", node(a), node(b))).collect();
        let more = if pairs.len() > 3 { format!(" and {} more", pairs.len() - 3) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    match r {
        BlockReason::TooFewBackends { left, min, .. } => {
            format!("would leave {left} backend(s) in rotation; validation requires at least {min}")
        }
        BlockReason::WeightShare { weight, total, max, .. } => format!(
            "would give one backend {:.0}% of the weight; validation allows at most {:.0}%",
            100.0 * *weight as f64 / *total as f64,
            100.0 * max
        ),
        BlockReason::PreflightFails { servers, .. } => {
            let names: Vec<&str> = servers.iter().map(|&s| w.servers[s.index()].name.as_str()).collect();
            format!("pre-flight check fails on {}", names.join(", "))
        }
        BlockReason::PathsCut { pairs } => format!("routing check: it would cut {}", paths(pairs)),
        BlockReason::PathsSlowed { pairs } => {
            format!("routing check: it would slow {} beyond the allowed latency", paths(pairs))
        }
    }
}

/// `text (note)`, or `text` without a note.
fn with_note(text: String, note: Option<&str>) -> String {
    match note {
        Some(n) => format!("{text} ({n})"),
        None => text,
    }
}

fn cause_words(cause: CrashCause) -> &'static str {
    match cause {
        CrashCause::Overwhelmed => "overwhelmed",
        CrashCause::TimelineCrash => "crashed by the timeline",
        CrashCause::TimelineRestart => "restarted by the timeline",
        CrashCause::UndoCrash => "restarted to undo the crash",
    }
}

/// The alert engine's own event back, for its sentence.
fn alert_event(time_ns: u64, a: &AlertChange, firing: bool) -> AlertEvent {
    let entity = a.on.and_then(|s| match s {
        Subject::Server(i) => Some((EntityKind::Server, i.index())),
        Subject::Balancer(i) => Some((EntityKind::Balancer, i as usize)),
        Subject::ClientGroup(i) => Some((EntityKind::Client, i as usize)),
        Subject::Subnet(i) => Some((EntityKind::Subnet, i as usize)),
        _ => None,
    });
    AlertEvent {
        time_ns,
        rule: a.rule,
        entity,
        firing,
        value: a.value,
        threshold: a.threshold,
        since_ns: a.since_ns,
        fired_ns: a.fired_ns,
    }
}
