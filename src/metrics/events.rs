//! The event log: every change applied and reverted, crash, restart,
//! health flip, ejection, alert and SLO breach, in time order. Events are
//! rare next to requests, so they are kept in memory and written at the end
//! as `events.csv`.

use serde::Serialize;

/// What happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A timeline note: something people did that changed nothing.
    Note,
    ChangeApplied,
    ChangeReverted,
    ChangeBlocked,
    ServerCrashed,
    ServerRestarting,
    ServerUp,
    BalancerDown,
    BalancerUp,
    BackendUnhealthy,
    BackendHealthy,
    BackendEjected,
    BackendReturned,
    PanicModeOn,
    PanicModeOff,
    AlertFiring,
    AlertResolved,
    SloBreachStart,
    SloBreachEnd,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Note => "note",
            EventKind::ChangeApplied => "change_applied",
            EventKind::ChangeReverted => "change_reverted",
            EventKind::ChangeBlocked => "change_blocked",
            EventKind::ServerCrashed => "server_crashed",
            EventKind::ServerRestarting => "server_restarting",
            EventKind::ServerUp => "server_up",
            EventKind::BalancerDown => "balancer_down",
            EventKind::BalancerUp => "balancer_up",
            EventKind::BackendUnhealthy => "backend_unhealthy",
            EventKind::BackendHealthy => "backend_healthy",
            EventKind::BackendEjected => "backend_ejected",
            EventKind::BackendReturned => "backend_returned",
            EventKind::PanicModeOn => "panic_mode_on",
            EventKind::PanicModeOff => "panic_mode_off",
            EventKind::AlertFiring => "alert_firing",
            EventKind::AlertResolved => "alert_resolved",
            EventKind::SloBreachStart => "slo_breach_start",
            EventKind::SloBreachEnd => "slo_breach_end",
        }
    }
}

/// One logged event.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedEvent {
    /// Simulated nanoseconds since the start.
    pub time_ns: u64,
    pub kind: EventKind,
    /// "server web-01", "balancer edge", "alert error-spike", ...
    pub entity: String,
    pub detail: String,
}

/// Events in the order they happened (ties in the order logged).
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    pub events: Vec<LoggedEvent>,
}

impl EventLog {
    pub fn push(&mut self, time_ns: u64, kind: EventKind, entity: impl Into<String>, detail: impl Into<String>) {
        self.events.push(LoggedEvent { time_ns, kind, entity: entity.into(), detail: detail.into() });
    }

    /// Sorts by time, keeping the logging order among equal times.
    pub fn sort(&mut self) {
        self.events.sort_by_key(|e| e.time_ns);
    }

    pub fn first(&self, kind: EventKind) -> Option<&LoggedEvent> {
        self.events.iter().find(|e| e.kind == kind)
    }

    pub fn count(&self, kind: EventKind) -> usize {
        self.events.iter().filter(|e| e.kind == kind).count()
    }
}
