//! The event log (metrics stage): every change applied and reverted, crash,
//! restart, health flip, ejection, alert and SLO breach, in time order.
//! Events are rare next to requests, so they are kept in memory and written
//! at the end as `events.csv`.
//!
//! An event is typed: a [`Subject`] (what it is about, by index into the
//! model's flat vectors) and an [`EventKind`] carrying its figures. The log
//! holds no words: `report::words` writes them, for every output alike.

use crate::ids::ServerId;

/// What an event is about, by index into the model's vectors.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// Timeline entry `i` (`world.timeline[i]`): its target, or the note.
    Change(usize),
    Server(ServerId),
    Balancer(u32),
    ClientGroup(u32),
    /// A client subnet, by global subnet index.
    Subnet(u32),
    /// Alert rule `i`.
    Alert(usize),
    /// The SLOs as a whole (their breach starting and ending).
    Slos,
}

/// Why a server went down.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CrashCause {
    /// Its overload rule tripped (it restarts by itself).
    Overwhelmed,
    /// A timeline `crash`.
    TimelineCrash,
    /// A timeline `restart`.
    TimelineRestart,
    /// Reverting a timeline `crash`.
    UndoCrash,
}

/// An alert firing or resolving, as the alert engine reported it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AlertChange {
    /// Index of the rule.
    pub rule: usize,
    /// The entity (a server, balancer, client group or subnet); `None` for global rules.
    pub on: Option<Subject>,
    /// The metric's value in that interval.
    pub value: f64,
    pub threshold: f64,
    /// When the condition started holding.
    pub since_ns: u64,
    /// When it fired.
    pub fired_ns: u64,
}

/// Why validation refused a timeline change: the figures its message needs.
#[derive(Clone, Debug, PartialEq)]
pub enum BlockReason {
    /// A change of `balancer` would leave `left` backends in rotation, under `min`.
    TooFewBackends { balancer: u32, left: usize, min: u32 },
    /// A change of `balancer` would give one backend `weight` of `total`,
    /// a share over `max` (a fraction).
    WeightShare { balancer: u32, weight: u32, total: u64, max: f64 },
    /// The pre-flight check of `balancer`: these servers (ids) the change puts into rotation are not up.
    PreflightFails { balancer: u32, servers: Vec<ServerId> },
    /// A network change would stop these (from, to) node paths delivering.
    PathsCut { pairs: Vec<(u32, u32)> },
    /// A network change would slow these (from, to) node paths beyond the allowed latency.
    PathsSlowed { pairs: Vec<(u32, u32)> },
}

/// What happened, with its figures.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A timeline note: something people did that changed nothing.
    Note {
        change: usize,
    },
    ChangeApplied {
        change: usize,
    },
    /// Revert entry `change` found entry `entry` not in force (logged as applied).
    NothingToRevert {
        change: usize,
        entry: usize,
    },
    /// Entry `change` undone: by its own duration (`by: None`) or by revert entry `by`.
    ChangeReverted {
        change: usize,
        by: Option<usize>,
    },
    /// Validation refused entry `change`.
    ChangeBlocked {
        change: usize,
        reason: BlockReason,
    },
    ServerCrashed {
        server: ServerId,
        cause: CrashCause,
        lost: usize,
    },
    /// Restarting, up at `up_at_ns` (after an overload crash: by itself).
    ServerRestarting {
        server: ServerId,
        cause: CrashCause,
        up_at_ns: u64,
    },
    ServerUp {
        server: ServerId,
    },
    BalancerDown {
        balancer: u32,
        cut: usize,
    },
    BalancerUp {
        balancer: u32,
    },
    BackendUnhealthy {
        server: ServerId,
        balancer: u32,
    },
    BackendHealthy {
        server: ServerId,
        balancer: u32,
    },
    BackendEjected {
        server: ServerId,
        balancer: u32,
        for_ns: u64,
    },
    BackendReturned {
        server: ServerId,
        balancer: u32,
    },
    PanicModeOn {
        balancer: u32,
    },
    PanicModeOff {
        balancer: u32,
    },
    AlertFiring(AlertChange),
    AlertResolved(AlertChange),
    /// The interval-judged SLOs (by index) outside their objectives.
    SloBreachStart {
        broken: Vec<usize>,
    },
    SloBreachEnd,
}

/// The kind of an event without its figures: for counting and filtering,
/// and the `kind` column of `events.csv`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventTag {
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

impl EventTag {
    pub fn name(self) -> &'static str {
        match self {
            EventTag::Note => "note",
            EventTag::ChangeApplied => "change_applied",
            EventTag::ChangeReverted => "change_reverted",
            EventTag::ChangeBlocked => "change_blocked",
            EventTag::ServerCrashed => "server_crashed",
            EventTag::ServerRestarting => "server_restarting",
            EventTag::ServerUp => "server_up",
            EventTag::BalancerDown => "balancer_down",
            EventTag::BalancerUp => "balancer_up",
            EventTag::BackendUnhealthy => "backend_unhealthy",
            EventTag::BackendHealthy => "backend_healthy",
            EventTag::BackendEjected => "backend_ejected",
            EventTag::BackendReturned => "backend_returned",
            EventTag::PanicModeOn => "panic_mode_on",
            EventTag::PanicModeOff => "panic_mode_off",
            EventTag::AlertFiring => "alert_firing",
            EventTag::AlertResolved => "alert_resolved",
            EventTag::SloBreachStart => "slo_breach_start",
            EventTag::SloBreachEnd => "slo_breach_end",
        }
    }
}

impl EventKind {
    pub fn tag(&self) -> EventTag {
        use EventKind as K;
        use EventTag as T;
        match self {
            K::Note { .. } => T::Note,
            K::ChangeApplied { .. } | K::NothingToRevert { .. } => T::ChangeApplied,
            K::ChangeReverted { .. } => T::ChangeReverted,
            K::ChangeBlocked { .. } => T::ChangeBlocked,
            K::ServerCrashed { .. } => T::ServerCrashed,
            K::ServerRestarting { .. } => T::ServerRestarting,
            K::ServerUp { .. } => T::ServerUp,
            K::BalancerDown { .. } => T::BalancerDown,
            K::BalancerUp { .. } => T::BalancerUp,
            K::BackendUnhealthy { .. } => T::BackendUnhealthy,
            K::BackendHealthy { .. } => T::BackendHealthy,
            K::BackendEjected { .. } => T::BackendEjected,
            K::BackendReturned { .. } => T::BackendReturned,
            K::PanicModeOn { .. } => T::PanicModeOn,
            K::PanicModeOff { .. } => T::PanicModeOff,
            K::AlertFiring(_) => T::AlertFiring,
            K::AlertResolved(_) => T::AlertResolved,
            K::SloBreachStart { .. } => T::SloBreachStart,
            K::SloBreachEnd => T::SloBreachEnd,
        }
    }

    /// What the event is about: the server for health flips and ejections
    /// (the balancer is in the kind), the rule for alerts.
    pub fn subject(&self) -> Subject {
        use EventKind as K;
        match *self {
            K::Note { change }
            | K::ChangeApplied { change }
            | K::NothingToRevert { change, .. }
            | K::ChangeReverted { change, .. }
            | K::ChangeBlocked { change, .. } => Subject::Change(change),
            K::ServerCrashed { server, .. }
            | K::ServerRestarting { server, .. }
            | K::ServerUp { server }
            | K::BackendUnhealthy { server, .. }
            | K::BackendHealthy { server, .. }
            | K::BackendEjected { server, .. }
            | K::BackendReturned { server, .. } => Subject::Server(server),
            K::BalancerDown { balancer, .. }
            | K::BalancerUp { balancer }
            | K::PanicModeOn { balancer }
            | K::PanicModeOff { balancer } => Subject::Balancer(balancer),
            K::AlertFiring(a) | K::AlertResolved(a) => Subject::Alert(a.rule),
            K::SloBreachStart { .. } | K::SloBreachEnd => Subject::Slos,
        }
    }

    /// The balancer that flipped a server's health or ejected it, if this is such an event.
    pub fn by_balancer(&self) -> Option<u32> {
        use EventKind as K;
        match *self {
            K::BackendUnhealthy { balancer, .. }
            | K::BackendHealthy { balancer, .. }
            | K::BackendEjected { balancer, .. }
            | K::BackendReturned { balancer, .. } => Some(balancer),
            _ => None,
        }
    }
}

/// One logged event.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedEvent {
    /// Simulated nanoseconds since the start.
    pub time_ns: u64,
    pub kind: EventKind,
}

impl LoggedEvent {
    pub fn tag(&self) -> EventTag {
        self.kind.tag()
    }

    pub fn subject(&self) -> Subject {
        self.kind.subject()
    }
}

/// Events in the order they happened (ties in the order logged).
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    pub events: Vec<LoggedEvent>,
}

impl EventLog {
    pub fn push(&mut self, time_ns: u64, kind: EventKind) {
        self.events.push(LoggedEvent { time_ns, kind });
    }

    /// Sorts by time, keeping the logging order among equal times.
    pub fn sort(&mut self) {
        self.events.sort_by_key(|e| e.time_ns);
    }

    pub fn of(&self, tag: EventTag) -> impl Iterator<Item = &LoggedEvent> {
        self.events.iter().filter(move |e| e.tag() == tag)
    }

    pub fn first(&self, tag: EventTag) -> Option<&LoggedEvent> {
        self.of(tag).next()
    }

    pub fn count(&self, tag: EventTag) -> usize {
        self.of(tag).count()
    }

    /// The timeline entries validation blocked, with why, in the order blocked.
    pub fn blocked(&self) -> impl Iterator<Item = (usize, &BlockReason)> {
        self.events.iter().filter_map(|e| match &e.kind {
            EventKind::ChangeBlocked { change, reason } => Some((*change, reason)),
            _ => None,
        })
    }
}
